import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { newKeySet } from "./src/cli/keys.ts";
import { buildPages } from "./src/pages/build.ts";

// The pages' scripts, bundled from their browser code (a no-op when they are up to date).
await buildPages();

// Fresh secrets for the Workers tests (read back from `env` by the tests).
// Set in process.env, where wrangler looks for required secrets.
const keys = await newKeySet();
/** Named admin tokens for the Workers tests: one that may write, one that may only read. */
const ADMIN_TOKENS = JSON.stringify([
  { name: "ops-alice", token: "test-token-ops-alice", access: "write" },
  { name: "wallboard", token: "test-token-read-only", access: "read" },
]);
Object.assign(process.env, keys, { ADMIN_TOKEN: "test-admin-token" });
/** The shared HMAC secret of a platform's login, as a deployer sets it for lanes (test/workers/lanes.test.ts). */
const IDENTITY_LANES_TEST = `lanes-test-secret-${crypto.randomUUID()}`;

export default defineConfig({
  test: {
    passWithNoTests: false,
    // Most files wait on real time (lease lifetimes, real origins, a browser) rather than the CPU:
    // three at a time keep a 2-core machine busy (the default there, one worker, ran them in turn).
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: "unit",
          // One seed for every property test (test/unit/fast-check-seed.ts): a run is repeatable.
          setupFiles: ["test/unit/fast-check-seed.ts"],
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
          // Property tests run hundreds of cases; on a busy 2-core machine 5 s was too close.
          testTimeout: 30_000,
        },
      },
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            // Explicit bindings win over a developer's .dev.vars.
            // Any room id is served, as in the local demo (tests of ROOMS set it per call).
            miniflare: {
              bindings: {
                ...keys,
                ADMIN_TOKEN: "test-admin-token",
                ADMIN_TOKENS,
                ROOMS: "*",
                IDENTITY_LANES_TEST,
                // Shards commit at once: the tests make their requests one after another, each would wait a window.
                COMMIT_EVERY_MS: "0",
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.{ts,tsx}"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "contract",
          include: ["test/contract/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});

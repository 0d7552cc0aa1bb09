/**
 * The Workers under load in `npm run bench -- --dev`, all started the same
 * way, `wrangler dev` in local workerd on 127.0.0.1 with a throw-away state
 * directory: Spillway (./wrangler.toml, fresh keys from src/cli/keys.ts in a
 * temporary env file), the hello-world baseline (bench/hello/wrangler.toml)
 * and the plain proxy baseline (bench/proxy/wrangler.toml). The default,
 * raw workerd, is bench/lib/workerd.ts.
 *
 * Spillway is not started through `npm start` (src/cli/start.ts) here: that
 * script relays every wrangler log line through one more Node process, a cost
 * per request that the baseline would not pay.
 */
import { rm, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { freePort, PROJECT_ROOT, tempDir } from "../../test/contract/support/worker.ts";
import { newKeySet } from "../../src/cli/keys.ts";
import { launch } from "./processes.ts";

const START_TIMEOUT_MS = 90_000;

export interface RunningWorker {
  readonly name: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** CPU ticks of each of its processes (wrangler, workerd) so far; null without /proc. */
  cpuTicks(): Map<number, number> | null;
  /** How often wrangler reloaded it so far (it does when source files change). */
  reloads(): number;
  /** The last lines the Worker's process printed (for failure reports). */
  tail(lines: number): string;
  stop(): Promise<void>;
}

/**
 * The environment of a local `wrangler dev`: this Node first on PATH (wrangler
 * needs Node 22+), no metrics, no network look-ups, no secrets from this shell.
 */
function wranglerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: [dirname(process.execPath), process.env["PATH"] ?? ""].join(delimiter),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
  for (const name of ["ADMIN_TOKEN", "TICKET_KEY", "PASS_KEYS", "OVERFLOW_KEY", "CHALLENGE_KEY"]) delete env[name];
  return env;
}

/** Arguments every `wrangler dev` here gets: loopback only, free ports, a throw-away state directory. */
async function commonArgs(persistTo: string): Promise<{ port: number; args: string[] }> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-ip",
    "127.0.0.1",
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--show-interactive-dev-session=false",
  ];
  return { port, args };
}

/** `wrangler dev -c <config> …`, ready once it says where it listens. */
async function startWrangler(
  name: string,
  config: string,
  extraArgs: (persistTo: string) => Promise<string[]>,
): Promise<RunningWorker> {
  const persistTo = await tempDir("spillway-bench-");
  try {
    const { port, args } = await commonArgs(persistTo);
    const launched = await launch({
      name,
      command: join(PROJECT_ROOT, "node_modules", ".bin", "wrangler"),
      args: ["dev", "-c", join(PROJECT_ROOT, config), ...args, ...(await extraArgs(persistTo))],
      cwd: PROJECT_ROOT,
      env: wranglerEnv(),
      ready: /Ready on http:\/\/127\.0\.0\.1:\d+/,
      timeoutMs: START_TIMEOUT_MS,
    });
    return {
      name,
      url: `http://127.0.0.1:${port}`,
      cpuTicks: () => launched.cpuTicks(),
      reloads: () => launched.reloads(),
      tail: (lines) => launched.tail().trimEnd().split("\n").slice(-lines).join("\n"),
      stop: async () => {
        try {
          await launched.stop();
        } finally {
          await rm(persistTo, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(persistTo, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Spillway with fresh signing keys (never the developer's .dev.vars), the
 * given admin token and origin.
 */
export function startSpillway(options: { adminToken: string; originUrl: string }): Promise<RunningWorker> {
  return startWrangler("Spillway (wrangler.toml)", "wrangler.toml", async (persistTo) => {
    const keys = await newKeySet();
    const envFile = join(persistTo, "bench-secrets.env");
    // Every signing secret; the admin token comes as a --var.
    const { ADMIN_TOKEN: _admin, ...secrets } = keys;
    const lines = [...Object.entries(secrets).map(([name, value]) => `${name}='${value}'`), ""];
    await writeFile(envFile, lines.join("\n"), { mode: 0o600 });
    return [
      "--env-file",
      envFile,
      "--var",
      `ADMIN_TOKEN:${options.adminToken}`,
      "--var",
      `ORIGIN_URL:${options.originUrl}`,
    ];
  });
}

/** The hello-world baseline. */
export function startHello(): Promise<RunningWorker> {
  return startWrangler("hello-world baseline (bench/hello)", "bench/hello/wrangler.toml", async () => []);
}

/** The plain proxy baseline, forwarding to the given origin. */
export function startProxy(originUrl: string): Promise<RunningWorker> {
  return startWrangler("plain proxy baseline (bench/proxy)", "bench/proxy/wrangler.toml", async () => [
    "--var",
    `ORIGIN_URL:${originUrl}`,
  ]);
}

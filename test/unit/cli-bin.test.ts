/**
 * The `spillway` bin as people run it: `npx spillway` from the project, and
 * the script itself in a real process (Ctrl-C during a watch). `npx` puts
 * node_modules/.bin first on PATH, so the shebang's `node` is the Node 24 dev
 * dependency even where the system Node is older; --version shows which.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { useStandIn, WRITE_TOKEN } from "./cli-stand-in.ts";

const root = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { bin?: Record<string, string> };
const binPath = join(root, pkg.bin?.["spillway"] ?? "(no bin)");
const node24 = join(root, "node_modules", ".bin", "node");

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end; `onStdout` sees the output as it comes. */
function runProcess(
  command: string,
  args: string[],
  onStdout?: (text: string, kill: () => void) => void,
): Promise<Ran> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, SPILLWAY_TOKEN: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      onStdout?.(stdout, () => child.kill("SIGINT"));
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

describe("the spillway bin", () => {
  it("is src/cli/spillway.ts, executable, with a node shebang", () => {
    expect(pkg.bin).toEqual({ spillway: "src/cli/spillway.ts" });
    expect(readFileSync(binPath, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(() => accessSync(binPath, constants.X_OK)).not.toThrow();
  });

  it("`npx spillway --help` prints the usage and exits 0", { timeout: 15_000 }, async () => {
    const { code, stdout } = await runProcess("npx", ["spillway", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^spillway: operate a Spillway Worker/);
    expect(stdout).toContain("Usage: spillway <command> [options]");
  });

  it("`npx spillway --version` runs on the Node 24 dev dependency", { timeout: 15_000 }, async () => {
    const { code, stdout } = await runProcess("npx", ["spillway", "--version"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^spillway \d+\.\d+\.\d+ \(Node\.js v24\.\d+\.\d+\)\n$/);
  });

  it("a usage error exits 2 through npx", { timeout: 15_000 }, async () => {
    const { code, stderr } = await runProcess("npx", ["spillway", "rooms"]);
    expect(code).toBe(2);
    expect(stderr).toContain("spillway: no admin token");
  });
});

describe("the spillway process", () => {
  const standIn = useStandIn();

  it("watch: Ctrl-C (SIGINT) after the first line exits 0", { timeout: 15_000 }, async () => {
    let sent = false;
    const ran = await runProcess(
      node24,
      [binPath, "watch", "demo", "--url", standIn().url, "--token", WRITE_TOKEN],
      (text, kill) => {
        if (!sent && text.includes("\n")) {
          sent = true;
          kill();
        }
      },
    );
    expect(ran).toMatchObject({ code: 0, signal: null, stderr: "" });
    expect(ran.stdout).toMatch(/ demo live=812 capacity=1000 /);
  });
});

describe("npm run keys", () => {
  const script = join(root, "src", "cli", "keys-print.ts");

  it("prints a whole key set as JSON, one secret each, for wrangler secret bulk", async () => {
    const ran = await runProcess(node24, [script, "--json"]);
    expect(ran.code).toBe(0);
    const keys = JSON.parse(ran.stdout) as Record<string, string>;
    expect(Object.keys(keys).sort()).toEqual(
      ["ADMIN_TOKEN", "CHALLENGE_KEY", "OVERFLOW_KEY", "PASS_KEYS", "TICKET_KEY"].sort(),
    );
    for (const name of ["TICKET_KEY", "OVERFLOW_KEY", "CHALLENGE_KEY"]) {
      expect(Buffer.from(keys[name]!, "base64url").byteLength, name).toBe(32);
    }
    // Three HMAC keys, all different: no kind can pass for another.
    expect(new Set([keys["TICKET_KEY"], keys["OVERFLOW_KEY"], keys["CHALLENGE_KEY"]]).size).toBe(3);
  });

  it("--pass-key prints one new private pass key with a kid, to put in front of PASS_KEYS", async () => {
    const ran = await runProcess(node24, [script, "--pass-key"]);
    expect(ran.code).toBe(0);
    const jwk = JSON.parse(ran.stdout) as JsonWebKey & { kid?: string };
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(jwk.kid).toMatch(/^pass-\d{4}-\d{2}-\d{2}-/);
    expect(typeof jwk.d).toBe("string");
    const key = await crypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    expect(key.type).toBe("private");
  });
});

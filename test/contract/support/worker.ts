/**
 * Run Spillway the way a user does: `npm start -- <wrangler dev args>`, i.e.
 * `node src/cli/start.ts --port … --ip 127.0.0.1 --var … --persist-to …`,
 * and talk to it over HTTP only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { stopGroup } from "../../../src/cli/process-group.ts";

/** The project root (where package.json and wrangler.toml live). */
export const PROJECT_ROOT = resolve(import.meta.dirname, "../../..");

const READY_BANNER = "Spillway is running.";
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a probe listener"));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

/** A fresh empty directory for `--persist-to`. */
/** Stop a server's process group (when it was started), then remove its temporary directory, whatever happens. */
export async function stopAndRemove(child: ChildProcess | undefined, dir: string, timeoutMs: number): Promise<void> {
  try {
    if (child !== undefined) await stopGroup(child, timeoutMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function tempDir(prefix = "spillway-contract-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface WorkerOptions {
  /** Given as `--var ADMIN_TOKEN:<token>`. */
  adminToken: string;
  /** Given as `--var ORIGIN_URL:<url>`; omitted: the demo origin. */
  originUrl?: string;
  /** Further `--var NAME:value` pairs. */
  vars?: Record<string, string>;
  /** `--port`; a free one when omitted. */
  port?: number;
  /** `--persist-to`; a temporary directory (removed on stop) when omitted. */
  persistTo?: string;
}

export interface RunningWorker {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly persistTo: string;
  /** Everything the start script printed so far (stdout and stderr). */
  output(): string;
  /** Stop the start script, wrangler and workerd (the whole process group). */
  stop(): Promise<void>;
}

/** What the Worker logged once running (before that, wrangler lists its vars, secrets given as vars included). */
export function workerLogs(w: RunningWorker): string {
  return w.output().split("Spillway is running.").slice(1).join("\n");
}

function stripAnsi(text: string): string {
  return stripVTControlCharacters(text);
}

/** How many times a start that lost a port race is tried again. */
const PORT_RACE_RETRIES = 2;

/**
 * Start Spillway with `src/cli/start.ts` and wait for its ready banner. A
 * port picked free can be taken by another test's server before wrangler
 * binds it (its own internal sockets too): such a start is tried again, on a
 * fresh port unless the caller chose one.
 */
export function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  return againIfPortLost(() => startWorkerOnce(options));
}

/** `start` again when it lost a port race, up to PORT_RACE_RETRIES times more; any other failure at once. */
async function againIfPortLost<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!lostPortRace(err) || attempt >= PORT_RACE_RETRIES) throw err;
    }
  }
}

/** Did this start fail because another server took its port first? */
export function lostPortRace(err: unknown): boolean {
  return err instanceof Error && err.message.includes("Address already in use");
}

/**
 * `start(port)` on a port picked free, for a test that must know Spillway's
 * port before Spillway starts (to tell an origin where to post, or to come
 * back on it after a restart): when Spillway loses that port to another
 * test's server, `start` runs again on a new one. `start` stops whatever it
 * started before it throws.
 */
export function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  return againIfPortLost(async () => start(await freePort()));
}

async function startWorkerOnce(options: WorkerOptions): Promise<RunningWorker> {
  const port = options.port ?? (await freePort());
  const ownsPersistDir = options.persistTo === undefined;
  const persistTo = options.persistTo ?? (await tempDir());

  const args = [
    "src/cli/start.ts",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--var",
    `ADMIN_TOKEN:${options.adminToken}`,
  ];
  if (options.originUrl !== undefined) args.push("--var", `ORIGIN_URL:${options.originUrl}`);
  for (const [name, value] of Object.entries(options.vars ?? {})) args.push("--var", `${name}:${value}`);
  args.push("--persist-to", persistTo);

  // A user's shell, not the test runner's secrets.
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false" };
  for (const name of ["ADMIN_TOKEN", "TICKET_KEY", "PASS_KEYS", "OVERFLOW_KEY", "CHALLENGE_KEY"]) delete env[name];

  const child = spawn(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });

  let output = "";
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => r({ code, signal })),
  );

  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`Spillway did not print "${READY_BANNER}" within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (stripAnsi(output).includes(READY_BANNER)) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the start script exited before it was ready (code ${code}, signal ${signal})`));
    });
  });

  const stop = async () => {
    try {
      await stopGroup(child, STOP_TIMEOUT_MS);
    } finally {
      if (ownsPersistDir) await rm(persistTo, { recursive: true, force: true });
    }
  };

  try {
    await ready;
  } catch (err) {
    await stop().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${reason}\n--- command: ${process.execPath} ${args.join(" ")}\n--- output:\n${stripAnsi(output)}`,
      { cause: err },
    );
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminToken: options.adminToken,
    persistTo,
    output: () => stripAnsi(output),
    stop,
  };
}

/**
 * Child processes of the benchmark: each is started detached (its own process
 * group), watched until it prints its ready line, and stopped with its whole
 * group (wrangler and workerd included). Every process started here is
 * remembered so that `stopAll` can end them on failure or Ctrl-C.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";

const STOP_TIMEOUT_MS = 10_000;
/** How much of a child's output is kept for error messages. */
const TAIL_CHARS = 8_192;

export interface LaunchOptions {
  /** Shown in progress and error messages. */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Ready once the output (ANSI codes removed) matches this. */
  ready: RegExp;
  timeoutMs: number;
}

export interface Launched {
  readonly name: string;
  /** The last few KiB of output, ANSI codes removed. */
  tail(): string;
  stop(): Promise<void>;
}

/** Every started process still to be stopped, with its process group id. */
const running = new Map<Launched, number | undefined>();

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** SIGTERM the child's process group, then SIGKILL what is left. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || !groupAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  if (await waitUntil(() => !groupAlive(pid), STOP_TIMEOUT_MS)) return;
  signalGroup(pid, "SIGKILL");
  await waitUntil(() => !groupAlive(pid), 5_000);
}

/** Start a process and resolve once it is ready; on any failure it is stopped again. */
export async function launch(options: LaunchOptions): Promise<Launched> {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });

  // Keep only a bounded tail: wrangler logs a line per request under load.
  let tail = "";
  let readyFound = false;
  let onReady: () => void = () => undefined;
  const collect = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_CHARS);
    if (!readyFound && options.ready.test(stripVTControlCharacters(tail))) {
      readyFound = true;
      onReady();
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);

  const launched: Launched = {
    name: options.name,
    tail: () => stripVTControlCharacters(tail),
    stop: async () => {
      running.delete(launched);
      await stopGroup(child);
    },
  };
  running.set(launched, child.pid);

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${options.name} was not ready within ${options.timeoutMs / 1000} s`)),
        options.timeoutMs,
      );
      onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} could not be started: ${err.message}`));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal})`));
      });
      if (readyFound) onReady();
    });
  } catch (err) {
    await launched.stop();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${reason}\n--- command: ${options.command} ${options.args.join(" ")}\n--- last output:\n${launched.tail()}`,
      { cause: err },
    );
  }
  return launched;
}

/** Stop every process still running, all at once. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...running.keys()].map((p) => p.stop()));
}

/** Last resort when the benchmark exits without cleaning up: SIGKILL what is left, synchronously. */
export function killAllNow(): void {
  for (const pid of running.values()) if (pid !== undefined) signalGroup(pid, "SIGKILL");
  running.clear();
}

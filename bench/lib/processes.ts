/**
 * Child processes of the benchmark: each is started detached (its own process
 * group), watched until it prints its ready line, and stopped with its whole
 * group (wrangler and workerd included). Every process started here is
 * remembered so that `stopAll` can end them on failure or Ctrl-C.
 */
import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { stripVTControlCharacters } from "node:util";
import { signalGroup, stopGroup } from "../../src/cli/process-group.ts";

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
  /** CPU clock ticks used so far by each live process of its group (null where /proc is missing). */
  cpuTicks(): Map<number, number> | null;
  /** How often the output said the server was reloading (wrangler reloads when sources change). */
  reloads(): number;
  /** The last few KiB of output, ANSI codes removed. */
  tail(): string;
  stop(): Promise<void>;
}

/** Every started process still to be stopped, with its process group id. */
const running = new Map<Launched, number | undefined>();

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
  let reloads = 0;
  let onReady: () => void = () => undefined;
  const collect = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    if (text.includes("Reloading local server")) reloads += 1;
    tail = (tail + text).slice(-TAIL_CHARS);
    if (!readyFound && options.ready.test(stripVTControlCharacters(tail))) {
      readyFound = true;
      onReady();
    }
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);

  const launched: Launched = {
    name: options.name,
    cpuTicks: () => (child.pid === undefined ? null : groupCpuTicks(child.pid)),
    reloads: () => reloads,
    tail: () => stripVTControlCharacters(tail),
    stop: async () => {
      running.delete(launched);
      await stopGroup(child, STOP_TIMEOUT_MS);
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

/** Linux reports process times in clock ticks of 1/100 s (USER_HZ). */
export const TICKS_PER_SECOND = 100;

/**
 * User + system CPU ticks of each live process in a process group, read from
 * /proc/<pid>/stat; null when /proc cannot be read (not Linux).
 */
export function groupCpuTicks(pgid: number): Map<number, number> | null {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return null;
  }
  const out = new Map<number, number>();
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    if (Number(statFields(stat)[2]) !== pgid) continue;
    out.set(Number(pid), statTicks(stat));
  }
  return out;
}

/** The fields of a /proc stat line after the parenthesised command name: state ppid pgrp … utime(14) stime(15). */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** User + system CPU ticks in a /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat) line. */
export function statTicks(stat: string): number {
  const fields = statFields(stat);
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU seconds a process group used between two readings: each process's
 * increase (all of it for processes started in between). Processes that
 * exited in between are missing from the second reading and not counted.
 */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / TICKS_PER_SECOND;
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

/** Every thread of a process onto the CPUs in `list` (`taskset -a`; threads it starts later inherit them). */
export function pinProcess(pid: number, list: string): void {
  try {
    execFileSync("taskset", ["-a", "-c", "-p", list, String(pid)], { stdio: "ignore" });
  } catch (err) {
    throw new Error(
      `could not pin process ${pid} to CPU ${list} with taskset (Debian package util-linux): ${String(err)}`,
      { cause: err },
    );
  }
}

/** The CPUs this process may run on (Linux's `Cpus_allowed_list`); null where it cannot be read. */
export function allowedCpus(): number[] | null {
  try {
    const line = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return line === null ? null : cpuList(line[1]!);
  } catch {
    return null;
  }
}

/** A CPU list as Linux writes one ("0-3,6": 0, 1, 2, 3 and 6); null for anything else. */
export function cpuList(text: string): number[] | null {
  const list: number[] = [];
  for (const part of text.split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (range === null) return null;
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) return null;
    for (let cpu = from; cpu <= to; cpu++) list.push(cpu);
  }
  return list;
}

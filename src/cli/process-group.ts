/**
 * Stopping a detached child process and everything it started (its process
 * group): SIGTERM, then SIGKILL what is left. Used by the benchmark and the
 * contract tests, which start `wrangler dev` and must never leave it running.
 */
import type { ChildProcess } from "node:child_process";

/** Send `signal` to a process group; false if the group is gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
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

/** SIGTERM the child's group, SIGKILL it after `termTimeoutMs`; throws if it still lives. */
export async function stopGroup(child: ChildProcess, termTimeoutMs: number): Promise<void> {
  const pid = child.pid;
  const gone = () => pid === undefined || !signalGroup(pid, 0);
  if (gone()) return;
  signalGroup(pid!, "SIGTERM");
  if (await waitUntil(gone, termTimeoutMs)) return;
  signalGroup(pid!, "SIGKILL");
  if (!(await waitUntil(gone, 5_000))) throw new Error(`process group ${pid} did not exit after SIGKILL`);
}

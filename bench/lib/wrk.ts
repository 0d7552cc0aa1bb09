/**
 * Load generation with Debian's `wrk`: a C load generator on one thread, so
 * that the generator costs a small, known fraction of what the Worker under
 * load costs (autocannon in this Node process cost about as much CPU per
 * request as the Worker it was measuring, on the same two cores).
 *
 * Every request of a run is the same (method, path, headers given with -H),
 * so wrk formats it once. A small Lua script sets the method and, when wrk is
 * done, prints one line of JSON: requests, duration, p50/p99 latency (µs, from
 * wrk's own histogram), errors, and wrk's own CPU time (`os.clock()`, the
 * process's CPU time over all its threads), which shows whether the
 * generator could have been the bottleneck.
 */
import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { tempDir } from "../../test/contract/support/worker.ts";

/** One request shape; the same bytes are sent every time. */
export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  url: string;
  request: LoadRequest;
  connections: number;
  durationSeconds: number;
  /** Run wrk on these CPUs only (`taskset -c`, e.g. "0"); anywhere when absent. */
  cpus?: string;
}

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** wrk's mean latency. */
  meanMs: number;
  /**
   * The mean latency the throughput implies for a closed loop of
   * `connections` (Little's law: connections ÷ requests/s). wrk's own
   * latencies should agree; where its mean is far above this, its
   * percentiles over-count slow responses and are not to be trusted.
   */
  impliedMeanMs: number;
  /** Responses received in the measured run. */
  requests: number;
  durationSeconds: number;
  /** Responses with a status of 400 or more (wrk counts no finer). */
  non2xx: number;
  /** Connect, read, write errors and timeouts. */
  errors: number;
  /** wrk's own CPU seconds during the run. */
  generatorCpuSeconds: number;
}

const MARK = "WRK_JSON ";

/** The Lua script: the method, and the summary as JSON on one line. */
function script(method: string): string {
  return `wrk.method = "${method}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${MARK}{"requests":%.0f,"durationUs":%.0f,"p50Us":%.0f,"p99Us":%.0f,' ..
    '"meanUs":%.1f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"cpuSeconds":%.6f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout, os.clock()))
end
`;
}

function onPath(binary: string): boolean {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/**
 * Make sure `wrk` is there: install it with apt-get when running as root (as
 * .ci/debian-packages.sh does for the contract tests' packages), otherwise
 * fail with how to install it.
 */
export function ensureWrk(progress: (message: string) => void): void {
  if (onPath("wrk")) return;
  const root = process.getuid?.() === 0;
  if (root && onPath("apt-get")) {
    progress("wrk is missing: installing it with apt-get (Debian package wrk)…");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    try {
      execFileSync("apt-get", ["update", "-qq"], { env, stdio: "ignore" });
      execFileSync("apt-get", ["install", "-y", "-qq", "wrk"], { env, stdio: "ignore" });
    } catch (err) {
      throw new Error(`could not install wrk with apt-get: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
      });
    }
    if (onPath("wrk")) return;
  }
  throw new Error(
    "the load generator wrk is not installed. Install it as root (Debian/Ubuntu): apt-get install -y wrk" +
      " — or run `npm run bench` as root, which installs it.",
  );
}

/** The wrk runs in progress (two at once when Workers are loaded side by side). */
const current = new Set<ReturnType<typeof spawn>>();

/** Stop the load run in progress, if any (on Ctrl-C). */
export function stopLoad(): void {
  for (const child of current) child.kill("SIGINT");
}

/** One wrk run of `seconds`, on one thread. */
async function fire(options: LoadOptions, seconds: number): Promise<LoadResult> {
  const { request } = options;
  const dir = await tempDir("spillway-bench-wrk-");
  try {
    const lua = join(dir, "bench.lua");
    await writeFile(lua, script(request.method));
    const args = [
      "-t",
      "1",
      "-c",
      String(options.connections),
      "-d",
      `${Math.max(1, Math.round(seconds))}s`,
      "-s",
      lua,
    ];
    for (const [name, value] of Object.entries(request.headers ?? {})) args.push("-H", `${name}: ${value}`);
    args.push(options.url + request.path);
    let out = "";
    const [command, argv] =
      options.cpus === undefined ? ["wrk", args] : ["taskset", ["-c", options.cpus, "wrk", ...args]];
    const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
    current.add(child);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
      child.once("error", reject);
      // "close", not "exit": a process can exit before its output has all been read, and
      // wrk's last line (its summary) was then missing from a run that succeeded.
      child.once("close", resolve);
    }).finally(() => current.delete(child));
    const line = out.split("\n").find((l) => l.startsWith(MARK));
    if (code !== 0 || line === undefined) throw new Error(`wrk exited with ${code}:\n${out.slice(-2000)}`);
    const j = JSON.parse(line.slice(MARK.length)) as Record<string, number>;
    const durationSeconds = j["durationUs"]! / 1e6;
    return {
      rps: j["requests"]! / durationSeconds,
      p50Ms: j["p50Us"]! / 1000,
      p99Ms: j["p99Us"]! / 1000,
      meanMs: j["meanUs"]! / 1000,
      impliedMeanMs: (options.connections / (j["requests"]! / durationSeconds)) * 1000,
      requests: j["requests"]!,
      durationSeconds,
      non2xx: j["status"]!,
      errors: j["connect"]! + j["read"]! + j["write"]! + j["timeout"]!,
      generatorCpuSeconds: j["cpuSeconds"]!,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Load without measuring (JIT, caches and connections warm up). */
export async function warmUp(options: LoadOptions, seconds: number): Promise<void> {
  if (seconds > 0) await fire(options, seconds);
}

/** The measured run. */
export function measure(options: LoadOptions): Promise<LoadResult> {
  return fire(options, options.durationSeconds);
}

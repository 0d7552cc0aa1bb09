/**
 * The Workers under load in raw workerd: each one's deploy bundle
 * (`wrangler deploy --dry-run --outdir …`, the very script Cloudflare would
 * run) loaded into its own workerd process through Miniflare, and served on a
 * direct socket on 127.0.0.1. `wrangler dev` puts its own proxy pipeline in
 * front of a Worker, and even Miniflare's default socket goes through an
 * entry Worker first; a direct socket reaches the Worker's fetch handler with
 * nothing in between, so what is measured is the Worker and workerd alone.
 *
 * Bindings come from the Worker's wrangler.toml, read with wrangler's own
 * config reader (never .dev.vars): vars, Durable Objects (SQLite where a
 * migration says so) and rate limits; secrets and overrides are given by the
 * caller. A binding kind not mapped here stops the start with a clear error
 * rather than running a Worker without it.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { convertV4MiniflareOptions, Miniflare, NoOpLog } from "miniflare";
import { unstable_readConfig } from "wrangler";
import { freePort, PROJECT_ROOT, tempDir } from "../../test/contract/support/worker.ts";
import { newKeySet } from "../../src/cli/keys.ts";
import { statTicks } from "./processes.ts";
import type { RunningWorker } from "./servers.ts";

/** How much of a Worker's log output is kept for error messages. */
const TAIL_CHARS = 8_192;

export interface RawWorkerOptions {
  /** Shown in progress and error messages. */
  name: string;
  /** The Worker's wrangler.toml, relative to the project root. */
  config: string;
  /** Another entry module than the config's `main` (relative to the project root): its bindings, another front. */
  main?: string;
  /** Bindings on top of (and over) the config's vars: secrets, ORIGIN_URL. */
  bindings?: Record<string, string>;
  /** Serve workerd's DevTools inspector on this port (CPU profiles). */
  inspectorPort?: number;
}

/** A Worker in raw workerd: also what it is made of, for profiling. */
export interface RawWorker extends RunningWorker {
  /** The workerd process serving it. */
  readonly pid: number;
  /** Its isolate's garbage-collection pauses so far (all zero unless `traceGcInEveryWorker()` was called first). */
  gcPauses(): GcPauses;
}

/**
 * Garbage-collection pauses on a Worker's isolate thread, as V8's
 * `--trace-gc` reports each: the young generation's (scavenges) and the
 * whole heap's (mark-compacts), how many and their milliseconds.
 */
export interface GcPauses {
  young: number;
  youngMs: number;
  full: number;
  fullMs: number;
}

/** The V8 flag that has workerd print a line for each garbage collection. */
const GC_TRACE_FLAG = "--trace-gc";

/**
 * coreutils' stdbuf library: preloaded into workerd, it makes its standard
 * output line-buffered, so that each GC line arrives as it is printed and
 * not in blocks of a few KiB (then a round's lines would come rounds late).
 */
const STDBUF_LIBRARIES = ["/usr/libexec/coreutils/libstdbuf.so", "/usr/lib/coreutils/libstdbuf.so"];

/**
 * From now on every Worker started here traces its garbage collection
 * (`gcPauses`): V8's `--trace-gc` through Miniflare's
 * `MINIFLARE_WORKERD_V8_FLAGS`, and workerd's output line by line. The
 * lines are rare (about one a second under load), so tracing costs nothing
 * that shows. Throws when stdbuf's library is missing.
 */
export function traceGcInEveryWorker(): void {
  bufferOutputByLine("tracing workerd's garbage collection");
  const flags = (process.env["MINIFLARE_WORKERD_V8_FLAGS"] ?? "").split(" ").filter(Boolean);
  if (!flags.includes(GC_TRACE_FLAG)) flags.push(GC_TRACE_FLAG);
  process.env["MINIFLARE_WORKERD_V8_FLAGS"] = flags.join(" ");
}

/**
 * From now on every Worker started here appends each line workerd prints
 * to `path`, after its name: what V8 says with the flags given it in
 * `MINIFLARE_WORKERD_V8_FLAGS` (`--trace-opt` for what it compiles, and
 * in which tier; `--trace-gc-nvp` for each collection with the bytes
 * allocated since the last), line by line as printed. Throws when stdbuf's
 * library is missing.
 */
export function logEveryWorkerTo(path: string): void {
  bufferOutputByLine("writing workerd's output to a file");
  // A file that cannot be written is said now, not by the first Worker's first line.
  try {
    appendFileSync(path, "");
  } catch (err) {
    throw new Error(`cannot write workerd's output to ${path}: ${(err as Error).message}`, { cause: err });
  }
  outputLog = path;
}

/** Where `logEveryWorkerTo` writes, else null. */
let outputLog: string | null = null;

/** Has every workerd started from now on write its output line by line (stdbuf preloaded). */
function bufferOutputByLine(what: string): void {
  const library = STDBUF_LIBRARIES.find((path) => existsSync(path));
  if (library === undefined) {
    throw new Error(`${what} needs coreutils' stdbuf library (${STDBUF_LIBRARIES.join(" or ")})`);
  }
  lineBufferedOutput = { LD_PRELOAD: library, _STDBUF_O: "L" };
}

/** workerd's environment while its output is wanted line by line (stdbuf preloaded), else null. */
let lineBufferedOutput: Record<string, string> | null = null;

/** One `--trace-gc` line: its kind, and the pause (the first of its "a / b ms"). */
const GC_LINE = /: (Scavenge|Minor Mark-Sweep|Mark-Compact|Mark-Sweep)\b[^\n]*?, ([\d.]+) \/ [\d.]+ ms/;

/** Adds a log line to `pauses` when it is a `--trace-gc` line; whether it was. */
function countGcLine(line: string, pauses: GcPauses): boolean {
  const m = GC_LINE.exec(line);
  if (m === null) return false;
  const ms = Number(m[2]);
  if (m[1] === "Scavenge" || m[1] === "Minor Mark-Sweep") {
    pauses.young += 1;
    pauses.youngMs += ms;
  } else {
    pauses.full += 1;
    pauses.fullMs += ms;
  }
  return true;
}

/** The environment of a wrangler build: this Node first on PATH, no metrics, no network look-ups. */
function buildEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: [dirname(process.execPath), process.env["PATH"] ?? ""].join(delimiter),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  };
}

/**
 * `wrangler deploy --dry-run --outdir <dir> -c <config> [main]`: the deploy
 * bundle's entry module (`main`, when given, in place of the config's).
 */
export async function buildBundle(config: string, outdir: string, main?: string): Promise<string> {
  const wrangler = join(PROJECT_ROOT, "node_modules", ".bin", "wrangler");
  const args = ["deploy", "--dry-run", "--outdir", outdir, "-c", join(PROJECT_ROOT, config)];
  if (main !== undefined) args.push(join(PROJECT_ROOT, main));
  let output = "";
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(wrangler, args, { cwd: PROJECT_ROOT, env: buildEnv(), stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.once("error", reject);
    // "close": all of its output read, for the error below.
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`wrangler ${args.join(" ")} exited with ${code}:\n${output.slice(-TAIL_CHARS)}`);
  // Named after the entry (index.ts: index.js); one module, no chunks.
  const modules = (await readdir(outdir)).filter((f) => f.endsWith(".js"));
  if (modules.length !== 1)
    throw new Error(`${config}: expected one bundled module in ${outdir}, found ${modules.join(", ")}`);
  return join(outdir, modules[0]!);
}

/** What is read here of wrangler's parsed config (its own type is too loose to check these uses). */
interface WorkerConfig {
  name?: string;
  configPath?: string;
  compatibility_date?: string;
  compatibility_flags: string[];
  vars: Record<string, unknown>;
  migrations: { new_sqlite_classes?: string[] }[];
  durable_objects: { bindings: { name: string; class_name: string; script_name?: string }[] };
  ratelimits?: { name: string; namespace_id: string; simple: { limit: number; period?: 10 | 60 } }[];
}

/** Binding kinds this mapping does not know; a config with any of them is refused. */
const UNMAPPED = [
  "kv_namespaces",
  "r2_buckets",
  "d1_databases",
  "queues",
  "services",
  "analytics_engine_datasets",
  "hyperdrive",
  "vectorize",
  "workflows",
] as const;

/** wrangler.toml's bindings as Miniflare (v4-style) worker options. */
function bindingsOf(config: WorkerConfig, extra: Record<string, string>) {
  for (const kind of UNMAPPED) {
    const value = (config as unknown as Record<string, unknown>)[kind];
    const present = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== null && value !== "";
    if (present && !(kind === "queues" && isEmptyQueues(value))) {
      throw new Error(`${config.configPath}: ${kind} bindings are not mapped to Miniflare in bench/lib/workerd.ts`);
    }
  }
  const sqlite = new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
  const durableObjects = Object.fromEntries(
    config.durable_objects.bindings.map((b) => {
      if (b.script_name !== undefined) throw new Error(`${b.name}: Durable Objects of other scripts are not mapped`);
      return [b.name, { className: b.class_name, useSQLite: sqlite.has(b.class_name) }];
    }),
  );
  const ratelimits = Object.fromEntries(
    (config.ratelimits ?? []).map((r) => [
      r.name,
      { namespace_id: r.namespace_id, simple: { limit: r.simple.limit, period: r.simple.period } },
    ]),
  );
  const vars = Object.fromEntries(
    Object.entries(config.vars).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return { bindings: { ...vars, ...extra }, durableObjects, ratelimits };
}

function isEmptyQueues(value: unknown): boolean {
  const q = value as { producers?: unknown[]; consumers?: unknown[] };
  return (q.producers?.length ?? 0) === 0 && (q.consumers?.length ?? 0) === 0;
}

/** Pids of the workerd processes this process started so far. */
function workerdChildren(): Set<number> {
  const out = new Set<number>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      // Under `npm run bench:instructions` workerd runs inside valgrind, whose tool names the process.
      if (ppid === process.pid && (comm.startsWith("workerd") || comm.startsWith("callgrind"))) out.add(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** User + system CPU ticks of one process; null once it is gone. */
function processTicks(pid: number): Map<number, number> | null {
  try {
    return new Map([[pid, statTicks(readFileSync(`/proc/${pid}/stat`, "utf8"))]]);
  } catch {
    return null;
  }
}

/**
 * Start one Worker in its own workerd. Starts are serialised by the caller
 * (one at a time), so the one new workerd child is this Worker's.
 */
export async function startRaw(options: RawWorkerOptions): Promise<RawWorker> {
  const outdir = await tempDir("spillway-bench-bundle-");
  let mf: Miniflare | null = null;
  try {
    const configPath = join(PROJECT_ROOT, options.config);
    const config: WorkerConfig = unstable_readConfig({ config: configPath }, { hideWarnings: true });
    const bundle = await buildBundle(options.config, outdir, options.main);
    const { bindings, durableObjects, ratelimits } = bindingsOf(config, options.bindings ?? {});
    const port = await freePort();
    let tail = "";
    const gc: GcPauses = { young: 0, youngMs: 0, full: 0, fullMs: 0 };
    const before = workerdChildren();
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: await freePort(),
        ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
        log: new NoOpLog(),
        handleStructuredLogs: ({ level, message }) => {
          if (outputLog !== null) appendFileSync(outputLog, `${options.name}: ${message}\n`);
          if (countGcLine(message, gc)) return;
          tail = (tail + `[${level}] ${message}\n`).slice(-TAIL_CHARS);
        },
        name: config.name ?? "worker",
        compatibilityDate: config.compatibility_date!,
        compatibilityFlags: config.compatibility_flags,
        // Module names are relative to modulesRoot; one outside the working directory must say so.
        modulesRoot: outdir,
        modules: [{ type: "ESModule", path: bundle, contents: await readFile(bundle, "utf8") }],
        bindings,
        durableObjects,
        ratelimits,
        unsafeDirectSockets: [{ host: "127.0.0.1", port }],
        ...(lineBufferedOutput === null ? {} : { unsafeRuntimeEnv: lineBufferedOutput }),
      }),
    );
    await mf.ready;
    const fresh = [...workerdChildren()].filter((pid) => !before.has(pid));
    if (fresh.length !== 1) throw new Error(`${options.name}: expected one new workerd process, found ${fresh.length}`);
    const pid = fresh[0]!;
    const running = mf;
    return {
      name: options.name,
      url: `http://127.0.0.1:${port}`,
      pid,
      cpuTicks: () => processTicks(pid),
      gcPauses: () => ({ ...gc }),
      reloads: () => 0,
      tail: (lines) => tail.trimEnd().split("\n").slice(-lines).join("\n"),
      stop: async () => {
        try {
          await running.dispose();
        } finally {
          await rm(outdir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await mf?.dispose().catch(() => undefined);
    await rm(outdir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Spillway with fresh signing keys (never the developer's .dev.vars), the
 * given admin token and origin (none: the demo origin); `main`: another
 * entry in front of it (bench/parts/poll.ts).
 */
export async function startRawSpillway(options: {
  adminToken: string;
  originUrl?: string;
  inspectorPort?: number;
  main?: string;
  /** The pass lifetime (PASS_TTL_SECONDS), for a bench longer than the default minute. */
  passTtlSeconds?: number;
}): Promise<RawWorker> {
  const { ADMIN_TOKEN: _admin, ...secrets } = await newKeySet();
  return startRaw({
    name: options.main === undefined ? "Spillway (wrangler.toml, raw workerd)" : `Spillway behind ${options.main}`,
    config: "wrangler.toml",
    bindings: {
      ...secrets,
      ADMIN_TOKEN: options.adminToken,
      ...(options.originUrl === undefined ? {} : { ORIGIN_URL: options.originUrl }),
      ...(options.passTtlSeconds === undefined ? {} : { PASS_TTL_SECONDS: String(options.passTtlSeconds) }),
    },
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    ...(options.main === undefined ? {} : { main: options.main }),
  });
}

/** The hello-world baseline. */
export function startRawHello(): Promise<RawWorker> {
  return startRaw({ name: "hello-world baseline (bench/hello, raw workerd)", config: "bench/hello/wrangler.toml" });
}

/** The waiting poll's floor (bench/floor): the least a Worker answering the poll must do. */
export function startRawFloor(): Promise<RawWorker> {
  return startRaw({ name: "poll floor (bench/floor, raw workerd)", config: "bench/floor/wrangler.toml" });
}

/** The plain proxy baseline, forwarding to the given origin. */
export function startRawProxy(originUrl: string): Promise<RawWorker> {
  return startRaw({
    name: "plain proxy baseline (bench/proxy, raw workerd)",
    config: "bench/proxy/wrangler.toml",
    bindings: { ORIGIN_URL: originUrl },
  });
}

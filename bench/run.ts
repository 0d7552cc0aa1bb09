/**
 * `npm run bench`: Spillway's request paths under load in raw workerd,
 * measured against baseline Workers in the same run.
 *
 * Starts a small local origin and three Workers, each its deploy bundle in
 * its own workerd on a direct socket (bench/lib/workerd.ts; no wrangler dev,
 * whose proxy pipeline would dilute every ratio): Spillway, the hello-world
 * Worker (bench/hello) and a plain proxy Worker (bench/proxy) to the same
 * origin. Then loads each case with wrk (bench/lib/wrk.ts) for the same
 * connections and duration, each Spillway case between two runs of hello
 * world: the static JWKS, a waiting poll, a request with a pass proxied to
 * the origin (between runs of the plain proxy through the same origin), a join,
 * and a called listener's status polled as fast as wrk can from the device
 * that holds its seat and from a device without its pass (one that drops its
 * cookies). Durable Object calls are counted from the admin stats around
 * each case; for the waiting poll also for as long without any load, to tell
 * the room's background calls (alarms, syncs) from those polls cause. CPU
 * per request is read for the Worker's processes and for wrk itself, to
 * show the generator is not the bottleneck.
 *
 * The cases with a ratio target (static JWKS, waiting poll, request with a
 * pass) run in `--rounds` rounds, each between runs of its baseline: on
 * a shared machine the speed of one 8 s run drifts by tens of per cent, and
 * the median of several rounds is steadier than one. Within a round the
 * case and its baseline take turns in `--slices` slices of its measured
 * seconds (the baseline first and last), so that both sample the same
 * stretch of the machine's time, and each side's slices count as one run.
 * In raw mode every Worker's workerd runs on the machine's last CPU, and
 * wrk, the origin and this process on the others (`--no-pin`: wherever the
 * system puts them): the shared machine's CPUs run at different speeds at
 * the same moment, and a case and its baseline placed on different ones
 * measured the CPUs as much as the code (docs/scale.md, "Benchmark").
 * In raw mode each round starts Spillway and its baseline in new workerd
 * processes: two processes of the same build differ by a few per cent, so
 * rounds on one pair of processes all carry that pair's luck, and only new
 * ones even it out.
 *
 * `--dev` runs the same cases again with the Workers under `wrangler dev`
 * and prints that as a second table. Prints each case's ratio to its
 * baseline and the SPEC's performance targets; `--json` adds one JSON object
 * as the last stdout line. Results are also written to
 * bench/results/<timestamp>.json. This is a measurement: the exit code does
 * not depend on the targets, only on whether the run worked.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { send, type StatusJson } from "../test/contract/support/http.ts";
import { PROJECT_ROOT } from "../test/contract/support/worker.ts";
import { ensureWrk, type LoadOptions, type LoadRequest, measure, stopLoad, warmUp } from "./lib/wrk.ts";
import { PRICES } from "../sim/cost.ts";
import { REPEAT_CLAIM_MS } from "../src/edge/repeat-claims.ts";
import { REPEAT_RENEWAL_MS } from "../src/edge/repeat-renewals.ts";
import {
  ADMITTED_LISTENERS,
  firstSeated as seatedFirst,
  helloRequest as helloRequestOf,
  lastInLine,
  passRequest,
  QUEUED_LISTENERS,
  statusRequest,
} from "./lib/cases.ts";
import { type HeldResult, measureHeld, ROWS_WRITTEN_PER_ROUND } from "./lib/held.ts";
import { callsOf, combine, type Measured, turns } from "./lib/measured.ts";
import { startOrigin, type BenchOrigin } from "./lib/origin.ts";
import { allowedCpus, cpuSecondsBetween, killAllNow, pinProcess, stopAll } from "./lib/processes.ts";
import { type CaseRow, table, type Target, targetLines } from "./lib/report.ts";
import { callsBetween, type CallCounts, Rooms } from "./lib/rooms.ts";
import { type RunningWorker, startHello, startProxy, startSpillway } from "./lib/servers.ts";
import { startRawHello, startRawProxy, startRawSpillway } from "./lib/workerd.ts";

const USAGE = `Usage: npm run bench [-- --json] [--dev] [--connections N] [--duration S] [--warmup S]

  --json           also print the results as one JSON object (the last stdout line)
  --dev            also run every case under wrangler dev, as a second table
  --connections N  concurrent connections per case (default 10)
  --duration S     measured seconds per case (default 8)
  --warmup S       unmeasured seconds before each case (default 2)
  --rounds N       rounds of each case with a ratio target (static JWKS, waiting poll, request with a
                   pass), each the case between runs of its baseline, in raw mode on new processes;
                   its ratio is the median of the rounds' (default 5)
  --slices N       a round's measured seconds in N slices, the baseline's and the case's taking turns
                   (baseline first and last), so that the machine's drift within the round falls on
                   both alike; 1: one baseline run, the case, one baseline run (default 4)
  --no-pin         let the system place the Workers and wrk (by default, in raw mode on a machine of
                   two or more CPUs, every Worker's workerd runs on the last CPU and wrk, the origin
                   and this process on the others, so that a case and its baseline run on one CPU)
  --fresh-warmup S unmeasured seconds of load on each round's new processes before its runs, so
                   that they are measured as a long-lived isolate runs, not while it compiles (default 6)
  --held N         listeners holding a live stream in the held-stream case (default 100; 0 skips it)
  --held-seconds S how long they hold it, measured (default 60)`;

const { values: flags } = parseArgs({
  allowNegative: true,
  options: {
    json: { type: "boolean", default: false },
    dev: { type: "boolean", default: false },
    connections: { type: "string", default: "10" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    slices: { type: "string", default: "4" },
    pin: { type: "boolean", default: true },
    "fresh-warmup": { type: "string", default: "6" },
    held: { type: "string", default: "100" },
    "held-seconds": { type: "string", default: "60" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

function positiveNumber(name: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    console.error(`bench: --${name} must be a ${allowZero ? "non-negative" : "positive"} number, got "${text}"\n`);
    console.error(USAGE);
    process.exit(2);
  }
  return n;
}

const CONNECTIONS = Math.round(positiveNumber("connections", flags.connections));
// wrk takes whole seconds.
const DURATION_S = Math.max(1, Math.round(positiveNumber("duration", flags.duration)));
const WARMUP_S = Math.round(positiveNumber("warmup", flags.warmup, true));
const ROUNDS = Math.max(1, Math.round(positiveNumber("rounds", flags.rounds)));
const SLICES = Math.max(1, Math.round(positiveNumber("slices", flags.slices)));
/** A slice's measured seconds (wrk takes whole seconds). */
const SLICE_S = SLICES === 1 ? DURATION_S : Math.max(1, Math.round(DURATION_S / SLICES));
/** The warm-up of a slice after a Worker's first in a round: it was loaded seconds before. */
const SLICE_WARMUP_S = SLICES === 1 ? WARMUP_S : Math.min(1, WARMUP_S);
/**
 * Raw Workers' CPU, and the CPUs of wrk, the origin and this process, when
 * pinned (`--pin`): the system places each process anew, and this machine's
 * CPUs ran at different speeds at the same moment, so a case and its
 * baseline are measured on the same one. Null: not pinned.
 */
const PINNED = ((): { workers: string; others: string; all: string } | null => {
  const allowed = flags.pin ? allowedCpus() : null;
  if (allowed === null || allowed.length < 2) return null;
  return { workers: String(allowed.at(-1)), others: allowed.slice(0, -1).join(","), all: allowed.join(",") };
})();
/** This machine's CPUs for this run, counted before this process is pinned (which would count one). */
const CORES = availableParallelism();
const FRESH_WARMUP_S = Math.round(positiveNumber("fresh-warmup", flags["fresh-warmup"], true));
const HELD_LISTENERS = Math.round(positiveNumber("held", flags.held, true));
const HELD_SECONDS = positiveNumber("held-seconds", flags["held-seconds"]);

const ROOMS = {
  poll: "bench-poll",
  pass: "bench-pass",
  join: "bench-join",
  claim: "bench-claim",
  rotation: "bench-rotation",
  renewal: "bench-renewal",
} as const;
const HELD_ROOM = "bench-held";
/** A wrk thread busier than this share of a core may have held the Worker back. */
const GENERATOR_BUSY = 0.8;
/** The SPEC's ratio targets: each case's requests/s over its baseline's, at least. */
const RATIO_TARGETS = { poll: 0.85, pass: 0.8, static: 0.95 } as const;
const ratioTarget = (key: CaseKey): number | undefined => (RATIO_TARGETS as Partial<Record<CaseKey, number>>)[key];

// ---------------------------------------------------------------- progress

const t0 = performance.now();
/** The machine's 1-minute load average before this run started anything. */
const loadBefore = loadavg()[0]!;
function progress(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s} s] ${message}\n`);
}

// ---------------------------------------------------------------- cleanup

const workers = new Set<RunningWorker>();
/** The Workers on PINNED.workers (raw ones): wrk loads them from the other CPUs. */
const pinned = new WeakSet<RunningWorker>();
let origin: BenchOrigin | null = null;
let cleaning: Promise<void> | null = null;
let interrupted = false;
/** Things that make this run's numbers less trustworthy, printed with the results. */
const warnings: string[] = [];

/** Stop the load, every Worker and the origin; once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
    await Promise.allSettled([...[...workers].map((w) => w.stop()), origin?.close()]);
    await stopAll();
  })();
  return cleaning;
}

class Interrupted extends Error {}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) {
      killAllNow();
      process.exit(130);
    }
    interrupted = true;
    progress(`${signal}: stopping the load and every process this run started…`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on("exit", killAllNow);

// ---------------------------------------------------------------- Workers

type Mode = "raw" | "dev";
const MODE_TEXT: Record<Mode, string> = {
  raw: "raw workerd (deploy bundles via Miniflare, direct sockets)",
  dev: "wrangler dev",
};

interface WorkerSet {
  spillway: RunningWorker;
  hello: RunningWorker;
  proxy: RunningWorker;
}

/** Start one Worker and remember it for cleanup. */
async function track<W extends RunningWorker>(start: Promise<W>): Promise<W> {
  const w = await start;
  workers.add(w);
  return w;
}

/**
 * One Worker of the set in raw workerd, remembered for cleanup. Raw Workers
 * start one after another: each is told apart by its new workerd process.
 */
async function startRawWorker(kind: keyof WorkerSet, adminToken: string, originUrl: string): Promise<RunningWorker> {
  try {
    const start =
      kind === "spillway"
        ? startRawSpillway({ adminToken, originUrl })
        : kind === "hello"
          ? startRawHello()
          : startRawProxy(originUrl);
    const worker = await track(start);
    if (PINNED !== null) {
      pinProcess(worker.pid, PINNED.workers);
      pinned.add(worker);
    }
    return worker;
  } catch (err) {
    throw new StartError(err);
  }
}

/** The three Workers in `mode`: raw ones one after another, wrangler dev ones all at once. */
async function startSet(mode: Mode, adminToken: string, originUrl: string): Promise<WorkerSet> {
  if (mode === "raw") {
    const spillway = await startRawWorker("spillway", adminToken, originUrl);
    const hello = await startRawWorker("hello", adminToken, originUrl);
    const proxy = await startRawWorker("proxy", adminToken, originUrl);
    return { spillway, hello, proxy };
  }
  try {
    const [spillway, hello, proxy] = await Promise.all([
      track(startSpillway({ adminToken, originUrl })),
      track(startHello()),
      track(startProxy(originUrl)),
    ]);
    return { spillway, hello, proxy };
  } catch (err) {
    throw new StartError(err);
  }
}

async function stopWorkers(list: RunningWorker[]): Promise<void> {
  await Promise.allSettled(
    list.map(async (w) => {
      workers.delete(w);
      await w.stop();
    }),
  );
}

// ---------------------------------------------------------------- cases

/**
 * One case's runs and the baseline runs around them: around[i] holds the two
 * around runs[i], or with slices (`--slices`) the baseline's slices of that
 * round as one run.
 */
interface CaseRuns {
  runs: Measured[];
  around: Measured[][];
  /** The hello runs before and after all of it. */
  hellos: [Measured, Measured];
}

/** One run's seconds: unmeasured load first, then measured. */
interface RunTiming {
  warmupS: number;
  durationS: number;
}

async function runCase(
  label: string,
  worker: RunningWorker,
  request: LoadRequest,
  counted: { rooms: Rooms; room: string } | null,
  timing: RunTiming = { warmupS: WARMUP_S, durationS: DURATION_S },
): Promise<Measured> {
  if (interrupted) throw new Interrupted();
  const { warmupS, durationS } = timing;
  const options: LoadOptions = {
    url: worker.url,
    request,
    connections: CONNECTIONS,
    durationSeconds: durationS,
    ...(PINNED !== null && pinned.has(worker) ? { cpus: PINNED.others } : {}),
  };
  progress(`${label}: ${warmupS} s warm-up + ${durationS} s measured, ${CONNECTIONS} connections`);
  const reloadsBefore = worker.reloads();
  await warmUp(options, warmupS);
  if (interrupted) throw new Interrupted();
  const before = counted ? await counted.rooms.doCalls(counted.room) : null;
  const cpuBefore = worker.cpuTicks();
  const result = await measure(options);
  const cpuAfter = worker.cpuTicks();
  if (interrupted) throw new Interrupted();
  const perRequest = (seconds: number) => (result.requests === 0 ? Number.NaN : (seconds * 1e6) / result.requests);
  const cpuUsPerRequest =
    cpuBefore === null || cpuAfter === null ? null : perRequest(cpuSecondsBetween(cpuBefore, cpuAfter));
  const generatorCpuUsPerRequest = perRequest(result.generatorCpuSeconds);
  if (worker.reloads() !== reloadsBefore) {
    warnings.push(`${label}: wrangler reloaded ${worker.name} during the case (source files changed)`);
  }
  const generatorShare = result.generatorCpuSeconds / result.durationSeconds;
  if (generatorShare > GENERATOR_BUSY) {
    warnings.push(
      `${label}: wrk was busy ${(generatorShare * 100).toFixed(0)} % of a core: it may have been the limit`,
    );
  }
  const after = counted ? await counted.rooms.doCalls(counted.room) : null;
  const calls = before && after ? callsBetween(before, after) : null;
  const bad = result.non2xx + result.errors;
  progress(
    `  ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
      (calls ? `, ${calls.total} Durable Object calls` : "") +
      (cpuUsPerRequest !== null ? `, Worker ${cpuUsPerRequest.toFixed(0)} µs CPU/request` : "") +
      `, wrk ${generatorCpuUsPerRequest.toFixed(1)} µs CPU/request (${(generatorShare * 100).toFixed(0)} % of a core)` +
      (bad > 0 ? `, ${bad} failed (${result.non2xx} with status ≥ 400, ${result.errors} errors)` : ""),
  );
  return { result, calls, cpuUsPerRequest, generatorCpuUsPerRequest };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** The index of the median of xs (the lower middle one of an even count). */
const medianIndex = (xs: number[]) => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  return order[Math.floor((order.length - 1) / 2)]![1];
};
const round = (n: number, digits: number) => Number(n.toFixed(digits));
const num = (n: number | null, digits: number) => (n === null || !Number.isFinite(n) ? null : round(n, digits));

type CaseKey = "static" | "poll" | "pass" | "join" | "claim" | "rotation" | "renewal";

/** One mode's results: its table, its targets, and its JSON. */
interface SuiteResult {
  text: string[];
  json: Record<string, unknown>;
}

/**
 * Every case in one mode, on a fresh set of Workers (fresh Spillway state),
 * stopped again at the end. The held-stream case only when `withHeld`.
 */
async function suite(mode: Mode, adminToken: string, withHeld: boolean): Promise<SuiteResult> {
  progress(`starting Spillway, hello world and the plain proxy in ${MODE_TEXT[mode]}…`);
  let { spillway, hello, proxy } = await startSet(mode, adminToken, origin!.url);
  progress(`ready: Spillway ${spillway.url}, hello ${hello.url}, proxy ${proxy.url}, origin ${origin!.url}`);
  let rooms = new Rooms(spillway.url, adminToken);
  /**
   * Raw mode: Spillway and `baseline` in new workerd processes (new
   * isolates, empty state). Two processes of one build differ in speed by a
   * few per cent, and which way is luck; a round on processes of its own
   * puts that luck in the rounds, where their median evens it out, instead
   * of in every round of a run alike.
   */
  const renew = async (baseline: "hello" | "proxy") => {
    await stopWorkers([spillway, baseline === "hello" ? hello : proxy]);
    spillway = await startRawWorker("spillway", adminToken, origin!.url);
    if (baseline === "hello") hello = await startRawWorker("hello", adminToken, origin!.url);
    else proxy = await startRawWorker("proxy", adminToken, origin!.url);
    rooms = new Rooms(spillway.url, adminToken);
    progress(`  new processes: Spillway ${spillway.url}, ${baseline} ${(baseline === "hello" ? hello : proxy).url}`);
  };
  /** Each round of a case with a target on new processes (raw mode; wrangler dev restarts too slowly for it). */
  const freshProcesses = mode === "raw";

  // Hello world gets requests of the same shape as a waiting poll.
  const helloRequest = helloRequestOf(ROOMS.poll);

  /**
   * The Spillway cases. Each sets up its room just before it runs (passes
   * and seats lapse after a minute) and checks afterwards that it measured
   * what it says. `proxied` cases are compared with the plain proxy, run
   * around it with the same request; the others with hello world. A case
   * with a ratio target runs ROUNDS times, each between two runs of its
   * baseline (in raw mode on new processes, so set up again each round).
   */
  interface SpillwayCase {
    key: CaseKey;
    label: string;
    proxied?: boolean;
    /** Measured in ROUNDS rounds (its ratio has a target). */
    rounds?: boolean;
    /** Set up afresh for each round (its tokens lapse within a minute); otherwise once (on the same processes). */
    fresh?: boolean;
    /** Set up the case's room, on Spillway as it is now; `first`: the case's first round. */
    prepare(first: boolean): Promise<LoadRequest>;
    check?(run: Measured): Promise<void>;
  }
  let queued: StatusJson | null = null;
  /** The poll room's Durable Object calls in DURATION_S seconds without any load (alarms, syncs). */
  let idleCalls: { total: number; byKind: CallCounts } = { total: 0, byKind: {} };
  let claimer: StatusJson | null = null;
  let rotator: StatusJson | null = null;
  let beating: StatusJson | null = null;
  let servedBefore = origin!.counts();
  /** A listener's state, asked as `statusRequest` asks. */
  const stateOf = async (room: string, ticket: string, pass?: string) => {
    const { path, headers } = statusRequest(room, ticket, pass);
    return (await send<{ state?: string }>(`${spillway.url}${path}`, { headers })).json?.state;
  };
  /** A room of `count` seated listeners, set up afresh; the first of them. */
  const firstSeated = async (room: string, count = ADMITTED_LISTENERS) => {
    progress(`setting up room ${room}: ${count} admitted listeners`);
    return seatedFirst(rooms, room, count);
  };
  const spillwayCases: SpillwayCase[] = [
    {
      key: "static",
      label: "static JWKS (GET /_spillway/jwks.json)",
      rounds: true,
      prepare: async () => ({ method: "GET", path: "/_spillway/jwks.json" }),
    },
    {
      key: "poll",
      label: "waiting poll",
      rounds: true,
      prepare: async (first) => {
        progress(`setting up room ${ROOMS.poll}: capacity 1, 1 admitted, ${QUEUED_LISTENERS} queued`);
        queued = await lastInLine(rooms, ROOMS.poll);
        const request = statusRequest(ROOMS.poll, queued.ticket!);
        // The room's own calls without load: once is enough (every round's room is set up alike).
        if (!first) return request;
        progress(`counting room ${ROOMS.poll}'s Durable Object calls for ${DURATION_S} s without any load`);
        const before = await rooms.doCalls(ROOMS.poll);
        await new Promise((r) => setTimeout(r, DURATION_S * 1000));
        if (interrupted) throw new Interrupted();
        idleCalls = callsBetween(before, await rooms.doCalls(ROOMS.poll));
        progress(`  ${idleCalls.total} Durable Object calls without load`);
        return request;
      },
      check: async () => {
        const state = await stateOf(ROOMS.poll, queued!.ticket!);
        if (state !== "queued") warnings.push(`${mode}: after the poll load the polling listener is "${state}"`);
      },
    },
    {
      key: "pass",
      label: "request with a pass (proxied)",
      proxied: true,
      rounds: true,
      fresh: true,
      prepare: async () => {
        const holder = await firstSeated(ROOMS.pass);
        return passRequest(ROOMS.pass, holder.pass!);
      },
      check: async (run) => {
        const proxied = origin!.counts().withPass - servedBefore.withPass;
        const answered = run.result.requests;
        if (proxied < answered)
          warnings.push(`${mode}: the origin saw ${proxied} requests with a pass for ${answered} answered`);
      },
    },
    {
      key: "join",
      label: "join (hold mode)",
      prepare: async () => {
        progress(`setting up room ${ROOMS.join}: mode hold (every join takes a place and queues)`);
        await rooms.configure(ROOMS.join, { mode: "hold" });
        return { method: "POST", path: `/_spillway/rooms/${ROOMS.join}/join`, headers: { accept: "application/json" } };
      },
    },
    {
      // A status call of an admitted listener is a claim on its shard that
      // returns the seat it holds; repeats within REPEAT_CLAIM_MS are
      // answered by the isolate with the same pass (src/edge/repeat-claims.ts).
      key: "claim",
      label: "claim (admitted, existing seat)",
      prepare: async () => {
        claimer = await firstSeated(ROOMS.claim);
        // From the device that holds the seat: its pass goes along as a browser's cookie does
        // (the ticket alone would be another device's, and move the seat).
        return statusRequest(ROOMS.claim, claimer.ticket!, claimer.pass!);
      },
      check: async () => {
        const state = await stateOf(ROOMS.claim, claimer!.ticket!, claimer!.pass!);
        if (state !== "admitted") warnings.push(`${mode}: after the claim load the claimer is "${state}"`);
      },
    },
    {
      // The same ticket without its pass cookie: each poll is another device's (a client that
      // drops its cookies), whose claim would move the seat; within REPEAT_CLAIM_MS of the
      // ticket's last claim it is told to try again shortly instead.
      key: "rotation",
      label: "claim from another device (no pass cookie)",
      prepare: async () => {
        // Fewer listeners: the room's first second of admissions must seat them all, on a busy machine too.
        rotator = await firstSeated(ROOMS.rotation, 10);
        return statusRequest(ROOMS.rotation, rotator.ticket!);
      },
      check: async () => {
        const state = await stateOf(ROOMS.rotation, rotator!.ticket!);
        if (state !== "admitted" && state !== "queued") {
          warnings.push(`${mode}: after the load without a pass cookie the ticket is "${state}"`);
        }
      },
    },
    {
      // A seated listener's heartbeat sent as fast as wrk can, always with the pass it was first given:
      // each renewal is a call to its seat's shard, repeated within REPEAT_RENEWAL_MS it is answered here.
      key: "renewal",
      label: "heartbeat (admitted, the same pass again and again)",
      prepare: async () => {
        beating = await firstSeated(ROOMS.renewal, 10);
        return {
          method: "POST",
          path: `/_spillway/rooms/${ROOMS.renewal}/heartbeat`,
          headers: { authorization: `Bearer ${beating.pass!}` },
        };
      },
      check: async () => {
        const state = await stateOf(ROOMS.renewal, beating!.ticket!, beating!.pass!);
        if (state !== "admitted") warnings.push(`${mode}: after the heartbeat load the listener is "${state}"`);
      },
    },
  ];

  // Hello world and Spillway cases alternate, starting and ending with hello,
  // so that each case sits between two hello runs. A case with rounds runs
  // each round between two runs of its baseline (hello, or the plain proxy
  // with the same request); in raw mode each round on new processes.
  const hellos: Measured[] = [];
  const measured: Partial<Record<CaseKey, CaseRuns>> = {};
  const proxyRuns: Measured[] = [];
  const helloRun = async () => {
    const m = await runCase(`${mode}: hello world (run ${hellos.length + 1})`, hello, helloRequest, null);
    hellos.push(m);
    return m;
  };
  let lastHello = await helloRun();
  for (const c of spillwayCases) {
    const helloBefore = lastHello;
    const runs: Measured[] = [];
    const around: Measured[][] = [];
    const counted = () => (c.key === "static" ? null : { rooms, room: ROOMS[c.key] });
    if (!c.rounds) {
      const request = await c.prepare(true);
      servedBefore = origin!.counts();
      const run = await runCase(`${mode}: ${c.label}`, spillway, request, counted());
      runs.push(run);
      await c.check?.(run);
      lastHello = await helloRun();
      around.push([helloBefore, lastHello]);
    } else {
      let request: LoadRequest | null = null;
      for (let r = 0; r < ROUNDS; r++) {
        const of = ` (round ${r + 1} of ${ROUNDS})`;
        if (freshProcesses) {
          progress(
            `${mode}: ${c.label}${of}: new processes for Spillway and the ${c.proxied ? "plain proxy" : "hello world"} baseline`,
          );
          await renew(c.proxied ? "proxy" : "hello");
        }
        if (request === null || c.fresh || freshProcesses) request = await c.prepare(r === 0);
        if (freshProcesses && FRESH_WARMUP_S > 0) {
          progress(`  warming the new processes up: ${FRESH_WARMUP_S} s of load each, not measured`);
          const load = { connections: CONNECTIONS, durationSeconds: FRESH_WARMUP_S };
          await warmUp({ ...load, url: spillway.url, request }, FRESH_WARMUP_S);
          const base = c.proxied ? { url: proxy.url, request } : { url: hello.url, request: helloRequest };
          await warmUp({ ...load, ...base }, FRESH_WARMUP_S);
          // Tokens that lapse within a minute: new ones for the measured runs.
          if (c.fresh) request = await c.prepare(false);
        }
        // Slices taking turns, the baseline's first and last: both sample the same stretch of the machine's time
        // (`--slices 1`: the baseline, the case, the baseline).
        const slice = (i: number) => ({
          warmupS: i === 0 ? WARMUP_S : SLICE_WARMUP_S,
          durationS: SLICE_S,
        });
        const [baseName, baseWorker, baseRequest] = c.proxied
          ? (["plain proxy", proxy, request!] as const)
          : (["hello world", hello, helloRequest] as const);
        const ofSlice = (i: number, of: number) => ` (round ${r + 1} of ${ROUNDS}, slice ${i + 1} of ${of})`;
        const baseSlice = (i: number) =>
          runCase(`${mode}: ${baseName}${ofSlice(i, SLICES + 1)}`, baseWorker, baseRequest, null, slice(i));
        const baseSlices: Measured[] = [];
        const caseSlices: Measured[] = [];
        for (const side of turns(SLICES)) {
          if (side === "baseline") {
            baseSlices.push(await baseSlice(baseSlices.length));
            continue;
          }
          const i = caseSlices.length;
          servedBefore = origin!.counts();
          const part = await runCase(
            `${mode}: ${c.label}${ofSlice(i, SLICES)}`,
            spillway,
            request,
            counted(),
            slice(i),
          );
          await c.check?.(part);
          caseSlices.push(part);
        }
        const run = combine(caseSlices, CONNECTIONS);
        const base = combine(baseSlices, CONNECTIONS);
        progress(
          `  round ${r + 1}: ${run.result.rps.toFixed(0)} against ${base.result.rps.toFixed(0)} req/s over its slices, ` +
            `${(run.result.rps / base.result.rps).toFixed(3)}× ${c.proxied ? "the plain proxy" : "hello world"}`,
        );
        runs.push(run);
        // One slice each side of the case (`--slices 1`): the two baseline runs as they were, not merged.
        const baseRuns = SLICES === 1 ? baseSlices : [base];
        around.push(baseRuns);
        (c.proxied ? proxyRuns : hellos).push(...baseRuns);
      }
      lastHello = c.proxied ? await helloRun() : hellos.at(-1)!;
    }
    measured[c.key] = { runs, around, hellos: [helloBefore, lastHello] };
  }

  // The held-stream case: no load, only connected listeners, so it runs on its own.
  let held: HeldResult | null = null;
  if (withHeld && HELD_LISTENERS > 0) {
    if (interrupted) throw new Interrupted();
    progress(`${mode}: held stream: ${HELD_LISTENERS} listeners on an endless stream for ${HELD_SECONDS} s`);
    const reloadsBefore = spillway.reloads();
    held = await measureHeld(spillway.url, rooms, HELD_ROOM, HELD_LISTENERS, HELD_SECONDS, progress);
    if (spillway.reloads() !== reloadsBefore) {
      warnings.push(
        "held stream: wrangler reloaded Spillway during the case (source files changed): it cut the streams",
      );
    }
    progress(
      `  ${held.calls} Durable Object calls (${Object.entries(held.byKind)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")}): ${held.callsPerListenerMinute.toFixed(2)} per listener-minute; ${held.cut} streams cut`,
    );
    if (held.cut > 0) warnings.push(`held stream: ${held.cut} of ${held.listeners} entitled streams were cut`);
  }

  progress(`stopping the ${mode} Workers`);
  await stopWorkers([spillway, hello, proxy]);

  // ------------------------------------------------------------ results
  const stats = (ms: Measured[]) => ({
    rps: mean(ms.map((m) => m.result.rps)),
    p50Ms: mean(ms.map((m) => m.result.p50Ms)),
    p99Ms: mean(ms.map((m) => m.result.p99Ms)),
    cpuUsPerRequest: ms.some((m) => m.cpuUsPerRequest === null) ? null : mean(ms.map((m) => m.cpuUsPerRequest!)),
    generatorCpuUsPerRequest: mean(ms.map((m) => m.generatorCpuUsPerRequest)),
  });
  const base = stats(hellos);
  const perRequest = (m: Measured) => (m.calls === null ? null : m.calls.total / m.result.requests);

  const helloRps = hellos.map((b) => b.result.rps);
  const rpsSpread = (Math.max(...helloRps) / Math.min(...helloRps) - 1) * 100;
  if (rpsSpread > 15)
    warnings.push(`${mode}: the hello runs differ by up to ${rpsSpread.toFixed(0)} % (a noisy machine)`);

  interface CaseSummary {
    /** The run of the median round (the only run of a case without rounds). */
    m: Measured;
    runs: Measured[];
    /** What the ratio is to: the two baseline runs around the median round. */
    baseline: ReturnType<typeof stats>;
    baselineName: "hello" | "proxy";
    /** The hello runs before and after the whole case (also for a proxied case). */
    around: ReturnType<typeof stats>;
    /** The median of the rounds' ratios. */
    ratio: number;
    /** Each round's requests/s over the mean of its two baseline runs. */
    ratios: number[];
    /** Each round's Worker CPU per request over its baselines'; null without /proc. */
    cpuRatios: number[] | null;
    /** All rounds' Durable Object calls together. */
    calls: { total: number; byKind: CallCounts } | null;
    doCallsPerRequest: number | null;
  }
  const summary = {} as Record<CaseKey, CaseSummary>;
  for (const c of spillwayCases) {
    const { runs, around: pairs, hellos: around } = measured[c.key]!;
    const pair = (i: number) => stats(pairs[i]!);
    const ratios = runs.map((m, i) => m.result.rps / pair(i).rps);
    const cpuRatios = runs.every((m, i) => m.cpuUsPerRequest !== null && pair(i).cpuUsPerRequest !== null)
      ? runs.map((m, i) => m.cpuUsPerRequest! / pair(i).cpuUsPerRequest!)
      : null;
    const mid = medianIndex(ratios);
    const calls = callsOf(runs);
    const requests = runs.reduce((sum, m) => sum + m.result.requests, 0);
    summary[c.key] = {
      m: runs[mid]!,
      runs,
      baseline: pair(mid),
      baselineName: c.proxied ? "proxy" : "hello",
      around: stats(around),
      ratio: ratios[mid]!,
      ratios,
      cpuRatios,
      calls,
      doCallsPerRequest: calls === null ? null : calls.total / requests,
    };
    for (const [i, m] of runs.entries()) {
      const bad = m.result.non2xx + m.result.errors;
      if (bad === 0) continue;
      const of = runs.length > 1 ? ` (round ${i + 1})` : "";
      warnings.push(
        `${mode}: ${c.label}${of}: ${bad} of ${m.result.requests} requests failed (${m.result.non2xx} with status ≥ 400, ${m.result.errors} errors)`,
      );
    }
  }
  const proxyStats = stats(proxyRuns);

  const row = (label: string, m: Measured, ratio: number | null, ratioTo: string | null): CaseRow => ({
    label,
    result: m.result,
    ratio,
    ratioTo,
    doCallsPerRequest: perRequest(m),
    cpuUsPerRequest: m.cpuUsPerRequest,
    generatorCpuUsPerRequest: m.generatorCpuUsPerRequest,
  });
  const rows: CaseRow[] = [
    ...hellos.map((m, i) => row(`hello world, run ${i + 1}`, m, null, null)),
    {
      label: "hello world, mean",
      result: { ...base, non2xx: 0, errors: 0 },
      ratio: null,
      ratioTo: null,
      doCallsPerRequest: null,
      cpuUsPerRequest: base.cpuUsPerRequest,
      generatorCpuUsPerRequest: base.generatorCpuUsPerRequest,
    },
    ...proxyRuns.map((m, i) =>
      row(`plain proxy (bench/proxy), run ${i + 1}`, m, m.result.rps / summary.pass.around.rps, "hello"),
    ),
    ...spillwayCases.flatMap((c) => {
      const { runs, ratios, baselineName } = summary[c.key];
      return runs.map((m, i) =>
        row(runs.length > 1 ? `${c.label}, round ${i + 1}` : c.label, m, ratios[i]!, baselineName),
      );
    }),
  ];

  const poll = summary.poll;
  const p99Delta = poll.m.result.p99Ms - poll.baseline.p99Ms;
  const doCallsPerPoll = poll.doCallsPerRequest ?? Number.NaN;
  const pollCalls = poll.calls!;
  const pollRequests = poll.runs.reduce((sum, m) => sum + m.result.requests, 0);
  const pollSeconds = poll.runs.reduce((sum, m) => sum + m.result.durationSeconds, 0);
  const kinds = (c: CallCounts) =>
    Object.entries(c)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
  // The same room's calls in as much time without load (alarms, syncs) are not caused by polls.
  const idleShare = idleCalls.total * (pollSeconds / DURATION_S);
  const doCallsPerPollNet = Math.max(0, pollCalls.total - idleShare) / pollRequests;
  /** How many of a case's rounds met a ratio target on their own: how far the median's verdict is from tipping. */
  const roundsMeeting = (s: CaseSummary, target: number) => s.ratios.filter((r) => r >= target).length;
  const versus = (s: CaseSummary, target: number) =>
    s.runs.length === 1
      ? `${s.ratio.toFixed(3)}× (${s.m.result.rps.toFixed(0)} vs ${s.baseline.rps.toFixed(0)} req/s)`
      : `${s.ratio.toFixed(3)}×, the median of ${s.runs.length} rounds, ${roundsMeeting(s, target)} of them at or over ${target} ` +
        `(${s.ratios.map((r) => r.toFixed(3)).join(", ")}; ` +
        `median round ${s.m.result.rps.toFixed(0)} vs ${s.baseline.rps.toFixed(0)} req/s` +
        (s.cpuRatios === null
          ? ""
          : `; Worker CPU per request ${s.cpuRatios.map((r) => r.toFixed(2)).join(", ")}× the baseline's`) +
        ")";
  const targets: Target[] = [
    {
      label: `waiting poll ≥ ${RATIO_TARGETS.poll} × hello requests/s`,
      met: poll.ratio >= RATIO_TARGETS.poll,
      measured: versus(poll, RATIO_TARGETS.poll),
    },
    {
      label: "waiting poll p99 ≤ hello p99 + 2 ms",
      met: p99Delta <= 2,
      measured: `${p99Delta >= 0 ? "+" : ""}${p99Delta.toFixed(2)} ms (${poll.m.result.p99Ms.toFixed(2)} vs ${poll.baseline.p99Ms.toFixed(2)} ms, the median round)`,
    },
    {
      label: "Durable Object calls per waiting poll ≤ 0.01",
      met: doCallsPerPoll <= 0.01,
      measured: `${doCallsPerPoll.toFixed(5)} (${pollCalls.total} calls${pollCalls.total ? `: ${kinds(pollCalls.byKind)}` : ""} / ${pollRequests} polls)`,
    },
    {
      label: `request with a pass ≥ ${RATIO_TARGETS.pass} × plain proxy requests/s`,
      met: summary.pass.ratio >= RATIO_TARGETS.pass,
      measured: versus(summary.pass, RATIO_TARGETS.pass),
    },
    {
      label: `static JWKS ≥ ${RATIO_TARGETS.static} × hello requests/s`,
      met: summary.static.ratio >= RATIO_TARGETS.static,
      measured: versus(summary.static, RATIO_TARGETS.static),
    },
  ];
  // A called ticket polled as fast as wrk can: its claims (one isolate) within one per REPEAT_CLAIM_MS,
  // counting a pause the run began or ended inside.
  // The same bound for any call an isolate makes at most once per `pauseMs`.
  const repeatsOf = (s: CaseSummary, kind: string, pauseMs: number) => {
    const n = s.calls?.byKind[kind] ?? 0;
    const allowed = Math.floor((s.m.result.durationSeconds * 1000) / pauseMs) + 1;
    const per = (n * pauseMs) / (s.m.result.durationSeconds * 1000);
    return { n, allowed, per };
  };
  const claimsOf = (s: CaseSummary) => repeatsOf(s, "claim", REPEAT_CLAIM_MS);
  const claimRepeat = { claim: claimsOf(summary.claim), rotation: claimsOf(summary.rotation) };
  const repeatTarget = (key: "claim" | "rotation", what: string): Target => {
    const c = claimRepeat[key];
    const s = summary[key];
    return {
      label: `${what}: ≤ 1 claim per ${REPEAT_CLAIM_MS / 1000} s`,
      met: c.n <= c.allowed,
      measured:
        `${c.n} claims in ${s.m.result.durationSeconds.toFixed(1)} s (at most ${c.allowed}: its ${REPEAT_CLAIM_MS / 1000} s pauses, begun or whole)` +
        ` for ${s.m.result.requests} polls; all Durable Object calls, the room's own included: ${(s.doCallsPerRequest ?? Number.NaN).toFixed(5)} per poll`,
    };
  };
  targets.push(
    repeatTarget("claim", "a called ticket polled by its seat's device"),
    repeatTarget("rotation", "a called ticket polled without its pass"),
  );
  // A seated listener's heartbeat sent as fast as wrk can: its renewals within one per REPEAT_RENEWAL_MS.
  const renewalRepeat = repeatsOf(summary.renewal, "renew", REPEAT_RENEWAL_MS);
  targets.push({
    label: `a seated listener's heartbeat as fast as it can: ≤ 1 renewal per ${REPEAT_RENEWAL_MS / 1000} s`,
    met: renewalRepeat.n <= renewalRepeat.allowed,
    measured:
      `${renewalRepeat.n} renewals in ${summary.renewal.m.result.durationSeconds.toFixed(1)} s (at most ${renewalRepeat.allowed})` +
      ` for ${summary.renewal.m.result.requests} heartbeats; all Durable Object calls: ${(summary.renewal.doCallsPerRequest ?? Number.NaN).toFixed(5)} per heartbeat`,
  });
  const idleNote =
    `    without any load the poll room made ${idleCalls.total} calls in ${DURATION_S} s` +
    `${idleCalls.total ? ` (${kinds(idleCalls.byKind)})` : ""}; net of those: ${doCallsPerPollNet.toFixed(5)} per poll`;

  // The generator's share: how busy wrk was, and its CPU per request next to the Worker's.
  const all = [...hellos, ...proxyRuns, ...Object.values(summary).flatMap((c) => c.runs)];
  const busiest = Math.max(...all.map((m) => m.result.generatorCpuSeconds / m.result.durationSeconds));
  const cpuRatios = all
    .filter((m) => m.cpuUsPerRequest !== null)
    .map((m) => m.cpuUsPerRequest! / m.generatorCpuUsPerRequest);
  // wrk's latencies against Little's law: with a closed loop of CONNECTIONS, mean latency = CONNECTIONS ÷ req/s.
  const latencySkew = Math.max(...all.map((m) => m.result.meanMs / m.result.impliedMeanMs));
  if (latencySkew > 1.5) {
    warnings.push(
      `${mode}: wrk's mean latency was up to ${latencySkew.toFixed(1)}× what its own throughput implies` +
        ` (Little's law): its p99s over-count slow responses here; read the p99 target with care`,
    );
  }
  const generatorNote =
    `wrk (1 thread) was at most ${(busiest * 100).toFixed(0)} % busy on one core` +
    `; its mean latency was up to ${latencySkew.toFixed(1)}× connections ÷ req/s (Little's law; 1.0 when its latencies are right)` +
    (cpuRatios.length
      ? `; the Worker's processes used ${Math.min(...cpuRatios).toFixed(1)}–${Math.max(...cpuRatios).toFixed(1)}× wrk's CPU per request`
      : "");

  const caseJson = (key: CaseKey) => {
    const c = summary[key];
    const target = ratioTarget(key);
    return {
      [`${key}Rps`]: round(c.m.result.rps, 1),
      [`${key}P50Ms`]: round(c.m.result.p50Ms, 2),
      [`${key}P99Ms`]: round(c.m.result.p99Ms, 2),
      // The median of the rounds' ratios (the only one without rounds); the rest are of the median round.
      [`${key}Ratio`]: round(c.ratio, 3),
      [`${key}Ratios`]: c.ratios.map((r) => round(r, 3)),
      [`${key}CpuRatios`]: c.cpuRatios?.map((r) => round(r, 3)) ?? null,
      // Of a case with a ratio target: how many rounds met it on their own.
      ...(target === undefined ? {} : { [`${key}RoundsMeetingTarget`]: roundsMeeting(c, target) }),
      [`${key}RatioTo`]: c.baselineName,
      [`${key}BaselineRps`]: round(c.baseline.rps, 1),
      [`${key}BaselineP99Ms`]: round(c.baseline.p99Ms, 2),
      [`${key}MeanMs`]: round(c.m.result.meanMs, 3),
      // connections ÷ req/s: what wrk's mean should be (Little's law).
      [`${key}ImpliedMeanMs`]: round(c.m.result.impliedMeanMs, 3),
      [`${key}Requests`]: c.m.result.requests,
    };
  };
  const cpuJson = (pick: (m: Measured) => number | null, digits: number) => ({
    hello: num(mean(hellos.map((h) => pick(h) ?? Number.NaN)), digits),
    proxy: num(mean(proxyRuns.map((m) => pick(m) ?? Number.NaN)), digits),
    ...Object.fromEntries(spillwayCases.map((c) => [c.key, num(pick(summary[c.key].m), digits)])),
  });
  const json = {
    mode,
    // A round's slices: the case's measured seconds in SLICES turns with its baseline's (1: one run between two).
    slices: SLICES,
    sliceSeconds: SLICE_S,
    // Raw mode: the CPUs of the Workers' workerd and of wrk, the origin and the bench (null: the system's choice).
    pinned: mode === "raw" ? PINNED : null,
    // The mean of all hello runs; each case's ratio is to the two runs around it (<case>BaselineRps),
    // a proxied one's to the plain proxy.
    baselineRps: round(base.rps, 1),
    baselineP50Ms: round(base.p50Ms, 2),
    baselineP99Ms: round(base.p99Ms, 2),
    baselineRuns: hellos.map((b) => ({
      rps: round(b.result.rps, 1),
      p50Ms: round(b.result.p50Ms, 2),
      p99Ms: round(b.result.p99Ms, 2),
      cpuUsPerRequest: num(b.cpuUsPerRequest, 0),
    })),
    helloFirstToLast: round(hellos.at(-1)!.result.rps / hellos[0]!.result.rps, 3),
    proxyRps: round(proxyStats.rps, 1),
    proxyP99Ms: round(proxyStats.p99Ms, 2),
    ...caseJson("static"),
    ...caseJson("poll"),
    pollP99DeltaMs: round(p99Delta, 2),
    doCallsPerPoll: round(doCallsPerPoll, 5),
    doCallsDuringPoll: pollCalls.byKind,
    doCallsWithoutLoad: idleCalls.byKind,
    doCallsPerPollNet: round(doCallsPerPollNet, 5),
    ...caseJson("pass"),
    ...caseJson("join"),
    joinMode: "hold",
    ...caseJson("claim"),
    ...caseJson("rotation"),
    ...caseJson("renewal"),
    doCallsPerRequest: {
      pass: num(summary.pass.doCallsPerRequest, 5),
      join: num(summary.join.doCallsPerRequest, 5),
      claim: num(summary.claim.doCallsPerRequest, 5),
      rotation: num(summary.rotation.doCallsPerRequest, 5),
      renewal: num(summary.renewal.doCallsPerRequest, 5),
    },
    // Claims of the one polled ticket during the measured run, and per REPEAT_CLAIM_MS.
    repeatClaimMs: REPEAT_CLAIM_MS,
    claimsOfPolledTicket: {
      claim: {
        claims: claimRepeat.claim.n,
        perRepeatClaimMs: round(claimRepeat.claim.per, 3),
        byKind: summary.claim.calls?.byKind ?? null,
      },
      rotation: {
        claims: claimRepeat.rotation.n,
        perRepeatClaimMs: round(claimRepeat.rotation.per, 3),
        byKind: summary.rotation.calls?.byKind ?? null,
      },
    },
    // Renewals of the one seat whose heartbeat was sent as fast as wrk could, and per REPEAT_RENEWAL_MS.
    repeatRenewalMs: REPEAT_RENEWAL_MS,
    renewalsOfHeartbeatingSeat: {
      renewals: renewalRepeat.n,
      perRepeatRenewalMs: round(renewalRepeat.per, 3),
      byKind: summary.renewal.calls?.byKind ?? null,
    },
    // CPU of the Worker's own processes (workerd; in dev mode wrangler too) per request.
    cpuUsPerRequest: cpuJson((m) => m.cpuUsPerRequest, 0),
    // CPU of wrk per request.
    generatorCpuUsPerRequest: cpuJson((m) => m.generatorCpuUsPerRequest, 1),
    generatorBusiestCoreShare: round(busiest, 3),
    // The largest ratio of wrk's mean latency to connections ÷ req/s over all runs (1 when they agree).
    wrkLatencySkew: round(latencySkew, 2),
    held:
      held === null
        ? null
        : {
            listeners: held.listeners,
            seconds: held.seconds,
            cut: held.cut,
            minBytes: held.minBytes,
            doCalls: held.byKind,
            doCallsPerListenerMinute: round(held.callsPerListenerMinute, 3),
            costPerMillionListenerHoursUsd: round(held.costPerMillionListenerHoursUsd, 2),
            shardHourUsd: round(held.shardHourUsd, 5),
          },
    targets: {
      pollRatio: { target: `>= ${RATIO_TARGETS.poll} (to hello)`, met: targets[0]!.met },
      pollP99: { target: "<= pollBaselineP99Ms + 2", met: targets[1]!.met },
      doCallsPerPoll: { target: "<= 0.01", met: targets[2]!.met },
      passRatio: { target: `>= ${RATIO_TARGETS.pass} (to the plain proxy)`, met: targets[3]!.met },
      staticRatio: { target: `>= ${RATIO_TARGETS.static} (to hello)`, met: targets[4]!.met },
      claimRepeat: { target: `<= 1 claim per ${REPEAT_CLAIM_MS} ms (seat's device)`, met: targets[5]!.met },
      rotationRepeat: { target: `<= 1 claim per ${REPEAT_CLAIM_MS} ms (no pass cookie)`, met: targets[6]!.met },
    },
  };

  const text = [
    "",
    `${MODE_TEXT[mode]}: ${CONNECTIONS} connections (wrk, 1 thread), ${WARMUP_S} s warm-up + ${DURATION_S} s per run`,
    "× baseline: requests/s divided by the mean of the two hello runs just before and after the case (hello),",
    "            or of the two plain proxy runs around it with the same request (proxy); the static JWKS, the",
    `            waiting poll and the request with a pass run ${ROUNDS} round${ROUNDS === 1 ? "" : "s"} each` +
      (mode === "raw" ? ` (each on new workerd processes, after ${FRESH_WARMUP_S} s of load on each)` : "") +
      ", and their target is read on the median round" +
      (SLICES === 1
        ? ""
        : `; in a round the case and its baseline take turns, ${SLICES} slices of ${SLICE_S} s of the case` +
          ` between ${SLICES + 1} of the baseline (each after ${SLICE_WARMUP_S} s of load, the first ${WARMUP_S} s),` +
          " and each side's slices count as one run") +
      (mode === "raw" && PINNED !== null
        ? `; every Worker's workerd on CPU ${PINNED.workers}, wrk, the origin and the bench on CPU ${PINNED.others}`
        : ""),
    "",
    table(rows, new Set([hellos.length + 1, hellos.length + 1 + proxyRuns.length])),
    `Worker CPU µs/req: the Worker's own processes (${mode === "raw" ? "its workerd" : "wrangler and workerd"}) per request; wrk CPU µs/req: the load generator's.`,
    generatorNote,
    "",
    "Targets (SPEC.md, Performance; shown for reading, they do not set the exit code):",
    targetLines(targets),
    idleNote,
  ];
  if (held !== null) {
    text.push(
      "",
      `Held stream: ${held.listeners} listeners on an endless stream for ${held.seconds} s, no heartbeats`,
      `  ${held.callsPerListenerMinute.toFixed(2)} Durable Object calls per connected listener per minute` +
        ` (hold rounds ${held.byKind.hold ?? 0}; the room's own syncs ${held.byKind.sync ?? 0} and alarms ${held.byKind.alarm ?? 0}` +
        ` in the same ${held.seconds} s, whatever its audience; ${held.cut} streams cut, each received at least ${held.minBytes} bytes)`,
      `  $${held.costPerMillionListenerHoursUsd.toFixed(2)} per million listener-hours` +
        ` (DO requests $${PRICES.doRequestPerMillion}/M + ${ROWS_WRITTEN_PER_ROUND} rows written a round at $${PRICES.rowWrittenPerMillion}/M),` +
        ` plus $${held.shardHourUsd.toFixed(4)} per shard-hour of Durable Object duration, shared by the shard's listeners`,
    );
  }
  return { text, json };
}

async function main(): Promise<void> {
  ensureWrk(progress);
  const adminToken = randomBytes(24).toString("base64url");
  progress("starting the local origin");
  origin = await startOrigin();

  // The origin serves from this process: with wrk, off the Workers' CPU (which new workerd processes leave).
  if (PINNED !== null) pinProcess(process.pid, PINNED.others);
  const raw = await suite("raw", adminToken, true);
  // wrangler dev and its workerd go where the system puts them, as they run for anyone.
  if (PINNED !== null) pinProcess(process.pid, PINNED.all);
  const dev = flags.dev ? await suite("dev", adminToken, false) : null;

  if (loadBefore >= CORES / 2) {
    warnings.push(
      `the load average was ${loadBefore.toFixed(2)} on ${CORES} cores before the run started: other work competed for the CPU`,
    );
  }
  const date = new Date();
  const cpuList = cpus();
  const json = {
    date: date.toISOString(),
    node: process.version,
    cores: CORES,
    cpuModel: cpuList[0]?.model ?? "unknown",
    loadAverageBefore: round(loadBefore, 2),
    loadAverageAfter: round(loadavg()[0]!, 2),
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    warmupSeconds: WARMUP_S,
    rounds: ROUNDS,
    freshWarmupSeconds: FRESH_WARMUP_S,
    generator: "wrk",
    ...raw.json,
    dev: dev?.json ?? null,
    warnings,
  };

  const resultsDir = join(PROJECT_ROOT, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `${date.toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(resultsFile, JSON.stringify(json, null, 2) + "\n");

  progress("stopping the origin");
  await cleanup();

  const out = [
    "",
    `Spillway benchmark, ${json.date}: Node ${json.node}, ${json.cores} cores (${json.cpuModel}),` +
      ` load average ${json.loadAverageBefore} before the run, ${json.loadAverageAfter} after`,
    ...raw.text,
  ];
  if (dev !== null) {
    out.push(
      "",
      "──── the same cases under wrangler dev (its proxy pipeline included; held stream: raw only)",
      ...dev.text,
    );
  }
  if (warnings.length > 0) out.push("", "Warnings:", ...warnings.map((w) => `  ! ${w}`));
  out.push("", `Results written to ${relative(process.cwd(), resultsFile)}`);
  console.log(out.join("\n"));
  if (flags.json) console.log(JSON.stringify(json));
}

class StartError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

try {
  await main();
} catch (err) {
  if (!(err instanceof Interrupted) && !interrupted) {
    const what = err instanceof StartError ? "could not start" : "failed";
    console.error(`\nbench: ${what}: ${err instanceof Error ? err.message : String(err)}`);
    for (const w of workers) console.error(`--- last output of ${w.name}:\n${w.tail(20)}`);
    progress("stopping every process this run started");
    await cleanup();
    process.exit(1);
  }
  await cleanup();
  process.exit(130);
}

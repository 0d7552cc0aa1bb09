/**
 * `npm run bench:side [-- --json] [--rounds N] [--duration S] [--warmup S] [--cases static,poll,pass] [--gc] [--log FILE]`:
 * the three cases with a ratio target, each measured side by side with its
 * baseline on one CPU.
 *
 * `npm run bench` loads a case and its baseline one after the other, and
 * this shared machine's speed drifts between two runs by more than the
 * difference being measured (hello world's own runs in one bench differ by
 * up to a third). Here each round starts Spillway and its baseline (hello
 * world, or the plain proxy for a request with a pass) in new workerd
 * processes, pins every thread of both to the same CPU, and loads both at
 * once, each with its own wrk on the other CPUs (with this process and the
 * bench origin). The kernel gives two busy processes on one CPU equal
 * time, so both are measured in the same moments on the same core, and
 * whatever the machine does then, it does to both: the ratio of their
 * requests a second is the ratio of what a request costs each. The CPU
 * each process got is read too, and a round whose CPU was not shared about
 * evenly, or not kept busy, is reported as such. Each round's ratio is also
 * given per CPU second, which does not depend on that share.
 *
 * What a round cannot remove is the few per cent by which two workerd
 * processes of one build differ for as long as they run (docs/scale.md,
 * "Two processes of one build"): new processes each round, and the median
 * over rounds, are for that.
 *
 * `--gc` has V8 trace each garbage collection in every Worker (bench/lib/workerd.ts,
 * `traceGcInEveryWorker`): each round then also gives the pauses' µs a request on
 * either side, how many whole-heap collections each had (each pauses the
 * isolate for tens to hundreds of ms, and a round has a handful, so one more
 * or less moves a round's ratio), and the ratio of the CPU outside them.
 *
 * `--log FILE` appends every line each Worker's workerd prints to FILE,
 * after the Worker's name: with V8's flags in `MINIFLARE_WORKERD_V8_FLAGS`,
 * what V8 compiled and in which tier (`--trace-opt --trace-deopt`), or each
 * collection with the bytes allocated since the last (`--trace-gc-nvp`,
 * without `--gc`, whose count reads the plain `--trace-gc` lines).
 */
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { firstSeated, helloRequest as helloRequestOf, lastInLine, passRequest, statusRequest } from "./lib/cases.ts";
import { wholeNumberFlags } from "./lib/flags.ts";
import { median } from "./lib/median.ts";
import { startOrigin } from "./lib/origin.ts";
import { cpuSecondsBetween, pinProcess, statTicks, TICKS_PER_SECOND } from "./lib/processes.ts";
import { Rooms } from "./lib/rooms.ts";
import {
  type GcPauses,
  logEveryWorkerTo,
  type RawWorker,
  startRawFloor,
  startRawHello,
  startRawProxy,
  startRawSpillway,
  traceGcInEveryWorker,
} from "./lib/workerd.ts";
import { FLOOR_PREFIX } from "./floor/answer.ts";
import { ensureWrk, type LoadRequest, type LoadResult, measure, stopLoad, warmUp } from "./lib/wrk.ts";

const USAGE = `Usage: npm run bench:side [-- --json] [--rounds N] [--duration S] [--warmup S] [--cases LIST] [--gc] [--log FILE]

  --json        also print the results as one JSON object (the last stdout line)
  --rounds N    rounds of each case, each on new processes (default 7); the verdict is the median round
  --duration S  measured seconds of each round (default 8)
  --warmup S    unmeasured seconds of load on each round's new processes first (default 6)
  --cases LIST  which of static, poll, pass (default all three), and of floor
                (the poll's floor against hello world), poll-floor (the poll
                against its floor) and floor-in-spillway (the floor's answer
                served by Spillway's process, its poll room set up, against the
                floor Worker), which have no target
  --gc          also report each side's garbage-collection pauses (V8's --trace-gc)
  --log FILE    append every line each Worker's workerd prints to FILE, after its name
                (V8's own flags go in MINIFLARE_WORKERD_V8_FLAGS: --trace-opt, --trace-gc-nvp)`;

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    rounds: { type: "string", default: "7" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "6" },
    cases: { type: "string", default: "static,poll,pass" },
    gc: { type: "boolean", default: false },
    log: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const wholeNumber = wholeNumberFlags("bench:side", USAGE);

const ROUNDS = wholeNumber("rounds", flags.rounds, 1);
const DURATION_S = wholeNumber("duration", flags.duration, 1);
const WARMUP_S = wholeNumber("warmup", flags.warmup, 0);
const CONNECTIONS = 10;
/**
 * The Workers a round loads: Spillway, the baselines (bench/hello,
 * bench/proxy, bench/floor), and Spillway with the floor in front
 * (bench/floor/in-spillway.ts).
 */
type WorkerKind = "spillway" | "hello" | "proxy" | "floor" | "floor-in-spillway";
/**
 * Each case: the Worker measured, the baseline it is measured against, and
 * the SPEC's ratio target as `npm run bench` reads it. `floor`, `poll-floor`
 * and `floor-in-spillway` have none: they tell where the poll's distance
 * from hello world is, the poll's floor (bench/floor) against hello world
 * being what any Worker answering the poll pays, Spillway's poll against
 * that floor what is Spillway's own, and the floor's answer in Spillway's
 * process against the floor Worker what of that is the process (its room's
 * objects, its module) and not the poll's code.
 */
const CASE_TABLE = {
  static: { label: "static JWKS", subject: "spillway", baseline: "hello", target: 0.95 },
  poll: { label: "waiting poll", subject: "spillway", baseline: "hello", target: 0.85 },
  pass: { label: "request with a pass", subject: "spillway", baseline: "proxy", target: 0.8 },
  floor: { label: "the poll's floor", subject: "floor", baseline: "hello", target: null },
  "poll-floor": { label: "waiting poll", subject: "spillway", baseline: "floor", target: null },
  "floor-in-spillway": { label: "floor in Spillway", subject: "floor-in-spillway", baseline: "floor", target: null },
} as const satisfies Record<
  string,
  {
    label: string;
    subject: WorkerKind;
    baseline: Exclude<WorkerKind, "spillway" | "floor-in-spillway">;
    target: number | null;
  }
>;
type CaseKey = keyof typeof CASE_TABLE;
/** How a baseline is named in the table. */
const BASELINE_NAME = { hello: "hello", proxy: "plain proxy", floor: "floor" } as const;
const CASES = flags.cases.split(",").map((c) => c.trim());
for (const c of CASES) {
  if (!Object.hasOwn(CASE_TABLE, c)) {
    console.error(`bench:side: unknown case "${c}" (${Object.keys(CASE_TABLE).join(", ")})\n\n${USAGE}`);
    process.exit(2);
  }
}
/** Below this share of the CPU kept busy, something else (a generator, the origin) held a round back. */
const BUSY_AT_LEAST = 0.9;
/** Two busy processes on one CPU get about half each; a round further off than this is flagged. */
const SHARE_SKEW_AT_MOST = 0.1;

const cpus = availableParallelism();
if (cpus < 2) {
  console.error("bench:side needs at least two CPUs: one for the Workers, one for the load generators.");
  process.exit(2);
}
/** The CPU both Workers share; the load generators, this process and the origin get the others. */
const SHARED_CPU = String(cpus - 1);
const OTHER_CPUS = cpus === 2 ? "0" : `0-${cpus - 2}`;

const progress = (message: string) => process.stderr.write(`${message}\n`);

interface Side {
  worker: RawWorker;
  request: LoadRequest;
}

interface Round {
  caseRps: number;
  baselineRps: number;
  /**
   * The verdict: requests a second of CPU on each one's main thread (the
   * thread its isolate runs on, which is what limits it), the case's over the
   * baseline's. That is the ratio of requests a second either would serve
   * with a CPU to itself, as `npm run bench` measures it, and it does not
   * depend on how evenly the kernel shared the CPU out.
   */
  ratio: number;
  /** caseRps / baselineRps, as the two ran together. */
  rpsRatio: number;
  /** Requests per CPU second of each whole process (the runtime's helper threads too). */
  ratioPerCpu: number;
  /** The share of the shared CPU each got, and how busy it was kept in all. */
  caseShare: number;
  baselineShare: number;
  /** The share each one's main thread (its isolate's) got: what the kernel shares out evenly. */
  caseMainShare: number;
  baselineMainShare: number;
  busy: number;
  caseCpuUs: number;
  baselineCpuUs: number;
  failed: number;
  /** With `--gc`: each side's garbage collection while measured. */
  gc?: RoundGc;
}

interface RoundGc {
  /** Collection pauses, µs a request: the case's and the baseline's. */
  caseUs: number;
  baselineUs: number;
  /** Whole-heap collections (mark-compacts) while measured. */
  caseFull: number;
  baselineFull: number;
  /** The verdict's ratio taken on each isolate thread's CPU outside its pauses. */
  ratioOutsideGc: number;
}

/** The pauses between two readings of one Worker: their seconds, and how many whole-heap collections. */
function pausesBetween(before: GcPauses, after: GcPauses): { seconds: number; young: number; full: number } {
  return {
    seconds: (after.youngMs - before.youngMs + after.fullMs - before.fullMs) / 1000,
    young: after.young - before.young,
    full: after.full - before.full,
  };
}

/** CPU ticks of a process's main thread (the one running its isolate), null once it is gone. */
function mainThreadTicks(pid: number): number | null {
  try {
    return statTicks(readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/**
 * Load both at once for `seconds`, each with its own wrk off the shared CPU:
 * their results, the CPU seconds each process used, and those of each one's main thread.
 */
async function together(
  a: Side,
  b: Side,
  seconds: number,
): Promise<{ a: LoadResult; b: LoadResult; cpuA: number; cpuB: number; mainA: number; mainB: number }> {
  const load = (s: Side) => ({
    url: s.worker.url,
    request: s.request,
    connections: CONNECTIONS,
    durationSeconds: seconds,
    cpus: OTHER_CPUS,
  });
  const ticksA = a.worker.cpuTicks();
  const ticksB = b.worker.cpuTicks();
  const mainBeforeA = mainThreadTicks(a.worker.pid);
  const mainBeforeB = mainThreadTicks(b.worker.pid);
  const [ra, rb] = await Promise.all([measure(load(a)), measure(load(b))]);
  const main = (pid: number, before: number | null) => {
    const after = mainThreadTicks(pid);
    return before === null || after === null ? Number.NaN : (after - before) / TICKS_PER_SECOND;
  };
  return {
    a: ra,
    b: rb,
    cpuA: ticksA === null ? Number.NaN : cpuSecondsBetween(ticksA, a.worker.cpuTicks()!),
    cpuB: ticksB === null ? Number.NaN : cpuSecondsBetween(ticksB, b.worker.cpuTicks()!),
    mainA: main(a.worker.pid, mainBeforeA),
    mainB: main(b.worker.pid, mainBeforeB),
  };
}

ensureWrk(progress);
if (flags.gc) traceGcInEveryWorker();
if (flags.log !== undefined) logEveryWorkerTo(resolve(flags.log));
pinProcess(process.pid, OTHER_CPUS);
const origin = await startOrigin();
const adminToken = randomBytes(24).toString("base64url");
const started = new Set<RawWorker>();
let interrupted = false;
process.once("SIGINT", () => {
  interrupted = true;
  stopLoad();
});

/** Hello world gets requests of the same shape as a waiting poll (as in `npm run bench`). */
const helloRequest = helloRequestOf("bench-poll");

/** The case's request, its room set up on this Spillway as `npm run bench` sets it up. */
async function caseRequest(key: CaseKey, spillway: RawWorker): Promise<LoadRequest> {
  // The floor reads no ticket: any bearer of a ticket's length will do.
  if (key === "floor") return helloRequest;
  const rooms = new Rooms(spillway.url, adminToken);
  if (key === "static") return { method: "GET", path: "/_spillway/jwks.json" };
  if (key === "pass") return passRequest("bench-pass", (await firstSeated(rooms, "bench-pass")).pass!);
  const poll = statusRequest("bench-poll", (await lastInLine(rooms, "bench-poll")).ticket!);
  // The same room and ticket, at the path where the front answers with the floor's work.
  if (key === "floor-in-spillway") return { ...poll, path: poll.path.replace("/_spillway/", FLOOR_PREFIX) };
  return poll;
}

/** A new process of one of the Workers a round loads. */
function startWorker(kind: WorkerKind): Promise<RawWorker> {
  if (kind === "spillway") return start(startRawSpillway({ adminToken, originUrl: origin.url }));
  if (kind === "floor-in-spillway") {
    return start(startRawSpillway({ adminToken, originUrl: origin.url, main: "bench/floor/in-spillway.ts" }));
  }
  if (kind === "proxy") return start(startRawProxy(origin.url));
  return start(kind === "floor" ? startRawFloor() : startRawHello());
}

async function start(worker: Promise<RawWorker>): Promise<RawWorker> {
  const w = await worker;
  started.add(w);
  return w;
}

async function stop(worker: RawWorker): Promise<void> {
  started.delete(worker);
  await worker.stop();
}

async function round(key: CaseKey, index: number): Promise<Round> {
  const { subject: subjectKind, baseline: baselineKind } = CASE_TABLE[key];
  // Which starts first alternates, lest the order favour one.
  const startBaseline = () => startWorker(baselineKind);
  // The case's Worker ("spillway"): Spillway, or for `floor` the floor Worker.
  const startSpillway = () => startWorker(subjectKind);
  let spillway: RawWorker | undefined;
  let baseline: RawWorker | undefined;
  try {
    if (index % 2 === 0) {
      spillway = await startSpillway();
      baseline = await startBaseline();
    } else {
      baseline = await startBaseline();
      spillway = await startSpillway();
    }
    const request = await caseRequest(key, spillway);
    const subject: Side = { worker: spillway, request };
    // Hello world gets a poll's shape; the plain proxy and the floor the case's very request.
    const base: Side = { worker: baseline, request: baselineKind === "hello" ? helloRequest : request };
    pinProcess(spillway.pid, SHARED_CPU);
    pinProcess(baseline.pid, SHARED_CPU);
    if (WARMUP_S > 0) {
      await Promise.all(
        [subject, base].map((s) =>
          warmUp(
            {
              url: s.worker.url,
              request: s.request,
              connections: CONNECTIONS,
              durationSeconds: WARMUP_S,
              cpus: OTHER_CPUS,
            },
            WARMUP_S,
          ),
        ),
      );
    }
    const servedBefore = origin.counts().withPass;
    const gcBefore = { case: spillway.gcPauses(), baseline: baseline.gcPauses() };
    const { a: rc, b: rb, cpuA: cpuC, cpuB, mainA: mainC, mainB } = await together(subject, base, DURATION_S);
    const gcC = pausesBetween(gcBefore.case, spillway.gcPauses());
    const gcB = pausesBetween(gcBefore.baseline, baseline.gcPauses());
    if (flags.gc && (gcC.young === 0 || gcB.young === 0)) {
      throw new Error(
        `--gc: no collection was traced in a ${DURATION_S} s round (case ${gcC.young}, baseline ${gcB.young});` +
          ` did workerd take V8's flags "${process.env["MINIFLARE_WORKERD_V8_FLAGS"]}" (MINIFLARE_WORKERD_V8_FLAGS)?`,
      );
    }
    const failed = rc.non2xx + rc.errors + rb.non2xx + rb.errors;
    if (baselineKind === "proxy") {
      // Both proxies reach the origin; Spillway's answers each carried the pass there.
      const withPass = origin.counts().withPass - servedBefore;
      if (withPass < rc.requests) throw new Error(`the origin saw ${withPass} passes for ${rc.requests} answers`);
    }
    const wall = (rc.durationSeconds + rb.durationSeconds) / 2;
    return {
      caseRps: rc.rps,
      baselineRps: rb.rps,
      ratio: rc.requests / mainC / (rb.requests / mainB),
      rpsRatio: rc.rps / rb.rps,
      ratioPerCpu: rc.requests / cpuC / (rb.requests / cpuB),
      caseShare: cpuC / wall,
      baselineShare: cpuB / wall,
      caseMainShare: mainC / wall,
      baselineMainShare: mainB / wall,
      busy: (cpuC + cpuB) / wall,
      caseCpuUs: (cpuC * 1e6) / rc.requests,
      baselineCpuUs: (cpuB * 1e6) / rb.requests,
      failed,
      ...(flags.gc
        ? {
            gc: {
              caseUs: (gcC.seconds * 1e6) / rc.requests,
              baselineUs: (gcB.seconds * 1e6) / rb.requests,
              caseFull: gcC.full,
              baselineFull: gcB.full,
              ratioOutsideGc: rc.requests / (mainC - gcC.seconds) / (rb.requests / (mainB - gcB.seconds)),
            },
          }
        : {}),
    };
  } finally {
    if (spillway !== undefined) await stop(spillway);
    if (baseline !== undefined) await stop(baseline);
  }
}

const fixed = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "?");

/** Each GC reading's median over a case's rounds. */
function gcMedians(rounds: RoundGc[]): RoundGc {
  const of = (pick: (g: RoundGc) => number) => median(rounds.map(pick));
  return {
    caseUs: of((g) => g.caseUs),
    baselineUs: of((g) => g.baselineUs),
    caseFull: of((g) => g.caseFull),
    baselineFull: of((g) => g.baselineFull),
    ratioOutsideGc: of((g) => g.ratioOutsideGc),
  };
}
/** Per case: the median round's ratio (the verdict), and the medians of the other two readings. */
const results: Record<
  string,
  {
    target: number | null;
    median: number;
    medianRps: number;
    medianPerProcessCpu: number;
    /** With `--gc`: the medians of the rounds' GC readings. */
    gc?: RoundGc;
    rounds: Round[];
  }
> = {};
try {
  progress(
    `bench:side: ${CASES.join(", ")}; ${ROUNDS} rounds each, ${WARMUP_S} s warm-up and ${DURATION_S} s measured;` +
      ` both Workers on CPU ${SHARED_CPU}, wrk, the origin and this process on CPU ${OTHER_CPUS}`,
  );
  for (const key of CASES as CaseKey[]) {
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS && !interrupted; i++) {
      const r = await round(key, i);
      rounds.push(r);
      const flags: string[] = [];
      if (r.busy < BUSY_AT_LEAST) flags.push(`CPU only ${Math.round(r.busy * 100)} % busy`);
      if (Math.abs(r.caseMainShare - r.baselineMainShare) > SHARE_SKEW_AT_MOST * r.busy) flags.push("uneven share");
      if (r.failed > 0) flags.push(`${r.failed} failed`);
      progress(
        `  ${key} round ${i + 1}/${ROUNDS}: ${r.caseRps.toFixed(0)} against ${r.baselineRps.toFixed(0)} req/s,` +
          ` ${fixed(r.rpsRatio)}×; per second of its isolate's thread ${fixed(r.ratio)}×` +
          ` (of the whole process ${fixed(r.ratioPerCpu)}×);` +
          ` ${r.caseCpuUs.toFixed(0)} against ${r.baselineCpuUs.toFixed(0)} µs CPU a request;` +
          ` CPU shares ${fixed(r.caseShare, 2)} / ${fixed(r.baselineShare, 2)}` +
          ` (main threads ${fixed(r.caseMainShare, 2)} / ${fixed(r.baselineMainShare, 2)})` +
          (r.gc === undefined
            ? ""
            : `; GC ${r.gc.caseUs.toFixed(1)} against ${r.gc.baselineUs.toFixed(1)} µs a request` +
              ` (whole-heap ${r.gc.caseFull} / ${r.gc.baselineFull}), outside GC ${fixed(r.gc.ratioOutsideGc)}×`) +
          (flags.length > 0 ? ` — ${flags.join(", ")}` : ""),
      );
    }
    if (rounds.length === 0) break;
    results[key] = {
      target: CASE_TABLE[key].target,
      median: median(rounds.map((r) => r.ratio)),
      medianRps: median(rounds.map((r) => r.rpsRatio)),
      medianPerProcessCpu: median(rounds.map((r) => r.ratioPerCpu)),
      ...(flags.gc ? { gc: gcMedians(rounds.map((r) => r.gc!)) } : {}),
      rounds,
    };
  }
} finally {
  for (const w of [...started]) await stop(w).catch(() => undefined);
  await origin.close();
}

console.log(
  "\nEach case's median round: requests per second of its isolate's thread over its baseline's" +
    " (the verdict), and as both ran together.\n",
);
console.log("case                  × baseline         together  rounds meeting it  target");
for (const [key, r] of Object.entries(results) as [CaseKey, (typeof results)[string]][]) {
  const target = r.target;
  const meeting = target === null ? "—" : `${r.rounds.filter((x) => x.ratio >= target).length} of ${r.rounds.length}`;
  console.log(
    `${CASE_TABLE[key].label.padEnd(21)} ${`${fixed(r.median)} ${BASELINE_NAME[CASE_TABLE[key].baseline]}`.padEnd(18)} ${fixed(r.medianRps).padEnd(9)}` +
      ` ${meeting.padEnd(18)} ${target === null ? "(none)" : `≥ ${target} ${r.median >= target ? "✓" : "✗"}`}`,
  );
}
if (flags.gc) {
  console.log(
    "\nGarbage collection while measured (medians of the rounds): pauses a request, whole-heap collections," +
      " and the verdict's ratio on the CPU outside the pauses.\n",
  );
  console.log("case                  GC µs a request (case / baseline)  whole-heap (case / baseline)  outside GC");
  for (const [key, r] of Object.entries(results) as [CaseKey, (typeof results)[string]][]) {
    const gc = r.gc!;
    console.log(
      `${CASE_TABLE[key].label.padEnd(21)} ${`${gc.caseUs.toFixed(1)} / ${gc.baselineUs.toFixed(1)}`.padEnd(34)}` +
        ` ${`${gc.caseFull} / ${gc.baselineFull}`.padEnd(29)} ${fixed(gc.ratioOutsideGc)}× ${BASELINE_NAME[CASE_TABLE[key].baseline]}`,
    );
  }
}
if (flags.json) {
  console.log(
    JSON.stringify({
      sharedCpu: SHARED_CPU,
      generatorCpus: OTHER_CPUS,
      rounds: ROUNDS,
      durationSeconds: DURATION_S,
      cases: results,
    }),
  );
}
if (interrupted) process.exit(130);

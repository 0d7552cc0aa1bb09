/**
 * `npm run bench`: Spillway's request paths under load in local workerd,
 * measured against a hello-world Worker in the same run.
 *
 * Starts a small local origin, Spillway and the hello-world Worker
 * (`bench/hello`), both with `wrangler dev`, all on 127.0.0.1, then loads
 * each case with autocannon for the same connections and duration: a waiting
 * poll, a request with a pass proxied to the origin, a join and a claim, each
 * between two runs of the baseline (five in all, also reported as their
 * mean). Durable Object calls are counted from the admin stats around each
 * case; for the waiting poll also for as long without any load, to tell the
 * room's background calls (alarms, syncs) from those polls cause.
 * Prints a table with each case's ratio to the baseline runs around it
 * and the SPEC's performance targets; `--json` adds one JSON object as the
 * last stdout line. Results are also written to bench/results/<timestamp>.json.
 * This is a measurement: the exit code does not depend on the targets, only on
 * whether the run worked.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { send, type StatusJson } from "../test/contract/support/http.ts";
import { PROJECT_ROOT } from "../test/contract/support/worker.ts";
import { type LoadOptions, type LoadRequest, type LoadResult, measure, stopLoad, warmUp } from "./lib/load.ts";
import { PRICES } from "../sim/cost.ts";
import { type HeldResult, measureHeld, ROWS_WRITTEN_PER_ROUND } from "./lib/held.ts";
import { startOrigin, type BenchOrigin } from "./lib/origin.ts";
import { cpuSecondsBetween, killAllNow, stopAll } from "./lib/processes.ts";
import { type CaseRow, table, type Target, targetLines } from "./lib/report.ts";
import { callsBetween, type CallCounts, Rooms } from "./lib/rooms.ts";
import { type RunningWorker, startHello, startSpillway } from "./lib/servers.ts";

const USAGE = `Usage: npm run bench [-- --json] [--connections N] [--duration S] [--warmup S]

  --json           also print the results as one JSON object (the last stdout line)
  --connections N  concurrent connections per case (default 10)
  --duration S     measured seconds per case (default 8)
  --warmup S       unmeasured seconds before each case (default 2)
  --held N         listeners holding a live stream in the held-stream case (default 100; 0 skips it)
  --held-seconds S how long they hold it, measured (default 60)`;

const { values: flags } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    connections: { type: "string", default: "10" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
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
const DURATION_S = positiveNumber("duration", flags.duration);
const WARMUP_S = positiveNumber("warmup", flags.warmup, true);
const HELD_LISTENERS = Math.round(positiveNumber("held", flags.held, true));
const HELD_SECONDS = positiveNumber("held-seconds", flags["held-seconds"]);

/** Queued listeners whose tickets the waiting-poll case rotates through. */
const QUEUED_LISTENERS = 200;
/** Admitted listeners whose passes (or tickets) the pass and claim cases rotate through. */
const ADMITTED_LISTENERS = 50;
const ROOMS = { poll: "bench-poll", pass: "bench-pass", join: "bench-join", claim: "bench-claim" } as const;
const HELD_ROOM = "bench-held";

// ---------------------------------------------------------------- progress

const t0 = performance.now();
/** The machine's 1-minute load average before this run started anything. */
const loadBefore = loadavg()[0]!;
function progress(message: string): void {
  const s = ((performance.now() - t0) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[${s} s] ${message}\n`);
}

// ---------------------------------------------------------------- cleanup

const workers: RunningWorker[] = [];
let origin: BenchOrigin | null = null;
let cleaning: Promise<void> | null = null;
let interrupted = false;
/** Things that make this run's numbers less trustworthy, printed with the results. */
const warnings: string[] = [];

/** Stop the load, both Workers (their process groups) and the origin; once. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
    await Promise.allSettled([...workers.map((w) => w.stop()), origin?.close()]);
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

// ---------------------------------------------------------------- cases

function bearerRotation(tokens: string[]): () => Record<string, string> {
  let i = 0;
  return () => ({ authorization: `Bearer ${tokens[i++ % tokens.length]!}` });
}

interface Measured {
  result: LoadResult;
  /** Durable Object calls during the measured run (without the stats reads). */
  calls: { total: number; byKind: CallCounts } | null;
  /** CPU time per request of the Worker's processes (wrangler, workerd), in µs; null without /proc. */
  cpuUsPerRequest: number | null;
}

async function runCase(
  label: string,
  worker: RunningWorker,
  request: LoadRequest,
  counted: { rooms: Rooms; room: string } | null,
): Promise<Measured> {
  if (interrupted) throw new Interrupted();
  const options: LoadOptions = { url: worker.url, request, connections: CONNECTIONS, durationSeconds: DURATION_S };
  progress(`${label}: ${WARMUP_S} s warm-up + ${DURATION_S} s measured, ${CONNECTIONS} connections`);
  const reloadsBefore = worker.reloads();
  await warmUp(options, WARMUP_S);
  if (interrupted) throw new Interrupted();
  const before = counted ? await counted.rooms.doCalls(counted.room) : null;
  const cpuBefore = worker.cpuTicks();
  const result = await measure(options);
  const cpuAfter = worker.cpuTicks();
  if (interrupted) throw new Interrupted();
  const cpuUsPerRequest =
    cpuBefore === null || cpuAfter === null || result.requests === 0
      ? null
      : (cpuSecondsBetween(cpuBefore, cpuAfter) * 1e6) / result.requests;
  if (worker.reloads() !== reloadsBefore) {
    warnings.push(`${label}: wrangler reloaded ${worker.name} during the case (source files changed)`);
  }
  const after = counted ? await counted.rooms.doCalls(counted.room) : null;
  const calls = before && after ? callsBetween(before, after) : null;
  const bad = result.non2xx + result.errors;
  progress(
    `  ${result.rps.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
      (calls ? `, ${calls.total} Durable Object calls` : "") +
      (cpuUsPerRequest !== null ? `, Worker processes ${cpuUsPerRequest.toFixed(0)} µs CPU/request` : "") +
      (bad > 0 ? `, ${bad} failed (${JSON.stringify(result.statusCodes)}, ${result.errors} errors)` : ""),
  );
  return { result, calls, cpuUsPerRequest };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const round = (n: number, digits: number) => Number(n.toFixed(digits));

async function main(): Promise<void> {
  const adminToken = randomBytes(24).toString("base64url");

  progress("starting the local origin, Spillway and the hello-world baseline (wrangler dev)…");
  origin = await startOrigin();
  const started = await Promise.allSettled([startSpillway({ adminToken, originUrl: origin.url }), startHello()]);
  for (const s of started) if (s.status === "fulfilled") workers.push(s.value);
  const failed = started.find((s) => s.status === "rejected");
  if (failed) throw new StartError(failed.reason);
  const [spillway, hello] = workers as [RunningWorker, RunningWorker];
  progress(`ready: Spillway ${spillway.url}, baseline ${hello.url}, origin ${origin.url}`);
  const rooms = new Rooms(spillway.url, adminToken);

  // The baseline gets requests of the same shape as a waiting poll.
  const dummyTokens = Array.from({ length: QUEUED_LISTENERS }, () => randomBytes(180).toString("base64url"));
  const baselineRequest: LoadRequest = {
    method: "GET",
    path: `/_spillway/rooms/${ROOMS.poll}/status`,
    nextHeaders: bearerRotation(dummyTokens),
  };
  /**
   * The Spillway cases. Each sets up its room just before it runs (passes
   * and seats lapse after a minute) and checks afterwards that it measured
   * what it says.
   */
  interface SpillwayCase {
    key: "poll" | "pass" | "join" | "claim";
    label: string;
    prepare(): Promise<LoadRequest>;
    check?(): Promise<void>;
  }
  let queued: StatusJson[] = [];
  /** The poll room's Durable Object calls in DURATION_S seconds without any load (alarms, syncs). */
  let idleCalls: { total: number; byKind: CallCounts } = { total: 0, byKind: {} };
  let claimers: StatusJson[] = [];
  let servedBefore = origin.counts();
  /** A listener's state; with its pass, asked from the device that holds the seat. */
  const stateOf = async (room: string, ticket: string, pass?: string) =>
    (
      await send<{ state?: string }>(`${spillway.url}/_spillway/rooms/${room}/status`, {
        headers: {
          authorization: `Bearer ${ticket}`,
          ...(pass === undefined ? {} : { cookie: `spillway-pass-${room}=${pass}` }),
        },
      })
    ).json?.state;
  const spillwayCases: SpillwayCase[] = [
    {
      key: "poll",
      label: "waiting poll",
      prepare: async () => {
        progress(`setting up room ${ROOMS.poll}: capacity 1, 1 admitted, ${QUEUED_LISTENERS} queued`);
        await rooms.configure(ROOMS.poll, { capacity: 1, mode: "open" });
        await rooms.joinMany(ROOMS.poll, 1, "admitted");
        queued = await rooms.joinMany(ROOMS.poll, QUEUED_LISTENERS, "queued");
        progress(`counting room ${ROOMS.poll}'s Durable Object calls for ${DURATION_S} s without any load`);
        const before = await rooms.doCalls(ROOMS.poll);
        await new Promise((r) => setTimeout(r, DURATION_S * 1000));
        if (interrupted) throw new Interrupted();
        idleCalls = callsBetween(before, await rooms.doCalls(ROOMS.poll));
        progress(`  ${idleCalls.total} Durable Object calls without load`);
        return {
          method: "GET",
          path: `/_spillway/rooms/${ROOMS.poll}/status`,
          nextHeaders: bearerRotation(queued.map((q) => q.ticket!)),
        };
      },
      check: async () => {
        const state = await stateOf(ROOMS.poll, queued[0]!.ticket!);
        if (state !== "queued") warnings.push(`after the poll load the first waiting listener is "${state}"`);
      },
    },
    {
      key: "pass",
      label: "request with a pass (proxied)",
      prepare: async () => {
        progress(`setting up room ${ROOMS.pass}: ${ADMITTED_LISTENERS} admitted listeners with passes`);
        await rooms.configure(ROOMS.pass, { capacity: 1_000, admitPerMinute: 60_000, mode: "open" });
        const holders = await rooms.joinMany(ROOMS.pass, ADMITTED_LISTENERS, "admitted");
        servedBefore = origin!.counts();
        return {
          method: "GET",
          path: `/rooms/${ROOMS.pass}/live.m3u8`,
          nextHeaders: bearerRotation(holders.map((h) => h.pass!)),
        };
      },
      check: async () => {
        const proxied = origin!.counts().withPass - servedBefore.withPass;
        const answered = measured.pass!.result.requests;
        if (proxied < answered)
          warnings.push(`the origin saw ${proxied} requests with a pass for ${answered} answered`);
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
      // Each status call of an admitted listener is a Durable Object claim
      // that returns the seat it holds (and a freshly signed pass).
      key: "claim",
      label: "claim (admitted, existing seat)",
      prepare: async () => {
        progress(`setting up room ${ROOMS.claim}: ${ADMITTED_LISTENERS} admitted listeners`);
        await rooms.configure(ROOMS.claim, { capacity: 1_000, admitPerMinute: 60_000, mode: "open" });
        claimers = await rooms.joinMany(ROOMS.claim, ADMITTED_LISTENERS, "admitted");
        // From the device that holds the seat: its pass goes along as a browser's cookie does
        // (the ticket alone would be another device's, and move the seat).
        let i = 0;
        return {
          method: "GET",
          path: `/_spillway/rooms/${ROOMS.claim}/status`,
          nextHeaders: () => {
            const c = claimers[i++ % claimers.length]!;
            return { authorization: `Bearer ${c.ticket!}`, cookie: `spillway-pass-${ROOMS.claim}=${c.pass!}` };
          },
        };
      },
      check: async () => {
        const state = await stateOf(ROOMS.claim, claimers[0]!.ticket!, claimers[0]!.pass!);
        if (state !== "admitted") warnings.push(`after the claim load the first claimer is "${state}"`);
      },
    },
  ];

  // Baseline and Spillway cases alternate, starting and ending with the
  // baseline, so that each case sits between two baseline runs.
  const baselines: Measured[] = [];
  const measured: Partial<Record<SpillwayCase["key"], Measured>> = {};
  const runs = spillwayCases.length + 1;
  const baseline = async () =>
    baselines.push(
      await runCase(`baseline hello world (run ${baselines.length + 1} of ${runs})`, hello, baselineRequest, null),
    );
  for (const c of spillwayCases) {
    await baseline();
    const request = await c.prepare();
    const room = ROOMS[c.key];
    measured[c.key] = await runCase(c.label, spillway, request, { rooms, room });
    await c.check?.();
  }
  await baseline();

  // The held-stream case: no load, only connected listeners, so it runs on its own.
  let held: HeldResult | null = null;
  if (HELD_LISTENERS > 0) {
    if (interrupted) throw new Interrupted();
    progress(`held stream: ${HELD_LISTENERS} listeners on an endless stream for ${HELD_SECONDS} s`);
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

  // ------------------------------------------------------------ results
  const stats = (ms: Measured[]) => ({
    rps: mean(ms.map((m) => m.result.rps)),
    p50Ms: mean(ms.map((m) => m.result.p50Ms)),
    p99Ms: mean(ms.map((m) => m.result.p99Ms)),
    cpuUsPerRequest: ms.some((m) => m.cpuUsPerRequest === null) ? null : mean(ms.map((m) => m.cpuUsPerRequest!)),
  });
  const base = stats(baselines);
  /** The baseline runs just before and after case i. */
  const around = (i: number) => stats([baselines[i]!, baselines[i + 1]!]);
  const perRequest = (m: Measured) => (m.calls === null ? null : m.calls.total / m.result.requests);

  const rpsSpread =
    (Math.max(...baselines.map((b) => b.result.rps)) / Math.min(...baselines.map((b) => b.result.rps)) - 1) * 100;
  if (loadBefore >= availableParallelism() / 2) {
    warnings.push(
      `the load average was ${loadBefore.toFixed(2)} on ${availableParallelism()} cores before the run started: other work competed for the CPU`,
    );
  }
  if (rpsSpread > 15) warnings.push(`the baseline runs differ by up to ${rpsSpread.toFixed(0)} % (a noisy machine)`);

  interface CaseSummary {
    m: Measured;
    /** Mean of the baseline runs just before and after. */
    around: ReturnType<typeof stats>;
    ratio: number;
    doCallsPerRequest: number | null;
  }
  const summary = {} as Record<SpillwayCase["key"], CaseSummary>;
  spillwayCases.forEach((c, i) => {
    const m = measured[c.key]!;
    const a = around(i);
    summary[c.key] = { m, around: a, ratio: m.result.rps / a.rps, doCallsPerRequest: perRequest(m) };
    const bad = m.result.non2xx + m.result.errors;
    if (bad > 0) {
      warnings.push(
        `${c.label}: ${bad} of ${m.result.requests} requests failed (${JSON.stringify(m.result.statusCodes)})`,
      );
    }
  });

  const rows: CaseRow[] = [
    ...baselines.map((m, i) => ({
      label: `baseline hello world, run ${i + 1}`,
      result: m.result,
      ratio: null,
      doCallsPerRequest: null,
      cpuUsPerRequest: m.cpuUsPerRequest,
    })),
    {
      label: "baseline hello world, mean",
      result: { ...base, requests: 0, durationSeconds: 0, non2xx: 0, errors: 0, statusCodes: {} },
      ratio: null,
      doCallsPerRequest: null,
      cpuUsPerRequest: base.cpuUsPerRequest,
    },
    ...spillwayCases.map((c) => ({
      label: c.label,
      result: summary[c.key].m.result,
      ratio: summary[c.key].ratio,
      doCallsPerRequest: summary[c.key].doCallsPerRequest,
      cpuUsPerRequest: summary[c.key].m.cpuUsPerRequest,
    })),
  ];

  const poll = summary.poll;
  const pollRatio = poll.ratio;
  const p99Delta = poll.m.result.p99Ms - poll.around.p99Ms;
  const doCallsPerPoll = poll.doCallsPerRequest ?? Number.NaN;
  const pollCalls = poll.m.calls!;
  const kinds = (c: CallCounts) =>
    Object.entries(c)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
  // The same room's calls in as much time without load (alarms, syncs) are not caused by polls.
  const idleShare = idleCalls.total * (poll.m.result.durationSeconds / DURATION_S);
  const doCallsPerPollNet = Math.max(0, pollCalls.total - idleShare) / poll.m.result.requests;
  const targets: Target[] = [
    {
      label: "waiting poll ≥ 0.8 × baseline requests/s",
      met: pollRatio >= 0.8,
      measured: `${pollRatio.toFixed(3)}× (${poll.m.result.rps.toFixed(0)} vs ${poll.around.rps.toFixed(0)} req/s)`,
    },
    {
      label: "waiting poll p99 ≤ baseline p99 + 3 ms",
      met: p99Delta <= 3,
      measured: `${p99Delta >= 0 ? "+" : ""}${p99Delta.toFixed(2)} ms (${poll.m.result.p99Ms.toFixed(2)} vs ${poll.around.p99Ms.toFixed(2)} ms)`,
    },
    {
      label: "Durable Object calls per waiting poll ≤ 0.01",
      met: doCallsPerPoll <= 0.01,
      measured: `${doCallsPerPoll.toFixed(5)} (${pollCalls.total} calls${pollCalls.total ? `: ${kinds(pollCalls.byKind)}` : ""} / ${poll.m.result.requests} polls)`,
    },
  ];
  const idleNote =
    `    without any load the room made ${idleCalls.total} calls in ${DURATION_S} s` +
    `${idleCalls.total ? ` (${kinds(idleCalls.byKind)})` : ""}; net of those: ${doCallsPerPollNet.toFixed(5)} per poll`;

  const date = new Date();
  const cpuList = cpus();
  const num = (n: number | null, digits: number) => (n === null || !Number.isFinite(n) ? null : round(n, digits));
  const caseJson = (key: SpillwayCase["key"]) => {
    const c = summary[key];
    return {
      [`${key}Rps`]: round(c.m.result.rps, 1),
      [`${key}P50Ms`]: round(c.m.result.p50Ms, 2),
      [`${key}P99Ms`]: round(c.m.result.p99Ms, 2),
      [`${key}Ratio`]: round(c.ratio, 3),
      [`${key}BaselineRps`]: round(c.around.rps, 1),
      [`${key}BaselineP99Ms`]: round(c.around.p99Ms, 2),
      [`${key}Requests`]: c.m.result.requests,
    };
  };
  const json = {
    date: date.toISOString(),
    node: process.version,
    cores: availableParallelism(),
    cpuModel: cpuList[0]?.model ?? "unknown",
    loadAverageBefore: round(loadBefore, 2),
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    warmupSeconds: WARMUP_S,
    // The mean of all baseline runs; each case's ratio is to the two runs around it (<case>BaselineRps).
    baselineRps: round(base.rps, 1),
    baselineP50Ms: round(base.p50Ms, 2),
    baselineP99Ms: round(base.p99Ms, 2),
    baselineRuns: baselines.map((b) => ({
      rps: round(b.result.rps, 1),
      p50Ms: round(b.result.p50Ms, 2),
      p99Ms: round(b.result.p99Ms, 2),
      cpuUsPerRequest: num(b.cpuUsPerRequest, 0),
    })),
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
    doCallsPerRequest: {
      pass: num(summary.pass.doCallsPerRequest, 5),
      join: num(summary.join.doCallsPerRequest, 5),
      claim: num(summary.claim.doCallsPerRequest, 5),
    },
    // CPU of the Worker's own processes (wrangler + workerd) per request.
    cpuUsPerRequest: {
      baseline: num(base.cpuUsPerRequest, 0),
      poll: num(summary.poll.m.cpuUsPerRequest, 0),
      pass: num(summary.pass.m.cpuUsPerRequest, 0),
      join: num(summary.join.m.cpuUsPerRequest, 0),
      claim: num(summary.claim.m.cpuUsPerRequest, 0),
    },
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
      pollRatio: { target: ">= 0.8", met: targets[0]!.met },
      pollP99: { target: "<= pollBaselineP99Ms + 3", met: targets[1]!.met },
      doCallsPerPoll: { target: "<= 0.01", met: targets[2]!.met },
    },
    warnings,
  };

  const resultsDir = join(PROJECT_ROOT, "bench", "results");
  await mkdir(resultsDir, { recursive: true });
  const resultsFile = join(resultsDir, `${date.toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(resultsFile, JSON.stringify(json, null, 2) + "\n");

  progress("stopping the Workers and the origin");
  await cleanup();

  const out = [
    "",
    `Spillway benchmark, ${json.date}: Node ${json.node}, ${json.cores} cores (${json.cpuModel}), load average before the run ${json.loadAverageBefore}`,
    `local workerd via wrangler dev; ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per case`,
    "× baseline: requests/s divided by the mean of the two baseline runs just before and after the case",
    "",
    table(rows, new Set([baselines.length + 1])),
    "CPU µs/req: CPU time of the Worker's own processes (wrangler, workerd) per request; steadier than req/s here.",
    "",
    "Targets (SPEC.md, Performance; shown for reading, they do not set the exit code):",
    targetLines(targets),
    idleNote,
  ];
  if (held !== null) {
    out.push(
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

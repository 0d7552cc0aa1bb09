/**
 * `npm run bench:parts`: where Spillway's own CPU goes on a request with a
 * pass and on a waiting poll, part by part, in raw workerd.
 *
 * `npm run bench` compares whole requests, and two workerd processes of the
 * same build differ by a few per cent: a part of a few microseconds is lost
 * in that. Here each part runs REPEAT times inside one request of one
 * Worker (bench/parts/index.ts, Spillway's own functions), in one process,
 * under wrk load; the process's CPU time per request, less that of the
 * baseline part measured in the same round, divided by REPEAT, is the
 * part's own cost. Parts run in turn, in reverse order every other round,
 * and the median over rounds is reported with its spread.
 *
 * `--poll` times a waiting poll instead, in Spillway's own isolate
 * (bench/parts/poll.ts in front of Spillway, a room whose admissions are
 * held with twenty-one listeners in line, the last one polling): the
 * floor's work (what any Worker answering the poll must do) and Spillway's
 * whole poll, each run REPEAT times on that request, and the poll's cost
 * over the floor's, round by round. `--cold` (with `--poll`) has each run
 * start with the CPU's level-1 and level-2 data caches emptied of it
 * (bench/parts/poll.ts), not hot from the run before.
 *
 *   npm run bench:parts
 *   npm run bench:parts -- --poll --rounds 15
 *   npm run bench:parts -- --poll --cold --rounds 10
 *   npm run bench:parts -- --rounds 9 --seconds 3 --json
 *
 * Progress goes to stderr, the table to stdout (`--json`: one JSON line).
 */
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { wholeNumberFlags } from "./lib/flags.ts";
import { cpuSecondsBetween } from "./lib/processes.ts";
import { median } from "./lib/median.ts";
import { Rooms } from "./lib/rooms.ts";
import { type RawWorker, startRaw, startRawSpillway } from "./lib/workerd.ts";
import { ensureWrk, type LoadOptions, measure, stopLoad, warmUp } from "./lib/wrk.ts";

const USAGE = "Usage: npm run bench:parts [-- --poll [--cold]] [--rounds N] [--seconds S] [--warmup S] [--json]";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
    poll: { type: "boolean", default: false },
    cold: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const wholeNumber = wholeNumberFlags("bench:parts", USAGE);
const ROUNDS = wholeNumber("rounds", args.rounds, 1);
const SECONDS = wholeNumber("seconds", args.seconds, 1);
const WARMUP = Number(args.warmup);
if (!Number.isFinite(WARMUP) || WARMUP < 0) {
  console.error(`--warmup must be a number of seconds, 0 or more (got "${args.warmup}")\n${USAGE}`);
  process.exit(2);
}
const CONNECTIONS = wholeNumber("connections", args.connections, 1);
if (args.cold && !args.poll) {
  console.error(`--cold goes with --poll: only the poll's parts run cold\n${USAGE}`);
  process.exit(2);
}

const progress = (message: string) => process.stderr.write(`${message}\n`);

interface PartResult {
  part: string;
  meaning: string;
  /** Median over rounds of (CPU µs per request − the baseline's in the same round) ÷ repeat. */
  microseconds: number;
  low: number;
  high: number;
  rounds: number[];
}

let interrupted = false;
process.on("SIGINT", () => {
  interrupted = true;
  stopLoad();
});

/** A Worker whose parts are timed: where it lists them, and what wrk sends for a part (its path and headers). */
interface PartsWorker {
  worker: RawWorker;
  listing: string;
  request: (part: string) => { path: string; headers: Record<string, string> };
}

/** The poll's room: one seat, admissions held; twenty-one listeners in line. */
const POLL_ROOM = "bench-parts-poll";

/**
 * Spillway behind bench/parts/poll.ts, its room set up; the last listener
 * in line polls, its part named in a header.
 */
async function startPollParts(): Promise<PartsWorker> {
  const adminToken = randomBytes(24).toString("base64url");
  const worker = await startRawSpillway({ adminToken, main: "bench/parts/poll.ts" });
  try {
    const rooms = new Rooms(worker.url, adminToken);
    // Held: nobody is called, so the line stands still for as long as the rounds take.
    await rooms.configure(POLL_ROOM, { capacity: 1, mode: "hold" });
    const ticket = (await rooms.joinMany(POLL_ROOM, 21, "queued")).at(-1)?.ticket;
    if (ticket === undefined) throw new Error(`room ${POLL_ROOM}: the last listener in line got no ticket`);
    const path = `/_spillway/rooms/${POLL_ROOM}/status`;
    return {
      worker,
      listing: "/_bench/parts.json",
      request: (part) => ({
        path,
        headers: { authorization: `Bearer ${ticket}`, "bench-part": part, ...(args.cold ? { "bench-cold": "1" } : {}) },
      }),
    };
  } catch (err) {
    await worker.stop();
    throw err;
  }
}

/** The parts Worker of bench/parts: a part by its path, with a header of the size of a real ticket or pass. */
async function startParts(): Promise<PartsWorker> {
  const worker = await startRaw({
    name: "parts Worker (bench/parts, raw workerd)",
    config: "bench/parts/wrangler.toml",
  });
  const headers = { authorization: `Bearer ${"x".repeat(400)}` };
  return { worker, listing: "/parts.json", request: (part) => ({ path: `/${part}`, headers }) };
}

ensureWrk(progress);
const loadBefore = loadavg()[0]!;
progress(
  `starting ${args.poll ? "Spillway with the poll's parts" : "the parts Worker"} in raw workerd (load average ${loadBefore.toFixed(2)})…`,
);
const { worker, listing: listingPath, request } = await (args.poll ? startPollParts() : startParts());
try {
  // The Worker says which parts it has, what each stands for, and how often one runs in a request.
  const readListing = async () =>
    (await (await fetch(`${worker.url}${listingPath}`)).json()) as {
      repeat: number;
      parts: { part: string; meaning: string }[];
      /** The poll's parts: runs that did not answer at once, of all runs. */
      waitedRuns?: number;
      allRuns?: number;
      /** The poll's parts: bytes a cold run writes through first. */
      evictedBytes?: number;
    };
  const listing = await readListing();
  const { repeat } = listing;
  const parts = listing.parts.map((p) => p.part);
  const meaningOf = new Map(listing.parts.map((p) => [p.part, p.meaning]));
  const load = (part: string): LoadOptions => ({
    url: worker.url,
    request: { method: "GET", ...request(part) },
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
  });
  for (const part of parts) {
    const { path, headers } = request(part);
    const check = await fetch(`${worker.url}${path}`, { headers });
    if (!check.ok) throw new Error(`part ${part}: ${check.status} ${await check.text()}`);
    await warmUp(load(part), WARMUP);
  }
  const cpuPerRequest = new Map<string, number[]>(parts.map((p) => [p, []]));
  for (let round = 1; round <= ROUNDS && !interrupted; round++) {
    const order = round % 2 === 1 ? parts : [...parts].reverse();
    for (const part of order) {
      if (interrupted) break;
      const before = worker.cpuTicks();
      const result = await measure(load(part));
      const after = worker.cpuTicks();
      if (before === null || after === null) throw new Error(`the workerd process is gone:\n${worker.tail(20)}`);
      if (result.non2xx > 0 || result.errors > 0) {
        const { path, headers } = request(part);
        const again = await fetch(`${worker.url}${path}`, { headers }).then(
          async (r) => `asked again: ${r.status} ${(await r.text()).slice(0, 300)}`,
          (err: unknown) => `asked again: ${String(err)}`,
        );
        throw new Error(
          `part ${part}: ${result.non2xx} error answers, ${result.errors} socket errors (${again})\n${worker.tail(20)}`,
        );
      }
      cpuPerRequest.get(part)!.push((cpuSecondsBetween(before, after) * 1e6) / result.requests);
    }
    progress(`round ${round}/${ROUNDS} done`);
  }
  if (interrupted) throw new Error("interrupted");
  const baseline = cpuPerRequest.get("baseline")!;
  const results: PartResult[] = parts
    .filter((p) => p !== "baseline")
    .map((part) => {
      const rounds = cpuPerRequest.get(part)!.map((cpu, i) => (cpu - baseline[i]!) / repeat);
      return {
        part,
        meaning: meaningOf.get(part)!,
        microseconds: median(rounds),
        low: Math.min(...rounds),
        high: Math.max(...rounds),
        rounds,
      };
    });
  // Spillway's poll over the floor's work, round by round (both timed in the same isolate and round).
  const floor = cpuPerRequest.get("floor");
  const poll = cpuPerRequest.get("poll");
  let pollOverFloor: { microseconds: number; low: number; high: number; rounds: number[] } | null = null;
  if (floor !== undefined && poll !== undefined) {
    const rounds = poll.map((cpu, i) => (cpu - floor[i]!) / repeat);
    pollOverFloor = { microseconds: median(rounds), low: Math.min(...rounds), high: Math.max(...rounds), rounds };
  }
  const counts = await readListing();
  const waited = counts.waitedRuns === undefined ? null : { runs: counts.waitedRuns, of: counts.allRuns ?? 0 };
  const loadAfter = loadavg()[0]!;
  const summary = {
    repeat,
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    cold: args.cold,
    baselineCpuMicroseconds: median(baseline),
    loadAverage: [loadBefore, loadAfter],
    parts: results,
    pollOverFloor,
    waited,
  };
  if (args.json) {
    console.log(JSON.stringify(summary));
  } else {
    const fmt = (n: number) => n.toFixed(1).padStart(6);
    console.log(
      `Each part ${repeat}× a request in one workerd process; µs of CPU per run of the part, ` +
        `over the baseline in the same round (median of ${ROUNDS} rounds, lowest–highest).\n` +
        (args.cold
          ? `Cold: each run starts after ${(listing.evictedBytes ?? 0) / 1024 / 1024} MiB were written through, emptying the CPU's level-1 and level-2 data caches of it;` +
            " the baseline is that writing alone.\n"
          : "") +
        `Baseline: ${summary.baselineCpuMicroseconds.toFixed(0)} µs a request. ` +
        `Load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}.\n`,
    );
    for (const r of results) {
      console.log(`${r.part.padEnd(22)} ${fmt(r.microseconds)} µs  (${fmt(r.low)} –${fmt(r.high)})  ${r.meaning}`);
    }
    if (pollOverFloor !== null) {
      const { microseconds, low, high } = pollOverFloor;
      console.log(
        `${"poll − floor".padEnd(22)} ${fmt(microseconds)} µs  (${fmt(low)} –${fmt(high)})  ` +
          "Spillway's poll over the floor's work, round by round",
      );
    }
    if (waited !== null) {
      const share = waited.of === 0 ? 0 : (waited.runs / waited.of) * 100;
      console.log(
        `\n${waited.runs} of ${waited.of} runs (${share.toFixed(3)} %) waited for the room's view, fetched again ` +
          "about once a second; the others answered at once.",
      );
    }
  }
} catch (err) {
  progress(`bench:parts failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await worker.stop();
}

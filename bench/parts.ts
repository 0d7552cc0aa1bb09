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
 *   npm run bench:parts
 *   npm run bench:parts -- --rounds 9 --seconds 3 --json
 *
 * Progress goes to stderr, the table to stdout (`--json`: one JSON line).
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { cpuSecondsBetween } from "./lib/processes.ts";
import { median } from "./lib/median.ts";
import { startRaw } from "./lib/workerd.ts";
import { ensureWrk, type LoadOptions, measure, stopLoad, warmUp } from "./lib/wrk.ts";

const USAGE = "Usage: npm run bench:parts [-- --rounds N] [--seconds S] [--warmup S] [--json]";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "10" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a whole number of at least 1 (got "${raw}")\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const ROUNDS = positive("rounds", args.rounds);
const SECONDS = positive("seconds", args.seconds);
const WARMUP = Number(args.warmup);
if (!Number.isFinite(WARMUP) || WARMUP < 0) {
  console.error(`--warmup must be a number of seconds, 0 or more (got "${args.warmup}")\n${USAGE}`);
  process.exit(2);
}
const CONNECTIONS = positive("connections", args.connections);

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

ensureWrk(progress);
const loadBefore = loadavg()[0]!;
progress(`starting the parts Worker in raw workerd (load average ${loadBefore.toFixed(2)})…`);
const worker = await startRaw({ name: "parts Worker (bench/parts, raw workerd)", config: "bench/parts/wrangler.toml" });
try {
  // The Worker says which parts it has, what each stands for, and how often one runs in a request.
  const listing = (await (await fetch(`${worker.url}/parts.json`)).json()) as {
    repeat: number;
    parts: { part: string; meaning: string }[];
  };
  const { repeat } = listing;
  const parts = listing.parts.map((p) => p.part);
  const meaningOf = new Map(listing.parts.map((p) => [p.part, p.meaning]));
  // A header of the size of a real ticket or pass, as wrk sends it with every request.
  const headers = { authorization: `Bearer ${"x".repeat(400)}` };
  const load = (part: string): LoadOptions => ({
    url: worker.url,
    request: { method: "GET", path: `/${part}`, headers },
    connections: CONNECTIONS,
    durationSeconds: SECONDS,
  });
  for (const part of parts) {
    const check = await fetch(`${worker.url}/${part}`, { headers });
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
        throw new Error(
          `part ${part}: ${result.non2xx} error answers, ${result.errors} socket errors\n${worker.tail(20)}`,
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
  const loadAfter = loadavg()[0]!;
  const summary = {
    repeat,
    rounds: ROUNDS,
    seconds: SECONDS,
    connections: CONNECTIONS,
    baselineCpuMicroseconds: median(baseline),
    loadAverage: [loadBefore, loadAfter],
    parts: results,
  };
  if (args.json) {
    console.log(JSON.stringify(summary));
  } else {
    const fmt = (n: number) => n.toFixed(1).padStart(6);
    console.log(
      `Each part ${repeat}× a request in one workerd process; µs of CPU per run of the part, ` +
        `over the baseline in the same round (median of ${ROUNDS} rounds, lowest–highest).\n` +
        `Baseline: ${summary.baselineCpuMicroseconds.toFixed(0)} µs a request. ` +
        `Load average ${loadBefore.toFixed(2)} → ${loadAfter.toFixed(2)}.\n`,
    );
    for (const r of results) {
      console.log(`${r.part.padEnd(22)} ${fmt(r.microseconds)} µs  (${fmt(r.low)} –${fmt(r.high)})  ${r.meaning}`);
    }
  }
} catch (err) {
  progress(`bench:parts failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await worker.stop();
}

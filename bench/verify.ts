/**
 * `npm run bench:verify`: HS256 tokens signed and verified by the
 * hand-written path (src/tokens/hs256.ts) against jose, over the same keys,
 * claims and tokens (bench/lib/hs256-cases.ts), in Node and in local workerd
 * (bundled with esbuild, run by Miniflare: the runtime Spillway runs in).
 *
 * Each case is warmed up (at least 400 ms a path), then timed in rounds: in
 * each, both paths run the same number of operations in four slices each,
 * interleaved ABBA (BAAB in every other round), so a load that comes or goes
 * falls on both alike. Per case it reports each path's median operations a
 * second and the median, over rounds, of the hand-written path's rate
 * divided by jose's: above 1, hand-written is faster. Read the ratios, not
 * the bare rates, on a shared machine. Progress goes to stderr, the tables
 * to stdout (`--json` adds one JSON line).
 *
 *   npm run bench:verify                         both runtimes
 *   npm run bench:verify -- --runtime workerd    one of node, workerd, both
 *   npm run bench:verify -- --rounds 9 --round-ms 400 --json
 */
import { readFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { newKeySet } from "../src/cli/keys.ts";
import { makeCases, PATHS, type PathName, runBatch } from "./lib/hs256-cases.ts";
import { median } from "./lib/median.ts";

const USAGE = `Usage: npm run bench:verify [-- --runtime node|workerd|both] [--rounds N] [--round-ms MS] [--json]`;

const { values: args } = parseArgs({
  options: {
    runtime: { type: "string", default: "both" },
    rounds: { type: "string", default: "9" },
    "round-ms": { type: "string", default: "400" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const ROUND_MS = Number(args["round-ms"]);
const RUNTIMES = args.runtime === "both" ? ["node", "workerd"] : [args.runtime];
if (
  args.help ||
  !Number.isInteger(ROUNDS) ||
  ROUNDS < 1 ||
  !(ROUND_MS > 0) ||
  !RUNTIMES.every((r) => r === "node" || r === "workerd")
) {
  console.error(USAGE);
  process.exit(args.help ? 0 : 2);
}

/** A runtime the cases run in: their names, and the time (ms) `times` operations of one take. */
interface Runtime {
  name: string;
  cases: { name: string; note: string }[];
  time(caseIndex: number, path: PathName, times: number): Promise<number>;
  close(): Promise<void>;
}

interface CaseResult {
  name: string;
  note: string;
  opsPerSecond: Record<PathName, number>;
  /** Hand-written ops/s ÷ jose ops/s: the median over rounds, and the lowest and highest. */
  ratio: { median: number; min: number; max: number };
  rounds: { hand: number; jose: number }[];
}

const log = (line: string) => console.error(line);

async function nodeRuntime(vars: Awaited<ReturnType<typeof newKeySet>>): Promise<Runtime> {
  const cases = await makeCases(vars);
  return {
    name: `node ${process.version}`,
    cases,
    async time(i, path, times) {
      const started = performance.now();
      await runBatch(cases[i]![path], times);
      return performance.now() - started;
    },
    async close() {},
  };
}

/** The Worker in bench/lib/hs256-worker.ts, bundled, in local workerd; timed around each request. */
async function workerdRuntime(vars: Awaited<ReturnType<typeof newKeySet>>): Promise<Runtime> {
  // The build and runtime tools wrangler and the Workers test pool use, loaded only for this runtime.
  const { build } = await import("esbuild");
  const { convertV4MiniflareOptions, Miniflare } = await import("miniflare");
  const root = join(import.meta.dirname, "..");
  const toml = await readFile(join(root, "wrangler.toml"), "utf8");
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1] ?? "2026-10-20";
  log(`workerd: bundling bench/lib/hs256-worker.ts (compatibility date ${compatibilityDate})…`);
  const bundle = await build({
    entryPoints: [join(root, "bench/lib/hs256-worker.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    target: "es2024",
    write: false,
    logLevel: "error",
  });
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: bundle.outputFiles[0]!.text,
      compatibilityDate,
      compatibilityFlags: ["nodejs_compat"],
      bindings: { ...vars },
    }),
  );
  await mf.ready;
  const get = async (query: string) => {
    const res = await mf.dispatchFetch(`http://bench.local/?${query}`);
    const body = await res.text();
    if (!res.ok) throw new Error(`workerd answered ${res.status}: ${body}`);
    return body;
  };
  const cases = JSON.parse(await get("")) as { name: string; note: string }[];
  // What a request costs with nothing to do, taken off every timing.
  const empty: number[] = [];
  for (let n = 0; n < 30; n++) {
    const started = performance.now();
    await get("case=0&path=hand&times=0");
    empty.push(performance.now() - started);
  }
  const overhead = median(empty);
  log(`workerd: started; an empty request takes ${overhead.toFixed(2)} ms, taken off each timing`);
  return {
    name: "workerd (Miniflare)",
    cases,
    async time(i, path, times) {
      const started = performance.now();
      await get(`case=${i}&path=${path}&times=${times}`);
      return Math.max(performance.now() - started - overhead, 0.001);
    },
    close: () => mf.dispose(),
  };
}

/** Warm a path up for at least `ms` and give its rate (ops/ms), to size the rounds. */
async function warmUp(rt: Runtime, i: number, path: PathName, ms: number): Promise<number> {
  let times = 50;
  let spent = 0;
  for (;;) {
    const took = await rt.time(i, path, times);
    spent += took;
    if (spent >= ms && took >= ms / 4) return times / took;
    times = Math.min(times * 2, 1 << 20);
  }
}

/**
 * Each round times each path in SLICES slices, in the order ABBA ABBA… (BAAB…
 * in odd rounds): a load that comes or goes during a round falls on both.
 */
const SLICES = 4;

function sliceOrder(round: number): PathName[] {
  const [a, b]: PathName[] = round % 2 === 0 ? ["hand", "jose"] : ["jose", "hand"];
  return Array.from({ length: SLICES / 2 }, () => [a!, b!, b!, a!]).flat();
}

async function measure(rt: Runtime): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [i, c] of rt.cases.entries()) {
    log(`${rt.name}: case ${i + 1}/${rt.cases.length}, ${c.name}: warming up both paths…`);
    const rates = { hand: 0, jose: 0 };
    for (const path of PATHS) rates[path] = await warmUp(rt, i, path, 400);
    // The same number of operations for both paths in every slice: as many as the slower does in a slice.
    const times = Math.max(1, Math.round((Math.min(rates.hand, rates.jose) * ROUND_MS) / SLICES));
    const rounds: { hand: number; jose: number }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const spent = { hand: 0, jose: 0 };
      for (const path of sliceOrder(r)) spent[path] += await rt.time(i, path, times);
      const round = { hand: (SLICES * times * 1000) / spent.hand, jose: (SLICES * times * 1000) / spent.jose };
      rounds.push(round);
      log(
        `${rt.name}:   round ${r + 1}/${ROUNDS}: hand ${Math.round(round.hand)} ops/s, jose ${Math.round(round.jose)} ops/s, ratio ${(round.hand / round.jose).toFixed(2)}`,
      );
    }
    const ratios = rounds.map((x) => x.hand / x.jose);
    results.push({
      name: c.name,
      note: c.note,
      opsPerSecond: { hand: median(rounds.map((x) => x.hand)), jose: median(rounds.map((x) => x.jose)) },
      ratio: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      rounds,
    });
  }
  return results;
}

/** In words: which path wins, by how much per operation. */
function verdict(ratio: number): string {
  if (ratio >= 1.05) return `hand-written faster: ${Math.round((1 - 1 / ratio) * 100)}% less time per operation`;
  if (ratio <= 1 / 1.05) return `jose faster: ${Math.round((1 - ratio) * 100)}% less time per operation`;
  return "no clear difference (within 5%)";
}

function report(runtime: string, results: CaseResult[]): void {
  const rows = results.map((r) => [
    r.name,
    Math.round(r.opsPerSecond.hand).toLocaleString("en"),
    Math.round(r.opsPerSecond.jose).toLocaleString("en"),
    `${r.ratio.median.toFixed(2)} (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)})`,
    verdict(r.ratio.median),
  ]);
  const head = ["case", "hand ops/s", "jose ops/s", "hand ÷ jose (min–max)", "verdict"];
  const widths = head.map((h, col) => Math.max(h.length, ...rows.map((row) => row[col]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, col) => (col === 0 || col === 4 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
      .join("  ");
  console.log(`\n${runtime}: medians over ${ROUNDS} rounds of ~${ROUND_MS} ms per path`);
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, load ${loadavg()
  .map((l) => l.toFixed(2))
  .join(" ")}`;
log(`HS256 sign/verify, hand-written (src/tokens/hs256.ts) vs jose; ${machine}`);
const vars = await newKeySet();
const all: Record<string, CaseResult[]> = {};
for (const which of RUNTIMES) {
  log(`\n${which}: starting…`);
  const rt = which === "node" ? await nodeRuntime(vars) : await workerdRuntime(vars);
  try {
    all[rt.name] = await measure(rt);
  } finally {
    await rt.close();
  }
}
for (const [name, results] of Object.entries(all)) report(name, results);
console.log("\nThe cases:");
for (const r of Object.values(all)[0] ?? []) console.log(`  ${r.name}: ${r.note}`);
console.log(
  [
    "",
    "hand ÷ jose above 1: the hand-written path does more operations a second. Verifying, it is src's path;",
    "signing, src uses jose's SignJWT, and the hand column is a bare WebCrypto signer kept here only.",
    "Spillway runs in workerd: its ratios decide. Node's rates are lower and swing more with the machine's load.",
  ].join("\n"),
);
if (args.json) console.log(JSON.stringify({ machine, rounds: ROUNDS, roundMs: ROUND_MS, results: all }));

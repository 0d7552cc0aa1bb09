/**
 * npm run simulate -- --scenario <name> [--seed N] [--shards N] [--isolates N] [--cohort N]
 *                      [--admit-per-minute N] [--json]
 *
 * Runs one scenario of sim/scenarios.ts through the real admission code on
 * simulated time and prints a report; with --json the last line of stdout is
 * the results as one JSON object. Progress goes to stderr. Exits 1 when a
 * scenario's hard checks fail (mass-leave: a left pass served after its seat
 * was freed, more distinct seats served than the capacity).
 */
import { parseArgs } from "node:util";
import { resultOf, textOf } from "./report.ts";
import { SCENARIOS } from "./scenarios.ts";
import { World } from "./world.ts";

/** Edge isolates assumed to serve the room (~300 locations × 4), each reading a view once a second. */
const DEFAULT_ISOLATES = 1_200;

function usage(): string {
  const names = Object.values(SCENARIOS)
    .map((s) => `  ${s.name.padEnd(11)} ${s.summary}`)
    .join("\n");
  return (
    "usage: npm run simulate -- --scenario <name> [--seed N] [--shards N] [--isolates N] [--cohort N] [--admit-per-minute N] [--json]\n\nscenarios:\n" +
    names
  );
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1`);
  return n;
}

function main(): number {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        scenario: { type: "string", default: "steady" },
        seed: { type: "string" },
        shards: { type: "string" },
        isolates: { type: "string" },
        cohort: { type: "string" },
        "admit-per-minute": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage()}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage() + "\n");
    return 0;
  }
  const scenario = SCENARIOS[values.scenario];
  if (scenario === undefined) {
    process.stderr.write(`unknown scenario: ${values.scenario}\n${usage()}\n`);
    return 2;
  }
  let seed: number, shards: number, isolates: number, cohort: number, admitPerMinute: number;
  try {
    seed = positiveInt("seed", values.seed, 1);
    shards = positiveInt("shards", values.shards, scenario.shards);
    isolates = positiveInt("isolates", values.isolates, DEFAULT_ISOLATES);
    cohort = positiveInt("cohort", values.cohort, scenario.cohort);
    admitPerMinute = positiveInt("admit-per-minute", values["admit-per-minute"], scenario.admitPerMinute);
    if (shards > 65_535) throw new Error("--shards must be at most 65535");
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const started = performance.now();
  const progress = (line: string) => process.stderr.write(line + "\n");
  progress(`simulating ${scenario.name} (seed ${seed}, ${shards} shards, cohorts of ${cohort}) ...`);
  const world = new World({ scenario: { ...scenario, admitPerMinute }, seed, shards, isolates, cohort, progress });
  world.run();
  const wall = (performance.now() - started) / 1000;
  const rssMb = process.resourceUsage().maxRSS / 1024;
  const result = resultOf(world, wall, rssMb);
  process.stdout.write(textOf(result, world) + "\n");
  if (values.json) process.stdout.write(JSON.stringify(result) + "\n");
  const failures = world.massLeave?.failures(cohort) ?? [];
  for (const f of failures) process.stderr.write(`FAILED: ${f}\n`);
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = main();

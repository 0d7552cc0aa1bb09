/**
 * One Worker's measured load, and a round's slices of it taken as one run
 * (`npm run bench -- --slices N`: bench/run.ts).
 */
import type { CallCounts } from "./rooms.ts";
import type { LoadResult } from "./wrk.ts";

export interface Measured {
  result: LoadResult;
  /** Durable Object calls during the measured run (without the stats reads). */
  calls: { total: number; byKind: CallCounts } | null;
  /** CPU time per request of the Worker's processes (workerd; wrangler too in dev mode), in µs; null without /proc. */
  cpuUsPerRequest: number | null;
  /** wrk's CPU time per request, in µs. */
  generatorCpuUsPerRequest: number;
}

/** Durable Object calls of several runs together; null when any was not counted. */
export function callsOf(runs: readonly Measured[]): { total: number; byKind: CallCounts } | null {
  if (runs.some((m) => m.calls === null)) return null;
  const byKind: CallCounts = {};
  for (const m of runs) for (const [k, n] of Object.entries(m.calls!.byKind)) byKind[k] = (byKind[k] ?? 0) + n;
  return { total: runs.reduce((sum, m) => sum + m.calls!.total, 0), byKind };
}

/**
 * The order of a round's runs in `slices` turns: the baseline first and
 * last, the case between each two of its runs. The baseline's slices and the
 * case's then sample the same stretch of time (their mean moments match), so
 * a drift of the machine's speed within the round falls on both alike.
 */
export function turns(slices: number): ("baseline" | "case")[] {
  const order: ("baseline" | "case")[] = ["baseline"];
  for (let i = 0; i < slices; i++) order.push("case", "baseline");
  return order;
}

/**
 * A Worker's slices of one round as one run: their requests over their
 * seconds, CPU and Durable Object calls added up, latencies the slices'
 * averaged by their requests (`connections`: wrk's, for the mean latency
 * its throughput implies).
 */
export function combine(slices: readonly Measured[], connections: number): Measured {
  if (slices.length === 0) throw new Error("combine: no slices");
  if (slices.length === 1) return slices[0]!;
  const total = (pick: (m: Measured) => number) => slices.reduce((sum, m) => sum + pick(m), 0);
  const requests = total((m) => m.result.requests);
  const durationSeconds = total((m) => m.result.durationSeconds);
  const byRequests = (pick: (r: LoadResult) => number) => total((m) => pick(m.result) * m.result.requests) / requests;
  const rps = requests / durationSeconds;
  const generatorCpuSeconds = total((m) => m.result.generatorCpuSeconds);
  return {
    result: {
      rps,
      p50Ms: byRequests((r) => r.p50Ms),
      p99Ms: byRequests((r) => r.p99Ms),
      meanMs: byRequests((r) => r.meanMs),
      impliedMeanMs: (connections / rps) * 1000,
      requests,
      durationSeconds,
      non2xx: total((m) => m.result.non2xx),
      errors: total((m) => m.result.errors),
      generatorCpuSeconds,
    },
    calls: callsOf(slices),
    cpuUsPerRequest: slices.some((m) => m.cpuUsPerRequest === null)
      ? null
      : total((m) => m.cpuUsPerRequest! * m.result.requests) / requests,
    generatorCpuUsPerRequest: (generatorCpuSeconds * 1e6) / requests,
  };
}

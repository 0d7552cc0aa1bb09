/**
 * The benchmark's readable output: a table of requests/s, p50 and p99 per
 * case with the ratio to its baseline of the same run (and which baseline),
 * the CPU each request cost the Worker's processes and the load generator,
 * then the SPEC's performance targets next to the measured values (✓/✗,
 * informative only).
 */
import type { LoadResult } from "./wrk.ts";

export interface CaseRow {
  label: string;
  result: Pick<LoadResult, "rps" | "p50Ms" | "p99Ms" | "non2xx" | "errors">;
  /** requests/s divided by its baseline's; null for baseline rows. */
  ratio: number | null;
  /** What the ratio is to ("hello", "proxy"). */
  ratioTo: string | null;
  /** Durable Object calls per request in this case; null when not counted. */
  doCallsPerRequest: number | null;
  /** CPU µs per request of the Worker's processes (workerd; with wrangler in dev mode); null when not measured. */
  cpuUsPerRequest: number | null;
  /** CPU µs per request of the load generator (wrk); null when not measured. */
  generatorCpuUsPerRequest: number | null;
}

export interface Target {
  label: string;
  met: boolean;
  measured: string;
}

const COLUMNS = [
  "case",
  "req/s",
  "p50 ms",
  "p99 ms",
  "× baseline",
  "Worker CPU µs/req",
  "wrk CPU µs/req",
  "DO calls/req",
  "failed",
] as const;

function fixed(n: number | null, digits: number): string {
  return n === null || !Number.isFinite(n) ? "—" : n.toFixed(digits);
}

function rowCells(row: CaseRow): string[] {
  const r = row.result;
  return [
    row.label,
    fixed(r.rps, 0),
    fixed(r.p50Ms, 2),
    fixed(r.p99Ms, 2),
    row.ratio === null ? "—" : `${row.ratio.toFixed(3)}× ${row.ratioTo ?? ""}`.trimEnd(),
    fixed(row.cpuUsPerRequest, 0),
    fixed(row.generatorCpuUsPerRequest, 1),
    row.doCallsPerRequest === null ? "—" : row.doCallsPerRequest.toFixed(4),
    String(r.non2xx + r.errors),
  ];
}

/** A plain text table, first column left-aligned, the others right-aligned. */
export function table(rows: CaseRow[], separatorBefore: Set<number>): string {
  const cells = [[...COLUMNS], ...rows.map(rowCells)];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const rule = widths.map((w) => "─".repeat(w)).join("──");
  const out = [line(cells[0]!), rule];
  cells.slice(1).forEach((r, i) => {
    if (separatorBefore.has(i)) out.push(rule);
    out.push(line(r));
  });
  return out.join("\n");
}

export function targetLines(targets: Target[]): string {
  const width = Math.max(...targets.map((t) => t.label.length));
  return targets.map((t) => `  ${t.met ? "✓" : "✗"} ${t.label.padEnd(width)}  ${t.measured}`).join("\n");
}

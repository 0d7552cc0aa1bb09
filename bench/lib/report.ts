/**
 * The benchmark's readable output: a table of requests/s, p50 and p99 per
 * case with the ratio to the baseline of the same run, then the SPEC's
 * performance targets next to the measured values (✓/✗, informative only).
 */
import type { LoadResult } from "./load.ts";

export interface CaseRow {
  label: string;
  result: LoadResult;
  /** requests/s divided by the mean baseline; null for baseline rows. */
  ratio: number | null;
  /** Durable Object calls per request in this case; null when not counted. */
  doCallsPerRequest: number | null;
  /** CPU µs per request of the Worker's processes (wrangler + workerd); null when not measured. */
  cpuUsPerRequest: number | null;
}

export interface Target {
  label: string;
  met: boolean;
  measured: string;
}

const COLUMNS = ["case", "req/s", "p50 ms", "p99 ms", "× baseline", "CPU µs/req", "DO calls/req", "non-2xx"] as const;

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
    row.ratio === null ? "—" : `${row.ratio.toFixed(2)}×`,
    fixed(row.cpuUsPerRequest, 0),
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

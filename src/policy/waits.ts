/**
 * How long admitted listeners waited, as a histogram small enough to travel
 * in every shard report: counts per bucket of seconds, the buckets' upper
 * edges finer where waits usually are. A quantile is the upper edge of the
 * bucket it falls in, so p50/p90 are never flattered: a wait of 31 s counts
 * as up to 45 s.
 *
 * Pure.
 */

/** Upper edges (seconds) of the buckets; the last bucket has no upper edge. */
export const WAIT_EDGES = [
  1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 2700, 3600,
];

/** An empty histogram (one count per bucket, plus one for waits beyond the last edge). */
export function noWaits(): number[] {
  return new Array<number>(WAIT_EDGES.length + 1).fill(0);
}

/** The histogram with one more wait of `seconds`. */
export function withWait(hist: readonly number[] | undefined, seconds: number): number[] {
  const out = hist === undefined || hist.length !== WAIT_EDGES.length + 1 ? noWaits() : [...hist];
  let i = WAIT_EDGES.findIndex((edge) => seconds <= edge);
  if (i < 0) i = WAIT_EDGES.length;
  out[i] = out[i]! + 1;
  return out;
}

/** Two histograms added up. */
export function addWaits(a: readonly number[] | undefined, b: readonly number[] | undefined): number[] {
  const out = noWaits();
  for (let i = 0; i < out.length; i++) out[i] = (a?.[i] ?? 0) + (b?.[i] ?? 0);
  return out;
}

/** The wait (seconds) that a share `q` of admitted listeners waited at most, or null with no data. */
export function waitQuantile(hist: readonly number[], q: number): number | null {
  const total = hist.reduce((s, n) => s + n, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= q * total) return i < WAIT_EDGES.length ? WAIT_EDGES[i]! : Infinity;
  }
  return Infinity;
}

/**
 * Arrivals counted per second ("bins"). A shard numbers its listeners in
 * arrival order; a bin records the first sequence number that arrived in
 * that second and how many did. The coordinator merges every shard's bins
 * into one picture of who has been waiting longest, which is what makes
 * first-in-first-out hold across shards to one second.
 */

export interface ArrivalBin {
  /** The second (epoch seconds) these listeners arrived in. */
  bin: number;
  /** Sequence number of the first of them on their shard. */
  firstSeq: number;
  count: number;
}

/** How many of a bin's listeners are not yet called, given the shard's cursor. */
export function uncalledIn(b: ArrivalBin, cursor: number): number {
  const called = Math.min(b.count, Math.max(0, cursor - b.firstSeq + 1));
  return b.count - called;
}

/** The bins with one more arrival (`seq` in second `bin`); bins stay oldest first. */
export function withArrival(bins: ArrivalBin[], bin: number, seq: number): ArrivalBin[] {
  const last = bins[bins.length - 1];
  if (last !== undefined && last.bin === bin) {
    return [...bins.slice(0, -1), { ...last, count: last.count + 1 }];
  }
  return [...bins, { bin, firstSeq: seq, count: 1 }];
}

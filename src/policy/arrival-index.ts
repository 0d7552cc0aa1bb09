/**
 * The coordinator's picture of who waits, across every shard: each shard's
 * arrival bins (see arrivals.ts) that still hold listeners not called, indexed
 * by second, with a running count of the uncalled per second.
 *
 * The coordinator walks this oldest second first when it hands out calls
 * (plan.ts) and sums it into the view's per-second counts; kept apart so the
 * bookkeeping (which bin is done, which second is empty) reads on its own.
 * Every change is written through to the store.
 */
import { type ArrivalBin, uncalledIn } from "./arrivals.ts";

/** Where the bins are kept (part of the coordinator's store). */
export interface BinStore {
  /** All stored bins, any order. */
  loadBins(): { shard: number; bins: ArrivalBin[] }[];
  /** Insert or replace these bins of a shard. */
  saveBins(shard: number, bins: ArrivalBin[]): void;
  /** Delete a shard's bins whose every arrival is called. */
  dropCalledBins(shard: number, through: number): void;
}

export class ArrivalIndex {
  readonly #store: BinStore;
  /** Per shard, its uncalled arrival bins, oldest first. */
  readonly #bins = new Map<number, ArrivalBin[]>();
  /** The same bins by second, then shard. */
  readonly #bySecond = new Map<number, Map<number, ArrivalBin>>();
  /** Listeners not yet called (or ordered to be), per second, all shards. */
  readonly #uncalled = new Map<number, number>();
  /** Seconds that may have uncalled listeners, ascending (stale entries skipped, then compacted). */
  #seconds: number[] = [];

  /** Load the stored bins; `throughOf` says how far each shard has called or been ordered to. */
  constructor(store: BinStore, throughOf: (shard: number) => number) {
    this.#store = store;
    for (const { shard, bins } of store.loadBins()) {
      const sorted = [...bins].sort((a, b) => a.bin - b.bin);
      this.#bins.set(shard, sorted);
      const through = throughOf(shard);
      for (const b of sorted) {
        this.#index(shard, b);
        this.#addUncalled(b.bin, uncalledIn(b, through));
      }
    }
  }

  /**
   * Seconds that may have uncalled listeners, ascending; may hold seconds
   * whose listeners have all been called since (`uncalledAt` is then 0).
   */
  get seconds(): readonly number[] {
    return this.#seconds;
  }

  /** A shard's bins with listeners it has not called yet, oldest first. */
  binsOf(shard: number): readonly ArrivalBin[] {
    return this.#bins.get(shard) ?? [];
  }

  /** The bins of this second, by shard (kept until their shards have called them). */
  binsAt(second: number): ReadonlyMap<number, ArrivalBin> | undefined {
    return this.#bySecond.get(second);
  }

  /** Listeners of this second not yet called or ordered to be, all shards. */
  uncalledAt(second: number): number {
    return this.#uncalled.get(second) ?? 0;
  }

  /**
   * Take a shard's reported bins (new ones, or new counts of known ones).
   * `through` is how far it has called or been ordered to, `cursor` how far
   * it has called.
   */
  merge(shard: number, incoming: ArrivalBin[], through: number, cursor: number): void {
    const bins = this.#bins.get(shard) ?? [];
    const changed: ArrivalBin[] = [];
    for (const b of incoming) {
      const i = bins.findIndex((x) => x.bin === b.bin);
      if (i >= 0 && bins[i]!.count === b.count && bins[i]!.firstSeq === b.firstSeq) continue;
      const before = i >= 0 ? uncalledIn(bins[i]!, through) : 0;
      const after = uncalledIn(b, through);
      // Bins the shard has called through are done; others are kept even when
      // ordered, in case the order is walked again.
      if (i < 0 && uncalledIn(b, Math.min(through, cursor)) === 0) continue;
      const copy = { ...b };
      if (i >= 0) bins[i] = copy;
      else bins.push(copy);
      this.#index(shard, copy);
      this.#addUncalled(b.bin, after - before);
      changed.push(b);
    }
    bins.sort((a, b) => a.bin - b.bin);
    this.#bins.set(shard, bins);
    if (changed.length > 0) this.#store.saveBins(shard, changed);
  }

  /** A shard's called-through mark moved from `old` to `through`: keep the per-second uncalled totals right. */
  moveThrough(shard: number, old: number, through: number, cursor: number): void {
    if (through === old) return;
    const bins = this.#bins.get(shard) ?? [];
    for (const b of bins) {
      const delta = uncalledIn(b, through) - uncalledIn(b, old);
      if (delta !== 0) this.#addUncalled(b.bin, delta);
    }
    // A bin goes once the shard has called all of it; until then an order
    // that is walked again (the shard could not call it) finds it.
    const done = Math.min(through, cursor);
    const kept = bins.filter((b) => uncalledIn(b, done) > 0);
    if (kept.length !== bins.length) {
      for (const b of bins) if (uncalledIn(b, done) === 0) this.#unindex(shard, b.bin);
      this.#bins.set(shard, kept);
      this.#store.dropCalledBins(shard, done);
    }
  }

  /** Seconds with uncalled listeners, ascending; drops stale entries. */
  liveSeconds(): number[] {
    let start = 0;
    while (start < this.#seconds.length && !this.#uncalled.has(this.#seconds[start]!)) start++;
    if (start > 0) this.#seconds = this.#seconds.slice(start);
    if (this.#seconds.length > 2 * this.#uncalled.size + 64) {
      this.#seconds = this.#seconds.filter((x) => this.#uncalled.has(x));
    }
    return this.#seconds.filter((x) => this.#uncalled.has(x));
  }

  #index(shard: number, b: ArrivalBin): void {
    let m = this.#bySecond.get(b.bin);
    if (m === undefined) {
      m = new Map();
      this.#bySecond.set(b.bin, m);
    }
    m.set(shard, b);
  }

  #unindex(shard: number, second: number): void {
    const m = this.#bySecond.get(second);
    m?.delete(shard);
    if (m?.size === 0) this.#bySecond.delete(second);
  }

  #addUncalled(second: number, delta: number): void {
    if (delta === 0) return;
    const before = this.#uncalled.get(second) ?? 0;
    const n = before + delta;
    if (n <= 0) {
      // Its bins stay indexed until their shards have called them (see moveThrough).
      this.#uncalled.delete(second);
      return;
    }
    this.#uncalled.set(second, n);
    if (before === 0) {
      const last = this.#seconds[this.#seconds.length - 1];
      if (last === undefined || last < second) this.#seconds.push(second);
      else if (!this.#seconds.includes(second)) {
        this.#seconds.push(second);
        this.#seconds.sort((a, b) => a - b);
      }
    }
  }
}

/**
 * Who has been called, and the cap: after anything a shard does, the
 * simulator looks at its ledger's cursor and live leases. Listeners whose
 * sequence numbers the cursor passed were called (their turn came, a seat
 * is reserved for them) at that moment; the room's live leases are checked
 * against the capacity at every change (and, with lanes, each lane's
 * against its cap: see lines.ts). Shards are their places in the world's
 * shells.
 */
import type { Counters } from "../src/policy/ledger-state.ts";
import type { LineStats } from "./lines.ts";
import { FifoTracker, type Listeners, NEVER } from "./listeners.ts";
import type { Stats } from "./stats.ts";

export class CallTracker {
  readonly #l: Listeners;
  readonly #stats: Stats;
  /** Per shard: listener number by sequence number − 1. */
  readonly #seqIds: Int32Array[];
  readonly #lastCursor: Int32Array;
  readonly #lastLive: Float64Array;
  /** FIFO displacement when called, and when seated (poll timing included). */
  readonly fifoCall: FifoTracker;
  readonly fifoPass: FifoTracker;
  /** When called, leaving out a lost shard's listeners (null: no shard is lost). */
  readonly fifoCallOthers: FifoTracker | null;
  /** Per line measures (null: no lanes). */
  readonly #lines: LineStats | null;

  constructor(
    listeners: Listeners,
    stats: Stats,
    shards: number,
    lostShard: number | null,
    lines: LineStats | null = null,
  ) {
    const l = listeners;
    this.#l = l;
    this.#stats = stats;
    this.#lines = lines;
    this.#seqIds = Array.from({ length: shards }, () => new Int32Array(1024));
    this.#lastCursor = new Int32Array(shards);
    this.#lastLive = new Float64Array(shards);
    const called = (id: number) => l.calledAt[id] !== NEVER;
    this.fifoCall = new FifoTracker(l, called);
    this.fifoPass = new FifoTracker(l, (id) => l.admittedAt[id] !== NEVER);
    this.fifoCallOthers = lostShard === null ? null : new FifoTracker(l, called, lostShard);
  }

  /** Listener `id` took sequence number `seq` on `shard`. */
  joined(shard: number, seq: number, id: number): void {
    let ids = this.#seqIds[shard]!;
    if (seq > ids.length) {
      const grown = new Int32Array(ids.length * 2);
      grown.set(ids);
      this.#seqIds[shard] = ids = grown;
    }
    ids[seq - 1] = id;
  }

  /** After anything `shard` did at `t`: who was called, and the cap. */
  after(shard: number, c: Readonly<Counters>, t: number): void {
    const last = this.#lastCursor[shard]!;
    if (c.cursor > last) {
      const ids = this.#seqIds[shard]!;
      const l = this.#l;
      for (let q = last; q < c.cursor; q++) if (l.calledAt[ids[q]!] === NEVER) l.calledAt[ids[q]!] = t;
      this.fifoCall.record(ids, last, c.cursor, t);
      this.fifoCallOthers?.record(ids, last, c.cursor, t);
      this.#lines?.called(shard, ids, last, c.cursor, t);
      this.#lastCursor[shard] = c.cursor;
    }
    if (c.live !== this.#lastLive[shard]) {
      this.#stats.liveChanged(c.live - this.#lastLive[shard]!, t);
      this.#lines?.liveChanged(shard, c.live - this.#lastLive[shard]!);
      this.#lastLive[shard] = c.live;
    }
  }
}

/**
 * A shard's Durable Object, as the simulator models it: the pure Shard
 * (src/admission/shard.ts) wrapped the way src/room/room-shard.ts wraps it.
 *
 * - One request at a time. A sync with the coordinator runs under
 *   blockConcurrencyWhile: from the report until the order is applied (or
 *   the call fails), requests wait in `deferred` and run afterwards, in order.
 * - Syncs happen when due (a second after the last one) on the alarm while
 *   the shard is busy, on an edge's view read, and at once when a join finds
 *   no free seat for the first one waiting. A failed sync leaves the last
 *   sync time as it was, so the next trigger tries again.
 */
import type { GlobalView, ShardOrder, ShardReport } from "../src/admission/coordinator.ts";
import { SYNC_INTERVAL_MS } from "../src/admission/coordinator.ts";
import type { Shard } from "../src/admission/shard.ts";
import type { CountingLedgerStore } from "./stores.ts";

export class ShardShell {
  readonly index: number;
  readonly shard: Shard;
  readonly store: CountingLedgerStore;
  /** Last successful sync (ms since the start). */
  lastSync = -Infinity;
  /** A sync is in flight: requests wait. */
  blocked = false;
  /** Requests waiting for the sync to finish (event codes), from `#head` on. */
  #deferred: number[] = [];
  #head = 0;
  /** The pending alarm (ms), or -1. */
  alarmAt = -1;
  /** The sync in flight: its report, the order once answered, and the request that started it (or -1). */
  report: ShardReport | null = null;
  order: ShardOrder | null = null;
  syncFor = -1;
  /** When the order of the sync in flight arrives back (ms). */
  replyAt = 0;
  /** The shard's view with its own cursor, for estimates at join (rebuilt when the view changes). */
  #own: { base: GlobalView; view: GlobalView } | null = null;

  constructor(index: number, shard: Shard, store: CountingLedgerStore) {
    this.index = index;
    this.shard = shard;
    this.store = store;
  }

  syncDue(t: number): boolean {
    return t - this.lastSync >= SYNC_INTERVAL_MS;
  }

  defer(code: number): void {
    this.#deferred.push(code);
  }

  /** The next waiting request, or -1. */
  nextDeferred(): number {
    if (this.#head >= this.#deferred.length) {
      if (this.#head > 0) {
        this.#deferred = [];
        this.#head = 0;
      }
      return -1;
    }
    return this.#deferred[this.#head++]!;
  }

  /** When the alarm should next fire, as the shell schedules it (null: none). */
  nextAlarm(t: number): number | null {
    return this.shard.busy() ? Math.max(t, this.lastSync + SYNC_INTERVAL_MS) : null;
  }

  /**
   * The view as this shard answers it: its last view with its own cursor.
   * `snapshot` gives a copy to keep (an edge's cache); otherwise a reused
   * object, valid until the next call.
   */
  freshView(snapshot: boolean): GlobalView | null {
    const base = this.shard.view;
    if (base === null) return null;
    const cursor = this.shard.ledger.counters.cursor;
    if (snapshot) return { ...base, cursors: { ...base.cursors, [this.index]: cursor } };
    if (this.#own?.base !== base) this.#own = { base, view: { ...base, cursors: { ...base.cursors } } };
    this.#own.view.cursors[this.index] = cursor;
    return this.#own.view;
  }
}

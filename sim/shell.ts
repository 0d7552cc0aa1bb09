/**
 * A shard's Durable Object, as the simulator models it: the pure Shard
 * (src/admission/shard.ts) wrapped the way src/room/room-shard.ts wraps it.
 *
 * - One request at a time. A sync with the coordinator runs under
 *   blockConcurrencyWhile: from the report until the order is applied (or
 *   the call fails), requests wait in `deferred` and run afterwards, in order.
 * - Syncs happen when due (once a new round of the clock has begun, see
 *   syncDue) on the alarm while
 *   the shard is busy, on an edge's view read, and at once when a join finds
 *   no free seat for the first one waiting. A failed sync leaves the last
 *   sync time as it was, so the next trigger tries again.
 */
import type { GlobalView, ShardOrder, ShardReport } from "../src/admission/coordinator.ts";
import { nextSyncAt, syncDue } from "../src/admission/rounds.ts";
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

  /** Simulated time 0, ms since the epoch (the shard's clock reads t0 + t). */
  readonly #t0: number;

  constructor(index: number, shard: Shard, store: CountingLedgerStore, t0: number) {
    this.#t0 = t0;
    this.index = index;
    this.shard = shard;
    this.store = store;
  }

  syncDue(t: number): boolean {
    return syncDue(this.lastSync, t);
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
    const wake = this.shard.ledger.nextWake(this.#t0 + t);
    const ledger = wake === null ? null : wake - this.#t0;
    if (!this.shard.busy()) return ledger;
    const sync = nextSyncAt(this.lastSync, t);
    return ledger === null ? sync : Math.min(ledger, sync);
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
    // Its own cursor is known exactly, not paced.
    const paces = { ...base.paces };
    delete paces[this.index];
    if (snapshot) return { ...base, cursors: { ...base.cursors, [this.index]: cursor }, paces };
    if (this.#own?.base !== base) this.#own = { base, view: { ...base, cursors: { ...base.cursors }, paces } };
    this.#own.view.cursors[this.index] = cursor;
    return this.#own.view;
  }
}

/**
 * A shard's Durable Object, as the simulator models it: the pure Shard
 * (src/policy/shard.ts) wrapped the way src/objects/room-shard.ts wraps it.
 *
 * - One request at a time. A sync with the coordinator runs under
 *   blockConcurrencyWhile: from the report until the order is applied (or
 *   the call fails), requests wait in `deferred` and run afterwards, in order.
 * - Syncs happen when due (once a new round of the clock has begun, see
 *   syncDue) on the alarm while the shard is busy, on an edge's view read,
 *   right after a leave (so the revocation is listed at once), and at once
 *   when a join finds no free seat for the first one waiting. A failed sync
 *   counts as the round's sync too (the shard backs off rather than retry at
 *   every request): the next is tried a round later.
 * - The order's `confirmed` revocations free their seats as it is applied
 *   (Shard.apply); a seat given back is otherwise held until its lease
 *   expires, at releaseAt (ledger.ts) since the leave.
 * - A view read answers the shard's last view with its own cursor and its
 *   own revoked passes added (RoomShard#freshView).
 * Not modelled: claims from a second device (the `moving` seat), held
 * connections.
 */
import type { GlobalView, ShardOrder, ShardReport } from "../src/policy/coordinator.ts";
import { nextSyncAt, SYNC_INTERVAL_MS, syncDue } from "../src/policy/rounds.ts";
import type { Shard } from "../src/policy/shard.ts";
import type { CountingLedgerStore } from "./stores.ts";

export class ShardShell {
  readonly index: number;
  readonly shard: Shard;
  readonly store: CountingLedgerStore;
  /** Last sync, successful or failed (ms since the start). */
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
  /** Its own revoked passes as last answered to a view read (the same array while they are the same). */
  #ownLast: readonly string[] = [];
  /** Its own revoked passes as last read: re-read once a sync interval, or after a leave here (RoomShard#ownRevoked). */
  #ownRead: { t: number; sids: string[] } | null = null;

  /** Simulated time 0, ms since the epoch (the shard's clock reads t0 + t). */
  readonly #t0: number;
  /** Most of its own revoked passes a view read adds (MAX_VIEW_REVOKED, in simulated listeners). */
  readonly #ownRevoked: number;

  constructor(index: number, shard: Shard, store: CountingLedgerStore, t0: number, ownRevoked: number) {
    this.#t0 = t0;
    this.index = index;
    this.shard = shard;
    this.store = store;
    this.#ownRevoked = ownRevoked;
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
   * The view for this shard's own estimates (at a join): its last view with
   * its own cursor. A reused object, valid until the next call.
   */
  freshView(): GlobalView | null {
    const base = this.shard.view;
    if (base === null) return null;
    if (this.#own?.base !== base)
      this.#own = { base, view: { ...base, cursors: { ...base.cursors }, paces: ownPaces(base, this.index) } };
    this.#own.view.cursors[this.index] = this.shard.ledger.counters.cursor;
    return this.#own.view;
  }

  /**
   * The view as a view read at `t` answers it, for an edge to keep: the last
   * view with its own cursor, and its own revoked passes (the first
   * MAX_VIEW_REVOKED of them, scaled) added to the room's list, as
   * RoomShard#freshView does. The two lists are kept apart (see EdgeView);
   * the shard's own are kept only when the edge checks passes (`keepOwn`),
   * but always read (and their rows counted).
   */
  viewAnswer(t: number, keepOwn: boolean): EdgeView | null {
    const base = this.shard.view;
    if (base === null) return null;
    if (this.#ownRead === null || t - this.#ownRead.t >= SYNC_INTERVAL_MS) {
      this.#ownRead = { t, sids: this.store.revokedSids(this.#t0 + t, this.#ownRevoked) };
    }
    const own = this.#ownRead.sids;
    const cursors = { ...base.cursors, [this.index]: this.shard.ledger.counters.cursor };
    const view = { ...base, cursors, paces: ownPaces(base, this.index) };
    return { view, own: keepOwn ? this.#sameAsLast(own) : [] };
  }

  /** A seat here ended: the next view read reads the shard's own revoked passes again. */
  seatEnded(): void {
    this.#ownRead = null;
  }

  /** These own revoked passes, as the last array answered when they are the same (its set is then reused). */
  #sameAsLast(sids: string[]): readonly string[] {
    const last = this.#ownLast;
    if (last.length !== sids.length || !last.every((sid, i) => sid === sids[i])) this.#ownLast = sids;
    return this.#ownLast;
  }
}

/**
 * A view as an edge isolate keeps it: what a shard's view read answered.
 * The shard adds its own revoked passes to the room's list; the simulator
 * keeps them apart (`own`), so that lists of thousands are not merged for
 * every one of the 1,200 reads a second, and `listed` checks both.
 */
export interface EdgeView {
  /** The room's view with the shard's own cursor; `revoked` is the room's list. */
  view: GlobalView;
  /** The shard's own revoked passes it added. */
  own: readonly string[];
}

/** A set of each list looked up (lists are shared by many views and never change). */
const sets = new WeakMap<readonly string[], Set<string>>();

function has(list: readonly string[], sid: string): boolean {
  if (list.length === 0) return false;
  let set = sets.get(list);
  if (set === undefined) {
    set = new Set(list);
    sets.set(list, set);
  }
  return set.has(sid);
}

/** Does the edge refuse this pass from this view, the shard's own revoked passes included (isRevoked, view-cache.ts)? */
export function listed(e: EdgeView, sid: string): boolean {
  return has(e.view.revoked, sid) || has(e.own, sid);
}

/** The paces of a view but this shard's: its own cursor is known exactly, not paced. */
function ownPaces(view: GlobalView, index: number): GlobalView["paces"] {
  const paces = { ...view.paces };
  delete paces[index];
  return paces;
}

/**
 * One shard of a sharded room: a Ledger for the listeners that hash to it,
 * plus the glue of its sync with the coordinator (build a report, apply an
 * order). The Durable Object and the simulator both drive this.
 *
 * The shard's ledger runs with the allowance and call limit of its last
 * order; the admission rate is the coordinator's business, so the ledger's
 * own bucket is unlimited.
 *
 * The queue allowance of the last order bounds the waiting places this
 * shard gives (`queueRoom`): an arrival not called at once gets one only
 * while fewer than the allowance wait here. A shard that never synced has
 * none (it asks first), and lowering it takes nobody's place.
 */
import type { Timings } from "./config.ts";
import type { GlobalView, ShardOrder, ShardReport } from "./protocol.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "./pass-trust.ts";
import { MAX_VIEW_REVOKED } from "./revocations.ts";
import { upcomingReturns } from "./returns.ts";
import { slotOf } from "./lanes.ts";
import { Ledger } from "./ledger.ts";
import type { LedgerDeps } from "./ledger-state.ts";
import type { LedgerStore } from "./ledger-state.ts";
import type { Pace } from "./rounds.ts";
import { fullPace } from "./arrival-pace.ts";

/** A shard's ledger never limits the rate itself. */
export const UNLIMITED_RATE = 1e12;

/** What a shard remembers of its syncs. */
export interface ShardLocal {
  appliedVersion: number;
  capacity: number;
  liveLimit: number;
  callThrough: number | null;
  /** How the calls up to `callThrough` are spread over time (absent: at once). */
  pace?: Pace | null;
  /** With `callThrough` null: until when (absent or null: no end). */
  openUntil?: number | null;
  /** The start (ms) and the seed of the prequeue's draw (absent or null: none). */
  startsAt?: number | null;
  shuffleSeed?: number | null;
  mode: ShardOrder["mode"];
  /**
   * The last order cut the allowance below what was reported: report once
   * more, so the coordinator stops counting seats this shard no longer holds
   * (an idle shard would otherwise never sync again).
   */
  reportAgain?: boolean;
  /** The queue allowance (null: no limit; absent: none granted yet, as 0). */
  queue?: number | null;
}

export interface ShardLocalStore {
  loadLocal(): ShardLocal | null;
  saveLocal(local: ShardLocal): void;
}

function initialLocal(): ShardLocal {
  return { appliedVersion: 0, capacity: 0, liveLimit: 0, callThrough: 0, mode: "open", queue: 0 };
}

export class Shard {
  readonly index: number;
  readonly ledger: Ledger;
  readonly #store: LedgerStore;
  readonly #localStore: ShardLocalStore;
  #local: ShardLocal;
  /** The longest a seat given back takes to come free (releaseAt, lease.ts). */
  readonly #releaseMs: number;
  /** The latest room-wide view, as of the last order (memory only). */
  view: GlobalView | null = null;

  constructor(
    index: number,
    store: LedgerStore,
    localStore: ShardLocalStore,
    timings: Timings,
    deps: LedgerDeps,
    now: number,
  ) {
    this.index = index;
    this.#store = store;
    this.#localStore = localStore;
    this.#local = localStore.loadLocal() ?? initialLocal();
    this.#releaseMs = passTrustMs(timings.passTtlMs) + CLOCK_SKEW_MS;
    this.ledger = new Ledger(store, this.#ledgerConfig(), timings, deps, now);
  }

  get local(): Readonly<ShardLocal> {
    return this.#local;
  }

  #ledgerConfig() {
    return {
      capacity: this.#local.capacity,
      admitPerMinute: UNLIMITED_RATE,
      mode: this.#local.mode,
      callThrough: this.#local.callThrough,
      pace: this.#local.pace ?? null,
      openUntil: this.#local.openUntil ?? null,
      startsAt: this.#local.startsAt ?? null,
      shuffleSeed: this.#local.shuffleSeed ?? null,
      liveLimit: this.#local.liveLimit ?? this.#local.capacity,
    };
  }

  /** The queue allowance in force (null: no limit). */
  get queue(): number | null {
    const q = this.#local.queue;
    return q === undefined ? 0 : q;
  }

  /** Is there room for one more waiting place here (fewer than the queue allowance wait)? */
  queueRoom(): boolean {
    const q = this.queue;
    return q === null || this.ledger.waiting < q;
  }

  /**
   * Does `maxQueue` bound this shard's line, as far as its last view says?
   * Not a lane's shard, and not before any view (a shard that never synced).
   */
  lineLimited(): boolean {
    return slotOf(this.index) === 0 && (this.view === null || this.view.maxQueue !== null);
  }

  /** The report for a sync at `now` (settles the ledger first); `asking`: arrivals waiting on it for a place. */
  report(now: number, asking = 0): ShardReport {
    this.ledger.settle(now);
    const c = this.ledger.counters;
    return {
      shard: this.index,
      appliedVersion: this.#local.appliedVersion,
      capacity: this.#local.capacity,
      live: c.live,
      reserved: c.reserved,
      cursor: c.cursor,
      tail: c.tail,
      admittedTotal: c.admittedTotal,
      left: c.left,
      expired: c.expired,
      abandoned: c.abandoned,
      // Every second with someone not yet called (called ones are pruned), so a
      // coordinator that lost track through a lost order learns them again.
      bins: this.#store.arrivalBins(0),
      completeBefore: Math.floor(now / 1000),
      endingCount: this.ledger.endingCount(),
      ending: this.ledger
        .ending(MAX_VIEW_REVOKED)
        .map((l) => ({ sid: l.sid, until: l.expiresAt, moved: l.endedBy === "moved" })),
      returns: upcomingReturns(c.returns, now),
      releaseMs: this.#releaseMs,
      draw: c.draw ?? null,
      waits: c.waits ?? [],
      overflowed: c.overflowed ?? 0,
      solved: c.solved ?? 0,
      queue: this.queue,
      asking,
    };
  }

  /** Apply the order answering `report`; lowering the allowance evicts nobody. */
  apply(order: ShardOrder, report: ShardReport, now: number): void {
    const queue = order.queue === undefined ? null : order.queue;
    this.#local = {
      reportAgain: order.capacity < report.capacity || lower(queue, report.queue ?? null),
      appliedVersion: order.version,
      capacity: order.capacity,
      liveLimit: order.liveLimit,
      callThrough: order.callThrough,
      // The bins the coordinator paced by: the report's, not read again.
      pace: order.pace === null ? null : fullPace(report.bins, order.pace, order.callThrough),
      openUntil: order.openUntil,
      startsAt: order.startsAt,
      shuffleSeed: order.shuffleSeed,
      mode: order.mode,
      queue,
    };
    this.#localStore.saveLocal(this.#local);
    this.view = order.view;
    this.ledger.setConfig(this.#ledgerConfig(), now);
    // Seats whose passes no edge can still honour are free (or go to the device they moved to).
    if (order.confirmed !== undefined && order.confirmed.length > 0) this.ledger.confirmRevoked(order.confirmed, now);
  }

  /** Does this shard need to sync on its own (anything waiting, held or allowed)? */
  busy(): boolean {
    const c = this.ledger.counters;
    return (
      c.tail > c.cursor ||
      c.live + c.reserved > 0 ||
      this.#local.capacity > 0 ||
      this.queue !== 0 ||
      this.#local.reportAgain === true
    );
  }
}

/** Is queue allowance `a` below `b` (null: no limit)? */
function lower(a: number | null, b: number | null): boolean {
  return a !== null && (b === null || a < b);
}

/** A listener id's shard: FNV-1a of the id, modulo the shard count (the edge routes by it; the simulator too). */
export function shardOf(sub: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sub.length; i++) {
    h ^= sub.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % Math.max(1, shards);
}

/**
 * The admission ledger of one room: queue sequence, cursor, seat leases and
 * reservations, and the decisions that move them.
 *
 * Pure policy over an injected synchronous store: every operation takes `now`
 * and changes nothing but the store, so the Durable Object (SQLite store), the
 * tests and the simulator (in-memory store) run this very code.
 *
 * The model:
 * - `join` hands out the next sequence number (`tail`). A listener's place in
 *   line is its number minus the `cursor`.
 * - `advance` calls the next listeners by moving the cursor, as far as free
 *   seats and the rate allow. Each call reserves a seat for a claim window.
 * - `claim` turns a call into a lease (a seat), at most one per listener; a
 *   reservation not claimed within its window returns to the pool, so
 *   abandoned tickets at the head never freeze the queue.
 *
 * Strict cap: a lease is granted only while `live < capacity` (and, when it
 * does not consume a reservation, while `live + reserved < capacity`), so at no
 * instant are there more live leases than the capacity in force.
 *
 * A pass cannot be un-issued, so `leave` does not free the seat at once: the
 * lease's pass is revoked (the edge refuses it once its cached view, at most
 * `EDGE_VIEW_TTL_MS` old, shows the revocation) and the seat is freed
 * `REVOCATION_DELAY_MS` later, when no edge can still accept the old pass.
 * Should the revocation list be full, the seat simply stays taken until the
 * pass's own expiry. Either way no more seats hold usable passes than the cap.
 */
import { type AdmissionLimits, calls, type Timings } from "./config.ts";
import type { ArrivalBin } from "./arrivals.ts";
import { emptyFlow, type Flow, ratePerSecond, record } from "./flow.ts";
import { type Bucket, burstOf, msUntilToken, refill } from "./rate.ts";
import { nextPaceStep, type Pace, pacedThrough } from "./rounds.ts";
import { type Draw, rankOf } from "./shuffle.ts";
import { withWait } from "./waits.ts";

/** The longest an edge isolate may answer from a cached room view. */
export const EDGE_VIEW_TTL_MS = 1_000;
/**
 * How long after `leave` the seat is freed: long enough for the revocation
 * to travel shard → coordinator → every shard's copy of the view → every
 * edge's cached view (each hop at most about a second), with a second to
 * spare for clock skew.
 */
export const REVOCATION_DELAY_MS = 5 * EDGE_VIEW_TTL_MS;
/** The most revoked passes a room publishes to the edge at once. */
export const MAX_REVOKED = 1_000;

export interface Lease {
  /** Lease id: the `sid` of every pass for this seat. */
  sid: string;
  /** The listener (the ticket's `sub`). */
  sub: string;
  seq: number;
  grantedAt: number;
  expiresAt: number;
  /** When the listener gave the seat back; the seat is freed at `expiresAt`. */
  leftAt: number | null;
  /**
   * The seat's generation: every claim with the ticket (a second device, or
   * a retry) moves the seat to the newest claimant and bumps it; a pass of an
   * older generation can no longer renew (absent: 0).
   */
  gen?: number;
}

/** Listeners called together: seats reserved for them until `expiresAt`. */
export interface CallBatch {
  id: number;
  fromSeq: number;
  toSeq: number;
  expiresAt: number;
  outstanding: number;
}

export interface Counters {
  /** Last sequence number handed out (0: none yet). */
  tail: number;
  /** Sequence numbers up to this one have been called. */
  cursor: number;
  /** Live leases. */
  live: number;
  /** Seats reserved for called listeners who have not claimed yet. */
  reserved: number;
  bucket: Bucket;
  flow: Flow;
  admittedTotal: number;
  peakLive: number;
  peakAt: number | null;
  left: number;
  expired: number;
  abandoned: number;
  /** The start (ms) whose prequeue has been drawn (absent: none yet). */
  drawnFor?: number;
  /** The prequeue's random order, drawn at the start (absent or null: none). */
  draw?: Draw | null;
  /** How long admitted listeners waited (see waits.ts; absent: none yet). */
  waits?: number[];
  /** Arrivals offered the recording instead of a place, counted here for the room's stats. */
  overflowed?: number;
  /** Arrivals that took their place with a solved challenge (under-attack mode). */
  solved?: number;
}

/**
 * What the ledger runs with: a room's config, or for a shard of a sharded
 * room the allowance its coordinator gave it (`capacity`), below how many
 * live leases it may grant new ones (`liveLimit`; lower than the allowance
 * only while the room's capacity was lowered) and how far it may call
 * (`callThrough`; null: as far as seats and tokens allow), spread over
 * time as `pace` says (see rounds.ts).
 */
export type LedgerConfig = AdmissionLimits & {
  callThrough?: number | null;
  liveLimit?: number;
  pace?: Pace | null;
  /** With `callThrough` null: call freely only until this time (ms; null: no end). */
  openUntil?: number | null;
  /** The start (ms): arrivals before it are the prequeue (null: none). */
  startsAt?: number | null;
  /** Seed of the prequeue's random order at the start (null: arrival order). */
  shuffleSeed?: number | null;
};

/** Synchronous storage the ledger runs on (SQLite in a Durable Object, maps in tests). */
export interface LedgerStore {
  loadCounters(): Counters | null;
  saveCounters(counters: Counters): void;
  leaseBySub(sub: string): Lease | null;
  leaseBySid(sid: string): Lease | null;
  putLease(lease: Lease): void;
  deleteLease(sid: string): void;
  /** Leases with `expiresAt <= now`, earliest first. */
  expiredLeases(now: number, limit: number): Lease[];
  earliestLeaseExpiry(): number | null;
  /** The batch whose range holds `seq`, if any is left. */
  batchContaining(seq: number): CallBatch | null;
  addBatch(batch: Omit<CallBatch, "id">): void;
  setBatchOutstanding(id: number, outstanding: number): void;
  deleteBatch(id: number): void;
  /** Batches with `expiresAt <= now`. */
  expiredBatches(now: number, limit: number): CallBatch[];
  earliestBatchExpiry(): number | null;
  /** Remember that this listener's seat has ended, until `until`. */
  markSpent(sub: string, until: number): void;
  isSpent(sub: string, now: number): boolean;
  pruneSpent(now: number): void;
  /** Refuse this lease's passes at the edge until `until`. */
  revoke(sid: string, until: number): void;
  /** Lease ids whose passes are refused at `now`. */
  revokedSids(now: number, limit: number): string[];
  /** Is this lease's pass refused at `now` (its listener gave the seat back)? */
  isRevoked(sid: string, now: number): boolean;
  pruneRevoked(now: number): void;
  /** Count an arrival with sequence number `seq` in second `bin`. */
  recordArrival(bin: number, seq: number): void;
  /** Arrival bins from second `fromBin` on, oldest first. */
  arrivalBins(fromBin: number): ArrivalBin[];
  /** Forget bins whose every arrival has been called (last seq <= cursor). */
  pruneArrivals(cursor: number): void;
}

/** What the edge needs to answer waiting polls without asking again. */
export interface RoomView {
  mode: AdmissionLimits["mode"];
  capacity: number;
  admitPerMinute: number;
  cursor: number;
  tail: number;
  live: number;
  reserved: number;
  /** Listeners called per second over the last minute. */
  flowPerSecond: number;
  /** Lease ids given back whose passes must be refused. */
  revoked: string[];
  /** When this view was taken (ms). */
  at: number;
}

export type ClaimOutcome =
  | { kind: "admitted"; lease: Lease; fresh: boolean }
  | { kind: "waiting"; reason: "not_called" | "full" | "hold" }
  | { kind: "closed" }
  | { kind: "spent" };

/**
 * Why a seat is no longer a listener's: it gave the seat back (`left`: a leave
 * from any device, a release by ops or the origin), its ticket claimed the
 * seat on a newer device (`moved`), or its lease ran out (`lapsed`; also what
 * a lease id nobody holds reads as).
 */
export type SeatEnd = "left" | "moved" | "lapsed";

export type RenewOutcome = { kind: "renewed"; lease: Lease } | { kind: "gone"; reason: SeatEnd };

export interface JoinOutcome {
  seq: number;
  claim: ClaimOutcome;
}

export interface LedgerDeps {
  /** A new unguessable lease id. */
  newId(): string;
}

const EXPIRE_BATCH = 500;

export function initialCounters(now: number, admitPerMinute: number): Counters {
  return {
    tail: 0,
    cursor: 0,
    live: 0,
    reserved: 0,
    bucket: { tokens: burstOf(admitPerMinute), at: now },
    flow: emptyFlow(now),
    admittedTotal: 0,
    peakLive: 0,
    peakAt: null,
    left: 0,
    expired: 0,
    abandoned: 0,
  };
}

/** Why a pass (`sub`, generation `gen`) no longer holds `lease`, or null while it does. */
export function seatEnd(lease: Lease | null, sub: string, gen?: number): SeatEnd | null {
  if (lease === null || lease.sub !== sub) return "lapsed";
  if (lease.leftAt !== null) return "left";
  if (gen !== undefined && gen !== (lease.gen ?? 0)) return "moved";
  return null;
}

export class Ledger {
  readonly #store: LedgerStore;
  readonly #deps: LedgerDeps;
  #config: LedgerConfig;
  readonly #timings: Timings;
  #c: Counters;

  constructor(store: LedgerStore, config: LedgerConfig, timings: Timings, deps: LedgerDeps, now: number) {
    this.#store = store;
    this.#deps = deps;
    this.#config = config;
    this.#timings = timings;
    this.#c = store.loadCounters() ?? initialCounters(now, config.admitPerMinute);
  }

  get config(): LedgerConfig {
    return this.#config;
  }

  get counters(): Readonly<Counters> {
    return this.#c;
  }

  /** Re-read counters from the store (after a failed operation was rolled back). */
  reload(now: number): void {
    this.#c = this.#store.loadCounters() ?? initialCounters(now, this.#config.admitPerMinute);
  }

  /** Apply a new config; lowering capacity evicts nobody, it only stops calls. */
  setConfig(config: LedgerConfig, now: number): void {
    this.#config = config;
    this.settle(now);
  }

  /** Take the next place in line; claims at once when the turn has already come. */
  join(sub: string, now: number): JoinOutcome {
    this.#settleNoSave(now);
    this.#c.tail += 1;
    const seq = this.#c.tail;
    this.#store.recordArrival(this.#arrivalSecond(now), seq);
    this.#advance(now);
    const claim = this.#claim(sub, seq, now, now);
    this.#save();
    return { seq, claim };
  }

  /** Turn this listener's call into a seat; idempotent per listener. `arrivedAt` (ms) counts its wait. */
  claim(sub: string, seq: number, now: number, arrivedAt?: number): ClaimOutcome {
    this.#settleNoSave(now);
    const outcome = this.#claim(sub, seq, now, arrivedAt);
    this.#save();
    return outcome;
  }

  /** The lease with this id, or null (reads only). */
  lease(sid: string): Lease | null {
    return this.#store.leaseBySid(sid);
  }

  /** Extend a live lease by one pass lifetime. */
  renew(sid: string, sub: string, now: number, gen?: number): RenewOutcome {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const reason = seatEnd(lease, sub, gen);
    if (reason !== null || lease === null) {
      this.#save();
      // A seat given back and since freed is still told apart from one that lapsed, while its revocation lasts.
      const left = lease === null && this.#store.isRevoked(sid, now);
      return { kind: "gone", reason: left ? "left" : (reason ?? "lapsed") };
    }
    const renewed = { ...lease, expiresAt: now + this.#timings.passTtlMs };
    this.#store.putLease(renewed);
    this.#save();
    return { kind: "renewed", lease: renewed };
  }

  /**
   * Give a seat back; the listener's ticket cannot claim again. The pass is
   * revoked and the seat freed `REVOCATION_DELAY_MS` later. Idempotent: false
   * when there was no seat to give back.
   */
  leave(sid: string, sub: string, now: number): boolean {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    let released = false;
    if (lease !== null && lease.sub === sub && lease.leftAt === null) {
      let expiresAt = lease.expiresAt;
      if (this.#store.revokedSids(now, MAX_REVOKED).length < MAX_REVOKED) {
        this.#store.revoke(sid, lease.expiresAt);
        expiresAt = Math.min(lease.expiresAt, now + REVOCATION_DELAY_MS);
      }
      this.#store.putLease({ ...lease, expiresAt, leftAt: now });
      this.#c.left += 1;
      released = true;
    }
    this.#save();
    return released;
  }

  /** Expire what is due and call whoever can be called. */
  settle(now: number): void {
    this.#settleNoSave(now);
    this.#save();
  }

  /** When the ledger next needs to run without a request (alarm), or null. */
  nextWake(now: number): number | null {
    const times: number[] = [];
    const lease = this.#store.earliestLeaseExpiry();
    if (lease !== null) times.push(lease);
    const batch = this.#store.earliestBatchExpiry();
    if (batch !== null) times.push(batch);
    // A paced batch goes on calling without requests.
    const limit = this.#config.callThrough;
    if (calls(this.#config.mode) && this.#free() > 0 && typeof limit === "number") {
      const step = this.#c.cursor < Math.min(limit, this.#c.tail) ? nextPaceStep(limit, this.#config.pace, now) : null;
      if (step !== null) times.push(step);
    }
    if (calls(this.#config.mode) && this.#waiting(now) > 0 && this.#free() > 0) {
      // Wake when a token beyond the earmarked ones has refilled (if it can).
      const bucket = refill(this.#c.bucket, this.#config.admitPerMinute, now);
      const spare = { tokens: bucket.tokens - this.#c.reserved, at: bucket.at };
      if (this.#c.reserved + 1 <= burstOf(this.#config.admitPerMinute)) {
        times.push(bucket.at + Math.max(1, msUntilToken(spare, this.#config.admitPerMinute)));
      }
    }
    return times.length === 0 ? null : Math.max(now, Math.min(...times));
  }

  view(now: number): RoomView {
    return {
      mode: this.#config.mode,
      capacity: this.#config.capacity,
      admitPerMinute: this.#config.admitPerMinute,
      cursor: this.#c.cursor,
      tail: this.#c.tail,
      live: this.#c.live,
      reserved: this.#c.reserved,
      flowPerSecond: ratePerSecond(this.#c.flow, now),
      revoked: this.#store.revokedSids(now, MAX_REVOKED),
      at: now,
    };
  }

  /** Waiting listeners this ledger may call now (bounded by `callThrough`, as paced). */
  #waiting(now: number): number {
    const limit = this.#config.callThrough;
    const until = this.#config.openUntil;
    let through: number;
    if (limit !== undefined && limit !== null)
      through = Math.min(this.#c.tail, pacedThrough(limit, this.#config.pace, now));
    else through = typeof until === "number" && now >= until ? this.#c.cursor : this.#c.tail;
    return Math.max(0, through - this.#c.cursor);
  }

  /** Listeners the batch being paced will still call (their seats are spoken for). */
  #pacedAhead(now: number): number {
    const limit = this.#config.callThrough;
    const pace = this.#config.pace;
    if (typeof limit !== "number" || pace === undefined || pace === null || now >= pace.end) return 0;
    return Math.max(0, Math.min(limit, this.#c.tail) - this.#c.cursor);
  }

  #free(): number {
    return Math.max(0, this.#config.capacity - this.#c.live - this.#c.reserved);
  }

  #save(): void {
    this.#store.saveCounters(this.#c);
  }

  /**
   * The second an arrival counts in. A prequeue to be shuffled counts as one
   * second, just before the start: its listeners are equals, and the order
   * among them is the draw's.
   */
  #arrivalSecond(now: number): number {
    const { startsAt, shuffleSeed } = this.#config;
    if (typeof startsAt === "number" && typeof shuffleSeed === "number" && now < startsAt) {
      return Math.floor(startsAt / 1000) - 1;
    }
    return Math.floor(now / 1000);
  }

  /** At the start, once: draw the prequeue's order (everyone waiting then) when asked to shuffle. */
  #drawAtStart(now: number): void {
    const { startsAt, shuffleSeed } = this.#config;
    if (typeof startsAt !== "number" || now < startsAt || this.#c.drawnFor === startsAt) return;
    this.#c.drawnFor = startsAt;
    if (typeof shuffleSeed === "number" && this.#c.tail > this.#c.cursor + 1) {
      this.#c.draw = { seed: shuffleSeed, from: this.#c.cursor, to: this.#c.tail };
    }
  }

  #settleNoSave(now: number): void {
    this.#drawAtStart(now);
    for (;;) {
      const due = this.#store.expiredLeases(now, EXPIRE_BATCH);
      for (const lease of due) {
        this.#end(lease, now);
        if (lease.leftAt === null) this.#c.expired += 1;
      }
      if (due.length < EXPIRE_BATCH) break;
    }
    for (;;) {
      const due = this.#store.expiredBatches(now, EXPIRE_BATCH);
      for (const batch of due) {
        this.#c.reserved -= batch.outstanding;
        this.#c.abandoned += batch.outstanding;
        this.#store.deleteBatch(batch.id);
      }
      if (due.length < EXPIRE_BATCH) break;
    }
    this.#store.pruneSpent(now);
    this.#store.pruneRevoked(now);
    this.#store.pruneArrivals(this.#c.cursor);
    this.#advance(now);
  }

  #end(lease: Lease, now: number): void {
    this.#store.deleteLease(lease.sid);
    this.#store.markSpent(lease.sub, now + this.#timings.ticketTtlMs);
    this.#c.live -= 1;
  }

  /** Call as many waiting listeners as free seats and the rate allow. */
  #advance(now: number): void {
    this.#c.bucket = refill(this.#c.bucket, this.#config.admitPerMinute, now);
    if (!calls(this.#config.mode)) return;
    // Each reservation earmarks a token that its claim will spend.
    const n = Math.min(this.#waiting(now), this.#free(), Math.floor(this.#c.bucket.tokens - this.#c.reserved));
    if (n <= 0) return;
    this.#store.addBatch({
      fromSeq: this.#c.cursor + 1,
      toSeq: this.#c.cursor + n,
      expiresAt: now + this.#timings.claimWindowMs,
      outstanding: n,
    });
    this.#c.cursor += n;
    this.#c.reserved += n;
    this.#c.flow = record(this.#c.flow, now, n);
  }

  /** Count an arrival that took its place with a solved challenge. */
  noteSolved(): void {
    this.#c.solved = (this.#c.solved ?? 0) + 1;
    this.#save();
  }

  /** Count an arrival the edge offered the recording instead of a place. */
  noteOverflow(): void {
    this.#c.overflowed = (this.#c.overflowed ?? 0) + 1;
    this.#save();
  }

  #claim(sub: string, seq: number, now: number, arrivedAt?: number): ClaimOutcome {
    const existing = this.#store.leaseBySub(sub);
    if (existing !== null) {
      if (existing.leftAt !== null) return { kind: "spent" };
      // One ticket, one listener: the newest claim holds the seat.
      const moved = { ...existing, gen: (existing.gen ?? 0) + 1 };
      this.#store.putLease(moved);
      return { kind: "admitted", lease: moved, fresh: false };
    }
    if (this.#config.mode === "closed") return { kind: "closed" };
    if (this.#store.isSpent(sub, now)) return { kind: "spent" };
    if (this.#config.mode === "hold") return { kind: "waiting", reason: "hold" };
    const rank = rankOf(seq, this.#c.draw);
    if (rank > this.#c.cursor) return { kind: "waiting", reason: "not_called" };
    if (this.#c.live >= Math.min(this.#config.capacity, this.#config.liveLimit ?? Infinity)) {
      return { kind: "waiting", reason: "full" };
    }

    const batch = this.#store.batchContaining(rank);
    if (batch !== null && batch.outstanding > 0) {
      // Its earmarked token is there: tokens never fall below reservations.
      this.#store.setBatchOutstanding(batch.id, batch.outstanding - 1);
      this.#c.reserved -= 1;
    } else {
      // A late claim: its reservation lapsed. It may take a seat and a token
      // that no reservation holds, and that no call being paced will need.
      if (this.#c.live + this.#c.reserved + this.#pacedAhead(now) >= this.#config.capacity) {
        return { kind: "waiting", reason: "full" };
      }
      if (this.#c.bucket.tokens - this.#c.reserved < 1) return { kind: "waiting", reason: "full" };
    }
    // The admission itself spends the token, so passes issued, not calls,
    // are what the rate bounds.
    this.#c.bucket = { tokens: this.#c.bucket.tokens - 1, at: this.#c.bucket.at };

    const lease: Lease = {
      sid: this.#deps.newId(),
      sub,
      seq,
      grantedAt: now,
      expiresAt: now + this.#timings.passTtlMs,
      leftAt: null,
    };
    this.#store.putLease(lease);
    this.#c.live += 1;
    this.#c.admittedTotal += 1;
    if (arrivedAt !== undefined) this.#c.waits = withWait(this.#c.waits, Math.max(0, now - arrivedAt) / 1000);
    if (this.#c.live > this.#c.peakLive) {
      this.#c.peakLive = this.#c.live;
      this.#c.peakAt = now;
    }
    return { kind: "admitted", lease, fresh: true };
  }
}

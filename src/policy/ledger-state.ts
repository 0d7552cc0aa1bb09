/**
 * What a ledger runs with, what it keeps, and the synchronous store it keeps
 * it in: its config, its counters (the line's tail and cursor, the audience, the rate bucket, the
 * running totals), its leases, the batches of listeners called together, the
 * listeners whose seat has ended, the revoked passes and the arrival bins.
 *
 * Apart from the ledger's rules so that the SQLite store of the Durable
 * Object and the in-memory store of the tests and the simulator depend on the
 * shapes only.
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { AdmissionLimits } from "./config.ts";
import { emptyFlow, type Flow, ratePerSecond } from "./flow.ts";
import type { ClaimOutcome, Lease, SeatEnd } from "./lease.ts";
import { type Bucket, burstOf } from "./rate.ts";
import type { Returns } from "./returns.ts";
import type { Pace } from "./rounds.ts";
import type { Draw } from "./shuffle.ts";

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

/** Listeners called together: seats reserved for them until `expiresAt`. */
export interface CallBatch {
  id: number;
  fromSeq: number;
  toSeq: number;
  expiresAt: number;
  outstanding: number;
}

export interface Counters {
  /** Tail: the last sequence number handed out (0: none yet). A listener's place in line is its number minus the cursor. */
  tail: number;
  /** Cursor: sequence numbers up to this one have been called. */
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
  /** Seats given back and not yet free, by when they come free (returns.ts; absent: none). */
  returns?: Returns;
}

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
  /**
   * Remember that this listener's seat has ended, until `until` (its ticket's
   * lifetime): a spent ticket cannot claim a seat again.
   */
  markSpent(sub: string, until: number): void;
  isSpent(sub: string, now: number): boolean;
  pruneSpent(now: number): void;
  /** Refuse this lease's passes at the edge until `until`, saying why. */
  revoke(sid: string, until: number, reason: "left" | "moved"): void;
  /** Lease ids whose passes are refused at `now`. */
  revokedSids(now: number, limit: number): string[];
  /** Why this lease's passes are refused at `now` (given back, or moved), or null. */
  revocation(sid: string, now: number): "left" | "moved" | null;
  pruneRevoked(now: number): void;
  /** Leases that have ended but still hold their seat, longest ended first. */
  endingLeases(limit: number): Lease[];
  /** How many leases have ended but still hold their seat. */
  endingCount(): number;
  /** Leases holding an origin connection (`originClient` set), live or ended. */
  originLeases(limit: number): Lease[];
  /** Count an arrival with sequence number `seq` in second `bin`. */
  recordArrival(bin: number, seq: number): void;
  /** Arrival bins from second `fromBin` on, oldest first. */
  arrivalBins(fromBin: number): ArrivalBin[];
  /** Forget bins whose every arrival has been called (last seq <= cursor). */
  pruneArrivals(cursor: number): void;
}

/**
 * How often an ended seat whose origin connection is not yet confirmed
 * dropped comes up again at a settle (it keeps its seat meanwhile).
 */
export const ORIGIN_DROP_RECHECK_MS = 5_000;

/** What an origin connection asking for a seat gets (`attachOrigin`). */
export type OriginAttach = { kind: "admitted"; lease: Lease } | { kind: "refused"; reason: SeatEnd | "busy" };

/** The most of its own revoked passes a ledger's view lists (the room's list is the coordinator's). */
export const MAX_OWN_REVOKED = 2_000;

/**
 * One shard's own numbers at a moment (not the room-wide GlobalView the
 * edge answers polls from, which the coordinator builds).
 */
export interface LedgerView {
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

export interface JoinOutcome {
  seq: number;
  claim: ClaimOutcome;
}

export interface LedgerDeps {
  /** A new unguessable lease id. */
  newId(): string;
}

/** The ledger's own numbers at `now` (`Ledger.view`). */
export function ledgerView(config: LedgerConfig, c: Counters, store: LedgerStore, now: number): LedgerView {
  return {
    mode: config.mode,
    capacity: config.capacity,
    admitPerMinute: config.admitPerMinute,
    cursor: c.cursor,
    tail: c.tail,
    live: c.live,
    reserved: c.reserved,
    flowPerSecond: ratePerSecond(c.flow, now),
    revoked: store.revokedSids(now, MAX_OWN_REVOKED),
    at: now,
  };
}

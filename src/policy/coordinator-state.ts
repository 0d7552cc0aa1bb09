/**
 * What the coordinator keeps between syncs, and the store it writes it
 * through: a record per shard (its last report and the last order it was
 * given), the room's core (order version, rate bucket, flows, peaks, origin
 * health), the arrival bins and the revocation list.
 *
 * Kept apart from the coordinator's rules so that the SQLite store of the
 * Durable Object and the in-memory stores of the tests and the simulator
 * depend on the shapes only.
 */
import type { BinStore } from "./arrival-index.ts";
import { emptyFlow, type Flow } from "./flow.ts";
import type { OriginHealth } from "./health.ts";
import type { EdgeArrivals, LivePath, ShardReport } from "./protocol.ts";
import { type Bucket, burstOf } from "./rate.ts";
import type { PublicationStore } from "./revocations.ts";
import type { Returns } from "./returns.ts";
import type { Pace } from "./rounds.ts";

/** The fields of a shard's report that the coordinator keeps as reported. */
type Reported =
  | "shard"
  | "live"
  | "reserved"
  | "cursor"
  | "tail"
  | "admittedTotal"
  | "left"
  | "expired"
  | "abandoned"
  | "completeBefore"
  | "draw"
  | "waits"
  | "overflowed"
  | "solved";

/** What the coordinator knows of a shard: its last report, and what it last ordered. */
export interface ShardRecord extends Pick<ShardReport, Reported> {
  /** The allowance the shard last confirmed having. */
  confirmed: number;
  /** The allowance last ordered. */
  sent: number;
  sentVersion: number;
  /**
   * Through: sequence numbers up to this one the shard has called or been
   * ordered to call (its cursor, plus the calls ordered and not yet made).
   */
  through: number;
  /** How the calls of its last order are spread over time (absent or null: at once). */
  pace?: Pace | null;
  lastSync: number;
  /** Arrivals per second on this shard between its last two syncs. */
  arrivalRate: number;
  /** Ended leases still holding their seat (revocation not yet confirmed), as last reported. */
  ending?: number;
  /**
   * The queue allowance the shard last confirmed having, and the one last
   * ordered (null: no limit; absent: a record from before they were kept).
   */
  queueConfirmed?: number | null;
  queueSent?: number | null;
  /** Arrivals that waited on its last sync for a waiting place. */
  asking?: number;
  /** Seats given back and not free yet, by when they come free, as last reported (absent: none). */
  returns?: Returns;
}

export interface CoordinatorCore {
  /** Bumped with every order: a shard's report says which one it applied. */
  version: number;
  bucket: Bucket;
  calls: Flow;
  arrivals: Flow;
  peakLive: number;
  peakAt: number | null;
  /** The origin's health (absent in records written before it was kept: healthy). */
  health?: OriginHealth;
  /** Arrivals as edges saw them in under-attack mode (absent: none reported yet). */
  edge?: EdgeArrivals;
  /** Admissions per lane (by slot), lately: the flow a lane's listeners wait on (absent: none yet). */
  laneFlows?: Record<number, Flow>;
  /** Seats given back, and leases lapsed or calls never claimed, lately (absent: none yet). */
  leaves?: Flow;
  lapses?: Flow;
  /** The longest a seat given back takes to come free, as shards last reported (ms; absent: none reported). */
  releaseMs?: number;
  /** The room's paths edges saw stream live, newest last (GlobalView `livePaths`; absent: none yet). */
  livePaths?: LivePath[];
}

/** Storage for the coordinator: write-through of its in-memory state. */
export interface CoordinatorStore extends BinStore, PublicationStore {
  loadCore(): CoordinatorCore | null;
  saveCore(core: CoordinatorCore): void;
  loadShards(): ShardRecord[];
  saveShard(record: ShardRecord): void;
}

export function initialCore(now: number, admitPerMinute: number): CoordinatorCore {
  return {
    version: 0,
    bucket: { tokens: burstOf(admitPerMinute), at: now },
    calls: emptyFlow(now),
    arrivals: emptyFlow(now),
    peakLive: 0,
    peakAt: null,
  };
}

/** A shard the coordinator hears from for the first time. */
export function newRecord(shard: number, now: number): ShardRecord {
  return {
    shard,
    confirmed: 0,
    sent: 0,
    sentVersion: 0,
    through: 0,
    live: 0,
    reserved: 0,
    cursor: 0,
    tail: 0,
    admittedTotal: 0,
    left: 0,
    expired: 0,
    abandoned: 0,
    completeBefore: Math.floor(now / 1000),
    lastSync: now,
    arrivalRate: 0,
  };
}

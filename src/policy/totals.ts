/**
 * Room-wide totals for stats (the admin API's stats, the dashboard's
 * history): sums over every shard's last report, and the coordinator's own
 * counts. Apart from the coordinator's rules because nothing in them decides
 * anything. Pure.
 */
import type { ShardRecord } from "./coordinator-state.ts";
import type { EdgeArrivals } from "./protocol.ts";
import { addWaits, noWaits } from "./waits.ts";

/** One line's numbers: the general line's, or a lane's (lanes.ts). */
export interface LineTotals {
  /** `general`, or the lane's name. */
  lane: string;
  live: number;
  waiting: number;
  admittedTotal: number;
  /** Waits of its admitted listeners (waits.ts). */
  waits: number[];
  /** Its rules (general: no reserve, no cap; `strict` and `share` null). */
  reserved: number;
  cap: number | null;
  strict: boolean | null;
  share: number | null;
  /** Its admissions per second over the last minute (general: null, the room's flow is the general line's and the lanes'). */
  admissionsPerSecond: number | null;
}

/** Room-wide totals for stats, as of each shard's last report. */
export interface RoomTotals {
  live: number;
  reserved: number;
  waiting: number;
  joined: number;
  admittedTotal: number;
  left: number;
  expired: number;
  abandoned: number;
  /** Seats whose lease ended (given back, or moving to another device) and that wait for their revocation to be confirmed. */
  ending: number;
  /** Revocations in the room's list now. */
  revocationsListed: number;
  peakLive: number;
  peakAt: number | null;
  /** Seats given out to shards: for each, the larger of its allowance ordered and confirmed. */
  allowance: number;
  shards: number;
  activeShards: number;
  flowPerSecond: number;
  arrivalsPerSecond: number;
  /** The limits in force (below the configured ones while the origin struggles). */
  effectiveCapacity: number;
  effectiveAdmitPerMinute: number;
  /** The origin's health factor (1: healthy) and distress reports received. */
  originFactor: number;
  originDistress: number;
  /** Waits of admitted listeners (waits.ts), all shards. */
  waits: number[];
  overflowed: number;
  /** Arrivals that took a place with a solved challenge (exact), and what edges reported of the rest. */
  solved: number;
  edge: EdgeArrivals;
  /** Per line: the general one first, then the lanes in rank order. */
  lines: LineTotals[];
}

/** The parts of the totals that are sums over the shards. */
export type ShardSums = Pick<
  RoomTotals,
  | "live"
  | "reserved"
  | "waiting"
  | "joined"
  | "admittedTotal"
  | "left"
  | "expired"
  | "abandoned"
  | "ending"
  | "allowance"
  | "waits"
  | "overflowed"
  | "solved"
>;

/** Sum the shards' last reports. */
export function sumShards(records: Iterable<ShardRecord>): ShardSums {
  const t: ShardSums = {
    live: 0,
    reserved: 0,
    waiting: 0,
    joined: 0,
    admittedTotal: 0,
    left: 0,
    expired: 0,
    abandoned: 0,
    ending: 0,
    allowance: 0,
    waits: noWaits(),
    overflowed: 0,
    solved: 0,
  };
  for (const r of records) {
    t.live += r.live;
    t.reserved += r.reserved;
    t.waiting += r.tail - r.cursor;
    t.joined += r.tail;
    t.admittedTotal += r.admittedTotal;
    t.left += r.left;
    t.ending += r.ending ?? 0;
    t.expired += r.expired;
    t.abandoned += r.abandoned;
    t.allowance += Math.max(r.confirmed, r.sent);
    t.waits = addWaits(t.waits, r.waits);
    t.overflowed += r.overflowed ?? 0;
    t.solved += r.solved ?? 0;
  }
  return t;
}

/**
 * What shards, the coordinator and edges say to each other: a shard's report,
 * the coordinator's order in answer, and the room-wide view the order carries
 * and edges answer waiting polls from.
 *
 * These shapes cross Durable Object calls and are cached at the edge, so they
 * are plain data. Kept apart from the coordinator so that a reader of the
 * shard, the edge or the simulator finds the whole exchange in one place.
 *
 * Terms used throughout:
 * - sequence number: a listener's place in its shard's line, 1, 2, 3… in
 *   arrival order; the `tail` is the last one handed out, the `cursor` the
 *   last one called.
 * - allowance: the seats a shard may hold (live + reserved), as ordered by
 *   the coordinator; every shard's together never exceed the room's capacity.
 * - queue allowance: the waiting places (listeners not yet called) a shard
 *   may hold, as ordered by the coordinator; with a `maxQueue`, every
 *   general-line shard's together never exceed it (null: no limit).
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { AdmissionLimits, Branding, OriginKind } from "./config.ts";
import type { IdentityConfig } from "./identity-config.ts";
import type { Returns, SeatSupply } from "./returns.ts";
import type { Pace } from "./rounds.ts";
import type { Draw } from "./shuffle.ts";

/** The longest an edge isolate may answer from a cached room view. */
export const EDGE_VIEW_TTL_MS = 1_000;

/** Most seconds of arrivals the view carries one by one. */
export const MAX_VIEW_SECONDS = 3_600;

/** The most live paths a room's view lists (GlobalView `livePaths`): the oldest noted goes first. */
export const MAX_ROOM_LIVE_PATHS = 32;
/** The longest path a room's view lists (a longer one is not noted: no real mount is near it). */
export const MAX_LIVE_PATH_LENGTH = 512;

/**
 * A path of a room answered with a live stream, and whether that stream was
 * media (audio, video, Ogg) rather than server-sent events: a seat holds one
 * live media connection in the whole room, and one event stream per path.
 */
export interface LivePath {
  path: string;
  media: boolean;
}

/** Is `path` one a room's view may list: a path (no query), of a sane length? */
export function isListablePath(path: unknown): path is string {
  return typeof path === "string" && path.startsWith("/") && path.length <= MAX_LIVE_PATH_LENGTH && !path.includes("?");
}

/** A pass that can no longer be honoured: its lease id and the latest `exp` any of its passes has (ms). */
export interface RevokedPass {
  sid: string;
  until: number;
  /** Its seat moved to another device of the ticket (kept when confirmed), rather than given back (freed). */
  moved?: boolean;
}

/** What a shard tells the coordinator. */
export interface ShardReport {
  shard: number;
  /** Version of the last order this shard applied (0: none yet). */
  appliedVersion: number;
  /** The allowance in force at the shard: the most seats (live + reserved) it may hold. */
  capacity: number;
  /** Seats held by a lease. */
  live: number;
  /** Seats kept for listeners called but not yet claimed. */
  reserved: number;
  /** Cursor: the last sequence number called on this shard. */
  cursor: number;
  /** Tail: the last sequence number handed out on this shard. */
  tail: number;
  /** Running totals: listeners admitted, seats given back (left), leases lapsed (expired), calls never claimed (abandoned). */
  admittedTotal: number;
  left: number;
  expired: number;
  abandoned: number;
  /** Arrival bins from the last acknowledged `completeBefore` on (full counts). */
  bins: ArrivalBin[];
  /** Every arrival before this second is in the bins reported so far. */
  completeBefore: number;
  /** Ended leases still holding their seat, longest ended first: to be listed, then confirmed. */
  ending: RevokedPass[];
  /** How many there are (the list above may be cut short). */
  endingCount?: number;
  /** Seats given back and not free yet, by when they come free (returns.ts; absent: a shard from before it was kept). */
  returns?: Returns;
  /** The longest a seat given back takes to come free (ms). */
  releaseMs?: number;
  /** The prequeue's random order, once drawn at the start (absent or null: none). */
  draw?: Draw | null;
  /** How long its admitted listeners waited (waits.ts), and arrivals it counted as offered the recording. */
  waits?: number[];
  overflowed?: number;
  /** Arrivals that took their place with a solved challenge (under-attack mode). */
  solved?: number;
  /** The queue allowance in force at the shard (null: no limit; absent: a shard from before it was kept, no limit). */
  queue?: number | null;
  /** Arrivals waiting on this sync for a waiting place the queue allowance did not have. */
  asking?: number;
}

/** What the coordinator tells a shard. */
export interface ShardOrder {
  version: number;
  /** The shard's allowance: live + reserved may not exceed it. */
  capacity: number;
  /**
   * The live limit: grant a new lease only while live leases are below this
   * (at most the allowance; lower only while the room's capacity was lowered).
   */
  liveLimit: number;
  /** Call no further than this sequence number; null: as far as the allowance allows. */
  callThrough: number | null;
  /** Spread the calls up to `callThrough` over this window (null: call them at once). */
  pace: Pace | null;
  /**
   * With `callThrough` null (a spare allowance): seat arrivals freely only
   * until this time, the end of the round (the shard's next sync renews it
   * while nobody waits elsewhere); null: no calls beyond `callThrough`.
   */
  openUntil: number | null;
  /** The start (ms), and this shard's seed for the prequeue's draw at the start (null: arrival order). */
  startsAt: number | null;
  shuffleSeed: number | null;
  mode: AdmissionLimits["mode"];
  view: GlobalView;
  /** Ended leases of this shard whose passes no edge can still honour: free their seats. */
  confirmed: string[];
  /** The queue allowance: give a waiting place only while fewer than this many wait here (null: no limit). */
  queue: number | null;
}

/** The room-wide picture an edge answers waiting polls from. */
export interface GlobalView {
  mode: AdmissionLimits["mode"];
  capacity: number;
  admitPerMinute: number;
  /** Shards new arrivals are spread over. */
  shards: number;
  /** What listeners are told, and when they are offered the recording (see ListenerRules). */
  maxWaitSeconds: number | null;
  maxQueue: number | null;
  /** The start (ms), or null. */
  startsAt: number | null;
  recordingUrl: string | null;
  /** How the waiting room looks (operator text: shown as text, never markup). */
  branding: Branding;
  /** Under-attack mode: the proof of work asked of new arrivals (0: none). */
  challengeBits: number;
  /** Who serves admitted listeners (absent: `proxy`, a view from before the field). */
  origin?: OriginKind;
  /** The origin's own name for the room in direct mode (absent or null: the room id). */
  originRoom?: string | null;
  /** The room's live media mounts, paths under `/rooms/<room>/` (config `liveMounts`; absent or null: none named). */
  liveMounts?: string[] | null;
  /** The room's lanes by name, in rank order (absent or empty: none; `remaining` is then the whole room's). */
  lanes?: Record<string, LaneView>;
  /** Only lane listeners are admitted (others are offered the recording or told the room is closed). */
  inviteOnly?: boolean;
  /** How identity tokens are verified and mapped to lanes (absent or null: not read). */
  identity?: IdentityConfig | null;
  /** Per shard: sequence numbers up to this one have been called, or are being called (see `paces`). */
  cursors: Record<number, number>;
  /** Shards calling a batch paced over a window: the cursor at `now` is `pacedThrough(cursors[shard], pace, now)`. */
  paces: Record<number, Pace>;
  /** Shards whose prequeue was drawn in a random order at the start: a sequence number's place is `rankOf(seq, draw)`. */
  draws?: Record<number, Draw>;
  /** General listeners not yet called, per second of arrival, from `binStart` (at most MAX_VIEW_SECONDS). */
  binStart: number;
  remaining: number[];
  /** Arrivals and calls per second lately: over the last minute, or since they started if later. */
  arrivalsPerSecond: number;
  flowPerSecond: number;
  live: number;
  /** How seats come free, for the wait estimate (returns.ts; absent: a view from before it was kept). */
  supply?: SeatSupply;
  /** Lease ids whose passes must be refused: every revocation published up to `asOf` whose passes are unexpired. */
  revoked: string[];
  /**
   * The room's paths some edge saw answered with a live stream (an Icecast
   * mount, an event stream), newest last, at most MAX_ROOM_LIVE_PATHS: every
   * edge holds a request on one as its seat's live connection before the
   * origin is asked (edge/live-paths.ts). Absent: a view from before it was kept.
   */
  livePaths?: LivePath[];
  /** When the per-second counts were taken (ms). */
  at: number;
  /** When the coordinator answered with this view: the revocations are complete as of then (ms). */
  asOf: number;
}

/** A lane as edges see it: where its listeners go, and how its line moves. */
export interface LaneView {
  /** Its shards are numbered from `slot × LANE_BLOCK` (lanes.ts). */
  slot: number;
  shards: number;
  /** Strict priority over the general line (no share). */
  strict: boolean;
  reserved: number;
  cap: number | null;
  /** Its listeners waiting, and holding seats, by the shards' last reports. */
  waiting: number;
  live: number;
  /** Its admissions per second lately. */
  flowPerSecond: number;
}

/** What edges saw of new arrivals in under-attack mode (reported in batches, see arrival-tally.ts). */
export interface EdgeArrivals {
  /** Challenges handed out. */
  challenged: number;
  /** Solutions refused: wrong, expired, forged, for another room, or used before. */
  failed: number;
  /** Joins refused by the per-client limit. */
  limited: number;
}

export function noEdgeArrivals(): EdgeArrivals {
  return { challenged: 0, failed: 0, limited: 0 };
}

/**
 * Lanes: lines of their own inside a room's strict cap, for listeners the
 * deployer's identity token puts there (the hosts and speakers on `stage`,
 * subscribers with `priority`, `invited` guests; the names are the room's).
 *
 * A lane is a set of shards of its own (indices from `LANE_BLOCK × slot`,
 * general listeners keep 0…shards-1), so everything the coordinator does for
 * shards — allowances that never add up past `capacity`, first in first out
 * by arrival second, revocation — holds for lanes unchanged. What lanes add
 * is what the coordinator keeps back from each line when it plans another
 * (`holdsAgainst`):
 *
 * - **reserved** seats are taken from `capacity`, never added to it: other
 *   lanes never get them; the general line gets them only when the lane
 *   lends them (`lend`, the default), and then gives them back as its
 *   listeners leave (never by eviction), because a lane's waiting listeners
 *   get freed seats first up to its reserve;
 * - **strict priority** (no `share`): while the lane has listeners waiting,
 *   freed seats go to them before the general line, and before lanes listed
 *   after it; with a `share` (0.01–0.99) the lane gets that part of the seats
 *   free at each sync while both lines wait;
 * - **cap**: the most seats the lane may hold; its listeners beyond it wait.
 *
 * Lanes start at once: the prequeue before `startsAt` is the general line's
 * (only `hold` mode holds a lane). Pure.
 */
import * as v from "valibot";

/** Shard indices of a lane start at its slot times this (general shards are below MAX_SHARDS ≤ LANE_BLOCK). */
export const LANE_BLOCK = 1024;
/** Most lanes a room may have. */
export const MAX_LANES = 8;
/** Most shards one lane may be spread over. */
export const MAX_LANE_SHARDS = 64;
/** The name of the line everyone else is in (not a lane name). */
export const GENERAL = "general";

export const LANE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const MAX_SEATS = 100_000_000;

function whole(min: number, max: number) {
  return v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

const laneSettings = v.strictObject(
  {
    reserved: v.optional(whole(0, MAX_SEATS), 0),
    cap: v.optional(v.nullable(whole(1, MAX_SEATS)), null),
    share: v.optional(
      v.nullable(
        v.pipe(
          v.number("must be a number or null (strict priority)"),
          v.minValue(0.01, "must be at least 0.01"),
          v.maxValue(0.99, "must be at most 0.99"),
        ),
      ),
      null,
    ),
    lend: v.optional(v.boolean("must be true or false"), true),
    shards: v.optional(whole(1, MAX_LANE_SHARDS), 1),
  },
  "must be an object of reserved, cap, share, lend and shards",
);

/** One lane's rules, defaults filled in. */
export type LaneSettings = v.InferOutput<typeof laneSettings>;
/** A room's lanes by name, in priority order (the first outranks the rest). */
export type Lanes = Record<string, LaneSettings>;

/** The `lanes` config field: null (no lanes), or up to MAX_LANES lanes by name. */
export const LanesSchema = v.nullable(
  v.pipe(
    v.record(
      v.pipe(
        v.string(),
        v.regex(LANE_NAME_PATTERN, "lane names must be 1-32 of a-z, 0-9, '-', starting a-z"),
        v.check((name) => name !== GENERAL, `"${GENERAL}" is the general line, not a lane name`),
      ),
      laneSettings,
      "must be an object of lanes by name, or null",
    ),
    v.check((lanes) => Object.keys(lanes).length <= MAX_LANES, `must have at most ${MAX_LANES} lanes`),
    v.check(
      (lanes) => Object.values(lanes).every((l) => l.cap === null || l.cap >= l.reserved),
      "a lane's cap must be at least its reserved seats",
    ),
  ),
);

/** Every lane's reserved seats, added up. */
export function reservedTotal(lanes: Lanes | null | undefined): number {
  let n = 0;
  for (const l of Object.values(lanes ?? {})) n += l.reserved;
  return n;
}

/** The line (0: general; otherwise a lane's slot) a shard index belongs to. */
export function slotOf(shard: number): number {
  return Math.floor(shard / LANE_BLOCK);
}

/** The shard a listener of a lane (its slot, its shard count) hashes to. */
export function laneShard(slot: number, index: number): number {
  return slot * LANE_BLOCK + index;
}

/**
 * Slots for lane names: a lane keeps its slot as long as the room exists
 * (tickets carry shard indices), a new name takes the next unused one.
 */
export function assignSlots(
  known: Readonly<Record<string, number>>,
  lanes: Lanes | null | undefined,
): Record<string, number> {
  const slots = { ...known };
  let next = Math.max(0, ...Object.values(slots)) + 1;
  for (const name of Object.keys(lanes ?? {})) {
    if (slots[name] === undefined) slots[name] = next++;
  }
  return slots;
}

/** What the coordinator knows of a line right now, summed over its shards. */
export interface LineState {
  /** Seats given out to the line's shards (the larger of ordered and confirmed, each). */
  accounted: number;
  /** Listeners waiting on the line's active shards (not yet called). */
  waiting: number;
  /** Seats held by a lease on the line's shards, as last reported. */
  live: number;
}

/** A lane as the planner sees it: its rules, its rank (0 first) and its state. */
export interface PlannedLane {
  name: string;
  slot: number;
  rank: number;
  settings: LaneSettings;
  state: LineState;
  /**
   * A share lane's seats owed against the general line while both wait: its
   * share of the general line's calls, less what it took beyond its reserve
   * (negative: it is ahead). Absent while either line has nobody waiting.
   */
  owed?: number;
}

/** Seats this lane may still take under its cap (Infinity: no cap). */
export function roomUnderCap(lane: PlannedLane): number {
  return lane.settings.cap === null ? Infinity : Math.max(0, lane.settings.cap - lane.state.accounted);
}

/** Reserved seats of the lane not given out to its shards. */
export function unusedReserve(lane: PlannedLane): number {
  return Math.max(0, lane.settings.reserved - lane.state.accounted);
}

/**
 * A share lane's part of `free` seats, given what it is `owed` (see
 * PlannedLane): the general line gets `(1 - share)` of what is left once the
 * lane is paid, rounded down. With nothing owed this is `ceil(share × free)`;
 * the running balance is what gives the lane its share when seats come free
 * one or two at a time (rounding each sync up alone would give it them all).
 */
export function sharePart(share: number, free: number, owed: number): number {
  if (free <= 0) return 0;
  // The tiny slack keeps float sums like (1 + 1/3) × 0.75 from rounding down a whole seat.
  const general = Math.floor(Math.max(0, free - owed) * (1 - share) + 1e-9);
  return Math.max(0, Math.min(free, free - general));
}

/**
 * The seats the line being planned (`slot`: 0 for general) must leave for
 * other lanes: their unused reserves (the general line may borrow those a
 * lane lends, except what the lane's waiting listeners need), the waiting
 * listeners of strict-priority lanes that outrank it, and a share lane's
 * part of what is free (`free`) while its listeners wait.
 */
export function holdsAgainst(slot: number, lanes: readonly PlannedLane[], free: number): number {
  const me = lanes.find((l) => l.slot === slot);
  let held = 0;
  for (const lane of lanes) {
    if (lane.slot === slot) continue;
    const reserve = unusedReserve(lane);
    const waiting = lane.state.waiting;
    // Lanes never take each other's reserves; the general line borrows lent ones.
    const kept = slot === 0 && lane.settings.lend ? Math.min(waiting, reserve) : reserve;
    let priority = 0;
    const outranks = me === undefined || lane.rank < me.rank;
    if (outranks && waiting > 0) {
      // Against the general line a share lane's balance counts (against a lower lane, its plain share).
      const owed = slot === 0 ? (lane.owed ?? 0) : 0;
      priority = lane.settings.share === null ? waiting : Math.min(waiting, sharePart(lane.settings.share, free, owed));
    }
    held += Math.min(roomUnderCap(lane), Math.max(kept, priority));
  }
  return held;
}

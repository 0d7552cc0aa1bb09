/**
 * A waiting listener's place in a sharded room, estimated at the edge from
 * its signed ticket and the room-wide view (`GlobalView`), with no Durable
 * Object call: the ticket carries the listener's shard, its sequence number
 * on that shard and the time it arrived.
 *
 * - Its turn has come when its sequence number is at or below the shard's
 *   cursor in the view (as paced at that moment: see rounds.ts).
 * - Otherwise those ahead of it are the listeners still waiting from every
 *   earlier second (the view counts them per second of arrival, all shards
 *   together), plus the share of its own second that arrived before it
 *   (`(at % 1000) / 1000` of that second's count). Seconds the view does not
 *   reach yet are counted at the view's arrival rate.
 * - Never fewer than the listeners ahead of it on its own shard.
 * - The estimate is the later of two times, plus the couple of seconds it
 *   takes the listener to notice its turn and claim (NOTICE_SECONDS):
 *   its position divided by the rate calls go at (the measured flow,
 *   listeners called per second lately, while seats are free; the
 *   configured rate once the room is full, or while nothing has flowed
 *   yet), and the time until enough seats have come free for everyone up
 *   to it (the seats free now, then those given back as they come free,
 *   and those the room will give back: returns.ts). Unknown (null) when
 *   nothing flows, when no seat is foreseen to come free for it, or when
 *   the room is not open.
 *
 * Pure; the simulator (sim/) runs this very function to measure how honest
 * the estimate is.
 */
import { calls } from "./config.ts";
import { slotOf } from "./lanes.ts";
import { EDGE_VIEW_TTL_MS, type GlobalView, type LaneView } from "./protocol.ts";
import { secondsUntilSeats } from "./returns.ts";
import { pacedThrough, SYNC_INTERVAL_MS } from "./rounds.ts";
import { type Draw, rankOf } from "./shuffle.ts";

/** What a queue ticket says about its holder's place. */
export interface TicketPlace {
  shard: number;
  /** Sequence number on its shard. */
  seq: number;
  /** Arrival (ms since the epoch). */
  at: number;
}

export interface PlaceEstimate {
  /** 1-based place among those still waiting; null when the turn has come. */
  position: number | null;
  /** Listeners ahead; null when the turn has come. */
  ahead: number | null;
  /** Seconds until it holds a seat (not rounded); 0 when its turn has come; null when unknown. */
  etaSeconds: number | null;
}

/** Running sums of `view.remaining`, computed once per view (views are immutable). */
const prefixes = new WeakMap<GlobalView, Float64Array>();

function prefixOf(view: GlobalView): Float64Array {
  let prefix = prefixes.get(view);
  if (prefix === undefined) {
    prefix = new Float64Array(view.remaining.length + 1);
    for (let i = 0; i < view.remaining.length; i++) prefix[i + 1] = prefix[i]! + (view.remaining[i] ?? 0);
    prefixes.set(view, prefix);
  }
  return prefix;
}

/** Listeners ahead of a ticket that has not been called, by the view. */
export function aheadOf(ticket: TicketPlace, view: GlobalView): number {
  const second = Math.floor(ticket.at / 1000);
  const fraction = (ticket.at - second * 1000) / 1000;
  const index = second - view.binStart;
  const known = view.remaining.length;
  if (index < 0) return 0;
  let ahead = prefixOf(view)[Math.min(index, known)]!;
  if (index > known) ahead += (index - known) * view.arrivalsPerSecond;
  const own = index < known ? (view.remaining[index] ?? 0) : view.arrivalsPerSecond;
  ahead += fraction * own;
  return Math.max(0, Math.round(ahead));
}

/**
 * From a call to the listener holding its seat: the edge learns of the call
 * through a shard's copy of the view (refreshed at that shard's sync, about
 * once a second) and its own cached copy (up to EDGE_VIEW_TTL_MS old), and
 * the listener claims at its next poll (every 2 s or so near the front):
 * about two seconds in all, measured by the simulator.
 */
export const NOTICE_SECONDS = (SYNC_INTERVAL_MS + EDGE_VIEW_TTL_MS) / 1000;

/** How far `shard` has called at `now`, by the view (its batch paced over the round, see rounds.ts). */
export function calledThrough(view: GlobalView, shard: number, now: number): number {
  return pacedThrough(view.cursors[shard] ?? 0, view.paces?.[shard], now);
}

/** Position and estimate of a ticket's holder at `now`, from the view alone. */
export function estimatePlace(ticket: TicketPlace, view: GlobalView, now: number): PlaceEstimate {
  const cursor = calledThrough(view, ticket.shard, now);
  const draw = view.draws?.[ticket.shard];
  const rank = rankOf(ticket.seq, draw);
  if (rank <= cursor) return { position: null, ahead: null, etaSeconds: 0 };
  // Those ahead on its own shard are known exactly: that is the answer when
  // the room has one shard, and a floor for the estimate otherwise.
  const local = rank - cursor - 1;
  const slot = slotOf(ticket.shard);
  if (slot !== 0) {
    // A lane's line: its own shards, its own flow.
    const lane = laneAt(view, slot);
    const ahead = lane === null || lane.shards <= 1 ? local : local * lane.shards;
    return { position: ahead + 1, ahead, etaSeconds: lane === null ? null : laneEta(ahead + 1, lane, view) };
  }
  const single = view.shards <= 1;
  const ahead = single ? local : Math.max(aheadOf(placeInDraw(ticket, rank, draw, view), view), local);
  const position = ahead + 1;
  return { position, ahead, etaSeconds: etaAt(position, view, now) };
}

/**
 * A drawn prequeue counts as one second, just before the start; a listener's
 * place in it is its rank's share of the draw.
 */
function placeInDraw(ticket: TicketPlace, rank: number, draw: Draw | undefined, view: GlobalView): TicketPlace {
  if (draw === undefined || rank <= draw.from || rank > draw.to || view.startsAt === null) return ticket;
  const second = Math.floor(view.startsAt / 1000) - 1;
  const share = (rank - draw.from - 1) / (draw.to - draw.from);
  return { ...ticket, at: second * 1000 + Math.floor(999 * share) };
}

/**
 * Seconds until the general listener at `position` holds a seat, by the
 * view at `now`; null when nothing flows, no seat is foreseen for it or
 * nobody is admitted. Listeners waiting in lanes with strict priority go
 * first, so they count as ahead of it.
 */
export function etaAt(position: number, view: GlobalView, now: number): number | null {
  if (!calls(view.mode)) return null;
  const before = position + priorityAhead(view);
  const supply = view.supply;
  if (supply === undefined) {
    // A view from before the room counted seats coming free: the flow alone.
    let perSecond = view.flowPerSecond;
    if (perSecond <= 0 && view.live < view.capacity) perSecond = view.admitPerMinute / 60;
    return perSecond > 0 ? before / perSecond + NOTICE_SECONDS : null;
  }
  const free = view.capacity - view.live - supply.reserved;
  // While seats are free the flow is the pace of calls; once the room is
  // full it is only the pace of seats coming free (counted below), and the
  // rate is what calls could go at. Nothing flowed lately: the rate too.
  let perSecond = free > 0 ? view.flowPerSecond : Math.max(view.flowPerSecond, view.admitPerMinute / 60);
  if (perSecond <= 0) perSecond = view.admitPerMinute / 60;
  const seats = secondsUntilSeats(supply, before - free, now);
  return perSecond > 0 && seats !== null ? Math.max(before / perSecond, seats) + NOTICE_SECONDS : null;
}

/** Listeners waiting in lanes with strict priority over the general line. */
export function priorityAhead(view: GlobalView): number {
  // Most rooms have no lanes: nothing to make for them, on a path every waiting poll takes.
  if (view.lanes === undefined) return 0;
  let n = 0;
  // A key loop, not Object.values: no array made a poll.
  for (const name in view.lanes) {
    const lane = view.lanes[name]!;
    if (lane.strict) n += lane.waiting;
  }
  return n;
}

/** The lane whose shards are numbered from `slot`, by the view; null when the room no longer has it. */
export function laneAt(view: GlobalView, slot: number): LaneView | null {
  if (view.lanes === undefined) return null;
  for (const lane of Object.values(view.lanes)) if (lane.slot === slot) return lane;
  return null;
}

/** Seconds until a lane's listener at `position` holds a seat: by the lane's own flow (or the rate, before it flows). */
function laneEta(position: number, lane: LaneView, view: GlobalView): number | null {
  let perSecond = lane.flowPerSecond;
  if (perSecond <= 0 && view.live < view.capacity) perSecond = view.admitPerMinute / 60;
  return view.mode !== "hold" && view.mode !== "closed" && perSecond > 0 ? position / perSecond + NOTICE_SECONDS : null;
}

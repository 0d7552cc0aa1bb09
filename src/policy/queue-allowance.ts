/**
 * Queue allowances: how the coordinator keeps `maxQueue` strict across the
 * shards of the general line, the way allowances keep the seat cap.
 *
 * A shard gives a waiting place (an arrival not called at once) only while
 * fewer than its queue allowance wait there (shard.ts). The coordinator
 * counts every shard at what it may hold (`queueHeld`): the larger of the
 * allowance it last ordered and the one the shard last confirmed — an order
 * may be lost, a lowering not yet in force — and never less than the
 * listeners it last reported waiting (a lowering takes nobody's place). It
 * orders no shard beyond what `maxQueue` leaves after every other shard's
 * count, so one shard's allowance grows only once the lowering of another's
 * is confirmed, and places given under the allowances never take the line
 * past `maxQueue`, however a burst is spread or syncs are ordered.
 *
 * A quiet shard (nothing waiting, nothing arriving, no join asking) gets
 * none, so an idle shard holds nothing and stops syncing; its next arrival
 * that would wait asks for room in a sync of its own. Lanes, and rooms
 * without `maxQueue`, have no limit (null). Pure.
 */
import type { ShardRecord } from "./coordinator-state.ts";

/** Listeners waiting on a shard (not yet called), by its last report. */
function waitingOf(r: ShardRecord): number {
  return Math.max(0, r.tail - r.cursor);
}

/** A shard's weight in sharing out the free places: one, plus its arrivals per second and its asking joins. */
function weightOf(r: ShardRecord): number {
  return 1 + r.arrivalRate + (r.asking ?? 0);
}

/**
 * The most waiting places a shard may hold, as the coordinator counts it
 * (null: no limit). A record from before allowances were kept counts what it reported.
 */
function queueHeld(r: ShardRecord): number | null {
  let held = waitingOf(r);
  for (const q of [r.queueSent, r.queueConfirmed]) {
    if (q === null) return null;
    if (q !== undefined) held = Math.max(held, q);
  }
  return held;
}

/** Waiting places counted as given out over a line's shards (null: no limit). */
export function queueAccounted(line: Iterable<ShardRecord>): number | null {
  let n = 0;
  for (const r of line) {
    const held = queueHeld(r);
    if (held === null) return null;
    n += held;
  }
  return n;
}

/**
 * The queue allowance for general-line shard `rec` at its sync (`line`: the
 * line's shards, `rec` among them; `shards`: how many the room spreads
 * arrivals over): none when quiet; no limit without `maxQueue`; else the
 * listeners it has waiting plus its part of the places still free
 * room-wide (by weight; shards not heard from yet count one each), never
 * beyond `maxQueue` less what every other shard may hold.
 */
export function queueGrant(
  rec: ShardRecord,
  line: Iterable<ShardRecord>,
  maxQueue: number | null,
  shards: number,
  quiet: boolean,
): number | null {
  if (quiet) return 0;
  if (maxQueue === null) return null;
  const own = waitingOf(rec);
  let others = 0;
  let waiting = own;
  let weights = weightOf(rec);
  let heard = 1;
  for (const r of line) {
    if (r.shard === rec.shard) continue;
    const held = queueHeld(r);
    if (held === null) return 0;
    others += held;
    waiting += waitingOf(r);
    weights += weightOf(r);
    heard += 1;
  }
  const room = maxQueue - others;
  if (room <= 0) return 0;
  weights += Math.max(0, shards - heard);
  const part = Math.ceil((Math.max(0, maxQueue - waiting) * weightOf(rec)) / weights);
  return Math.min(room, own + part);
}

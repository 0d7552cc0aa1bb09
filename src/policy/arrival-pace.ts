/**
 * Pacing a batch of calls by arrival (see rounds.ts): the points of a
 * shard's pace, so that over the round's window every shard calls its
 * listeners in step with the moment they arrived, from the oldest listener
 * of the line not called when the round began.
 *
 * A moment of arrival is known to the second (the bins, arrivals.ts); within
 * a second, a bin's listeners are taken as evenly spread over it. Pure.
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { ShardRecord } from "./coordinator-state.ts";
import { isActive } from "./plan.ts";
import { MAX_PACE_STEPS, type Pace, roundStart, SYNC_INTERVAL_MS } from "./rounds.ts";

/** When listener `seq` arrived, in seconds (its bin's second and its share of it); null when no bin holds it. */
export function arrivalPoint(bins: readonly ArrivalBin[], seq: number): number | null {
  return momentOf(bins, seq, 0);
}

/** The moment just after listener `seq` arrived (the end of its share of its second); null when no bin holds it. */
export function arrivalEnd(bins: readonly ArrivalBin[], seq: number): number | null {
  return momentOf(bins, seq, 1);
}

function momentOf(bins: readonly ArrivalBin[], seq: number, after: 0 | 1): number | null {
  for (const b of bins) {
    if (seq >= b.firstSeq && seq < b.firstSeq + b.count) return b.bin + (seq - b.firstSeq + after) / b.count;
  }
  return null;
}

/**
 * The oldest moment of arrival, over the active shards of a line, of the
 * listener after the sequence number `after` gives for each (null: leave
 * that shard out); null when there is none.
 */
function oldestAfter(
  shards: ReadonlyMap<number, ShardRecord>,
  binsOf: (shard: number) => readonly ArrivalBin[],
  after: (r: ShardRecord) => number | null,
): number | null {
  let oldest: number | null = null;
  for (const r of shards.values()) {
    const from = after(r);
    if (from === null || from >= r.tail) continue;
    const at = arrivalPoint(binsOf(r.shard), from + 1);
    if (at !== null && (oldest === null || at < oldest)) oldest = at;
  }
  return oldest;
}

/**
 * The oldest moment of arrival of a listener of these shards (a line) that
 * was not called when the round of `now` began: a shard ordered in this
 * round counts from where its paced batch started, any other from how far
 * it has called or been ordered to (`cursor` for the syncing shard `self`).
 * Null when nobody waits. Every sync of a round finds the same moment as
 * long as no arrival older than it is reported meanwhile.
 */
export function oldestWaiting(
  shards: ReadonlyMap<number, ShardRecord>,
  binsOf: (shard: number) => readonly ArrivalBin[],
  self: number,
  cursor: number,
  now: number,
): number | null {
  const round = roundStart(now);
  return oldestAfter(shards, binsOf, (r) => {
    if (r.shard !== self && !isActive(r, now)) return null;
    if (r.pace !== undefined && r.pace !== null && r.pace.end > round) return r.pace.from;
    return r.shard === self ? cursor : r.through;
  });
}

/**
 * The pace of a batch from `cursor` to `through` on a shard with these bins,
 * over `window`: the window runs through the moments of arrival from
 * `oldest` to `until` (by default the end of the batch's last listener), and
 * the shard calls each listener as the window reaches the moment it arrived
 * (any who arrived after `until` as the window ends). Without bins for the
 * batch, an even pace by count.
 */
export function paceByArrival(
  bins: readonly ArrivalBin[],
  cursor: number,
  through: number,
  oldest: number | null,
  window: { start: number; end: number },
  until: number | null = null,
  maxSteps = MAX_PACE_STEPS,
): Pace {
  const even: Pace = { from: cursor, ...window };
  const first = arrivalPoint(bins, cursor + 1);
  const last = arrivalEnd(bins, through);
  if (first === null || last === null) return even;
  const from = oldest === null ? first : Math.min(oldest, first);
  const span = (until ?? last) - from;
  if (!(span > 0)) return even;
  // The points (moment of arrival, called through): where the batch starts,
  // where each second it spans begins and ends, and where it ends when the
  // window runs on past it.
  const points: [number, number][] = [[first, cursor]];
  for (const b of bins) {
    const end = b.firstSeq + b.count - 1;
    if (b.firstSeq > cursor + 1 && b.firstSeq <= through) points.push([b.bin, b.firstSeq - 1]);
    if (end > cursor && end < through) points.push([b.bin + 1, end]);
  }
  if (until !== null && until > last) points.push([last, through]);
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const length = window.end - window.start;
  let steps: [number, number][] = [];
  for (const [at, calledThrough] of points) {
    const dt = Math.round(((at - from) / span) * length);
    const dq = calledThrough - cursor;
    if (dt <= 0 && dq <= 0) continue;
    if (dt >= length) break;
    const prev = steps[steps.length - 1];
    if (prev !== undefined && prev[0] === dt) prev[1] = Math.max(prev[1], dq);
    else if (prev === undefined || dq >= prev[1]) steps.push([dt, dq]);
  }
  if (steps.length > maxSteps) steps = onGrid(steps, through - cursor, length, maxSteps);
  return steps.length === 0 ? even : { ...even, steps: steps.flat(), arrival: { from, until: from + span } };
}

/**
 * The pace a shard calls its batch by: its order's, made again from the
 * shard's own arrival bins with a point at every second the batch spans.
 * Between the order's few points a shard calls by count, so two shards
 * draining many seconds of arrivals in one window pass each other's
 * listeners by up to the seconds between points; at every second they
 * call in step. The order's pace as it is when it carries no moments of
 * arrival or the bins do not hold the batch.
 */
export function fullPace(bins: readonly ArrivalBin[], pace: Pace, through: number | null): Pace {
  if (pace.arrival === undefined || through === null || through <= pace.from) return pace;
  const window = { start: pace.start, end: pace.end };
  const full = paceByArrival(bins, pace.from, through, pace.arrival.from, window, pace.arrival.until, Infinity);
  return full.steps === undefined ? pace : full;
}

/**
 * A pace of more than `count` points, kept at `count` moments evenly over
 * the window: the same moments for every shard's batch, so
 * shards that call listeners who arrived at the same moment still do so
 * together where the points between are dropped. Each kept point is where
 * the full pace has called through at that moment.
 */
function onGrid(steps: [number, number][], batch: number, length: number, count: number): [number, number][] {
  const grid: [number, number][] = [];
  let i = 0;
  let t0 = 0;
  let q0 = 0;
  for (let k = 1; k <= count; k++) {
    const dt = Math.round((k * length) / (count + 1));
    while (i < steps.length && steps[i]![0] <= dt) [t0, q0] = steps[i++]!;
    const [t1, q1] = i < steps.length ? steps[i]! : [length, batch];
    const dq = q0 + Math.floor(((q1 - q0) * (dt - t0)) / Math.max(1, t1 - t0));
    grid.push([dt, dq]);
  }
  return grid;
}

/**
 * A batch that pacing protects nobody from: the last of its line's listeners
 * not ordered yet (`finishesLine`), all of them arrived in the second of the
 * oldest listener still waiting (`oldest`). Called at once, nobody is called
 * ahead of anyone who arrived a second or more earlier.
 */
export function callAtOnce(
  bins: readonly ArrivalBin[],
  through: number,
  oldest: number | null,
  finishesLine: boolean,
): boolean {
  const last = arrivalEnd(bins, through);
  return finishesLine && oldest !== null && last !== null && Math.ceil(last) - 1 <= Math.floor(oldest);
}

/**
 * The oldest moment of arrival of a listener left waiting by this round's
 * orders, on the shards of the line (other than `self`) that have had their
 * order of the round of `now`; null when none is left waiting.
 */
export function oldestLeftBehind(
  shards: ReadonlyMap<number, ShardRecord>,
  binsOf: (shard: number) => readonly ArrivalBin[],
  self: number,
  now: number,
): number | null {
  const round = roundStart(now);
  return oldestAfter(shards, binsOf, (r) =>
    r.shard === self || r.lastSync < round || !isActive(r, now) ? null : r.through,
  );
}

/**
 * The last of a shard's listeners that arrived before `limit` (seconds):
 * the last whose share of its second ends by then, since any of that share
 * may be the moment it came. `from` when none after it did.
 */
export function lastArrivedBefore(bins: readonly ArrivalBin[], from: number, limit: number): number {
  let last = from;
  for (const b of bins) {
    // A millionth of a share over: seconds since 1970 carry rounding errors that size.
    const n = Math.min(b.count, Math.max(0, Math.floor((limit - b.bin) * b.count + 1e-6)));
    if (n > 0) last = Math.max(last, b.firstSeq + n - 1);
  }
  return last;
}

/**
 * How far a line's paced batches reach in one round: from the oldest
 * listener waiting when the round began (`from`) to the end of the furthest
 * batch ordered so far (`reach`), both moments of arrival in seconds.
 */
export interface LineReach {
  round: number;
  from: number;
  reach: number;
  /** How far the round just before reached past its own `from` (seconds); null when it paced nothing. */
  lastSpan: number | null;
}

/**
 * A line's reach for the round of `now`: `known` while it is this round's,
 * else a new one that remembers the span of the round just before. The
 * first shards to sync in a round cannot know how far the round's later
 * orders will reach; pacing to that span (`expectedUntil`) makes them call
 * a listener when the later ones call theirs of the same moment.
 */
export function lineReach(known: LineReach | undefined, now: number, from: number): LineReach {
  const round = roundStart(now);
  if (known !== undefined && known.round === round) return known;
  const last = known !== undefined && known.round === round - SYNC_INTERVAL_MS ? known.reach - known.from : 0;
  return { round, from, reach: from, lastSpan: last > 0 ? last : null };
}

/** The moment a round's batches are expected to reach: its start plus the span of the round before, or null. */
export function expectedUntil(reach: LineReach): number | null {
  return reach.lastSpan === null ? null : reach.from + reach.lastSpan;
}

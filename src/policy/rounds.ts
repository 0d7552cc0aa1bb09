/**
 * Sync rounds and paced calls. Pure.
 *
 * Rounds: shards sync in rounds aligned to the clock. A sync is due once a
 * new round (a whole SYNC_INTERVAL_MS of wall time) has begun since the
 * last one, and a busy shard's alarm is set for the start of the next
 * round, so every shard hears the coordinator's walk within a network round
 * trip of the others.
 *
 * Paced calls: at a round the coordinator may let every shard call a few
 * seconds' worth of arrivals at once (a room drains faster than it filled).
 * Shards hear their orders at slightly different moments, so calling a
 * batch the moment it arrives would call one shard's younger listeners
 * while another shard's older ones still wait for their order. So a shard
 * calls its batch over a window that is the same for every order of a
 * round: from PACE_DELAY_MS after the round starts (by then every shard has
 * its order) to the start of the next round. Every shard walks through the
 * same seconds of arrival together, on the clock, and the edge
 * computes the same paced cursor from the view without asking anyone.
 *
 * A batch is paced by arrival, not by count: its `steps` say how far the
 * shard has called at points of the window, so that at any moment every
 * shard has called its listeners up to the same moment of arrival (within a
 * second, arrivals are taken as evenly spread). A shard whose batch starts
 * later in arrival than another's waits until the window reaches it, and one
 * left behind calls its older listeners first. Without steps, a batch is
 * paced evenly by count.
 */

/** Shards sync this often while they have anything to do. */
export const SYNC_INTERVAL_MS = 1_000;

/** When the round holding `now` began. */
export function roundStart(now: number): number {
  return Math.floor(now / SYNC_INTERVAL_MS) * SYNC_INTERVAL_MS;
}

/** A sync is due: a new round has begun since the last one. */
export function syncDue(lastSync: number, now: number): boolean {
  return Math.floor(now / SYNC_INTERVAL_MS) > Math.floor(lastSync / SYNC_INTERVAL_MS);
}

/** When a busy shard should next sync: the start of the round after its last sync (now if that has passed). */
export function nextSyncAt(lastSync: number, now: number): number {
  return Math.max(now, (Math.floor(lastSync / SYNC_INTERVAL_MS) + 1) * SYNC_INTERVAL_MS);
}

/** Calls of a round start this long after it begins: long enough for every shard's order to arrive. */
export const PACE_DELAY_MS = 200;
/** While a batch is being paced, a shard wakes at least this often to go on calling (see paceStepMs). */
export const PACE_STEP_MS = 100;

/**
 * A batch of calls spread over a window: from cursor `from` at `start` to the
 * ordered cursor at `end` (ms). `steps` (absent: none) are the points in
 * between, as pairs `ms after start, calls after from` one after the other,
 * both ascending; the cursor moves evenly from one point to the next.
 */
export interface Pace {
  from: number;
  start: number;
  end: number;
  steps?: number[];
  /**
   * The moments of arrival (seconds) the window runs through, when the pace
   * was made from the shard's arrival bins: the shard makes its own pace
   * again from them with a point at every second (arrival-pace.ts
   * `fullPace`); the steps, at most MAX_PACE_STEPS, are what edges read.
   */
  arrival?: { from: number; until: number };
}

/** Most points a paced batch carries (every shard's pace is in the view edges read). */
export const MAX_PACE_STEPS = 8;

/** The pacing window of an order given at `now`: the rest of its round, after PACE_DELAY_MS. */
export function paceWindow(now: number): { start: number; end: number } {
  const round = roundStart(now);
  return { start: round + PACE_DELAY_MS, end: round + SYNC_INTERVAL_MS };
}

/** How far a shard ordered to call through `through` may have called at `now` (never behind `pace.from`). */
export function pacedThrough(through: number, pace: Pace | null | undefined, now: number): number {
  if (pace === null || pace === undefined || now >= pace.end || through <= pace.from) return through;
  if (now <= pace.start) return pace.from;
  let t0 = pace.start;
  let q0 = pace.from;
  const steps = pace.steps ?? [];
  for (let i = 0; i + 1 < steps.length; i += 2) {
    const t1 = pace.start + steps[i]!;
    const q1 = Math.min(through, pace.from + steps[i + 1]!);
    if (now < t1) return q0 + Math.floor(((q1 - q0) * (now - t0)) / Math.max(1, t1 - t0));
    t0 = t1;
    q0 = q1;
  }
  return q0 + Math.floor(((through - q0) * (now - t0)) / Math.max(1, pace.end - t0));
}

/**
 * At most this many seconds of arrival go by between two wakes of a shard
 * pacing a batch: one that drains many seconds of arrivals in a window wakes
 * more often than every PACE_STEP_MS, or shards that wake at other moments
 * would call listeners seconds apart in arrival.
 */
export const MAX_SECONDS_PER_STEP = 0.25;
/** The shortest wait between two wakes of a shard pacing a batch. */
export const MIN_PACE_STEP_MS = 10;

/** How long a shard pacing this batch waits between wakes. */
export function paceStepMs(pace: Pace): number {
  const arrival = pace.arrival;
  if (arrival === undefined) return PACE_STEP_MS;
  const secondsPerMs = (arrival.until - arrival.from) / Math.max(1, pace.end - pace.start);
  if (secondsPerMs * PACE_STEP_MS <= MAX_SECONDS_PER_STEP) return PACE_STEP_MS;
  return Math.max(MIN_PACE_STEP_MS, Math.floor(MAX_SECONDS_PER_STEP / secondsPerMs));
}

/** When a paced batch should next call more, or null when it has nothing left to pace. */
export function nextPaceStep(through: number, pace: Pace | null | undefined, now: number): number | null {
  if (pace === null || pace === undefined || through <= pace.from || now >= pace.end) return null;
  return Math.min(pace.end, Math.max(pace.start, now + paceStepMs(pace)));
}

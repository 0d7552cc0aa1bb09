/**
 * When a waiting listener should ask again (the place and the estimate come
 * from ./estimate.ts).
 *
 * Every poll is a Worker request, so polls are spent where the answer
 * changes: a listener polls again after a fixed share of the time it is
 * expected to wait (ETA_SHARE of its estimate), so the number of polls grows
 * with the logarithm of the wait, not with the wait; far from the front
 * that is a few polls a minute, near it every couple of seconds.
 *
 * Two bounds keep that safe when the estimate is wrong (it extrapolates the
 * recent flow and the seats foreseen to come free, and seats can come back
 * in a lump):
 * - the step of its position (short near the front, at most MAX_POLL_SECONDS
 *   far back): a listener a few places from the front keeps asking every
 *   couple of seconds even when the flow has stalled and the estimate is an
 *   hour, so it notices its turn long before its claim window (30 s by
 *   default) runs out;
 * - MIN_POLL_SECONDS: never faster, however close the estimate.
 * ±JITTER around the result, so that listeners who joined together do not
 * poll together.
 */

/**
 * Share of the estimated wait after which a listener asks again. Each poll
 * costs a Worker request and each share of the wait the screen lags costs
 * honesty: 2/3 took 28 % fewer polls in the 8M simulation but left the
 * position on screen p90 0.69 out of date instead of 0.55 and slowed the
 * mass-leave refill by 5 s (sim/staleness.ts), for 4 % of the cost; so 1/2
 * at first. Once the estimate counted the seats coming free it grew for
 * those who join late, so at 1/2 they polled less and their screens lagged
 * more (p90 0.549 → 0.566); 0.45 keeps them fresher than before (0.527) for
 * $4.75 per million listeners instead of $4.59.
 */
export const ETA_SHARE = 0.45;
/** Fewest seconds between polls (before jitter). */
export const MIN_POLL_SECONDS = 2;
/** Most seconds between polls (before jitter), far back in the line. */
export const MAX_POLL_SECONDS = 30;
/** Polls are spread ±this share around the rule's value. */
export const JITTER = 0.2;

/** The longest wait before the next poll for a listener at `position`, whatever its estimate. */
export function positionStep(position: number): number {
  return position <= 5 ? 2 : position <= 50 ? 4 : position <= 500 ? 8 : position <= 5_000 ? 15 : MAX_POLL_SECONDS;
}

/**
 * Seconds until the next poll (a whole number, at least 1; sent as
 * `Retry-After` too): ETA_SHARE of the estimate, no longer than the
 * position's step and no shorter than MIN_POLL_SECONDS, jittered by ±JITTER.
 * Without an estimate, the position's step; without a position, as at the
 * front of the line.
 */
export function pollAfterSeconds(position: number | null, eta: number | null, random: () => number): number {
  const step = positionStep(position ?? 1);
  const base = eta === null ? step : Math.min(step, Math.max(MIN_POLL_SECONDS, ETA_SHARE * eta));
  const jittered = base * (1 - JITTER + 2 * JITTER * random());
  return Math.max(1, Math.round(jittered));
}

/**
 * The waiting page's rules, as pure functions: how an estimate becomes an
 * honest range, when a change of place is worth announcing, and how far a
 * listener has come. The page's script (./browser/page.ts) imports the same
 * functions, so the page says the same before and after its script runs.
 */

/** The spread around an estimate: the flow it divides by moves, so the page shows from −20 % to +25 % of it. */
export const RANGE_LOW = 0.8;
export const RANGE_HIGH = 1.25;

/** How an estimate reads. */
export type EtaRange =
  { kind: "unknown" } | { kind: "soon" } | { kind: "range"; unit: "minute" | "hour"; low: number; high: number };

/** Round `value` to a multiple of `step`, down or up, but never below one step. */
function toStep(value: number, step: number, up: boolean): number {
  const n = up ? Math.ceil(value / step) : Math.floor(value / step);
  return Math.max(step, n * step);
}

/**
 * An estimate in seconds as a range a listener can trust: from 80 % to 125 %
 * of it (the flow of the last minute is a measurement, not a promise),
 * rounded outwards, so the range always contains the estimate:
 * - unknown when nothing says when the line will move (`null`);
 * - "less than a minute" under 60 s;
 * - whole minutes while the high end is under 20 minutes ("about 4–7 minutes");
 * - multiples of 5 minutes while it is under 2 hours ("about 40–65 minutes");
 * - whole hours beyond ("about 2–4 hours").
 * The two ends always differ by at least one step.
 */
export function etaRange(seconds: number | null): EtaRange {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return { kind: "unknown" };
  if (seconds < 60) return { kind: "soon" };
  const lowMin = (seconds * RANGE_LOW) / 60;
  const highMin = (seconds * RANGE_HIGH) / 60;
  if (highMin >= 120) {
    const low = toStep(lowMin / 60, 1, false);
    return { kind: "range", unit: "hour", low, high: Math.max(low + 1, toStep(highMin / 60, 1, true)) };
  }
  const step = highMin >= 20 ? 5 : 1;
  const low = toStep(lowMin, step, false);
  return { kind: "range", unit: "minute", low, high: Math.max(low + step, toStep(highMin, step, true)) };
}

/** The last place announced to screen readers, and when. */
export interface Announced {
  position: number;
  at: number;
}

/** Never announce more often than this, unless the listener is near the front. */
export const ANNOUNCE_INTERVAL_MS = 60_000;
/** From this place forward every step is announced: the listener is about to go in. */
export const ANNOUNCE_NEAR = 5;

/** The round numbers that matter at a place: every place up to 10, tens to 100, hundreds to 1,000, thousands beyond. */
function milestoneStep(position: number): number {
  return position <= 10 ? 1 : position <= 100 ? 10 : position <= 1000 ? 100 : 1000;
}

/**
 * Should the polite live region say the new place? Only when it changed
 * meaningfully, so a screen reader is not talked over on every poll:
 * - only moves forward are announced (a place that grows back by a step is
 *   the view catching up, not news);
 * - within the first 5 places, every step;
 * - otherwise at most once a minute, and only when the place crossed a round
 *   number (a multiple of 10 below 100, of 100 below 1,000, of 1,000
 *   beyond) or fell by 20 % or more since the last announcement.
 */
export function shouldAnnounce(last: Announced, position: number, now: number): boolean {
  if (position >= last.position) return false;
  if (position <= ANNOUNCE_NEAR) return true;
  if (now - last.at < ANNOUNCE_INTERVAL_MS) return false;
  const step = milestoneStep(position);
  const crossed = Math.floor((last.position - 1) / step) > Math.floor((position - 1) / step);
  return crossed || position <= last.position * 0.8;
}

/**
 * How far a listener has come, 0 to 1: the share of the places in front of
 * where it first stood that it has passed (`first` is the first place this
 * tab saw). Standing at the front of a line first seen at place 10 is 0.9:
 * nine of those ten places are behind it.
 */
export function progressShare(first: number, position: number): number {
  if (!(first > 0) || !(position > 0) || position >= first) return 0;
  return (first - position) / first;
}

/**
 * How long a page script waits before it asks again after a failure (a
 * network error, a 5xx, a 429), as pure functions shared by the waiting
 * page's poll and the challenge page's join:
 * - exponential backoff with full jitter: after the n-th failure in a row, a
 *   wait drawn uniformly from 0 to min(cap, base × 2^n), so that thousands
 *   of tabs that failed together (an edge restart, a flood) do not come back
 *   together;
 * - a `Retry-After` the server sent is a floor: never ask earlier than it
 *   says (plus up to 20 % of it, so tabs told the same still drift apart),
 *   and never believe more than ten minutes of it;
 * - the count of failures is reset by the caller on the first success.
 *
 * The page scripts (./browser/page.ts, ../challenge/browser/page.ts) import
 * these, and ../build.ts bundles them in.
 */

/** Highest wait drawn by the exponential part, in seconds. */
export const BACKOFF_CAP_SECONDS = 60;
/** Highest `Retry-After` honoured, in seconds (a larger one is read as this). */
export const MAX_RETRY_AFTER_SECONDS = 600;
/** Share of a `Retry-After` added at random on top of it. */
export const RETRY_AFTER_JITTER = 0.2;

/**
 * Seconds to wait after `failures` failures in a row (1 for the first),
 * growing from `baseSeconds`; `retryAfter` is the server's `Retry-After` in
 * seconds, or null. `random` is `Math.random` in the page, injectable here.
 */
export function backoffSeconds(
  failures: number,
  baseSeconds: number,
  retryAfter: number | null,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.min(30, Math.floor(failures) || 1));
  const base = baseSeconds > 0 && Number.isFinite(baseSeconds) ? baseSeconds : 1;
  const ceiling = Math.min(BACKOFF_CAP_SECONDS, base * 2 ** n);
  const drawn = random() * ceiling;
  if (retryAfter === null || !Number.isFinite(retryAfter) || retryAfter < 0) return drawn;
  const floor = Math.min(MAX_RETRY_AFTER_SECONDS, retryAfter);
  return Math.max(drawn, floor * (1 + RETRY_AFTER_JITTER * random()));
}

/**
 * A `Retry-After` header in seconds from `now` (ms): delay-seconds or an
 * HTTP date (a date in the past is 0); null when absent or unreadable.
 */
export function retryAfterSeconds(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (value === "" || Number.isNaN(at)) return null;
  return Math.max(0, (at - now) / 1000);
}

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
 * BACKOFF_JS is the JavaScript twin the page scripts carry (no build step);
 * test/unit/backoff.test.ts checks that both give the same answers.
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

/** The same two functions for the page scripts (plain JavaScript, same names). */
export const BACKOFF_JS = `
function backoffSeconds(failures, baseSeconds, retryAfter, random) {
  random = random || Math.random;
  var n = Math.max(1, Math.min(30, Math.floor(failures) || 1));
  var base = baseSeconds > 0 && isFinite(baseSeconds) ? baseSeconds : 1;
  var ceiling = Math.min(${BACKOFF_CAP_SECONDS}, base * Math.pow(2, n));
  var drawn = random() * ceiling;
  if (retryAfter === null || typeof retryAfter !== "number" || !isFinite(retryAfter) || retryAfter < 0) return drawn;
  var floor = Math.min(${MAX_RETRY_AFTER_SECONDS}, retryAfter);
  return Math.max(drawn, floor * (1 + ${RETRY_AFTER_JITTER} * random()));
}
function retryAfterSeconds(header, now) {
  if (header === null || header === undefined) return null;
  var value = String(header).trim();
  if (/^\\d+$/.test(value)) return Number(value);
  var at = Date.parse(value);
  if (value === "" || isNaN(at)) return null;
  return Math.max(0, (at - now) / 1000);
}
`;

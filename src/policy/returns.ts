/**
 * Seats that will come free, as the wait estimate counts them (estimate.ts).
 *
 * A full room admits only as seats come free, and a seat given back comes
 * free only at its lease's `releaseAt` (lease.ts: once its passes are too
 * old for any view), minutes later with long passes, unless the coordinator
 * confirms its revocation first. So the seats that will come free over the
 * next minutes are largely known:
 * - seats given back and not free yet: each shard counts them by when they
 *   come free (`Returns`, kept in its counters as leases end), and the
 *   coordinator adds every shard's up (`SeatSupply.returning`);
 * - seats that will be given back: at the rate listeners gave seats back
 *   lately, each coming free at most `releaseMs` later (spread evenly over
 *   that delay, as a listener leaves at any point of its pass's life);
 * - seats that lapse (a lease not renewed, a call never claimed): at the
 *   rate they lapsed lately, free at once.
 *
 * Pure.
 */

/** Width of a bin of seats coming back (ms). */
export const RETURN_BIN_MS = 10_000;
/** Most bins a shard reports and a view carries (longer passes count in the last one). */
export const MAX_RETURN_BINS = 360;

/** Seats given back and not yet free, by the bin (its start, ms) in which they come free. */
export type Returns = Record<number, number>;

function binOf(t: number): number {
  return Math.floor(t / RETURN_BIN_MS) * RETURN_BIN_MS;
}

/** Only the bins that end after `now`. */
export function upcomingReturns(returns: Returns | undefined, now: number): Returns {
  const out: Returns = {};
  const from = binOf(now);
  for (const [key, n] of Object.entries(returns ?? {})) {
    if (Number(key) >= from && n > 0) out[Number(key)] = n;
  }
  return out;
}

/** The returns with `n` more seats (fewer, when negative) coming free at `at`; bins past at `now` dropped. */
export function withReturn(returns: Returns | undefined, at: number, n: number, now: number): Returns {
  const out = upcomingReturns(returns, now);
  if (at <= now) return out;
  const bin = binOf(at);
  const count = (out[bin] ?? 0) + n;
  if (count > 0) out[bin] = count;
  else delete out[bin];
  return out;
}

/** How seats come free in a room, for the estimate (part of the view). */
export interface SeatSupply {
  /** Seats held for called listeners who have not claimed yet. */
  reserved: number;
  /** Seats given back and not free yet, per RETURN_BIN_MS from `from` (ms): when they come free at the latest. */
  from: number;
  returning: number[];
  /** Seats given back per second lately; each comes free at most `releaseMs` later. */
  leavesPerSecond: number;
  releaseMs: number;
  /** Leases lapsed and calls never claimed per second lately: their seats come free at once. */
  lapsesPerSecond: number;
}

/** Every shard's returns added up, dense from the first bin still to come. */
export function sumReturns(all: Iterable<Returns | undefined>, now: number): Pick<SeatSupply, "from" | "returning"> {
  const from = binOf(now);
  const returning: number[] = [];
  for (const returns of all) {
    for (const [key, n] of Object.entries(returns ?? {})) {
      const i = Math.min(MAX_RETURN_BINS - 1, (Number(key) - from) / RETURN_BIN_MS);
      if (i < 0 || !(n > 0)) continue;
      while (returning.length <= i) returning.push(0);
      returning[i]! += n;
    }
  }
  return { from, returning };
}

/**
 * Seats that come free within `s` seconds of `now`, beyond those free now:
 * the known returns (each bin's seats spread evenly over it, so a bin under
 * way counts only its part still to come) and the expected ones.
 */
export function seatsWithin(supply: SeatSupply, now: number, s: number): number {
  const end = now + s * 1000;
  let n = 0;
  for (let i = 0; i < supply.returning.length; i++) {
    const start = Math.max(now, supply.from + i * RETURN_BIN_MS);
    const stop = supply.from + (i + 1) * RETURN_BIN_MS;
    if (stop <= now) continue;
    if (start >= end) break;
    n += (supply.returning[i]! * (Math.min(end, stop) - start)) / RETURN_BIN_MS;
  }
  // A seat given back at u in [0, s] is free by s with probability min(1, (s - u) / release).
  const release = Math.max(1, supply.releaseMs / 1000);
  const given = s <= release ? (s * s) / (2 * release) : s - release / 2;
  return n + supply.leavesPerSecond * given + supply.lapsesPerSecond * s;
}

/** Longest wait the estimate foresees (s): beyond it, it says it does not know. */
export const FORESEE_SECONDS = 6 * 3600;

/**
 * Seconds until `n` more seats than are free now have come free (0 when
 * `n` <= 0); null when the room foresees none coming within FORESEE_SECONDS.
 */
export function secondsUntilSeats(supply: SeatSupply, n: number, now: number): number | null {
  if (n <= 0) return 0;
  if (seatsWithin(supply, now, FORESEE_SECONDS) < n) return null;
  let lo = 0;
  let hi = 1;
  while (seatsWithin(supply, now, hi) < n) {
    lo = hi;
    hi *= 2;
  }
  for (let k = 0; k < 40 && hi - lo > 0.01; k++) {
    const mid = (lo + hi) / 2;
    if (seatsWithin(supply, now, mid) >= n) hi = mid;
    else lo = mid;
  }
  return hi;
}

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
 *
 * Solved, not searched: `seatsWithin` grows linearly within each bin of
 * known returns, and the seats given back from now on add a quadratic part
 * up to the release delay and a linear one after it. So one walk over the
 * bins, adding up as it goes, finds the stretch in which the n-th seat comes
 * free, and that stretch's equation gives the moment. A search calling
 * `seatsWithin` again and again cost each waiting poll of a full room
 * dozens of walks over up to MAX_RETURN_BINS bins.
 */
export function secondsUntilSeats(supply: SeatSupply, n: number, now: number): number | null {
  if (n <= 0) return 0;
  const walk = WALK.start(supply, n);
  const binSeconds = RETURN_BIN_MS / 1000;
  for (let i = 0; i < supply.returning.length; i++) {
    const start = (supply.from + i * RETURN_BIN_MS - now) / 1000;
    const end = start + binSeconds;
    if (end <= 0) continue;
    if (start >= FORESEE_SECONDS) break;
    // Nothing known comes free before a bin that starts later (a view summed ahead of this clock).
    const found =
      walk.to(Math.min(start, FORESEE_SECONDS), 0) ??
      walk.to(Math.min(end, FORESEE_SECONDS), supply.returning[i]! / binSeconds);
    if (found !== null) return found;
  }
  return walk.to(FORESEE_SECONDS, 0);
}

/**
 * `seatsWithin` followed forward from 0 s, stretch by stretch, until it
 * reaches `n`. Within a stretch the known returns come at one rate.
 *
 * One walk serves every call (`start` sets it anew): a walk never outlives
 * the call that started it, and none starts inside another, so a waiting
 * poll makes no object (nor the numbers' boxes) for it.
 */
class SupplyWalk {
  /** How far the walk has come (s), and the seats come free by then. */
  #at = 0;
  #seats = 0;
  #n = 0;
  #release = 1;
  #leaves = 0;
  #lapses = 0;

  /** This walk, set to follow `supply` from 0 s until `n` seats have come free. */
  start(supply: SeatSupply, n: number): this {
    this.#at = 0;
    this.#seats = 0;
    this.#n = n;
    this.#release = Math.max(1, supply.releaseMs / 1000);
    this.#leaves = supply.leavesPerSecond;
    this.#lapses = supply.lapsesPerSecond;
    return this;
  }

  /** Walk on to `t` (s) with known returns at `rate` a second: the moment the n-th seat comes free, or null. */
  to(t: number, rate: number): number | null {
    // The expected returns change shape at the release delay: a stretch across it is two.
    if (this.#at < this.#release && t > this.#release) {
      const found = this.#stretch(this.#release, rate);
      if (found !== null) return found;
    }
    return this.#stretch(t, rate);
  }

  /** One stretch, from `#at` to `t`, lying wholly before or wholly after the release delay. */
  #stretch(t: number, rate: number): number | null {
    const a = this.#at;
    if (t <= a) return null;
    const u = t - a;
    // Seats given back from now on come free as s²/(2·release) before the delay, s − release/2 after it:
    // over this stretch, quad·u² + lin·u more of them.
    const before = a < this.#release;
    const quad = before ? this.#leaves / (2 * this.#release) : 0;
    const lin = rate + this.#lapses + (before ? (this.#leaves * a) / this.#release : this.#leaves);
    const seats = this.#seats + quad * u * u + lin * u;
    if (seats < this.#n) {
      this.#at = t;
      this.#seats = seats;
      return null;
    }
    // quad·x² + lin·x = missing, solved in a form that loses no precision when quad is small.
    const missing = this.#n - this.#seats;
    const x = (2 * missing) / (lin + Math.sqrt(lin * lin + 4 * quad * missing));
    // To the millisecond, rounded up, as clocks here count: never a moment early.
    return Math.min(t, Math.ceil((a + x) * 1000) / 1000);
  }
}

const WALK = new SupplyWalk();

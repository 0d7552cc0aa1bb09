/**
 * The queue of one ledger, read from its config and counters: how many
 * waiting listeners it may call now, how many seats are free, which second
 * an arrival counts in, and when calling could go on without a request.
 *
 * Listeners are numbered in arrival order; the `tail` is the last number
 * handed out, the `cursor` the last one called. A ledger calls by moving its
 * cursor (ledger.ts); how far it may move it is bounded by free seats, the
 * rate, and for a shard by its order (`callThrough`, spread over time by
 * `pace`, see rounds.ts). Pure: nothing here changes anything.
 */
import { calls } from "./config.ts";
import type { Counters, LedgerConfig } from "./ledger-state.ts";
import { burstOf, msUntilToken, refill } from "./rate.ts";
import { nextPaceStep, pacedThrough } from "./rounds.ts";

/** Waiting listeners this ledger may call now (bounded by `callThrough`, as paced). */
export function callable(config: LedgerConfig, c: Counters, now: number): number {
  const limit = config.callThrough;
  const until = config.openUntil;
  let through: number;
  if (limit !== undefined && limit !== null) through = Math.min(c.tail, pacedThrough(limit, config.pace, now));
  else through = typeof until === "number" && now >= until ? c.cursor : c.tail;
  return Math.max(0, through - c.cursor);
}

/** Listeners the batch being paced will still call (their seats are spoken for). */
export function pacedAhead(config: LedgerConfig, c: Counters, now: number): number {
  const limit = config.callThrough;
  const pace = config.pace;
  if (typeof limit !== "number" || pace === undefined || pace === null || now >= pace.end) return 0;
  return Math.max(0, Math.min(limit, c.tail) - c.cursor);
}

/** Seats neither held by a lease nor reserved for a call. */
export function freeSeats(config: LedgerConfig, c: Counters): number {
  return Math.max(0, config.capacity - c.live - c.reserved);
}

/**
 * The second an arrival counts in. A prequeue to be shuffled counts as one
 * second, just before the start: its listeners are equals, and the order
 * among them is the draw's.
 */
export function arrivalSecond(config: LedgerConfig, now: number): number {
  const { startsAt, shuffleSeed } = config;
  if (typeof startsAt === "number" && typeof shuffleSeed === "number" && now < startsAt) {
    return Math.floor(startsAt / 1000) - 1;
  }
  return Math.floor(now / 1000);
}

/**
 * When calling could go on without a request (the ledger's alarm): the next
 * step of a batch being paced, or the moment a token beyond the earmarked
 * ones has refilled while someone waits for it; null: neither.
 */
export function nextCallAt(config: LedgerConfig, c: Counters, now: number): number | null {
  if (!calls(config.mode) || freeSeats(config, c) === 0) return null;
  const times: number[] = [];
  // A paced batch goes on calling without requests.
  const limit = config.callThrough;
  if (typeof limit === "number") {
    const step = c.cursor < Math.min(limit, c.tail) ? nextPaceStep(limit, config.pace, now) : null;
    if (step !== null) times.push(step);
  }
  if (callable(config, c, now) > 0) {
    // Wake when a token beyond the earmarked ones has refilled (if it can).
    const bucket = refill(c.bucket, config.admitPerMinute, now);
    const spare = { tokens: bucket.tokens - c.reserved, at: bucket.at };
    if (c.reserved + 1 <= burstOf(config.admitPerMinute)) {
      times.push(bucket.at + Math.max(1, msUntilToken(spare, config.admitPerMinute)));
    }
  }
  return times.length === 0 ? null : Math.min(...times);
}

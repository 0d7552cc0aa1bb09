/**
 * The one place Spillway reads time and randomness.
 *
 * Policy code never calls `Date.now()` or `Math.random()`: it is handed `now`
 * and a `random` function by its shell, and the shells take them from here.
 * Tests replace the clock to make expiry, caching and jitter deterministic
 * without sleeping.
 */

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** A number in [0, 1). */
  random(): number;
}

const systemClock: Clock = {
  now: () => Date.now(),
  random: () => Math.random(),
};

let current: Clock = systemClock;

/** The clock in force: the system clock unless a test installed another. */
export const clock: Clock = {
  now: () => current.now(),
  random: () => current.random(),
};

/** Install a clock (tests); `null` restores the system clock. */
export function setClock(next: Clock | null): void {
  current = next ?? systemClock;
}

/** A clock that only moves when told to, for tests. */
export class ManualClock implements Clock {
  #now: number;
  #seed: number;

  constructor(start = Date.UTC(2026, 0, 1), seed = 1) {
    this.#now = start;
    this.#seed = seed;
  }

  now(): number {
    return this.#now;
  }

  /** Deterministic mulberry32 sequence. */
  random(): number {
    this.#seed = (this.#seed + 0x6d2b79f5) | 0;
    let t = this.#seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  set(ms: number): void {
    this.#now = ms;
  }
}

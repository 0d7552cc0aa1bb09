import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ETA_SHARE,
  JITTER,
  MAX_POLL_SECONDS,
  MIN_POLL_SECONDS,
  pollAfterSeconds,
  positionStep,
} from "../../src/policy/position.ts";
import { ManualClock } from "../../src/policy/clock.ts";

const T0 = 1_700_000_000_000;

describe("pollAfterSeconds", () => {
  const middle = () => 0.5; // no jitter: 0.8 + 0.4 * 0.5 = 1

  it("without an estimate, is short near the front and longer further back", () => {
    expect(pollAfterSeconds(1, null, middle)).toBe(2);
    expect(pollAfterSeconds(5, null, middle)).toBe(2);
    expect(pollAfterSeconds(6, null, middle)).toBe(4);
    expect(pollAfterSeconds(50, null, middle)).toBe(4);
    expect(pollAfterSeconds(51, null, middle)).toBe(8);
    expect(pollAfterSeconds(500, null, middle)).toBe(8);
    expect(pollAfterSeconds(501, null, middle)).toBe(15);
    expect(pollAfterSeconds(5_000, null, middle)).toBe(15);
    expect(pollAfterSeconds(5_001, null, middle)).toBe(30);
    expect(pollAfterSeconds(10_000_000, null, middle)).toBe(MAX_POLL_SECONDS);
  });

  it("treats a null position like the front of the line", () => {
    expect(pollAfterSeconds(null, null, middle)).toBe(2);
    expect(pollAfterSeconds(null, 600, middle)).toBe(2);
  });

  it("asks again after 45 % of the estimated wait, within the position's step and at least 2 s", () => {
    expect(ETA_SHARE).toBe(0.45);
    expect(pollAfterSeconds(10_000, 40, middle)).toBe(18);
    expect(pollAfterSeconds(10_000, 30, middle)).toBe(14);
    expect(pollAfterSeconds(10_000, 20, middle)).toBe(9);
    expect(pollAfterSeconds(10_000, 6, middle)).toBe(3);
    expect(pollAfterSeconds(10_000, 3, middle)).toBe(MIN_POLL_SECONDS);
    expect(pollAfterSeconds(10_000, 1, middle)).toBe(MIN_POLL_SECONDS);
    expect(pollAfterSeconds(10_000, 0, middle)).toBe(MIN_POLL_SECONDS);
    // A long estimate is capped far back...
    expect(pollAfterSeconds(10_000, 3_600, middle)).toBe(MAX_POLL_SECONDS);
    // ...and near the front, by the position's step: a stalled flow (an hour's estimate)
    // does not leave the listener next in line asking every 30 s, past its claim window.
    expect(pollAfterSeconds(3, 3_600, middle)).toBe(2);
    expect(pollAfterSeconds(400, 3_600, middle)).toBe(8);
  });

  it("takes a poll or two per doubling of a long wait, not polls in proportion to it", () => {
    // A listener told the truth every time: each poll leaves 1 - ETA_SHARE of the wait.
    const polls = (wait: number) => {
      let n = 0;
      for (let left = wait; left > 0; n++) left -= pollAfterSeconds(1_000_000, left, middle);
      return n;
    };
    expect(polls(120)).toBeLessThanOrEqual(9);
    expect(polls(120)).toBeGreaterThanOrEqual(5);
    // Doubling the wait costs a poll or two, not twice the polls.
    expect(polls(240) - polls(120)).toBeLessThanOrEqual(4);
  });

  it("jitters by at most 20 % either way", () => {
    expect(JITTER).toBe(0.2);
    expect(pollAfterSeconds(10_000, null, () => 0)).toBe(24);
    expect(pollAfterSeconds(10_000, null, () => 0.999_999)).toBe(36);
    expect(pollAfterSeconds(1_000, null, () => 0)).toBe(12);
    expect(pollAfterSeconds(10_000, 40, () => 0)).toBe(14);
    expect(pollAfterSeconds(10_000, 40, () => 0.999_999)).toBe(22);
  });

  it("grows with position for the same estimate and random draw (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.option(fc.double({ min: 0, max: 10_000, noNaN: true }), { nil: null }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (position, extra, eta, r) => {
          const random = () => r;
          expect(pollAfterSeconds(position + extra, eta, random)).toBeGreaterThanOrEqual(
            pollAfterSeconds(position, eta, random),
          );
        },
      ),
    );
  });

  it("grows with the estimate for the same position and random draw (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (position, eta, extra, r) => {
          const random = () => r;
          expect(pollAfterSeconds(position, eta + extra, random)).toBeGreaterThanOrEqual(
            pollAfterSeconds(position, eta, random),
          );
        },
      ),
    );
  });

  it("is a whole number of seconds within the jitter of its rule, at least 1 and never past the cap (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.option(fc.double({ min: 0, max: 100_000, noNaN: true }), { nil: null }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (position, eta, r) => {
          const step = positionStep(position);
          const base = eta === null ? step : Math.min(step, Math.max(MIN_POLL_SECONDS, ETA_SHARE * eta));
          const poll = pollAfterSeconds(position, eta, () => r);
          expect(Number.isInteger(poll)).toBe(true);
          expect(poll).toBeGreaterThanOrEqual(1);
          expect(poll).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(poll).toBeLessThanOrEqual(Math.ceil(base * 1.2));
          expect(poll).toBeLessThanOrEqual(Math.ceil(MAX_POLL_SECONDS * 1.2));
          // Never longer than half the estimate (jittered), unless that is under the 2 s floor.
          if (eta !== null) expect(poll).toBeLessThanOrEqual(Math.ceil(Math.max(2, eta / 2) * 1.2));
        },
      ),
    );
  });

  it("is deterministic for a seeded random and actually spreads listeners out", () => {
    const run = (seed: number) => {
      const c = new ManualClock(T0, seed);
      return Array.from({ length: 50 }, () => pollAfterSeconds(10_000, null, () => c.random()));
    };
    expect(run(7)).toEqual(run(7));
    const values = new Set(run(7));
    // 30 s ± 20 %: more than one distinct answer over 50 listeners at one position.
    expect(values.size).toBeGreaterThan(3);
    for (const v of values) {
      expect(v).toBeGreaterThanOrEqual(24);
      expect(v).toBeLessThanOrEqual(36);
    }
  });
});

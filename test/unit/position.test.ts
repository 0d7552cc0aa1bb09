import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pollAfterSeconds } from "../../src/policy/position.ts";
import { ManualClock } from "../../src/policy/clock.ts";

const T0 = 1_700_000_000_000;

describe("pollAfterSeconds", () => {
  const middle = () => 0.5; // no jitter: 0.8 + 0.4 * 0.5 = 1

  it("is short near the front and longer further back", () => {
    expect(pollAfterSeconds(1, null, middle)).toBe(2);
    expect(pollAfterSeconds(5, null, middle)).toBe(2);
    expect(pollAfterSeconds(6, null, middle)).toBe(4);
    expect(pollAfterSeconds(50, null, middle)).toBe(4);
    expect(pollAfterSeconds(51, null, middle)).toBe(8);
    expect(pollAfterSeconds(500, null, middle)).toBe(8);
    expect(pollAfterSeconds(501, null, middle)).toBe(15);
    expect(pollAfterSeconds(5_000, null, middle)).toBe(15);
    expect(pollAfterSeconds(5_001, null, middle)).toBe(30);
    expect(pollAfterSeconds(10_000_000, null, middle)).toBe(30);
  });

  it("treats a null position like the front of the line", () => {
    expect(pollAfterSeconds(null, null, middle)).toBe(2);
  });

  it("is no longer than half the estimate, but not below 2 s before jitter", () => {
    expect(pollAfterSeconds(10_000, 20, middle)).toBe(10);
    expect(pollAfterSeconds(10_000, 6, middle)).toBe(3);
    expect(pollAfterSeconds(10_000, 1, middle)).toBe(2);
    expect(pollAfterSeconds(10_000, 0, middle)).toBe(2);
    // A long estimate does not stretch the poll beyond the position's step.
    expect(pollAfterSeconds(3, 3_600, middle)).toBe(2);
  });

  it("jitters by at most 20 % either way", () => {
    expect(pollAfterSeconds(10_000, null, () => 0)).toBe(24);
    expect(pollAfterSeconds(10_000, null, () => 0.999_999)).toBe(36);
    expect(pollAfterSeconds(1_000, null, () => 0)).toBe(12);
  });

  it("grows with position for the same random draw (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (position, extra, r) => {
          const random = () => r;
          expect(pollAfterSeconds(position + extra, null, random)).toBeGreaterThanOrEqual(
            pollAfterSeconds(position, null, random),
          );
        },
      ),
    );
  });

  it("stays within the jitter bounds of its step and is at least 1 (property)", () => {
    const stepOf = (p: number) => (p <= 5 ? 2 : p <= 50 ? 4 : p <= 500 ? 8 : p <= 5_000 ? 15 : 30);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: null }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (position, eta, r) => {
          const base = eta === null ? stepOf(position) : Math.min(stepOf(position), Math.max(2, eta / 2));
          const poll = pollAfterSeconds(position, eta, () => r);
          expect(Number.isInteger(poll)).toBe(true);
          expect(poll).toBeGreaterThanOrEqual(1);
          expect(poll).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
          expect(poll).toBeLessThanOrEqual(Math.ceil(base * 1.2));
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

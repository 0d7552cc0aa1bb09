import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RoomView } from "../../src/admission/ledger.ts";
import { etaSeconds, pollAfterSeconds, positionOf } from "../../src/admission/position.ts";
import { ManualClock } from "../../src/clock.ts";

const T0 = 1_700_000_000_000;

function view(over: Partial<RoomView> = {}): RoomView {
  return {
    mode: "open",
    capacity: 100,
    admitPerMinute: 60,
    cursor: 10,
    tail: 50,
    live: 100,
    reserved: 0,
    flowPerSecond: 0,
    revoked: [],
    at: T0,
    ...over,
  };
}

describe("positionOf", () => {
  it("is the 1-based place after the cursor", () => {
    expect(positionOf(11, view({ cursor: 10 }))).toBe(1);
    expect(positionOf(15, view({ cursor: 10 }))).toBe(5);
    expect(positionOf(1, view({ cursor: 0 }))).toBe(1);
  });

  it("is null once the cursor has reached the number", () => {
    expect(positionOf(10, view({ cursor: 10 }))).toBeNull();
    expect(positionOf(3, view({ cursor: 10 }))).toBeNull();
  });

  it("equals the number of waiting listeners up to and including this one (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 1e6 }), (cursor, k) => {
        expect(positionOf(cursor + k, view({ cursor }))).toBe(k);
      }),
    );
  });
});

describe("etaSeconds", () => {
  it("is null when the room is not open", () => {
    expect(etaSeconds(5, view({ mode: "hold", flowPerSecond: 3 }))).toBeNull();
    expect(etaSeconds(5, view({ mode: "closed", flowPerSecond: 3 }))).toBeNull();
  });

  it("divides the position by the measured flow, rounding up", () => {
    expect(etaSeconds(10, view({ flowPerSecond: 2 }))).toBe(5);
    expect(etaSeconds(11, view({ flowPerSecond: 2 }))).toBe(6);
    expect(etaSeconds(1, view({ flowPerSecond: 3 }))).toBe(1);
  });

  it("uses the configured rate when nothing has flowed yet but seats are free", () => {
    // 120 per minute = 2 per second.
    expect(etaSeconds(9, view({ admitPerMinute: 120, capacity: 10, live: 4, reserved: 5 }))).toBe(5);
  });

  it("prefers the measured flow over the configured rate", () => {
    expect(etaSeconds(10, view({ admitPerMinute: 6000, capacity: 10, live: 0, flowPerSecond: 1 }))).toBe(10);
  });

  it("is null when nothing flows and no seat is free", () => {
    expect(etaSeconds(5, view({ capacity: 10, live: 10, reserved: 0 }))).toBeNull();
    expect(etaSeconds(5, view({ capacity: 10, live: 6, reserved: 4 }))).toBeNull();
    expect(etaSeconds(5, view({ capacity: 0, live: 0, reserved: 0 }))).toBeNull();
  });

  it("is positive and does not shrink as the position grows (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1e6 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.double({ min: 0.001, max: 1e4, noNaN: true }),
        (position, extra, flowPerSecond) => {
          const v = view({ flowPerSecond });
          const a = etaSeconds(position, v);
          const b = etaSeconds(position + extra, v);
          expect(a).not.toBeNull();
          expect(a).toBeGreaterThanOrEqual(1);
          expect(b).toBeGreaterThanOrEqual(a as number);
        },
      ),
    );
  });
});

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

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FORESEE_SECONDS,
  RETURN_BIN_MS,
  type SeatSupply,
  seatsWithin,
  secondsUntilSeats,
  sumReturns,
  upcomingReturns,
  withReturn,
} from "../../src/policy/returns.ts";

const T0 = 1_700_000_000_000; // a whole bin
const s = (seconds: number) => T0 + seconds * 1000;

function supply(over: Partial<SeatSupply> = {}): SeatSupply {
  return { reserved: 0, from: T0, returning: [], leavesPerSecond: 0, releaseMs: 30_000, lapsesPerSecond: 0, ...over };
}

describe("withReturn", () => {
  it("counts a seat given back in the bin it comes free in, and takes it off again", () => {
    let r = withReturn(undefined, s(25), 1, s(1));
    r = withReturn(r, s(29), 1, s(2));
    r = withReturn(r, s(41), 1, s(3));
    expect(r).toEqual({ [s(20)]: 2, [s(40)]: 1 });
    r = withReturn(r, s(29), -1, s(4));
    expect(r).toEqual({ [s(20)]: 1, [s(40)]: 1 });
    r = withReturn(r, s(41), -1, s(5));
    expect(r).toEqual({ [s(20)]: 1 });
  });

  it("drops bins that have passed, and seats that are free already", () => {
    const r = withReturn({ [s(0)]: 3, [s(10)]: 2, [s(20)]: 1 }, s(12), 1, s(12));
    // The bin of 0–10 s has passed; the seat coming free at 12 s (now) is not to come.
    expect(r).toEqual({ [s(10)]: 2, [s(20)]: 1 });
    expect(upcomingReturns(r, s(20))).toEqual({ [s(20)]: 1 });
    expect(upcomingReturns(undefined, s(20))).toEqual({});
  });
});

describe("sumReturns", () => {
  it("adds every shard's bins up, dense from the bin of now", () => {
    const a = { [s(10)]: 2, [s(30)]: 1 };
    const b = { [s(0)]: 9, [s(10)]: 1 };
    expect(sumReturns([a, b, undefined], s(12))).toEqual({ from: s(10), returning: [3, 0, 1] });
    expect(sumReturns([], s(12))).toEqual({ from: s(10), returning: [] });
  });
});

describe("seatsWithin", () => {
  it("counts the seats of a bin spread over it", () => {
    const sup = supply({ returning: [0, 100, 50] });
    expect(seatsWithin(sup, s(0), 10)).toBe(0);
    expect(seatsWithin(sup, s(0), 15)).toBeCloseTo(50);
    expect(seatsWithin(sup, s(0), 25)).toBeCloseTo(125);
    expect(seatsWithin(sup, s(0), 60)).toBeCloseTo(150);
    // From the middle of a bin, only what is left of it.
    expect(seatsWithin(sup, s(15), 5)).toBeCloseTo(50);
  });

  it("lets seats given back from now on come free within the release delay, lapsed ones at once", () => {
    const leaves = supply({ leavesPerSecond: 10, releaseMs: 30_000 });
    // Given back evenly over [0, 10 s], each free within 30 s: 10 × 10² / 60.
    expect(seatsWithin(leaves, s(0), 10)).toBeCloseTo((10 * 100) / 60);
    expect(seatsWithin(leaves, s(0), 30)).toBeCloseTo(150);
    // Beyond the delay, as many a second as are given back.
    expect(seatsWithin(leaves, s(0), 50)).toBeCloseTo(150 + 200);
    expect(seatsWithin(supply({ lapsesPerSecond: 4 }), s(0), 10)).toBeCloseTo(40);
  });
});

describe("secondsUntilSeats", () => {
  it("is 0 for seats that are free already, and null when none are foreseen", () => {
    expect(secondsUntilSeats(supply(), 0, s(0))).toBe(0);
    expect(secondsUntilSeats(supply(), -5, s(0))).toBe(0);
    expect(secondsUntilSeats(supply(), 1, s(0))).toBeNull();
    expect(secondsUntilSeats(supply({ returning: [10] }), 11, s(0))).toBeNull();
  });

  it("waits for the seats given back as they come free", () => {
    expect(secondsUntilSeats(supply({ returning: [0, 100] }), 50, s(0))).toBeCloseTo(15, 1);
    expect(secondsUntilSeats(supply({ leavesPerSecond: 10, releaseMs: 30_000 }), 350, s(0))).toBeCloseTo(50, 1);
  });

  it("finds the moment, to the millisecond, by which that many seats have come free (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { maxLength: 50 }),
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 20, noNaN: true }),
        fc.integer({ min: 0, max: 900_000 }),
        fc.integer({ min: 1, max: 20_000 }),
        // Now: anywhere in the view's first bin, or a bin or two either side of it.
        fc.integer({ min: -2 * RETURN_BIN_MS, max: 3 * RETURN_BIN_MS - 1 }),
        (returning, leaves, lapses, releaseMs, n, into) => {
          const sup = supply({ returning, leavesPerSecond: leaves, lapsesPerSecond: lapses, releaseMs });
          const now = T0 + into;
          const t = secondsUntilSeats(sup, n, now);
          if (t === null) {
            expect(seatsWithin(sup, now, FORESEE_SECONDS)).toBeLessThan(n);
            return;
          }
          expect(t).toBeGreaterThan(0);
          expect(t).toBeLessThanOrEqual(FORESEE_SECONDS);
          expect(seatsWithin(sup, now, t)).toBeGreaterThanOrEqual(n - 1e-6);
          expect(seatsWithin(sup, now, Math.max(0, t - 0.002))).toBeLessThan(n);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("walks past bins that are over and waits out a gap before the first one", () => {
    // Now is 25 s into the view: its first two bins are over, the third half so (50 seats in 5 s), then
    // the fourth's 10 a second.
    expect(secondsUntilSeats(supply({ returning: [100, 100, 100, 100] }), 100, s(25))).toBeCloseTo(10, 3);
    // The view was summed 20 s ahead of this clock: nothing comes free before its first bin.
    expect(secondsUntilSeats(supply({ from: s(20), returning: [100] }), 50, s(0))).toBeCloseTo(25, 3);
    // Before the release delay the seats given back come free as s²/(2·release): 10 × 20² / 60.
    expect(secondsUntilSeats(supply({ leavesPerSecond: 10, releaseMs: 30_000 }), 2_000 / 30, s(0))).toBeCloseTo(20, 2);
  });
});

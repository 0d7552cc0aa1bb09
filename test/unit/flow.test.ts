import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  activeRatePerSecond,
  BIN_MS,
  BINS,
  emptyFlow,
  type Flow,
  ratePerSecond,
  record,
  roll,
} from "../../src/policy/flow.ts";

// A bin boundary, so offsets below read as seconds into the bin.
const T0 = 1_700_000_000_000;

function total(flow: Flow): number {
  return flow.bins.reduce((a, b) => a + b, 0);
}

describe("emptyFlow", () => {
  it("has six empty 10 s bins, the newest starting at the bin boundary before now", () => {
    const flow = emptyFlow(T0 + 7_321);
    expect(flow.bins).toEqual([0, 0, 0, 0, 0, 0]);
    expect(flow.binStart).toBe(T0);
    expect(BIN_MS * BINS).toBe(60_000);
  });
});

describe("record", () => {
  it("adds calls to the newest bin while inside it", () => {
    let flow = emptyFlow(T0);
    flow = record(flow, T0 + 1_000, 3);
    flow = record(flow, T0 + 9_999, 2);
    expect(flow.bins).toEqual([5, 0, 0, 0, 0, 0]);
    expect(flow.binStart).toBe(T0);
  });

  it("opens a new bin when time crosses a boundary, keeping older counts behind it", () => {
    let flow = record(emptyFlow(T0), T0, 4);
    flow = record(flow, T0 + 10_000, 1);
    flow = record(flow, T0 + 35_000, 2);
    expect(flow.binStart).toBe(T0 + 30_000);
    expect(flow.bins).toEqual([2, 0, 1, 4, 0, 0]);
  });

  it("does not modify the flow passed in", () => {
    const flow = emptyFlow(T0);
    record(flow, T0 + 20_000, 9);
    expect(flow).toEqual({ binStart: T0, bins: [0, 0, 0, 0, 0, 0] });
  });
});

describe("roll", () => {
  it("drops counts older than six bins", () => {
    const flow = record(emptyFlow(T0), T0, 7);
    expect(total(roll(flow, T0 + 50_000))).toBe(7);
    expect(total(roll(flow, T0 + 60_000))).toBe(0);
    expect(roll(flow, T0 + 10 * 60_000).bins).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("returns the flow unchanged when now is in the same or an earlier bin", () => {
    const flow = record(emptyFlow(T0 + 20_000), T0 + 20_000, 2);
    expect(roll(flow, T0 + 29_999)).toEqual(flow);
    expect(roll(flow, T0)).toEqual(flow);
  });

  it("always keeps exactly six bins and never invents calls (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.integer({ min: 0, max: 5 })), { maxLength: 40 }),
        (steps) => {
          let now = T0;
          let flow = emptyFlow(now);
          let recorded = 0;
          for (const [gap, n] of steps) {
            now += gap;
            flow = record(flow, now, n);
            recorded += n;
            expect(flow.bins).toHaveLength(BINS);
            expect(total(flow)).toBeLessThanOrEqual(recorded);
            expect(flow.bins.every((b) => b >= 0)).toBe(true);
          }
        },
      ),
    );
  });
});

describe("ratePerSecond", () => {
  it("is 0 with no calls", () => {
    expect(ratePerSecond(emptyFlow(T0), T0 + 5_000)).toBe(0);
  });

  it("measures a steady flow of one call per second as about 1/s", () => {
    let flow = emptyFlow(T0);
    for (let s = 0; s < 120; s++) flow = record(flow, T0 + s * 1_000, 1);
    const rate = ratePerSecond(flow, T0 + 119_500);
    expect(rate).toBeGreaterThan(0.9);
    expect(rate).toBeLessThan(1.1);
  });

  it("measures a steady flow of five calls every second as about 5/s", () => {
    let flow = emptyFlow(T0);
    for (let s = 0; s < 90; s++) flow = record(flow, T0 + s * 1_000, 5);
    const rate = ratePerSecond(flow, T0 + 89_999);
    expect(rate).toBeGreaterThan(4.5);
    expect(rate).toBeLessThan(5.5);
  });

  it("falls back to 0 a minute after the flow stops", () => {
    let flow = emptyFlow(T0);
    for (let s = 0; s < 60; s++) flow = record(flow, T0 + s * 1_000, 2);
    expect(ratePerSecond(flow, T0 + 60_000)).toBeGreaterThan(0);
    expect(ratePerSecond(flow, T0 + 59_000 + 61_000)).toBe(0);
  });

  it("does not blow up right at the start of a bin", () => {
    const flow = record(emptyFlow(T0), T0, 10);
    const rate = ratePerSecond(flow, T0);
    expect(Number.isFinite(rate)).toBe(true);
    // Ten calls are never reported as more than ten per second.
    expect(rate).toBeLessThanOrEqual(10);
    expect(rate).toBeGreaterThan(0);
  });

  it("grows with the number of calls recorded (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 59_999 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        (offset, n, extra) => {
          const now = T0 + offset;
          const fewer = record(emptyFlow(T0), now, n);
          const more = record(emptyFlow(T0), now, n + extra);
          expect(ratePerSecond(more, now)).toBeGreaterThan(ratePerSecond(fewer, now));
        },
      ),
    );
  });
});

describe("activeRatePerSecond", () => {
  it("is 0 when nothing has flowed in the last minute", () => {
    expect(activeRatePerSecond(emptyFlow(T0), T0 + 5_000)).toBe(0);
  });

  it("measures a flow that has just started over the time it has flowed, not the whole minute", () => {
    let flow = emptyFlow(T0);
    for (let s = 0; s < 5; s++) flow = record(flow, T0 + s * 1_000, 100);
    // 500 calls over 5 s: ratePerSecond spreads them over a minute.
    expect(activeRatePerSecond(flow, T0 + 5_000)).toBeCloseTo(100);
    expect(ratePerSecond(flow, T0 + 5_000)).toBeLessThan(10);
  });

  it("equals ratePerSecond once calls have gone on for a minute", () => {
    let flow = emptyFlow(T0);
    for (let s = 0; s < 120; s++) flow = record(flow, T0 + s * 1_000, 3);
    const now = T0 + 119_500;
    expect(activeRatePerSecond(flow, now)).toBeCloseTo(ratePerSecond(flow, now));
  });

  it("is never below ratePerSecond (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 120_000 }), n: fc.integer({ min: 0, max: 50 }) }), {
          maxLength: 40,
        }),
        fc.integer({ min: 0, max: 30_000 }),
        (calls, after) => {
          let flow = emptyFlow(T0);
          const sorted = [...calls].sort((a, b) => a.at - b.at);
          for (const c of sorted) flow = record(flow, T0 + c.at, c.n);
          const now = T0 + (sorted[sorted.length - 1]?.at ?? 0) + after;
          expect(activeRatePerSecond(flow, now)).toBeGreaterThanOrEqual(ratePerSecond(flow, now) - 1e-9);
        },
      ),
    );
  });
});

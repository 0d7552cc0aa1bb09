import { describe, expect, it } from "vitest";
import {
  arrivalPoint,
  callAtOnce,
  lastArrivedBefore,
  oldestLeftBehind,
  oldestWaiting,
  paceByArrival,
} from "../../src/policy/arrival-pace.ts";
import type { ArrivalBin } from "../../src/policy/arrivals.ts";
import type { ShardRecord } from "../../src/policy/coordinator-state.ts";
import { MAX_PACE_STEPS, pacedThrough } from "../../src/policy/rounds.ts";

const T0 = Date.UTC(2026, 0, 1);
const S0 = T0 / 1000;
/** The pace window of the round starting at T0 + 10 s. */
const WINDOW = { start: T0 + 10_200, end: T0 + 11_000 };

function rec(shard: number, extra: Partial<ShardRecord>): ShardRecord {
  return {
    shard,
    tail: 0,
    through: 0,
    cursor: 0,
    live: 0,
    reserved: 0,
    confirmed: 0,
    sent: 0,
    lastSync: T0 + 10_000,
    pace: null,
    ...extra,
  } as ShardRecord;
}

/** The cursor of a paced batch at each of these ms after the window starts. */
function cursorsAt(through: number, pace: ReturnType<typeof paceByArrival>, ms: number[]): number[] {
  return ms.map((t) => pacedThrough(through, pace, WINDOW.start + t));
}

describe("a batch paced by arrival", () => {
  // Shard A: 10 listeners in second 7 (seqs 1-10), 10 in second 8 (11-20).
  const a: ArrivalBin[] = [
    { bin: S0 + 7, firstSeq: 1, count: 10 },
    { bin: S0 + 8, firstSeq: 11, count: 10 },
  ];
  // Shard B: 4 in second 8 (1-4).
  const b: ArrivalBin[] = [{ bin: S0 + 8, firstSeq: 1, count: 4 }];

  it("places a listener in its second by its share of the second's arrivals", () => {
    expect(arrivalPoint(a, 1)).toBe(S0 + 7);
    expect(arrivalPoint(a, 6)).toBe(S0 + 7.5);
    expect(arrivalPoint(a, 11)).toBe(S0 + 8);
    expect(arrivalPoint(a, 21)).toBeNull();
  });

  it("calls a shard's older listeners first and a younger batch only as the window reaches its arrivals", () => {
    // Both batches run from second 7 (the oldest waiting) to the end of second 8.
    const paceA = paceByArrival(a, 0, 20, S0 + 7, WINDOW);
    const paceB = paceByArrival(b, 0, 4, S0 + 7, WINDOW);
    expect(paceA.steps).toBeDefined();
    // Halfway through the window the line has called through the end of second 7:
    // all of A's second 7 and none of B's listeners (all of second 8).
    expect(cursorsAt(20, paceA, [0, 200, 400, 600, 800])).toEqual([0, 5, 10, 15, 20]);
    expect(cursorsAt(4, paceB, [0, 200, 400, 600, 800])).toEqual([0, 0, 0, 2, 4]);
    // Paced by count, B would have called half its batch by then, ahead of A's second 7.
    expect(pacedThrough(4, { from: 0, ...WINDOW }, WINDOW.start + 400)).toBe(2);
  });

  it("lets a shard left behind catch up before others call younger listeners", () => {
    // A has called through seq 5 (half of second 7); the line's oldest waiting is there.
    const pace = paceByArrival(a, 5, 20, S0 + 7.5, WINDOW);
    // The rest of second 7 takes the first third of the window (half a second of 1.5).
    expect(cursorsAt(20, pace, [0, 267, 800])).toEqual([5, 10, 20]);
  });

  it("keeps the points within the window and at most MAX_PACE_STEPS of them", () => {
    const many: ArrivalBin[] = Array.from({ length: 40 }, (_, i) => ({ bin: S0 + i, firstSeq: 1 + 3 * i, count: 3 }));
    const pace = paceByArrival(many, 0, 120, S0, WINDOW);
    const steps = pace.steps!;
    expect(steps.length / 2).toBeLessThanOrEqual(MAX_PACE_STEPS);
    for (let i = 0; i + 1 < steps.length; i += 2) {
      expect(steps[i]!).toBeGreaterThan(0);
      expect(steps[i]!).toBeLessThan(800);
      if (i >= 2) expect(steps[i]!).toBeGreaterThanOrEqual(steps[i - 2]!);
      if (i >= 2) expect(steps[i + 1]!).toBeGreaterThanOrEqual(steps[i - 1]!);
    }
    expect(pacedThrough(120, pace, WINDOW.end)).toBe(120);
    expect(pacedThrough(120, pace, WINDOW.start)).toBe(0);
  });

  it("maps the same moments of arrival onto the window as a batch already ordered this round", () => {
    // Shards C and D: 4 listeners each in second 7; D is ordered all 4, then C its first.
    const c: ArrivalBin[] = [{ bin: S0 + 7, firstSeq: 1, count: 4 }];
    const d: ArrivalBin[] = [{ bin: S0 + 7, firstSeq: 1, count: 4 }];
    const ms = [0, 100, 200, 300, 400, 500, 600, 700, 800];
    expect(cursorsAt(4, paceByArrival(d, 0, 4, S0 + 7, WINDOW), ms)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4]);
    // Over its own batch only, C calls its listener (the first quarter of second 7) at the end
    // of the window, after D has called 3 of its 4, arrived up to 3/4 of a second later.
    expect(cursorsAt(1, paceByArrival(c, 0, 1, S0 + 7, WINDOW), ms)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1]);
    // Up to the end of D's batch: C calls its listener when D calls its own first.
    expect(cursorsAt(1, paceByArrival(c, 0, 1, S0 + 7, WINDOW, S0 + 8), ms)).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1]);
  });

  it("falls back to an even pace by count when the bins do not hold the batch", () => {
    expect(paceByArrival([], 0, 5, null, WINDOW)).toEqual({ from: 0, ...WINDOW });
  });
});

describe("the line's oldest waiting listener", () => {
  const bins = new Map<number, ArrivalBin[]>([
    [0, [{ bin: S0 + 5, firstSeq: 1, count: 10 }]],
    [1, [{ bin: S0 + 6, firstSeq: 1, count: 4 }]],
  ]);
  const binsOf = (shard: number) => bins.get(shard) ?? [];

  it("counts a shard ordered this round from where its batch started", () => {
    const shards = new Map([
      [0, rec(0, { tail: 10, through: 10, cursor: 2, pace: { from: 2, start: T0 + 10_200, end: T0 + 11_000 } })],
      [1, rec(1, { tail: 4, through: 0 })],
    ]);
    expect(oldestWaiting(shards, binsOf, 1, 0, T0 + 10_050)).toBe(S0 + 5.2);
    // A pace of an earlier round has run: shard 0 has called all of its listeners.
    const later = new Map([
      [0, rec(0, { tail: 10, through: 10, cursor: 2, pace: { from: 2, start: T0 + 9_200, end: T0 + 10_000 } })],
      [1, rec(1, { tail: 4, through: 0 })],
    ]);
    expect(oldestWaiting(later, binsOf, 1, 0, T0 + 10_050)).toBe(S0 + 6);
  });

  it("left behind: the first listener after the orders of shards that synced this round", () => {
    const shards = new Map([
      [0, rec(0, { tail: 10, through: 4, lastSync: T0 + 10_020 })],
      [1, rec(1, { tail: 4, through: 0, lastSync: T0 + 9_020 })],
    ]);
    // Shard 1 has not synced this round: only shard 0's fifth listener counts.
    expect(oldestLeftBehind(shards, binsOf, 2, T0 + 10_050)).toBe(S0 + 5.4);
    expect(oldestLeftBehind(shards, binsOf, 0, T0 + 10_050)).toBeNull();
  });
});

describe("cutting a batch at a moment of arrival", () => {
  const bins: ArrivalBin[] = [
    { bin: S0 + 3, firstSeq: 1, count: 10 },
    { bin: S0 + 4, firstSeq: 11, count: 10 },
  ];

  it("keeps the listeners who arrived before the moment", () => {
    expect(lastArrivedBefore(bins, 0, S0 + 3.5)).toBe(5);
    expect(lastArrivedBefore(bins, 0, S0 + 4)).toBe(10);
    expect(lastArrivedBefore(bins, 0, S0 + 4.05)).toBe(11);
    expect(lastArrivedBefore(bins, 12, S0 + 4.05)).toBe(12);
    expect(lastArrivedBefore(bins, 0, S0 + 9)).toBe(20);
  });

  it("calls at once only a batch that ends the line within the oldest waiting second", () => {
    expect(callAtOnce(bins, 10, S0 + 3.2, true)).toBe(true);
    expect(callAtOnce(bins, 11, S0 + 3.2, true)).toBe(false);
    expect(callAtOnce(bins, 10, S0 + 3.2, false)).toBe(false);
    expect(callAtOnce(bins, 10, null, true)).toBe(false);
  });
});

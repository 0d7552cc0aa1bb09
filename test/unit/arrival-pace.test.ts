import { describe, expect, it } from "vitest";
import {
  arrivalPoint,
  callAtOnce,
  expectedUntil,
  fullPace,
  lastArrivedBefore,
  lineReach,
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

  // A backlog of 40 s drained in one round: shard X had 3 listeners a second in the first
  // 10 s and the last 10, none between; Y 5 a second throughout.
  const gapped = [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 10 }, (_, i) => 30 + i)];
  const x: ArrivalBin[] = gapped.map((second, i) => ({ bin: S0 + second, firstSeq: 1 + 3 * i, count: 3 }));
  const y: ArrivalBin[] = Array.from({ length: 40 }, (_, i) => ({ bin: S0 + i, firstSeq: 1 + 5 * i, count: 5 }));

  it("keeps the points of a long batch at the same moments for every shard", () => {
    const paceX = paceByArrival(x, 0, 60, S0, WINDOW, S0 + 40);
    const paceY = paceByArrival(y, 0, 200, S0, WINDOW, S0 + 40);
    const at = (p: typeof paceX) => p.steps!.filter((_, i) => i % 2 === 0);
    expect(at(paceX)).toEqual(at(paceY));
    // X calls none of its last 10 s before Y has called through about second 30.
    for (let ms = 0; ms <= 800; ms += 10) {
      const calledX = pacedThrough(60, paceX, WINDOW.start + ms);
      const secondY = pacedThrough(200, paceY, WINDOW.start + ms) / 5;
      if (calledX > 30) expect(secondY).toBeGreaterThan(30 - 5);
      if (secondY < 10) expect(calledX / 3).toBeLessThanOrEqual(secondY + 5);
    }
  });

  it("has each shard call a long batch in step at every second, from its own bins", () => {
    const orderX = paceByArrival(x, 0, 60, S0, WINDOW, S0 + 40);
    const orderY = paceByArrival(y, 0, 200, S0, WINDOW, S0 + 40);
    expect(orderX.arrival).toEqual({ from: S0, until: S0 + 40 });
    const fullX = fullPace(x, orderX, 60);
    const fullY = fullPace(y, orderY, 200);
    expect(fullY.steps!.length / 2).toBeGreaterThan(MAX_PACE_STEPS);
    // The second each has called through, at every 10 ms: never a second apart.
    const secondOf = (bins: ArrivalBin[], called: number) => (called === 0 ? 0 : arrivalPoint(bins, called)! - S0);
    for (let ms = 0; ms <= 800; ms += 10) {
      const calledX = pacedThrough(60, fullX, WINDOW.start + ms);
      const calledY = pacedThrough(200, fullY, WINDOW.start + ms);
      // X's next to call arrived no later than a second after Y's last called, and the other way round.
      if (calledX > 0 && calledY < 200) expect(secondOf(x, calledX)).toBeLessThan(secondOf(y, calledY + 1) + 1);
      if (calledY > 0 && calledX < 60) expect(secondOf(y, calledY)).toBeLessThan(secondOf(x, calledX + 1) + 1);
    }
    // Without moments of arrival, or without the batch in its bins, a shard keeps its order's pace.
    const { arrival: _arrival, ...plain } = orderX;
    expect(fullPace(x, plain, 60)).toBe(plain);
    expect(fullPace([], orderX, 60)).toBe(orderX);
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

describe("how far a line's batches reach in a round", () => {
  const ROUND = T0 + 10_000;

  it("starts each round from its oldest waiting listener, remembering how far the round before reached", () => {
    const first = lineReach(undefined, ROUND + 30, S0 + 5);
    expect(first).toEqual({ round: ROUND, from: S0 + 5, reach: S0 + 5, lastSpan: null });
    expect(expectedUntil(first)).toBeNull();
    // Later syncs of the round find the same reach, and move it on.
    first.reach = S0 + 7.5;
    expect(lineReach(first, ROUND + 900, S0 + 6)).toBe(first);
    const next = lineReach(first, ROUND + 1_020, S0 + 7);
    expect(next).toEqual({ round: ROUND + 1_000, from: S0 + 7, reach: S0 + 7, lastSpan: 2.5 });
    expect(expectedUntil(next)).toBe(S0 + 9.5);
  });

  it("forgets a round that is not the one just before, or that paced nobody", () => {
    const old = { round: ROUND - 2_000, from: S0 + 3, reach: S0 + 6, lastSpan: null };
    expect(lineReach(old, ROUND + 10, S0 + 6).lastSpan).toBeNull();
    const idle = { round: ROUND - 1_000, from: S0 + 3, reach: S0 + 3, lastSpan: 1 };
    expect(lineReach(idle, ROUND + 10, S0 + 3).lastSpan).toBeNull();
  });

  it("has the first batch of a round call its listeners with the later, longer batches of the round", () => {
    // Shard E is first to sync: one listener, at 7.2 s. Shard F syncs later, ordered through
    // 8.5 s; the round before reached 2 s past its oldest, as this one does.
    const e: ArrivalBin[] = [{ bin: S0 + 7, firstSeq: 1, count: 1 }];
    const f: ArrivalBin[] = [
      { bin: S0 + 7, firstSeq: 1, count: 1 },
      { bin: S0 + 8, firstSeq: 2, count: 2 },
    ];
    const reach = lineReach({ round: T0 + 9_000, from: S0 + 5, reach: S0 + 7, lastSpan: null }, T0 + 10_010, S0 + 7);
    const ms = [0, 200, 400, 600, 800];
    const paceF = paceByArrival(f, 0, 3, S0 + 7, WINDOW, S0 + 9);
    expect(cursorsAt(3, paceF, ms)).toEqual([0, 0, 1, 2, 3]);
    // Over its own batch, E calls its listener only as the window closes, after F has called
    // one who arrived 1.5 s later.
    expect(cursorsAt(1, paceByArrival(e, 0, 1, S0 + 7, WINDOW), ms)).toEqual([0, 0, 0, 0, 1]);
    // Paced to where the round is expected to reach, E calls it when F calls its own of second 7.
    expect(cursorsAt(1, paceByArrival(e, 0, 1, S0 + 7, WINDOW, expectedUntil(reach)), ms)).toEqual([0, 0, 1, 1, 1]);
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
    // The 11th's share of second 4 (its first tenth) ends only at 4.1 s.
    expect(lastArrivedBefore(bins, 0, S0 + 4.05)).toBe(10);
    expect(lastArrivedBefore(bins, 0, S0 + 4.1)).toBe(11);
    expect(lastArrivedBefore(bins, 12, S0 + 4.05)).toBe(12);
    // The only listener of a second may have come at any moment of it.
    expect(lastArrivedBefore([{ bin: S0 + 5, firstSeq: 1, count: 1 }], 0, S0 + 5.9)).toBe(0);
    expect(lastArrivedBefore([{ bin: S0 + 5, firstSeq: 1, count: 1 }], 0, S0 + 6)).toBe(1);
    expect(lastArrivedBefore(bins, 0, S0 + 9)).toBe(20);
  });

  it("calls at once only a batch that ends the line within the oldest waiting second", () => {
    expect(callAtOnce(bins, 10, S0 + 3.2, true)).toBe(true);
    expect(callAtOnce(bins, 11, S0 + 3.2, true)).toBe(false);
    expect(callAtOnce(bins, 10, S0 + 3.2, false)).toBe(false);
    expect(callAtOnce(bins, 10, null, true)).toBe(false);
  });
});

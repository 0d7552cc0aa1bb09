import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ledger } from "../../src/policy/ledger.ts";
import type { LedgerConfig } from "../../src/policy/ledger-state.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { UNLIMITED_RATE } from "../../src/policy/shard.ts";
import { permute, rankOf, seedFrom } from "../../src/policy/shuffle.ts";

const START = Date.UTC(2026, 10, 22, 19);
const timings = { passTtlMs: 600_000, claimWindowMs: 60_000, ticketTtlMs: 3_600_000 };

describe("the seeded permutation", () => {
  it("is a permutation of 0..n-1 for any n and seed (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: 0, max: 0xffffffff }), (n, seed) => {
        const seen = new Set<number>();
        for (let i = 0; i < n; i++) {
          const p = permute(i, n, seed);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThan(n);
          seen.add(p);
        }
        expect(seen.size).toBe(n);
      }),
      { numRuns: 60 },
    );
  });

  it("depends on the seed, and the same seed always gives the same order", () => {
    const order = (seed: number) => Array.from({ length: 50 }, (_, i) => permute(i, 50, seed));
    expect(order(7)).toEqual(order(7));
    expect(order(7)).not.toEqual(order(8));
    expect(order(7)).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("leaves sequence numbers outside the draw where they are", () => {
    const draw = { seed: 1, from: 10, to: 20 };
    expect(rankOf(10, draw)).toBe(10);
    expect(rankOf(21, draw)).toBe(21);
    expect(rankOf(15, draw)).toBeGreaterThan(10);
    expect(rankOf(15, draw)).toBeLessThanOrEqual(20);
    expect(seedFrom(() => 0.5)).toBe(0x8000_0000);
  });
});

/** A shard's ledger holding everyone until START, then calling one at a time. */
function prequeue(shuffleSeed: number | null, arrivals: number, later: number) {
  const store = new MemoryLedgerStore();
  let ids = 0;
  const config = (capacity: number): LedgerConfig => ({
    capacity,
    admitPerMinute: UNLIMITED_RATE,
    mode: "open",
    callThrough: null,
    startsAt: START,
    shuffleSeed,
  });
  const ledger = new Ledger(
    store,
    { ...config(0), mode: "hold" },
    timings,
    { newId: () => `s${++ids}` },
    START - 60_000,
  );
  const subs: { sub: string; seq: number }[] = [];
  for (let k = 0; k < arrivals; k++)
    subs.push({ sub: `p${k}`, seq: ledger.join(`p${k}`, START - 50_000 + k * 1_000).seq });
  for (let k = 0; k < later; k++) subs.push({ sub: `l${k}`, seq: ledger.join(`l${k}`, START + 1_000 + k).seq });
  // Seats come free one at a time after the start: record who is called, in order.
  const called: string[] = [];
  for (let seats = 1; seats <= subs.length; seats++) {
    ledger.setConfig(config(seats), START + 10_000 + seats);
    for (const l of subs) {
      if (called.includes(l.sub)) continue;
      const out = ledger.claim(l.sub, l.seq, START + 10_000 + seats);
      if (out.kind === "admitted") called.push(l.sub);
    }
  }
  return { called, ledger, subs, store };
}

describe("a fair start", () => {
  it("without a shuffle, calls the prequeue in arrival order, then later arrivals", () => {
    const { called } = prequeue(null, 6, 2);
    expect(called).toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "l0", "l1"]);
  });

  it("with a shuffle, calls the prequeue in the order the seed draws, then later arrivals behind them", () => {
    const seed = 0xc0ffee;
    const { called, ledger } = prequeue(seed, 8, 2);
    const draw = ledger.counters.draw!;
    expect(draw).toEqual({ seed, from: 0, to: 8 });
    // The order is the seed's: anyone can redraw it from the recorded seed.
    const expected = Array.from({ length: 8 }, (_, k) => `p${k}`).sort(
      (a, b) => rankOf(Number(a.slice(1)) + 1, draw) - rankOf(Number(b.slice(1)) + 1, draw),
    );
    expect(called.slice(0, 8)).toEqual(expected);
    expect(called.slice(0, 8)).not.toEqual(["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"]);
    expect(called.slice(8)).toEqual(["l0", "l1"]);
    expect(prequeue(seed, 8, 2).called).toEqual(called);
  });

  it("counts a shuffled prequeue as one second just before the start", () => {
    const store = new MemoryLedgerStore();
    const config = {
      capacity: 0,
      admitPerMinute: UNLIMITED_RATE,
      mode: "hold" as const,
      startsAt: START,
      shuffleSeed: 7,
    };
    const ledger = new Ledger(store, config, timings, { newId: () => "s" }, START - 60_000);
    for (let k = 0; k < 5; k++) ledger.join(`p${k}`, START - 50_000 + k * 7_000);
    expect(store.arrivalBins(0)).toEqual([{ bin: START / 1000 - 1, firstSeq: 1, count: 5 }]);
  });
});

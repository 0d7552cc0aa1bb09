import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ledger } from "../../src/policy/ledger.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import {
  MAX_SECONDS_PER_STEP,
  MIN_PACE_STEP_MS,
  nextPaceStep,
  nextSyncAt,
  PACE_DELAY_MS,
  PACE_STEP_MS,
  paceStepMs,
  pacedThrough,
  paceWindow,
  roundStart,
  SYNC_INTERVAL_MS,
  syncDue,
} from "../../src/policy/rounds.ts";
import { UNLIMITED_RATE } from "../../src/policy/shard.ts";

const T0 = Date.UTC(2026, 0, 1); // a round starts here

describe("sync rounds", () => {
  it("makes a sync due once a new round has begun, however recent the last sync", () => {
    expect(syncDue(T0 + 10, T0 + 990)).toBe(false);
    expect(syncDue(T0 + 990, T0 + 1_000)).toBe(true);
    expect(syncDue(T0 + 999, T0 + 1_001)).toBe(true);
    expect(syncDue(-Infinity, T0)).toBe(true);
  });

  it("wakes a busy shard at the start of the round after its last sync", () => {
    expect(nextSyncAt(T0 + 350, T0 + 400)).toBe(T0 + 1_000);
    expect(nextSyncAt(T0 + 350, T0 + 2_500)).toBe(T0 + 2_500); // overdue: now
    expect(roundStart(T0 + 1_999)).toBe(T0 + 1_000);
  });
});

describe("paced calls", () => {
  const pace = { from: 10, ...paceWindow(T0 + 37) };

  it("spreads a round's calls from PACE_DELAY_MS after its start to the next round", () => {
    expect(pace).toEqual({ from: 10, start: T0 + PACE_DELAY_MS, end: T0 + SYNC_INTERVAL_MS });
    expect(pacedThrough(30, pace, T0 + 100)).toBe(10);
    expect(pacedThrough(30, pace, T0 + PACE_DELAY_MS + (SYNC_INTERVAL_MS - PACE_DELAY_MS) / 2)).toBe(20);
    expect(pacedThrough(30, pace, T0 + SYNC_INTERVAL_MS)).toBe(30);
    expect(pacedThrough(30, null, T0)).toBe(30);
  });

  it("never goes back, never passes the order, and reaches it at the window's end (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.integer({ min: 0, max: 1_500 }),
        fc.integer({ min: 0, max: 1_500 }),
        (from, n, a, b) => {
          const p = { from, start: T0 + PACE_DELAY_MS, end: T0 + SYNC_INTERVAL_MS };
          const [early, late] = a <= b ? [a, b] : [b, a];
          const x = pacedThrough(from + n, p, T0 + early);
          const y = pacedThrough(from + n, p, T0 + late);
          expect(x).toBeGreaterThanOrEqual(from);
          expect(y).toBeGreaterThanOrEqual(x);
          expect(y).toBeLessThanOrEqual(from + n);
          expect(pacedThrough(from + n, p, p.end)).toBe(from + n);
        },
      ),
    );
  });

  it("wakes the shard every PACE_STEP_MS until the window ends, and not after", () => {
    expect(nextPaceStep(30, pace, T0)).toBe(pace.start);
    expect(nextPaceStep(30, pace, T0 + 500)).toBe(T0 + 500 + PACE_STEP_MS);
    expect(nextPaceStep(30, pace, T0 + 950)).toBe(pace.end);
    expect(nextPaceStep(30, pace, pace.end)).toBeNull();
    expect(nextPaceStep(10, pace, T0 + 500)).toBeNull(); // nothing to pace
  });

  it("wakes a shard draining many seconds of arrivals often enough to call a quarter second of them at a time", () => {
    // A round's usual batch: 2 s of arrivals over the 800 ms window.
    const usual = { ...pace, arrival: { from: 100, until: 102 } };
    expect(paceStepMs(usual)).toBe(PACE_STEP_MS);
    // 30 s of arrivals in one window: 0.25 s of them every 6.7 ms, so every MIN_PACE_STEP_MS.
    expect(paceStepMs({ ...pace, arrival: { from: 100, until: 130 } })).toBe(MIN_PACE_STEP_MS);
    // 5 s: a quarter second every 40 ms.
    const drain = { ...pace, arrival: { from: 100, until: 105 } };
    expect(paceStepMs(drain)).toBe(40);
    expect(nextPaceStep(30, drain, T0 + 500)).toBe(T0 + 540);
    expect(paceStepMs({ ...pace, arrival: { from: 100, until: 100 + MAX_SECONDS_PER_STEP * 8 } })).toBe(PACE_STEP_MS);
  });
});

describe("a ledger calling a paced batch", () => {
  const timings = { passTtlMs: 60_000, claimWindowMs: 5_000, ticketTtlMs: 3_600_000 };
  function shardLedger() {
    const store = new MemoryLedgerStore();
    let ids = 0;
    const config = { capacity: 0, admitPerMinute: UNLIMITED_RATE, mode: "open" as const, callThrough: 0 };
    const ledger = new Ledger(store, config, timings, { newId: () => `sid-${++ids}` }, T0);
    return { ledger, store };
  }

  it("calls the batch as the window passes, and asks to be woken for it", () => {
    const { ledger } = shardLedger();
    for (const sub of ["a", "b", "c", "d"]) ledger.join(sub, T0 + 10);
    ledger.setConfig(
      {
        capacity: 4,
        admitPerMinute: UNLIMITED_RATE,
        mode: "open",
        callThrough: 4,
        pace: { from: 0, ...paceWindow(T0 + 1_050) },
      },
      T0 + 1_050,
    );
    expect(ledger.counters.cursor).toBe(0);
    expect(ledger.nextWake(T0 + 1_050)).toBe(T0 + 1_000 + PACE_DELAY_MS);
    ledger.settle(T0 + 1_600);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.nextWake(T0 + 1_600)).toBe(T0 + 1_600 + PACE_STEP_MS);
    ledger.settle(T0 + 2_000);
    expect(ledger.counters.cursor).toBe(4);
  });

  it("keeps the seats of calls still to come from a late claim", () => {
    const { ledger } = shardLedger();
    const a = ledger.join("a", T0);
    ledger.join("b", T0);
    // a is called, and its reservation lapses unclaimed.
    ledger.setConfig({ capacity: 1, admitPerMinute: UNLIMITED_RATE, mode: "open", callThrough: 1 }, T0);
    expect(ledger.counters.cursor).toBe(1);
    ledger.settle(T0 + 6_000);
    expect(ledger.counters.reserved).toBe(0);
    // The next order calls b over the round; a's late claim may not take b's seat meanwhile.
    const pace = { from: 1, ...paceWindow(T0 + 6_000) };
    ledger.setConfig({ capacity: 1, admitPerMinute: UNLIMITED_RATE, mode: "open", callThrough: 2, pace }, T0 + 6_000);
    expect(ledger.claim("a", a.seq, T0 + 6_100)).toEqual({ kind: "waiting", reason: "full" });
    ledger.settle(T0 + 7_000);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.claim("b", 2, T0 + 7_100).kind).toBe("admitted");
  });
});

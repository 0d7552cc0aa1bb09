import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GlobalView } from "../../src/policy/protocol.ts";
import { aheadOf, estimatePlace, NOTICE_SECONDS } from "../../src/policy/estimate.ts";
import type { SeatSupply } from "../../src/policy/returns.ts";

const S0 = 1_767_225_600; // a whole second (epoch seconds)
const ms = (second: number, offset = 0) => (S0 + second) * 1000 + offset;
/** When the polls in these tests are answered. */
const NOW = ms(3, 500);

function view(over: Partial<GlobalView> = {}): GlobalView {
  return {
    mode: "open",
    capacity: 1_000,
    admitPerMinute: 600,
    shards: 4,
    maxWaitSeconds: null,
    maxQueue: null,
    startsAt: null,
    recordingUrl: null,
    branding: { title: null, logoUrl: null, accentColor: null, message: null },
    challengeBits: 0,
    cursors: { 0: 10, 1: 20, 2: 30, 3: 40 },
    paces: {},
    binStart: S0,
    remaining: [100, 200, 300],
    arrivalsPerSecond: 50,
    flowPerSecond: 25,
    live: 1_000,
    revoked: [],
    at: ms(3),
    asOf: ms(3),
    ...over,
  };
}

describe("estimatePlace", () => {
  it("says the turn has come when the sequence number is at or below the shard's cursor", () => {
    expect(estimatePlace({ shard: 1, seq: 20, at: ms(1) }, view(), NOW)).toEqual({
      position: null,
      ahead: null,
      etaSeconds: 0,
    });
    expect(estimatePlace({ shard: 1, seq: 3, at: ms(1) }, view(), NOW)).toEqual({
      position: null,
      ahead: null,
      etaSeconds: 0,
    });
  });

  it("counts those waiting from earlier seconds plus the share of its own second that came before it", () => {
    // Second 2, a quarter of the way in: 100 + 200 + 0.25 × 300.
    const e = estimatePlace({ shard: 0, seq: 11, at: ms(2, 250) }, view(), NOW);
    expect(e.ahead).toBe(375);
    expect(e.position).toBe(376);
    // Position ÷ flow, plus the time to notice the turn and claim.
    expect(e.etaSeconds).toBeCloseTo(376 / 25 + NOTICE_SECONDS);
  });

  it("counts seconds the view does not reach yet at the arrival rate", () => {
    // Second 5: all three known seconds, seconds 3 and 4 at 50/s, half of second 5 at 50/s.
    expect(aheadOf({ shard: 0, seq: 11, at: ms(5, 500) }, view())).toBe(600 + 100 + 25);
  });

  it("counts nobody from other shards ahead of an arrival older than every waiting second", () => {
    expect(aheadOf({ shard: 0, seq: 11, at: ms(-3) }, view())).toBe(0);
    expect(estimatePlace({ shard: 0, seq: 11, at: ms(-3) }, view(), NOW).position).toBe(1);
  });

  it("never counts fewer than those waiting ahead on its own shard", () => {
    // 500 ahead on shard 0 alone, more than the per-second counts say.
    const e = estimatePlace({ shard: 0, seq: 511, at: ms(0, 100) }, view(), NOW);
    expect(e.ahead).toBe(500);
  });

  it("is exact from the cursor when the room has one shard", () => {
    const one = view({ shards: 1, cursors: { 0: 10 }, remaining: [5_000] });
    expect(estimatePlace({ shard: 0, seq: 18, at: ms(0, 900) }, one, NOW).ahead).toBe(7);
  });

  it("has no estimate when the room is not open", () => {
    expect(estimatePlace({ shard: 0, seq: 11, at: ms(1) }, view({ mode: "hold" }), NOW).etaSeconds).toBeNull();
    expect(estimatePlace({ shard: 0, seq: 11, at: ms(1) }, view({ mode: "closed" }), NOW).etaSeconds).toBeNull();
  });

  it("uses the configured rate while nothing flows and seats are free, and has no estimate when full", () => {
    const free = view({ flowPerSecond: 0, live: 10, admitPerMinute: 120 });
    const e = estimatePlace({ shard: 0, seq: 11, at: ms(0) }, free, NOW);
    expect(e.etaSeconds).toBeCloseTo(e.position! / 2 + NOTICE_SECONDS);
    expect(estimatePlace({ shard: 0, seq: 11, at: ms(0) }, view({ flowPerSecond: 0 }), NOW).etaSeconds).toBeNull();
  });

  describe("with the seats coming free (the view's supply)", () => {
    /** Second 2, a quarter of the way in: 376th in line (as above). */
    const ticket = { shard: 0, seq: 11, at: ms(2, 250) };
    const supply = (over: Partial<SeatSupply> = {}): SeatSupply => ({
      reserved: 0,
      from: ms(0),
      returning: [],
      leavesPerSecond: 0,
      releaseMs: 30_000,
      lapsesPerSecond: 0,
      ...over,
    });

    it("is the flow's estimate while the seats free now are enough for everyone up to it", () => {
      const e = estimatePlace(ticket, view({ live: 500, supply: supply({ reserved: 100 }) }), NOW);
      expect(e.etaSeconds).toBeCloseTo(376 / 25 + NOTICE_SECONDS);
    });

    it("waits for seats given back to come free when the line reaches beyond the free ones", () => {
      // 100 seats free now; the other 276 come free over 10 s to 20 s: by 20 s, 16.5 s from now
      // (the flow alone would say 15 s).
      const v = view({ live: 850, supply: supply({ reserved: 50, returning: [0, 276] }) });
      expect(estimatePlace(ticket, v, NOW).etaSeconds).toBeCloseTo(16.5 + NOTICE_SECONDS, 1);
    });

    it("once the room is full, moves at the pace seats come free, not at the flow of the last minute", () => {
      // 10 seats given back a second, each free within 30 s: 376 seats take 15 + 37.6 s.
      const v = view({ live: 1_000, supply: supply({ leavesPerSecond: 10 }) });
      expect(estimatePlace(ticket, v, NOW).etaSeconds).toBeCloseTo(52.6 + NOTICE_SECONDS, 1);
      // And the rate bounds it even if nothing flowed lately.
      const idle = view({ live: 1_000, flowPerSecond: 0, supply: supply({ lapsesPerSecond: 1_000 }) });
      expect(estimatePlace(ticket, idle, NOW).etaSeconds).toBeCloseTo(376 / 10 + NOTICE_SECONDS);
    });

    it("has no estimate when the room is full and no seat is foreseen to come free", () => {
      const v = view({ live: 1_000, supply: supply({ returning: [0, 100] }) });
      expect(estimatePlace(ticket, v, NOW).etaSeconds).toBeNull();
    });
  });

  it("gives the same answer for the same view, time after time", () => {
    const v = view();
    const a = estimatePlace({ shard: 2, seq: 31, at: ms(1, 400) }, v, NOW);
    const b = estimatePlace({ shard: 2, seq: 31, at: ms(1, 400) }, v, NOW);
    expect(b).toEqual(a);
  });

  it("never puts a later arrival on the same shard ahead of an earlier one (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 0, maxLength: 30 }),
        fc.integer({ min: -5, max: 40 }),
        fc.integer({ min: 0, max: 30_000 }),
        fc.integer({ min: 1, max: 1_000 }),
        fc.integer({ min: 0, max: 5_000 }),
        (remaining, firstSecond, gapMs, gapSeq, arrivals) => {
          const v = view({ remaining, arrivalsPerSecond: arrivals / 10 });
          const at = ms(firstSecond, 0);
          const a = estimatePlace({ shard: 0, seq: 11, at }, v, NOW);
          const b = estimatePlace({ shard: 0, seq: 11 + gapSeq, at: at + gapMs }, v, NOW);
          expect(b.position!).toBeGreaterThanOrEqual(a.position!);
          expect(a.position!).toBeGreaterThanOrEqual(1);
          expect(b.etaSeconds!).toBeGreaterThanOrEqual(a.etaSeconds!);
        },
      ),
    );
  });
});

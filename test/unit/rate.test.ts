import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Bucket, burstOf, msUntilToken, refill } from "../../src/policy/rate.ts";

const T0 = 1_700_000_000_000;

describe("burstOf", () => {
  it("is one sixth of a minute's admissions, rounded up", () => {
    expect(burstOf(60)).toBe(10);
    expect(burstOf(600)).toBe(100);
    expect(burstOf(7)).toBe(2);
    expect(burstOf(61)).toBe(11);
  });

  it("is at least 1", () => {
    expect(burstOf(1)).toBe(1);
    expect(burstOf(6)).toBe(1);
  });
});

describe("refill", () => {
  it("adds admitPerMinute / 60 tokens per second", () => {
    // 60 per minute: one token per second.
    expect(refill({ tokens: 0, at: T0 }, 60, T0 + 1_000)).toEqual({ tokens: 1, at: T0 + 1_000 });
    expect(refill({ tokens: 0, at: T0 }, 60, T0 + 2_500).tokens).toBeCloseTo(2.5, 9);
    // 6 per minute: one token every 10 s.
    expect(refill({ tokens: 0, at: T0 }, 6, T0 + 5_000).tokens).toBeCloseTo(0.5, 9);
  });

  it("stops at the burst", () => {
    expect(refill({ tokens: 0, at: T0 }, 60, T0 + 3_600_000)).toEqual({ tokens: 10, at: T0 + 3_600_000 });
    expect(refill({ tokens: 9.5, at: T0 }, 60, T0 + 1_000).tokens).toBe(10);
  });

  it("leaves the bucket as it is when time has not moved", () => {
    expect(refill({ tokens: 0.25, at: T0 }, 60, T0)).toEqual({ tokens: 0.25, at: T0 });
  });

  it("neither adds nor removes tokens when time goes backwards, and keeps its timestamp", () => {
    expect(refill({ tokens: 3, at: T0 }, 60, T0 - 10_000)).toEqual({ tokens: 3, at: T0 });
  });

  it("does not modify the bucket passed in", () => {
    const bucket: Bucket = { tokens: 0, at: T0 };
    refill(bucket, 60, T0 + 5_000);
    expect(bucket).toEqual({ tokens: 0, at: T0 });
  });

  it("a lowered rate takes effect at once: tokens beyond its burst are dropped", () => {
    // Full at 600/min (burst 100), then the room is set to 60/min (burst 10).
    const full: Bucket = { tokens: burstOf(600), at: T0 };
    expect(refill(full, 60, T0).tokens).toBe(burstOf(60));
    // Ten seconds later: the new burst, not a token more.
    expect(refill(full, 60, T0 + 10_000).tokens).toBe(burstOf(60));
  });

  it("within any bucket history, admissions in a window stay within the rate in force plus its burst (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6_000 }),
        fc.integer({ min: 1, max: 6_000 }),
        fc.integer({ min: 1_000, max: 120_000 }),
        (before, after, window) => {
          // A bucket full at the old rate, lowered or raised, then spent as fast as it allows.
          let bucket: Bucket = { tokens: burstOf(before), at: T0 };
          let admitted = 0;
          for (let t = 0; t <= window; t += 100) {
            bucket = refill(bucket, after, T0 + t);
            const n = Math.floor(bucket.tokens);
            admitted += n;
            bucket = { tokens: bucket.tokens - n, at: bucket.at };
          }
          expect(admitted).toBeLessThanOrEqual(burstOf(after) + Math.ceil((window * after) / 60_000));
        },
      ),
    );
  });

  it("never exceeds the burst and never loses tokens as time passes (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 10_000_000 }),
        (apm, fraction, elapsed) => {
          const start = { tokens: fraction * burstOf(apm), at: T0 };
          const next = refill(start, apm, T0 + elapsed);
          expect(next.tokens).toBeLessThanOrEqual(burstOf(apm));
          expect(next.tokens).toBeGreaterThanOrEqual(start.tokens);
          expect(next.at).toBe(T0 + elapsed);
        },
      ),
    );
  });

  it("refilling in two steps equals refilling once (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        (apm, a, b) => {
          const start = { tokens: 0, at: T0 };
          const twoSteps = refill(refill(start, apm, T0 + a), apm, T0 + a + b);
          const once = refill(start, apm, T0 + a + b);
          expect(twoSteps.at).toBe(once.at);
          expect(twoSteps.tokens).toBeCloseTo(once.tokens, 6);
        },
      ),
    );
  });
});

describe("msUntilToken", () => {
  it("is 0 when a whole token is there", () => {
    expect(msUntilToken({ tokens: 1, at: T0 }, 60)).toBe(0);
    expect(msUntilToken({ tokens: 4.2, at: T0 }, 1)).toBe(0);
  });

  it("is the time to refill the missing part of one token", () => {
    expect(msUntilToken({ tokens: 0, at: T0 }, 60)).toBe(1_000);
    expect(msUntilToken({ tokens: 0.5, at: T0 }, 60)).toBe(500);
    expect(msUntilToken({ tokens: 0, at: T0 }, 6)).toBe(10_000);
    expect(msUntilToken({ tokens: 0, at: T0 }, 1)).toBe(60_000);
  });

  it("rounds up to a whole millisecond", () => {
    // 60,000 / 7 = 8571.43 ms
    expect(msUntilToken({ tokens: 0, at: T0 }, 7)).toBe(8_572);
  });

  it("after that many ms the refilled bucket holds a whole token, and not 1 ms earlier (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (apm, tokens) => {
          const bucket = { tokens, at: T0 };
          const wait = msUntilToken(bucket, apm);
          expect(wait).toBeGreaterThanOrEqual(1);
          expect(refill(bucket, apm, T0 + wait).tokens).toBeGreaterThanOrEqual(1);
          if (wait > 1) expect(refill(bucket, apm, T0 + wait - 1).tokens).toBeLessThan(1);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("bucket over time", () => {
  it("spending a token whenever one is there gives at most admitPerMinute + burst in any 60 s (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 200 }),
        (apm, gaps) => {
          let bucket: Bucket = { tokens: burstOf(apm), at: T0 };
          let now = T0;
          const spentAt: number[] = [];
          for (const gap of gaps) {
            now += gap;
            bucket = refill(bucket, apm, now);
            const take = Math.floor(bucket.tokens);
            bucket = { tokens: bucket.tokens - take, at: bucket.at };
            for (let i = 0; i < take; i++) spentAt.push(now);
          }
          for (const start of spentAt) {
            const inWindow = spentAt.filter((t) => t >= start && t < start + 60_000).length;
            expect(inWindow).toBeLessThanOrEqual(apm + burstOf(apm));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

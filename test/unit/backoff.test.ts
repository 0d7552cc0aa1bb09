/**
 * The page scripts' failure backoff (src/pages/waiting/backoff.ts):
 * exponential with full jitter, capped at a minute, never sooner than a
 * Retry-After; and its JavaScript twin in the page scripts, which must give
 * the same waits for the same random draws.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BACKOFF_CAP_SECONDS,
  BACKOFF_JS,
  backoffSeconds,
  MAX_RETRY_AFTER_SECONDS,
  retryAfterSeconds,
} from "../../src/pages/waiting/backoff.ts";
import { CHALLENGE_SCRIPT } from "../../src/pages/challenge/script.ts";
import { PAGE_SCRIPT } from "../../src/pages/waiting/script.ts";

interface BackoffLib {
  backoffSeconds: typeof backoffSeconds;
  retryAfterSeconds: typeof retryAfterSeconds;
}
const js = new Function(`"use strict";${BACKOFF_JS}; return { backoffSeconds, retryAfterSeconds };`)() as BackoffLib;

/** A `random` that returns the given draws in turn. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

describe("backoffSeconds: exponential with full jitter", () => {
  it("draws from 0 up to base × 2^failures, doubling with each failure in a row", () => {
    expect(backoffSeconds(1, 5, null, draws(0))).toBe(0);
    expect(backoffSeconds(1, 5, null, draws(0.5))).toBe(5);
    expect(backoffSeconds(1, 5, null, draws(0.999))).toBeCloseTo(9.99, 5);
    expect(backoffSeconds(2, 5, null, draws(0.5))).toBe(10);
    expect(backoffSeconds(3, 1, null, draws(0.5))).toBe(4);
  });

  it("never draws more than a minute, however many failures", () => {
    expect(backoffSeconds(4, 5, null, draws(0.999))).toBeLessThan(BACKOFF_CAP_SECONDS);
    expect(backoffSeconds(1_000, 1, null, draws(0.5))).toBe(BACKOFF_CAP_SECONDS / 2);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 600, noNaN: true }), (n, base) => {
        const wait = backoffSeconds(n, base, null);
        return wait >= 0 && wait <= BACKOFF_CAP_SECONDS;
      }),
    );
  });

  it("reads a missing or nonsensical base as one second, and zero failures as the first", () => {
    expect(backoffSeconds(1, 0, null, draws(0.5))).toBe(1);
    expect(backoffSeconds(1, Number.NaN, null, draws(0.5))).toBe(1);
    expect(backoffSeconds(0, 3, null, draws(0.5))).toBe(backoffSeconds(1, 3, null, draws(0.5)));
  });

  it("spreads tabs that failed together over the whole window", () => {
    const waits = Array.from({ length: 2_000 }, () => backoffSeconds(3, 1, null));
    const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
    expect(Math.min(...waits)).toBeLessThan(0.5);
    expect(Math.max(...waits)).toBeGreaterThan(7.5);
    expect(mean).toBeGreaterThan(3.5);
    expect(mean).toBeLessThan(4.5);
  });
});

describe("backoffSeconds: a Retry-After is a floor", () => {
  it("never asks sooner than the server said, and adds at most 20 % of it", () => {
    expect(backoffSeconds(1, 1, 30, draws(0, 0))).toBe(30);
    expect(backoffSeconds(1, 1, 30, draws(0, 0.999))).toBeCloseTo(35.994, 5);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 0, max: MAX_RETRY_AFTER_SECONDS }),
        (n, retryAfter) => {
          const wait = backoffSeconds(n, 2, retryAfter);
          return wait >= retryAfter && wait <= Math.max(retryAfter * 1.2, BACKOFF_CAP_SECONDS);
        },
      ),
    );
  });

  it("keeps backing off when the exponential wait is already longer", () => {
    expect(backoffSeconds(6, 1, 2, draws(0.9, 0))).toBeCloseTo(54, 5);
  });

  it("believes at most ten minutes of it", () => {
    expect(backoffSeconds(1, 1, 86_400, draws(0, 0))).toBe(MAX_RETRY_AFTER_SECONDS);
  });
});

describe("retryAfterSeconds", () => {
  const now = Date.parse("2026-11-22T10:00:00Z");

  it("reads delay-seconds and HTTP dates, a past date as now", () => {
    expect(retryAfterSeconds("7", now)).toBe(7);
    expect(retryAfterSeconds(" 0 ", now)).toBe(0);
    expect(retryAfterSeconds("Sun, 22 Nov 2026 10:00:30 GMT", now)).toBe(30);
    expect(retryAfterSeconds("Sun, 22 Nov 2026 09:00:00 GMT", now)).toBe(0);
  });

  it("is null when absent or unreadable", () => {
    expect(retryAfterSeconds(null, now)).toBeNull();
    expect(retryAfterSeconds("", now)).toBeNull();
    expect(retryAfterSeconds("soon", now)).toBeNull();
  });
});

describe("the page scripts' copy", () => {
  it("gives the same waits as the server's for the same draws", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2, max: 100 }),
        fc.oneof(fc.constant(0), fc.double({ min: 0, max: 120, noNaN: true })),
        fc.oneof(fc.constant(null), fc.integer({ min: -1, max: 100_000 })),
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 2, maxLength: 2 }),
        (n, base, retryAfter, values) => {
          expect(js.backoffSeconds(n, base, retryAfter, draws(...values))).toBe(
            backoffSeconds(n, base, retryAfter, draws(...values)),
          );
        },
      ),
    );
  });

  it("reads Retry-After the same way", () => {
    const now = Date.now();
    for (const header of [null, "", "12", "x", new Date(now + 90_000).toUTCString(), "Thu, 01 Jan 1970 00:00:00 GMT"]) {
      expect(js.retryAfterSeconds(header, now), String(header)).toBe(retryAfterSeconds(header, now));
    }
  });

  it("is part of both page scripts", () => {
    expect(PAGE_SCRIPT).toContain(BACKOFF_JS);
    expect(CHALLENGE_SCRIPT).toContain(BACKOFF_JS);
  });
});

describe("the waiting page's poll", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** The waiting page's script on a stand-in closed-room page that polls every 5 s; the poll times it made. */
  function openWaitingPage(answers: (Response | Error)[]) {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0.5);
    const root = {
      dataset: { text: "{}", locale: "en", room: "r1", target: "/rooms/r1/", state: "closed", poll: "5" },
    };
    const document = {
      hidden: false,
      getElementById: (id: string) => (id === "spillway" ? root : null),
      addEventListener: () => undefined,
    };
    const polls: number[] = [];
    const start = Date.now();
    const fetch = () => {
      polls.push(Date.now() - start);
      const next = answers.shift();
      if (next === undefined) return new Promise(() => undefined);
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    };
    const location = { replace: vi.fn(), reload: vi.fn() };
    new Function("document", "fetch", "location", PAGE_SCRIPT)(document, fetch, location);
    return { polls, location };
  }
  const closed = () =>
    new Response(JSON.stringify({ room: "r1", state: "closed", pollAfterSeconds: 5, recordingUrl: null }), {
      status: 200,
    });

  it("backs off after failures, no sooner than a Retry-After, and starts afresh after a success", async () => {
    const page = openWaitingPage([
      new Response("{}", { status: 503, headers: { "retry-after": "20" } }),
      new TypeError("offline"),
      closed(),
      new Response("{}", { status: 500 }),
      new Response("{}", { status: 429, headers: { "retry-after": "8" } }),
    ]);
    await vi.advanceTimersByTimeAsync(60_000);
    // 5 s; then the 503's 20 s (+10 %: 22 s); then a draw of half of 5 × 2² (10 s); after the success 5 s again;
    // then half of 5 × 2¹ (5 s) for the first failure of a new run; then, for the 429, the longer of half of
    // 5 × 2² (10 s) and its Retry-After of 8 s (+10 %).
    expect(page.polls).toEqual([5_000, 27_000, 37_000, 42_000, 47_000, 57_000]);
    expect(page.location.replace).not.toHaveBeenCalled();
    expect(page.location.reload).not.toHaveBeenCalled();
  });

  it("leaves a refused ticket to the page itself", async () => {
    const page = openWaitingPage([new Response("{}", { status: 401 })]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(page.location.replace).toHaveBeenCalledWith("/rooms/r1/");
  });
});

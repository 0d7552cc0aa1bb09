/**
 * The page scripts' failure backoff (src/pages/waiting/backoff.ts):
 * exponential with full jitter, capped at a minute, never sooner than a
 * Retry-After; and the waiting page's bundled script (WAITING_SCRIPT), whose
 * polls must wait what these functions say for the same random draws (the
 * challenge page's are checked in challenge-script.test.ts).
 */
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BACKOFF_CAP_SECONDS,
  backoffSeconds,
  MAX_RETRY_AFTER_SECONDS,
  retryAfterSeconds,
} from "../../src/pages/waiting/backoff.ts";
import { WAITING_SCRIPT } from "../../src/pages/generated/scripts.ts";

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

describe("the waiting page's poll", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  /** The waiting page's script on a stand-in closed-room page that polls every 5 s; the poll times it made. */
  function openWaitingPage(answers: (Response | Error)[], draw = 0.5) {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(draw);
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
    new Function("document", "fetch", "location", WAITING_SCRIPT)(document, fetch, location);
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

  it("waits after failures in a row exactly what backoffSeconds says, for any draw", async () => {
    const failures = [
      { answer: () => new Response("{}", { status: 503, headers: { "retry-after": "20" } }), retryAfter: 20 },
      { answer: () => new TypeError("offline"), retryAfter: null },
      { answer: () => new Response("{}", { status: 500 }), retryAfter: null },
      { answer: () => new Response("{}", { status: 429, headers: { "retry-after": "8" } }), retryAfter: 8 },
      { answer: () => new Response("{}", { status: 502 }), retryAfter: null },
    ];
    for (const draw of [0.1, 0.25, 0.5, 0.77, 0.999]) {
      const page = openWaitingPage(
        failures.map((f) => f.answer()),
        draw,
      );
      await vi.advanceTimersByTimeAsync(600_000);
      // The first poll: 5 s ± 10 %; then each wait as backoffSeconds draws it (timers count whole milliseconds).
      const expected = [Math.trunc(5 * 1000 * (0.9 + draw * 0.2))];
      failures.forEach((f, i) => {
        const wait = backoffSeconds(i + 1, 5, f.retryAfter, () => draw);
        expected.push(expected.at(-1)! + Math.trunc(wait * 1000));
      });
      expect(page.polls, String(draw)).toEqual(expected);
      vi.useRealTimers();
      vi.restoreAllMocks();
    }
  });

  it("leaves a refused ticket to the page itself", async () => {
    const page = openWaitingPage([new Response("{}", { status: 401 })]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(page.location.replace).toHaveBeenCalledWith("/rooms/r1/");
  });
});

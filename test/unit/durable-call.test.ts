/**
 * durableCall: what is retried (a retryable error, on a call safe to repeat),
 * what never is (an overloaded error, an error not marked retryable, a call
 * that must not repeat), how long it backs off (full jitter, bounded), and
 * how a failure is classified. No test waits: sleeps are recorded.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../src/policy/clock.ts";
import {
  BACKOFF_BASE_MS,
  BACKOFF_TOTAL_CAP_MS,
  backoffMs,
  classify,
  durableCall,
  DurableFailure,
  isRetryable,
  MAX_RETRIES,
} from "../../src/edge/durable-call.ts";

/** An error as a Durable Object stub throws it. */
function doError(flags: { retryable?: boolean; overloaded?: boolean; remote?: boolean }): Error {
  return Object.assign(new Error("Durable Object error"), flags);
}

/** A call that fails with `errors` in turn, then answers "ok"; counts its attempts. */
function flaky(...errors: Error[]) {
  let attempts = 0;
  const call = () => {
    attempts += 1;
    const err = errors[attempts - 1];
    return err === undefined ? Promise.resolve("ok") : Promise.reject(err);
  };
  return { call, attempts: () => attempts };
}

/** A sleep that records what it was asked for and returns at once. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: (ms: number) => (waits.push(ms), Promise.resolve()) };
}

async function failureOf(p: Promise<unknown>): Promise<DurableFailure> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DurableFailure);
  return err as DurableFailure;
}

describe("durableCall", () => {
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation(() => undefined);

  it("answers at once when the call succeeds, without waiting", async () => {
    const { call, attempts } = flaky();
    const { waits, sleep } = recordingSleep();
    expect(await durableCall("view", call, { sleep })).toBe("ok");
    expect(attempts()).toBe(1);
    expect(waits).toEqual([]);
  });

  it("retries a retryable error and answers when a retry succeeds", async () => {
    const { call, attempts } = flaky(doError({ retryable: true }), doError({ retryable: true }));
    const { waits, sleep } = recordingSleep();
    expect(await durableCall("claim", call, { sleep, random: () => 0.5 })).toBe("ok");
    expect(attempts()).toBe(3);
    expect(waits).toHaveLength(2);
  });

  it(`makes at most ${MAX_RETRIES + 1} attempts for an error that stays retryable`, async () => {
    const always = doError({ retryable: true });
    const { call, attempts } = flaky(always, always, always, always, always);
    const { sleep } = recordingSleep();
    const failure = await failureOf(durableCall("claim", call, { sleep }));
    expect(attempts()).toBe(MAX_RETRIES + 1);
    expect(failure.attempts).toBe(MAX_RETRIES + 1);
    expect(failure.kind).toBe("unreachable");
    expect(failure.cause).toBe(always);
  });

  it("never retries an overloaded error, even one also marked retryable", async () => {
    for (const err of [doError({ overloaded: true }), doError({ overloaded: true, retryable: true })]) {
      const { call, attempts } = flaky(err, err, err);
      const { waits, sleep } = recordingSleep();
      const failure = await failureOf(durableCall("view", call, { sleep }));
      expect(attempts()).toBe(1);
      expect(waits).toEqual([]);
      expect(failure.kind).toBe("overloaded");
    }
  });

  it("does not retry an error that is not marked retryable (the object's own error, a plain one)", async () => {
    for (const err of [doError({ remote: true }), new Error("boom"), doError({ retryable: false })]) {
      const { call, attempts } = flaky(err, err);
      const failure = await failureOf(durableCall("renew", call, recordingSleep()));
      expect(attempts()).toBe(1);
      expect(failure.kind).toBe("unreachable");
    }
    const remote = await failureOf(durableCall("renew", flaky(doError({ remote: true })).call));
    expect(remote.remote).toBe(true);
  });

  it("does not retry a call that must not repeat (a join), whatever the error", async () => {
    const { call, attempts } = flaky(doError({ retryable: true }), doError({ retryable: true }));
    const failure = await failureOf(durableCall("join", call, { retry: false, ...recordingSleep() }));
    expect(attempts()).toBe(1);
    expect(failure.attempts).toBe(1);
  });

  it("waits between attempts with full jitter from the injected random", async () => {
    const clock = new ManualClock(0, 42);
    const expected = new ManualClock(0, 42);
    const retryable = doError({ retryable: true });
    const { call } = flaky(retryable, retryable, retryable);
    const { waits, sleep } = recordingSleep();
    await failureOf(durableCall("claim", call, { sleep, random: () => clock.random() }));
    const first = Math.floor(expected.random() * BACKOFF_BASE_MS);
    const second = Math.floor(expected.random() * BACKOFF_BASE_MS * 2);
    expect(waits).toEqual([first, second].filter((ms) => ms > 0));
  });
});

describe("backoffMs", () => {
  it("stays within [0, min(base · 2^n, what is left of the cap)) for any random", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 400 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, spent, r) => {
          const ms = backoffMs(n, spent, () => r);
          const bound = Math.min(BACKOFF_BASE_MS * 2 ** n, Math.max(0, BACKOFF_TOTAL_CAP_MS - spent));
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(Math.max(0, bound - 1));
        },
      ),
    );
  });

  it("spreads retries over the whole window (full jitter), seeded", () => {
    const clock = new ManualClock(0, 7);
    const waits = Array.from({ length: 2000 }, () => backoffMs(1, 0, () => clock.random()));
    expect(Math.min(...waits)).toBe(0);
    expect(Math.max(...waits)).toBe(2 * BACKOFF_BASE_MS - 1);
    const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
    expect(mean).toBeGreaterThan(BACKOFF_BASE_MS * 0.8);
    expect(mean).toBeLessThan(BACKOFF_BASE_MS * 1.2);
  });

  it("never waits more than the total cap over one call's retries", () => {
    let spent = 0;
    for (let n = 0; n < 20; n++) spent += backoffMs(n, spent, () => 0.999999);
    expect(spent).toBeLessThanOrEqual(BACKOFF_TOTAL_CAP_MS);
  });
});

describe("classify and isRetryable", () => {
  it("reads Cloudflare's flags: overloaded wins, retryable only without it", () => {
    expect(classify(doError({ overloaded: true }))).toBe("overloaded");
    expect(classify(doError({ retryable: true }))).toBe("unreachable");
    expect(classify("not even an error")).toBe("unreachable");
    expect(isRetryable(doError({ retryable: true }))).toBe(true);
    expect(isRetryable(doError({ retryable: true, overloaded: true }))).toBe(false);
    expect(isRetryable(doError({}))).toBe(false);
    expect(isRetryable(null)).toBe(false);
  });
});

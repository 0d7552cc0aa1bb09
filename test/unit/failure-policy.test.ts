/** The failure policy's pure parts: the jittered Retry-After and the FAILURE_POLICY var. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/policy/clock.ts";
import { failureRetryAfter, parseFailurePolicy, RETRY_AFTER_BASE_SECONDS } from "../../src/policy/failure-policy.ts";

describe("failureRetryAfter", () => {
  it("is a whole number of seconds in [base, 2·base], reaching both ends", () => {
    const clock = new ManualClock(0, 3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const s = failureRetryAfter(() => clock.random());
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(RETRY_AFTER_BASE_SECONDS);
      expect(s).toBeLessThanOrEqual(2 * RETRY_AFTER_BASE_SECONDS);
      seen.add(s);
    }
    expect(seen.size).toBe(RETRY_AFTER_BASE_SECONDS + 1);
    expect(failureRetryAfter(() => 0)).toBe(RETRY_AFTER_BASE_SECONDS);
    expect(failureRetryAfter(() => 0.999999)).toBe(2 * RETRY_AFTER_BASE_SECONDS);
  });
});

describe("parseFailurePolicy", () => {
  it("defaults to closed and accepts recording", () => {
    expect(parseFailurePolicy(undefined)).toBe("closed");
    expect(parseFailurePolicy("")).toBe("closed");
    expect(parseFailurePolicy("closed")).toBe("closed");
    expect(parseFailurePolicy(" recording ")).toBe("recording");
  });

  it("refuses anything else, as every other invalid var is refused", () => {
    expect(() => parseFailurePolicy("open")).toThrow(/FAILURE_POLICY/);
  });
});

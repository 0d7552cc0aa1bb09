import { describe, expect, it } from "vitest";
import { addWaits, noWaits, WAIT_EDGES, waitQuantile, withWait } from "../../src/policy/waits.ts";

describe("the wait histogram", () => {
  it("puts a wait in the first bucket whose upper edge holds it, and beyond the last edge at the end", () => {
    let h = noWaits();
    for (const s of [0, 1, 1.5, 31, 4_000]) h = withWait(h, s);
    expect(h[0]).toBe(2); // 0 s and 1 s
    expect(h[1]).toBe(1); // 1.5 s
    expect(h[WAIT_EDGES.indexOf(45)]).toBe(1); // 31 s
    expect(h[WAIT_EDGES.length]).toBe(1); // beyond an hour
  });

  it("answers a quantile with the upper edge of its bucket, never flattering", () => {
    let h = noWaits();
    for (let k = 0; k < 9; k++) h = withWait(h, 3);
    h = withWait(h, 100);
    expect(waitQuantile(h, 0.5)).toBe(5);
    expect(waitQuantile(h, 0.9)).toBe(5);
    expect(waitQuantile(h, 0.95)).toBe(120);
    expect(waitQuantile(noWaits(), 0.5)).toBeNull();
  });

  it("adds shards' histograms bucket by bucket", () => {
    const a = withWait(noWaits(), 3);
    const b = withWait(withWait(noWaits(), 3), 700);
    const sum = addWaits(a, b);
    expect(sum.reduce((s, n) => s + n, 0)).toBe(3);
    expect(addWaits(undefined, a)).toEqual(a);
  });
});

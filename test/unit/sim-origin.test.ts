import { describe, expect, it } from "vitest";
import { Coordinator } from "../../src/policy/coordinator.ts";
import { CUT } from "../../src/policy/health.ts";
import { MemoryCoordinatorStore } from "../../src/policy/memory-store.ts";
import { Listeners } from "../../sim/listeners.ts";
import { melting, Origin, type OriginModel, overloadedShare } from "../../sim/origin.ts";
import { Stats } from "../../sim/stats.ts";

const T0 = Date.UTC(2026, 0, 1);

describe("the simulator's origin", () => {
  it("answers 503 to the share of the live audience it cannot serve", () => {
    expect(overloadedShare(100_000, 45_000)).toBeCloseTo(0.55);
    expect(overloadedShare(45_000, 45_000)).toBe(0);
    expect(overloadedShare(10_000, 45_000)).toBe(0);
    expect(overloadedShare(0, 0)).toBe(0);
  });

  it("melts evenly from the given second down to its share, and stays there", () => {
    const serves = melting(100_000, 300, 60, 0.45);
    expect(serves(0)).toBe(100_000);
    expect(serves(300)).toBe(100_000);
    expect(serves(330)).toBe(72_500);
    expect(serves(360)).toBe(45_000);
    expect(serves(700)).toBe(45_000);
  });

  /** An origin serving 45k in front of a room of 100k seats, with `live` listeners seated. */
  function setup(live: number) {
    const coordinator = new Coordinator(
      new MemoryCoordinatorStore(),
      { capacity: 100_000, admitPerMinute: 60_000, mode: "open" },
      T0,
    );
    const listeners = new Listeners(0);
    const stats = new Stats(listeners, 1, 100_000, 0, 1);
    stats.live = live;
    const model: OriginModel = { servesAt: () => 45_000, requestsPerListenerPerSecond: 0.25, reportingIsolates: 1 };
    let draws = 0;
    const rand = () => (draws++, 0);
    const deps = { coordinator, stats, listeners, shells: [], rand, t0: T0, cohort: 1, isolates: 1_200 };
    const origin = new Origin(model, { ...deps, sentToRecording: () => 0 });
    return { coordinator, stats, origin, draws: () => draws };
  }

  it("reports the 503s an isolate saw to the real coordinator, which lowers its limits", () => {
    const { coordinator, stats, origin } = setup(100_000);
    origin.report(0, 1_000);
    expect(origin.reports).toBe(1);
    expect(stats.originReports).toBe(1);
    expect(coordinator.health(T0 + 1_000).distress).toBe(1);
    expect(coordinator.limits(T0 + 1_000).capacity).toBe(100_000 * CUT);
  });

  it("sends nothing, and draws nothing, while the origin serves the whole audience", () => {
    const { coordinator, stats, origin, draws } = setup(45_000);
    origin.report(0, 1_000);
    expect(origin.reports).toBe(0);
    expect(stats.originReports).toBe(0);
    expect(draws()).toBe(0);
    expect(coordinator.limits(T0 + 1_000).capacity).toBe(100_000);
  });
});

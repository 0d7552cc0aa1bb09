import { describe, expect, it } from "vitest";
import { ANALYTICS_DOUBLES, analyticsPoint, writeAnalytics } from "../../src/objects/analytics.ts";
import type { Sample } from "../../src/contract/schemas.ts";

const sample: Sample = {
  at: "2026-11-22T19:00:00.000Z",
  live: 40,
  capacity: 50,
  effectiveCapacity: 25,
  queued: 7,
  overflowed: 3,
  admissionsPerMinute: 12,
  arrivalsPerMinute: 30,
  originFactor: 0.5,
};

describe("Analytics Engine", () => {
  it("writes one point per sample, indexed by room, doubles in the documented order", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    writeAnalytics({ ANALYTICS: { writeDataPoint: (p) => void points.push(p!) } }, "demo", sample);
    expect(points).toEqual([{ indexes: ["demo"], blobs: ["demo"], doubles: [40, 50, 25, 7, 12, 30, 0.5, 3] }]);
    expect(analyticsPoint("demo", sample).doubles).toHaveLength(ANALYTICS_DOUBLES.length);
  });

  it("does nothing without the binding, and never throws when a write fails", () => {
    expect(() => writeAnalytics({}, "demo", sample)).not.toThrow();
    const broken = {
      writeDataPoint: () => {
        throw new Error("down");
      },
    };
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      expect(() => writeAnalytics({ ANALYTICS: broken }, "demo", sample)).not.toThrow();
    } finally {
      console.warn = warn;
    }
  });
});

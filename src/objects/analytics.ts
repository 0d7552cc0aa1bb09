/**
 * Workers Analytics Engine, when a dataset is bound as `ANALYTICS`
 * (wrangler.toml: [[analytics_engine_datasets]] binding = "ANALYTICS"): every
 * sample of a room's numbers (every 10 s while it is busy) is also written
 * there, indexed by room, for dashboards beyond the last hour. Without the
 * binding nothing is written and nothing else changes.
 */
import type { Sample } from "../contract/schemas.ts";

/** The order of the doubles in each data point (documented for queries). */
export const ANALYTICS_DOUBLES = [
  "live",
  "capacity",
  "effectiveCapacity",
  "queued",
  "admissionsPerMinute",
  "arrivalsPerMinute",
  "originFactor",
  "overflowed",
] as const;

export function analyticsPoint(room: string, sample: Sample): AnalyticsEngineDataPoint {
  return { indexes: [room], blobs: [room], doubles: ANALYTICS_DOUBLES.map((k) => sample[k]) };
}

/** Write the point when the binding is there; a failure to write never fails the room. */
export function writeAnalytics(env: { ANALYTICS?: AnalyticsEngineDataset }, room: string, sample: Sample): void {
  try {
    env.ANALYTICS?.writeDataPoint(analyticsPoint(room, sample));
  } catch (err) {
    console.warn("analytics write failed", String(err));
  }
}

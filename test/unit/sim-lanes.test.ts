import { describe, expect, it } from "vitest";
import { LANE_BLOCK, laneShard, type LaneSettings } from "../../src/policy/lanes.ts";
import { shardOf } from "../../src/policy/shard.ts";
import { LineLayout, type LineMeasures } from "../../sim/lines.ts";
import { Listeners, quantiles } from "../../sim/listeners.ts";
import { type Scenario, SCENARIOS } from "../../sim/scenarios.ts";
import { SYNC_ROUND_MS, World } from "../../sim/world.ts";

/** A lane's settings, defaults filled in as the config schema does. */
function lane(settings: Partial<LaneSettings>): LaneSettings {
  return { reserved: 0, cap: null, share: null, lend: true, shards: 1, ...settings };
}

/**
 * The lanes scenario made small: 1.5 × `capacity` arrive within 2 min (the
 * first minute three times as fast), 2 % on stage with seats reserved for
 * all of them, 10 % subscribers with strict priority and a cap they reach,
 * the rest general; every listener simulated.
 */
function small(capacity: number, stage: Partial<LaneSettings>): Scenario {
  const base = SCENARIOS.lanes!;
  const total = 1.5 * capacity;
  return {
    ...base,
    cohort: 1,
    capacity,
    admitPerMinute: capacity / 2,
    rate: (s) => (s < 60 ? (0.75 * total) / 60 : (0.25 * total) / 60),
    arrivalSeconds: 120,
    durationSeconds: 180,
    lanes: {
      lanes: {
        stage: lane({ reserved: Math.round(0.032 * capacity), ...stage }),
        priority: lane({ cap: Math.round(0.12 * capacity), shards: 4 }),
      },
      shares: { stage: 0.02, priority: 0.1 },
    },
  };
}

function run(scenario: Scenario, seed = 5): World {
  const world = new World({ scenario, seed, shards: 8, isolates: 120, cohort: 1, progress: () => {} });
  world.run();
  return world;
}

function waits(m: LineMeasures) {
  const [p50, p90, p99] = quantiles(m.waits, m.nWaits, [0.5, 0.9, 0.99]);
  return { p50: p50, p90: p90, p99: p99 };
}

describe("the simulator's lanes", () => {
  it("puts each line's shards where the edge routes its listeners", () => {
    const layout = new LineLayout(
      {
        lanes: { stage: lane({ reserved: 300, shards: 2 }), priority: lane({ cap: 500, shards: 3 }) },
        shares: { stage: 0.02, priority: 0.1 },
      },
      4,
      10,
    );
    expect(layout.names).toEqual(["general", "stage", "priority"]);
    expect(layout.size).toBe(9);
    // Slots as a new room's RoomCoordinator assigns them (assignSlots({}, lanes)): 1, 2 in rank order.
    expect([...Array(9).keys()].map((p) => layout.indexAt(p))).toEqual([
      0,
      1,
      2,
      3,
      LANE_BLOCK,
      LANE_BLOCK + 1,
      2 * LANE_BLOCK,
      2 * LANE_BLOCK + 1,
      2 * LANE_BLOCK + 2,
    ]);
    for (let id = 0; id < 50; id++) {
      const sub = Listeners.sub(id);
      expect(layout.indexAt(layout.posOf(0, sub))).toBe(shardOf(sub, 4));
      expect(layout.indexAt(layout.posOf(1, sub))).toBe(laneShard(1, shardOf(sub, 2)));
      expect(layout.indexAt(layout.posOf(2, sub))).toBe(laneShard(2, shardOf(sub, 3)));
    }
    // Reserved seats and caps in cohorts, like the capacity.
    expect(layout.config.lanes?.stage?.reserved).toBe(30);
    expect(layout.caps).toEqual([null, null, 50]);
    expect(layout.pick(0.01)).toBe(1);
    expect(layout.pick(0.05)).toBe(2);
    expect(layout.pick(0.5)).toBe(0);
  });

  it("keeps the room and each lane within its cap, seats the stage within 2 s, and serves each lane in order", () => {
    const capacity = 10_000;
    const world = run(small(capacity, { lend: false }));
    const lines = world.lines!;
    const [general, stage, priority] = lines.lines as [LineMeasures, LineMeasures, LineMeasures];
    // The strict cap, over all lines and per lane: checked after every operation.
    expect(world.stats.capViolations).toBe(0);
    expect(world.stats.peakLive).toBeGreaterThan(0.99 * capacity);
    for (const m of lines.lines) expect(m.capViolations).toBe(0);
    // The subscribers reached their cap (and never passed it); the rest of them waited.
    expect(priority.peakLive).toBe(Math.round(0.12 * capacity));
    expect(priority.arrived).toBeGreaterThan(priority.peakLive);
    // The stage was seated at once while its reserve lasted (it lasted: seats for all of them).
    expect(stage.arrived).toBeGreaterThan(300);
    expect(stage.admitted).toBe(stage.arrived);
    expect(stage.admittedAtJoin / stage.admitted).toBeGreaterThan(0.95);
    expect(waits(stage).p99).toBeLessThanOrEqual(2);
    // Subscribers ahead of the general line: shorter waits all along.
    expect(waits(priority).p50).toBeLessThan(waits(general).p50);
    expect(waits(priority).p90).toBeLessThan(waits(general).p90);
    // First in first out within each line: hardly anyone called while someone of the same line who
    // arrived more than a second earlier still waits a sync round later (the round it takes their shard
    // to hear of their call); never by more than a few seconds.
    for (const m of lines.lines) {
      const [p99, max] = quantiles(m.fifoCall.samples, m.fifoCall.count, [0.99, 1]);
      expect(p99).toBeLessThanOrEqual(3);
      expect(max).toBeLessThanOrEqual(5);
      expect(m.fifoCall.overBeyond(SYNC_ROUND_MS, 180_000) / m.fifoCall.count).toBeLessThan(0.005);
    }
  }, 20_000);

  it("picks the same listeners for each lane whatever the lanes' settings (a stream of draws of its own)", () => {
    const a = run(small(3_000, { lend: false }), 3);
    const b = run(small(3_000, { lend: true, shards: 2 }), 3);
    const lines = (w: World) => Array.from(w.l.line.subarray(0, w.l.reached));
    expect(lines(b)).toEqual(lines(a));
    expect(a.lines!.lines.map((m) => m.arrived)).toEqual(b.lines!.lines.map((m) => m.arrived));
  }, 20_000);
});

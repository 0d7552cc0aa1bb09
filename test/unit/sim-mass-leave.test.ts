import { describe, expect, it } from "vitest";
import { MAX_VIEW_REVOKED } from "../../src/admission/coordinator.ts";
import { MassLeave } from "../../sim/mass-leave.ts";
import { type Scenario, SCENARIOS } from "../../sim/scenarios.ts";
import { World } from "../../sim/world.ts";

/**
 * A small mass leave: `capacity` seats filled in 10 s, a crowd of 1.2 times
 * as many waiting from 0:10, everyone seated leaving within 5 s from 0:30,
 * and every left listener presenting its pass again every second.
 */
function small(capacity: number): Scenario {
  const base = SCENARIOS["mass-leave"]!;
  return {
    ...base,
    capacity,
    admitPerMinute: capacity * 6,
    rate: (s) => (s < 10 ? capacity / 10 : (1.2 * capacity) / 10),
    arrivalSeconds: 20,
    durationSeconds: 150,
    massLeave: { atSecond: 30, overSeconds: 5, retryMs: 1_000 },
  };
}

function run(scenario: Scenario, cohort: number, seed = 7): World {
  const world = new World({ scenario, seed, shards: 4, isolates: 120, cohort, progress: () => {} });
  world.run();
  return world;
}

describe("the simulator's mass leave", () => {
  it("serves no left pass once its seat is freed, and never more seats than there are", () => {
    const world = run(small(2_000), 1);
    const m = world.massLeave!;
    const c = m.counts;
    // The safety of it: no left pass served after its seat was freed, distinct seats within capacity.
    expect(c.servedAfterFree).toBe(0);
    expect(m.peakDistinct).toBeLessThanOrEqual(2_000);
    expect(world.stats.capViolations).toBe(0);
    expect(m.failures(1)).toEqual([]);
    expect(m.leavers).toBe(2_000);
    // Every left listener came back with its pass, and some were served while their seat was still theirs.
    expect(c.requests).toBeGreaterThan(20_000);
    expect(c.servedWhileHeld).toBeGreaterThan(0);
    const answered = c.refusedByView + c.askedShardStaleView + c.askedShardToRenew + c.servedWhileHeld;
    expect(answered + c.servedAfterFree).toBe(c.requests);
    // The room's list had room for every one: each seat was freed on confirmation, a few seconds after the leave.
    expect(world.stats.freedOnConfirm).toBe(2_000);
    expect(world.stats.freedAtExpiry).toBe(0);
    // The crowd refilled the room.
    expect(m.refilledAtMs).not.toBeNull();
    expect(m.listening).toBe(2_000);
  });

  it("asks the shard for passes presented with a view too old to vouch for them (a shard cut off from the coordinator)", () => {
    const scenario = { ...small(2_000), outage: { shard: 1, fromSecond: 28, toSecond: 45 } };
    const world = run(scenario, 1);
    const m = world.massLeave!;
    expect(m.counts.servedAfterFree).toBe(0);
    expect(m.peakDistinct).toBeLessThanOrEqual(2_000);
    expect(m.failures(1)).toEqual([]);
    // Isolates reading the cut-off shard keep its last view: too old to vouch for passes after 3 s.
    expect(m.counts.askedShardStaleView).toBeGreaterThan(100);
    expect(m.counts.refusedByShard).toBe(m.counts.askedShardStaleView + m.counts.askedShardToRenew);
    // Its leavers' revocations could not be listed meanwhile: their seats waited for the link to come back.
    expect(world.stats.freedOnConfirm).toBe(2_000);
  });

  it("is deterministic for a seed", () => {
    const a = run(small(1_000), 1, 3).massLeave!;
    const b = run(small(1_000), 1, 3).massLeave!;
    expect(b.counts).toEqual(a.counts);
    expect(b.refilledAtMs).toBe(a.refilledAtMs);
    expect(b.peakLeftServed).toBe(a.peakLeftServed);
    expect(a.peakLeftServed).toBeGreaterThan(0);
  });

  it("with cohorts, lists no more revocations than the real room could: the rest wait for their leases to expire", () => {
    const cohort = 4;
    const world = run(small(12_000), cohort);
    const m = world.massLeave!;
    const listSize = Math.floor(MAX_VIEW_REVOKED / cohort);
    expect(world.revocationListSize).toBe(listSize);
    expect(m.counts.servedAfterFree).toBe(0);
    expect(m.peakDistinct).toBeLessThanOrEqual(m.capacity);
    expect(m.failures(cohort)).toEqual([]);
    expect(m.leavers).toBe(3_000);
    expect(m.peakListed).toBe(listSize);
    // Some freed on confirmation, the others (no room in the list) at expiry.
    expect(world.stats.freedOnConfirm).toBeGreaterThan(0);
    expect(world.stats.freedAtExpiry).toBeGreaterThan(0);
    expect(world.stats.freedOnConfirm + world.stats.freedAtExpiry).toBe(3_000);
  });

  it("fails a run that served a left pass after its seat was freed, or more seats than there are", () => {
    const m = new MassLeave({ atSecond: 1, overSeconds: 1, retryMs: 1_000 }, 3, 1);
    m.second(0);
    m.admitted(0, "s1", 60_000, 100);
    m.second(1);
    m.left(0, 1_100, true);
    m.freed(0, 1_500);
    m.second(2);
    m.admitted(1, "s2", 62_000, 2_100);
    m.served(0, 2_400, 2_000);
    m.second(3);
    m.finish();
    expect(m.counts.servedAfterFree).toBe(1);
    expect(m.peakDistinct).toBe(2);
    const failures = m.failures(1);
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(/served after their seat was freed/);
    expect(failures[1]).toMatch(/above the capacity of 1/);
  });
});

import { describe, expect, it } from "vitest";
import { MAX_VIEW_REVOKED } from "../../src/policy/revocations.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "../../src/policy/pass-trust.ts";
import { MassLeave } from "../../sim/mass-leave.ts";
import { NEVER } from "../../sim/listeners.ts";
import { type Scenario, SCENARIOS } from "../../sim/scenarios.ts";
import { World } from "../../sim/world.ts";

/**
 * A small mass leave: `capacity` seats filled in 10 s, a crowd of 1.2 times
 * as many waiting from 0:10, everyone seated leaving within 5 s from 0:30,
 * and every left listener presenting its pass again every second, to the 4
 * isolates of its location (of 120: 30 locations).
 */
function small(capacity: number, isolatesPerLocation = 4): Scenario {
  const base = SCENARIOS["mass-leave"]!;
  return {
    ...base,
    capacity,
    admitPerMinute: capacity * 6,
    rate: (s) => (s < 10 ? capacity / 10 : (1.2 * capacity) / 10),
    arrivalSeconds: 20,
    durationSeconds: 150,
    massLeave: { atSecond: 30, overSeconds: 5, retryMs: 1_000, isolatesPerLocation },
  };
}

/** An ended seat is released at the latest this long after its holder left (releaseAt; the pass lifetime is 60 s). */
const RELEASE_MS = passTrustMs(60_000) + CLOCK_SKEW_MS;

/** Every answer to a left pass: refused at the edge, asked of the shard, or served. */
function answered(m: MassLeave): number {
  const c = m.counts;
  return (
    c.refusedByView +
    c.refusedInIsolate +
    c.askedShardStaleView +
    c.askedShardToRenew +
    c.servedWhileHeld +
    c.servedAfterFree
  );
}

/** The longest a seat given back stayed taken after its holder left (ms). */
function longestHeld(m: MassLeave): number {
  let most = 0;
  for (let id = 0; id < m.leftAt.length; id++) {
    if (m.leftAt[id] === NEVER) continue;
    expect(m.freedAt[id]).not.toBe(NEVER);
    most = Math.max(most, m.freedAt[id]! - m.leftAt[id]!);
  }
  return most;
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
    expect(answered(m)).toBe(c.requests);
    // Refused from views listing them, and once too old for a view, by their shard: each isolate asks
    // once, then refuses it itself (endedHere), so a left pass costs its shard at most 4 renewals.
    expect(c.refusedByView).toBeGreaterThan(1_000);
    expect(c.askedShardStaleView).toBe(0);
    expect(c.askedShardToRenew).toBeGreaterThan(1_000);
    expect(c.refusedByShard).toBe(c.askedShardToRenew);
    expect(m.shardRenewals).toBe(c.askedShardToRenew);
    expect(m.maxShardRenewalsPerLeaver).toBeGreaterThan(1);
    expect(m.maxShardRenewalsPerLeaver).toBeLessThanOrEqual(4);
    expect(c.refusedInIsolate).toBeGreaterThan(3 * m.shardRenewals);
    // Every seat was freed: on confirmation (the list had room for all), or released once its passes
    // were too old for any view, whichever came first — never later than that.
    expect(world.stats.freedOnConfirm).toBeGreaterThan(1_000);
    expect(world.stats.freedOnConfirm + world.stats.freedAtExpiry).toBe(2_000);
    expect(longestHeld(m)).toBeLessThanOrEqual(RELEASE_MS + 1_000);
    // The crowd refilled the room soon after.
    expect(m.refilledAtMs).not.toBeNull();
    expect(m.refilledAtMs! - m.lastLeaveMs!).toBeLessThan(RELEASE_MS + 10_000);
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
    expect(answered(m)).toBe(m.counts.requests);
    // Its leavers' revocations could not be listed meanwhile: their seats were released instead,
    // as their passes grew too old for any view, without waiting for the link to come back.
    expect(world.stats.freedAtExpiry).toBeGreaterThan(0);
    expect(world.stats.freedOnConfirm + world.stats.freedAtExpiry).toBe(2_000);
    expect(longestHeld(m)).toBeLessThanOrEqual(RELEASE_MS + 1_000);
  });

  it("costs the shard a renewal per request of a left pass when its listener's requests spread over every isolate", () => {
    const world = run(small(2_000, 120), 1);
    const m = world.massLeave!;
    expect(m.failures(1)).toEqual([]);
    expect(m.counts.servedAfterFree).toBe(0);
    // Few requests of one listener land twice on the same of 120 isolates: the memory saves little.
    expect(m.maxShardRenewalsPerLeaver).toBeGreaterThan(10);
    expect(m.counts.refusedInIsolate).toBeLessThan(m.shardRenewals / 2);
  });

  it("is deterministic for a seed", () => {
    const a = run(small(1_000), 1, 3).massLeave!;
    const b = run(small(1_000), 1, 3).massLeave!;
    expect(b.counts).toEqual(a.counts);
    expect(b.refilledAtMs).toBe(a.refilledAtMs);
    expect(b.peakLeftServed).toBe(a.peakLeftServed);
    expect(a.peakLeftServed).toBeGreaterThan(0);
  });

  it("with cohorts, lists no more revocations than the real room could: the rest wait for their release", () => {
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
    // Some freed on confirmation, the others (no room in the list) once released, never later.
    expect(world.stats.freedOnConfirm).toBeGreaterThan(0);
    expect(world.stats.freedAtExpiry).toBeGreaterThan(0);
    expect(world.stats.freedOnConfirm + world.stats.freedAtExpiry).toBe(3_000);
    expect(longestHeld(m)).toBeLessThanOrEqual(RELEASE_MS + 1_000);
  });

  it("fails a run that served a left pass after its seat was freed, or more seats than there are", () => {
    const m = new MassLeave({ atSecond: 1, overSeconds: 1, retryMs: 1_000, isolatesPerLocation: 4 }, 3, 1);
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

/**
 * The walk (src/policy/plan.ts) on its own: what a shard's sync is handed
 * when another shard of its line has already synced in the round.
 */
import { describe, expect, it } from "vitest";
import { ArrivalIndex, type BinStore } from "../../src/policy/arrival-index.ts";
import type { ArrivalBin } from "../../src/policy/arrivals.ts";
import { newRecord, type ShardRecord } from "../../src/policy/coordinator-state.ts";
import { planCalls } from "../../src/policy/plan.ts";

const ROUND = Date.UTC(2026, 0, 1, 0, 0, 100);
const S = ROUND / 1000 - 10;

/** A shard of `waiting` listeners who arrived in second `second`, none called. */
function shard(index: number, second: number, waiting: number, lastSync: number): [ShardRecord, ArrivalBin[]] {
  const rec = {
    ...newRecord(index, lastSync),
    tail: waiting,
    cursor: 0,
    through: 0,
    live: 5,
    confirmed: 5,
    sent: 5,
    completeBefore: S + 5,
  };
  return [rec, [{ bin: second, firstSeq: 1, count: waiting }]];
}

function walk(a: [ShardRecord, ArrivalBin[]], b: [ShardRecord, ArrivalBin[]], now: number) {
  const shards = new Map([a, b].map(([r]) => [r.shard, r]));
  const store: BinStore = {
    loadBins: () => [a, b].map(([r, bins]) => ({ shard: r.shard, bins })),
    saveBins: () => undefined,
    dropCalledBins: () => undefined,
  };
  const arrivals = new ArrivalIndex(store, (s) => shards.get(s)?.through ?? 0);
  return planCalls(shards, arrivals, { shared: 3, own: 0, tokens: 100, othersTokens: 100 }, 1, now, true);
}

describe("the walk", () => {
  const now = ROUND + 400;

  it("hands a shard none of its younger listeners while an older one waits on a shard that synced earlier in the round", () => {
    // Shard 0 synced 300 ms ago, in this round, and was ordered nobody (no seat was free then).
    const plan = walk(shard(0, S, 1, ROUND + 100), shard(1, S + 2, 2, ROUND - 600), now);
    expect(plan.mine).toBe(0);
    expect(plan.promised.get(0)).toBeUndefined();
    // Its listener still counts as waiting elsewhere: nothing here may be called at once.
    expect(plan.othersWaiting).toBe(1);
  });

  it("counts an older listener for a shard yet to sync in the round, and calls this shard's behind it", () => {
    // Shard 0 last synced in the round before: it syncs later in this one and takes what was counted for it.
    const plan = walk(shard(0, S, 1, ROUND - 700), shard(1, S + 2, 2, ROUND - 600), now);
    expect(plan.promised.get(0)).toBe(1);
    expect(plan.mine).toBe(2);
    expect(plan.othersWaiting).toBe(0);
  });
});

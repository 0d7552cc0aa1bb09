import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/policy/config.ts";
import { Coordinator } from "../../src/policy/coordinator.ts";
import type { ShardRecord } from "../../src/policy/coordinator-state.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { uncalledElsewhere } from "../../src/policy/plan.ts";
import { Shard } from "../../src/policy/shard.ts";

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };

/** A room of `n` shards on in-memory stores; times are ms after T0. */
function room(n: number, limits: AdmissionLimits) {
  let id = 0;
  let config = limits;
  const deps = { newId: () => `sid-${++id}` };
  const coordinator = new Coordinator(new MemoryCoordinatorStore(), config, T0);
  const shards = Array.from({ length: n }, (_, i) => {
    const store = new MemoryLedgerStore();
    return new Shard(i, store, store, timings, deps, T0);
  });
  let joined = 0;
  return {
    shards,
    sync(i: number, at: number) {
      const report = shards[i]!.report(T0 + at);
      const order = coordinator.sync(report, T0 + at);
      shards[i]!.apply(order, report, T0 + at);
      return order;
    },
    join(i: number, at: number) {
      const sub = `l${++joined}`;
      const out = shards[i]!.ledger.join(sub, T0 + at);
      return { sub, seq: out.seq, admitted: out.claim.kind === "admitted" };
    },
    open() {
      config = { ...config, mode: "open" };
      coordinator.setConfig(config);
    },
  };
}

describe("the spare allowance (seat arrivals at once while nobody waits)", () => {
  it("is not given while the walk's calls for another shard are still to be made", () => {
    const r = room(2, { capacity: 100, admitPerMinute: 6_000, mode: "hold" });
    const a = r.join(0, 100);
    const b = r.join(1, 100);
    r.sync(0, 1_000);
    r.sync(1, 1_010);
    r.open();
    // First sync of the round: the walk calls both listeners of second 0 and
    // so counts nobody as waiting, but shard 1 calls its own only once it
    // syncs, over the round after that. A spare here would seat shard 0's
    // newcomers at once, seconds ahead of shard 1's listener.
    const first = r.sync(0, 2_000);
    expect(first.callThrough).toBe(a.seq);
    expect(r.join(0, 2_050).admitted).toBe(false);
    // Shard 1 gets its call: nobody older waits anywhere, so it calls at once...
    r.sync(1, 2_010);
    expect(r.shards[1]!.ledger.counters.cursor).toBe(b.seq);
    // ...and then nobody waits uncalled anywhere: shard 0 seats its arrivals on its own again.
    const later = r.sync(0, 3_000);
    expect(later.callThrough).toBeNull();
    expect(r.join(0, 3_050).admitted).toBe(true);
  });

  it("is given at once to a lone arrival in a quiet room", () => {
    const r = room(3, { capacity: 100, admitPerMinute: 6_000, mode: "open" });
    r.join(2, 100);
    const order = r.sync(2, 150);
    expect(order.callThrough).toBeNull();
    expect(r.join(2, 200).admitted).toBe(true);
  });
});

describe("uncalledElsewhere", () => {
  const rec = (shard: number, tail: number, through: number, extra: Partial<ShardRecord> = {}): ShardRecord =>
    ({
      shard,
      tail,
      through,
      cursor: 0,
      live: 0,
      reserved: 0,
      confirmed: 0,
      sent: 0,
      lastSync: T0,
      pace: null,
      ...extra,
    }) as ShardRecord;

  it("counts other active shards' listeners not yet called, leaving out the syncing shard and spared shards", () => {
    const shards = new Map([
      [0, rec(0, 10, 4)],
      [1, rec(1, 7, 5)],
      [2, rec(2, 9, 1)],
    ]);
    expect(uncalledElsewhere(shards, 0, new Set(), T0 + 100)).toBe(2 + 8);
    expect(uncalledElsewhere(shards, 0, new Set([2]), T0 + 100)).toBe(2);
    expect(uncalledElsewhere(shards, 1, new Set([0, 2]), T0 + 100)).toBe(0);
  });

  it("counts a paced batch as called only as far as its pace has reached", () => {
    const pace = { from: 0, start: T0 + 200, end: T0 + 1_000 };
    const shards = new Map([[1, rec(1, 8, 8, { pace })]]);
    expect(uncalledElsewhere(shards, 0, new Set(), T0 + 200)).toBe(8);
    expect(uncalledElsewhere(shards, 0, new Set(), T0 + 600)).toBe(4);
    expect(uncalledElsewhere(shards, 0, new Set(), T0 + 1_000)).toBe(0);
  });

  it("leaves out shards silent for too long (lost) and idle ones", () => {
    const shards = new Map([[1, rec(1, 5, 0, { lastSync: T0 })]]);
    expect(uncalledElsewhere(shards, 0, new Set(), T0 + 60_000)).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/policy/config.ts";
import { Coordinator } from "../../src/policy/coordinator.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { Shard } from "../../src/policy/shard.ts";

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };

function room(n: number, config: AdmissionLimits) {
  let id = 0;
  const deps = { newId: () => `sid-${++id}` };
  const coordinator = new Coordinator(new MemoryCoordinatorStore(), config, T0);
  const stores = Array.from({ length: n }, () => new MemoryLedgerStore());
  const shards = stores.map((store, i) => new Shard(i, store, store, timings, deps, T0));
  const sync = (s: Shard, now: number) => {
    const report = s.report(now);
    s.apply(coordinator.sync(report, now), report, now);
  };
  const live = () => shards.reduce((a, s) => a + s.ledger.counters.live, 0);
  return { coordinator, shards, stores, sync, live };
}

interface Listener {
  shard: number;
  sub: string;
  seq: number;
  at: number;
  admittedAt?: number;
  leftAt?: number;
}

describe("a sharded room", () => {
  it("admits in arrival order across shards, within one second, and never above capacity", () => {
    const { shards, stores, sync, live } = room(3, { capacity: 10, admitPerMinute: 600, mode: "open" });
    const listeners: Listener[] = [];
    let now = T0;
    for (let step = 0; step < 400; step++) {
      now += 250;
      if (step < 30) {
        for (let k = 0; k < 2; k++) {
          const shard = (step * 7 + k * 5) % 3;
          const sub = `l${step}-${k}`;
          const out = shards[shard]!.ledger.join(sub, now);
          const l: Listener = { shard, sub, seq: out.seq, at: now };
          if (out.claim.kind === "admitted") l.admittedAt = now;
          listeners.push(l);
        }
      }
      if (step % 4 === 0) for (const s of shards) sync(s, now);
      for (const l of listeners) {
        const s = shards[l.shard]!;
        if (l.admittedAt === undefined && l.seq <= s.ledger.counters.cursor) {
          if (s.ledger.claim(l.sub, l.seq, now).kind === "admitted") l.admittedAt = now;
        } else if (l.admittedAt !== undefined && l.leftAt === undefined && now - l.admittedAt >= 3_000) {
          const lease = stores[l.shard]!.leaseBySub(l.sub)!;
          expect(s.ledger.leave(lease.sid, l.sub, now)).toBe(true);
          l.leftAt = now;
        }
      }
      expect(live()).toBeLessThanOrEqual(10);
    }
    const admitted = listeners.filter((l) => l.admittedAt !== undefined);
    expect(admitted.length).toBe(listeners.length);
    // Nobody was admitted while someone who arrived more than a second earlier still waited.
    for (const a of admitted) {
      for (const b of listeners) {
        if (b.at < a.at - 1_000) expect(b.admittedAt!).toBeLessThanOrEqual(a.admittedAt! + 1_000);
      }
    }
  });
});

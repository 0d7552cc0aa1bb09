import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/policy/config.ts";
import { Coordinator, SPARE_FLOOR } from "../../src/policy/coordinator.ts";
import { LOST_AFTER_MS } from "../../src/policy/plan.ts";
import { MAX_PACE_STEPS } from "../../src/policy/rounds.ts";
import {
  MAX_LIVE_PATH_LENGTH,
  MAX_ROOM_LIVE_PATHS,
  MAX_VIEW_SECONDS,
  type ShardOrder,
} from "../../src/policy/protocol.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { Shard } from "../../src/policy/shard.ts";

const T0 = Date.UTC(2026, 0, 1);
const SECOND = Math.floor(T0 / 1000);
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };

/** A room of `n` shards and a coordinator on in-memory stores; times are ms after T0. */
function room(n: number, limits: AdmissionLimits) {
  let id = 0;
  const deps = { newId: () => `sid-${++id}` };
  let config = limits;
  const coordinator = new Coordinator(new MemoryCoordinatorStore(), config, T0);
  const stores = Array.from({ length: n }, () => new MemoryLedgerStore());
  const shards = stores.map((store, i) => new Shard(i, store, store, timings, deps, T0));
  let joined = 0;
  return {
    coordinator,
    shards,
    stores,
    /** Report, order, apply; with `lost`, the order never reaches the shard. */
    sync(i: number, at: number, lost = false): ShardOrder {
      const s = shards[i]!;
      const report = s.report(T0 + at);
      const order = coordinator.sync(report, T0 + at);
      if (!lost) s.apply(order, report, T0 + at);
      return order;
    },
    join(i: number, at: number) {
      const sub = `l${++joined}`;
      const out = shards[i]!.ledger.join(sub, T0 + at);
      return { sub, seq: out.seq, admitted: out.claim.kind === "admitted" };
    },
    claim(i: number, l: { sub: string; seq: number }, at: number) {
      return shards[i]!.ledger.claim(l.sub, l.seq, T0 + at);
    },
    setLimits(next: Partial<AdmissionLimits>) {
      config = { ...config, ...next };
      coordinator.setConfig(config);
    },
    /** Every shard's alarm fires at `at`: it calls what its order paced up to then. */
    settleAll(at: number) {
      for (const s of shards) s.ledger.settle(T0 + at);
    },
    cursor: (i: number) => shards[i]!.ledger.counters.cursor,
    live: () => shards.reduce((a, s) => a + s.ledger.counters.live, 0),
    /** Allowances in force at the shards. */
    allowances: () => shards.reduce((a, s) => a + s.local.capacity, 0),
  };
}

/**
 * Through the round of `round` (ms after T0), every shard's alarm firing every 10 ms: nobody
 * on one of `shards` is called while someone on another of them who arrived a second or
 * more earlier waits. `arrived[i]`: shard i's listeners' arrival times in join order.
 */
function expectInStep(r: ReturnType<typeof room>, arrived: number[][], shards: number[], round: number): void {
  for (let at = round; at <= round + 1_000; at += 10) {
    r.settleAll(at);
    for (const a of shards) {
      const lastCalled = arrived[a]![r.cursor(a) - 1];
      for (const b of shards) {
        const nextWaiting = arrived[b]![r.cursor(b)];
        if (b !== a && lastCalled !== undefined && nextWaiting !== undefined) {
          expect(lastCalled - nextWaiting).toBeLessThan(1_000);
        }
      }
    }
  }
}

describe("Coordinator", () => {
  it("does not let a lost order take the room over its cap", () => {
    const r = room(2, { capacity: 4, admitPerMinute: 600, mode: "open" });
    // Nobody waits anywhere: shard 0 gets a spare allowance of all 4 seats.
    const a0 = r.join(0, 0);
    const first = r.sync(0, 0);
    expect(first.capacity).toBe(4);
    expect(first.callThrough).toBeNull();
    // Shard 1's listeners find no seat left.
    const b = [r.join(1, 100), r.join(1, 100), r.join(1, 100), r.join(1, 100)];
    expect(r.sync(1, 200).capacity).toBe(0);
    // Shard 0 is ordered down to what it holds, but the order is lost: it keeps its 4...
    expect(r.sync(0, 1_000, true).capacity).toBe(1);
    expect(r.shards[0]!.local.capacity).toBe(4);
    expect(r.coordinator.accountedSeats()).toBe(4);
    // ...(its spare lapsed with its round, so it seats no more arrivals on its own)...
    expect(r.claim(0, a0, 1_100).kind).toBe("admitted");
    expect(r.join(0, 1_100).admitted).toBe(false);
    // ...and the coordinator still counts all 4, so shard 1 gets nothing.
    for (const at of [1_200, 2_200, 3_200]) {
      expect(r.sync(1, at).capacity).toBe(0);
      expect(r.cursor(1)).toBe(0);
      expect(r.allowances()).toBeLessThanOrEqual(4);
      expect(r.coordinator.accountedSeats()).toBeLessThanOrEqual(4);
    }
    for (const l of b) expect(r.claim(1, l, 3_300).kind).toBe("waiting");
    expect(r.live()).toBe(1);
  });

  it("reclaims an allowance lowered with capacity only once the shard confirms it", () => {
    const r = room(2, { capacity: 6, admitPerMinute: 600, mode: "open" });
    const a = [r.join(0, 0), r.join(0, 0)];
    expect(r.sync(0, 0).capacity).toBe(SPARE_FLOOR);
    for (const l of a) expect(r.claim(0, l, 100).kind).toBe("admitted");
    r.setLimits({ capacity: 3 });
    const b0 = r.join(1, 500);
    // Shard 0 still holds an allowance of 4: nothing for shard 1.
    expect(r.sync(1, 600).capacity).toBe(0);
    // Shard 0 is ordered down to the 2 it holds...
    expect(r.sync(0, 1_000).capacity).toBe(2);
    expect(r.shards[0]!.local.capacity).toBe(2);
    // ...but until it confirms, the coordinator still counts the 4 it had.
    expect(r.coordinator.accountedSeats()).toBe(4);
    expect(r.sync(1, 1_100).capacity).toBe(0);
    expect(r.cursor(1)).toBe(0);
    // Its next report confirms the 2; the freed seat goes to shard 1's listener.
    r.sync(0, 2_000);
    expect(r.coordinator.accountedSeats()).toBe(2);
    expect(r.sync(1, 2_100).capacity).toBe(1);
    // Nobody else waits: the call is made at once rather than paced over the rest of the round.
    expect(r.shards[1]!.local.pace).toBeNull();
    expect(r.cursor(1)).toBe(1);
    expect(r.claim(1, b0, 3_100).kind).toBe("admitted");
    expect(r.live()).toBe(3);
  });

  it("grants no pass above a lowered capacity once the shard has its order", () => {
    const r = room(2, { capacity: 3, admitPerMinute: 600, mode: "open" });
    const a = [r.join(0, 0), r.join(0, 0), r.join(0, 0)];
    r.sync(0, 0); // all three are called: their seats are reserved
    expect(r.claim(0, a[0]!, 100).kind).toBe("admitted");
    r.setLimits({ capacity: 1 });
    r.sync(0, 1_000);
    r.sync(1, 1_000);
    // The room holds 1 live lease, at its new capacity: the other two must wait (nobody is evicted).
    expect(r.claim(0, a[1]!, 1_100).kind).toBe("waiting");
    expect(r.claim(0, a[2]!, 1_100).kind).toBe("waiting");
    expect(r.live()).toBe(1);
  });

  it("does not let a lost shard block calls on the others", () => {
    const r = room(2, { capacity: 10, admitPerMinute: 600, mode: "hold" });
    const a0 = r.join(0, 200);
    r.sync(0, 900); // shard 0 reports its listener, then falls silent
    const b0 = r.join(1, 1_500);
    r.sync(1, 1_900);
    r.setLimits({ mode: "open" });
    // While shard 0 may still report, the second b0 arrived in is not complete: b0 waits.
    for (const at of [2_100, 3_100, 4_100, 5_100, 900 + LOST_AFTER_MS - 100]) {
      r.sync(1, at);
      expect(r.cursor(1)).toBe(0);
    }
    // Silent for LOST_AFTER_MS, shard 0 no longer holds anyone back.
    r.sync(1, 900 + LOST_AFTER_MS);
    expect(r.cursor(1)).toBe(1);
    expect(r.claim(1, b0, 6_000).kind).toBe("admitted");
    // Back again, its own listener is called at its first sync.
    r.sync(0, 7_000);
    expect(r.cursor(0)).toBe(1);
    expect(r.claim(0, a0, 7_100).kind).toBe("admitted");
  });

  it("calls nobody in hold mode", () => {
    const r = room(3, { capacity: 30, admitPerMinute: 600, mode: "hold" });
    const waiting: { shard: number; l: ReturnType<typeof r.join> }[] = [];
    for (let t = 0; t < 10_000; t += 250) {
      if (t < 5_000) waiting.push({ shard: (t / 250) % 3, l: r.join((t / 250) % 3, t) });
      if (t % 1_000 === 0) {
        for (let i = 0; i < 3; i++) {
          const order = r.sync(i, t + 10 * i);
          expect(order.mode).toBe("hold");
          expect(order.capacity).toBe(0);
        }
      }
      for (const { shard, l } of waiting) expect(r.claim(shard, l, t)).toEqual({ kind: "waiting", reason: "hold" });
    }
    expect([0, 1, 2].map(r.cursor)).toEqual([0, 0, 0]);
    expect(r.coordinator.accountedSeats()).toBe(0);
    // Open again: everyone is called and seated.
    r.setLimits({ mode: "open" });
    for (const at of [10_000, 11_000]) for (let i = 0; i < 3; i++) r.sync(i, at + 10 * i);
    for (const { shard, l } of waiting) expect(r.claim(shard, l, 11_500).kind).toBe("admitted");
    expect(r.live()).toBe(waiting.length);
  });

  it("gives a spare allowance only while nobody waits on another shard", () => {
    const r = room(2, { capacity: 10, admitPerMinute: 600, mode: "open" });
    r.join(0, 100);
    const spare = r.sync(0, 200);
    expect(spare.callThrough).toBeNull();
    expect(spare.capacity).toBeGreaterThan(1);
    // Shard 1's listener waits for its second to be reported everywhere: no spare for shard 1...
    const b0 = r.join(1, 300);
    const order1 = r.sync(1, 400);
    expect(order1.callThrough).toBe(0);
    expect(order1.capacity).toBe(0);
    // ...and, while it waits, none for shard 0 either: only what it holds.
    const order0 = r.sync(0, 1_200);
    expect(order0.callThrough).not.toBeNull();
    expect(order0.capacity).toBe(1);
    r.sync(1, 1_400);
    expect(r.cursor(1)).toBe(1);
    expect(r.claim(1, b0, 1_500).kind).toBe("admitted");
    // Nobody waits any more: shard 0 gets a spare allowance again and seats a newcomer at once.
    r.join(0, 2_100);
    const again = r.sync(0, 2_200);
    expect(again.callThrough).toBeNull();
    expect(again.capacity).toBeGreaterThan(r.shards[0]!.ledger.counters.live + r.shards[0]!.ledger.counters.reserved);
    expect(r.join(0, 2_300).admitted).toBe(true);
  });

  it("shows per-shard cursors and per-second remaining counts that add up to those not yet called", () => {
    const r = room(3, { capacity: 4, admitPerMinute: 600, mode: "hold" });
    for (let k = 0; k < 2; k++) r.join(0, 100);
    r.join(1, 1_100);
    for (let k = 0; k < 3; k++) r.join(2, 2_100);
    for (let i = 0; i < 3; i++) r.sync(i, 3_000 + i);
    const held = r.coordinator.view(T0 + 4_000);
    expect(held.cursors).toEqual({ 0: 0, 1: 0, 2: 0 });
    expect(held.binStart).toBe(SECOND);
    expect(held.remaining).toEqual([2, 1, 3]);

    // Open with 4 seats: the 2 + 1 of the first two seconds and 1 of the 3 in the third.
    r.setLimits({ mode: "open" });
    for (let i = 0; i < 3; i++) r.sync(i, 4_000 + i);
    r.settleAll(5_000);
    expect([0, 1, 2].map(r.cursor)).toEqual([2, 1, 1]);
    const view = r.coordinator.view(T0 + 5_000);
    expect(view.cursors).toEqual({ 0: 2, 1: 1, 2: 1 });
    expect(view.binStart).toBe(SECOND + 2);
    expect(view.remaining).toEqual([2]);
    const notCalled = r.shards.reduce((a, s) => a + s.ledger.counters.tail - s.ledger.counters.cursor, 0);
    expect(view.remaining.reduce((a, b) => a + b, 0)).toBe(notCalled);
  });

  it("keeps a listener's place in line when the order calling it is lost", () => {
    const r = room(2, { capacity: 1, admitPerMinute: 600, mode: "hold" });
    const a0 = r.join(0, 0);
    r.sync(0, 500);
    r.sync(0, 1_500);
    r.join(1, 2_000); // two seconds after a0
    r.sync(0, 2_500);
    r.sync(1, 2_500);
    r.setLimits({ mode: "open" });
    // The order calling a0 is lost; shard 0's next sync tells the coordinator a0 was not called.
    r.sync(0, 3_500, true);
    r.sync(1, 3_600);
    r.sync(0, 4_500);
    // The view still counts a0 among those not yet called...
    const view = r.coordinator.view(T0 + 5_500);
    const notCalled = r.shards.reduce((a, s) => a + s.ledger.counters.tail - view.cursors[s.index]!, 0);
    expect(view.remaining.reduce((a, b) => a + b, 0)).toBe(notCalled);
    // ...and the one seat goes to a0, who arrived first.
    r.sync(1, 4_600);
    r.sync(0, 5_500);
    r.sync(1, 5_600);
    expect(r.cursor(0)).toBe(1);
    expect(r.cursor(1)).toBe(0);
    expect(r.claim(0, a0, 5_700).kind).toBe("admitted");
  });

  it("calls a listener within the round of its shard's next sync once a later arrival elsewhere is called, when tokens are short", () => {
    const r = room(2, { capacity: 10, admitPerMinute: 30, mode: "hold" });
    for (let k = 0; k < 5; k++) r.join(0, 0);
    const b1 = r.join(1, 1_500);
    for (const at of [500, 1_900, 2_500]) for (let i = 0; i < 2; i++) r.sync(i, at);
    r.setLimits({ mode: "open" });
    // Shard 0's five take every token; their seats are reserved and never claimed.
    r.sync(0, 3_000);
    r.settleAll(4_000);
    expect(r.cursor(0)).toBe(5);
    const a6 = r.join(0, 10_000); // 8.5 s after b1
    for (let at = 3_100; at < 32_100; at += 1_000) {
      r.sync(1, at);
      r.sync(0, at + 900);
    }
    expect(r.cursor(1)).toBe(0);
    // The reservations lapse at 33 s: a6 may be called then only if b1 is called at its shard's next sync.
    r.sync(0, 33_000);
    r.sync(1, 33_100);
    r.settleAll(34_000);
    expect(r.cursor(0) < a6.seq || r.cursor(1) >= b1.seq).toBe(true);
  });

  it("leaves no shard of a round a second or more behind another when a shard frees seats by confirming revocations, and tokens are short", () => {
    const r = room(3, { capacity: 100, admitPerMinute: 60, mode: "open" });
    // Shard 1 seats 8 listeners; the room holds its calls while a line builds up.
    const seated = Array.from({ length: 8 }, () => r.join(1, 0));
    r.sync(1, 1_000);
    r.settleAll(1_000);
    const leases = seated.map((l) => {
      const out = r.claim(1, l, 1_100);
      if (out.kind !== "admitted") throw new Error("not admitted");
      return out.lease;
    });
    r.setLimits({ mode: "hold" });
    // One arrival a second on each shard, from second 2 to 9.
    const waiting: { shard: number; seq: number; at: number }[] = [];
    for (let s = 2; s <= 10; s++) {
      if (s <= 9)
        for (let i = 0; i < 3; i++)
          waiting.push({ shard: i, seq: r.join(i, s * 1_000 + 100 * i).seq, at: s * 1_000 + 100 * i });
      for (let i = 0; i < 3; i++) r.sync(i, s * 1_000 + 500);
      // The 8 leave at 6.6 s; their revocations are listed at 7.5 s and can be confirmed from 11.5 s.
      if (s === 6) seated.forEach((l, k) => r.shards[1]!.ledger.leave(leases[k]!.sid, l.sub, 6_600));
    }
    r.setLimits({ mode: "open" });
    // A full bucket (10 tokens) for 24 waiting. Shard 1's sync confirms the revocations; the seats
    // they free take no token, so shard 2, syncing last, still gets its part of the round.
    for (const i of [0, 1, 2]) expect(r.sync(i, 11_600 + 20 * i).confirmed.length).toBe(i === 1 ? 8 : 0);
    r.settleAll(12_000);
    const called = waiting.filter((w) => w.seq <= r.cursor(w.shard)).map((w) => w.at);
    const left = waiting.filter((w) => w.seq > r.cursor(w.shard)).map((w) => w.at);
    expect(Math.max(...called) - Math.min(...left)).toBeLessThan(1_000);
    expect(called.length).toBe(10);
  });

  it("seats a newcomer on its own only if nobody who came more than a second earlier still waits elsewhere", () => {
    const r = room(2, { capacity: 2, admitPerMinute: 30, mode: "open" });
    r.sync(0, 0);
    r.sync(1, 0);
    const b0 = r.join(1, 0);
    r.join(0, 0);
    r.sync(0, 1_000); // shard 1 has not reported b0 yet: shard 0 gets both seats
    r.sync(1, 1_000); // b0 is reported; no seat is left for it
    const late = r.join(0, 1_001); // 1001 ms after b0
    r.sync(0, 2_000);
    r.sync(1, 2_000);
    // Either the newcomer waited, or b0 has been called by its shard's next sync.
    expect(!late.admitted || r.cursor(1) >= b0.seq).toBe(true);
  });

  it("has the first shard of a round call its listener before later shards call younger ones", () => {
    const r = room(3, { capacity: 0, admitPerMinute: 60_000, mode: "open" });
    // Seconds of arrival: shard 0 has one listener in second 1 and one in 3; shard 1 two in
    // each of seconds 1 to 4 and one in 5; shard 2 one in second 3 and two in 4.
    const joins: [number, number][] = [
      [0, 1_100],
      [1, 1_200],
      [1, 1_300],
      [1, 2_200],
      [1, 2_300],
      [0, 3_100],
      [1, 3_200],
      [1, 3_300],
      [2, 3_400],
      [1, 4_200],
      [1, 4_300],
      [2, 4_400],
      [2, 4_500],
    ];
    for (const [shard, at] of joins) r.join(shard, at);
    for (const shard of [0, 1, 2]) r.sync(shard, 5_000);
    r.join(1, 5_100);
    // Round 6: seats for seconds 1 and 2, called over the round; it reaches 2 s past its oldest.
    r.setLimits({ capacity: 5 });
    for (const shard of [1, 0, 2]) r.sync(shard, 6_010 + 10 * shard);
    r.settleAll(7_000);
    expect([r.cursor(0), r.cursor(1), r.cursor(2)]).toEqual([1, 4, 0]);
    // Round 7: seats for seconds 3 and 4, not 5. Shard 0 syncs first, its batch one listener of
    // second 3; the later shards' batches run to the end of second 4.
    r.setLimits({ capacity: 13 });
    for (const shard of [0, 1, 2]) r.sync(shard, 7_010 + 10 * shard);
    for (let at = 7_000; at <= 8_000; at += 20) {
      r.settleAll(at);
      // Shard 2 calls its listeners of second 4 only once shard 0 has called its one of second 3.
      if (r.cursor(2) > 1) expect(r.cursor(0)).toBe(2);
      if (r.cursor(1) > 6) expect(r.cursor(0)).toBe(2);
    }
    expect([r.cursor(0), r.cursor(1), r.cursor(2)]).toEqual([2, 8, 3]);
  });

  it("has every shard of a round pace by the first one's window when seats found later order longer batches", () => {
    const r = room(3, { capacity: 0, admitPerMinute: 60_000, mode: "open" });
    // Shard 0: one listener in each of seconds 1 and 2, one in 7; shards 1 and 2: one a second, 1 to 6.
    const arrived: number[][] = [[1_050, 2_050, 7_050], [], []];
    for (let second = 1; second <= 6; second++)
      for (const shard of [1, 2]) arrived[shard]!.push(second * 1_000 + 100 * shard);
    for (const [shard, times] of arrived.entries()) for (const at of times) r.join(shard, at);
    for (const shard of [0, 1, 2]) r.sync(shard, 7_500);
    // Round 8: shard 0 syncs first while seats serve seconds 1 and 2; more come free before the
    // others sync, and their batches run to the end of second 6. Both pace by the window of the
    // round's first order, through second 2; shard 2 not by shard 1's whole batch, which would
    // have it call listeners of seconds 3 to 5 while shard 1's older ones wait.
    r.setLimits({ capacity: 6 });
    const first = r.sync(0, 8_010);
    r.setLimits({ capacity: 14 });
    const orders = [first, r.sync(1, 8_020), r.sync(2, 8_030)];
    expect(orders.map((o) => o.pace?.arrival?.until)).toEqual(Array(3).fill(first.pace!.arrival!.until));
    expectInStep(r, arrived, [1, 2], 8_000);
    expect([r.cursor(0), r.cursor(1), r.cursor(2)]).toEqual([2, 6, 6]);
  });

  it("has the shards drain many seconds of arrivals in one round in step, each by its own bins", () => {
    const r = room(2, { capacity: 0, admitPerMinute: 60_000, mode: "open" });
    // 20 s of arrivals: shard 0 one a second, shard 1 six every third second.
    const arrived: number[][] = [[], []];
    for (let second = 1; second <= 20; second++) {
      arrived[0]!.push(second * 1_000 + 500);
      if (second % 3 === 1) for (let k = 0; k < 6; k++) arrived[1]!.push(second * 1_000 + 100 * k + 100);
    }
    for (const [shard, times] of arrived.entries()) for (const at of times) r.join(shard, at);
    r.join(1, 21_500); // one left waiting, so the batches are paced
    r.sync(0, 22_000);
    r.sync(1, 22_000);
    r.setLimits({ capacity: 62 });
    const orders = [r.sync(0, 23_010), r.sync(1, 23_020)];
    // The orders carry at most MAX_PACE_STEPS points (edges read them); each shard calls by a point a second.
    for (const [i, order] of orders.entries()) {
      expect(order.pace!.steps!.length / 2).toBeLessThanOrEqual(MAX_PACE_STEPS);
      expect(r.shards[i]!.local.pace!.steps!.length / 2).toBeGreaterThan(MAX_PACE_STEPS);
    }
    expectInStep(r, arrived, [0, 1], 23_000);
    expect([r.cursor(0), r.cursor(1)]).toEqual([20, 42]);
  });
});

describe("the view's arrival seconds", () => {
  it("stay at most MAX_VIEW_SECONDS long however far apart the waiting seconds are, and count everyone", () => {
    const r = room(1, { capacity: 0, admitPerMinute: 600, mode: "open" });
    r.join(0, 0);
    r.join(0, 0);
    const report = r.shards[0]!.report(T0 + 1_000);
    // A third listener filed ten million seconds on (a prequeue under a far start since cleared).
    const far = { bin: SECOND + 10_000_000, firstSeq: report.tail + 1, count: 1 };
    r.coordinator.sync({ ...report, tail: report.tail + 1, bins: [...report.bins, far] }, T0 + 1_000);
    const view = r.coordinator.view(T0 + 2_000);
    expect(view.remaining.length).toBeLessThanOrEqual(MAX_VIEW_SECONDS);
    expect(view.remaining.reduce((a, b) => a + b, 0)).toBe(3);
    expect(view.remaining[0]).toBe(2);
  });
});

describe("Coordinator: seats coming free (the view's supply)", () => {
  it("adds up every shard's seats given back by when they come free, and how fast seats were given back", () => {
    const r = room(2, { capacity: 4, admitPerMinute: 600, mode: "open" });
    const stores = r.stores;
    // Three listeners seated, two on shard 0, one on shard 1.
    const [a, b, c] = [r.join(0, 0), r.join(0, 100), r.join(1, 100)];
    for (const t of [1_000, 2_000, 3_000]) {
      r.sync(0, t);
      r.sync(1, t + 10);
      r.settleAll(t + 500);
    }
    for (const [i, l] of [
      [0, a],
      [0, b],
      [1, c],
    ] as const)
      r.claim(i, l, 3_500);
    const leases = [stores[0]!.leaseBySub(a.sub)!, stores[0]!.leaseBySub(b.sub)!, stores[1]!.leaseBySub(c.sub)!];
    expect(leases.every((l) => l !== null && l.leftAt === null)).toBe(true);
    r.shards[0]!.ledger.leave(leases[0]!.sid, a.sub, T0 + 4_000);
    r.shards[0]!.ledger.leave(leases[1]!.sid, b.sub, T0 + 4_000);
    r.shards[1]!.ledger.leave(leases[2]!.sid, c.sub, T0 + 4_500);
    r.sync(0, 5_000);
    r.sync(1, 5_100);
    const supply = r.coordinator.view(T0 + 6_000).supply!;
    // Passes of 10 minutes: a seat given back comes free at most 5 min and a second after its last renewal.
    const release = 300_000 + 1_000;
    expect(supply.releaseMs).toBe(release);
    const bin = (t: number) => Math.floor(t / 10_000) * 10_000;
    const at = (l: { expiresAt: number }) => bin(l.expiresAt - timings.passTtlMs + release);
    const counts = new Map<number, number>();
    for (const l of leases) counts.set(at(l), (counts.get(at(l)) ?? 0) + 1);
    const returning = new Map<number, number>();
    supply.returning.forEach((n, i) => n > 0 && returning.set(supply.from + i * 10_000, n));
    expect(returning).toEqual(counts);
    // Three seats given back within the last minute (over the minute and the 6 s of this bin).
    expect(supply.leavesPerSecond).toBeCloseTo(3_000 / 56_000);
    expect(supply.lapsesPerSecond).toBe(0);
  });
});

describe("the room's live paths", () => {
  const limits: AdmissionLimits = { capacity: 2, admitPerMinute: 60, mode: "open" };
  const stream = { path: "/rooms/r/stream.mp3", media: true };

  it("lists a path an edge saw stream in the next view, once, and keeps it across a restart", () => {
    const store = new MemoryCoordinatorStore();
    const coordinator = new Coordinator(store, limits, T0);
    expect(coordinator.view(T0).livePaths).toEqual([]);
    expect(coordinator.noteLivePath(stream.path, true)).toBe(true);
    expect(coordinator.noteLivePath(stream.path, true)).toBe(false);
    expect(coordinator.noteLivePath("/rooms/r/events", false)).toBe(true);
    // The next view lists them, even within the sync interval that keeps per-second counts.
    expect(coordinator.view(T0 + 1).livePaths).toEqual([stream, { path: "/rooms/r/events", media: false }]);
    // A path that streamed the other kind since is listed as that kind, as the newest.
    expect(coordinator.noteLivePath(stream.path, false)).toBe(true);
    expect(coordinator.view(T0 + 2).livePaths).toEqual([
      { path: "/rooms/r/events", media: false },
      { path: stream.path, media: false },
    ]);
    const restarted = new Coordinator(store, limits, T0 + 5_000);
    expect(restarted.view(T0 + 5_000).livePaths).toHaveLength(2);
  });

  it("keeps the newest MAX_ROOM_LIVE_PATHS and refuses what is not a path", () => {
    const coordinator = new Coordinator(new MemoryCoordinatorStore(), limits, T0);
    for (const bad of ["stream.mp3", "/rooms/r/s?pass=x", `/${"x".repeat(MAX_LIVE_PATH_LENGTH)}`]) {
      expect(coordinator.noteLivePath(bad, true)).toBe(false);
    }
    expect(coordinator.noteLivePath("/rooms/r/x", "yes" as unknown as boolean)).toBe(false);
    for (let i = 0; i <= MAX_ROOM_LIVE_PATHS; i++) coordinator.noteLivePath(`/rooms/r/${i}`, true);
    const listed = coordinator.view(T0 + 1).livePaths!.map((p) => p.path);
    expect(listed).toHaveLength(MAX_ROOM_LIVE_PATHS);
    expect(listed[0]).toBe("/rooms/r/1");
    expect(listed.at(-1)).toBe(`/rooms/r/${MAX_ROOM_LIVE_PATHS}`);
  });
});

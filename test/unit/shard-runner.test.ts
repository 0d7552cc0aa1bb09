import { describe, expect, it, vi } from "vitest";
import type { Timings } from "../../src/policy/config.ts";
import { Coordinator } from "../../src/policy/coordinator.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import type { ShardOrder, ShardReport } from "../../src/policy/protocol.ts";
import { SYNC_INTERVAL_MS } from "../../src/policy/rounds.ts";
import { Shard } from "../../src/policy/shard.ts";
import {
  type JoinAnswer,
  type NoPlace,
  type Reply,
  type ShardPlatform,
  ShardRunner,
  withOwnRevoked,
} from "../../src/policy/shard-runner.ts";

/** The claim a join was answered with (undefined: none, or no place). */
function claimOf(value: JoinAnswer | NoPlace | null | undefined) {
  return value === null || value === undefined || "noPlace" in value ? undefined : value.claim;
}

// The shard logic both the Durable Object and the simulator run, on a
// platform whose syncs are answered by hand.

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };

function setup() {
  const clock = { now: T0 + 500 };
  const coordinator = new Coordinator(
    new MemoryCoordinatorStore(),
    { capacity: 2, admitPerMinute: 600, mode: "open" },
    T0,
  );
  const store = new MemoryLedgerStore();
  let id = 0;
  const shard = new Shard(0, store, store, timings, { newId: () => `sid-${++id}` }, T0);
  const steps: string[] = [];
  const alarms: (number | null)[] = [];
  const out: { report: ShardReport; done: (order: ShardOrder | null) => void }[] = [];
  const platform: ShardPlatform = {
    now: () => clock.now,
    atomically: (step, op) => {
      steps.push(step);
      return op(clock.now);
    },
    sync: (report, done) => out.push({ report, done }),
    setAlarm: (at) => alarms.push(at),
  };
  const runner = new ShardRunner(shard, store, platform);
  /** The coordinator answers the sync that is out. */
  const deliver = () => {
    const sync = out.shift()!;
    sync.done(coordinator.sync(sync.report, clock.now));
  };
  /** The coordinator answers the sync that is out now, and its answer is applied `ms` later. */
  const deliverLate = (ms: number) => {
    const sync = out.shift()!;
    const order = coordinator.sync(sync.report, clock.now);
    clock.now += ms;
    sync.done(order);
  };
  /** The sync that is out fails. */
  const lose = () => out.shift()!.done(null);
  return { clock, store, runner, steps, alarms, out, deliver, deliverLate, lose };
}

function answer<T>(): { reply: Reply<T>; got: { value?: T; answered: boolean } } {
  const got: { value?: T; answered: boolean } = { answered: false };
  const reply: Reply<T> = {
    answer: (value) => {
      got.value = value;
      got.answered = true;
    },
    fail: (err) => {
      throw err;
    },
  };
  return { reply, got };
}

/** Seat a listener through a first sync (a new shard has no allowance yet). */
function seated(s: ReturnType<typeof setup>, sub: string) {
  const join = answer<JoinAnswer | NoPlace | null>();
  s.runner.join(sub, null, join.reply);
  if (s.out.length > 0) s.deliver();
  expect(claimOf(join.got.value)?.kind).toBe("admitted");
  return s.store.leaseBySub(sub)!;
}

describe("a shard's runner", () => {
  it("answers a join that finds neither a seat nor a waiting place only once the sync it asks for is back, placed then", () => {
    const s = setup();
    const join = answer<JoinAnswer | NoPlace | null>();
    s.runner.join("a", null, join.reply);
    expect(s.out).toHaveLength(1);
    expect(join.got.answered).toBe(false);
    s.deliver();
    expect(claimOf(join.got.value)?.kind).toBe("admitted");
    // A new shard has no allowance yet: the join asked for one, and took its place (a seat) after the order.
    expect(s.steps).toEqual(["join", "report", "apply", "rejoin"]);
  });

  it("seats a free room's first arrivals at their joins when the sync's answer is applied in the next round", () => {
    const s = setup();
    // A fresh shard has no seats: the first join asks the coordinator, which answers at 990 ms
    // with a spare allowance open until the end of its round; it is applied at 1,010 ms.
    s.clock.now = T0 + 990;
    const first = answer<JoinAnswer | NoPlace | null>();
    s.runner.join("a", null, first.reply);
    s.deliverLate(20);
    // The allowance ran out before the place was taken: one more sync, and the seat is the arrival's.
    expect(first.got.answered).toBe(false);
    expect(s.out).toHaveLength(1);
    s.deliver();
    expect(claimOf(first.got.value)?.kind).toBe("admitted");
    // The room's other seat goes to the next arrival at once.
    const second = answer<JoinAnswer | NoPlace | null>();
    s.runner.join("b", null, second.reply);
    expect(s.out).toHaveLength(0);
    expect(claimOf(second.got.value)?.kind).toBe("admitted");
  });

  it("lets a request that needs a sync while one is out wait for that same sync", () => {
    const s = setup();
    const join = answer<unknown>();
    const view = answer<unknown>();
    s.runner.join("a", null, join.reply);
    s.runner.view(view.reply);
    expect(s.out).toHaveLength(1);
    s.deliver();
    expect(join.got.answered && view.got.answered).toBe(true);
    expect(s.steps.filter((step) => step === "report")).toHaveLength(1);
  });

  it("counts a failed sync as the round's: the next is tried a round later, not at every request", () => {
    const s = setup();
    seated(s, "a");
    s.clock.now += SYNC_INTERVAL_MS;
    const view = answer<unknown>();
    s.runner.view(view.reply);
    s.lose();
    expect(view.got.answered).toBe(true);
    expect(s.runner.lastSync).toBe(s.clock.now);
    s.clock.now += 100;
    s.runner.view(answer<unknown>().reply);
    expect(s.out).toHaveLength(0);
    s.clock.now += SYNC_INTERVAL_MS;
    s.runner.view(answer<unknown>().reply);
    expect(s.out).toHaveLength(1);
  });

  it("lists a revocation at once when a sync is due, and adds its own revoked passes to the view it answers", () => {
    const s = setup();
    const lease = seated(s, "a");
    s.clock.now += SYNC_INTERVAL_MS;
    const left = answer<boolean>();
    s.runner.leave(lease.sid, "a", left.reply);
    expect(s.out).toHaveLength(1);
    expect(s.out[0]!.report.ending.map((e) => e.sid)).toEqual([lease.sid]);
    s.deliver();
    expect(left.got.value).toBe(true);
    const view = s.runner.freshView()!;
    expect(view.revoked).toContain(lease.sid);
    expect(view.cursors[0]).toBe(s.runner.shard.ledger.counters.cursor);
    expect(view.paces[0]).toBeUndefined();
  });

  it("reads its own revoked passes at most once a sync interval, and again after a seat here ends", () => {
    const s = setup();
    const a = seated(s, "a");
    const b = seated(s, "b");
    const reads = vi.spyOn(s.store, "revokedSids");
    s.runner.leave(a.sid, "a", answer<boolean>().reply);
    expect(withOwnRevoked(s.runner.viewParts()!).revoked).toEqual([a.sid]);
    s.runner.viewParts();
    expect(reads).toHaveBeenCalledTimes(1);
    s.runner.leave(b.sid, "b", answer<boolean>().reply);
    expect(s.runner.viewParts()!.own).toEqual([a.sid, b.sid]);
    expect(reads).toHaveBeenCalledTimes(2);
    s.clock.now += SYNC_INTERVAL_MS;
    s.runner.viewParts();
    expect(reads).toHaveBeenCalledTimes(3);
  });

  it("keeps one alarm, at the next round while busy, set only when it changes; the alarm syncs when due", () => {
    const s = setup();
    const lease = seated(s, "a");
    const round = Math.floor(s.clock.now / SYNC_INTERVAL_MS) * SYNC_INTERVAL_MS + SYNC_INTERVAL_MS;
    expect(s.alarms).toEqual([round]);
    s.clock.now += 10;
    expect(s.runner.renew(lease.sid, "a", undefined).kind).toBe("renewed");
    expect(s.alarms).toEqual([round]);
    s.clock.now = round;
    s.runner.alarm(answer<void>().reply);
    expect(s.runner.alarmAt).toBeNull();
    expect(s.out).toHaveLength(1);
    s.deliver();
    expect(s.alarms).toEqual([round, round + SYNC_INTERVAL_MS]);
  });
});

/**
 * Strict `maxQueue` at arrival: a shard gives a waiting place only within the
 * queue allowance the coordinator ordered it, so a burst never gets more
 * places than `maxQueue`, sharded or not. The edge cases: no limit, a limit
 * of 0, arrivals seated at once, lanes, the prequeue, a lowered limit, and a
 * shard that has not synced yet.
 */
import { describe, expect, it } from "vitest";
import { laneShard } from "../../src/policy/lanes.ts";
import { SYNC_INTERVAL_MS } from "../../src/policy/rounds.ts";
import { QueueRoom, T0 } from "./queue-room.ts";

const OPEN = { admitPerMinute: 6_000, mode: "open" as const };

/** `n` arrivals at shard `index`, each answered before the next (syncs delivered as they go out). */
function arrivals(room: QueueRoom, n: number, index = 0) {
  for (let i = 0; i < n; i++) {
    room.join(index);
    room.settleSyncs();
  }
}

describe("maxQueue at a shard", () => {
  it("gives a one-shard room with capacity 1 and maxQueue 2 exactly: admitted, queued, queued, then no place", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: 2, ...OPEN });
    arrivals(room, 5);
    expect(room.answers()).toEqual(["admitted", "queued", "queued", "queue_full", "queue_full"]);
    expect(room.generalWaiting()).toBe(2);
    // The two turned away count as offered the recording.
    expect(room.slot(0).shard.ledger.counters.overflowed).toBe(2);
  });

  it("gives the same answers when the five arrive together, before the first sync is back", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: 2, ...OPEN });
    for (let i = 0; i < 5; i++) room.join(0);
    room.settleSyncs();
    const answers = room.answers();
    expect(answers.filter((a) => a === "admitted")).toHaveLength(1);
    expect(answers.filter((a) => a === "queued")).toHaveLength(2);
    expect(answers.filter((a) => a === "queue_full")).toHaveLength(2);
  });

  it("keeps today's unbounded line without maxQueue", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: null, ...OPEN }, [0, 1]);
    for (let i = 0; i < 60; i++) room.join(i % 2);
    room.settleSyncs();
    expect(room.answers().filter((a) => a === "queued")).toHaveLength(59);
    expect(room.generalWaiting()).toBe(59);
  });

  it("with maxQueue 0 gives a seat or nothing", () => {
    const room = new QueueRoom({ capacity: 2, maxQueue: 0, ...OPEN });
    arrivals(room, 4);
    expect(room.answers()).toEqual(["admitted", "admitted", "queue_full", "queue_full"]);
    expect(room.generalWaiting()).toBe(0);
  });

  it("counts only listeners left waiting: arrivals seated at once take no place in line", () => {
    const room = new QueueRoom({ capacity: 3, maxQueue: 1, ...OPEN });
    arrivals(room, 5);
    expect(room.answers()).toEqual(["admitted", "admitted", "admitted", "queued", "queue_full"]);
  });

  it("does not bound a lane's line (maxQueue is the general line's)", () => {
    const lanes = { stage: { reserved: 0, cap: null, share: null, lend: true, shards: 1 } };
    const room = new QueueRoom({ capacity: 1, maxQueue: 1, lanes, laneSlots: { stage: 1 }, ...OPEN }, [0]);
    const lane = laneShard(1, 0);
    arrivals(room, 4, lane);
    expect(room.answers()).toEqual(["admitted", "queued", "queued", "queued"]);
    // The general line still has its one place, and only one.
    arrivals(room, 2, 0);
    expect(room.answers().slice(4)).toEqual(["queued", "queue_full"]);
  });

  it("bounds the prequeue before startsAt too: the line at the start is never longer than maxQueue", () => {
    const startsAt = new Date(T0 + 3_600_000).toISOString();
    const room = new QueueRoom({ capacity: 1, maxQueue: 2, startsAt, ...OPEN });
    arrivals(room, 4);
    expect(room.answers()).toEqual(["queued", "queued", "queue_full", "queue_full"]);
  });

  it("when maxQueue is lowered, keeps everyone in line and gives no new place until the line is below it", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: 5, ...OPEN });
    arrivals(room, 5);
    expect(room.generalWaiting()).toBe(4);
    room.setConfig({ maxQueue: 2 });
    room.tick(SYNC_INTERVAL_MS);
    room.settleSyncs();
    arrivals(room, 1);
    expect(room.listeners.at(-1)!.answer).toBe("queue_full");
    // Nobody lost a place.
    expect(room.generalWaiting()).toBe(4);
    // The line moves: three times a seat is given back, and the next in line is called and seated.
    for (let i = 0; i < 3; i++) {
      const before = room.generalWaiting();
      room.leave(room.listeners.find((l) => l.admitted && l.sid !== null)!);
      for (let r = 0; r < 60 && room.generalWaiting() === before; r++) {
        room.tick(SYNC_INTERVAL_MS);
        room.settleSyncs();
      }
      room.claimAll();
      room.settleSyncs();
      // Still no new place while the line is at or above the lowered limit.
      if (room.generalWaiting() >= 2) {
        arrivals(room, 1);
        expect(room.listeners.at(-1)!.answer).toBe("queue_full");
      }
    }
    expect(room.generalWaiting()).toBe(1);
    room.tick(SYNC_INTERVAL_MS);
    room.settleSyncs();
    arrivals(room, 2);
    expect(room.answers().slice(-2)).toEqual(["queued", "queue_full"]);
  });

  it("gives no place on a shard that has no allowance yet when its sync fails, and no place it was not granted", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: 2, ...OPEN });
    const first = room.join(0);
    expect(first.answer).toBe("pending");
    room.fail(0);
    expect(first.answer).toBe("unavailable");
    expect(room.slot(0).shard.ledger.counters.tail).toBe(0);
  });

  it("across shards: a raise waits until the coordinator knows the lowering elsewhere is in force", () => {
    const room = new QueueRoom({ capacity: 1, maxQueue: 4, shards: 2, ...OPEN }, [0, 1]);
    // Shard 0 alone gets arrivals: it holds all it was given.
    for (let i = 0; i < 6; i++) {
      room.join(0);
      room.settleSyncs([0, 1]);
    }
    const held0 = room.slot(0).shard.queue!;
    // Shard 1's first arrivals ask; it may have only what shard 0 is not counted for.
    for (let i = 0; i < 4; i++) {
      room.join(1);
      room.settleSyncs([1, 0]);
    }
    expect(room.slot(1).shard.queue!).toBeLessThanOrEqual(4 - Math.max(held0, room.slot(0).shard.ledger.waiting));
    expect(room.generalWaiting()).toBeLessThanOrEqual(4);
    expect(room.coordinator.accountedQueue()).toBeLessThanOrEqual(4);
  });
});

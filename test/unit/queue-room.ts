/**
 * A room of shard runners and one coordinator on in-memory stores, for the
 * tests of strict `maxQueue`: the real ShardRunner on a platform whose syncs
 * wait until the test delivers them (or loses them), with the gate a Durable
 * Object has (a request to a shard whose sync is out runs after it), and the
 * listeners' side: who was answered with a place, a seat, or none.
 */
import type { Mode, Timings } from "../../src/policy/config.ts";
import { Coordinator, type CoordinatorConfig } from "../../src/policy/coordinator.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import type { ShardOrder, ShardReport } from "../../src/policy/protocol.ts";
import { Shard } from "../../src/policy/shard.ts";
import { type JoinAnswer, type NoPlace, type Reply, ShardRunner } from "../../src/policy/shard-runner.ts";
import { slotOf } from "../../src/policy/lanes.ts";

export const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 5_000, ticketTtlMs: 24 * 3_600_000 };

/** How a join was answered: seated at once, a waiting place, or none (and why); `pending`: not yet. */
export type Answer = "pending" | "admitted" | "queued" | "queue_full" | "unavailable";

export interface QueueListener {
  sub: string;
  shard: number;
  seq: number;
  answer: Answer;
  admitted: boolean;
  sid: string | null;
}

interface ShardSlot {
  index: number;
  store: MemoryLedgerStore;
  shard: Shard;
  runner: ShardRunner;
  /** The sync out (at most one: the runner starts no other while one is out). */
  out: { report: ShardReport; done: (order: ShardOrder | null) => void } | null;
  /** Requests held back while the sync is out. */
  held: (() => void)[];
  alarmAt: number | null;
}

function answered<T>(then: (value: T) => void): Reply<T> {
  return {
    answer: then,
    fail: (err) => {
      throw err;
    },
  };
}

export class QueueRoom {
  now = T0 + 500;
  config: CoordinatorConfig;
  readonly coordinatorStore = new MemoryCoordinatorStore();
  coordinator: Coordinator;
  readonly slots = new Map<number, ShardSlot>();
  readonly listeners: QueueListener[] = [];
  /** `maxQueue` in force when each order was made, by order version. */
  readonly maxQueueAt = new Map<number, number | null>();
  /** Called in the very step that gives a waiting place, right after it (the shard's index). */
  onPlace: (index: number) => void = () => {};
  #ids = 0;

  constructor(config: CoordinatorConfig, shards: number[] = [0]) {
    this.config = config;
    this.coordinator = new Coordinator(this.coordinatorStore, config, this.now);
    for (const index of shards) this.#add(index);
  }

  #add(index: number): ShardSlot {
    const store = new MemoryLedgerStore();
    const shard = new Shard(index, store, store, timings, { newId: () => `sid-${++this.#ids}` }, this.now);
    const slot: ShardSlot = { index, store, shard, runner: null!, out: null, held: [], alarmAt: null };
    slot.runner = new ShardRunner(shard, store, {
      now: () => this.now,
      atomically: (step, op) => {
        const before = shard.ledger.waiting;
        const tail = shard.ledger.counters.tail;
        const out = op(this.now);
        const placed = (step === "join" || step === "rejoin") && shard.ledger.counters.tail > tail;
        if (placed && shard.ledger.waiting > before) this.onPlace(index);
        return out;
      },
      sync: (report, done) => {
        slot.out = { report, done };
      },
      setAlarm: (at) => {
        slot.alarmAt = at;
      },
    });
    this.slots.set(index, slot);
    return slot;
  }

  slot(index: number): ShardSlot {
    return this.slots.get(index) ?? this.#add(index);
  }

  /** Run `request` at shard `index` now, or once its sync is back. */
  #at(index: number, request: () => void): void {
    const slot = this.slot(index);
    if (slot.out !== null) slot.held.push(request);
    else request();
  }

  /** A new arrival joins shard `index`; the answer is recorded when it comes (returned, for a test to read). */
  join(index: number): QueueListener {
    const who: QueueListener = {
      sub: `l-${this.listeners.length}`,
      shard: index,
      seq: 0,
      answer: "pending",
      admitted: false,
      sid: null,
    };
    this.listeners.push(who);
    this.#at(index, () =>
      this.slot(index).runner.join(
        who.sub,
        null,
        answered((out: JoinAnswer | NoPlace | null) => this.#joined(who, out)),
      ),
    );
    return who;
  }

  #joined(who: QueueListener, out: JoinAnswer | NoPlace | null): void {
    if (out === null) throw new Error("a join without a challenge was refused as spent");
    if ("noPlace" in out) {
      who.answer = out.noPlace;
      return;
    }
    who.seq = out.seq;
    if (out.claim.kind === "admitted") {
      who.answer = "admitted";
      who.admitted = true;
      who.sid = out.claim.lease.sid;
      return;
    }
    who.answer = "queued";
  }

  /** The coordinator answers shard `index`'s sync (`lost`: the order is made but never arrives). */
  deliver(index: number, lost = false): boolean {
    const slot = this.slot(index);
    const out = slot.out;
    if (out === null) return false;
    const order = this.coordinator.sync(out.report, this.now);
    this.maxQueueAt.set(order.version, this.config.maxQueue ?? null);
    this.#done(slot, lost ? null : order);
    return true;
  }

  /** Shard `index`'s sync never reaches the coordinator. */
  fail(index: number): boolean {
    const slot = this.slot(index);
    if (slot.out === null) return false;
    this.#done(slot, null);
    return true;
  }

  #done(slot: ShardSlot, order: ShardOrder | null): void {
    const out = slot.out!;
    slot.out = null;
    out.done(order);
    while (slot.out === null && slot.held.length > 0) slot.held.shift()!();
  }

  /** Deliver every sync out, again and again until none is (each shard in the order given). */
  settleSyncs(order: number[] = [...this.slots.keys()]): void {
    for (let again = true; again;) {
      again = false;
      for (const index of order) again = this.deliver(index) || again;
    }
  }

  /** Time passes: alarms due run (a busy shard's syncs at each round), their syncs delivered. */
  tick(ms: number): void {
    this.now += ms;
    for (const slot of this.slots.values()) {
      if (slot.out !== null || slot.alarmAt === null || slot.alarmAt > this.now) continue;
      slot.runner.alarm(answered(() => {}));
    }
  }

  /** Every listener with a place who has been called claims its seat. */
  claimAll(): void {
    for (const who of this.listeners) {
      if (who.answer !== "queued" || who.admitted) continue;
      const slot = this.slot(who.shard);
      if (who.seq > slot.shard.ledger.counters.cursor) continue;
      this.#at(who.shard, () =>
        slot.runner.claim(
          who.sub,
          who.seq,
          undefined,
          undefined,
          answered(({ claim }) => {
            if (claim.kind !== "admitted") return;
            who.admitted = true;
            who.sid = claim.lease.sid;
          }),
        ),
      );
    }
  }

  /** A seated listener gives its seat back. */
  leave(who: QueueListener): void {
    if (!who.admitted || who.sid === null) return;
    const sid = who.sid;
    who.sid = null;
    this.#at(who.shard, () =>
      this.slot(who.shard).runner.leave(
        sid,
        who.sub,
        answered(() => {}),
      ),
    );
  }

  setConfig(change: Partial<CoordinatorConfig>): void {
    this.config = { ...this.config, ...change };
    this.coordinator.setConfig(this.config);
  }

  setMode(mode: Mode): void {
    this.setConfig({ mode });
  }

  /** The coordinator restarts from its store. */
  restartCoordinator(): void {
    this.coordinator = new Coordinator(this.coordinatorStore, this.config, this.now);
  }

  /** Listeners waiting in the general line (given a place, not yet called), by the shards. */
  generalWaiting(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slotOf(slot.index) === 0) n += slot.shard.ledger.waiting;
    return n;
  }

  /** The answers so far, in order of arrival. */
  answers(): Answer[] {
    return this.listeners.map((l) => l.answer);
  }
}

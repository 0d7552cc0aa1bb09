/**
 * Lanes in a sharded room, on the in-memory stores: one Coordinator, general
 * shards 0…n-1 and lane shards at slot × LANE_BLOCK (+ i), driven second by
 * second the way the shard runner drives them (a shard syncs at each round
 * while busy; a join that waits alone, or when a sync is due, syncs at once
 * and claims again). Every operation checks that the room never holds more
 * live leases than its capacity, and no lane more than its cap.
 */
import { describe, expect, it } from "vitest";
import type { Timings } from "../../src/policy/config.ts";
import { Coordinator, type CoordinatorConfig } from "../../src/policy/coordinator.ts";
import { estimatePlace, etaAt } from "../../src/policy/estimate.ts";
import { type LaneSettings, laneShard, slotOf } from "../../src/policy/lanes.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import type { GlobalView } from "../../src/policy/protocol.ts";
import { syncDue } from "../../src/policy/rounds.ts";
import { Shard } from "../../src/policy/shard.ts";
import { rankOf } from "../../src/policy/shuffle.ts";

const T0 = Date.UTC(2026, 0, 1);
// Passes outlive every run: a lease ends only when its listener leaves.
const timings: Timings = { passTtlMs: 600_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };
const STEP_MS = 250;

/** A lane's settings, defaults filled in as the schema does. */
function lane(over: Partial<LaneSettings>): LaneSettings {
  return { reserved: 0, cap: null, share: null, lend: true, shards: 1, ...over };
}

interface Listener {
  sub: string;
  shard: number;
  slot: number;
  seq: number;
  at: number;
  /** When its shard's cursor first reached it. */
  calledAt: number | null;
  admittedAt: number | null;
  leftAt: number | null;
}

/** In what order the shards due sync within a round (or these shard indices first, in this order). */
type SyncOrder = "general-first" | "lanes-first" | readonly number[];

class LaneRoom {
  now = T0;
  readonly coordinator: Coordinator;
  readonly shards = new Map<number, Shard>();
  readonly stores = new Map<number, MemoryLedgerStore>();
  readonly listeners: Listener[] = [];
  readonly lastSync = new Map<number, number>();
  /** Leaves asked for (every lease that ended, ended by its listener). */
  leaves = 0;
  #ids = 0;
  #subs = 0;
  readonly deps = { newId: () => `sid-${++this.#ids}` };

  constructor(
    public config: CoordinatorConfig,
    general: number,
    readonly order: SyncOrder = "general-first",
  ) {
    this.coordinator = new Coordinator(new MemoryCoordinatorStore(), config, this.now);
    const indices = Array.from({ length: general }, (_, i) => i);
    for (const [name, settings] of Object.entries(config.lanes ?? {})) {
      const slot = config.laneSlots![name]!;
      for (let i = 0; i < settings.shards; i++) indices.push(laneShard(slot, i));
    }
    for (const index of indices) {
      const store = new MemoryLedgerStore();
      this.stores.set(index, store);
      this.shards.set(index, new Shard(index, store, store, timings, this.deps, this.now));
      this.lastSync.set(index, 0);
    }
  }

  /** A config change (the invariants check the new capacity and caps from now on). */
  configure(config: CoordinatorConfig): void {
    this.config = config;
    this.coordinator.setConfig(config);
  }

  shard(index: number): Shard {
    return this.shards.get(index)!;
  }

  /** Live leases on a line's shards (slot 0: general), or all shards. */
  live(slot?: number): number {
    let n = 0;
    for (const [index, s] of this.shards) if (slot === undefined || slotOf(index) === slot) n += s.ledger.counters.live;
    return n;
  }

  /** More invariants a test checks after every operation. */
  readonly invariants: ((room: LaneRoom) => void)[] = [];

  /** The strict cap and every lane cap hold (called after every operation). */
  check(): void {
    for (const invariant of this.invariants) invariant(this);
    const live = this.live();
    if (live > this.config.capacity) expect.fail(`room live ${live} > capacity ${this.config.capacity}`);
    for (const [name, settings] of Object.entries(this.config.lanes ?? {})) {
      const laneLive = this.live(this.config.laneSlots![name]!);
      if (settings.cap !== null && laneLive > settings.cap)
        expect.fail(`${name} live ${laneLive} > cap ${settings.cap}`);
    }
  }

  sync(index: number): void {
    const s = this.shard(index);
    const report = s.report(this.now);
    const order = this.coordinator.sync(report, this.now);
    s.apply(order, report, this.now);
    this.lastSync.set(index, this.now);
    this.#noteCalls();
    this.check();
  }

  /** Every busy shard whose sync is due syncs, in the room's order. */
  round(): void {
    const indices = [...this.shards.keys()].sort((a, b) => a - b);
    if (this.order === "lanes-first") indices.sort((a, b) => slotOf(b) - slotOf(a) || a - b);
    if (typeof this.order !== "string") {
      const place = (index: number) => {
        const at = (this.order as readonly number[]).indexOf(index);
        return at === -1 ? Infinity : at;
      };
      indices.sort((a, b) => place(a) - place(b) || a - b);
    }
    for (const index of indices) {
      if (this.shard(index).busy() && syncDue(this.lastSync.get(index)!, this.now)) this.sync(index);
    }
  }

  /** A listener joins a shard; waiting alone (or with a sync due), it syncs at once and claims again. */
  join(shard: number): Listener {
    const s = this.shard(shard);
    const sub = `l${++this.#subs}`;
    const out = s.ledger.join(sub, this.now);
    const l: Listener = {
      sub,
      shard,
      slot: slotOf(shard),
      seq: out.seq,
      at: this.now,
      calledAt: null,
      admittedAt: out.claim.kind === "admitted" ? this.now : null,
      leftAt: null,
    };
    this.listeners.push(l);
    this.#noteCalls();
    this.check();
    const c = s.ledger.counters;
    if (l.admittedAt === null && (c.tail - c.cursor === 1 || syncDue(this.lastSync.get(shard)!, this.now))) {
      this.sync(shard);
      this.claim(l);
    }
    return l;
  }

  /** Its shard's cursor has reached it (its rank, after a prequeue's draw). */
  called(l: Listener): boolean {
    const c = this.shard(l.shard).ledger.counters;
    return rankOf(l.seq, c.draw) <= c.cursor;
  }

  claim(l: Listener): void {
    if (l.admittedAt !== null || !this.called(l)) return;
    if (this.shard(l.shard).ledger.claim(l.sub, l.seq, this.now, l.at).kind === "admitted") l.admittedAt = this.now;
    this.check();
  }

  /** Every called listener not yet seated claims. */
  claimAll(): void {
    for (const l of this.listeners) this.claim(l);
  }

  leave(l: Listener): void {
    const lease = this.stores.get(l.shard)!.leaseBySub(l.sub)!;
    expect(this.shard(l.shard).ledger.leave(lease.sid, l.sub, this.now)).toBe(true);
    l.leftAt = this.now;
    this.leaves += 1;
    this.check();
  }

  /** Time passes in steps; each step: syncs due, then claims. `each` runs at every step before those. */
  run(ms: number, each: (room: LaneRoom) => void = () => {}): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += STEP_MS;
      each(this);
      this.round();
      this.claimAll();
    }
  }

  #noteCalls(): void {
    for (const l of this.listeners) {
      if (l.calledAt === null && this.called(l)) l.calledAt = this.now;
    }
  }

  waiting(slot: number): Listener[] {
    return this.listeners.filter((l) => l.slot === slot && l.admittedAt === null);
  }

  /** Leases that ended other than by their listener's leave (there must be none: no eviction). */
  ended(): number {
    let left = 0;
    let expired = 0;
    for (const s of this.shards.values()) {
      left += s.ledger.counters.left;
      expired += s.ledger.counters.expired;
    }
    return left - this.leaves + expired;
  }
}

const STAGE = 1;
const stageShard = (i = 0) => laneShard(STAGE, i);

describe("reserved seats", () => {
  it("are honoured under a flood of general arrivals (lend: false), and stage arrivals are seated within 2 s", () => {
    const capacity = 100;
    const reserved = 10;
    const room = new LaneRoom(
      {
        capacity,
        admitPerMinute: 6_000,
        mode: "open",
        shards: 3,
        lanes: { stage: lane({ reserved, lend: false }) },
        laneSlots: { stage: STAGE },
      },
      3,
    );
    // Checked after every operation: join, claim, leave, sync.
    room.invariants.push((r) => {
      if (r.live(0) > capacity - reserved) expect.fail(`general live ${r.live(0)} > ${capacity - reserved}`);
    });
    let generalPeak = 0;
    const churn = (r: LaneRoom) => {
      // General listeners seated for 5 s leave: their seats must go back to the general line, never past the reserve.
      for (const l of r.listeners)
        if (l.slot === 0 && l.leftAt === null && l.admittedAt !== null && r.now - l.admittedAt >= 5_000) r.leave(l);
      generalPeak = Math.max(generalPeak, r.live(0));
      expect(r.live(0)).toBeLessThanOrEqual(capacity - reserved);
    };
    // The flood: 40 general arrivals a second for 12 s, over three shards.
    room.run(12_000, (r) => {
      for (let k = 0; k < 10; k++) r.join((k * 7 + r.listeners.length) % 3);
      churn(r);
    });
    expect(generalPeak).toBe(capacity - reserved);
    expect(room.waiting(0).length).toBeGreaterThan(100);
    // Stage arrivals after the flood, one at a time and three at once, while the general line still waits.
    const stage: Listener[] = [];
    for (const gap of [1_100, 2_350, 700, 3_000, 0, 0, 1_600, 250, 4_000, 900]) {
      room.run(gap, (r) => {
        for (let k = 0; k < 10; k++) r.join(k % 3);
        churn(r);
      });
      stage.push(room.join(stageShard()));
    }
    room.run(3_000, churn);
    for (const l of stage) {
      expect(l.admittedAt).not.toBeNull();
      expect(l.admittedAt! - l.at).toBeLessThanOrEqual(2_000);
    }
    // After its first sync, the lane holds its reserve ahead of arrivals: the later ones are seated at their join.
    expect(stage.slice(1).every((l) => l.admittedAt === l.at)).toBe(true);
    expect(room.live(STAGE)).toBe(reserved);
    expect(room.ended()).toBe(0);
  });
});

describe("lent reserved seats (lend: true)", () => {
  it.each<SyncOrder>(["general-first", "lanes-first"])(
    "fill with general listeners, and go back to the stage as seats free, ahead of general listeners who waited longer (%s)",
    (order) => {
      const capacity = 20;
      const room = new LaneRoom(
        {
          capacity,
          admitPerMinute: 6_000,
          mode: "open",
          shards: 2,
          lanes: { stage: lane({ reserved: 5 }) },
          laneSlots: { stage: STAGE },
        },
        2,
        order,
      );
      room.run(4_000, (r) => {
        for (let k = 0; k < 4; k++) r.join(k % 2);
      });
      room.run(4_000);
      // General listeners borrow the whole room, reserve included.
      expect(room.live(0)).toBe(capacity);
      expect(room.waiting(0).length).toBe(64 - capacity);
      const stageAt = room.now;
      const stage = [room.join(stageShard()), room.join(stageShard()), room.join(stageShard())];
      expect(stage.every((l) => l.admittedAt === null)).toBe(true);
      // General listeners leave, one every 2 s, longest seated first: nobody else's lease ends.
      const seated = room.listeners.filter((l) => l.slot === 0 && l.admittedAt !== null);
      let next = 0;
      room.run(30_000, (r) => {
        if (r.now % 2_000 === 0 && next < seated.length) r.leave(seated[next++]!);
      });
      expect(stage.every((l) => l.admittedAt !== null)).toBe(true);
      const stageDone = Math.max(...stage.map((l) => l.admittedAt!));
      const generalAfter = room.listeners.filter((l) => l.slot === 0 && l.calledAt !== null && l.calledAt >= stageAt);
      expect(generalAfter.length).toBeGreaterThan(0);
      // Every general listener called since the stage arrived was called after the last stage listener was seated.
      for (const g of generalAfter) expect(g.calledAt!).toBeGreaterThanOrEqual(stageDone);
      // The first freed seats went to the stage: three leaves, three stage seats, before anyone general.
      expect(room.live(STAGE)).toBe(3);
      expect(room.ended()).toBe(0);
    },
  );
});

describe("a lane's cap", () => {
  it("is never exceeded, over two lane shards, and freed seats under it go to the lane's next listeners", () => {
    const room = new LaneRoom(
      {
        capacity: 50,
        admitPerMinute: 6_000,
        mode: "open",
        shards: 2,
        lanes: { stage: lane({ reserved: 2, cap: 4, shards: 2 }) },
        laneSlots: { stage: STAGE },
      },
      2,
    );
    let peak = 0;
    room.run(6_000, (r) => {
      if (r.now % 500 === 0) r.join(stageShard(r.listeners.length % 2));
      if (r.now % 1_000 === 0) r.join(r.listeners.length % 2);
      peak = Math.max(peak, r.live(STAGE));
    });
    room.run(3_000);
    expect(peak).toBe(4);
    expect(room.live(STAGE)).toBe(4);
    // General listeners are not held back by a capped lane's waiting listeners beyond the cap.
    expect(room.waiting(0).length).toBe(0);
    const stageWaiting = room.waiting(STAGE).length;
    expect(stageWaiting).toBe(8);
    const seated = room.listeners.filter((l) => l.slot === STAGE && l.admittedAt !== null);
    room.leave(seated[0]!);
    room.leave(seated[1]!);
    room.run(8_000, (r) => {
      peak = Math.max(peak, r.live(STAGE));
    });
    expect(peak).toBe(4);
    expect(room.waiting(STAGE).length).toBe(stageWaiting - 2);
    expect(room.live(STAGE)).toBe(4);
  });
});

describe("priority", () => {
  it.each<SyncOrder>(["general-first", "lanes-first"])(
    "strict: a priority lane's waiting listeners are called before general listeners who arrived earlier (%s)",
    (order) => {
      const PRIORITY = 2;
      const room = new LaneRoom(
        {
          capacity: 10,
          admitPerMinute: 6_000,
          mode: "open",
          shards: 2,
          lanes: { priority: lane({}) },
          laneSlots: { priority: PRIORITY },
        },
        2,
        order,
      );
      room.run(3_000, (r) => {
        for (let k = 0; k < 4; k++) r.join(k % 2);
      });
      expect(room.live(0)).toBe(10);
      room.run(3_000);
      const priorityAt = room.now;
      const priority = Array.from({ length: 5 }, () => room.join(laneShard(PRIORITY, 0)));
      const seated = room.listeners.filter((l) => l.slot === 0 && l.admittedAt !== null);
      let next = 0;
      room.run(30_000, (r) => {
        if (r.now % 1_000 === 0 && next < seated.length) r.leave(seated[next++]!);
      });
      expect(priority.every((l) => l.admittedAt !== null)).toBe(true);
      const done = Math.max(...priority.map((l) => l.calledAt!));
      const general = room.listeners.filter((l) => l.slot === 0 && l.calledAt !== null && l.calledAt >= priorityAt);
      expect(general.length).toBeGreaterThan(0);
      // A general listener is called only while the free seats outnumber the lane's waiting listeners: the
      // lane's are held for it and taken at its next sync (within the round), whatever the order of syncs.
      for (const g of general) {
        expect(g.at).toBeLessThan(priorityAt);
        expect(g.calledAt!).toBeGreaterThanOrEqual(done - 1_000);
      }
      if (order === "general-first") for (const g of general) expect(g.calledAt!).toBeGreaterThanOrEqual(done);
      expect(room.ended()).toBe(0);
    },
  );

  it.each<SyncOrder>(["general-first", "lanes-first"])(
    "share: a lane with share 0.25 gets about a quarter of the seats while both lines wait (%s)",
    (order) => {
      const SUBS = 3;
      const room = new LaneRoom(
        {
          capacity: 40,
          admitPerMinute: 60_000,
          mode: "open",
          shards: 2,
          lanes: { subscribers: lane({ share: 0.25 }) },
          laneSlots: { subscribers: SUBS },
        },
        2,
        order,
      );
      // Both lines long; every seated listener leaves after 3 s, so seats free all the time, in small numbers.
      const churn = (r: LaneRoom) => {
        for (const l of r.listeners)
          if (l.leftAt === null && l.admittedAt !== null && r.now - l.admittedAt >= 3_000) r.leave(l);
      };
      room.run(2_000, (r) => {
        for (let k = 0; k < 50; k++) r.join(k % 2);
      });
      room.run(1_000, (r) => {
        for (let k = 0; k < 50; k++) r.join(laneShard(SUBS, 0));
      });
      const from = room.now + 5_000;
      room.run(40_000, churn);
      const until = room.now;
      expect(room.waiting(0).length).toBeGreaterThan(0);
      expect(room.waiting(SUBS).length).toBeGreaterThan(0);
      const seated = room.listeners.filter(
        (l) => l.admittedAt !== null && l.admittedAt >= from && l.admittedAt < until,
      );
      const onLane = seated.filter((l) => l.slot === SUBS).length;
      expect(seated.length).toBeGreaterThan(100);
      const part = onLane / seated.length;
      expect(part).toBeGreaterThan(0.2);
      expect(part).toBeLessThan(0.3);
    },
  );
});

describe("first in first out within a lane", () => {
  /** One general shard and a stage lane of two shards under `cap`. */
  const stageOverTwoShards = (cap: number) =>
    new LaneRoom(
      {
        capacity: 100,
        admitPerMinute: 6_000,
        mode: "open",
        shards: 1,
        lanes: { stage: lane({ cap, shards: 2 }) },
        laneSlots: { stage: STAGE },
      },
      1,
    );

  it("holds across the lane's two shards, to one second", () => {
    const room = stageOverTwoShards(3);
    room.run(60_000, (r) => {
      if (r.now < T0 + 8_000 && r.now % 500 === 0) {
        r.join(stageShard((r.now / 500) % 3 === 0 ? 1 : 0));
        if (r.now % 1_000 === 0) r.join(0);
      }
      for (const l of r.listeners)
        if (l.leftAt === null && l.admittedAt !== null && r.now - l.admittedAt >= 1_000) r.leave(l);
    });
    const onLane = room.listeners.filter((l) => l.slot === STAGE);
    expect(onLane.every((l) => l.admittedAt !== null)).toBe(true);
    expect(new Set(onLane.map((l) => l.shard)).size).toBe(2);
    // Nobody on the lane was called while someone on it who arrived more than a second earlier still waited.
    for (const a of onLane) {
      for (const b of onLane) if (b.at < a.at - 1_000) expect(b.calledAt!).toBeLessThanOrEqual(a.calledAt!);
    }
  });

  it("holds under the lane's cap when the seats that come back were freed on one of its shards", () => {
    const room = stageOverTwoShards(6);
    // The cap is taken: 4 seats on the lane's first shard, 2 on its second.
    const first = Array.from({ length: 4 }, () => room.join(stageShard(0)));
    room.run(3_000, (r) => {
      if (r.now === T0 + 250) for (let k = 0; k < 2; k++) r.join(stageShard(1));
    });
    expect(room.live(STAGE)).toBe(6);
    // A line: each second, one on the second shard at its start, one on the first shard late in it.
    room.run(7_000, (r) => {
      const ms = (r.now - T0) % 1_000;
      if (ms === 0) r.join(stageShard(1));
      if (ms === 750) r.join(stageShard(0));
    });
    // The first shard's 4 leave: their seats come back on that shard alone.
    for (const l of first) room.leave(l);
    room.run(30_000);
    const onLane = room.listeners.filter((l) => l.slot === STAGE && l.leftAt === null);
    expect(onLane.filter((l) => l.admittedAt !== null).length).toBeGreaterThanOrEqual(4);
    // Nobody on the lane was called while someone on it who arrived a second or more earlier still waited.
    for (const a of onLane) {
      if (a.calledAt === null) continue;
      for (const b of onLane) if (b.at <= a.at - 1_000) expect(b.calledAt ?? Infinity).toBeLessThanOrEqual(a.calledAt);
    }
  });
});

describe("first in first out within a lane beside a lent reserve", () => {
  it("holds when the general line borrows the reserve between the lane's two shards' syncs of a round", () => {
    // A lent stage reserve of 10 in a room of 20, a strict priority lane over two shards, one general shard.
    // Each round syncs the lane's second shard first, then the general shard, then the lane's first shard.
    const PRIORITY = 2;
    const [p0, p1] = [laneShard(PRIORITY, 0), laneShard(PRIORITY, 1)];
    const config: CoordinatorConfig = {
      capacity: 20,
      admitPerMinute: 60_000,
      mode: "open",
      shards: 1,
      lanes: { stage: lane({ reserved: 10 }), priority: lane({ shards: 2 }) },
      laneSlots: { stage: STAGE, priority: PRIORITY },
    };
    const room = new LaneRoom(config, 1, [p1, 0, p0]);
    // General listeners borrow the whole room, the stage's reserve too, and more of them wait.
    room.run(4_000, (r) => {
      for (let k = 0; k < 10; k++) r.join(0);
    });
    expect(room.live(0)).toBe(20);
    // Priority listeners wait: the older on the lane's first shard, one 1.5 s younger on its second.
    const older = room.join(p0);
    room.run(1_500);
    const younger = room.join(p1);
    room.run(3_000);
    expect([older.calledAt, younger.calledAt]).toEqual([null, null]);
    // Twelve more seats: two beyond the stage's unused reserve, which the priority lane may not borrow and
    // the general line may. The second shard's walk counts one for the older listener and one for its own;
    // the general line then borrows the reserve, leaving the lane's waiting listeners their two seats.
    room.configure({ ...config, capacity: 32 });
    room.run(5_000);
    expect(room.live()).toBe(32);
    expect(younger.admittedAt).not.toBeNull();
    // The older listener got the seat the walk counted for it, in the same round.
    expect(older.admittedAt).not.toBeNull();
    expect(older.calledAt!).toBeLessThanOrEqual(younger.calledAt! + 1_000);
    expect(room.ended()).toBe(0);
  });
});

describe("the prequeue", () => {
  const startsAt = new Date(T0 + 60_000).toISOString();

  it.each([false, true])("holds general arrivals before the start, not a lane's (shuffle at start: %s)", (shuffle) => {
    const room = new LaneRoom(
      {
        capacity: 20,
        admitPerMinute: 6_000,
        mode: "open",
        shards: 2,
        startsAt,
        shuffleAtStart: shuffle,
        shuffleSeed: shuffle ? 42 : null,
        lanes: { stage: lane({ reserved: 2 }) },
        laneSlots: { stage: STAGE },
      },
      2,
    );
    room.run(10_000, (r) => {
      if (r.now % 1_000 === 0) {
        r.join(0);
        r.join(1);
      }
      if (r.now % 2_000 === 0) r.join(stageShard());
    });
    expect(room.live(0)).toBe(0);
    expect(room.waiting(0).length).toBe(20);
    const stage = room.listeners.filter((l) => l.slot === STAGE);
    expect(stage.length).toBe(5);
    for (const l of stage) expect(l.admittedAt! - l.at).toBeLessThanOrEqual(2_000);
    // At the start the general line goes in.
    room.run(55_000);
    expect(room.live(0)).toBe(15);
  });

  it("but hold mode holds a lane too", () => {
    const room = new LaneRoom(
      {
        capacity: 20,
        admitPerMinute: 6_000,
        mode: "hold",
        shards: 1,
        lanes: { stage: lane({ reserved: 2 }) },
        laneSlots: { stage: STAGE },
      },
      1,
    );
    room.run(5_000, (r) => {
      if (r.now % 1_000 === 0) {
        r.join(0);
        r.join(stageShard());
      }
    });
    expect(room.live()).toBe(0);
    expect(room.waiting(STAGE).length).toBe(5);
  });
});

describe("estimates with lanes", () => {
  it("place a lane ticket on its lane, and count strict lanes' waiting listeners ahead of general ones", () => {
    const room = new LaneRoom(
      {
        capacity: 10,
        admitPerMinute: 600,
        mode: "open",
        shards: 1,
        lanes: { stage: lane({ cap: 2 }), subscribers: lane({ share: 0.5 }) },
        laneSlots: { stage: STAGE, subscribers: 2 },
      },
      1,
    );
    // The room fills with general listeners who keep their seats; the stage lane fills its cap.
    room.run(3_000, (r) => r.join(0));
    expect(room.live(0)).toBe(10);
    for (let k = 0; k < 6; k++) room.join(stageShard());
    for (let k = 0; k < 3; k++) room.join(laneShard(2, 0));
    const seated = room.listeners.filter((l) => l.admittedAt !== null);
    room.run(8_000, (r) => {
      // Two general listeners leave: their seats go to the stage (strict), up to its cap.
      if (r.now === T0 + 4_000) for (const l of seated.filter((x) => x.slot === 0).slice(0, 2)) r.leave(l);
    });
    expect(room.live(STAGE)).toBe(2);
    const view: GlobalView = room.shard(0).view!;
    expect(view.lanes!["stage"]).toMatchObject({ slot: STAGE, shards: 1, strict: true, cap: 2, waiting: 4 });
    expect(view.lanes!["subscribers"]).toMatchObject({ strict: false, waiting: 3 });

    // A lane ticket: its place on its lane's shard, its ETA by the lane's flow.
    const stageWaiting = room.waiting(STAGE);
    expect(stageWaiting.length).toBe(4);
    const cursor = room.shard(stageShard()).ledger.counters.cursor;
    stageWaiting.forEach((l, i) => {
      const place = estimatePlace({ shard: l.shard, seq: l.seq, at: l.at }, view, room.now);
      expect(place.position).toBe(l.seq - cursor);
      expect(place.position).toBe(i + 1);
      expect(place.ahead).toBe(i);
    });
    const first = estimatePlace({ shard: stageShard(), seq: stageWaiting[0]!.seq, at: 0 }, view, room.now);
    const last = estimatePlace({ shard: stageShard(), seq: stageWaiting[3]!.seq, at: 0 }, view, room.now);
    expect(first.etaSeconds).not.toBeNull();
    expect(last.etaSeconds!).toBeGreaterThan(first.etaSeconds!);

    // A general ticket: the strict lane's waiting listeners (not the share lane's) count as ahead of it.
    const general = room.waiting(0)[0]!;
    const ticket = { shard: 0, seq: general.seq, at: general.at };
    const withLanes = estimatePlace(ticket, view, room.now);
    const noStage: GlobalView = { ...view, lanes: { ...view.lanes, stage: { ...view.lanes!["stage"]!, waiting: 0 } } };
    const without = estimatePlace(ticket, noStage, room.now);
    expect(withLanes.position).toBe(without.position);
    expect(without.etaSeconds).not.toBeNull();
    // As if it stood 4 places further back.
    expect(withLanes.etaSeconds!).toBeGreaterThan(without.etaSeconds!);
    expect(withLanes.etaSeconds).toBe(etaAt(without.position! + 4, noStage, room.now));
    const noSubs: GlobalView = {
      ...view,
      lanes: { ...view.lanes, subscribers: { ...view.lanes!["subscribers"]!, waiting: 0 } },
    };
    expect(estimatePlace(ticket, noSubs, room.now).etaSeconds).toBe(withLanes.etaSeconds);
  });
});

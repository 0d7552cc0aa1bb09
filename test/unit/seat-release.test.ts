/**
 * Seats given back in a sharded room (Shard + Coordinator in memory, as
 * sharded.property.test.ts drives them): a seat is freed before its lease
 * expires only once the room's revocation list (a view's `revoked`) has
 * carried its lease id for CONFIRM_AFTER_MS, and every seat is back by its
 * lease's expiry at the latest — also when more listeners leave at once than
 * the list can hold (MAX_VIEW_REVOKED). Seats that move to another device
 * follow the same rule before the ticket's next claim may take them.
 */
import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/admission/config.ts";
import { CONFIRM_AFTER_MS, Coordinator, type GlobalView, MAX_VIEW_REVOKED } from "../../src/admission/coordinator.ts";
import type { ClaimOutcome, Lease } from "../../src/admission/ledger.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/admission/memory-store.ts";
import { Shard } from "../../src/admission/shard.ts";

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 60_000, claimWindowMs: 30_000, ticketTtlMs: 24 * 3_600_000 };

interface Listener {
  sub: string;
  shard: number;
  seq: number;
  /** Its pass's lease id, once admitted. */
  sid: string | null;
}

/** A sharded room whose every sync, claim and leave is checked for seats freed too early. */
class Room {
  now = T0;
  readonly coordinator: Coordinator;
  readonly stores: MemoryLedgerStore[];
  readonly shards: Shard[];
  readonly listeners: Listener[] = [];
  /** When each lease id first appeared in a view the coordinator gave out, and until when its passes last. */
  readonly listed = new Map<string, { at: number; until: number }>();
  /** Every pass granted, with its expiry. */
  readonly passes = new Map<string, number>();
  /** Seats freed before their lease expired (each confirmed), and the most lease ids a view listed. */
  freedEarly = 0;
  mostListed = 0;
  #ids = 0;

  constructor(
    n: number,
    readonly config: AdmissionLimits,
  ) {
    const deps = { newId: () => `sid-${++this.#ids}` };
    this.coordinator = new Coordinator(new MemoryCoordinatorStore(), { ...config, shards: n }, T0);
    this.stores = Array.from({ length: n }, () => new MemoryLedgerStore());
    this.shards = this.stores.map((store, i) => new Shard(i, store, store, timings, deps, T0));
  }

  /** Runs `fn`, then checks that no seat it freed was freed too early. */
  guard<T>(fn: () => T): T {
    const before = this.stores.map((store) => new Map([...store.leases].map(([sid, l]) => [sid, { ...l }])));
    const out = fn();
    before.forEach((leases, i) => {
      for (const [sid, lease] of leases) {
        // Its passes' expiry, as granted (a lease never ends sooner than its passes).
        const exp = Math.max(lease.expiresAt, this.passes.get(sid) ?? 0);
        if (this.stores[i]!.leases.has(sid) || exp <= this.now) continue;
        if (lease.movedFrom != null) continue; // a seat handed on, taken by the ticket's claim
        expect(lease.leftAt, `live lease ${sid} freed before it expired`).not.toBeNull();
        const listed = this.listed.get(sid);
        expect(listed, `${sid} freed at +${this.now - T0} ms, never listed`).toBeDefined();
        expect(listed!.at + CONFIRM_AFTER_MS, `${sid} freed at +${this.now - T0} ms`).toBeLessThanOrEqual(this.now);
        this.freedEarly++;
      }
    });
    return out;
  }

  /** A view given out: it lists every lease id listed so far whose passes last, and no more than it may. */
  #noteView(view: GlobalView): void {
    expect(view.asOf).toBe(this.now);
    expect(view.revoked.length).toBeLessThanOrEqual(MAX_VIEW_REVOKED);
    this.mostListed = Math.max(this.mostListed, view.revoked.length);
    const ids = new Set(view.revoked);
    for (const [sid, p] of this.listed) {
      if (p.until > view.asOf) expect(ids.has(sid), `${sid} left the list before its passes expired`).toBe(true);
    }
    for (const sid of view.revoked) {
      if (this.listed.has(sid)) continue;
      const lease = this.stores.map((s) => s.leaseBySid(sid)).find((l) => l !== null) ?? null;
      expect(lease?.leftAt ?? null, `${sid} listed but not ended`).not.toBeNull();
      this.listed.set(sid, { at: this.now, until: lease!.expiresAt });
    }
  }

  sync(i: number): void {
    this.guard(() => {
      const shard = this.shards[i]!;
      const report = shard.report(this.now);
      // Every seat is back by its lease's expiry at the latest.
      for (const lease of this.stores[i]!.leases.values()) expect(lease.expiresAt).toBeGreaterThan(this.now);
      const order = this.coordinator.sync(report, this.now);
      this.#noteView(order.view);
      for (const sid of order.confirmed) {
        expect(this.listed.get(sid)!.at + CONFIRM_AFTER_MS).toBeLessThanOrEqual(this.now);
      }
      shard.apply(order, report, this.now);
    });
  }

  syncAll(): void {
    for (let i = 0; i < this.shards.length; i++) this.sync(i);
  }

  join(shard: number): Listener {
    const sub = `u${this.listeners.length}`;
    const out = this.guard(() => this.shards[shard]!.ledger.join(sub, this.now));
    const l: Listener = { sub, shard, seq: out.seq, sid: null };
    this.listeners.push(l);
    this.#admitted(l, out.claim);
    return l;
  }

  /** Everyone called without a seat claims (from the device it joined on). */
  claimAll(): void {
    this.guard(() => {
      for (const l of this.listeners) {
        const ledger = this.shards[l.shard]!.ledger;
        if (l.sid !== null || l.seq > ledger.counters.cursor) continue;
        this.#admitted(l, ledger.claim(l.sub, l.seq, this.now, undefined, `key-${l.sub}`));
      }
    });
  }

  leave(l: Listener): void {
    expect(this.guard(() => this.shards[l.shard]!.ledger.leave(l.sid!, l.sub, this.now))).toBe(true);
  }

  #admitted(l: Listener, out: ClaimOutcome): void {
    if (out.kind !== "admitted") return;
    l.sid = out.lease.sid;
    this.passes.set(out.lease.sid, out.lease.expiresAt);
    expect(this.live()).toBeLessThanOrEqual(this.config.capacity);
    expect(this.honoured()).toBeLessThanOrEqual(this.config.capacity);
  }

  live(): number {
    return this.shards.reduce((a, s) => a + s.ledger.counters.live, 0);
  }

  /** Passes some edge may still honour: unexpired, and not listed CONFIRM_AFTER_MS ago or more. */
  honoured(): number {
    let n = 0;
    for (const [sid, exp] of this.passes) {
      const listed = this.listed.get(sid);
      if (exp > this.now && (listed === undefined || listed.at + CONFIRM_AFTER_MS > this.now)) n++;
    }
    return n;
  }

  leases(): Lease[] {
    return this.stores.flatMap((s) => [...s.leases.values()]);
  }

  /** Time passes in steps of `step` ms until `until`: shards sync once a second (half a second apart), everyone called claims. */
  run(until: number, step = 500): void {
    while (this.now < until) {
      this.now += step;
      for (let i = 0; i < this.shards.length; i++) {
        if ((this.now - T0 + i * 500) % 1_000 === 0) this.sync(i);
      }
      this.claimAll();
      expect(this.live()).toBeLessThanOrEqual(this.config.capacity);
      expect(this.honoured()).toBeLessThanOrEqual(this.config.capacity);
    }
  }
}

describe("seats given back in a sharded room", () => {
  it("are freed early only once listed for CONFIRM_AFTER_MS, even with more leaves than the list holds", () => {
    const capacity = MAX_VIEW_REVOKED + 600;
    const room = new Room(2, { capacity, admitPerMinute: 1_000_000, mode: "open" });
    // A full room, and a few more waiting.
    for (let k = 0; k < capacity + 100; k++) room.join(k % 2);
    room.run(T0 + 20_000);
    const seated = room.listeners.filter((l) => l.sid !== null);
    expect(seated).toHaveLength(capacity);
    expect(room.live()).toBe(capacity);

    // Everyone seated leaves at once.
    const leftAt = room.now;
    for (const l of seated) room.leave(l);
    expect(room.live()).toBe(capacity);
    const expiries = room.leases().map((l) => l.expiresAt);
    const lastExpiry = Math.max(...expiries);
    const firstExpiry = Math.min(...expiries);
    expect(firstExpiry).toBeGreaterThan(leftAt + CONFIRM_AFTER_MS + 2_000);

    // Nothing is freed before the revocations are listed for CONFIRM_AFTER_MS.
    room.run(leftAt + CONFIRM_AFTER_MS - 250);
    expect(room.live()).toBe(capacity);
    expect(room.listed.size).toBe(MAX_VIEW_REVOKED);

    // The listed ones are confirmed and freed; the list being full, the others stay taken.
    room.run(leftAt + CONFIRM_AFTER_MS + 2_000);
    expect(room.mostListed).toBe(MAX_VIEW_REVOKED);
    expect(room.freedEarly).toBe(MAX_VIEW_REVOKED);
    const stillHeld = seated.filter((l) => room.stores[l.shard]!.leaseBySid(l.sid!) !== null);
    expect(stillHeld).toHaveLength(capacity - MAX_VIEW_REVOKED);
    for (const l of stillHeld) expect(room.listed.has(l.sid!)).toBe(false);
    // The waiting listeners took freed seats, and no more.
    expect(room.listeners.filter((l) => l.sid !== null)).toHaveLength(capacity + 100);
    expect(room.live()).toBe(capacity - MAX_VIEW_REVOKED + 100);

    room.run(firstExpiry - 250);
    expect(seated.filter((l) => room.stores[l.shard]!.leaseBySid(l.sid!) !== null)).toHaveLength(stillHeld.length);
    // Every seat is back by its lease's expiry at the latest.
    room.run(lastExpiry + 1_000);
    for (const l of seated) expect(room.stores[l.shard]!.leaseBySid(l.sid!)).toBeNull();
    expect(room.freedEarly).toBe(MAX_VIEW_REVOKED);
  });

  it("frees a left seat no earlier than CONFIRM_AFTER_MS after it is listed, however often shards sync", () => {
    const room = new Room(3, { capacity: 3, admitPerMinute: 600, mode: "open" });
    for (let k = 0; k < 6; k++) room.join(k % 3);
    room.run(T0 + 5_000, 100);
    const seated = room.listeners.filter((l) => l.sid !== null);
    expect(seated).toHaveLength(3);
    const l = seated[0]!;
    room.leave(l);
    const leftAt = room.now;
    // Shards sync every 100 ms here: the seat is listed at the first sync of its shard, freed CONFIRM_AFTER_MS later.
    let freedAt: number | null = null;
    while (freedAt === null && room.now < leftAt + 20_000) {
      room.now += 100;
      room.syncAll();
      room.claimAll();
      if (room.stores[l.shard]!.leaseBySid(l.sid!) === null) freedAt = room.now;
    }
    const listedAt = room.listed.get(l.sid!)!.at;
    expect(listedAt).toBe(leftAt + 100);
    expect(freedAt).toBe(listedAt + CONFIRM_AFTER_MS);
    // Its seat goes to the next listener in line (within a few syncs).
    room.run(room.now + 3_000, 100);
    expect(room.listeners.filter((m) => m.sid !== null)).toHaveLength(4);
    expect(room.live()).toBe(3);
  });

  it("hands a moved seat to the ticket's next claim only once the old pass is listed for CONFIRM_AFTER_MS", () => {
    const room = new Room(2, { capacity: 2, admitPerMinute: 600, mode: "open" });
    const a = room.join(0);
    room.join(1);
    room.join(0); // waits for a seat
    room.run(T0 + 3_000);
    expect(a.sid).not.toBeNull();
    const ledger = room.shards[0]!.ledger;
    const claimFrom = (key: string) => room.guard(() => ledger.claim(a.sub, a.seq, room.now, undefined, key));
    // Another device claims: the seat starts moving.
    expect(claimFrom("phone")).toEqual({ kind: "waiting", reason: "moving" });
    const movedAt = room.now;
    let taken: Lease | null = null;
    while (taken === null && room.now < movedAt + 20_000) {
      room.run(room.now + 250);
      const out = claimFrom("phone");
      if (out.kind === "admitted") taken = out.lease;
      else expect(out).toEqual({ kind: "waiting", reason: "moving" });
    }
    expect(taken).toMatchObject({ sid: "phone", sub: a.sub, movedFrom: null });
    const listed = room.listed.get(a.sid!)!;
    expect(room.now).toBeGreaterThanOrEqual(listed.at + CONFIRM_AFTER_MS);
    expect(room.now).toBeLessThanOrEqual(listed.at + CONFIRM_AFTER_MS + 1_250);
    // The old pass stays listed while it lasts; the seat never left the room: the third listener still waits.
    expect(room.listeners[2]!.sid).toBeNull();
    expect(room.live()).toBe(2);
    room.syncAll();
    expect(room.shards[0]!.view?.revoked).toContain(a.sid);
  });
});

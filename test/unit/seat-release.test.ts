/**
 * Seats given back in a sharded room (Shard + Coordinator in memory, as
 * sharded.property.test.ts drives them): a seat is never reused while a pass
 * of its last holder could be honoured from a view. Before its passes are too
 * old for that (an edge honours a pass from the room's view alone only while
 * it is younger than passTrustMs, on clocks CLOCK_SKEW_MS apart) a left seat
 * is freed only once the room's revocation list (a view's `revoked`) has
 * carried its lease id for CONFIRM_AFTER_MS; and it is freed by then
 * (`lastRenewal + passTrustMs + CLOCK_SKEW_MS`) at the latest, confirmed or
 * not — also when more listeners leave at once than the list can hold
 * (MAX_VIEW_REVOKED). Seats that move to another device follow the same rule
 * before the ticket's next claim may take them.
 */
import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/policy/config.ts";
import { Coordinator } from "../../src/policy/coordinator.ts";
import { CLOCK_SKEW_MS, CONFIRM_AFTER_MS, passTrustMs } from "../../src/policy/pass-trust.ts";
import type { GlobalView } from "../../src/policy/protocol.ts";
import { MAX_VIEW_REVOKED } from "../../src/policy/revocations.ts";
import type { ClaimOutcome, Lease } from "../../src/policy/lease.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { Shard } from "../../src/policy/shard.ts";

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 60_000, claimWindowMs: 30_000, ticketTtlMs: 24 * 3_600_000 };
/**
 * A seat ended and never confirmed is freed this long after its pass was last
 * issued (the tests' times allow anything from 21 s to 31 s).
 */
const RELEASE_AFTER = passTrustMs(timings.passTtlMs) + CLOCK_SKEW_MS;

/** A pass granted: until when, when last issued (granted or renewed), and when its seat ended. */
interface Pass {
  exp: number;
  issuedAt: number;
  endedAt: number | null;
}

/** When an ended seat's passes are too old to be honoured from any view. */
function releaseOf(p: Pass): number {
  return Math.max(p.endedAt!, Math.min(p.exp, p.issuedAt + RELEASE_AFTER));
}

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
  /** When each lease id first appeared in a view the coordinator gave out, and until when it stays listed (its release). */
  readonly listed = new Map<string, { at: number; until: number }>();
  /** Every pass granted. */
  readonly passes = new Map<string, Pass>();
  /** Seats freed before their passes expired: confirmed, or released. And the most lease ids a view listed. */
  freedByConfirm = 0;
  freedByRelease = 0;
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
        // Its passes' expiry, as granted.
        const exp = Math.max(lease.expiresAt, this.passes.get(sid)?.exp ?? 0);
        if (this.stores[i]!.leases.has(sid) || exp <= this.now) continue;
        if (lease.movedFrom != null) continue; // a seat handed on, taken by the ticket's claim
        expect(lease.leftAt, `live lease ${sid} freed before it expired`).not.toBeNull();
        // Freed before its release only once listed for CONFIRM_AFTER_MS.
        const release = releaseOf(this.passes.get(sid)!);
        if (this.now >= release) {
          this.freedByRelease++;
          continue;
        }
        const listed = this.listed.get(sid);
        expect(listed, `${sid} freed at +${this.now - T0} ms, never listed`).toBeDefined();
        expect(listed!.at + CONFIRM_AFTER_MS, `${sid} freed at +${this.now - T0} ms`).toBeLessThanOrEqual(this.now);
        this.freedByConfirm++;
      }
    });
    return out;
  }

  /** A view given out: it lists every lease id listed so far until its seat's release, and no more than it may. */
  #noteView(view: GlobalView): void {
    expect(view.asOf).toBe(this.now);
    expect(view.revoked.length).toBeLessThanOrEqual(MAX_VIEW_REVOKED);
    this.mostListed = Math.max(this.mostListed, view.revoked.length);
    const ids = new Set(view.revoked);
    for (const [sid, p] of this.listed) {
      if (p.until > view.asOf) expect(ids.has(sid), `${sid} left the list before its release`).toBe(true);
    }
    for (const sid of view.revoked) {
      if (this.listed.has(sid)) continue;
      const lease = this.stores.map((s) => s.leaseBySid(sid)).find((l) => l !== null) ?? null;
      expect(lease?.leftAt ?? null, `${sid} listed but not ended`).not.toBeNull();
      expect(lease!.expiresAt).toBe(releaseOf(this.passes.get(sid)!));
      this.listed.set(sid, { at: this.now, until: lease!.expiresAt });
    }
  }

  /** A shard's alarm: it frees what is due. */
  settle(i: number): void {
    this.guard(() => this.shards[i]!.ledger.settle(this.now));
  }

  sync(i: number): void {
    this.guard(() => {
      const shard = this.shards[i]!;
      const report = shard.report(this.now);
      // Every seat is back by its lease's expiry at the latest, and an ended one by its release.
      for (const lease of this.stores[i]!.leases.values()) {
        expect(lease.expiresAt).toBeGreaterThan(this.now);
        if (lease.leftAt !== null && lease.movedFrom == null) {
          expect(lease.expiresAt).toBe(releaseOf(this.passes.get(lease.sid)!));
        }
      }
      // The report says until when each ended seat is held: its release.
      for (const e of report.ending) expect(e.until).toBe(releaseOf(this.passes.get(e.sid)!));
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
    return this.guard(() => this.#join(shard));
  }

  /** `n` listeners join at the same instant, the k-th on shard `shardOf(k)` (one check of what that freed). */
  joinMany(n: number, shardOf: (k: number) => number): void {
    this.guard(() => {
      for (let k = 0; k < n; k++) this.#join(shardOf(k));
    });
  }

  #join(shard: number): Listener {
    const sub = `u${this.listeners.length}`;
    const out = this.shards[shard]!.ledger.join(sub, this.now);
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

  /** These listeners give their seats back (at the same instant: one check of what that freed). */
  leave(...ls: Listener[]): void {
    this.guard(() => {
      for (const l of ls) {
        expect(this.shards[l.shard]!.ledger.leave(l.sid!, l.sub, this.now)).toBe(true);
        this.passes.get(l.sid!)!.endedAt = this.now;
      }
    });
  }

  /** The listeners' heartbeats: each one's pass is renewed (a new pass, a lifetime from now). */
  renew(...ls: Listener[]): void {
    this.guard(() => {
      for (const l of ls) {
        const out = this.shards[l.shard]!.ledger.renew(l.sid!, l.sub, this.now);
        expect(out.kind).toBe("renewed");
        if (out.kind === "renewed") {
          this.passes.set(l.sid!, { exp: out.lease.expiresAt, issuedAt: this.now, endedAt: null });
        }
      }
    });
  }

  /** A claim with the listener's ticket from another device (`key`); the seat it held ends there, as moved. */
  claimFrom(l: Listener, key: string): ClaimOutcome {
    const held = this.stores[l.shard]!.leaseBySid(l.sid!);
    const out = this.guard(() => this.shards[l.shard]!.ledger.claim(l.sub, l.seq, this.now, undefined, key));
    const p = this.passes.get(l.sid!)!;
    if (held !== null && held.leftAt === null && p.endedAt === null) p.endedAt = this.now;
    if (out.kind === "admitted") this.#admitted(l, out);
    return out;
  }

  #admitted(l: Listener, out: ClaimOutcome): void {
    if (out.kind !== "admitted") return;
    l.sid = out.lease.sid;
    this.passes.set(out.lease.sid, { exp: out.lease.expiresAt, issuedAt: this.now, endedAt: null });
    expect(this.live()).toBeLessThanOrEqual(this.config.capacity);
    expect(this.honoured()).toBeLessThanOrEqual(this.config.capacity);
  }

  live(): number {
    return this.shards.reduce((a, s) => a + s.ledger.counters.live, 0);
  }

  /** Passes some edge may still honour: unexpired, not listed CONFIRM_AFTER_MS ago or more, and if ended, not released. */
  honoured(): number {
    let n = 0;
    for (const [sid, p] of this.passes) {
      const listed = this.listed.get(sid);
      const confirmed = listed !== undefined && listed.at + CONFIRM_AFTER_MS <= this.now;
      if (p.exp > this.now && !confirmed && (p.endedAt === null || this.now < releaseOf(p))) n++;
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
  it("are freed before their release only once listed for CONFIRM_AFTER_MS, even with more leaves than the list holds", () => {
    const capacity = MAX_VIEW_REVOKED + 600;
    const room = new Room(2, { capacity, admitPerMinute: 1_000_000, mode: "open" });
    // A full room, and a few more waiting.
    room.joinMany(capacity + 100, (k) => k % 2);
    room.run(T0 + 19_000);
    const seated = room.listeners.filter((l) => l.sid !== null);
    expect(seated).toHaveLength(capacity);
    expect(room.live()).toBe(capacity);

    // Everyone seated renews (a heartbeat); a second later, everyone leaves at once.
    const renewedAt = room.now;
    room.renew(...seated);
    room.run(T0 + 20_000);
    const leftAt = room.now;
    room.leave(...seated);
    expect(room.live()).toBe(capacity);
    // Unless confirmed sooner, each seat is held until its passes are too old for a view, not
    // until its lease would have expired (+79 s).
    const release = renewedAt + RELEASE_AFTER;
    expect(release).toBeLessThan(renewedAt + timings.passTtlMs - 20_000);
    for (const lease of room.leases()) expect(lease.expiresAt).toBe(release);
    expect(release).toBeGreaterThan(leftAt + CONFIRM_AFTER_MS + 2_000);

    // Nothing is freed before the revocations are listed for CONFIRM_AFTER_MS.
    room.run(leftAt + CONFIRM_AFTER_MS - 250);
    expect(room.live()).toBe(capacity);
    expect(room.listed.size).toBe(MAX_VIEW_REVOKED);

    // The listed ones are confirmed and freed; the list being full, the others stay taken. (Seats
    // freed between the two shards' syncs of a round go to listeners at the next round's.)
    room.run(leftAt + CONFIRM_AFTER_MS + 3_000);
    expect(room.mostListed).toBe(MAX_VIEW_REVOKED);
    expect(room.freedByConfirm).toBe(MAX_VIEW_REVOKED);
    const held = () => seated.filter((l) => room.stores[l.shard]!.leaseBySid(l.sid!) !== null);
    const stillHeld = held();
    expect(stillHeld).toHaveLength(capacity - MAX_VIEW_REVOKED);
    for (const l of stillHeld) expect(room.listed.has(l.sid!)).toBe(false);
    // The waiting listeners took freed seats, and no more.
    expect(room.listeners.filter((l) => l.sid !== null)).toHaveLength(capacity + 100);
    expect(room.live()).toBe(capacity - MAX_VIEW_REVOKED + 100);

    // The others, never listed, are held until their release and not a moment less...
    room.run(release - 500);
    room.now = release - 1;
    room.settle(0);
    room.settle(1);
    expect(held()).toHaveLength(stillHeld.length);
    expect(room.freedByRelease).toBe(0);
    for (const i of new Set(stillHeld.map((l) => l.shard))) {
      expect(room.shards[i]!.ledger.nextWake(room.now)).toBeLessThanOrEqual(release);
    }
    // ... nor more: the shards' alarms at the release free every one of them.
    room.now = release;
    room.settle(0);
    room.settle(1);
    expect(held()).toEqual([]);
    expect(room.freedByRelease).toBe(capacity - MAX_VIEW_REVOKED);
    expect(room.freedByConfirm).toBe(MAX_VIEW_REVOKED);
    expect(room.live()).toBe(100);

    // The room's list keeps an id only until its release (as its shard reported)...
    room.run(release + CLOCK_SKEW_MS + 1_000);
    for (const shard of room.shards) expect(shard.view?.revoked).toEqual([]);
    // ... but each shard refuses the left passes, as left, until they expire.
    const lastExpiry = renewedAt + timings.passTtlMs;
    const renewed = (l: Listener) => room.guard(() => room.shards[l.shard]!.ledger.renew(l.sid!, l.sub, room.now));
    room.run(lastExpiry - 1_000);
    for (const l of [seated[0]!, stillHeld[0]!]) expect(renewed(l)).toEqual({ kind: "gone", reason: "left" });
    room.run(lastExpiry);
    for (const l of [seated[0]!, stillHeld[0]!]) expect(renewed(l)).toEqual({ kind: "gone", reason: "lapsed" });
    for (const l of seated) expect(room.stores[l.shard]!.leaseBySid(l.sid!)).toBeNull();
    expect(room.freedByConfirm).toBe(MAX_VIEW_REVOKED);
    expect(room.live()).toBe(100);
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
    // Confirmed well before its release.
    expect(freedAt).toBeLessThan(room.passes.get(l.sid!)!.issuedAt + RELEASE_AFTER);
    expect(room.freedByConfirm).toBe(1);
    expect(room.freedByRelease).toBe(0);
    // Its seat goes to the next listener in line (within a few syncs).
    room.run(room.now + 3_000, 100);
    expect(room.listeners.filter((m) => m.sid !== null)).toHaveLength(4);
    expect(room.live()).toBe(3);
  });

  it("frees a left seat never confirmed (no sync reaches the coordinator) at lastRenewal + passTrust + skew", () => {
    const room = new Room(1, { capacity: 1, admitPerMinute: 600, mode: "open" });
    const a = room.join(0);
    const b = room.join(0);
    room.run(T0 + 10_000);
    expect(a.sid).not.toBeNull();
    expect(b.sid).toBeNull();
    room.renew(a);
    const lastRenewal = room.now;
    room.run(T0 + 12_000);
    room.leave(a);
    // From now on no sync gets through: nothing is listed, nothing confirmed; the shard's alarm fires.
    const store = room.stores[0]!;
    const ledger = room.shards[0]!.ledger;
    const release = lastRenewal + passTrustMs(timings.passTtlMs) + CLOCK_SKEW_MS;
    expect(release).toBeLessThan(lastRenewal + timings.passTtlMs);
    expect(store.leaseBySid(a.sid!)?.expiresAt).toBe(release);
    expect(ledger.nextWake(room.now)).toBeLessThanOrEqual(release);
    for (const t of [T0 + 20_000, release - 1]) {
      room.now = t;
      room.settle(0);
      expect(store.leaseBySid(a.sid!)).not.toBeNull();
      expect(room.live()).toBe(1);
    }
    room.now = release;
    room.settle(0);
    expect(store.leaseBySid(a.sid!)).toBeNull();
    expect(room.live()).toBe(0);
    expect(room.freedByRelease).toBe(1);
    expect(room.freedByConfirm).toBe(0);
    expect(room.listed.has(a.sid!)).toBe(false);
    // The pass is still refused, as given back, until it expires (the revocation outlives the release).
    expect(room.guard(() => ledger.renew(a.sid!, a.sub, room.now))).toEqual({ kind: "gone", reason: "left" });
    // Syncs resume: the next listener gets the seat.
    room.run(release + 3_000);
    expect(b.sid).not.toBeNull();
    expect(room.live()).toBe(1);
    expect(room.guard(() => ledger.renew(a.sid!, a.sub, room.now))).toEqual({ kind: "gone", reason: "left" });
  });

  it("hands a moved seat to the ticket's next claim only once the old pass is listed for CONFIRM_AFTER_MS", () => {
    const room = new Room(2, { capacity: 2, admitPerMinute: 600, mode: "open" });
    const a = room.join(0);
    room.join(1);
    room.join(0); // waits for a seat
    room.run(T0 + 3_000);
    expect(a.sid).not.toBeNull();
    const oldSid = a.sid!;
    // Another device claims: the seat starts moving.
    expect(room.claimFrom(a, "phone")).toEqual({ kind: "waiting", reason: "moving" });
    const movedAt = room.now;
    let taken: Lease | null = null;
    while (taken === null && room.now < movedAt + 20_000) {
      room.run(room.now + 250);
      const out = room.claimFrom(a, "phone");
      if (out.kind === "admitted") taken = out.lease;
      else expect(out).toEqual({ kind: "waiting", reason: "moving" });
    }
    expect(taken).toMatchObject({ sid: "phone", sub: a.sub, movedFrom: null });
    const listed = room.listed.get(oldSid)!;
    expect(room.now).toBeGreaterThanOrEqual(listed.at + CONFIRM_AFTER_MS);
    expect(room.now).toBeLessThanOrEqual(listed.at + CONFIRM_AFTER_MS + 1_250);
    // Well before the old pass is too old for a view.
    expect(room.now).toBeLessThan(room.passes.get(oldSid)!.issuedAt + RELEASE_AFTER);
    // The old pass stays listed until its release; the seat never left the room: the third listener still waits.
    expect(room.listeners[2]!.sid).toBeNull();
    expect(room.live()).toBe(2);
    room.syncAll();
    expect(room.shards[0]!.view?.revoked).toContain(oldSid);
  });

  it("hands a moved seat on, never confirmed, once the old pass is too old to be honoured from a view", () => {
    const room = new Room(1, { capacity: 1, admitPerMinute: 600, mode: "open" });
    const a = room.join(0);
    const b = room.join(0);
    room.run(T0 + 3_000);
    const oldSid = a.sid!;
    const grantedAt = room.passes.get(oldSid)!.issuedAt;
    // No sync gets through from now on. Another device claims: the seat starts moving.
    room.now = T0 + 5_000;
    expect(room.claimFrom(a, "phone")).toEqual({ kind: "waiting", reason: "moving" });
    const release = grantedAt + RELEASE_AFTER;
    for (const t of [T0 + 15_000, release - 1]) {
      room.now = t;
      expect(room.claimFrom(a, "phone")).toEqual({ kind: "waiting", reason: "moving" });
    }
    room.now = release;
    expect(room.claimFrom(a, "phone")).toMatchObject({
      kind: "admitted",
      fresh: true,
      lease: { sid: "phone", sub: a.sub, movedFrom: null, expiresAt: release + timings.passTtlMs },
    });
    expect(room.freedByRelease).toBe(1);
    // The old device's pass is refused, as moved, while it lasts; the seat never left the ticket.
    const ledger = room.shards[0]!.ledger;
    expect(room.guard(() => ledger.renew(oldSid, a.sub, room.now))).toEqual({ kind: "gone", reason: "moved" });
    expect(b.sid).toBeNull();
    expect(room.live()).toBe(1);
  });
});

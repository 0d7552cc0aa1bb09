import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/policy/config.ts";
import { type ClaimOutcome, type Lease, releaseAt } from "../../src/policy/lease.ts";
import { Ledger } from "../../src/policy/ledger.ts";
import { MAX_OWN_REVOKED } from "../../src/policy/ledger-state.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "../../src/policy/pass-trust.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { burstOf } from "../../src/policy/rate.ts";
import { RETURN_BIN_MS, upcomingReturns } from "../../src/policy/returns.ts";

const T0 = 1_700_000_000_000;
const PASS_TTL = 60_000;
const CLAIM_WINDOW = 30_000;
/** When the tests' coordinator confirms a revocation: any time will do for a ledger alone. */
const CONFIRM = 5_000;
const timings: Timings = { passTtlMs: PASS_TTL, claimWindowMs: CLAIM_WINDOW, ticketTtlMs: 6 * 3_600_000 };
/**
 * How long after its last renewal (or grant) an ended lease keeps its seat
 * unless confirmed earlier: a pass is honoured from a view only while younger
 * than passTrustMs, on any clock (CLOCK_SKEW_MS). The tests' times hold for any
 * trust between a third and a half of the lifetime (21 s to 31 s here).
 */
const RELEASE_AFTER = passTrustMs(PASS_TTL) + CLOCK_SKEW_MS;

function setup(config: Partial<AdmissionLimits> = {}, now = T0) {
  const store = new MemoryLedgerStore();
  let ids = 0;
  const deps = { newId: () => `sid-${++ids}` };
  const full: AdmissionLimits = { capacity: 3, admitPerMinute: 600, mode: "open", ...config };
  const ledger = new Ledger(store, full, timings, deps, now);
  return { store, ledger, deps };
}

function admitted(outcome: ClaimOutcome): Lease {
  if (outcome.kind !== "admitted") throw new Error(`expected admitted, got ${JSON.stringify(outcome)}`);
  return outcome.lease;
}

function outstanding(store: MemoryLedgerStore): number {
  let n = 0;
  for (const b of store.batches.values()) n += b.outstanding;
  return n;
}

/** The counters agree with what the store holds. */
function expectConsistent(ledger: Ledger, store: MemoryLedgerStore): void {
  expect(ledger.counters.live).toBe(store.leases.size);
  expect(ledger.counters.reserved).toBe(outstanding(store));
  expect(ledger.counters.reserved).toBeGreaterThanOrEqual(0);
}

/** Five listeners a..e join a 3-seat room at T0. */
function fiveJoined() {
  const ctx = setup({ capacity: 3 });
  const joins = ["a", "b", "c", "d", "e"].map((sub) => ctx.ledger.join(sub, T0));
  return { ...ctx, joins };
}

describe("join", () => {
  it("admits up to capacity and queues the rest in order", () => {
    const { ledger, store, joins } = fiveJoined();
    expect(joins.map((j) => j.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const j of joins.slice(0, 3)) {
      expect(j.claim).toMatchObject({ kind: "admitted", fresh: true });
    }
    for (const j of joins.slice(3)) {
      expect(j.claim).toEqual({ kind: "waiting", reason: "not_called" });
    }
    expect(ledger.counters.cursor).toBe(3);
    expect(ledger.counters.tail).toBe(5);
    expect(ledger.counters.live).toBe(3);
    expect(store.leases.size).toBe(3);
    expect(ledger.counters.admittedTotal).toBe(3);
    expectConsistent(ledger, store);
  });

  it("gives each admitted listener its own lease with its seq and a pass lifetime", () => {
    const { joins } = fiveJoined();
    const leases = joins.slice(0, 3).map((j) => admitted(j.claim));
    expect(new Set(leases.map((l) => l.sid)).size).toBe(3);
    expect(leases.map((l) => [l.sub, l.seq])).toEqual([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    for (const l of leases) {
      expect(l.grantedAt).toBe(T0);
      expect(l.expiresAt).toBe(T0 + PASS_TTL);
    }
  });

  it("never gives a listener who already holds a seat a second lease: joining again moves the seat", () => {
    const { ledger, store, joins } = fiveJoined();
    const first = admitted(joins[0]!.claim);
    const again = ledger.join("a", T0 + 1_000);
    // A join carries no key: it comes from another device, and the seat starts moving to it.
    expect(again.claim).toEqual({ kind: "waiting", reason: "moving" });
    expect(store.leaseBySid(first.sid)).toMatchObject({ leftAt: T0 + 1_000, endedBy: "moved" });
    expect(store.leases.size).toBe(3);
    expect([...store.leases.values()].filter((l) => l.sub === "a")).toHaveLength(1);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.admittedTotal).toBe(3);
    expectConsistent(ledger, store);
  });
});

describe("leave", () => {
  it("revokes the pass at once and frees the seat once the revocation is confirmed, calling the next listener", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);

    expect(ledger.leave(a.sid, "a", T0 + 1_000)).toBe(true);
    expect(ledger.counters.left).toBe(1);
    expect(ledger.view(T0 + 1_000).revoked).toContain(a.sid);
    expect(store.revocation(a.sid, T0 + 1_000)).toBe("left");
    // The lease ends; it holds its seat at most until its pass (granted at T0) is too old to
    // be honoured from a view, long before its expiry.
    const release = T0 + RELEASE_AFTER;
    expect(release).toBeLessThan(a.expiresAt);
    expect(store.leaseBySid(a.sid)).toEqual({ ...a, leftAt: T0 + 1_000, endedBy: "left", expiresAt: release });
    expect(ledger.ending(10)).toEqual([store.leaseBySid(a.sid)]);
    // Still counted until no edge can accept the old pass.
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.cursor).toBe(3);

    // Time alone frees nothing short of that.
    ledger.settle(release - 1);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.cursor).toBe(3);

    const confirmedAt = T0 + 1_000 + CONFIRM;
    ledger.confirmRevoked([a.sid], confirmedAt);
    expect(ledger.counters.live).toBe(2);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.ending(10)).toEqual([]);
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.counters.left).toBe(1);
    // The freed seat calls the next listener at once.
    expect(ledger.counters.cursor).toBe(4);
    expect(ledger.counters.reserved).toBe(1);
    expect(store.batchContaining(4)).toMatchObject({ outstanding: 1, expiresAt: confirmedAt + CLAIM_WINDOW });
    expect(store.batchContaining(5)).toBeNull();
    // The pass stays refused after the seat is freed.
    expect(ledger.view(confirmedAt).revoked).toContain(a.sid);
    expectConsistent(ledger, store);

    const d = admitted(ledger.claim("d", 4, confirmedAt + 1_000));
    expect(d.seq).toBe(4);
    expect(d.sub).toBe("d");
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.reserved).toBe(0);
    expect(ledger.claim("e", 5, confirmedAt + 1_000)).toEqual({ kind: "waiting", reason: "not_called" });
    expectConsistent(ledger, store);
  });

  it("does not free a left seat before confirmation or its release, whatever time passes short of that", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    // Renewed at +4 s: its passes may be honoured from a view until +4 s + passTrustMs, on any clock a second more.
    ledger.renew(a.sid, "a", T0 + 4_000);
    ledger.leave(a.sid, "a", T0 + 5_000);
    const release = T0 + 4_000 + RELEASE_AFTER;
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(release);
    for (let t = T0 + 5_000; t < release; t += 997) {
      ledger.settle(t);
      expect(ledger.counters.live).toBe(3);
      expect(ledger.counters.cursor).toBe(3);
      expect(store.leaseBySid(a.sid)).not.toBeNull();
    }
    ledger.settle(release - 1);
    expect(ledger.counters.live).toBe(3);
    expect(store.leaseBySid(a.sid)).not.toBeNull();
    // Confirming other seats, or nothing, frees nothing either.
    ledger.confirmRevoked([], release - 1);
    ledger.confirmRevoked(["no-such-sid"], release - 1);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.nextWake(release - 1)).toBe(release);

    // Then it is freed, long before its lease would have expired (+64 s), and d is called.
    ledger.settle(release);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(4);
    // A left seat does not count as expired.
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.counters.left).toBe(1);
    ledger.settle(T0 + PASS_TTL);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.counters.expired).toBe(2);
    expectConsistent(ledger, store);
  });

  it("counts each seat given back by when it comes free, until it does or is confirmed earlier", () => {
    const { ledger, joins } = fiveJoined();
    const [a, b] = joins.slice(0, 2).map((j) => admitted(j.claim));
    ledger.renew(b!.sid, "b", T0 + 12_000);
    ledger.leave(a!.sid, "a", T0 + 1_000);
    ledger.leave(b!.sid, "b", T0 + 13_000);
    const bin = (t: number) => Math.floor(t / RETURN_BIN_MS) * RETURN_BIN_MS;
    const aFree = T0 + RELEASE_AFTER;
    const bFree = T0 + 12_000 + RELEASE_AFTER;
    expect(bin(aFree)).not.toBe(bin(bFree));
    expect(upcomingReturns(ledger.counters.returns, T0 + 13_000)).toEqual({ [bin(aFree)]: 1, [bin(bFree)]: 1 });
    // b's revocation is confirmed: its seat is free now, no longer to come.
    ledger.confirmRevoked([b!.sid], T0 + 18_000);
    expect(upcomingReturns(ledger.counters.returns, T0 + 18_000)).toEqual({ [bin(aFree)]: 1 });
    // a's comes free at its release; once its bin has passed it is not counted.
    ledger.settle(aFree);
    expect(upcomingReturns(ledger.counters.returns, bin(aFree) + RETURN_BIN_MS)).toEqual({});
  });

  it("confirming an unknown, live or already freed lease id changes nothing", () => {
    const { ledger, store, joins } = fiveJoined();
    const [a, b] = joins.slice(0, 2).map((j) => admitted(j.claim));
    ledger.leave(a!.sid, "a", T0 + 1_000);
    ledger.confirmRevoked([a!.sid], T0 + 2_000);
    const counters = structuredClone(ledger.counters);
    const leases = structuredClone([...store.leases.values()]);
    ledger.confirmRevoked(["no-such-sid", b!.sid, a!.sid, ""], T0 + 2_000);
    expect(ledger.counters).toEqual(counters);
    expect([...store.leases.values()]).toEqual(leases);
    expect(store.leaseBySid(b!.sid)).toEqual(b);
    // The live lease still renews and can still be given back.
    expect(ledger.renew(b!.sid, "b", T0 + 3_000).kind).toBe("renewed");
    expect(ledger.leave(b!.sid, "b", T0 + 3_000)).toBe(true);
    expectConsistent(ledger, store);
  });

  it("frees only the confirmed seats, in any order and once each", () => {
    const { ledger, store, joins } = fiveJoined();
    const [a, b, c] = joins.slice(0, 3).map((j) => admitted(j.claim));
    ledger.leave(a!.sid, "a", T0 + 1_000);
    ledger.leave(b!.sid, "b", T0 + 2_000);
    expect(ledger.ending(10).map((l) => l.sid)).toEqual([a!.sid, b!.sid]);
    expect(ledger.ending(1).map((l) => l.sid)).toEqual([a!.sid]);
    ledger.confirmRevoked([b!.sid, b!.sid, c!.sid], T0 + 7_000);
    expect(ledger.counters.live).toBe(2);
    expect(store.leaseBySid(a!.sid)).not.toBeNull();
    expect(store.leaseBySid(b!.sid)).toBeNull();
    expect(store.leaseBySid(c!.sid)).toEqual(c);
    expect(ledger.counters.cursor).toBe(4);
    expect(ledger.ending(10).map((l) => l.sid)).toEqual([a!.sid]);
    ledger.confirmRevoked([a!.sid], T0 + 8_000);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(5);
    expectConsistent(ledger, store);
  });

  it("is idempotent and only releases the listener's own lease", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    expect(ledger.leave(a.sid, "b", T0 + 1_000)).toBe(false);
    expect(store.leaseBySid(a.sid)?.leftAt).toBeNull();
    expect(ledger.view(T0 + 1_000).revoked).toEqual([]);

    expect(ledger.leave(a.sid, "a", T0 + 1_000)).toBe(true);
    expect(ledger.leave(a.sid, "a", T0 + 1_001)).toBe(false);
    expect(store.leaseBySid(a.sid)?.leftAt).toBe(T0 + 1_000);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM);
    expect(ledger.leave(a.sid, "a", T0 + 1_000 + CONFIRM)).toBe(false);
    expect(ledger.counters.left).toBe(1);
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(4);
    expectConsistent(ledger, store);
  });

  it("a left lease cannot be renewed", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    expect(ledger.renew(a.sid, "a", T0 + 1_500)).toEqual({ kind: "gone", reason: "left" });
    expect(ledger.renew(a.sid, "a", T0 + 1_500, 0)).toEqual({ kind: "gone", reason: "left" });
    // A refused renewal extends nothing: the seat is still released as the grant's passes set.
    expect(ledger.lease(a.sid)?.expiresAt).toBe(T0 + RELEASE_AFTER);
  });

  it("says a seat was left, not lapsed, after it is freed and while its revocation lasts", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM);
    expect(ledger.lease(a.sid)).toBeNull();
    expect(ledger.renew(a.sid, "a", T0 + 1_000 + CONFIRM + 1)).toEqual({ kind: "gone", reason: "left" });
    expect(ledger.renew(a.sid, "a", T0 + PASS_TTL - 1)).toEqual({ kind: "gone", reason: "left" });
    // Once the pass itself has expired, nothing tells it apart from a lapse.
    expect(ledger.renew(a.sid, "a", T0 + PASS_TTL)).toEqual({ kind: "gone", reason: "lapsed" });
  });

  it("keeps the pass revoked until the lease's own expiry, after the seat is freed", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM);
    expect(ledger.view(T0 + PASS_TTL - 1).revoked).toContain(a.sid);
    ledger.settle(T0 + PASS_TTL);
    expect(ledger.view(T0 + PASS_TTL).revoked).not.toContain(a.sid);
  });

  it("frees a left seat never confirmed at lastRenewal + passTrust + CLOCK_SKEW, and tells the pass why until it expires", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    // Renewed twice (a heartbeat every third of a lifetime); left a little after the last.
    ledger.renew(a.sid, "a", T0 + 10_000);
    const lastRenewal = T0 + 20_000;
    expect(ledger.renew(a.sid, "a", lastRenewal)).toMatchObject({ lease: { expiresAt: lastRenewal + PASS_TTL } });
    ledger.leave(a.sid, "a", T0 + 22_000);
    const release = lastRenewal + passTrustMs(PASS_TTL) + CLOCK_SKEW_MS;
    expect(release).toBeGreaterThan(T0 + 22_000);
    expect(release).toBeLessThan(lastRenewal + PASS_TTL);
    expect(store.leaseBySid(a.sid)).toMatchObject({ leftAt: T0 + 22_000, endedBy: "left", expiresAt: release });
    // Once the first call's claim window is over, the release is what the ledger wakes for.
    ledger.settle(T0 + CLAIM_WINDOW);
    expect(ledger.nextWake(T0 + CLAIM_WINDOW)).toBe(release);

    // Not a moment early: passes renewed at +20 s may be honoured from a view until then.
    ledger.settle(release - 1);
    expect(store.leaseBySid(a.sid)).not.toBeNull();
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.cursor).toBe(3);
    // Not late either: freed then, not at the lease's expiry (+80 s), and d is called.
    ledger.settle(release);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.ending(10)).toEqual([]);
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(4);
    expect(ledger.counters.expired).toBe(0);
    admitted(ledger.claim("d", 4, release));

    // The revocation outlives the release: the pass is refused as given back, and listed,
    // until its own expiry; the ticket stays spent.
    for (const t of [release, release + 1, lastRenewal + PASS_TTL - 1]) {
      expect(ledger.renew(a.sid, "a", t)).toEqual({ kind: "gone", reason: "left" });
      expect(ledger.view(t).revoked).toEqual([a.sid]);
      expect(ledger.claim("a", 1, t)).toEqual({ kind: "spent" });
    }
    expect(ledger.renew(a.sid, "a", lastRenewal + PASS_TTL)).toEqual({ kind: "gone", reason: "lapsed" });
    expect(ledger.view(lastRenewal + PASS_TTL).revoked).toEqual([]);
    expectConsistent(ledger, store);
  });

  it("a confirmation before the release frees the seat then; one after it finds nothing to free", () => {
    const { ledger, store, joins } = fiveJoined();
    const [a, b] = joins.slice(0, 2).map((j) => admitted(j.claim));
    ledger.leave(a!.sid, "a", T0 + 1_000);
    ledger.leave(b!.sid, "b", T0 + 1_000);
    // a is confirmed first (+6 s); b's confirmation comes only after its release.
    ledger.confirmRevoked([a!.sid], T0 + 6_000);
    expect(store.leaseBySid(a!.sid)).toBeNull();
    expect(store.leaseBySid(b!.sid)).not.toBeNull();
    ledger.settle(T0 + RELEASE_AFTER);
    expect(store.leaseBySid(b!.sid)).toBeNull();
    const counters = structuredClone(ledger.counters);
    ledger.confirmRevoked([b!.sid], T0 + RELEASE_AFTER);
    expect(ledger.counters).toEqual(counters);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.left).toBe(2);
    expectConsistent(ledger, store);
  });

  it("frees a seat left once its passes are already too old to be honoured from a view at the next settle", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.renew(a.sid, "a", T0 + 5_000);
    // Left when its passes are too old for any view: no edge can honour them from one any more.
    const leftAt = T0 + 5_000 + RELEASE_AFTER;
    ledger.leave(a.sid, "a", leftAt);
    expect(store.leaseBySid(a.sid)).toMatchObject({ leftAt, endedBy: "left", expiresAt: leftAt });
    expect(ledger.nextWake(leftAt)).toBe(leftAt);
    ledger.settle(leftAt);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(4);
    // Its pass is still refused, as given back, until it expires.
    expect(ledger.view(leftAt).revoked).toEqual([a.sid]);
    expect(ledger.renew(a.sid, "a", T0 + 5_000 + PASS_TTL - 1)).toEqual({ kind: "gone", reason: "left" });
    expect(ledger.renew(a.sid, "a", T0 + 5_000 + PASS_TTL)).toEqual({ kind: "gone", reason: "lapsed" });
    expectConsistent(ledger, store);
  });

  it("never holds the seat past the lease's own expiry", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + PASS_TTL - 500);
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(T0 + PASS_TTL - 500);
    ledger.settle(T0 + PASS_TTL - 500);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.counters.expired).toBe(0);

    // A pass lifetime so short that a pass is honoured from a view (400 ms, +1 s of clock skew)
    // almost until it expires: the seat is held until the lease's expiry, no longer.
    const short: Timings = { ...timings, passTtlMs: 1_200 };
    const s = new MemoryLedgerStore();
    const tiny = new Ledger(s, { capacity: 1, admitPerMinute: 600, mode: "open" }, short, { newId: () => "x" }, T0);
    const x = admitted(tiny.join("x", T0).claim);
    tiny.join("y", T0);
    tiny.leave(x.sid, "x", T0 + 100);
    expect(s.leaseBySid(x.sid)?.expiresAt).toBe(T0 + 1_200);
    tiny.settle(T0 + 1_199);
    expect(tiny.counters.live).toBe(1);
    tiny.settle(T0 + 1_200);
    expect(tiny.counters.live).toBe(0);
    expect(tiny.counters.cursor).toBe(2);
    expectConsistent(tiny, s);
  });

  it("however many leave, no seat is freed by time alone before its release, and every seat is back by then", () => {
    const n = MAX_OWN_REVOKED + 5;
    const { ledger, store } = setup({ capacity: n, admitPerMinute: 6 * n });
    const leases = Array.from({ length: n }, (_, i) => admitted(ledger.join(`l${i}`, T0).claim));
    ledger.join("late", T0);
    for (const l of leases) expect(ledger.leave(l.sid, l.sub, T0 + 1_000)).toBe(true);
    // The ledger's own list is bounded; the seats are held whatever it lists.
    expect(ledger.view(T0 + 1_000).revoked).toHaveLength(MAX_OWN_REVOKED);
    expect(ledger.ending(n + 1)).toHaveLength(n);
    const release = T0 + RELEASE_AFTER;
    for (const t of [T0 + 1_000 + CONFIRM, T0 + 15_000, release - 1]) {
      ledger.settle(t);
      expect(ledger.counters.live).toBe(n);
      expect(ledger.counters.cursor).toBe(n);
    }
    // A confirmed seat is freed whether or not the ledger's own list shows its pass.
    const last = leases[n - 1]!;
    expect(ledger.view(T0 + 1_000).revoked).not.toContain(last.sid);
    ledger.confirmRevoked([last.sid], release - 1);
    expect(ledger.counters.live).toBe(n - 1);
    expect(ledger.counters.cursor).toBe(n + 1);
    ledger.settle(release);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.ending(n)).toEqual([]);
    expect(ledger.counters.left).toBe(n);
    expect(ledger.counters.expired).toBe(0);
    // Every pass is still refused, as given back, until it expires (the ledger's list is bounded).
    expect(ledger.view(release).revoked).toHaveLength(MAX_OWN_REVOKED);
    expect(leases.every((l) => store.revocation(l.sid, T0 + PASS_TTL - 1) === "left")).toBe(true);
    ledger.settle(T0 + PASS_TTL);
    expect(ledger.view(T0 + PASS_TTL).revoked).toEqual([]);
    expectConsistent(ledger, store);
  });
});

describe("releaseAt", () => {
  const lease = (expiresAt: number): Lease => ({
    sid: "s",
    sub: "a",
    seq: 1,
    grantedAt: T0,
    expiresAt,
    leftAt: null,
  });

  it("trusts a heartbeating listener's pass from a view, and not for a whole lifetime", () => {
    expect(CLOCK_SKEW_MS).toBe(1_000);
    for (const ttl of [PASS_TTL, 20_000, 7_000]) {
      const trust = passTrustMs(ttl);
      expect(Number.isInteger(trust)).toBe(true);
      // Heartbeats come every third of a lifetime: a heartbeating listener's pass is never too old.
      expect(trust).toBeGreaterThanOrEqual(Math.floor(ttl / 3));
      // And an ended lease lets go of its seat before its lease would have expired.
      expect(trust + CLOCK_SKEW_MS).toBeLessThan(ttl);
    }
  });

  it("is the last renewal plus passTrustMs plus the clock skew", () => {
    // Renewed at T0 + 10 s (expiring at T0 + 70 s), ended at T0 + 12 s.
    const release = releaseAt(lease(T0 + 70_000), PASS_TTL, T0 + 12_000);
    expect(release).toBe(T0 + 10_000 + passTrustMs(PASS_TTL) + CLOCK_SKEW_MS);
    expect(release).toBe(T0 + 10_000 + RELEASE_AFTER);
    // The same lease with a 70 s lifetime was last renewed at T0.
    expect(releaseAt(lease(T0 + 70_000), 70_000, T0 + 12_000)).toBe(T0 + passTrustMs(70_000) + CLOCK_SKEW_MS);
  });

  it("is never before the end, nor after the lease's expiry", () => {
    // Ended when its passes are already too old for a view: at once.
    const due = T0 + 10_000 + RELEASE_AFTER;
    expect(releaseAt(lease(T0 + 70_000), PASS_TTL, due)).toBe(due);
    expect(releaseAt(lease(T0 + 70_000), PASS_TTL, due + 5_000)).toBe(due + 5_000);
    // A lifetime so short that the trust and the skew outlast it: its expiry.
    expect(releaseAt(lease(T0 + 1_200), 1_200, T0 + 100)).toBe(T0 + 1_200);
    expect(releaseAt(lease(T0 + 1_500), 1_500, T0)).toBe(T0 + 1_500);
  });
});

describe("claim", () => {
  it("a retried claim (the same key) returns the same lease and takes no second seat", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM);
    const first = admitted(ledger.claim("d", 4, T0 + 7_000, T0, "key-d"));
    // The key names the new seat.
    expect(first.sid).toBe("key-d");
    const counters = structuredClone(ledger.counters);
    const retry = ledger.claim("d", 4, T0 + 8_000, T0, "key-d");
    expect(retry).toEqual({ kind: "admitted", lease: first, fresh: false });
    expect(store.leaseBySid("key-d")).toEqual(first);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.admittedTotal).toBe(4);
    // Not counted again: no second admission, no second wait.
    expect(ledger.counters.waits).toEqual(counters.waits);
    expect(ledger.counters.peakLive).toBe(counters.peakLive);
    expect(store.leases.size).toBe(3);
    expect(store.revocation("key-d", T0 + 8_000)).toBeNull();
    expectConsistent(ledger, store);
  });

  it("a claim without a key gets a new lease id, as does one whose key names another seat", () => {
    const { ledger, store } = setup({ capacity: 3, mode: "hold" });
    for (const sub of ["a", "b", "c"]) ledger.join(sub, T0);
    ledger.setConfig({ capacity: 3, admitPerMinute: 600, mode: "open" }, T0 + 1);
    const a = admitted(ledger.claim("a", 1, T0 + 1));
    expect(a.sid).toBe("sid-1");
    const b = admitted(ledger.claim("b", 2, T0 + 1, T0, ""));
    expect(b.sid).toBe("sid-2");
    // c presents a's lease id (someone else's seat): it neither takes nor moves a's seat.
    const c = admitted(ledger.claim("c", 3, T0 + 1, T0, a.sid));
    expect(c.sid).toBe("sid-3");
    expect(c.sub).toBe("c");
    expect(store.leaseBySid(a.sid)).toEqual(a);
    expectConsistent(ledger, store);
  });

  it("before the listener's turn is waiting/not_called and changes nothing", () => {
    const { ledger, store } = fiveJoined();
    const before = structuredClone(ledger.counters);
    expect(ledger.claim("e", 5, T0 + 500)).toEqual({ kind: "waiting", reason: "not_called" });
    expect(ledger.counters.cursor).toBe(before.cursor);
    expect(ledger.counters.live).toBe(before.live);
    expect(ledger.counters.admittedTotal).toBe(before.admittedTotal);
    expect(store.leaseBySub("e")).toBeNull();
  });

  it("a claim for a called seq is refused as full when live has reached capacity", () => {
    // Three called together in hold → open; capacity drops to 1 before they claim.
    const { ledger, store } = setup({ capacity: 3, mode: "hold" });
    for (const sub of ["a", "b", "c"]) ledger.join(sub, T0);
    ledger.setConfig({ capacity: 3, admitPerMinute: 600, mode: "open" }, T0 + 1_000);
    expect(ledger.counters.reserved).toBe(3);
    ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "open" }, T0 + 2_000);
    admitted(ledger.claim("a", 1, T0 + 3_000));
    expect(ledger.claim("b", 2, T0 + 3_000)).toEqual({ kind: "waiting", reason: "full" });
    expect(ledger.claim("c", 3, T0 + 3_000)).toEqual({ kind: "waiting", reason: "full" });
    expect(store.leases.size).toBe(1);
    expectConsistent(ledger, store);
  });
});

describe("renew", () => {
  it("extends the lease by one pass lifetime and keeps its sid", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    const r = ledger.renew(a.sid, "a", T0 + 30_000);
    expect(r).toEqual({ kind: "renewed", lease: { ...a, expiresAt: T0 + 30_000 + PASS_TTL } });
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(T0 + 30_000 + PASS_TTL);
    expect(store.leases.size).toBe(3);
  });

  it("is gone for an unknown sid, someone else's sid, or an expired lease", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    expect(ledger.renew("no-such-sid", "a", T0 + 1)).toEqual({ kind: "gone", reason: "lapsed" });
    expect(ledger.renew(a.sid, "b", T0 + 1)).toEqual({ kind: "gone", reason: "lapsed" });
    expect(ledger.renew(a.sid, "a", T0 + PASS_TTL)).toEqual({ kind: "gone", reason: "lapsed" });
  });
});

describe("lease expiry", () => {
  it("frees seats when settle runs at or after expiresAt, not before", () => {
    const { ledger, store } = fiveJoined();
    ledger.settle(T0 + PASS_TTL - 1);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.counters.cursor).toBe(3);

    ledger.settle(T0 + PASS_TTL);
    expect(ledger.counters.live).toBe(0);
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.expired).toBe(3);
    // The freed seats go to d and e.
    expect(ledger.counters.cursor).toBe(5);
    expect(ledger.counters.reserved).toBe(2);
    expectConsistent(ledger, store);
  });

  it("a renewed lease outlives its first expiry", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.renew(a.sid, "a", T0 + 50_000);
    ledger.settle(T0 + PASS_TTL);
    expect(store.leaseBySid(a.sid)).not.toBeNull();
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.expired).toBe(2);
    ledger.settle(T0 + 50_000 + PASS_TTL);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.counters.expired).toBe(3);
    expectConsistent(ledger, store);
  });
});

describe("reservations", () => {
  it("a called listener who never claims loses the seat to the next one; the queue does not stall", () => {
    const { ledger, store } = setup({ capacity: 1 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.join("b", T0);
    ledger.join("c", T0);
    ledger.leave(a.sid, "a", T0 + 1_000);
    const called = T0 + 1_000 + CONFIRM;
    ledger.confirmRevoked([a.sid], called);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.counters.reserved).toBe(1);

    ledger.settle(called + CLAIM_WINDOW - 1);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.counters.abandoned).toBe(0);

    ledger.settle(called + CLAIM_WINDOW);
    expect(ledger.counters.abandoned).toBe(1);
    expect(ledger.counters.cursor).toBe(3);
    expect(ledger.counters.reserved).toBe(1);
    expectConsistent(ledger, store);

    const c = admitted(ledger.claim("c", 3, called + CLAIM_WINDOW + 1));
    expect(c.seq).toBe(3);
    // b comes back too late: the only seat is taken.
    expect(ledger.claim("b", 2, called + CLAIM_WINDOW + 2)).toEqual({ kind: "waiting", reason: "full" });
    expect(store.leases.size).toBe(1);
    expectConsistent(ledger, store);
  });

  it("a late claim may take a seat nobody holds a reservation for", () => {
    const { ledger, store } = setup({ capacity: 2 });
    const a = admitted(ledger.join("a", T0).claim);
    admitted(ledger.join("b", T0).claim);
    ledger.join("c", T0);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM); // c called
    ledger.settle(T0 + 1_000 + CONFIRM + CLAIM_WINDOW);
    expect(ledger.counters.abandoned).toBe(1);
    expect(ledger.counters.reserved).toBe(0);
    const c = admitted(ledger.claim("c", 3, T0 + 40_000));
    expect(c.seq).toBe(3);
    expect(store.leases.size).toBe(2);
    expectConsistent(ledger, store);
  });

  it("a late claim does not take a seat reserved for someone else", () => {
    const { ledger, store } = setup({ capacity: 1 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.join("b", T0);
    ledger.join("c", T0);
    ledger.leave(a.sid, "a", T0 + 1_000);
    const called = T0 + 1_000 + CONFIRM;
    ledger.confirmRevoked([a.sid], called); // b called
    ledger.settle(called + CLAIM_WINDOW); // b abandoned, c called
    expect(ledger.claim("b", 2, called + CLAIM_WINDOW)).toEqual({ kind: "waiting", reason: "full" });
    expect(store.leaseBySub("b")).toBeNull();
    admitted(ledger.claim("c", 3, called + CLAIM_WINDOW + 5));
  });
});

describe("spent listeners", () => {
  it("a listener who left cannot claim again", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    // Before and after the seat is freed, with any key (its own pass's included).
    expect(ledger.claim("a", 1, T0 + 1_500)).toEqual({ kind: "spent" });
    expect(ledger.claim("a", 1, T0 + 1_500, T0, a.sid)).toEqual({ kind: "spent" });
    expect(ledger.claim("a", 1, T0 + 1_500, T0, "other-device")).toEqual({ kind: "spent" });
    expect(ledger.join("a", T0 + 2_000).claim).toEqual({ kind: "spent" });
    // Nothing of that moved the seat or freed it.
    expect(store.leaseBySid(a.sid)).toMatchObject({ leftAt: T0 + 1_000, endedBy: "left" });
    expect(ledger.counters.live).toBe(3);
    ledger.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM);
    expect(ledger.claim("a", 1, T0 + 1_000 + CONFIRM)).toEqual({ kind: "spent" });
    expect(ledger.claim("a", 1, T0 + 1_000 + CONFIRM, T0, a.sid)).toEqual({ kind: "spent" });
    expect(ledger.join("a", T0 + 7_000).claim).toEqual({ kind: "spent" });
    expect(store.leaseBySub("a")).toBeNull();
  });

  it("a listener whose lease expired cannot claim again", () => {
    const { ledger, store } = setup({ capacity: 3 });
    admitted(ledger.join("a", T0).claim);
    expect(ledger.claim("a", 1, T0 + PASS_TTL)).toEqual({ kind: "spent" });
    expect(store.leaseBySub("a")).toBeNull();
    expect(ledger.counters.live).toBe(0);
  });
});

describe("modes", () => {
  it("hold calls nobody; opening calls as many as seats allow", () => {
    const { ledger, store } = setup({ capacity: 3, mode: "hold" });
    const joins = ["a", "b", "c", "d"].map((sub) => ledger.join(sub, T0));
    for (const j of joins) expect(j.claim).toEqual({ kind: "waiting", reason: "hold" });
    ledger.settle(T0 + 10 * 60_000);
    expect(ledger.counters.cursor).toBe(0);
    expect(ledger.counters.reserved).toBe(0);
    expect(store.batches.size).toBe(0);

    ledger.setConfig({ capacity: 3, admitPerMinute: 600, mode: "open" }, T0 + 10 * 60_000 + 1);
    expect(ledger.counters.cursor).toBe(3);
    expect(ledger.counters.reserved).toBe(3);
    admitted(ledger.claim("a", 1, T0 + 10 * 60_000 + 2));
    expect(ledger.claim("d", 4, T0 + 10 * 60_000 + 2)).toEqual({ kind: "waiting", reason: "not_called" });
    expectConsistent(ledger, store);
  });

  it("hold keeps a called listener waiting", () => {
    const { ledger } = setup({ capacity: 1 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.join("b", T0);
    ledger.leave(a.sid, "a", T0 + 1);
    ledger.confirmRevoked([a.sid], T0 + 1 + CONFIRM);
    expect(ledger.counters.cursor).toBe(2);
    ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "hold" }, T0 + 2 + CONFIRM);
    expect(ledger.claim("b", 2, T0 + 3 + CONFIRM)).toEqual({ kind: "waiting", reason: "hold" });
    expect(ledger.counters.live).toBe(0);
  });

  it("closed answers closed to joins and claims", () => {
    const { ledger, store } = setup({ capacity: 3, mode: "closed" });
    expect(ledger.join("a", T0).claim).toEqual({ kind: "closed" });
    expect(ledger.claim("a", 1, T0 + 1)).toEqual({ kind: "closed" });
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.cursor).toBe(0);
  });
});

describe("lowering capacity", () => {
  it("evicts nobody and admits nobody until live drops below the new capacity", () => {
    const { ledger, store, joins } = fiveJoined();
    const [a, b, c] = joins.slice(0, 3).map((j) => admitted(j.claim));
    ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "open" }, T0 + 1_000);
    expect(store.leases.size).toBe(3);
    expect(ledger.counters.cursor).toBe(3);

    ledger.leave(a!.sid, "a", T0 + 2_000);
    ledger.confirmRevoked([a!.sid], T0 + 2_000 + CONFIRM);
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(3);
    expect(ledger.claim("d", 4, T0 + 2_000 + CONFIRM)).toEqual({ kind: "waiting", reason: "not_called" });

    ledger.leave(b!.sid, "b", T0 + 10_000);
    ledger.confirmRevoked([b!.sid], T0 + 10_000 + CONFIRM);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(3);

    ledger.leave(c!.sid, "c", T0 + 20_000);
    ledger.confirmRevoked([c!.sid], T0 + 20_000 + CONFIRM);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.counters.cursor).toBe(4);
    admitted(ledger.claim("d", 4, T0 + 20_001 + CONFIRM));
    expect(ledger.claim("e", 5, T0 + 20_001 + CONFIRM)).toEqual({ kind: "waiting", reason: "not_called" });
    expect(store.leases.size).toBe(1);
    expectConsistent(ledger, store);
  });

  it("capacity 0 admits nobody", () => {
    const { ledger, store } = setup({ capacity: 0 });
    expect(ledger.join("a", T0).claim).toEqual({ kind: "waiting", reason: "not_called" });
    ledger.settle(T0 + 3_600_000);
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.cursor).toBe(0);
  });
});

describe("rate", () => {
  it("calls no more listeners than the bucket allows", () => {
    // 6 per minute: burst 1, then one call every 10 s.
    const { ledger } = setup({ capacity: 100, admitPerMinute: 6 });
    const joins = ["a", "b", "c"].map((sub) => ledger.join(sub, T0));
    expect(joins[0]!.claim.kind).toBe("admitted");
    expect(joins[1]!.claim).toEqual({ kind: "waiting", reason: "not_called" });
    ledger.settle(T0 + 9_999);
    expect(ledger.counters.cursor).toBe(1);
    ledger.settle(T0 + 10_000);
    expect(ledger.counters.cursor).toBe(2);
    // b's call earmarks the only token: c is not called while b has not claimed.
    ledger.settle(T0 + 20_000);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.claim("b", 2, T0 + 20_000).kind).toBe("admitted");
    ledger.settle(T0 + 29_999);
    expect(ledger.counters.cursor).toBe(2);
    ledger.settle(T0 + 30_000);
    expect(ledger.counters.cursor).toBe(3);
  });

  it("fresh admissions in any 60 s window stay within admitPerMinute + burst, even when claims bunch up", () => {
    // 60 per minute (burst 10). Listeners are called steadily but claim late,
    // all at once, within their claim window.
    const apm = 60;
    const { ledger } = setup({ capacity: 1_000, admitPerMinute: apm, mode: "hold" });
    const seqs = new Map<string, number>();
    for (let i = 0; i < 200; i++) seqs.set(`l${i}`, ledger.join(`l${i}`, T0).seq);
    ledger.setConfig({ capacity: 1_000, admitPerMinute: apm, mode: "open" }, T0 + 1_000);
    for (let t = T0 + 2_000; t <= T0 + 30_000; t += 1_000) ledger.settle(t);

    const admissions: number[] = [];
    // Each claims until admitted (a claim without a key for a seat it holds would move it).
    const claimCalled = (now: number) => {
      for (const [sub, seq] of seqs) {
        if (seq > ledger.counters.cursor) continue;
        const out = ledger.claim(sub, seq, now);
        if (out.kind !== "admitted") continue;
        if (out.fresh) admissions.push(now);
        seqs.delete(sub);
      }
    };
    claimCalled(T0 + 30_000);
    for (let t = T0 + 31_000; t < T0 + 90_000; t += 1_000) {
      ledger.settle(t);
      claimCalled(t);
    }
    const inWindow = admissions.filter((t) => t >= T0 + 30_000 && t < T0 + 90_000).length;
    expect(inWindow).toBeLessThanOrEqual(apm + burstOf(apm));
  });
});

describe("nextWake", () => {
  it("is null for an empty room", () => {
    const { ledger } = setup();
    expect(ledger.nextWake(T0)).toBeNull();
  });

  it("is the earliest lease expiry when that comes first", () => {
    const { ledger } = setup({ capacity: 1 });
    ledger.join("a", T0);
    ledger.settle(T0 + CLAIM_WINDOW); // the call batch is gone
    ledger.join("b", T0 + CLAIM_WINDOW); // waits; no seat, so no rate wake
    expect(ledger.nextWake(T0 + CLAIM_WINDOW)).toBe(T0 + PASS_TTL);
  });

  it("is the reservation expiry when that comes first", () => {
    const { ledger } = setup({ capacity: 2 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.settle(T0 + CLAIM_WINDOW);
    ledger.setConfig({ capacity: 2, admitPerMinute: 600, mode: "hold" }, T0 + CLAIM_WINDOW);
    ledger.join("b", T0 + CLAIM_WINDOW);
    ledger.renew(a.sid, "a", T0 + 40_000); // lease now ends at T0 + 100 s
    ledger.setConfig({ capacity: 2, admitPerMinute: 600, mode: "open" }, T0 + 40_000); // b called
    expect(ledger.counters.reserved).toBe(1);
    expect(ledger.nextWake(T0 + 40_000)).toBe(T0 + 40_000 + CLAIM_WINDOW);
  });

  it("is the next rate token when listeners wait for one and a seat is free", () => {
    const { ledger } = setup({ capacity: 10, admitPerMinute: 6 });
    ledger.join("a", T0);
    ledger.join("b", T0);
    expect(ledger.counters.cursor).toBe(1);
    expect(ledger.nextWake(T0)).toBe(T0 + 10_000);
    ledger.settle(T0 + 10_000);
    expect(ledger.counters.cursor).toBe(2);
  });

  it("wakes when a left seat is released (confirmation comes with a sync, not an alarm)", () => {
    const { ledger } = setup({ capacity: 1 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.settle(T0 + CLAIM_WINDOW);
    ledger.join("b", T0 + CLAIM_WINDOW);
    ledger.renew(a.sid, "a", T0 + 35_000); // the lease now ends at T0 + 95 s
    ledger.leave(a.sid, "a", T0 + 40_000);
    const release = T0 + 35_000 + RELEASE_AFTER;
    expect(ledger.nextWake(T0 + 40_000)).toBe(release);
    ledger.settle(release - 1);
    expect(ledger.counters.cursor).toBe(1);
    ledger.settle(release);
    expect(ledger.counters.cursor).toBe(2);
  });

  it("has no rate wake in hold", () => {
    const { ledger } = setup({ capacity: 10, admitPerMinute: 6, mode: "hold" });
    ledger.join("a", T0);
    expect(ledger.nextWake(T0)).toBeNull();
  });

  it("is never in the past", () => {
    const { ledger } = setup({ capacity: 1 });
    ledger.join("a", T0);
    expect(ledger.nextWake(T0 + 5 * 60_000)).toBe(T0 + 5 * 60_000);
  });
});

describe("restart", () => {
  it("a new Ledger over the same store keeps queue, leases and reservations", () => {
    const { ledger, store, joins, deps } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    const b = admitted(joins[1]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    const config: AdmissionLimits = { capacity: 3, admitPerMinute: 600, mode: "open" };
    // Restart while a's seat is between leave and release.
    const mid = new Ledger(store, config, timings, deps, T0 + 1_500);
    expect(mid.counters).toEqual(ledger.counters);
    expect(mid.view(T0 + 1_500).revoked).toContain(a.sid);
    expect(mid.ending(10).map((l) => l.sid)).toEqual([a.sid]);
    expect(mid.claim("a", 1, T0 + 1_500)).toEqual({ kind: "spent" });
    mid.settle(T0 + 1_000 + CONFIRM);
    expect(mid.counters.cursor).toBe(3);
    mid.confirmRevoked([a.sid], T0 + 1_000 + CONFIRM); // d called

    const now = T0 + 1_000 + CONFIRM + 1;
    const after = new Ledger(store, config, timings, deps, now);
    expect(after.counters).toEqual(mid.counters);
    expect(after.counters.cursor).toBe(4);
    expect(after.claim("b", 2, now, T0, b.sid)).toEqual({ kind: "admitted", lease: b, fresh: false });
    expect(after.claim("a", 1, now)).toEqual({ kind: "spent" });
    const d = admitted(after.claim("d", 4, now));
    expect(d.seq).toBe(4);
    expect(after.claim("e", 5, now)).toEqual({ kind: "waiting", reason: "not_called" });
    expect(after.join("f", now).seq).toBe(6);
    expectConsistent(after, store);
  });
});

describe("counters", () => {
  it("live always equals the number of leases in the store through a whole session", () => {
    const { ledger, store } = setup({ capacity: 2, admitPerMinute: 60 });
    const check = () => expectConsistent(ledger, store);
    const leases = new Map<string, Lease>();
    let now = T0;
    for (let i = 0; i < 6; i++) {
      const out = ledger.join(`l${i}`, now).claim;
      if (out.kind === "admitted") leases.set(`l${i}`, out.lease);
      check();
    }
    now += 5_000;
    const first = leases.get("l0")!;
    ledger.leave(first.sid, "l0", now);
    check();
    ledger.renew(leases.get("l1")!.sid, "l1", now);
    check();
    now += CONFIRM;
    ledger.settle(now);
    check();
    ledger.confirmRevoked([first.sid], now);
    check();
    admitted(ledger.claim("l2", 3, now));
    check();
    now += PASS_TTL;
    ledger.settle(now);
    check();
    ledger.setConfig({ capacity: 4, admitPerMinute: 60, mode: "open" }, now);
    check();
    for (let i = 3; i < 6; i++) {
      ledger.claim(`l${i}`, i + 1, now + i);
      check();
    }
    expect(ledger.counters.peakLive).toBeGreaterThanOrEqual(store.leases.size);
    expect(ledger.counters.admittedTotal).toBeGreaterThanOrEqual(store.leases.size);
  });
});

/** a holds the only seat (claimed with key "dev-1"); b waits behind it. */
function oneSeat() {
  const ctx = setup({ capacity: 1, mode: "hold" });
  const seq = ctx.ledger.join("a", T0).seq;
  ctx.ledger.join("b", T0);
  ctx.ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "open" }, T0);
  const a = admitted(ctx.ledger.claim("a", seq, T0, T0, "dev-1"));
  return { ...ctx, seq, a };
}

describe("one ticket, one listener", () => {
  it("the device holding the seat keeps it when it claims again with its lease id", () => {
    const { ledger, store, seq, a } = oneSeat();
    expect(a.sid).toBe("dev-1");
    expect(a.gen ?? 0).toBe(0);
    for (const t of [T0 + 1_000, T0 + 2_000]) {
      expect(ledger.claim("a", seq, t, T0, "dev-1")).toEqual({ kind: "admitted", lease: a, fresh: false });
    }
    expect(ledger.renew(a.sid, "a", T0 + 3_000, 0).kind).toBe("renewed");
    expect(ledger.counters.admittedTotal).toBe(1);
    expect(ledger.view(T0 + 3_000).revoked).toEqual([]);
    expectConsistent(ledger, store);
  });

  it("a claim from another device ends the seat here and answers moving, until the move is confirmed", () => {
    const { ledger, store, seq, a } = oneSeat();
    const counters = structuredClone(ledger.counters);
    expect(ledger.claim("a", seq, T0 + 1_000, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    // The seat is ended as moved, its pass refused everywhere, but it is still held: nobody else is
    // called. Unless confirmed sooner, it moves once its pass (granted at T0) is too old to be
    // honoured from a view.
    const release = T0 + RELEASE_AFTER;
    expect(store.leaseBySid(a.sid)).toEqual({ ...a, leftAt: T0 + 1_000, endedBy: "moved", expiresAt: release });
    expect(store.revocation(a.sid, T0 + 1_000)).toBe("moved");
    expect(ledger.view(T0 + 1_000).revoked).toEqual([a.sid]);
    expect(ledger.ending(10)).toEqual([store.leaseBySid(a.sid)]);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(1);
    expect(ledger.counters.admittedTotal).toBe(counters.admittedTotal);
    expect(ledger.counters.left).toBe(0);
    // The old device can no longer renew, with or without its generation.
    expect(ledger.renew(a.sid, "a", T0 + 1_500)).toEqual({ kind: "gone", reason: "moved" });
    expect(ledger.renew(a.sid, "a", T0 + 1_500, 0)).toEqual({ kind: "gone", reason: "moved" });
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(release);

    // Every further claim of the ticket, from any device and however long short of that, waits for the move.
    for (let t = T0 + 2_000; t < release; t += 1_999) {
      for (const key of ["dev-2", "dev-3", a.sid, undefined]) {
        expect(ledger.claim("a", seq, t, T0, key)).toEqual({ kind: "waiting", reason: "moving" });
      }
      expect(ledger.join("a", t).claim).toEqual({ kind: "waiting", reason: "moving" });
      expect(ledger.counters.live).toBe(1);
      expect([...store.leases.values()]).toEqual([{ ...a, leftAt: T0 + 1_000, endedBy: "moved", expiresAt: release }]);
    }
    expect(ledger.claim("a", seq, release - 1, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    expect(ledger.claim("b", 2, release - 1)).toEqual({ kind: "waiting", reason: "not_called" });
    expectConsistent(ledger, store);
  });

  it("once the move is confirmed, the ticket's next claim takes the seat as a new lease under its key", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    const confirmedAt = T0 + 6_000;
    ledger.confirmRevoked([a.sid], confirmedAt);
    // Handed over, not freed: a new lease nobody holds a pass for yet, for one claim window.
    const [moved] = [...store.leases.values()];
    expect(store.leases.size).toBe(1);
    expect(moved).toEqual({
      sid: "sid-1",
      sub: "a",
      seq,
      grantedAt: confirmedAt,
      expiresAt: confirmedAt + CLAIM_WINDOW,
      leftAt: null,
      gen: 1,
      movedFrom: a.sid,
    });
    expect(store.leaseBySub("a")).toEqual(moved);
    expect(ledger.ending(10)).toEqual([]);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(1);
    expect(ledger.counters.expired).toBe(0);
    // The old pass stays refused, and still reads as moved.
    expect(ledger.view(confirmedAt).revoked).toEqual([a.sid]);
    expect(ledger.renew(a.sid, "a", confirmedAt + 1)).toEqual({ kind: "gone", reason: "moved" });
    // Nobody holds the new lease yet: it neither renews nor can be given back.
    expect(ledger.renew(moved!.sid, "a", confirmedAt + 1)).toEqual({ kind: "gone", reason: "lapsed" });
    expect(ledger.leave(moved!.sid, "a", confirmedAt + 1)).toBe(false);

    const takenAt = confirmedAt + 2_000;
    const taken = ledger.claim("a", seq, takenAt, T0, "dev-2");
    expect(taken).toEqual({
      kind: "admitted",
      fresh: true,
      lease: {
        sid: "dev-2",
        sub: "a",
        seq,
        grantedAt: takenAt,
        expiresAt: takenAt + PASS_TTL,
        leftAt: null,
        gen: 1,
        movedFrom: null,
      },
    });
    expect(store.leases.size).toBe(1);
    expect(store.leaseBySid(moved!.sid)).toBeNull();
    // The same seat: no new admission, no token, nobody called.
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.admittedTotal).toBe(1);
    expect(ledger.counters.cursor).toBe(1);
    // Its retry keeps it; the new pass renews (its generation, or none); the old one's never does.
    const lease = admitted(taken);
    expect(ledger.claim("a", seq, takenAt + 1, T0, "dev-2")).toEqual({ kind: "admitted", lease, fresh: false });
    expect(ledger.renew("dev-2", "a", takenAt + 2, 0)).toEqual({ kind: "gone", reason: "moved" });
    expect(ledger.renew("dev-2", "a", takenAt + 2, 1).kind).toBe("renewed");
    expect(ledger.renew("dev-2", "a", takenAt + 3).kind).toBe("renewed");
    expect(ledger.renew(a.sid, "a", takenAt + 3)).toEqual({ kind: "gone", reason: "moved" });
    // Once the old pass has expired, its id reads as any lapsed one.
    expect(ledger.renew(a.sid, "a", a.expiresAt)).toEqual({ kind: "gone", reason: "lapsed" });
    expect(ledger.view(a.expiresAt).revoked).toEqual([]);
    expectConsistent(ledger, store);
  });

  it("the seat goes to whichever device claims first after confirmation, under a new id when it has no key", () => {
    const { ledger, store, seq, a } = oneSeat();
    expect(ledger.claim("a", seq, T0 + 1_000, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    ledger.confirmRevoked([a.sid], T0 + 6_000);
    const taken = admitted(ledger.claim("a", seq, T0 + 7_000));
    expect(taken.sid).toBe("sid-2");
    expect(taken.movedFrom).toBeNull();
    // dev-2, late, finds the seat on another device: it moves again.
    expect(ledger.claim("a", seq, T0 + 8_000, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    expect(store.leaseBySid(taken.sid)).toMatchObject({ leftAt: T0 + 8_000, endedBy: "moved" });
    ledger.confirmRevoked([taken.sid], T0 + 13_000);
    const again = admitted(ledger.claim("a", seq, T0 + 14_000, T0, "dev-2"));
    expect(again).toMatchObject({ sid: "dev-2", gen: 2, movedFrom: null });
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.admittedTotal).toBe(1);
    expectConsistent(ledger, store);
  });

  it("a move never confirmed completes once the old passes are too old to be honoured from a view", () => {
    const { ledger, store, seq, a } = oneSeat();
    const lastRenewal = T0 + 10_000;
    ledger.renew(a.sid, "a", lastRenewal);
    ledger.claim("a", seq, T0 + 12_000, T0, "dev-2");
    const release = lastRenewal + RELEASE_AFTER;
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(release);
    ledger.settle(release - 1);
    expect(ledger.claim("a", seq, release - 1, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    expect(store.leaseBySid(a.sid)).not.toBeNull();
    ledger.settle(release);
    expect([...store.leases.values()]).toEqual([
      {
        sid: "sid-1",
        sub: "a",
        seq,
        grantedAt: release,
        expiresAt: release + CLAIM_WINDOW,
        leftAt: null,
        gen: 1,
        movedFrom: a.sid,
      },
    ]);
    // Handed over is not expired; nobody else is called.
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(1);
    // The old pass is still refused, as moved, until it expires (+70 s): the revocation outlives the move.
    expect(ledger.view(release).revoked).toEqual([a.sid]);
    expect(ledger.renew(a.sid, "a", release)).toEqual({ kind: "gone", reason: "moved" });
    const taken = admitted(ledger.claim("a", seq, release + 1, T0, "dev-2"));
    expect(taken).toMatchObject({ sid: "dev-2", expiresAt: release + 1 + PASS_TTL, movedFrom: null });
    // The old device still cannot take it back.
    expect(ledger.claim("a", seq, release + 2, T0, a.sid)).toEqual({ kind: "spent" });
    expect(ledger.renew(a.sid, "a", lastRenewal + PASS_TTL - 1)).toEqual({ kind: "gone", reason: "moved" });
    expect(ledger.renew(a.sid, "a", lastRenewal + PASS_TTL)).toEqual({ kind: "gone", reason: "lapsed" });
    expectConsistent(ledger, store);
  });

  it("a moved seat not taken within the claim window is freed, and the ticket is spent", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    const confirmedAt = T0 + 6_000;
    ledger.confirmRevoked([a.sid], confirmedAt);
    ledger.settle(confirmedAt + CLAIM_WINDOW - 1);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(1);
    ledger.settle(confirmedAt + CLAIM_WINDOW);
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.counters.expired).toBe(1);
    // The seat goes to the next listener; the ticket cannot come back, from any device.
    expect(ledger.counters.cursor).toBe(2);
    admitted(ledger.claim("b", 2, confirmedAt + CLAIM_WINDOW));
    expect(ledger.claim("a", seq, confirmedAt + CLAIM_WINDOW, T0, "dev-2")).toEqual({ kind: "spent" });
    expect(ledger.claim("a", seq, confirmedAt + CLAIM_WINDOW)).toEqual({ kind: "spent" });
    expectConsistent(ledger, store);
  });

  it("leaving with the old pass while the seat is moving gives the seat up: nobody gets it", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    expect(ledger.leave(a.sid, "a", T0 + 2_000)).toBe(true);
    // Still ended when it moved, and released when that set.
    expect(store.leaseBySid(a.sid)).toEqual({
      ...a,
      leftAt: T0 + 1_000,
      endedBy: "left",
      expiresAt: T0 + RELEASE_AFTER,
    });
    expect(ledger.counters.left).toBe(1);
    expect(ledger.leave(a.sid, "a", T0 + 2_500)).toBe(false);
    expect(ledger.counters.left).toBe(1);
    // Still held until confirmed; the ticket is done on every device.
    expect(ledger.counters.live).toBe(1);
    expect(ledger.view(T0 + 2_000).revoked).toEqual([a.sid]);
    expect(ledger.claim("a", seq, T0 + 3_000, T0, "dev-2")).toEqual({ kind: "spent" });
    expect(ledger.claim("a", seq, T0 + 3_000)).toEqual({ kind: "spent" });
    expect(ledger.renew(a.sid, "a", T0 + 3_000).kind).toBe("gone");
    ledger.confirmRevoked([a.sid], T0 + 6_000);
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.claim("a", seq, T0 + 7_000, T0, "dev-2")).toEqual({ kind: "spent" });
    expectConsistent(ledger, store);
  });

  it("leaving while moving, never confirmed, frees the seat at the release the move set", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    // A leave later than the move neither delays nor hastens the release.
    ledger.leave(a.sid, "a", T0 + 15_000);
    const release = T0 + RELEASE_AFTER;
    ledger.settle(release - 1);
    expect(ledger.counters.live).toBe(1);
    ledger.settle(release);
    expect(store.leases.size).toBe(0);
    expect(ledger.counters.cursor).toBe(2);
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.claim("a", seq, release, T0, "dev-2")).toEqual({ kind: "spent" });
    expect(ledger.renew(a.sid, "a", release)).toEqual({ kind: "gone", reason: "moved" });
    expectConsistent(ledger, store);
  });

  it("the moved seat keeps its place under the cap: nobody else is seated while it moves", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "open" }, T0 + 500);
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    expect(ledger.claim("b", 2, T0 + 1_000)).toEqual({ kind: "waiting", reason: "not_called" });
    ledger.confirmRevoked([a.sid], T0 + 6_000);
    expect(ledger.counters.cursor).toBe(1);
    expect(ledger.claim("b", 2, T0 + 6_000)).toEqual({ kind: "waiting", reason: "not_called" });
    const taken = admitted(ledger.claim("a", seq, T0 + 7_000, T0, "dev-2"));
    expect(ledger.counters.cursor).toBe(1);
    // b's turn comes when the seat is given back for good.
    ledger.leave(taken.sid, "a", T0 + 8_000);
    expect(ledger.counters.cursor).toBe(1);
    ledger.confirmRevoked([taken.sid], T0 + 13_000);
    expect(ledger.counters.cursor).toBe(2);
    admitted(ledger.claim("b", 2, T0 + 13_000));
    expect(store.leases.size).toBe(1);
    expectConsistent(ledger, store);
  });

  it("confirming a moved seat twice, or the new lease's id, hands nothing over again", () => {
    const { ledger, store, seq, a } = oneSeat();
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    ledger.confirmRevoked([a.sid], T0 + 6_000);
    const leases = structuredClone([...store.leases.values()]);
    const counters = structuredClone(ledger.counters);
    ledger.confirmRevoked([a.sid, leases[0]!.sid], T0 + 6_000);
    expect([...store.leases.values()]).toEqual(leases);
    expect(ledger.counters).toEqual(counters);
    expectConsistent(ledger, store);
  });

  it("a restart keeps a seat that is moving, and one moved but not yet taken", () => {
    const { ledger, store, deps, seq, a } = oneSeat();
    const config: AdmissionLimits = { capacity: 1, admitPerMinute: 600, mode: "open" };
    ledger.claim("a", seq, T0 + 1_000, T0, "dev-2");
    const mid = new Ledger(store, config, timings, deps, T0 + 2_000);
    expect(mid.claim("a", seq, T0 + 2_000, T0, "dev-2")).toEqual({ kind: "waiting", reason: "moving" });
    expect(mid.ending(10).map((l) => l.sid)).toEqual([a.sid]);
    mid.confirmRevoked([a.sid], T0 + 6_000);
    const after = new Ledger(store, config, timings, deps, T0 + 7_000);
    expect(after.counters).toEqual(mid.counters);
    expect(admitted(after.claim("a", seq, T0 + 7_000, T0, "dev-2")).sid).toBe("dev-2");
    expect(after.renew(a.sid, "a", T0 + 7_000)).toEqual({ kind: "gone", reason: "moved" });
    expectConsistent(after, store);
  });
});

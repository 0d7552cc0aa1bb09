import { describe, expect, it } from "vitest";
import type { AdmissionLimits, Timings } from "../../src/admission/config.ts";
import { type ClaimOutcome, type Lease, Ledger, MAX_REVOKED, REVOCATION_DELAY_MS } from "../../src/admission/ledger.ts";
import { MemoryLedgerStore } from "../../src/admission/memory-store.ts";
import { burstOf } from "../../src/admission/rate.ts";

const T0 = 1_700_000_000_000;
const PASS_TTL = 60_000;
const CLAIM_WINDOW = 30_000;
const DELAY = REVOCATION_DELAY_MS;
const timings: Timings = { passTtlMs: PASS_TTL, claimWindowMs: CLAIM_WINDOW, ticketTtlMs: 6 * 3_600_000 };

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

  it("never gives a listener who already holds a seat a second lease", () => {
    const { ledger, store, joins } = fiveJoined();
    const first = admitted(joins[0]!.claim);
    const again = ledger.join("a", T0 + 1_000);
    // The same seat (its next generation: the newest claim holds it).
    expect(again.claim).toEqual({ kind: "admitted", lease: { ...first, gen: 1 }, fresh: false });
    expect(store.leases.size).toBe(3);
    expect([...store.leases.values()].filter((l) => l.sub === "a")).toHaveLength(1);
    expectConsistent(ledger, store);
  });
});

describe("leave", () => {
  it("revokes the pass at once and frees the seat after the revocation delay, calling the next listener", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);

    expect(ledger.leave(a.sid, "a", T0 + 1_000)).toBe(true);
    expect(ledger.counters.left).toBe(1);
    expect(ledger.view(T0 + 1_000).revoked).toContain(a.sid);
    expect(store.leaseBySid(a.sid)?.leftAt).toBe(T0 + 1_000);
    // Still counted until no edge can accept the old pass.
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.cursor).toBe(3);

    ledger.settle(T0 + 1_000 + DELAY - 1);
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.cursor).toBe(3);

    ledger.settle(T0 + 1_000 + DELAY);
    expect(ledger.counters.live).toBe(2);
    expect(store.leaseBySid(a.sid)).toBeNull();
    expect(ledger.counters.expired).toBe(0);
    expect(ledger.counters.cursor).toBe(4);
    expect(ledger.counters.reserved).toBe(1);
    expect(store.batchContaining(4)).toMatchObject({
      outstanding: 1,
      expiresAt: T0 + 1_000 + DELAY + CLAIM_WINDOW,
    });
    expect(store.batchContaining(5)).toBeNull();
    expectConsistent(ledger, store);

    const d = admitted(ledger.claim("d", 4, T0 + 4_000));
    expect(d.seq).toBe(4);
    expect(d.sub).toBe("d");
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.reserved).toBe(0);
    expect(ledger.claim("e", 5, T0 + 4_000)).toEqual({ kind: "waiting", reason: "not_called" });
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
    ledger.settle(T0 + 1_000 + DELAY);
    expect(ledger.leave(a.sid, "a", T0 + 1_000 + DELAY)).toBe(false);
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
  });

  it("says a seat was left, not lapsed, after it is freed and while its revocation lasts", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.settle(T0 + 1_000 + DELAY);
    expect(ledger.renew(a.sid, "a", T0 + 1_000 + DELAY + 1)).toEqual({ kind: "gone", reason: "left" });
    // Once the pass itself has expired, nothing tells it apart from a lapse.
    expect(ledger.renew(a.sid, "a", T0 + PASS_TTL + 1)).toEqual({ kind: "gone", reason: "lapsed" });
  });

  it("keeps the pass revoked until the lease's own expiry, after the seat is freed", () => {
    const { ledger, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.settle(T0 + 1_000 + DELAY);
    expect(ledger.view(T0 + PASS_TTL - 1).revoked).toContain(a.sid);
    ledger.settle(T0 + PASS_TTL);
    expect(ledger.view(T0 + PASS_TTL).revoked).not.toContain(a.sid);
  });

  it("never holds the seat past the lease's own expiry", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + PASS_TTL - 500);
    expect(store.leaseBySid(a.sid)?.expiresAt).toBe(T0 + PASS_TTL);
  });

  it("when the revocation list is full, the seat stays taken until the pass expires", () => {
    const n = MAX_REVOKED + 1;
    const { ledger, store } = setup({ capacity: n, admitPerMinute: 6 * n });
    const leases = Array.from({ length: n }, (_, i) => admitted(ledger.join(`l${i}`, T0).claim));
    for (const l of leases.slice(0, MAX_REVOKED)) ledger.leave(l.sid, l.sub, T0 + 1_000);
    expect(ledger.view(T0 + 1_000).revoked).toHaveLength(MAX_REVOKED);

    const last = leases[n - 1]!;
    expect(ledger.leave(last.sid, last.sub, T0 + 1_000)).toBe(true);
    expect(ledger.view(T0 + 1_000).revoked).not.toContain(last.sid);
    expect(store.leaseBySid(last.sid)?.expiresAt).toBe(T0 + PASS_TTL);

    ledger.settle(T0 + 1_000 + DELAY);
    expect(ledger.counters.live).toBe(1);
    expect(store.leaseBySid(last.sid)).not.toBeNull();
    ledger.settle(T0 + PASS_TTL);
    expect(ledger.counters.live).toBe(0);
    expectConsistent(ledger, store);
  });
});

describe("claim", () => {
  it("a retried claim returns the same lease and takes no second seat", () => {
    const { ledger, store, joins } = fiveJoined();
    const a = admitted(joins[0]!.claim);
    ledger.leave(a.sid, "a", T0 + 1_000);
    ledger.settle(T0 + 1_000 + DELAY);
    const first = admitted(ledger.claim("d", 4, T0 + 4_000));
    const retry = ledger.claim("d", 4, T0 + 5_000);
    expect(retry).toEqual({ kind: "admitted", lease: { ...first, gen: 1 }, fresh: false });
    expect(ledger.counters.live).toBe(3);
    expect(ledger.counters.admittedTotal).toBe(4);
    expect(store.leases.size).toBe(3);
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
    const called = T0 + 1_000 + DELAY;
    ledger.settle(called);
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
    ledger.settle(T0 + 1_000 + DELAY); // c called
    ledger.settle(T0 + 1_000 + DELAY + CLAIM_WINDOW);
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
    const called = T0 + 1_000 + DELAY;
    ledger.settle(called); // b called
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
    // Before and after the seat is freed.
    expect(ledger.claim("a", 1, T0 + 1_500)).toEqual({ kind: "spent" });
    expect(ledger.claim("a", 1, T0 + 1_000 + DELAY)).toEqual({ kind: "spent" });
    expect(ledger.join("a", T0 + 5_000).claim).toEqual({ kind: "spent" });
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
    ledger.settle(T0 + 1 + DELAY);
    expect(ledger.counters.cursor).toBe(2);
    ledger.setConfig({ capacity: 1, admitPerMinute: 600, mode: "hold" }, T0 + 2 + DELAY);
    expect(ledger.claim("b", 2, T0 + 3 + DELAY)).toEqual({ kind: "waiting", reason: "hold" });
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
    ledger.settle(T0 + 2_000 + DELAY);
    expect(ledger.counters.live).toBe(2);
    expect(ledger.counters.cursor).toBe(3);
    expect(ledger.claim("d", 4, T0 + 2_000 + DELAY)).toEqual({ kind: "waiting", reason: "not_called" });

    ledger.leave(b!.sid, "b", T0 + 10_000);
    ledger.settle(T0 + 10_000 + DELAY);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.cursor).toBe(3);

    ledger.leave(c!.sid, "c", T0 + 20_000);
    ledger.settle(T0 + 20_000 + DELAY);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.counters.cursor).toBe(4);
    admitted(ledger.claim("d", 4, T0 + 20_001 + DELAY));
    expect(ledger.claim("e", 5, T0 + 20_001 + DELAY)).toEqual({ kind: "waiting", reason: "not_called" });
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
    const claimCalled = (now: number) => {
      for (const [sub, seq] of seqs) {
        if (seq > ledger.counters.cursor) continue;
        const out = ledger.claim(sub, seq, now);
        if (out.kind === "admitted" && out.fresh) admissions.push(now);
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

  it("wakes when a left seat is due to be freed", () => {
    const { ledger } = setup({ capacity: 1 });
    const a = admitted(ledger.join("a", T0).claim);
    ledger.settle(T0 + CLAIM_WINDOW);
    ledger.leave(a.sid, "a", T0 + 40_000);
    expect(ledger.nextWake(T0 + 40_000)).toBe(T0 + 40_000 + DELAY);
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
    expect(mid.claim("a", 1, T0 + 1_500)).toEqual({ kind: "spent" });
    mid.settle(T0 + 1_000 + DELAY); // d called

    const now = T0 + 1_000 + DELAY + 1;
    const after = new Ledger(store, config, timings, deps, now);
    expect(after.counters).toEqual(mid.counters);
    expect(after.counters.cursor).toBe(4);
    expect(after.claim("b", 2, now)).toEqual({ kind: "admitted", lease: { ...b, gen: 1 }, fresh: false });
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
    now += DELAY;
    ledger.settle(now);
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

describe("one ticket, one listener", () => {
  it("moves the seat to the newest claim with the same ticket: the older pass can no longer renew", () => {
    const { ledger, store } = setup({ capacity: 1 });
    const { seq, claim } = ledger.join("a", T0);
    const first = admitted(claim);
    expect(first.gen ?? 0).toBe(0);
    // The same ticket claims again (a second device): same seat, next generation, no second seat.
    const second = ledger.claim("a", seq, T0 + 1_000);
    expect(second).toMatchObject({ kind: "admitted", fresh: false });
    const moved = admitted(second);
    expect(moved.sid).toBe(first.sid);
    expect(moved.gen).toBe(1);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.counters.admittedTotal).toBe(1);
    expect(ledger.renew(first.sid, "a", T0 + 2_000, 0)).toEqual({ kind: "gone", reason: "moved" });
    expect(ledger.renew(first.sid, "a", T0 + 2_000, 1).kind).toBe("renewed");
    // A caller that does not know generations (no gen) still renews.
    expect(ledger.renew(first.sid, "a", T0 + 3_000).kind).toBe("renewed");
    expectConsistent(ledger, store);
  });
});

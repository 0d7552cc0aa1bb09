/**
 * A seat whose origin serves its listener directly (Icecast's URL
 * authentication): the ledger records the origin's connection on the lease,
 * and a seat holding one is never freed (nor handed to another device)
 * before the origin's drop of it is confirmed.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Timings } from "../../src/policy/config.ts";
import { type Lease, mayLetGo, originRefusal } from "../../src/policy/lease.ts";
import { Ledger } from "../../src/policy/ledger.ts";
import { ORIGIN_DROP_RECHECK_MS } from "../../src/policy/ledger-state.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";

const T0 = 1_700_000_000_000;
const PASS_TTL = 60_000;
const timings: Timings = { passTtlMs: PASS_TTL, claimWindowMs: 30_000, ticketTtlMs: 6 * 3_600_000 };

function setup(capacity = 1) {
  const store = new MemoryLedgerStore();
  let ids = 0;
  const ledger = new Ledger(
    store,
    { capacity, admitPerMinute: 600, mode: "open" },
    timings,
    { newId: () => `sid-${++ids}` },
    T0,
  );
  return { store, ledger };
}

function seat(ledger: Ledger, sub: string, now = T0): Lease {
  const out = ledger.join(sub, now);
  if (out.claim.kind !== "admitted") throw new Error(`not admitted: ${JSON.stringify(out.claim)}`);
  return out.claim.lease;
}

describe("the rule", () => {
  const lease: Lease = { sid: "s", sub: "a", seq: 1, grantedAt: T0, expiresAt: T0 + PASS_TTL, leftAt: null };
  it("lets a seat go only without an origin connection", () => {
    expect(mayLetGo(lease)).toBe(true);
    expect(mayLetGo({ ...lease, originClient: null })).toBe(true);
    expect(mayLetGo({ ...lease, originClient: "13" })).toBe(false);
  });
  it("admits one connection per live seat, of this pass", () => {
    expect(originRefusal(lease, "a", 0, "13")).toBeNull();
    expect(originRefusal({ ...lease, originClient: "13" }, "a", 0, "13")).toBeNull();
    expect(originRefusal({ ...lease, originClient: "13" }, "a", 0, "14")).toBe("busy");
    expect(originRefusal({ ...lease, leftAt: T0 }, "a", 0, "13")).toBe("left");
    expect(originRefusal({ ...lease, leftAt: T0, endedBy: "moved" }, "a", 0, "13")).toBe("moved");
    expect(originRefusal(lease, "a", 1, "13")).toBe("moved");
    expect(originRefusal(lease, "b", 0, "13")).toBe("lapsed");
    expect(originRefusal(null, "a", 0, "13")).toBe("lapsed");
  });
});

describe("the ledger", () => {
  it("records the connection and renews the lease; a second connection is refused", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    const out = ledger.attachOrigin(l.sid, "a", 0, "13", T0 + 10_000);
    expect(out).toMatchObject({ kind: "admitted", lease: { originClient: "13", expiresAt: T0 + 10_000 + PASS_TTL } });
    expect(ledger.attachOrigin(l.sid, "a", 0, "14", T0 + 11_000)).toEqual({ kind: "refused", reason: "busy" });
    expect(ledger.attachOrigin(l.sid, "a", 0, "13", T0 + 11_000).kind).toBe("admitted");
    expect(ledger.renewListed(l.sid, "13", T0 + 40_000)).toBe(true);
    expect(ledger.lease(l.sid)?.expiresAt).toBe(T0 + 40_000 + PASS_TTL);
    expect(ledger.renewListed(l.sid, "14", T0 + 40_000)).toBe(false);
  });

  it("keeps a left seat with a connection taken, even confirmed and past expiry, until the drop", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    ledger.attachOrigin(l.sid, "a", 0, "13", T0);
    expect(ledger.leave(l.sid, "a", T0 + 1_000)).toBe(true);
    expect(ledger.attachOrigin(l.sid, "a", 0, "13", T0 + 1_000)).toEqual({ kind: "refused", reason: "left" });
    ledger.confirmRevoked([l.sid], T0 + 6_000);
    ledger.settle(T0 + 10 * PASS_TTL);
    expect(ledger.counters.live).toBe(1);
    expect(seat.bind(null, ledger, "b", T0 + 10 * PASS_TTL)).toThrow(/not admitted/);
    expect(ledger.originLeases(10).map((x) => [x.sid, x.originClient, x.awaitingDrop])).toEqual([[l.sid, "13", true]]);
    // Another connection id is not this seat's.
    expect(ledger.originGone(l.sid, "99", T0 + 10 * PASS_TTL)).toBe(false);
    expect(ledger.counters.live).toBe(1);
    // The origin no longer serves it: the seat is free.
    expect(ledger.originGone(l.sid, "13", T0 + 10 * PASS_TTL + 1)).toBe(true);
    expect(ledger.counters.live).toBe(0);
    expect(ledger.lease(l.sid)).toBeNull();
  });

  it("holds a lapsed seat with a connection, counted as expired once, until the drop", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    ledger.attachOrigin(l.sid, "a", 0, "13", T0);
    for (let t = T0 + PASS_TTL; t < T0 + 5 * PASS_TTL; t += ORIGIN_DROP_RECHECK_MS) ledger.settle(t);
    expect(ledger.counters).toMatchObject({ live: 1, expired: 1 });
    expect(ledger.lease(l.sid)).toMatchObject({ awaitingDrop: true, originClient: "13" });
    expect(ledger.renewListed(l.sid, "13", T0 + 5 * PASS_TTL)).toBe(false);
    ledger.originGone(l.sid, "13", T0 + 5 * PASS_TTL);
    expect(ledger.counters.live).toBe(0);
  });

  it("ends a live seat as a leave when the origin lets its connection go; freed by the usual rules", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    ledger.attachOrigin(l.sid, "a", 0, "13", T0);
    expect(ledger.originGone(l.sid, "13", T0 + 1_000)).toBe(true);
    expect(ledger.lease(l.sid)).toMatchObject({ leftAt: T0 + 1_000, endedBy: "left", originClient: null });
    expect(ledger.counters).toMatchObject({ live: 1, left: 1 });
    ledger.confirmRevoked([l.sid], T0 + 6_000);
    expect(ledger.counters.live).toBe(0);
  });

  it("hands a moved seat to the newer device only once the old connection is dropped", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    ledger.attachOrigin(l.sid, "a", 0, "13", T0);
    expect(ledger.claim("a", 1, T0 + 1_000, undefined, "new-device")).toEqual({ kind: "waiting", reason: "moving" });
    ledger.confirmRevoked([l.sid], T0 + 6_000);
    expect(ledger.claim("a", 1, T0 + 7_000, undefined, "new-device")).toEqual({ kind: "waiting", reason: "moving" });
    ledger.originGone(l.sid, "13", T0 + 8_000);
    const taken = ledger.claim("a", 1, T0 + 9_000, undefined, "new-device");
    expect(taken).toMatchObject({ kind: "admitted", lease: { sid: "new-device", gen: 1 } });
    expect(ledger.counters.live).toBe(1);
  });
});

describe("the ledger, with a credential origin (Janus token, LiveKit identity)", () => {
  it("gives a live seat one credential, the same on every ask, and none to an ended seat or another pass", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    const first = ledger.issueOrigin(l.sid, "a", 0, "janus", "janus:t1", T0 + 1_000);
    expect(first).toMatchObject({ kind: "admitted", lease: { originClient: "janus:t1" } });
    // Asked again (a heartbeat), the seat keeps its token rather than taking the fresh one.
    expect(ledger.issueOrigin(l.sid, "a", 0, "janus", "janus:t2", T0 + 2_000)).toMatchObject({
      kind: "admitted",
      lease: { originClient: "janus:t1" },
    });
    expect(ledger.issueOrigin(l.sid, "b", 0, "janus", "janus:t3", T0 + 2_000)).toEqual({
      kind: "refused",
      reason: "lapsed",
    });
    expect(ledger.issueOrigin(l.sid, "a", 1, "janus", "janus:t3", T0 + 2_000)).toEqual({
      kind: "refused",
      reason: "moved",
    });
    // A seat holding an Icecast connection takes no credential of another origin.
    const other = setup();
    const m = seat(other.ledger, "a");
    other.ledger.attachOrigin(m.sid, "a", 0, "13", T0);
    expect(other.ledger.issueOrigin(m.sid, "a", 0, "livekit", "livekit:x", T0)).toEqual({
      kind: "refused",
      reason: "busy",
    });
    ledger.leave(l.sid, "a", T0 + 3_000);
    expect(ledger.issueOrigin(l.sid, "a", 0, "janus", "janus:t4", T0 + 3_000)).toEqual({
      kind: "refused",
      reason: "left",
    });
  });

  it("ends a live seat whose listener left the origin, keeping the credential until it is taken back", () => {
    const { ledger } = setup();
    const l = seat(ledger, "a");
    ledger.issueOrigin(l.sid, "a", 0, "livekit", "livekit:r:0:x", T0);
    expect(ledger.originEnded(l.sid, "livekit:other", T0 + 1_000)).toBe(false);
    expect(ledger.originEnded(l.sid, "livekit:r:0:x", T0 + 1_000)).toBe(true);
    expect(ledger.lease(l.sid)).toMatchObject({ leftAt: T0 + 1_000, endedBy: "left", originClient: "livekit:r:0:x" });
    expect(ledger.originEnded(l.sid, "livekit:r:0:x", T0 + 2_000)).toBe(false);
    // Confirmed and past its release: still taken while the credential is not back.
    ledger.confirmRevoked([l.sid], T0 + 6_000);
    ledger.settle(T0 + 3 * PASS_TTL);
    expect(ledger.counters.live).toBe(1);
    expect(ledger.originGone(l.sid, "livekit:r:0:x", T0 + 3 * PASS_TTL)).toBe(true);
    expect(ledger.counters).toMatchObject({ live: 0, left: 1 });
  });
});

describe("property", () => {
  type Op =
    | { t: "join" }
    | { t: "attach"; who: number; client: number }
    | { t: "leave"; who: number }
    | { t: "move"; who: number }
    | { t: "confirm" }
    | { t: "gone"; client: number }
    | { t: "wait"; ms: number };
  const who = fc.nat({ max: 6 });
  const client = fc.nat({ max: 8 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ t: "join" }),
    fc.record({ who, client }).map<Op>((r) => ({ t: "attach", ...r })),
    who.map<Op>((w) => ({ t: "leave", who: w })),
    who.map<Op>((w) => ({ t: "move", who: w })),
    fc.constant<Op>({ t: "confirm" }),
    client.map<Op>((c) => ({ t: "gone", client: c })),
    fc.integer({ min: 0, max: 90_000 }).map<Op>((ms) => ({ t: "wait", ms })),
  );

  it("never frees a seat whose origin connection is not confirmed dropped; origin connections ≤ capacity", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const capacity = 2;
        const { ledger, store } = setup(capacity);
        let now = T0;
        let n = 0;
        /** Connections the origin serves (the model of Icecast): client → lease id. */
        const served = new Map<number, string>();
        for (const o of ops) {
          if (o.t === "join") ledger.join(`u${n++}`, now);
          else if (o.t === "attach") {
            const lease = store.leaseBySub(`u${o.who}`);
            if (lease !== null && !served.has(o.client)) {
              const out = ledger.attachOrigin(lease.sid, lease.sub, lease.gen ?? 0, String(o.client), now);
              if (out.kind === "admitted") served.set(o.client, lease.sid);
            }
          } else if (o.t === "leave") {
            const lease = store.leaseBySub(`u${o.who}`);
            if (lease !== null) ledger.leave(lease.sid, lease.sub, now);
          } else if (o.t === "move") ledger.claim(`u${o.who}`, 1, now, undefined, `k${now}`);
          else if (o.t === "confirm")
            ledger.confirmRevoked(
              ledger.ending(100).map((l) => l.sid),
              now,
            );
          else if (o.t === "gone") {
            const sid = served.get(o.client);
            if (sid !== undefined) {
              served.delete(o.client);
              ledger.originGone(sid, String(o.client), now);
            }
          } else {
            now += o.ms;
            ledger.settle(now);
          }
          // Every connection the origin serves still holds its seat's lease, and is counted live.
          for (const [c, sid] of served) expect(store.leaseBySid(sid)?.originClient).toBe(String(c));
          expect(served.size).toBeLessThanOrEqual(ledger.counters.live);
          expect(ledger.counters.live).toBeLessThanOrEqual(capacity);
          expect(ledger.counters.live).toBe(store.leases.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});

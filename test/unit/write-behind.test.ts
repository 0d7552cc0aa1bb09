import { describe, expect, it } from "vitest";
import type { Timings } from "../../src/policy/config.ts";
import type { Lease } from "../../src/policy/lease.ts";
import { Ledger } from "../../src/policy/ledger.ts";
import type { CallBatch, Counters } from "../../src/policy/ledger-state.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import type { ArrivalBin } from "../../src/policy/arrivals.ts";
import { type LedgerChanges, WriteBehindLedgerStore } from "../../src/policy/write-behind.ts";

const T0 = Date.UTC(2026, 0, 1);
const timings: Timings = { passTtlMs: 60_000, claimWindowMs: 30_000, ticketTtlMs: 3_600_000 };
const config = { capacity: 3, admitPerMinute: 600, mode: "open" as const };

/** What a database holds after applying every commit's changes (what SqlLedgerStore writes). */
class Database {
  readonly leases = new Map<string, Lease>();
  readonly batches = new Map<number, CallBatch>();
  readonly spent = new Map<string, number>();
  readonly revoked = new Map<string, { until: number; reason: "left" | "moved" }>();
  readonly arrivals = new Map<number, ArrivalBin>();
  counters: Counters | null = null;
  rowsWritten = 0;

  apply(c: LedgerChanges): void {
    const put = <K, V>(table: Map<K, V>, changes: Map<K, V | null>) => {
      for (const [k, v] of changes) {
        // Deleting a row that was never written writes nothing.
        if (v === null) this.rowsWritten += table.delete(k) ? 1 : 0;
        else {
          table.set(k, v);
          this.rowsWritten += 1;
        }
      }
    };
    put(this.leases, c.leases);
    put(this.arrivals, c.arrivals);
    // The batches are one row, written when any changed.
    if (c.batches.size > 0) this.rowsWritten += 1;
    for (const [id, b] of c.batches) {
      if (b === null) this.batches.delete(id);
      else this.batches.set(id, b);
    }
    for (const [sub, until] of c.spent) this.spent.set(sub, until);
    for (const [sid, r] of c.revoked) this.revoked.set(sid, r);
    if (c.prunedBefore !== null) {
      for (const [sub, until] of this.spent) if (until <= c.prunedBefore) this.spent.delete(sub);
      for (const [sid, r] of this.revoked) if (r.until <= c.prunedBefore) this.revoked.delete(sid);
    }
    if (c.counters !== null) {
      this.counters = c.counters;
      this.rowsWritten += 1;
    }
  }

  /** A store loaded from what was committed (a restart). */
  load(): MemoryLedgerStore {
    const store = new MemoryLedgerStore();
    if (this.counters !== null) store.saveCounters(this.counters);
    for (const l of [...this.leases.values()].sort((a, b) => (a.leftAt ?? 0) - (b.leftAt ?? 0))) store.putLease(l);
    for (const b of [...this.batches.values()].sort((a, b) => a.id - b.id)) store.restoreBatch(b);
    for (const [sub, until] of this.spent) store.markSpent(sub, until);
    for (const [sid, r] of this.revoked) store.revoke(sid, r.until, r.reason);
    store.bins = [...this.arrivals.values()].sort((a, b) => a.bin - b.bin);
    return store;
  }
}

function run() {
  const store = new WriteBehindLedgerStore();
  let ids = 0;
  const deps = { newId: () => `sid-${++ids}` };
  const ledger = new Ledger(store, config, timings, deps, T0);
  const db = new Database();
  const commit = () => db.apply(store.takeChanges());
  return { store, ledger, deps, db, commit };
}

describe("a write-behind ledger store", () => {
  it("writes a row changed many times between two commits once", () => {
    const { store, ledger, db, commit } = run();
    for (let i = 0; i < 20; i++) ledger.join(`l${i}`, T0 + i);
    expect(store.dirty).toBe(true);
    commit();
    expect(store.dirty).toBe(false);
    // Twenty joins in one second: three leases, the batches' row, one arrival bin (the 17 not called), the counters.
    expect(db.leases.size).toBe(3);
    expect(db.arrivals.size).toBe(1);
    expect([...db.arrivals.values()][0]).toMatchObject({ firstSeq: 4, count: 17 });
    expect(db.rowsWritten).toBe(3 + 1 + 1 + 1);
  });

  it("writes a row as it is at the commit, whatever it went through before", () => {
    const { store, ledger, db, commit } = run();
    ledger.join("a", T0);
    // a's arrival bin is pruned once a is called, at b's join: b's arrival starts a new one.
    ledger.join("b", T0 + 100);
    const c = store.takeChanges();
    // The second's row is written once, as it is at the commit: b alone.
    expect([...c.arrivals.values()]).toEqual([{ bin: T0 / 1000, firstSeq: 2, count: 1 }]);
    db.apply(c);
    expect([...db.arrivals.values()]).toEqual([{ bin: T0 / 1000, firstSeq: 2, count: 1 }]);
    // Two leases, the batches' row, the arrival bin, the counters.
    expect(db.rowsWritten).toBe(2 + 1 + 1 + 1);
    commit();
    expect(db.rowsWritten).toBe(5);
  });

  it("restarts from its commits with the same counters, seats, places and revocations", () => {
    const { store, ledger, deps, db, commit } = run();
    const leases: Lease[] = [];
    for (let i = 0; i < 6; i++) {
      const out = ledger.join(`l${i}`, T0 + i * 10);
      if (out.claim.kind === "admitted") leases.push(out.claim.lease);
    }
    commit();
    ledger.leave(leases[0]!.sid, leases[0]!.sub, T0 + 1_000);
    ledger.renew(leases[1]!.sid, leases[1]!.sub, T0 + 1_100);
    ledger.confirmRevoked([leases[0]!.sid], T0 + 6_000);
    ledger.claim("l3", 4, T0 + 6_100);
    commit();

    const restarted = db.load();
    const next = new Ledger(restarted, config, timings, deps, T0 + 6_200);
    expect(next.counters).toEqual(ledger.counters);
    expect(restarted.leases.size).toBe(ledger.counters.live);
    expect(restarted.leaseBySid(leases[1]!.sid)?.expiresAt).toBe(T0 + 1_100 + timings.passTtlMs);
    expect(restarted.revocation(leases[0]!.sid, T0 + 6_200)).toBe("left");
    expect(restarted.isSpent(leases[0]!.sub, T0 + 6_200)).toBe(true);
    expect(restarted.arrivalBins(0)).toEqual(store.arrivalBins(0));
    // The line goes on where it was: the next arrival is numbered after the last.
    expect(next.join("late", T0 + 6_300).seq).toBe(7);
  });
});

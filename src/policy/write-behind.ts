/**
 * A ledger store that keeps its state in memory and hands out what changed
 * since the last commit: the Durable Object writes those rows to SQLite in
 * one transaction (group commit), and the simulator counts them.
 *
 * Many operations touch the same few rows (the counters, the current
 * second's arrival bin, the batches being claimed from): written once per
 * commit rather than once per operation, they cost one row write each per
 * commit. A row made and deleted between two commits (an arrival bin whose
 * listeners were all called at once) is never written at all. The rows of
 * one listener (its lease, its spent ticket, its revoked pass) are written
 * as often as before.
 *
 * Nothing is answered before its commit (the Durable Object holds every
 * answer until then), so a restart loses no answered change.
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { Lease } from "./lease.ts";
import type { CallBatch, Counters } from "./ledger-state.ts";
import { MemoryLedgerStore } from "./memory-store.ts";
import type { ShardLocal } from "./shard.ts";

/** The rows changed since the last commit, by table (null: the row goes). */
export interface LedgerChanges {
  leases: Map<string, Lease | null>;
  batches: Map<number, CallBatch | null>;
  /** Spent tickets: sub → until. */
  spent: Map<string, number>;
  /** Revoked passes: sid → until and why. */
  revoked: Map<string, { until: number; reason: "left" | "moved" }>;
  /** Arrival bins by second. */
  arrivals: Map<number, ArrivalBin | null>;
  counters: Counters | null;
  local: ShardLocal | null;
  /** Spent tickets and revoked passes with `until` at or before this go (null: no prune since). */
  prunedBefore: number | null;
}

/** The tables a change is in (the simulator weighs them). */
export type ChangedTable = "leases" | "batches" | "spent" | "revoked" | "arrivals" | "counters" | "local";

function noChanges(): LedgerChanges {
  return {
    leases: new Map(),
    batches: new Map(),
    spent: new Map(),
    revoked: new Map(),
    arrivals: new Map(),
    counters: null,
    local: null,
    prunedBefore: null,
  };
}

export class WriteBehindLedgerStore extends MemoryLedgerStore {
  #changes = noChanges();
  #dirty = false;
  /** Off while a store loads what it already holds. */
  protected tracking = true;

  /** Has anything changed since the last commit? */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** What changed since the last commit; the next commit starts from nothing. */
  takeChanges(): LedgerChanges {
    const out = this.#changes;
    this.#changes = noChanges();
    this.#dirty = false;
    return out;
  }

  /** A row of `table` changed (the simulator notes how much it weighs). */
  protected touched(_table: ChangedTable, _key: string | number): void {}

  #note(table: ChangedTable, key: string | number): boolean {
    if (!this.tracking) return false;
    this.#dirty = true;
    this.touched(table, key);
    return true;
  }

  override saveCounters(counters: Counters): void {
    super.saveCounters(counters);
    if (this.#note("counters", 0)) this.#changes.counters = super.loadCounters();
  }
  override saveLocal(local: ShardLocal): void {
    super.saveLocal(local);
    if (this.#note("local", 0)) this.#changes.local = super.loadLocal();
  }
  override putLease(lease: Lease): void {
    super.putLease(lease);
    if (this.#note("leases", lease.sid)) this.#changes.leases.set(lease.sid, { ...lease });
  }
  override deleteLease(sid: string): void {
    super.deleteLease(sid);
    if (this.#note("leases", sid)) this.#changes.leases.set(sid, null);
  }
  override restoreBatch(batch: CallBatch): void {
    super.restoreBatch(batch);
    if (this.#note("batches", batch.id)) this.#changes.batches.set(batch.id, { ...batch });
  }
  override setBatchOutstanding(id: number, outstanding: number): void {
    super.setBatchOutstanding(id, outstanding);
    const b = this.batches.get(id);
    if (b !== undefined && this.#note("batches", id)) this.#changes.batches.set(id, { ...b });
  }
  override deleteBatch(id: number): void {
    super.deleteBatch(id);
    if (this.#note("batches", id)) this.#changes.batches.set(id, null);
  }
  override markSpent(sub: string, until: number): void {
    super.markSpent(sub, until);
    if (this.#note("spent", sub)) this.#changes.spent.set(sub, until);
  }
  override pruneSpent(now: number): void {
    super.pruneSpent(now);
    this.#pruned(now);
  }
  override revoke(sid: string, until: number, reason: "left" | "moved"): void {
    super.revoke(sid, until, reason);
    if (this.#note("revoked", sid)) this.#changes.revoked.set(sid, { until, reason });
  }
  override pruneRevoked(now: number): void {
    super.pruneRevoked(now);
    this.#pruned(now);
  }
  override recordArrival(bin: number, seq: number): void {
    super.recordArrival(bin, seq);
    const last = this.bins[this.bins.length - 1]!;
    if (this.#note("arrivals", bin)) this.#changes.arrivals.set(bin, { ...last });
  }
  override pruneArrivals(cursor: number): void {
    // The oldest bins whose every arrival has been called go (as the memory store drops them).
    let drop = 0;
    while (drop < this.bins.length && this.bins[drop]!.firstSeq + this.bins[drop]!.count - 1 <= cursor) drop++;
    const gone = this.bins.slice(0, drop);
    super.pruneArrivals(cursor);
    for (const b of gone) if (this.#note("arrivals", b.bin)) this.#changes.arrivals.set(b.bin, null);
  }

  /** Pruning is one statement at the commit (no row is written unless it deletes one). */
  #pruned(now: number): void {
    if (!this.tracking) return;
    const before = this.#changes.prunedBefore;
    this.#changes.prunedBefore = before === null ? now : Math.max(before, now);
  }
}

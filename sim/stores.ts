/**
 * The in-memory stores of src/admission, counting the SQLite rows the
 * Durable Objects' stores would read and write for the same calls (for the
 * cost model). One row per row-sized call; a query counts the rows it
 * returns (at least one, for the index lookup); an insert into a table that
 * is pruned later (spent listeners, revoked passes, published revocations)
 * counts its delete too.
 */
import type { ArrivalBin } from "../src/policy/arrivals.ts";
import type { CoordinatorCore, ShardRecord } from "../src/policy/coordinator-state.ts";
import { CLOCK_SKEW_MS } from "../src/policy/pass-trust.ts";
import type { Publication } from "../src/policy/revocations.ts";
import type { Lease } from "../src/policy/lease.ts";
import type { CallBatch, Counters } from "../src/policy/ledger-state.ts";
import { MemoryCoordinatorStore, MemoryLedgerStore } from "../src/policy/memory-store.ts";
import type { ShardLocal } from "../src/policy/shard.ts";

export interface Rows {
  read: number;
  written: number;
  /** Rows counted per row touched (the cohort size while a listener's request runs, else 1). */
  weight: number;
}

export class CountingLedgerStore extends MemoryLedgerStore {
  readonly rows: Rows;
  /**
   * Ended leases (given back) whose seat was freed since the simulator last
   * looked: on confirmation, or at expiry (`expiresAt` at or before the
   * operation's time). The simulator drains it after every operation.
   */
  readonly freedEnded: Lease[] = [];

  constructor(rows: Rows) {
    super();
    this.rows = rows;
  }

  /** The listener's lease, looked up by the simulator itself (not counted). */
  peekLease(sub: string): Lease | null {
    return super.leaseBySub(sub);
  }

  override loadCounters(): Counters | null {
    this.rows.read += this.rows.weight;
    return super.loadCounters();
  }
  override saveCounters(counters: Counters): void {
    this.rows.written += this.rows.weight;
    super.saveCounters(counters);
  }
  override leaseBySub(sub: string): Lease | null {
    this.rows.read += this.rows.weight;
    return super.leaseBySub(sub);
  }
  override leaseBySid(sid: string): Lease | null {
    this.rows.read += this.rows.weight;
    return super.leaseBySid(sid);
  }
  override putLease(lease: Lease): void {
    this.rows.written += this.rows.weight;
    super.putLease(lease);
  }
  override deleteLease(sid: string): void {
    this.rows.written += this.rows.weight;
    const lease = super.leaseBySid(sid);
    if (lease !== null && lease.leftAt !== null) this.freedEnded.push(lease);
    super.deleteLease(sid);
  }
  override expiredLeases(now: number, limit: number): Lease[] {
    const due = super.expiredLeases(now, limit);
    this.rows.read += Math.max(1, due.length) * this.rows.weight;
    return due;
  }
  override earliestLeaseExpiry(): number | null {
    this.rows.read += this.rows.weight;
    return super.earliestLeaseExpiry();
  }
  override batchContaining(seq: number): CallBatch | null {
    this.rows.read += this.rows.weight;
    return super.batchContaining(seq);
  }
  override addBatch(batch: Omit<CallBatch, "id">): void {
    this.rows.written += this.rows.weight;
    super.addBatch(batch);
  }
  override setBatchOutstanding(id: number, outstanding: number): void {
    this.rows.written += this.rows.weight;
    super.setBatchOutstanding(id, outstanding);
  }
  override deleteBatch(id: number): void {
    this.rows.written += this.rows.weight;
    super.deleteBatch(id);
  }
  override expiredBatches(now: number, limit: number): CallBatch[] {
    const due = super.expiredBatches(now, limit);
    this.rows.read += Math.max(1, due.length) * this.rows.weight;
    return due;
  }
  override earliestBatchExpiry(): number | null {
    this.rows.read += this.rows.weight;
    return super.earliestBatchExpiry();
  }
  override markSpent(sub: string, until: number): void {
    this.rows.written += 2 * this.rows.weight;
    super.markSpent(sub, until);
  }
  override isSpent(sub: string, now: number): boolean {
    this.rows.read += this.rows.weight;
    return super.isSpent(sub, now);
  }
  override pruneSpent(now: number): void {
    this.rows.read += this.rows.weight;
    super.pruneSpent(now);
  }
  override revoke(sid: string, until: number, reason: "left" | "moved"): void {
    this.rows.written += 2 * this.rows.weight;
    super.revoke(sid, until, reason);
  }
  override revocation(sid: string, now: number): "left" | "moved" | null {
    this.rows.read += this.rows.weight;
    return super.revocation(sid, now);
  }
  override endingLeases(limit: number): Lease[] {
    const leases = super.endingLeases(limit);
    this.rows.read += Math.max(1, leases.length) * this.rows.weight;
    return leases;
  }
  override endingCount(): number {
    // A count over the index of ended leases reads each of them.
    const n = super.endingCount();
    this.rows.read += Math.max(1, n) * this.rows.weight;
    return n;
  }
  override revokedSids(now: number, limit: number): string[] {
    const sids = super.revokedSids(now, limit);
    this.rows.read += Math.max(1, sids.length) * this.rows.weight;
    return sids;
  }
  override pruneRevoked(now: number): void {
    this.rows.read += this.rows.weight;
    super.pruneRevoked(now);
  }
  override recordArrival(bin: number, seq: number): void {
    this.rows.written += this.rows.weight;
    super.recordArrival(bin, seq);
  }
  override arrivalBins(fromBin: number): ArrivalBin[] {
    const bins = super.arrivalBins(fromBin);
    this.rows.read += Math.max(1, bins.length) * this.rows.weight;
    return bins;
  }
  override pruneArrivals(cursor: number): void {
    const before = this.bins.length;
    super.pruneArrivals(cursor);
    this.rows.read += this.rows.weight;
    this.rows.written += (before - this.bins.length) * this.rows.weight;
  }
  override saveLocal(local: ShardLocal): void {
    this.rows.written += this.rows.weight;
    super.saveLocal(local);
  }
}

export class CountingCoordinatorStore extends MemoryCoordinatorStore {
  readonly rows: Rows;
  /** The coordinator's published revocations as written through this store: lease id → `until`. */
  readonly published = new Map<string, number>();

  constructor(rows: Rows) {
    super();
    this.rows = rows;
  }

  override saveCore(core: CoordinatorCore): void {
    this.rows.written += 1;
    super.saveCore(core);
  }
  override saveShard(record: ShardRecord): void {
    this.rows.written += 1;
    super.saveShard(record);
  }
  override saveBins(shard: number, bins: ArrivalBin[]): void {
    this.rows.written += bins.length;
    super.saveBins(shard, bins);
  }
  override dropCalledBins(shard: number, through: number): void {
    this.rows.read += 1;
    this.rows.written += 1;
    super.dropCalledBins(shard, through);
  }
  override addPublications(publications: Publication[]): void {
    // Each is deleted again once its passes have expired.
    this.rows.written += 2 * publications.length;
    for (const p of publications) this.published.set(p.sid, p.until);
    super.addPublications(publications);
  }
  override dropPublications(before: number): void {
    this.rows.read += 1;
    for (const [sid, until] of this.published) if (until <= before) this.published.delete(sid);
    super.dropPublications(before);
  }

  /** Revocations the coordinator lists at `now` (it drops one once `until + CLOCK_SKEW_MS` has passed). */
  listedAt(now: number): number {
    let n = 0;
    for (const until of this.published.values()) if (until + CLOCK_SKEW_MS > now) n++;
    return n;
  }
}

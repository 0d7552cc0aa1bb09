/**
 * The in-memory stores of src/policy, counting the SQLite rows the Durable
 * Objects' stores would read and write for the same calls (for the cost
 * model). Reads: one row per row-sized call; a query counts the rows it
 * returns (at least one, for the index lookup). Writes: a shard writes its
 * changed rows at its group commits (write-behind.ts, at most one per
 * COMMIT_EVERY_MS), so a row counts once per commit that changed it, and a
 * row made and deleted between two commits not at all; the coordinator
 * writes at every call. An insert into a table that is pruned later (spent
 * listeners, revoked passes, published revocations) counts its delete too.
 */
import type { ArrivalBin } from "../src/policy/arrivals.ts";
import type { CoordinatorCore, ShardRecord } from "../src/policy/coordinator-state.ts";
import { CLOCK_SKEW_MS } from "../src/policy/pass-trust.ts";
import type { Publication } from "../src/policy/revocations.ts";
import type { Lease } from "../src/policy/lease.ts";
import type { CallBatch, Counters } from "../src/policy/ledger-state.ts";
import { MemoryCoordinatorStore } from "../src/policy/memory-store.ts";
import { type ChangedTable, WriteBehindLedgerStore } from "../src/policy/write-behind.ts";

export interface Rows {
  read: number;
  written: number;
  /**
   * Rows counted per row of a listener's own (lease, spent ticket, revoked
   * pass) touched: the cohort size while a listener's request runs, else 1.
   * Rows shared by every listener of a shard (counters, arrival bins, the
   * row of its batches, its local state) count 1: one simulated listener or
   * ten, the shard writes them once per commit.
   */
  weight: number;
}

/** Tables whose rows are a listener's own: they count for its cohort. */
const OWN_ROWS: ReadonlySet<ChangedTable> = new Set(["leases", "spent", "revoked"]);

export class CountingLedgerStore extends WriteBehindLedgerStore {
  readonly rows: Rows;
  /**
   * Ended leases (given back) whose seat was freed since the simulator last
   * looked: on confirmation, or at expiry (`expiresAt` at or before the
   * operation's time). The simulator drains it after every operation.
   */
  readonly freedEnded: Lease[] = [];
  /** The weight of each row changed since the last commit, by table and key. */
  readonly #weights = new Map<string, number>();
  /** Leases and arrival bins that are in the database. */
  readonly #written = new Set<string>();
  /** When the last commit ran (ms; null: none yet), and when the next is due (null: nothing to write). */
  lastCommit: number | null = null;
  commitDue: number | null = null;

  constructor(rows: Rows) {
    super();
    this.rows = rows;
  }

  protected override touched(table: ChangedTable, key: string | number): void {
    const k = `${table}:${key}`;
    const w = OWN_ROWS.has(table) ? this.rows.weight : 1;
    this.#weights.set(k, Math.max(w, this.#weights.get(k) ?? 0));
  }

  /**
   * The group commit: count the rows it writes. An upsert is a row; a delete
   * is a row when the row was written before; a spent ticket or a revoked
   * pass counts its later prune too.
   */
  commit(): void {
    const c = this.takeChanges();
    const weights = this.#weights;
    const count = (table: ChangedTable, key: string | number, present: boolean, perRow = 1) => {
      const k = `${table}:${key}`;
      const w = weights.get(k) ?? 1;
      if (present) {
        this.rows.written += perRow * w;
        this.#written.add(k);
      } else if (this.#written.delete(k)) this.rows.written += w;
    };
    for (const [sid, l] of c.leases) count("leases", sid, l !== null);
    // The batches being claimed are one row, written when any of them changed.
    if (c.batches.size > 0) this.rows.written += 1;
    for (const [bin, b] of c.arrivals) count("arrivals", bin, b !== null);
    for (const sub of c.spent.keys()) this.rows.written += 2 * (weights.get(`spent:${sub}`) ?? 1);
    for (const sid of c.revoked.keys()) this.rows.written += 2 * (weights.get(`revoked:${sid}`) ?? 1);
    if (c.counters !== null) this.rows.written += 1;
    if (c.local !== null) this.rows.written += 1;
    weights.clear();
  }

  /** The listener's lease, looked up by the simulator itself (not counted). */
  peekLease(sub: string): Lease | null {
    return super.leaseBySub(sub);
  }

  override loadCounters(): Counters | null {
    this.rows.read += this.rows.weight;
    return super.loadCounters();
  }
  override leaseBySub(sub: string): Lease | null {
    this.rows.read += this.rows.weight;
    return super.leaseBySub(sub);
  }
  override leaseBySid(sid: string): Lease | null {
    this.rows.read += this.rows.weight;
    return super.leaseBySid(sid);
  }
  override deleteLease(sid: string): void {
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
  override expiredBatches(now: number, limit: number): CallBatch[] {
    const due = super.expiredBatches(now, limit);
    this.rows.read += Math.max(1, due.length) * this.rows.weight;
    return due;
  }
  override earliestBatchExpiry(): number | null {
    this.rows.read += this.rows.weight;
    return super.earliestBatchExpiry();
  }
  override isSpent(sub: string, now: number): boolean {
    this.rows.read += this.rows.weight;
    return super.isSpent(sub, now);
  }
  override pruneSpent(now: number): void {
    this.rows.read += this.rows.weight;
    super.pruneSpent(now);
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
  override arrivalBins(fromBin: number): ArrivalBin[] {
    const bins = super.arrivalBins(fromBin);
    this.rows.read += Math.max(1, bins.length) * this.rows.weight;
    return bins;
  }
  override pruneArrivals(cursor: number): void {
    this.rows.read += this.rows.weight;
    super.pruneArrivals(cursor);
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

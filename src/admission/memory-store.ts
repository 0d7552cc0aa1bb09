/**
 * An in-memory LedgerStore: what the tests and the simulator run the ledger
 * on. Same contract as the SQLite store of the Durable Object.
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { CoordinatorCore, CoordinatorStore, ShardRecord } from "./coordinator.ts";
import type { CallBatch, Counters, Lease, LedgerStore } from "./ledger.ts";
import type { ShardLocal, ShardLocalStore } from "./shard.ts";

export class MemoryLedgerStore implements LedgerStore, ShardLocalStore {
  #local: ShardLocal | null = null;
  #counters: Counters | null = null;
  readonly leases = new Map<string, Lease>();
  readonly #bySub = new Map<string, string>();
  readonly batches = new Map<number, CallBatch>();
  readonly #spent = new Map<string, number>();
  readonly revoked = new Map<string, number>();
  /** Arrival bins, oldest first. */
  bins: ArrivalBin[] = [];
  #nextBatchId = 1;

  loadCounters(): Counters | null {
    return this.#counters === null ? null : structuredClone(this.#counters);
  }
  saveCounters(counters: Counters): void {
    this.#counters = structuredClone(counters);
  }
  leaseBySub(sub: string): Lease | null {
    const sid = this.#bySub.get(sub);
    return sid === undefined ? null : (this.leases.get(sid) ?? null);
  }
  leaseBySid(sid: string): Lease | null {
    return this.leases.get(sid) ?? null;
  }
  putLease(lease: Lease): void {
    this.leases.set(lease.sid, { ...lease });
    this.#bySub.set(lease.sub, lease.sid);
  }
  deleteLease(sid: string): void {
    const lease = this.leases.get(sid);
    if (lease === undefined) return;
    this.leases.delete(sid);
    this.#bySub.delete(lease.sub);
  }
  expiredLeases(now: number, limit: number): Lease[] {
    return [...this.leases.values()]
      .filter((l) => l.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .slice(0, limit);
  }
  earliestLeaseExpiry(): number | null {
    let min: number | null = null;
    for (const l of this.leases.values()) if (min === null || l.expiresAt < min) min = l.expiresAt;
    return min;
  }
  batchContaining(seq: number): CallBatch | null {
    for (const b of this.batches.values()) if (b.fromSeq <= seq && seq <= b.toSeq) return { ...b };
    return null;
  }
  addBatch(batch: Omit<CallBatch, "id">): void {
    const id = this.#nextBatchId++;
    this.batches.set(id, { ...batch, id });
  }
  setBatchOutstanding(id: number, outstanding: number): void {
    const b = this.batches.get(id);
    if (b !== undefined) b.outstanding = outstanding;
  }
  deleteBatch(id: number): void {
    this.batches.delete(id);
  }
  expiredBatches(now: number, limit: number): CallBatch[] {
    return [...this.batches.values()].filter((b) => b.expiresAt <= now).slice(0, limit);
  }
  earliestBatchExpiry(): number | null {
    let min: number | null = null;
    for (const b of this.batches.values()) if (min === null || b.expiresAt < min) min = b.expiresAt;
    return min;
  }
  markSpent(sub: string, until: number): void {
    this.#spent.set(sub, until);
  }
  isSpent(sub: string, now: number): boolean {
    const until = this.#spent.get(sub);
    return until !== undefined && until > now;
  }
  pruneSpent(now: number): void {
    for (const [sub, until] of this.#spent) if (until <= now) this.#spent.delete(sub);
  }
  revoke(sid: string, until: number): void {
    this.revoked.set(sid, until);
  }
  revokedSids(now: number, limit: number): string[] {
    return [...this.revoked]
      .filter(([, until]) => until > now)
      .slice(0, limit)
      .map(([sid]) => sid);
  }
  pruneRevoked(now: number): void {
    for (const [sid, until] of this.revoked) if (until <= now) this.revoked.delete(sid);
  }
  recordArrival(bin: number, seq: number): void {
    const last = this.bins[this.bins.length - 1];
    if (last !== undefined && last.bin === bin) last.count += 1;
    else this.bins.push({ bin, firstSeq: seq, count: 1 });
  }
  arrivalBins(fromBin: number): ArrivalBin[] {
    return this.bins.filter((b) => b.bin >= fromBin).map((b) => ({ ...b }));
  }
  pruneArrivals(cursor: number): void {
    let drop = 0;
    while (drop < this.bins.length && this.bins[drop]!.firstSeq + this.bins[drop]!.count - 1 <= cursor) drop++;
    if (drop > 0) this.bins.splice(0, drop);
  }
  loadLocal(): ShardLocal | null {
    return this.#local === null ? null : { ...this.#local };
  }
  saveLocal(local: ShardLocal): void {
    this.#local = { ...local };
  }
}

/** An in-memory CoordinatorStore: keeps copies, so a new Coordinator over it models a restart. */
export class MemoryCoordinatorStore implements CoordinatorStore {
  #core: CoordinatorCore | null = null;
  readonly #shards = new Map<number, ShardRecord>();
  readonly #bins = new Map<number, Map<number, ArrivalBin>>();

  loadCore(): CoordinatorCore | null {
    return this.#core === null ? null : structuredClone(this.#core);
  }
  saveCore(core: CoordinatorCore): void {
    this.#core = structuredClone(core);
  }
  loadShards(): ShardRecord[] {
    return [...this.#shards.values()].map((r) => structuredClone(r));
  }
  saveShard(record: ShardRecord): void {
    this.#shards.set(record.shard, structuredClone(record));
  }
  loadBins(): { shard: number; bins: ArrivalBin[] }[] {
    return [...this.#bins].map(([shard, m]) => ({ shard, bins: [...m.values()].map((b) => ({ ...b })) }));
  }
  saveBins(shard: number, bins: ArrivalBin[]): void {
    let m = this.#bins.get(shard);
    if (m === undefined) {
      m = new Map();
      this.#bins.set(shard, m);
    }
    for (const b of bins) m.set(b.bin, { ...b });
  }
  dropCalledBins(shard: number, through: number): void {
    const m = this.#bins.get(shard);
    if (m === undefined) return;
    for (const [bin, b] of m) if (b.firstSeq + b.count - 1 <= through) m.delete(bin);
  }
}

/**
 * An in-memory LedgerStore: what the tests and the simulator run the ledger
 * on. Same contract as the SQLite store of the Durable Object.
 *
 * Indexed like the SQLite tables are, so that every call the ledger makes on
 * each operation (expiry checks, pruning, batch lookup) costs about O(log n)
 * rather than a scan of every lease: the simulator runs millions of
 * listeners on it. Expiry indexes are min-heaps whose entries may go stale
 * (a renewed lease, a deleted batch); a stale entry is recognised against the
 * maps, which stay the source of truth, and dropped when it reaches the top.
 */
import type { ArrivalBin } from "./arrivals.ts";
import type { CoordinatorCore, CoordinatorStore, ShardRecord } from "./coordinator-state.ts";
import type { Publication } from "./revocations.ts";
import type { Lease } from "./lease.ts";
import type { CallBatch, Counters, LedgerStore } from "./ledger-state.ts";
import type { ShardLocal, ShardLocalStore } from "./shard.ts";

/** A binary min-heap of (key, value) pairs. */
class MinHeap<V> {
  readonly #keys: number[] = [];
  readonly #vals: V[] = [];

  get size(): number {
    return this.#keys.length;
  }
  topKey(): number | undefined {
    return this.#keys[0];
  }
  topValue(): V | undefined {
    return this.#vals[0];
  }
  push(key: number, val: V): void {
    const keys = this.#keys;
    const vals = this.#vals;
    let i = keys.length;
    keys.push(key);
    vals.push(val);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      vals[i] = vals[parent]!;
      i = parent;
    }
    keys[i] = key;
    vals[i] = val;
  }
  pop(): void {
    const keys = this.#keys;
    const vals = this.#vals;
    const key = keys.pop()!;
    const val = vals.pop()!;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && keys[r]! < keys[l]! ? r : l;
      if (keys[c]! >= key) break;
      keys[i] = keys[c]!;
      vals[i] = vals[c]!;
      i = c;
    }
    keys[i] = key;
    vals[i] = val;
  }
}

/** A deep copy of plain data (what structuredClone gives for it, at a fraction of the cost). */
function copyData<T>(value: T): T {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out[i] = typeof v === "object" && v !== null ? copyData(v) : v;
    }
    return out as T;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = copyData(v);
  return out as T;
}

/** A copy of the counters (what structuredClone would give, for this shape, much faster). */
function copyCounters(c: Counters): Counters {
  return { ...c, bucket: { ...c.bucket }, flow: { binStart: c.flow.binStart, bins: c.flow.bins.slice() } };
}

export class MemoryLedgerStore implements LedgerStore, ShardLocalStore {
  #local: ShardLocal | null = null;
  #counters: Counters | null = null;
  readonly leases = new Map<string, Lease>();
  readonly #bySub = new Map<string, string>();
  /** Lease ids by expiry (an entry is stale unless the lease still has that expiry). */
  readonly #leaseExpiry = new MinHeap<string>();
  readonly batches = new Map<number, CallBatch>();
  /** Batches by `toSeq`, deleted ones dropped lazily (from `#batchHead` on). */
  #batchOrder: CallBatch[] = [];
  #batchHead = 0;
  readonly #batchExpiry = new MinHeap<number>();
  readonly #spent = new Map<string, number>();
  readonly #spentExpiry = new MinHeap<string>();
  readonly revoked = new Map<string, number>();
  readonly #revokedFor = new Map<string, "left" | "moved">();
  /** Ended leases still holding their seat, in the order they ended. */
  readonly #ending = new Map<string, number>();
  readonly #revokedExpiry = new MinHeap<string>();
  /** The unexpired revoked ids while none has expired, per limit asked for. */
  #revokedCache: { limit: number; sids: string[] } | null = null;
  /** Arrival bins, oldest first. */
  bins: ArrivalBin[] = [];
  #nextBatchId = 1;

  loadCounters(): Counters | null {
    return this.#counters === null ? null : copyCounters(this.#counters);
  }
  saveCounters(counters: Counters): void {
    this.#counters = copyCounters(counters);
  }
  leaseBySub(sub: string): Lease | null {
    const sid = this.#bySub.get(sub);
    return sid === undefined ? null : (this.leases.get(sid) ?? null);
  }
  leaseBySid(sid: string): Lease | null {
    return this.leases.get(sid) ?? null;
  }
  putLease(lease: Lease): void {
    const before = this.leases.get(lease.sid);
    this.leases.set(lease.sid, { ...lease });
    if (lease.leftAt === null) this.#ending.delete(lease.sid);
    else if (!this.#ending.has(lease.sid)) this.#ending.set(lease.sid, lease.leftAt);
    if (before?.sub !== lease.sub) this.#bySub.set(lease.sub, lease.sid);
    if (before === undefined || before.expiresAt !== lease.expiresAt)
      this.#leaseExpiry.push(lease.expiresAt, lease.sid);
  }
  deleteLease(sid: string): void {
    const lease = this.leases.get(sid);
    if (lease === undefined) return;
    this.leases.delete(sid);
    this.#ending.delete(sid);
    if (this.#bySub.get(lease.sub) === sid) this.#bySub.delete(lease.sub);
  }
  endingCount(): number {
    return this.#ending.size;
  }
  endingLeases(limit: number): Lease[] {
    const out: Lease[] = [];
    for (const sid of this.#ending.keys()) {
      if (out.length >= limit) break;
      const lease = this.leases.get(sid);
      if (lease !== undefined) out.push({ ...lease });
    }
    return out;
  }
  originLeases(limit: number): Lease[] {
    const out: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (out.length >= limit) break;
      if (lease.originClient != null) out.push({ ...lease });
    }
    return out;
  }
  #liveLeaseTop(): void {
    const heap = this.#leaseExpiry;
    while (heap.size > 0 && this.leases.get(heap.topValue()!)?.expiresAt !== heap.topKey()) heap.pop();
  }
  expiredLeases(now: number, limit: number): Lease[] {
    const heap = this.#leaseExpiry;
    const due: Lease[] = [];
    // Every lease has an entry at its expiry: none due when no entry is.
    if (heap.size === 0 || heap.topKey()! > now) return due;
    const seen = new Set<string>();
    while (due.length < limit && heap.size > 0 && heap.topKey()! <= now) {
      const key = heap.topKey()!;
      const sid = heap.topValue()!;
      heap.pop();
      const lease = this.leases.get(sid);
      if (lease === undefined || lease.expiresAt !== key || seen.has(sid)) continue;
      seen.add(sid);
      due.push(lease);
    }
    // A query changes nothing: the due leases stay indexed until deleted.
    for (const lease of due) heap.push(lease.expiresAt, lease.sid);
    return due;
  }
  earliestLeaseExpiry(): number | null {
    this.#liveLeaseTop();
    return this.#leaseExpiry.topKey() ?? null;
  }
  batchContaining(seq: number): CallBatch | null {
    const order = this.#batchOrder;
    let lo = this.#batchHead;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order[mid]!.toSeq < seq) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < order.length; i++) {
      const b = order[i]!;
      if (this.batches.get(b.id) !== b) continue;
      return b.fromSeq <= seq ? { ...b } : null;
    }
    return null;
  }
  addBatch(batch: Omit<CallBatch, "id">): void {
    this.restoreBatch({ ...batch, id: this.#nextBatchId });
  }
  /** A batch with its own id (loading a store that keeps them); later batches get higher ids. */
  restoreBatch(batch: CallBatch): void {
    const id = batch.id;
    this.#nextBatchId = Math.max(this.#nextBatchId, id + 1);
    const b = { ...batch };
    this.batches.set(id, b);
    const order = this.#batchOrder;
    const last = order[order.length - 1];
    if (last === undefined || last.toSeq <= b.toSeq) order.push(b);
    else {
      let i = order.length;
      while (i > this.#batchHead && order[i - 1]!.toSeq > b.toSeq) i--;
      order.splice(i, 0, b);
    }
    this.#batchExpiry.push(b.expiresAt, id);
  }
  setBatchOutstanding(id: number, outstanding: number): void {
    const b = this.batches.get(id);
    if (b !== undefined) b.outstanding = outstanding;
  }
  deleteBatch(id: number): void {
    this.batches.delete(id);
    const order = this.#batchOrder;
    while (this.#batchHead < order.length && !this.batches.has(order[this.#batchHead]!.id)) this.#batchHead++;
    if (this.#batchHead > 1024 && this.#batchHead * 2 > order.length) {
      this.#batchOrder = order.slice(this.#batchHead);
      this.#batchHead = 0;
    }
  }
  #liveBatchTop(): void {
    const heap = this.#batchExpiry;
    while (heap.size > 0 && !this.batches.has(heap.topValue()!)) heap.pop();
  }
  expiredBatches(now: number, limit: number): CallBatch[] {
    const heap = this.#batchExpiry;
    const due: CallBatch[] = [];
    while (due.length < limit && heap.size > 0 && heap.topKey()! <= now) {
      const b = this.batches.get(heap.topValue()!);
      heap.pop();
      if (b !== undefined) due.push({ ...b });
    }
    for (const b of due) heap.push(b.expiresAt, b.id);
    return due;
  }
  earliestBatchExpiry(): number | null {
    this.#liveBatchTop();
    return this.#batchExpiry.topKey() ?? null;
  }
  markSpent(sub: string, until: number): void {
    this.#spent.set(sub, until);
    this.#spentExpiry.push(until, sub);
  }
  isSpent(sub: string, now: number): boolean {
    const until = this.#spent.get(sub);
    return until !== undefined && until > now;
  }
  pruneSpent(now: number): void {
    const heap = this.#spentExpiry;
    while (heap.size > 0 && heap.topKey()! <= now) {
      const sub = heap.topValue()!;
      heap.pop();
      const until = this.#spent.get(sub);
      if (until !== undefined && until <= now) this.#spent.delete(sub);
    }
  }
  revocation(sid: string, now: number): "left" | "moved" | null {
    if ((this.revoked.get(sid) ?? -Infinity) <= now) return null;
    return this.#revokedFor.get(sid) ?? "left";
  }

  revoke(sid: string, until: number, reason: "left" | "moved"): void {
    this.revoked.set(sid, until);
    this.#revokedFor.set(sid, reason);
    this.#revokedExpiry.push(until, sid);
    this.#revokedCache = null;
  }
  /** The earliest expiry among revoked ids, or undefined when there are none. */
  #earliestRevoked(): number | undefined {
    const heap = this.#revokedExpiry;
    while (heap.size > 0 && this.revoked.get(heap.topValue()!) !== heap.topKey()) heap.pop();
    return heap.topKey();
  }
  revokedSids(now: number, limit: number): string[] {
    const earliest = this.#earliestRevoked();
    if (earliest === undefined) return [];
    if (earliest > now) {
      // None has expired: the answer is the first `limit` ids until one does.
      if (this.#revokedCache?.limit !== limit) {
        const sids: string[] = [];
        for (const sid of this.revoked.keys()) {
          if (sids.length >= limit) break;
          sids.push(sid);
        }
        this.#revokedCache = { limit, sids };
      }
      return this.#revokedCache.sids.slice();
    }
    return [...this.revoked]
      .filter(([, until]) => until > now)
      .slice(0, limit)
      .map(([sid]) => sid);
  }
  pruneRevoked(now: number): void {
    const heap = this.#revokedExpiry;
    while (heap.size > 0 && heap.topKey()! <= now) {
      const sid = heap.topValue()!;
      heap.pop();
      const until = this.revoked.get(sid);
      if (until !== undefined && until <= now) {
        this.revoked.delete(sid);
        this.#revokedFor.delete(sid);
        this.#revokedCache = null;
      }
    }
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
  readonly #publications = new Map<string, Publication>();

  loadPublications(): Publication[] {
    return [...this.#publications.values()].map((p) => ({ ...p }));
  }
  addPublications(publications: Publication[]): void {
    for (const p of publications) this.#publications.set(p.sid, { ...p });
  }
  dropPublications(before: number): void {
    for (const [sid, p] of this.#publications) if (p.until <= before) this.#publications.delete(sid);
  }

  loadCore(): CoordinatorCore | null {
    return this.#core === null ? null : copyData(this.#core);
  }
  saveCore(core: CoordinatorCore): void {
    this.#core = copyData(core);
  }
  loadShards(): ShardRecord[] {
    return [...this.#shards.values()].map((r) => copyData(r));
  }
  saveShard(record: ShardRecord): void {
    this.#shards.set(record.shard, copyData(record));
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

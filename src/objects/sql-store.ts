/**
 * The ledger's store on a Durable Object's SQLite database.
 *
 * Schema changes are numbered migrations applied in order at construction;
 * a shipped migration is never edited, the next one is added.
 */
import type { ArrivalBin } from "../policy/arrivals.ts";
import type { Lease } from "../policy/lease.ts";
import type { CallBatch, Counters, LedgerStore } from "../policy/ledger-state.ts";
import type { ShardLocal, ShardLocalStore } from "../policy/shard.ts";

import { MetaTable } from "./meta-table.ts";
import { runMigrations } from "./migrations.ts";

const MIGRATIONS: readonly string[] = [
  // 1: config, counters, leases, call batches, spent tickets, revoked passes
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE leases (
     sid TEXT PRIMARY KEY,
     sub TEXT NOT NULL UNIQUE,
     seq INTEGER NOT NULL,
     granted_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     left_at INTEGER
   );
   CREATE INDEX leases_expiry ON leases (expires_at);
   CREATE TABLE batches (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     from_seq INTEGER NOT NULL,
     to_seq INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     outstanding INTEGER NOT NULL
   );
   CREATE INDEX batches_range ON batches (to_seq);
   CREATE INDEX batches_expiry ON batches (expires_at);
   CREATE TABLE spent (sub TEXT PRIMARY KEY, until INTEGER NOT NULL);
   CREATE INDEX spent_until ON spent (until);
   CREATE TABLE revoked (sid TEXT PRIMARY KEY, until INTEGER NOT NULL);
   CREATE INDEX revoked_until ON revoked (until);`,
  // 2: arrivals per second, for cross-shard order
  `CREATE TABLE arrivals (bin INTEGER PRIMARY KEY, first_seq INTEGER NOT NULL, count INTEGER NOT NULL);`,
  // 3: a seat's generation (one ticket, one listener)
  `ALTER TABLE leases ADD COLUMN gen INTEGER NOT NULL DEFAULT 0;`,
  // 4: solved challenges (under-attack mode), each usable once until it expires
  `CREATE TABLE challenges (id TEXT PRIMARY KEY, until INTEGER NOT NULL);
   CREATE INDEX challenges_until ON challenges (until);`,
  // 5: why a seat ended (left, moved), a seat moved to its ticket's next claim, why a pass was revoked
  `ALTER TABLE leases ADD COLUMN ended_by TEXT;
   ALTER TABLE leases ADD COLUMN moved_from TEXT;
   CREATE INDEX leases_ended ON leases (left_at) WHERE left_at IS NOT NULL;
   ALTER TABLE revoked ADD COLUMN reason TEXT NOT NULL DEFAULT 'left';`,
  // 6: the origin's own connection on a seat (direct mode), and a seat waiting for its drop
  `ALTER TABLE leases ADD COLUMN origin_client TEXT;
   ALTER TABLE leases ADD COLUMN awaiting_drop INTEGER NOT NULL DEFAULT 0;
   CREATE INDEX leases_origin ON leases (origin_client) WHERE origin_client IS NOT NULL;`,
];

/** Bring the schema up to date; safe to call on every start. */
export function migrate(sql: SqlStorage): void {
  runMigrations(sql, MIGRATIONS);
}

type LeaseRow = {
  sid: string;
  sub: string;
  seq: number;
  granted_at: number;
  expires_at: number;
  left_at: number | null;
  gen: number | null;
  ended_by: string | null;
  moved_from: string | null;
  origin_client: string | null;
  awaiting_drop: number | null;
};
type BatchRow = { id: number; from_seq: number; to_seq: number; expires_at: number; outstanding: number };

function toLease(r: LeaseRow): Lease {
  return {
    sid: r.sid,
    sub: r.sub,
    seq: r.seq,
    grantedAt: r.granted_at,
    expiresAt: r.expires_at,
    leftAt: r.left_at,
    gen: r.gen ?? 0,
    endedBy: r.ended_by === "moved" ? "moved" : r.left_at === null ? null : "left",
    movedFrom: r.moved_from,
    originClient: r.origin_client,
    awaitingDrop: r.awaiting_drop === 1,
  };
}

function toBatch(r: BatchRow): CallBatch {
  return { id: r.id, fromSeq: r.from_seq, toSeq: r.to_seq, expiresAt: r.expires_at, outstanding: r.outstanding };
}

export class SqlLedgerStore extends MetaTable implements LedgerStore, ShardLocalStore {
  loadCounters(): Counters | null {
    return this.getMeta<Counters>("counters");
  }
  saveCounters(counters: Counters): void {
    this.setMeta("counters", counters);
  }
  leaseBySub(sub: string): Lease | null {
    const r = this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE sub = ?", sub).toArray()[0];
    return r === undefined ? null : toLease(r);
  }
  leaseBySid(sid: string): Lease | null {
    const r = this.sql.exec<LeaseRow>("SELECT * FROM leases WHERE sid = ?", sid).toArray()[0];
    return r === undefined ? null : toLease(r);
  }
  putLease(l: Lease): void {
    this.sql.exec(
      `INSERT INTO leases (sid, sub, seq, granted_at, expires_at, left_at, gen, ended_by, moved_from,
         origin_client, awaiting_drop)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET granted_at = excluded.granted_at, expires_at = excluded.expires_at,
         left_at = excluded.left_at, gen = excluded.gen, ended_by = excluded.ended_by, moved_from = excluded.moved_from,
         origin_client = excluded.origin_client, awaiting_drop = excluded.awaiting_drop`,
      l.sid,
      l.sub,
      l.seq,
      l.grantedAt,
      l.expiresAt,
      l.leftAt,
      l.gen ?? 0,
      l.leftAt === null ? null : (l.endedBy ?? "left"),
      l.movedFrom ?? null,
      l.originClient ?? null,
      l.awaitingDrop === true ? 1 : 0,
    );
  }
  deleteLease(sid: string): void {
    this.sql.exec("DELETE FROM leases WHERE sid = ?", sid);
  }
  expiredLeases(now: number, limit: number): Lease[] {
    return this.sql
      .exec<LeaseRow>("SELECT * FROM leases WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", now, limit)
      .toArray()
      .map(toLease);
  }
  earliestLeaseExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM leases").one().t;
  }
  batchContaining(seq: number): CallBatch | null {
    const r = this.sql
      .exec<BatchRow>("SELECT * FROM batches WHERE to_seq >= ? ORDER BY to_seq LIMIT 1", seq)
      .toArray()[0];
    return r === undefined || r.from_seq > seq ? null : toBatch(r);
  }
  addBatch(b: Omit<CallBatch, "id">): void {
    this.sql.exec(
      "INSERT INTO batches (from_seq, to_seq, expires_at, outstanding) VALUES (?, ?, ?, ?)",
      b.fromSeq,
      b.toSeq,
      b.expiresAt,
      b.outstanding,
    );
  }
  setBatchOutstanding(id: number, outstanding: number): void {
    this.sql.exec("UPDATE batches SET outstanding = ? WHERE id = ?", outstanding, id);
  }
  deleteBatch(id: number): void {
    this.sql.exec("DELETE FROM batches WHERE id = ?", id);
  }
  expiredBatches(now: number, limit: number): CallBatch[] {
    return this.sql
      .exec<BatchRow>("SELECT * FROM batches WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", now, limit)
      .toArray()
      .map(toBatch);
  }
  earliestBatchExpiry(): number | null {
    return this.sql.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM batches").one().t;
  }
  markSpent(sub: string, until: number): void {
    this.sql.exec(
      "INSERT INTO spent (sub, until) VALUES (?, ?) ON CONFLICT(sub) DO UPDATE SET until = excluded.until",
      sub,
      until,
    );
  }
  isSpent(sub: string, now: number): boolean {
    return this.sql.exec("SELECT 1 FROM spent WHERE sub = ? AND until > ?", sub, now).toArray().length > 0;
  }
  pruneSpent(now: number): void {
    this.sql.exec("DELETE FROM spent WHERE until <= ?", now);
  }
  /**
   * Spend a solved challenge: true the first time its id is seen, false
   * after. Ids are kept until the challenge expires (it is refused at the
   * edge after that anyway), and expired ones are pruned here.
   */
  spendChallenge(id: string, until: number, now: number): boolean {
    this.sql.exec("DELETE FROM challenges WHERE until <= ?", now);
    if (this.sql.exec("SELECT 1 FROM challenges WHERE id = ?", id).toArray().length > 0) return false;
    this.sql.exec("INSERT INTO challenges (id, until) VALUES (?, ?)", id, until);
    return true;
  }
  revoke(sid: string, until: number, reason: "left" | "moved"): void {
    this.sql.exec(
      `INSERT INTO revoked (sid, until, reason) VALUES (?, ?, ?)
       ON CONFLICT(sid) DO UPDATE SET until = excluded.until, reason = excluded.reason`,
      sid,
      until,
      reason,
    );
  }
  revokedSids(now: number, limit: number): string[] {
    return this.sql
      .exec<{ sid: string }>("SELECT sid FROM revoked WHERE until > ? LIMIT ?", now, limit)
      .toArray()
      .map((r) => r.sid);
  }
  revocation(sid: string, now: number): "left" | "moved" | null {
    const r = this.sql
      .exec<{ reason: string }>("SELECT reason FROM revoked WHERE sid = ? AND until > ?", sid, now)
      .toArray()[0];
    if (r === undefined) return null;
    return r.reason === "moved" ? "moved" : "left";
  }
  endingCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases WHERE left_at IS NOT NULL").one().n;
  }
  /** Ended leases are indexed (left_at is null for every other). */
  endingLeases(limit: number): Lease[] {
    return this.sql
      .exec<LeaseRow>("SELECT * FROM leases WHERE left_at IS NOT NULL ORDER BY left_at LIMIT ?", limit)
      .toArray()
      .map(toLease);
  }
  originLeases(limit: number): Lease[] {
    return this.sql
      .exec<LeaseRow>("SELECT * FROM leases WHERE origin_client IS NOT NULL LIMIT ?", limit)
      .toArray()
      .map(toLease);
  }
  pruneRevoked(now: number): void {
    this.sql.exec("DELETE FROM revoked WHERE until <= ?", now);
  }
  recordArrival(bin: number, seq: number): void {
    this.sql.exec(
      `INSERT INTO arrivals (bin, first_seq, count) VALUES (?, ?, 1)
       ON CONFLICT(bin) DO UPDATE SET count = count + 1`,
      bin,
      seq,
    );
  }
  arrivalBins(fromBin: number): ArrivalBin[] {
    return this.sql
      .exec<{ bin: number; first_seq: number; count: number }>(
        "SELECT bin, first_seq, count FROM arrivals WHERE bin >= ? ORDER BY bin",
        fromBin,
      )
      .toArray()
      .map((r) => ({ bin: r.bin, firstSeq: r.first_seq, count: r.count }));
  }
  pruneArrivals(cursor: number): void {
    this.sql.exec("DELETE FROM arrivals WHERE first_seq + count - 1 <= ?", cursor);
  }
  loadLocal(): ShardLocal | null {
    return this.getMeta<ShardLocal>("local");
  }
  saveLocal(local: ShardLocal): void {
    this.setMeta("local", local);
  }
}

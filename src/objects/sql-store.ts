/**
 * The ledger's store on a Durable Object's SQLite database, write-behind:
 * everything is loaded into memory when the object starts, served from
 * there, and the rows changed since the last commit are written in one
 * transaction at `commit` (write-behind.ts). The object answers a request only
 * once the commit that holds its changes is done (group-commit.ts).
 *
 * Schema changes are numbered migrations applied in order at construction;
 * a shipped migration is never edited, the next one is added.
 */
import type { Lease } from "../policy/lease.ts";
import type { CallBatch, Counters } from "../policy/ledger-state.ts";
import type { ShardLocal } from "../policy/shard.ts";
import { WriteBehindLedgerStore } from "../policy/write-behind.ts";

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

/** The meta key of the batches of calls still being claimed, all in one row. */
const BATCHES_KEY = "batches";

export class SqlLedgerStore extends WriteBehindLedgerStore {
  readonly #sql: SqlStorage;
  /** The meta table's values other than the counters and the shard's local state, by key. */
  readonly #meta = new Map<string, string>();
  readonly #metaChanged = new Set<string>();
  /** Solved challenges not yet expired: id → until. */
  readonly #challenges = new Map<string, number>();
  readonly #challengesAdded = new Map<string, number>();
  #challengesPruned: number | null = null;
  /** Batches still in their table of old (moved into one row at the next commit that changes one). */
  #batchTable = false;

  /** Load everything the database holds (migrated first). */
  constructor(sql: SqlStorage) {
    super();
    this.#sql = sql;
    migrate(sql);
    this.tracking = false;
    for (const r of sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta")) {
      if (r.key === "counters") super.saveCounters(JSON.parse(r.value) as Counters);
      else if (r.key === "local") super.saveLocal(JSON.parse(r.value) as ShardLocal);
      else this.#meta.set(r.key, r.value);
    }
    for (const r of sql.exec<LeaseRow>("SELECT * FROM leases ORDER BY left_at")) super.putLease(toLease(r));
    // The batches of calls still being claimed are one row (`batches` in meta); a database
    // from before keeps them in their own table, moved into that row at the next commit.
    const batches = this.#meta.get(BATCHES_KEY);
    if (batches === undefined) {
      for (const r of sql.exec<BatchRow>("SELECT * FROM batches ORDER BY id")) {
        super.restoreBatch(toBatch(r));
        this.#batchTable = true;
      }
    } else {
      this.#meta.delete(BATCHES_KEY);
      for (const b of JSON.parse(batches) as CallBatch[]) super.restoreBatch(b);
    }
    for (const r of sql.exec<{ sub: string; until: number }>("SELECT sub, until FROM spent")) {
      super.markSpent(r.sub, r.until);
    }
    for (const r of sql.exec<{ sid: string; until: number; reason: string }>("SELECT * FROM revoked")) {
      super.revoke(r.sid, r.until, r.reason === "moved" ? "moved" : "left");
    }
    for (const r of sql.exec<{ bin: number; first_seq: number; count: number }>(
      "SELECT * FROM arrivals ORDER BY bin",
    )) {
      this.bins.push({ bin: r.bin, firstSeq: r.first_seq, count: r.count });
    }
    for (const r of sql.exec<{ id: string; until: number }>("SELECT id, until FROM challenges")) {
      this.#challenges.set(r.id, r.until);
    }
    this.tracking = true;
  }

  /** Anything not yet written? */
  override get dirty(): boolean {
    return super.dirty || this.#metaChanged.size > 0 || this.#challengesAdded.size > 0;
  }

  getMeta<T>(key: string): T | null {
    const value = this.#meta.get(key);
    return value === undefined ? null : (JSON.parse(value) as T);
  }

  setMeta(key: string, value: unknown): void {
    this.#meta.set(key, JSON.stringify(value));
    this.#metaChanged.add(key);
  }

  /**
   * Spend a solved challenge: true the first time its id is seen, false
   * after. Ids are kept until the challenge expires (it is refused at the
   * edge after that anyway), and expired ones are pruned here.
   */
  spendChallenge(id: string, until: number, now: number): boolean {
    for (const [known, at] of this.#challenges) if (at <= now) this.#challenges.delete(known);
    this.#challengesPruned = now;
    if (this.#challenges.has(id)) return false;
    this.#challenges.set(id, until);
    this.#challengesAdded.set(id, until);
    return true;
  }

  /** Write every row changed since the last commit (call it inside a transaction). */
  commit(): void {
    const sql = this.#sql;
    const c = this.takeChanges();
    for (const [sid, l] of c.leases) {
      if (l === null) sql.exec("DELETE FROM leases WHERE sid = ?", sid);
      else putLease(sql, l);
    }
    if (c.batches.size > 0) {
      // Every batch in one row: claims touch a few, and a busy shard makes many.
      const live = [...this.batches.values()].sort((a, b) => a.id - b.id);
      setMeta(sql, BATCHES_KEY, JSON.stringify(live));
      if (this.#batchTable) sql.exec("DELETE FROM batches");
      this.#batchTable = false;
    }
    for (const [sub, until] of c.spent) {
      sql.exec(
        "INSERT INTO spent (sub, until) VALUES (?, ?) ON CONFLICT(sub) DO UPDATE SET until = excluded.until",
        sub,
        until,
      );
    }
    for (const [sid, r] of c.revoked) {
      sql.exec(
        `INSERT INTO revoked (sid, until, reason) VALUES (?, ?, ?)
         ON CONFLICT(sid) DO UPDATE SET until = excluded.until, reason = excluded.reason`,
        sid,
        r.until,
        r.reason,
      );
    }
    if (c.prunedBefore !== null) {
      sql.exec("DELETE FROM spent WHERE until <= ?", c.prunedBefore);
      sql.exec("DELETE FROM revoked WHERE until <= ?", c.prunedBefore);
    }
    for (const [bin, b] of c.arrivals) {
      if (b === null) sql.exec("DELETE FROM arrivals WHERE bin = ?", bin);
      else {
        sql.exec(
          "INSERT OR REPLACE INTO arrivals (bin, first_seq, count) VALUES (?, ?, ?)",
          b.bin,
          b.firstSeq,
          b.count,
        );
      }
    }
    if (c.counters !== null) setMeta(sql, "counters", JSON.stringify(c.counters));
    if (c.local !== null) setMeta(sql, "local", JSON.stringify(c.local));
    for (const key of this.#metaChanged) setMeta(sql, key, this.#meta.get(key)!);
    this.#metaChanged.clear();
    if (this.#challengesPruned !== null) sql.exec("DELETE FROM challenges WHERE until <= ?", this.#challengesPruned);
    this.#challengesPruned = null;
    for (const [id, until] of this.#challengesAdded) {
      sql.exec("INSERT OR REPLACE INTO challenges (id, until) VALUES (?, ?)", id, until);
    }
    this.#challengesAdded.clear();
  }
}

function setMeta(sql: SqlStorage, key: string, value: string): void {
  sql.exec(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    key,
    value,
  );
}

function putLease(sql: SqlStorage, l: Lease): void {
  sql.exec(
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

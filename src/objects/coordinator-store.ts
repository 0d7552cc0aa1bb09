/**
 * The coordinator's store on its Durable Object's SQLite database: the core
 * (version, bucket, flows), one row per shard, and the shards' uncalled
 * arrival bins. Numbered migrations, never edited once shipped.
 */
import type { ArrivalBin } from "../policy/arrivals.ts";
import type { CoordinatorCore, CoordinatorStore, ShardRecord } from "../policy/coordinator-state.ts";
import type { Publication } from "../policy/revocations.ts";

import type { AuditEntry, Sample } from "../contract/schemas.ts";
import { MetaTable } from "./meta-table.ts";
import { runMigrations } from "./migrations.ts";

const MIGRATIONS: readonly string[] = [
  // 1: meta, shards, bins
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE shards (shard INTEGER PRIMARY KEY, data TEXT NOT NULL);
   CREATE TABLE bins (
     shard INTEGER NOT NULL,
     bin INTEGER NOT NULL,
     first_seq INTEGER NOT NULL,
     count INTEGER NOT NULL,
     PRIMARY KEY (shard, bin)
   );`,
  // 2: the audit trail of config changes
  `CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     by TEXT NOT NULL,
     changes TEXT NOT NULL
   );`,
  // 3: samples of the room's numbers over the last hour, for the dashboard
  `CREATE TABLE samples (at INTEGER PRIMARY KEY, data TEXT NOT NULL);`,
  // 4: the room's published revocations (revocations.ts, Publication)
  `CREATE TABLE publications (
     sid TEXT PRIMARY KEY,
     shard INTEGER NOT NULL,
     until INTEGER NOT NULL,
     at INTEGER NOT NULL
   );
   CREATE INDEX publications_until ON publications (until);`,
];

export function migrateCoordinator(sql: SqlStorage): void {
  runMigrations(sql, MIGRATIONS);
}

export class SqlCoordinatorStore extends MetaTable implements CoordinatorStore {
  /** Keep a sample, and forget those older than `keepMs`. */
  addSample(at: number, sample: Sample, keepMs: number): void {
    this.sql.exec("INSERT OR REPLACE INTO samples (at, data) VALUES (?, ?)", at, JSON.stringify(sample));
    this.sql.exec("DELETE FROM samples WHERE at < ?", at - keepMs);
  }
  lastSampleAt(): number | null {
    return this.sql.exec<{ at: number | null }>("SELECT MAX(at) AS at FROM samples").one().at;
  }
  /** Samples since `from` (ms), oldest first. */
  samples(from: number): Sample[] {
    return this.sql
      .exec<{ data: string }>("SELECT data FROM samples WHERE at >= ? ORDER BY at", from)
      .toArray()
      .map((r) => JSON.parse(r.data) as Sample);
  }

  addAudit(at: number, by: string, changes: AuditEntry["changes"]): void {
    this.sql.exec("INSERT INTO audit (at, by, changes) VALUES (?, ?, ?)", at, by, JSON.stringify(changes));
  }
  /** The latest `limit` entries, oldest first. */
  audit(limit: number): AuditEntry[] {
    return this.sql
      .exec<{ at: number; by: string; changes: string }>(
        "SELECT at, by, changes FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id",
        limit,
      )
      .toArray()
      .map((r) => ({
        at: new Date(r.at).toISOString(),
        by: r.by,
        changes: JSON.parse(r.changes) as AuditEntry["changes"],
      }));
  }

  loadCore(): CoordinatorCore | null {
    return this.getMeta<CoordinatorCore>("core");
  }
  saveCore(core: CoordinatorCore): void {
    this.setMeta("core", core);
  }
  loadShards(): ShardRecord[] {
    return this.sql
      .exec<{ data: string }>("SELECT data FROM shards ORDER BY shard")
      .toArray()
      .map((r) => JSON.parse(r.data) as ShardRecord);
  }
  saveShard(record: ShardRecord): void {
    this.sql.exec(
      "INSERT INTO shards (shard, data) VALUES (?, ?) ON CONFLICT(shard) DO UPDATE SET data = excluded.data",
      record.shard,
      JSON.stringify(record),
    );
  }
  loadBins(): { shard: number; bins: ArrivalBin[] }[] {
    const byShard = new Map<number, ArrivalBin[]>();
    for (const r of this.sql
      .exec<{ shard: number; bin: number; first_seq: number; count: number }>("SELECT * FROM bins")
      .toArray()) {
      const list = byShard.get(r.shard) ?? [];
      list.push({ bin: r.bin, firstSeq: r.first_seq, count: r.count });
      byShard.set(r.shard, list);
    }
    return [...byShard].map(([shard, bins]) => ({ shard, bins }));
  }
  saveBins(shard: number, bins: ArrivalBin[]): void {
    for (const b of bins) {
      this.sql.exec(
        `INSERT INTO bins (shard, bin, first_seq, count) VALUES (?, ?, ?, ?)
         ON CONFLICT(shard, bin) DO UPDATE SET first_seq = excluded.first_seq, count = excluded.count`,
        shard,
        b.bin,
        b.firstSeq,
        b.count,
      );
    }
  }
  dropCalledBins(shard: number, through: number): void {
    this.sql.exec("DELETE FROM bins WHERE shard = ? AND first_seq + count - 1 <= ?", shard, through);
  }
  loadPublications(): Publication[] {
    return this.sql
      .exec<{ sid: string; shard: number; until: number; at: number }>(
        "SELECT sid, shard, until, at FROM publications ORDER BY at",
      )
      .toArray();
  }
  addPublications(publications: Publication[]): void {
    for (const p of publications) {
      this.sql.exec(
        "INSERT OR REPLACE INTO publications (sid, shard, until, at) VALUES (?, ?, ?, ?)",
        p.sid,
        p.shard,
        p.until,
        p.at,
      );
    }
  }
  dropPublications(before: number): void {
    this.sql.exec("DELETE FROM publications WHERE until <= ?", before);
  }
}

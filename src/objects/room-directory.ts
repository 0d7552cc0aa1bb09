/**
 * RoomDirectory: one Durable Object (named "rooms") that knows every room
 * that exists, so ops can list them. A room's coordinator registers itself
 * the first time it serves anything; registering again changes nothing.
 */
import { DurableObject } from "cloudflare:workers";
import type { RoomEntry } from "../contract/schemas.ts";
import { runMigrations } from "./migrations.ts";

const MIGRATIONS: readonly string[] = [
  // 1: rooms
  `CREATE TABLE rooms (room TEXT PRIMARY KEY, created_at INTEGER NOT NULL);`,
];

export const DIRECTORY_NAME = "rooms";

export class RoomDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => runMigrations(ctx.storage.sql, MIGRATIONS));
  }

  async add(room: string, at: number): Promise<void> {
    this.ctx.storage.sql.exec("INSERT OR IGNORE INTO rooms (room, created_at) VALUES (?, ?)", room, at);
  }

  async list(): Promise<RoomEntry[]> {
    return this.ctx.storage.sql
      .exec<{ room: string; created_at: number }>("SELECT room, created_at FROM rooms ORDER BY room")
      .toArray()
      .map((r) => ({ room: r.room, createdAt: new Date(r.created_at).toISOString() }));
  }
}

/**
 * Setting up the rooms the benchmark loads, over Spillway's public HTTP API
 * (admin PATCH, join), and reading the Durable Object call counters from the
 * admin stats.
 */
import { ROOMS_REFRESH_MS } from "../../src/edge/room-gate.ts";
import { adminCall, bearer, join, type Reply, send, type StatusJson } from "../../test/contract/support/http.ts";

/** How long a listener of a room with seats free may wait for its first sync to be seated. */
const SEATED_WITHIN_MS = 10_000;

/** Durable Object calls by kind, as `GET /_spillway/admin/rooms/:room/stats` reports them. */
export type CallCounts = Record<string, number>;

export interface RoomPatch {
  capacity?: number;
  admitPerMinute?: number;
  mode?: "open" | "hold" | "closed";
}

export class Rooms {
  readonly base: string;
  readonly #adminToken: string;
  readonly #created = new Set<string>();

  constructor(base: string, adminToken: string) {
    this.base = base;
    this.#adminToken = adminToken;
  }

  async configure(room: string, patch: RoomPatch): Promise<void> {
    const reply = await adminCall(this.base, this.#adminToken, "PATCH", `/rooms/${room}`, patch);
    if (reply.status !== 200) throw new Error(`PATCH room ${room} answered ${reply.status}: ${reply.text}`);
    if (!this.#created.has(room)) {
      // A room ops just created is served by every isolate within ROOMS_REFRESH_MS (ROOMS=ops).
      this.#created.add(room);
      await new Promise((r) => setTimeout(r, ROOMS_REFRESH_MS + 200));
    }
  }

  /** `count` new listeners join, a few at a time; every one must end in `expected`. */
  async joinMany(room: string, count: number, expected: "queued" | "admitted"): Promise<StatusJson[]> {
    const out: StatusJson[] = [];
    const batch = 10;
    for (let i = 0; i < count; i += batch) {
      const replies = await Promise.all(
        Array.from({ length: Math.min(batch, count - i) }, () => join(this.base, room)),
      );
      for (let reply of replies) {
        // A burst of joins on a fresh shard may outrun the seats it holds ahead: those wait a sync.
        if (expected === "admitted" && reply.status === 200 && reply.json?.state === "queued") {
          reply = await this.#seated(room, reply);
        }
        const state = reply.json?.state;
        if (reply.status !== 200 || state !== expected || reply.json.ticket === undefined) {
          throw new Error(`join in room ${room}: expected ${expected}, got ${reply.status} ${reply.text}`);
        }
        if (expected === "admitted" && reply.json.pass === undefined) {
          throw new Error(`join in room ${room}: admitted without a pass: ${reply.text}`);
        }
        out.push(reply.json);
      }
    }
    return out;
  }

  /** A queued listener polls until it is seated (or SEATED_WITHIN_MS pass: its last answer). */
  async #seated(room: string, joined: Reply<StatusJson>): Promise<Reply<StatusJson>> {
    const ticket = joined.json.ticket!;
    const until = Date.now() + SEATED_WITHIN_MS;
    let reply = joined;
    while (reply.status === 200 && reply.json?.state === "queued" && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      reply = await send<StatusJson>(`${this.base}/_spillway/rooms/${room}/status`, { headers: bearer(ticket) });
    }
    // A poll's answer need not repeat the ticket: the listener keeps the one it joined with.
    return { ...reply, json: { ticket, ...reply.json } };
  }

  /** The room's Durable Object calls so far, by kind. */
  async doCalls(room: string): Promise<CallCounts> {
    const reply = await adminCall<{ doCalls?: CallCounts }>(this.base, this.#adminToken, "GET", `/rooms/${room}/stats`);
    if (reply.status !== 200 || typeof reply.json?.doCalls !== "object") {
      throw new Error(`stats of room ${room} answered ${reply.status} without doCalls: ${reply.text}`);
    }
    return reply.json.doCalls;
  }
}

/**
 * Calls between two readings, by kind, without `admin` (the stats reads
 * themselves), and their total.
 */
export function callsBetween(before: CallCounts, after: CallCounts): { total: number; byKind: CallCounts } {
  const byKind: CallCounts = {};
  let total = 0;
  for (const [kind, n] of Object.entries(after)) {
    if (kind === "admin") continue;
    const delta = n - (before[kind] ?? 0);
    if (delta === 0) continue;
    byKind[kind] = delta;
    total += delta;
  }
  return { total, byKind };
}

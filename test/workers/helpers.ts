/// <reference types="@cloudflare/vitest-plugin/types" />
/**
 * Shared helpers for the Workers integration tests: calls to the Worker, the
 * admin API, a manual clock per test, and token decoding.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, beforeEach } from "vitest";
import { app } from "../../src/http/app.tsx";
import { ManualClock, setClock } from "../../src/policy/clock.ts";
import { forgetViews } from "../../src/edge/view-cache.ts";
import { cookieName } from "../../src/edge/credentials.ts";
import { CONFIRM_AFTER_MS } from "../../src/policy/pass-trust.ts";
import { SYNC_INTERVAL_MS } from "../../src/policy/rounds.ts";
import type { ConfigState, RoomStats } from "../../src/contract/schemas.ts";

export const BASE = "http://localhost";
export const ADMIN = "Bearer test-admin-token";

/** Status JSON as the contract describes it. */
import type { StatusBody } from "../../src/contract/status.ts";
export type Status = StatusBody;

export interface ErrorJson {
  error: { code: string; message: string; fields?: { field: string; message: string }[] };
}

/** A room name no other test uses. */
export function roomName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Call the Worker as deployed (the default export). */
export function call(path: string, init?: RequestInit): Promise<Response> {
  const url = path.startsWith("http") ? path : BASE + path;
  return exports.default.fetch(url, { redirect: "manual", ...init });
}

/** Call the Worker's app with some vars changed (settings are per env object). */
export async function callWith(vars: Partial<Env>, path: string, init?: RequestInit): Promise<Response> {
  const url = path.startsWith("http") ? path : BASE + path;
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(url, { redirect: "manual", ...init }), { ...env, ...vars }, ctx);
  return settled(res, ctx);
}

/**
 * The answer read in full, once the work the Worker left running after it
 * (origin reports, releases, a held body's seat) is done. The body is read
 * first: a proxied body holds its seat until it has been read.
 */
export async function settled(res: Response, ctx: ExecutionContext): Promise<Response> {
  const body = res.body === null ? null : await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export async function join(room: string, headers?: Record<string, string>): Promise<{ res: Response; body: Status }> {
  const res = await call(`/_spillway/rooms/${room}/join`, { method: "POST", headers });
  return { res, body: await res.json<Status>() };
}

export async function status(room: string, ticket: string): Promise<{ res: Response; body: Status }> {
  const res = await call(`/_spillway/rooms/${room}/status`, { headers: bearer(ticket) });
  return { res, body: await res.json<Status>() };
}

export function heartbeat(room: string, pass: string): Promise<Response> {
  return call(`/_spillway/rooms/${room}/heartbeat`, { method: "POST", headers: bearer(pass) });
}

export function leave(room: string, pass: string): Promise<Response> {
  return call(`/_spillway/rooms/${room}/leave`, { method: "POST", headers: bearer(pass) });
}

export async function patchRoom(room: string, patch: unknown): Promise<ConfigState> {
  const res = await call(`/_spillway/admin/rooms/${room}`, {
    method: "PATCH",
    headers: { authorization: ADMIN, "content-type": "application/json" },
    body: JSON.stringify(patch),
  });
  if (res.status !== 200) throw new Error(`PATCH ${room} answered ${res.status}: ${await res.text()}`);
  return res.json<ConfigState>();
}

export async function getConfig(room: string): Promise<ConfigState> {
  const res = await call(`/_spillway/admin/rooms/${room}`, { headers: { authorization: ADMIN } });
  if (res.status !== 200) throw new Error(`GET config ${room} answered ${res.status}`);
  return res.json<ConfigState>();
}

export async function stats(room: string): Promise<RoomStats> {
  const res = await call(`/_spillway/admin/rooms/${room}/stats`, { headers: { authorization: ADMIN } });
  if (res.status !== 200) throw new Error(`GET stats ${room} answered ${res.status}`);
  return res.json<RoomStats>();
}

export interface PassPayload {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  sid: string;
  /** The shard holding the seat. */
  shard: number;
  /** The seat's generation. */
  gen: number;
}

export function passClaims(token: string): PassPayload {
  return decodeJwt(token) as unknown as PassPayload;
}

export function headerOf(token: string) {
  return decodeProtectedHeader(token);
}

/**
 * Install a manual clock (starting at the real time, so alarms the Durable
 * Object sets stay in the future) before each test; restore after.
 */
export function useManualClock(): { readonly clock: ManualClock } {
  const holder = { clock: new ManualClock(Date.now()) };
  beforeEach(() => {
    holder.clock = new ManualClock(Date.now());
    setClock(holder.clock);
    forgetViews();
  });
  afterEach(() => {
    setClock(null);
    forgetViews();
  });
  return holder;
}

/** Move time forward and drop every cached room view. */
export function advance(clock: ManualClock, ms: number): void {
  clock.advance(ms);
  forgetViews();
}

export const b64url = {
  encode(text: string): string {
    const bytes = new TextEncoder().encode(text);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(part: string): Uint8Array {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4);
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },
};

/** The Durable Object of shard `index` of a room (rooms have one shard by default). */
export function shardStub(room: string, index = 0) {
  return env.ROOM_SHARD.getByName(`${room}:${index}`);
}

/**
 * After a leave (or a seat's move to another device): let time pass until
 * the seat can be reused — a sync round for the revocation to be listed by
 * the coordinator, then CONFIRM_AFTER_MS for every edge's view to carry it.
 * The seat is freed at its shard's next sync (the next request that reads
 * the room's view, or `syncNow`).
 */
export async function letRevocationsThrough(clock: ManualClock, room: string, shards = 1): Promise<void> {
  advance(clock, SYNC_INTERVAL_MS);
  for (let i = 0; i < shards; i++) await shardStub(room, i).syncNow(room, i);
  advance(clock, CONFIRM_AFTER_MS + 100);
}

/**
 * A status poll from the device that holds `pass`: a browser sends its pass
 * cookie along with the ticket, and keeps its seat (a poll with the ticket
 * alone is another device's, and moves the seat).
 */
export async function statusHolding(
  room: string,
  ticket: string,
  pass: string,
): Promise<{ res: Response; body: Status }> {
  const res = await call(`/_spillway/rooms/${room}/status`, {
    headers: { authorization: `Bearer ${ticket}`, cookie: `${cookieName("pass", room, false)}=${pass}` },
  });
  return { res, body: await res.json<Status>() };
}

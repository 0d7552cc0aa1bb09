/**
 * Ops endpoints under /_spillway/admin: rooms, a room's config, its live
 * numbers, its audit trail, and releasing a seat. Every route needs an admin
 * token (`Authorization: Bearer <token>`, see admin-tokens.ts): without one,
 * 401 and no data; a read-only token that tries to change anything, 403.
 * Responses are never cached. The one exception is the dashboard's page
 * shell (page.tsx), which holds no data and signs in with a token itself.
 * Every Durable Object call goes through durableCall: when one fails, the
 * app answers 503 `unavailable` with `Retry-After`, and nothing was applied.
 */
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type FieldError, parsePatch } from "../policy/config.ts";
import { addObjectRequests } from "../objects/request-counts.ts";
import { durableCall } from "../edge/durable-call.ts";
import { shardName } from "../objects/room-shard.ts";
import type { OriginHealth } from "../objects/icecast-seats.ts";
import { forgetViews } from "../edge/view-cache.ts";
import { DIRECTORY_NAME } from "../objects/room-directory.ts";
import { type AdminIdentity, identify, preparedTokens } from "../edge/admin-tokens.ts";
import type { ConfigState, RoomStats } from "../contract/schemas.ts";
import { bearerOf } from "./cookies.ts";
import { dashboardPage } from "../pages/dashboard/page.tsx";
import { prometheusText } from "../contract/metrics.ts";
import { RoomDesk } from "../edge/desk.ts";
import { fail } from "./fail.ts";
import { ROOM_ID } from "../policy/room-id.ts";

type AdminEnv = { Bindings: Env; Variables: { admin: AdminIdentity } };

export const admin = new Hono<AdminEnv>();

/** Methods that only read. */
const READS = new Set(["GET", "HEAD"]);

/**
 * Where the dashboard's page is served without a token: exactly these paths
 * (Hono merges a sub-app's "/" into the bare mount path, so the trailing
 * slash is matched here by hand). Anything below them needs a token.
 */
const DASHBOARD_PATHS = new Set(["/_spillway/admin", "/_spillway/admin/"]);

// Before the token check: the page is an empty shell, its data comes from the routes below.
admin.use("*", async (c, next) => {
  if (READS.has(c.req.method) && DASHBOARD_PATHS.has(c.req.path)) return dashboardPage(c);
  await next();
});

admin.use("*", async (c, next) => {
  c.header("cache-control", "no-store");
  const token = bearerOf(c);
  const tokens = await preparedTokens(c.env as Env & { ADMIN_TOKENS?: string });
  const who = token === null ? null : await identify(token, tokens);
  if (who === null) {
    return fail(c, "unauthorized", undefined, { "www-authenticate": 'Bearer realm="spillway-admin"' });
  }
  if (!READS.has(c.req.method) && who.access !== "write") return fail(c, "forbidden");
  c.set("admin", who);
  await next();
  c.header("cache-control", "no-store");
});

admin.get("/rooms", async (c) => {
  return c.json({ rooms: await roomList(c.env) });
});

/** Every room, from the directory. */
function roomList(env: Env) {
  return durableCall("rooms", () => env.ROOM_DIRECTORY.getByName(DIRECTORY_NAME).list());
}

const roomIdGuard: MiddlewareHandler = async (c, next) => {
  if (!ROOM_ID.test(c.req.param("room") ?? "")) return fail(c, "bad_room");
  await next();
};
admin.use("/rooms/:room", roomIdGuard);
admin.use("/rooms/:room/*", roomIdGuard);
admin.use("/rooms/:room", bodyLimit({ maxSize: 16 * 1024, onError: (c) => fail(c, "body_too_large") }));
admin.use("/rooms/:room/release", bodyLimit({ maxSize: 16 * 1024, onError: (c) => fail(c, "body_too_large") }));

/** The JSON object a request carries, or null (not JSON, or not an object). */
async function jsonObject(c: Context): Promise<Record<string, unknown> | null> {
  try {
    const body: unknown = await c.req.json();
    return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

admin.get("/rooms/:room", async (c) => {
  const room = c.req.param("room");
  const coordinator = c.env.ROOM_COORDINATOR.getByName(room);
  return c.json(await durableCall("getConfig", () => coordinator.getConfig(room)));
});

admin.patch("/rooms/:room", async (c) => {
  const room = c.req.param("room");
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return fail(c, "invalid_body", { message: "The body must be a JSON object." });
  }
  // Not an object (an array, null): a field-level error on the body itself.
  const parsed = parsePatch(body);
  if (!parsed.ok) return fail(c, "invalid_body", { fields: parsed.errors });
  const coordinator = c.env.ROOM_COORDINATOR.getByName(room);
  const name = c.get("admin").name;
  // Not retried: a change applied twice would be audited twice.
  const state: ConfigState | { room: string; errors: FieldError[] } = await durableCall(
    "patchConfig",
    async () =>
      (await coordinator.patchConfig(room, parsed.patch, name)) as ConfigState | { room: string; errors: FieldError[] },
    { retry: false },
  );
  if ("errors" in state) return fail(c, "invalid_body", { fields: state.errors });
  forgetViews(room);
  return c.json(state);
});

/** A room's stats, exact: every shard reports first, rather than up to a second old. */
async function exactStats(env: Env, room: string): Promise<RoomStats> {
  const coordinator = env.ROOM_COORDINATOR.getByName(room);
  const { shardIndices } = await durableCall("stats", () => coordinator.stats(room));
  const shard = (i: number) => env.ROOM_SHARD.getByName(shardName(room, i));
  await Promise.all(shardIndices.map((i) => durableCall("syncNow", () => shard(i).syncNow(room, i))));
  const stats = await durableCall("stats", () => coordinator.stats(room));
  const parts = await Promise.all(
    stats.shardIndices.map((i) => durableCall("statsParts", () => shard(i).statsParts())),
  );
  const shardRequests = parts.map((p) => p.requests);
  const originAdmin = originAdminOf(parts.map((p) => p.origin));
  return {
    ...stats,
    doCalls: addObjectRequests(stats.doCalls, ...shardRequests),
    ...(originAdmin === null ? {} : { originAdmin }),
  };
}

/** The shards' use of the origin's admin API, added up (null: none used it). */
function originAdminOf(all: (OriginHealth | null)[]): RoomStats["originAdmin"] | null {
  const used = all.filter((h): h is OriginHealth => h !== null);
  if (used.length === 0) return null;
  const last = used
    .map((h) => h.lastFailure)
    .filter((f) => f !== null)
    .sort((a, b) => b.at - a.at)[0];
  return {
    failures: used.reduce((n, h) => n + h.failures, 0),
    kills: used.reduce((n, h) => n + h.kills, 0),
    lastFailure: last === undefined ? null : { ...last, at: new Date(last.at).toISOString() },
  };
}

admin.get("/rooms/:room/stats", async (c) => c.json(await exactStats(c.env, c.req.param("room"))));

/** Prometheus text for one room (`?room=`) or every room. */
admin.get("/metrics", async (c) => {
  const one = c.req.query("room");
  if (one !== undefined && !ROOM_ID.test(one)) return fail(c, "bad_room");
  const rooms = one !== undefined ? [one] : (await roomList(c.env)).map((r) => r.room);
  const stats = await Promise.all(rooms.map((room) => exactStats(c.env, room)));
  return c.text(prometheusText(stats), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
});

admin.get("/rooms/:room/history", async (c) => {
  const room = c.req.param("room");
  const coordinator = c.env.ROOM_COORDINATOR.getByName(room);
  return c.json(await durableCall("history", () => coordinator.history(room)));
});

admin.get("/rooms/:room/audit", async (c) => {
  const room = c.req.param("room");
  const limit = Number(c.req.query("limit") ?? 100);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    return fail(c, "invalid_body", { fields: [{ field: "limit", message: "must be a whole number from 1 to 1000" }] });
  }
  const coordinator = c.env.ROOM_COORDINATOR.getByName(room);
  return c.json(await durableCall("audit", () => coordinator.audit(room, limit)));
});

/** Free one listener's seat, as its own leave would (an origin's "participant left" webhook). */
admin.post("/rooms/:room/release", async (c) => {
  const room = c.req.param("room");
  const body = await jsonObject(c);
  const token = body?.["pass"];
  if (typeof token !== "string") {
    return fail(c, "invalid_body", { fields: [{ field: "pass", message: "must be the listener's pass (a JWT)" }] });
  }
  const desk = await RoomDesk.open(c.env, room);
  // A pass past its exp may still name a live seat (a held stream renews the seat, not the pass).
  const verified = await desk.checkLeavingPass(token);
  if (!verified.ok) {
    if (verified.reason === "expired") return c.json({ room, released: false, reason: "pass_expired" });
    return fail(c, "invalid_body", {
      fields: [{ field: "pass", message: `is not a valid pass here (${verified.reason})` }],
    });
  }
  return c.json({ room, released: await desk.leave(verified.claims) });
});

admin.all("*", (c) => fail(c, "not_found"));

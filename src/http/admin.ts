/**
 * Ops endpoints under /_spillway/admin: a room's config and live numbers.
 * Every route needs `Authorization: Bearer <ADMIN_TOKEN>`; without it, 401
 * and no data. Responses are never cached.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { parsePatch } from "../admission/config.ts";
import { addCounts } from "../room/calls.ts";
import { shardName } from "../room/room-shard.ts";
import { forgetViews } from "../room/view-cache.ts";
import { bearerOf } from "./credentials.ts";
import { fail } from "./errors.ts";
import { ROOM_ID } from "./room-id.ts";

const encoder = new TextEncoder();

/** Compare secrets in constant time (hashes first, so lengths do not leak). */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b) && expected !== "";
}

export const admin = new Hono<{ Bindings: Env }>();

admin.use("*", async (c, next) => {
  c.header("cache-control", "no-store");
  const token = bearerOf(c);
  if (token === null || !(await sameSecret(token, c.env.ADMIN_TOKEN ?? ""))) {
    return fail(c, "unauthorized", undefined, { "www-authenticate": 'Bearer realm="spillway-admin"' });
  }
  await next();
  c.header("cache-control", "no-store");
});

const roomIdGuard: MiddlewareHandler = async (c, next) => {
  if (!ROOM_ID.test(c.req.param("room") ?? "")) return fail(c, "bad_room");
  await next();
};
admin.use("/rooms/:room", roomIdGuard);
admin.use("/rooms/:room/*", roomIdGuard);
admin.use("/rooms/:room", bodyLimit({ maxSize: 16 * 1024, onError: (c) => fail(c, "body_too_large") }));

admin.get("/rooms/:room", async (c) => {
  const room = c.req.param("room");
  return c.json(await c.env.ROOM_COORDINATOR.getByName(room).getConfig(room));
});

admin.patch("/rooms/:room", async (c) => {
  const room = c.req.param("room");
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return fail(c, "invalid_body", { message: "The body must be a JSON object." });
  }
  const parsed = parsePatch(body);
  if (!parsed.ok) return fail(c, "invalid_body", { fields: parsed.errors });
  const state = await c.env.ROOM_COORDINATOR.getByName(room).patchConfig(room, parsed.patch);
  forgetViews(room);
  return c.json(state);
});

admin.get("/rooms/:room/stats", async (c) => {
  const room = c.req.param("room");
  const coordinator = c.env.ROOM_COORDINATOR.getByName(room);
  // Every shard reports first, so the numbers are exact rather than up to a second old.
  const { shardIndices } = await coordinator.stats(room);
  const shard = (i: number) => c.env.ROOM_SHARD.getByName(shardName(room, i));
  await Promise.all(shardIndices.map((i) => shard(i).syncNow(room, i)));
  const stats = await coordinator.stats(room);
  const shardCalls = await Promise.all(stats.shardIndices.map((i) => shard(i).calls()));
  return c.json({ ...stats, doCalls: addCounts(stats.doCalls, ...shardCalls) });
});

admin.all("*", (c) => fail(c, "not_found"));

/**
 * A request to one room, as every room route reads it: the room's desk (set
 * by withRoom), what the listener asks for (`?keep=1`, JSON or a page), and
 * the tokens it holds, verified.
 */
import type { Context } from "hono";
import { tokenError } from "../contract/errors.ts";
import { clearStrayCookies } from "../edge/credentials.ts";
import { type AfterAnswer, RoomDesk } from "../edge/desk.ts";
import { durableCall, DurableFailure } from "../edge/durable-call.ts";
import { knownRooms } from "../edge/room-gate.ts";
import { settingsOf } from "../edge/settings.ts";
import { DIRECTORY_NAME } from "../objects/room-directory.ts";
import { clock } from "../policy/clock.ts";
import { ROOM_ID } from "../policy/room-id.ts";
import { unavailable } from "./answers.ts";
import { presented, strayCookies } from "./cookies.ts";
import { fail } from "./fail.ts";

/** The room's desk is read with `c.get("desk")`: `c.var` copies every variable into a new object per read. */
export type AppEnv = { Bindings: Env; Variables: { desk: RoomDesk; fromOrigin: boolean } };

/**
 * Opens the room's desk for the route, after checking the room id and that
 * this deployment serves the room; afterwards clears stray cookies.
 */
export async function withRoom(c: Context<AppEnv>, next: () => Promise<void>) {
  const room = c.req.param("room") ?? "";
  if (!ROOM_ID.test(room)) return fail(c, "bad_room");
  const served = await servesRoom(c.env, room);
  if (served !== true) return served === false ? fail(c, "not_found") : unavailable(c, null);
  c.set("desk", await RoomDesk.open(c.env, room, afterAnswerOf(c)));
  await next();
  // Plain-named cookies tossed from a sibling subdomain are ignored, and cleared here.
  const stray = strayCookies(c, room);
  if (stray.length > 0 && c.res.status !== 101) clearStrayCookies(c.res.headers, room, stray);
  return undefined;
}

/** Does this deployment serve `room` (ROOMS, room-gate.ts)? null when the room directory cannot be read. */
export async function servesRoom(env: Env, room: string): Promise<boolean | null> {
  const load = async () => {
    const directory = env.ROOM_DIRECTORY.getByName(DIRECTORY_NAME);
    return (await durableCall("rooms", () => directory.list())).map((entry) => entry.room);
  };
  try {
    return await knownRooms.serves(settingsOf(env).rooms, room, clock.now(), load);
  } catch (err) {
    if (!(err instanceof DurableFailure)) throw err;
    return null;
  }
}

/** The request's context for work after the answer, read when the work comes (not every route has one). */
export function afterAnswerOf(c: Context<AppEnv>): AfterAnswer {
  return { waitUntil: (work) => c.executionCtx.waitUntil(work) };
}

/** Has the listener chosen to keep (or take) a place in line over the recording offer? (`?keep=1`) */
export function keepsPlace(c: Context<AppEnv>): boolean {
  const keep = c.req.query("keep");
  return keep === "1" || keep === "true";
}

/** Does the caller want the status JSON rather than a page? */
export function wantsJson(c: Context<AppEnv>): boolean {
  return (c.req.header("accept") ?? "").includes("application/json");
}

/** The ticket the request holds, verified; an error code when it presents a bad one. */
export async function heldTicket(c: Context<AppEnv>) {
  const p = presented(c, "ticket", c.get("desk").room);
  if (p === null) return { ticket: null, error: null, from: null } as const;
  const v = await c.get("desk").checkTicket(p.jws ?? p.token);
  if (v.ok) return { ticket: v.claims, error: null, from: p.from } as const;
  return { ticket: null, error: tokenError(v.reason), from: p.from } as const;
}

export type HeldTicket = Awaited<ReturnType<typeof heldTicket>>;

/** The overflow token the request holds, verified (a bad one is ignored: it only ever shows the offer). */
export async function heldOverflow(c: Context<AppEnv>) {
  const p = presented(c, "overflow", c.get("desk").room);
  if (p === null) return null;
  const v = await c.get("desk").checkOverflow(p.token);
  return v.ok ? v.claims : null;
}

/** The pass the request holds, verified; `leaving`: accepted past its `exp` (see RoomDesk.checkLeavingPass). */
export async function heldPass(c: Context<AppEnv>, leaving = false) {
  const p = presented(c, "pass", c.get("desk").room);
  if (p === null) return { pass: null, error: null, from: null } as const;
  const desk = c.get("desk");
  const v = leaving ? await desk.checkLeavingPass(p.token) : await desk.checkPass(p.token);
  if (v.ok) return { pass: v.claims, token: p.token, error: null, from: p.from } as const;
  return { pass: null, error: tokenError(v.reason), from: p.from } as const;
}

/**
 * The seat this device holds, when it sends a pass of the ticket's listener
 * along with the ticket (a browser's cookie; lapsed or not): its claim keeps
 * that seat. Without one, a claim of a seated ticket is another device's.
 */
export async function holdingSeat(c: Context<AppEnv>, sub: string): Promise<string | undefined> {
  // The waiting poll's path: without a pass cookie, one string search and no token parsed.
  if (!(c.req.header("cookie") ?? "").includes("-pass-")) return undefined;
  const pass = (await heldPass(c, true)).pass;
  return pass?.sub === sub ? pass.sid : undefined;
}

/**
 * The listener's JSON endpoints under /_spillway/rooms/:room: join, status,
 * heartbeat and leave (what apps call; browsers do the same through the
 * guarded room path, guarded.ts).
 */
import { Hono } from "hono";
import { DurableFailure } from "../edge/durable-call.ts";
import { expireView } from "../edge/view-cache.ts";
import { POLICY } from "../policy/failure-policy.ts";
import { answerJson, plainStatusJson, unavailable } from "./answers.ts";
import { clearTokenCookie, presented } from "./cookies.ts";
import { fail } from "./fail.ts";
import { handedOn } from "./hot-paths.ts";
import { type AppEnv, heldOverflow, heldPass, heldTicket, holdingSeat, keepsPlace, withRoom } from "./room-request.ts";

/** Mounted at /_spillway/rooms. */
export const listener = new Hono<AppEnv>();

listener.post("/:room/join", withRoom, async (c) => {
  const held = await heldTicket(c);
  if (held.error !== null && held.from === "bearer") return fail(c, held.error);
  const desk = c.get("desk");
  if (held.ticket !== null) {
    const answer = await desk.status(held.ticket, keepsPlace(c), await holdingSeat(c, held.ticket.sub));
    if (answer.kind === "status" && answer.status.state !== "closed") {
      answer.status.ticket = presented(c, "ticket", desk.room)!.token;
    }
    return answerJson(c, answer);
  }
  return answerJson(c, await desk.join(keepsPlace(c), c.req.raw.headers));
});

listener.get("/:room/status", withRoom, async (c) => {
  // Asked already on the hot path, which left the answer to render here.
  const asked = handedOn.get(c.req.raw);
  if (asked !== undefined) return plainStatusJson(asked) ?? answerJson(c, asked);
  const held = await heldTicket(c);
  if (held.error !== null) return fail(c, held.error);
  if (held.ticket === null) {
    // A listener who took the recording offer polls with its overflow token.
    const overflow = await heldOverflow(c);
    if (overflow === null) return fail(c, "ticket_required");
    return answerJson(c, await c.get("desk").overflow(overflow));
  }
  const answer = await c.get("desk").status(held.ticket, keepsPlace(c), await holdingSeat(c, held.ticket.sub));
  return plainStatusJson(answer) ?? answerJson(c, answer);
});

listener.post("/:room/heartbeat", withRoom, async (c) => {
  const held = await heldPass(c);
  if (held.error !== null) return fail(c, held.error);
  if (held.pass === null) return fail(c, "pass_required");
  return answerJson(c, await c.get("desk").heartbeat(held.pass));
});

listener.post("/:room/leave", withRoom, async (c) => {
  const held = await heldPass(c, true);
  if (held.error !== null) return fail(c, held.error);
  if (held.pass === null) return fail(c, "pass_required");
  let released: boolean;
  try {
    released = await c.get("desk").leave(held.pass);
  } catch (err) {
    if (!(err instanceof DurableFailure)) throw err;
    // Nothing changed: the seat and its pass go on until the pass expires or a leave gets through.
    return unavailable(c, POLICY.pass);
  }
  // This isolate refuses the old pass at once; others within the view TTL.
  expireView(c.get("desk").room, held.pass.sid);
  clearTokenCookie(c, "ticket", c.get("desk").room);
  clearTokenCookie(c, "pass", c.get("desk").room);
  c.header("cache-control", "no-store");
  return c.json({ room: c.get("desk").room, left: true, released });
});

/**
 * Janus's events, answered by Spillway (direct mode, `origin: janus`): Janus's
 * sample event handler (`janus.eventhandler.sampleevh`, in Debian's package)
 * posts each handle event as JSON, with basic auth whose password is the
 * secret JANUS_EVENTS_SECRET.
 *
 * - A handle `attached` with a seat's token (which names the room, shard and
 *   seat: janus-seats.ts `newJanusToken`) is told to that seat's shard at
 *   once. The shard keeps the token's newest session and destroys its
 *   others: a second session opened with a seat's token (a page reloaded, a
 *   client opening more on purpose) is gone in a few milliseconds rather
 *   than at the next listing (every 5 s).
 * - Every other event (sessions, detaches, media, a token that names no seat)
 *   is acknowledged and ignored.
 *
 * A post without the right password is refused (401) and read no further; a
 * body that is not Janus's JSON is refused (400). Neither changes anything.
 * When a shard cannot be reached, the answer is 503 and Janus posts again.
 */
import * as v from "valibot";
import { type JanusSecrets, seatOfJanusToken } from "../objects/janus-seats.ts";
import { shardName } from "../objects/room-shard.ts";
import { sameSecret } from "./admin-tokens.ts";
import { durableCall } from "./durable-call.ts";

/** The most events one post may carry (Janus groups events it has queued when `grouping` is on). */
export const MAX_JANUS_EVENTS = 1_000;
/** The largest body read: a thousand handle events with room to spare. */
export const MAX_JANUS_EVENTS_BYTES = 1 << 20;

/** Janus's event type for handles (its `JANUS_EVENT_TYPE_HANDLE`). */
const HANDLE_EVENT = 2;

const JanusId = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
/** One event as Janus's event handlers write it; only what a handle's attach needs is read. */
const JanusEvent = v.looseObject({
  type: v.number(),
  session_id: v.optional(JanusId),
  handle_id: v.optional(JanusId),
  event: v.optional(v.looseObject({ name: v.optional(v.string()), token: v.optional(v.string()) })),
});
const JanusEvents = v.union([JanusEvent, v.pipe(v.array(JanusEvent), v.maxLength(MAX_JANUS_EVENTS))]);

export type JanusHookAnswer =
  | { kind: "done"; events: number; seats: number }
  | { kind: "refused" }
  | { kind: "bad_body"; message: string }
  | { kind: "not_configured" }
  | { kind: "unavailable" };

/** A handle attached with a seat's token. */
interface Attached {
  room: string;
  shard: number;
  sid: string;
  token: string;
  session: number;
  handle: number;
}

/** Answer one post of Janus's event handler: its Authorization header and raw body. */
export async function janusEvents(
  env: Env & JanusSecrets,
  authorization: string | null,
  body: Uint8Array,
): Promise<JanusHookAnswer> {
  const secret = env.JANUS_EVENTS_SECRET ?? "";
  if (secret === "") {
    console.warn("janus events posted but JANUS_EVENTS_SECRET is not set: ignored");
    return { kind: "not_configured" };
  }
  const password = basicPassword(authorization);
  if (password === null || !(await sameSecret(password, secret))) return { kind: "refused" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { kind: "bad_body", message: "the body is not JSON" };
  }
  const read = v.safeParse(JanusEvents, parsed);
  if (!read.success) {
    return { kind: "bad_body", message: `not Janus's events: ${v.summarize(read.issues).split("\n")[0]}` };
  }
  const events = Array.isArray(read.output) ? read.output : [read.output];
  const attached = events.flatMap((e): Attached[] => {
    if (e.type !== HANDLE_EVENT || e.event?.name !== "attached") return [];
    const token = e.event.token;
    const seat = token === undefined ? null : seatOfJanusToken(token);
    if (seat === null || e.session_id === undefined || e.handle_id === undefined) return [];
    return [{ ...seat, token: token!, session: e.session_id, handle: e.handle_id }];
  });
  // One shard's events in the order Janus told them; shards at once.
  const byShard = Map.groupBy(attached, (a) => shardName(a.room, a.shard));
  const told = await Promise.allSettled(
    [...byShard].map(async ([name, list]) => {
      const stub = env.ROOM_SHARD.getByName(name);
      let seats = 0;
      for (const a of list) {
        const known = await durableCall<boolean>("janusAttached", () =>
          stub.janusAttached(a.room, a.shard, a.sid, a.token, a.session, a.handle),
        );
        if (known) seats += 1;
      }
      return seats;
    }),
  );
  const failed = told.find((t) => t.status === "rejected");
  if (failed !== undefined) {
    // Janus posts again; until then the shard's own listing catches up.
    console.warn("janus events: a seat's shard could not be reached", String(failed.reason));
    return { kind: "unavailable" };
  }
  const seats = told.reduce((n, t) => n + (t.status === "fulfilled" ? t.value : 0), 0);
  return { kind: "done", events: events.length, seats };
}

/** The password of a basic-auth header (any user name), or null. */
function basicPassword(authorization: string | null): string | null {
  const m = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/iu.exec(authorization ?? "");
  if (m === null) return null;
  let decoded: string;
  try {
    decoded = atob(m[1]!);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  return colon === -1 ? null : decoded.slice(colon + 1);
}

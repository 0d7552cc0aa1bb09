/**
 * The waiting poll's floor, as a function: what any Worker answering the
 * contract's status poll (`GET /_spillway/rooms/:room/status`) has to do, and
 * nothing more. The floor Worker (index.ts) answers with it, and `npm run
 * bench:parts -- --poll` runs it beside Spillway's own poll in Spillway's
 * isolate. It reads the request's Cookie and Authorization headers (a poll
 * must tell a ticket from a pass cookie), takes the room from the path, and
 * answers a status JSON of the poll's shape and size, its place its own,
 * with the five headers Spillway's own answers carry (made once, in the
 * cheapest init known).
 *
 * No ticket is verified, no view is read, and not even the method is looked
 * at (a real poll's Worker must tell a GET from anything else). So the
 * distance from hello world to this answer is the answer's shape and the
 * header read, which no implementation of the contract avoids, and the
 * distance from it to Spillway's poll is Spillway's own work, if anything a
 * little overstated (docs/scale.md, "The poll's floor").
 */
import { reusableInit } from "../../src/http/answer-init.ts";
import { OWN_ANSWER_HEADERS } from "../../src/pages/csp.ts";

/** The poll's path is `/_spillway/rooms/:room/status`; the room is what follows `/rooms/`. */
const PREFIX = "/rooms/";
const SUFFIX = "/status";
/**
 * Spillway's own answers' headers (the same object its poll takes them from), and the poll's two,
 * in the cheapest init known (the one Spillway's poll uses: src/http/answer-init.ts).
 */
const INIT = reusableInit({ ...OWN_ANSWER_HEADERS, "content-type": "application/json", "retry-after": "5" });
let served = 0;

/**
 * Where Spillway with the floor in front (in-spillway.ts) answers with the
 * floor: the poll's path under this prefix in place of `/_spillway/`.
 */
export const FLOOR_PREFIX = "/_floor/";

/** The floor's answer to a poll; a 400 for anything that is not one. */
export function floorAnswer(request: Request): Response {
  const url = request.url;
  const at = url.indexOf(PREFIX);
  const headers = request.headers;
  const auth = headers.has("cookie") ? null : headers.get("authorization");
  if (at === -1 || !url.endsWith(SUFFIX) || auth === null || !auth.startsWith("Bearer ")) {
    return new Response("not a poll", { status: 400 });
  }
  const room = url.slice(at + PREFIX.length, url.length - SUFFIX.length);
  // A place that changes, as a line does: the JSON is written for each answer.
  const position = 200 - (served++ % 7);
  return new Response(
    JSON.stringify({
      room,
      state: "queued",
      position,
      ahead: position - 1,
      etaSeconds: 600 + position,
      pollAfterSeconds: 5,
      startsAt: null,
      recordingUrl: null,
    }),
    INIT,
  );
}

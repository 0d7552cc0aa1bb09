/**
 * The requests that come by the thousand, answered before the router: the
 * JWKS and the OpenAPI document (static), an app's waiting poll (`GET
 * /_spillway/rooms/:room/status` with its ticket as the bearer and no
 * cookie), and an app's request with its pass as the bearer (`GET
 * /rooms/:room/...`: a playlist, a segment, a stream) while the room's view
 * vouches for the pass. Each answer here is exactly what the routed app gives (same
 * status, body and headers); building a router context per request cost
 * more than such a request does itself (docs/scale.md, "Benchmark").
 *
 * Anything off the common case (a cookie, an oversized credential, a bad
 * ticket, an answer that hands out a token or names a failure policy) goes
 * on to the app. A poll that already reached the desk hands its answer on
 * (`handedOn`), so the app answers it without asking the room again.
 */
import type { FlowAnswer } from "../edge/desk.ts";
import { RoomDesk } from "../edge/desk.ts";
import { JWKS_PATH, OPENAPI_PATH, openApiJson } from "../contract/openapi.ts";
import { clock } from "../policy/clock.ts";
import { roomIdOf } from "../policy/room-id.ts";
import { keyRing, readyKeyRing, type KeyRing } from "../tokens/keys.ts";
import { claimedKind, MAX_CREDENTIAL_HEADER, type TokenKind } from "../edge/credentials.ts";
import { readCompactJws } from "../tokens/compact-jws.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { isWebSocketUpgrade } from "../edge/proxy.ts";
import { isLivePath, pathOf } from "../edge/live-paths.ts";
import { OWN_ANSWER_HEADERS } from "../pages/csp.ts";
import { reusableInit } from "./answer-init.ts";
import { plainStatusJson } from "./answers.ts";
import { HIDDEN_SEPARATOR, type SeatOpen, seatByView, seatInView } from "./guarded.ts";
import { servesRoom } from "./room-request.ts";
import { knownRooms } from "../edge/room-gate.ts";
import { plainCall, seatBound, toOrigin } from "./to-origin.ts";

/** What answers what the hot paths hand on: the routed app (its `fetch`, called with the request's env and context). */
export interface App {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/**
 * The public documents' answers: their bytes, encoded once (a Response copies
 * bytes for less than it encodes a string each time), and one init for all
 * (answer-init.ts), with the headers of Spillway's own JSON that may be
 * cached a while.
 */
const CACHEABLE_JSON_INIT = reusableInit({
  ...OWN_ANSWER_HEADERS,
  "content-type": "application/json",
  "cache-control": "public, max-age=300",
});
const jwksBytes = new WeakMap<KeyRing, Uint8Array>();
let openApiBytes: Uint8Array | null = null;

const POLL_PREFIX = "/_spillway/rooms/";
const ROOM_PREFIX = "/rooms/";
const POLL_SUFFIX = "/status";

/** Polls answered in part here: the app renders the desk's answer instead of asking again. */
export const handedOn = new WeakMap<Request, FlowAnswer>();

/**
 * The answer to a request on a hot path, or null when it is not one (the
 * app answers it). `app` answers what this hands on. The static answers come
 * back as they are, with no promise to wait for, once the keys are
 * imported; a promise of null also leaves the request to the app.
 */
export function hotPath(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  app: App,
): Response | Promise<Response | null> | null {
  if (request.method !== "GET") return null;
  const url = request.url;
  // Neither the scheme nor the host holds a "?": the first is the query's.
  const query = url.indexOf("?");
  const path = pathOf(url, query);
  // The public documents read no header: nothing of the request but its method and path is looked at.
  if (path === JWKS_PATH) {
    const ready = readyKeyRing(env);
    // Keys that cannot be imported: the app answers, as it answers that fault.
    return ready !== null ? jwksAnswer(ready) : keyRing(env).then(jwksAnswer, () => null);
  }
  if (path === OPENAPI_PATH) {
    openApiBytes ??= new TextEncoder().encode(openApiJson());
    return new Response(openApiBytes, CACHEABLE_JSON_INIT);
  }
  // A fault on the way (the room's objects out of reach): the app answers it from the start, as it does faults.
  if (path.startsWith(ROOM_PREFIX) && query === -1) {
    const end = path.indexOf("/", ROOM_PREFIX.length);
    const room = end === -1 ? path.slice(ROOM_PREFIX.length) : path.slice(ROOM_PREFIX.length, end);
    return (passToOriginNow(request, env, ctx, room, path) ?? passToOrigin(request, env, ctx, room, path)).catch(
      () => null,
    );
  }
  if (path.startsWith(POLL_PREFIX) && path.endsWith(POLL_SUFFIX)) {
    const room = path.slice(POLL_PREFIX.length, path.length - POLL_SUFFIX.length);
    const search = query === -1 ? "" : url.slice(query);
    return (
      appPollNow(request, env, ctx, room, search) ?? appPoll(request, env, ctx, room, search, app).catch(() => null)
    );
  }
  return null;
}

/** The JWKS of this key ring, its bytes made once. */
function jwksAnswer(keys: KeyRing): Response {
  let bytes = jwksBytes.get(keys);
  if (bytes === undefined) jwksBytes.set(keys, (bytes = new TextEncoder().encode(JSON.stringify(keys.jwks))));
  return new Response(bytes, CACHEABLE_JSON_INIT);
}

/** `?keep=1` (or `true`): the listener keeps its place over the recording offer. */
function keepOf(search: string): boolean {
  if (search === "") return false;
  const keep = new URLSearchParams(search).get("keep");
  return keep === "1" || keep === "true";
}

/**
 * `appPoll` with nothing to wait for: the room known to be served, the keys
 * imported, the ticket verified here before, a view in hand and a plain
 * answer (still in line). Null for anything else, before anything was done.
 */
function appPollNow(request: Request, env: Env, ctx: ExecutionContext, room: string, search: string): Response | null {
  const token = bearerFor(request, "ticket");
  const desk = token === null ? null : deskNow(env, ctx, room);
  if (token === null || desk === null) return null;
  const ticket = desk.checkedTicket(token);
  if (ticket === null) return null;
  const answer = desk.statusNow(ticket, keepOf(search));
  return answer === null ? null : plainStatusJson(answer);
}

/**
 * An app's waiting poll: its ticket as the bearer, no cookie (so nothing
 * else is presented, and no stray cookie to clear). Null for any other poll.
 */
async function appPoll(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  search: string,
  app: App,
): Promise<Response | null> {
  const opened = await deskWithBearer(request, env, ctx, room, "ticket");
  if (opened === null) return null;
  const { desk, token } = opened;
  const ticket = await desk.checkTicket(token);
  if (!ticket.ok) return null;
  const answer = await desk.status(ticket.claims, keepOf(search), undefined);
  const plain = plainStatusJson(answer);
  if (plain !== null) return plain;
  handedOn.set(request, answer);
  return app.fetch(request, env, ctx);
}

/**
 * An app's request with its pass as the bearer, no cookie, no query (where a
 * token could hide) and no WebSocket, while the room's view vouches for the
 * pass and it needs no renewal: to the origin, tied to its seat, as the
 * routed app does (guarded.ts, to-origin.ts). Null for anything else,
 * before anything was done.
 */
async function passToOrigin(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  path: string,
): Promise<Response | null> {
  if (!passRequest(request, path)) return null;
  const opened = await deskWithBearer(request, env, ctx, room, "pass");
  if (opened === null) return null;
  const { desk, token } = opened;
  const pass = await desk.checkPass(token);
  if (!pass.ok) return null;
  const seat = await seatByView(desk, pass.claims, token);
  // The view just read may list the path as live (live-paths.ts): then the app holds it before the origin.
  if (!seat.open || seat.renew || isLivePath(path)) return null;
  return originAnswer(request, desk, env, ctx, pass.claims, seat);
}

/**
 * `passToOrigin` with nothing to wait for before the origin is asked: the
 * room known to be served, the keys imported, the pass verified here before
 * and a view in hand that vouches for it. Null for anything else, before
 * anything was done (then `passToOrigin`).
 */
function passToOriginNow(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  path: string,
): Promise<Response> | null {
  if (!passRequest(request, path)) return null;
  const token = bearerFor(request, "pass");
  const desk = token === null ? null : deskNow(env, ctx, room);
  if (token === null || desk === null) return null;
  const claims = desk.checkedPass(token);
  const view = claims === null ? null : desk.viewNow();
  if (claims === null || view === null) return null;
  const seat = seatInView(desk, claims, token, view, false);
  if (!seat.open || seat.renew) return null;
  return originAnswer(request, desk, env, ctx, claims, seat);
}

/**
 * Is this a request the pass path may take: no hidden separator, no
 * WebSocket, not a path known to stream live (held before the origin is
 * asked: live-paths.ts), not asking JSON?
 */
function passRequest(request: Request, path: string): boolean {
  if (HIDDEN_SEPARATOR.test(path) || isWebSocketUpgrade(request) || isLivePath(path)) return false;
  return !(request.headers.get("accept") ?? "").includes("application/json");
}

/** To the origin with a pass whose seat is open, the answer tied to the seat. */
async function originAnswer(
  request: Request,
  desk: RoomDesk,
  env: Env,
  ctx: ExecutionContext,
  claims: PassClaims,
  seat: SeatOpen,
): Promise<Response> {
  const call = plainCall(request, desk, env, ctx);
  return seatBound(call, await toOrigin(call, claims, seat.token, true), claims, seat.expiresAt, seat.onPass);
}

/**
 * What both app paths start with: no cookie (nothing else presented, no stray
 * cookie to clear), a well-formed room id of a served room, and a bearer of
 * `kind`; the room's desk and the token, or null (nothing done).
 */
async function deskWithBearer(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  kind: TokenKind,
): Promise<{ desk: RoomDesk; token: string } | null> {
  const id = roomIdOf(room);
  const token = id === null ? null : bearerFor(request, kind);
  if (id === null || token === null || (await servesRoom(env, id)) !== true) return null;
  return { desk: await RoomDesk.open(env, id, ctx), token };
}

/**
 * The room's desk with nothing to wait for, once the request's bearer was
 * found (the now-paths make no object to hand both back): null for a room
 * id that is not well formed, while the room's service or the keys are not
 * yet known here (then `deskWithBearer`), or when the deployment's settings
 * cannot be read (the app answers that fault).
 */
function deskNow(env: Env, ctx: ExecutionContext, room: string): RoomDesk | null {
  const id = roomIdOf(room);
  if (id === null) return null;
  try {
    // One read of the clock for both, and the settings read once, by the desk: each costs a call.
    const now = clock.now();
    const desk = RoomDesk.openNow(env, id, ctx, now);
    return desk !== null && knownRooms.servesNow(desk.settings.rooms, id, now) === true ? desk : null;
  } catch {
    return null;
  }
}

/** No cookie and a bearer of `kind`: the token, else null. */
function bearerFor(request: Request, kind: TokenKind): string | null {
  const headers = request.headers;
  return headers.has("cookie") ? null : bearerOf(headers, kind);
}

/**
 * The bearer token, when the Authorization header is one of a sane size and
 * the token says it is of this kind (as the app routes a bearer to its
 * verifier: credentials.ts `claimedKind`). What a header says is remembered
 * (BEARER_KINDS): a client sends the same one again and again.
 *
 * The header a request brings is a fresh string each time, and the first
 * time a fresh string is looked up in a Map the engine makes a key of it
 * (hashes and interns all of it, a few hundred bytes): about 900 machine
 * instructions a poll (docs/scale.md, "The poll's floor").
 * So the headers are remembered under a number made from their last
 * characters (a token's signature ends it), and a header found so is taken
 * only when it is the same text. Two headers with the same number take
 * each other's place; neither is ever taken for the other.
 */
function bearerOf(headers: Headers, kind: TokenKind): string | null {
  const auth = headers.get("authorization");
  if (auth === null || auth.length > MAX_CREDENTIAL_HEADER) return null;
  const print = tailPrint(auth);
  let known = bearerKinds.get(print);
  if (known === undefined || known.auth !== auth) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    const jws = bearer === null ? null : readCompactJws(bearer[1]!);
    if (known === undefined && bearerKinds.size >= BEARER_KINDS) bearerKinds.delete(bearerKinds.keys().next().value!);
    known = { auth, token: jws?.token ?? "", kind: jws === null ? null : claimedKind(jws) };
    bearerKinds.set(print, known);
  }
  return known.kind === kind ? known.token : null;
}

/** How many of a header's last characters its number is made from. */
const PRINT_CHARS = 12;

/** A 32-bit number from the text's length and its last PRINT_CHARS characters. */
function tailPrint(text: string): number {
  let print = text.length;
  for (let i = Math.max(0, text.length - PRINT_CHARS); i < text.length; i++) {
    print = (Math.imul(print, 31) + text.charCodeAt(i)) | 0;
  }
  return print;
}

/** Authorization headers remembered by their `tailPrint`, with the token and the kind it claims (the oldest go first). */
const BEARER_KINDS = 4096;
const bearerKinds = new Map<number, { auth: string; token: string; kind: TokenKind | null }>();

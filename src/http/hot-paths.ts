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
import { ROOM_ID } from "../policy/room-id.ts";
import { keyRing, readyKeyRing, type KeyRing } from "../tokens/keys.ts";
import { claimedKind, MAX_CREDENTIAL_HEADER, type TokenKind } from "../edge/credentials.ts";
import { readCompactJws } from "../tokens/compact-jws.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { isWebSocketUpgrade } from "../edge/proxy.ts";
import { isLivePath, pathOf } from "../edge/live-paths.ts";
import { OWN_ANSWER_HEADERS } from "../pages/csp.ts";
import { plainStatusJson } from "./answers.ts";
import { HIDDEN_SEPARATOR, type SeatOpen, seatByView, seatInView } from "./guarded.ts";
import { servesRoom, servesRoomNow } from "./room-request.ts";
import { plainCall, seatBound, toOrigin } from "./to-origin.ts";

/** What answers what the hot paths hand on: the routed app (its `fetch`, called with the request's env and context). */
export interface App {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
}

/** Headers of Spillway's own JSON that may be cached a while (the JWKS, the OpenAPI document). */
const CACHEABLE_JSON = new Headers({
  ...OWN_ANSWER_HEADERS,
  "content-type": "application/json",
  "cache-control": "public, max-age=300",
});

/**
 * The public documents' answers: their bytes, encoded once (a Response copies
 * bytes for less than it encodes a string each time), and one init for all.
 */
const CACHEABLE_JSON_INIT: ResponseInit = { headers: CACHEABLE_JSON };
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
  const path = pathOf(url);
  // Neither the scheme nor the host holds a "?": the first is the query's.
  const query = url.indexOf("?");
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
  const opened = deskWithBearerNow(request, env, ctx, room, "ticket");
  if (opened === null) return null;
  const { desk, token } = opened;
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
  const opened = deskWithBearerNow(request, env, ctx, room, "pass");
  if (opened === null) return null;
  const { desk, token } = opened;
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
 * cookie to clear), a served room, and a bearer of `kind`; the room's desk
 * and the token, or null (nothing done).
 */
async function deskWithBearer(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  kind: TokenKind,
): Promise<{ desk: RoomDesk; token: string } | null> {
  const token = bearerFor(request, room, kind);
  if (token === null || (await servesRoom(env, room)) !== true) return null;
  return { desk: await RoomDesk.open(env, room, ctx), token };
}

/**
 * `deskWithBearer` with nothing to wait for: null as well while the room's
 * service or the keys are not yet known here (then `deskWithBearer`), or when
 * the deployment's settings cannot be read (the app answers that fault).
 */
function deskWithBearerNow(
  request: Request,
  env: Env,
  ctx: ExecutionContext,
  room: string,
  kind: TokenKind,
): { desk: RoomDesk; token: string } | null {
  const token = bearerFor(request, room, kind);
  if (token === null) return null;
  try {
    if (servesRoomNow(env, room) !== true) return null;
    const desk = RoomDesk.openNow(env, room, ctx);
    return desk === null ? null : { desk, token };
  } catch {
    return null;
  }
}

/** No cookie, a room id and a bearer of `kind`: the token, else null. */
function bearerFor(request: Request, room: string, kind: TokenKind): string | null {
  const headers = request.headers;
  if (headers.has("cookie") || !ROOM_ID.test(room)) return null;
  return bearerOf(headers, kind);
}

/**
 * The bearer token, when the Authorization header is one of a sane size and
 * the token says it is of this kind (as the app routes a bearer to its
 * verifier: credentials.ts `claimedKind`). What a header says is remembered
 * (BEARER_KINDS): a client sends the same one again and again.
 */
function bearerOf(headers: Headers, kind: TokenKind): string | null {
  const auth = headers.get("authorization");
  if (auth === null || auth.length > MAX_CREDENTIAL_HEADER) return null;
  let known = bearerKinds.get(auth);
  if (known === undefined) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    const jws = bearer === null ? null : readCompactJws(bearer[1]!);
    known = { token: jws?.token ?? "", kind: jws === null ? null : claimedKind(jws) };
    if (bearerKinds.size >= BEARER_KINDS) bearerKinds.delete(bearerKinds.keys().next().value!);
    bearerKinds.set(auth, known);
  }
  return known.kind === kind ? known.token : null;
}

/** Authorization headers remembered with the token and the kind it claims (the oldest go first). */
const BEARER_KINDS = 4096;
const bearerKinds = new Map<string, { token: string; kind: TokenKind | null }>();

/**
 * The edge Worker's routes: listener endpoints, the guarded room path, the
 * JWKS and the admin API. Policy lives in ../admission; this layer only turns
 * HTTP into flow calls and flow answers into cookies, pages and JSON.
 *
 * When a Durable Object cannot be reached, the flow's answers carry the
 * failure policy that applied (failure-policy.ts, docs/failure-policy.md);
 * here it becomes the `Spillway-Policy` and `Retry-After` headers.
 */
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { isWebSocketUpgrade, proxy, RETRY_AFTER_SECONDS } from "../edge/proxy.ts";
import { answerSlackMs, holdRoundMs, type TieOptions, tieSocket, tieStream } from "../edge/seat-tie.ts";
import type { HoldAnswer } from "../objects/seat-holds.ts";
import type { SeatEnd } from "../policy/ledger.ts";
import { demoOrigin } from "../demo/demo.tsx";
import { originTally, readAnswer, withoutSignals } from "../edge/origin-signals.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { keyRing } from "../tokens/keys.ts";
import { admin } from "./admin.ts";
import { clock } from "../policy/clock.ts";
import { durableCall, DurableFailure } from "../edge/durable-call.ts";
import { clearStrayCookies } from "../edge/credentials.ts";
import { clearTokenCookie, presented, setTokenCookie, strayCookies } from "./cookies.ts";
import { type ErrorCode, tokenError } from "../contract/errors.ts";
import { fail } from "./fail.ts";
import { failureRetryAfter, POLICY, POLICY_HEADER, type PolicyApplied } from "../policy/failure-policy.ts";
import { type Degraded, type FlowAnswer, RoomDesk } from "../edge/desk.ts";
import { ROOM_ID } from "../policy/room-id.ts";
import { knownRooms } from "../edge/room-gate.ts";
import { settingsOf } from "../edge/settings.ts";
import { DIRECTORY_NAME } from "../objects/room-directory.ts";
import { endedHere, expireView, isRevoked, noteEnded, vouchesForPasses } from "../edge/view-cache.ts";
import { OPENAPI_PATH, openApiJson } from "../contract/openapi.ts";
import { chooseLanguage } from "../pages/waiting/language.ts";
import { waitingPage } from "../pages/waiting/page.tsx";
import { challengePage } from "../pages/challenge/page.tsx";
import { reconnectingPage } from "../pages/waiting/reconnecting.ts";
import { CHALLENGE_WORKER_PATH, challengeWorkerResponse } from "../pages/challenge/worker.ts";

/** The room's desk is read with `c.get("desk")`: `c.var` copies every variable into a new object per read. */
type AppEnv = { Bindings: Env; Variables: { desk: RoomDesk; fromOrigin: boolean } };

/**
 * Headers every answer of Spillway's own carries (not the origin's answers it
 * forwards): nothing in it may run or be framed unless the answer says
 * otherwise (pages set a CSP with their script nonce), no type sniffing, and
 * no caching unless the answer says it may be.
 */
const OWN_ANSWER_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Largest Cookie or Authorization header accepted. */
const MAX_CREDENTIAL_HEADER = 8 * 1024;

export const app = new Hono<AppEnv>();

app.use("*", async (c, next) => {
  const cookie = c.req.header("cookie");
  const auth = c.req.header("authorization");
  if ((cookie?.length ?? 0) > MAX_CREDENTIAL_HEADER || (auth?.length ?? 0) > MAX_CREDENTIAL_HEADER) {
    return fail(c, "headers_too_large");
  }
  await next();
  if (c.get("fromOrigin") === true) return;
  const headers = c.res.headers;
  if (!headers.has("content-security-policy")) headers.set("content-security-policy", OWN_ANSWER_CSP);
  headers.set("x-content-type-options", "nosniff");
  // Only what says it may be cached (the JWKS, the OpenAPI document, the solver script) is.
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
});

const withRoom = async (c: Context<AppEnv>, next: () => Promise<void>) => {
  const room = c.req.param("room") ?? "";
  if (!ROOM_ID.test(room)) return fail(c, "bad_room");
  const served = await servesRoom(c, room);
  if (served !== true) return served === false ? fail(c, "not_found") : unavailable(c, null);
  c.set("desk", await RoomDesk.open(c.env, room, (work) => c.executionCtx.waitUntil(work)));
  await next();
  // Plain-named cookies tossed from a sibling subdomain are ignored, and cleared here.
  const stray = strayCookies(c, room);
  if (stray.length > 0 && c.res.status !== 101) clearStrayCookies(c.res.headers, room, stray);
  return undefined;
};

/** Does this deployment serve `room` (ROOMS, room-gate.ts)? null when the room directory cannot be read. */
async function servesRoom(c: Context<AppEnv>, room: string): Promise<boolean | null> {
  const load = async () => {
    const directory = c.env.ROOM_DIRECTORY.getByName(DIRECTORY_NAME);
    return (await durableCall("rooms", () => directory.list())).map((entry) => entry.room);
  };
  try {
    return await knownRooms.serves(settingsOf(c.env).rooms, room, clock.now(), load);
  } catch (err) {
    if (!(err instanceof DurableFailure)) throw err;
    return null;
  }
}

app.get("/_spillway/jwks.json", async (c) => {
  const keys = await keyRing(c.env);
  return c.json(keys.jwks, 200, { "cache-control": "public, max-age=300" });
});

/** The OpenAPI document of this contract, generated from the schemas the code's types come from. */
app.get(OPENAPI_PATH, (c) =>
  c.body(openApiJson(), 200, { "content-type": "application/json", "cache-control": "public, max-age=300" }),
);

app.route("/_spillway/admin", admin);

/** The waiting page's proof-of-work solver (under-attack mode), a Web Worker script. */
app.get(CHALLENGE_WORKER_PATH, () => challengeWorkerResponse());

/** Cookies for what the flow handed out, then the answer as JSON. */
function applyTokens(c: Context<AppEnv>, answer: FlowAnswer & { kind: "status" }): void {
  const { room, settings } = c.get("desk");
  if (answer.newTicket !== undefined) {
    setTokenCookie(c, "ticket", room, answer.newTicket, settings.timings.ticketTtlMs / 1000);
  }
  if (answer.newPass !== undefined) {
    setTokenCookie(c, "pass", room, answer.newPass.token, answer.newPass.exp - c.get("desk").now / 1000);
  }
  if (answer.newOverflow !== undefined) {
    setTokenCookie(c, "overflow", room, answer.newOverflow, settings.timings.ticketTtlMs / 1000);
  }
}

/** Has the listener chosen to keep (or take) a place in line over the recording offer? (`?keep=1`) */
function keepsPlace(c: Context<AppEnv>): boolean {
  const keep = c.req.query("keep");
  return keep === "1" || keep === "true";
}

/**
 * Headers of every flow answer: never cached; a waiting listener is also
 * told when to poll again; an answer the failure policy made names it.
 */
function answerHeaders(answer: FlowAnswer): Record<string, string> {
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (answer.kind === "status" && answer.status.state !== "admitted" && answer.status.state !== "closed") {
    headers["retry-after"] = String(answer.status.pollAfterSeconds);
  }
  if ((answer.kind === "status" || answer.kind === "unavailable") && answer.degraded !== undefined) {
    Object.assign(headers, degradedHeaders(answer.degraded));
  }
  return headers;
}

/** What an answer shaped by a failure carries: the policy, when to try again, never cached. */
function degradedHeaders(degraded: Degraded): Record<string, string> {
  return {
    "cache-control": "no-store",
    "retry-after": String(degraded.retryAfterSeconds),
    [POLICY_HEADER]: degraded.policy,
  };
}

/** 503 `unavailable`: a Durable Object could not be reached and nothing was done; try again after `Retry-After`. */
function unavailable(c: Context, policy: PolicyApplied | null): Response {
  const retryAfterSeconds = failureRetryAfter(clock.random);
  const headers: Record<string, string> =
    policy === null
      ? { "cache-control": "no-store", "retry-after": String(retryAfterSeconds) }
      : degradedHeaders({ policy, retryAfterSeconds });
  return fail(c, "unavailable", undefined, headers);
}

/** The page a browser gets while the room's state cannot be reached (waiting/reconnecting.ts). */
function reconnecting(c: Context<AppEnv>, degraded: Degraded, waiting: boolean) {
  const language = chooseLanguage(c.req.query("lang"), c.req.header("accept-language"));
  return reconnectingPage(c, {
    seconds: degraded.retryAfterSeconds,
    waiting,
    language,
    headers: degradedHeaders(degraded),
  });
}

function answerJson(c: Context<AppEnv>, answer: FlowAnswer): Response {
  for (const [name, value] of Object.entries(answerHeaders(answer))) c.header(name, value);
  switch (answer.kind) {
    case "status":
      applyTokens(c, answer);
      return c.json(answer.status);
    case "spent":
      clearTokenCookie(c, "ticket", c.get("desk").room);
      clearTokenCookie(c, "pass", c.get("desk").room);
      return fail(c, "seat_ended");
    case "seat_ended":
      clearTokenCookie(c, "pass", c.get("desk").room);
      return fail(c, "seat_ended", answer.reason === undefined ? undefined : { reason: answer.reason });
    case "unavailable":
      return fail(c, "unavailable");
    case "challenge":
      return fail(c, answer.code, { challenge: answer.challenge });
    case "limited":
      return fail(c, "too_many_joins", undefined, { "retry-after": String(answer.retryAfterSeconds) });
  }
}

/**
 * A status answer that sets no cookie (what a waiting poll gets) as one
 * Response, built without the Context: `c.header` and `c.json` build the
 * same headers through an extra Headers object that is then copied into the
 * Response, which doubles what building the answer costs in workerd. Null
 * for any other answer. Only for a route that sets no header before it
 * answers (answerJson keeps those).
 */
function plainStatusJson(answer: FlowAnswer): Response | null {
  if (answer.kind !== "status") return null;
  if (answer.newTicket !== undefined || answer.newPass !== undefined || answer.newOverflow !== undefined) return null;
  const headers = { ...answerHeaders(answer), "content-type": "application/json" };
  return new Response(JSON.stringify(answer.status), { headers });
}

/** The ticket the request holds, verified; an error code when it presents a bad one. */
async function heldTicket(c: Context<AppEnv>) {
  const p = presented(c, "ticket", c.get("desk").room);
  if (p === null) return { ticket: null, error: null, from: null } as const;
  const v = await c.get("desk").checkTicket(p.jws ?? p.token);
  if (v.ok) return { ticket: v.claims, error: null, from: p.from } as const;
  return { ticket: null, error: tokenError(v.reason), from: p.from } as const;
}

/** The overflow token the request holds, verified (a bad one is ignored: it only ever shows the offer). */
async function heldOverflow(c: Context<AppEnv>) {
  const p = presented(c, "overflow", c.get("desk").room);
  if (p === null) return null;
  const v = await c.get("desk").checkOverflow(p.token);
  return v.ok ? v.claims : null;
}

/** The pass the request holds, verified; `leaving`: accepted past its `exp` (see RoomDesk.checkLeavingPass). */
async function heldPass(c: Context<AppEnv>, leaving = false) {
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
async function holdingSeat(c: Context<AppEnv>, sub: string): Promise<string | undefined> {
  // The waiting poll's path: without a pass cookie, one string search and no token parsed.
  if (!(c.req.header("cookie") ?? "").includes("-pass-")) return undefined;
  const pass = (await heldPass(c, true)).pass;
  return pass?.sub === sub ? pass.sid : undefined;
}

app.post("/_spillway/rooms/:room/join", withRoom, async (c) => {
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

app.get("/_spillway/rooms/:room/status", withRoom, async (c) => {
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

app.post("/_spillway/rooms/:room/heartbeat", withRoom, async (c) => {
  const held = await heldPass(c);
  if (held.error !== null) return fail(c, held.error);
  if (held.pass === null) return fail(c, "pass_required");
  return answerJson(c, await c.get("desk").heartbeat(held.pass));
});

app.post("/_spillway/rooms/:room/leave", withRoom, async (c) => {
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

/** Forward an admitted request to the origin (or the demo origin), and heed what the origin signals. */
async function toOrigin(
  c: Context<AppEnv>,
  pass: PassClaims,
  token: string,
  bearerWasPass: boolean,
): Promise<{ response: Response; reached: boolean }> {
  const { response, reached } = await forward(c, token, bearerWasPass);
  const desk = c.get("desk");
  const answer = readAnswer(reached ? response : null);
  const distress = originTally.add(desk.room, answer, desk.now);
  if (distress !== null) {
    // Not retried: a report counted twice would cut the limits twice.
    const coordinator = c.env.ROOM_COORDINATOR.getByName(desk.room);
    const report = durableCall("reportOrigin", () => coordinator.reportOrigin(desk.room, distress), { retry: false });
    c.executionCtx.waitUntil(report.catch((err: unknown) => console.warn("origin report failed", String(err))));
  }
  if (answer.release) {
    // The origin says this listener has left: free the seat, as a leave would.
    c.executionCtx.waitUntil(desk.leave(pass).catch((err: unknown) => console.warn("release failed", String(err))));
  }
  return { response: withoutSignals(response), reached };
}

async function forward(
  c: Context<AppEnv>,
  token: string,
  bearerWasPass: boolean,
): Promise<{ response: Response; reached: boolean }> {
  const desk = c.get("desk");
  const origin = desk.settings.origin;
  if (origin === null) {
    const req = new Request(c.req.raw.url, {
      method: c.req.method,
      headers: { "spillway-pass": token, accept: c.req.header("accept") ?? "" },
    });
    const response = await demoOrigin(req, {
      jwks: desk.keys.jwks,
      issuer: desk.settings.issuer,
      heartbeatSeconds: Math.max(1, Math.floor(desk.settings.timings.passTtlMs / 3000)),
      now: desk.now,
    });
    return { response, reached: true };
  }
  const result = await proxy(c.req.raw, origin, token, bearerWasPass);
  if (result.ok) return { response: result.response, reached: true };
  console.warn("origin unreachable", String(result.error));
  return { response: fail(c, "origin_unreachable", undefined, { "retry-after": RETRY_AFTER_SECONDS }), reached: false };
}

/**
 * A zero-length hold: is the seat still this pass's, and until when?
 * `unknown` when the shard cannot say. (The shard forgets a holder that does
 * not call again, so this one needs no goodbye.)
 */
async function firstRound(c: Context<AppEnv>, pass: PassClaims): Promise<HoldAnswer | { kind: "unknown" }> {
  try {
    return await c.get("desk").keeper(pass).hold(crypto.randomUUID(), 0);
  } catch (err) {
    if (!(err instanceof DurableFailure)) throw err;
    return { kind: "unknown" };
  }
}

/**
 * The origin's answer as the listener gets it, living no longer than the
 * seat (origin/seat-tie.ts): a WebSocket is relayed and closed when the seat
 * ends, a body still streaming is cut. A renewal's cookie rides along.
 */
function seatBound(
  c: Context<AppEnv>,
  response: Response,
  pass: PassClaims | null,
  expiresAt: number,
  onPass: boolean,
): Response {
  const desk = c.get("desk");
  const cookies = c.res.headers.getSetCookie();
  if (pass === null) {
    // Spillway's own answer (the origin could not be reached): nothing to tie.
    return withRenewal(new Response(response.body, response), cookies, onPass);
  }
  const tie: TieOptions = {
    keeper: desk.keeper(pass),
    expiresAt,
    roundMs: holdRoundMs(desk.settings.timings.passTtlMs),
    passTtlMs: desk.settings.timings.passTtlMs,
    slackMs: answerSlackMs(desk.settings.timings.passTtlMs),
    now: () => clock.now(),
    newId: () => crypto.randomUUID(),
    background: (work) => c.executionCtx.waitUntil(work.catch((err: unknown) => console.warn("seat tie", String(err)))),
  };
  if (response.webSocket !== null && response.webSocket !== undefined) {
    const headers = new Headers();
    const protocol = response.headers.get("sec-websocket-protocol");
    if (protocol !== null) headers.set("sec-websocket-protocol", protocol);
    for (const cookie of cookies) headers.append("set-cookie", cookie);
    return tieSocket(response.webSocket, tie, headers);
  }
  return withRenewal(tieStream(response, tie), cookies, onPass);
}

/** Keep the Set-Cookie of a renewal on the answer; name the policy when the pass alone let it through. */
function withRenewal(out: Response, cookies: string[], onPass: boolean): Response {
  for (const cookie of cookies) out.headers.append("set-cookie", cookie);
  if (onPass) {
    out.headers.set(POLICY_HEADER, POLICY.pass);
    out.headers.set("cache-control", "no-store");
  }
  return out;
}

function wantsJson(c: Context<AppEnv>): boolean {
  return (c.req.header("accept") ?? "").includes("application/json");
}

/** Refuse a bad token; a bad cookie is also cleared so that a reload starts afresh. */
function refuseCookie(c: Context<AppEnv>, kind: "ticket" | "pass", code: ErrorCode): Response {
  clearTokenCookie(c, kind, c.get("desk").room);
  return fail(c, code);
}

/** The guarded room path: a valid pass goes to the origin; anyone else waits. */
/** Query parameters a token must never travel in (URLs end up in logs, histories and Referer headers). */
const TOKEN_PARAMS = ["ticket", "pass", "token", "overflow"];

/**
 * A token found in the URL is moved out of it: a valid ticket or pass of this
 * room becomes its cookie, anything else is dropped, and the browser is sent
 * (303) to the same URL without it. Null when the URL carries none.
 */
async function tokenOutOfUrl(c: Context<AppEnv>): Promise<Response | null> {
  const url = new URL(c.req.url);
  const found = TOKEN_PARAMS.filter((name) => url.searchParams.has(name));
  if (found.length === 0) return null;
  const desk = c.get("desk");
  // A link never replaces a valid token the browser already holds (a crafted link could swap it).
  const holds = { ticket: (await heldTicket(c)).ticket !== null, pass: (await heldPass(c)).pass !== null };
  for (const name of found) {
    const token = url.searchParams.get(name) ?? "";
    url.searchParams.delete(name);
    const ticket = await desk.checkTicket(token);
    if (ticket.ok) {
      if (!holds.ticket) setTokenCookie(c, "ticket", desk.room, token, ticket.claims.exp - desk.now / 1000);
      continue;
    }
    const pass = await desk.checkPass(token);
    if (pass.ok && !holds.pass) setTokenCookie(c, "pass", desk.room, token, pass.claims.exp - desk.now / 1000);
  }
  c.header("cache-control", "no-store");
  c.header("referrer-policy", "no-referrer");
  return c.redirect(url.pathname + url.search, 303);
}

/**
 * A guarded path whose escapes hide a separator (`%2F`, `%5C`) or a literal
 * backslash: an origin that decodes before it routes could read another
 * room's path in it (`/rooms/a/..%2Fb/x`), so it is refused, never forwarded.
 */
const HIDDEN_SEPARATOR = /%2f|%5c|\\/i;

async function guarded(c: Context<AppEnv>): Promise<Response> {
  if (HIDDEN_SEPARATOR.test(new URL(c.req.url).pathname)) return fail(c, "bad_path");
  const moved = await tokenOutOfUrl(c);
  if (moved !== null) return moved;
  const desk = c.get("desk");
  const pass = await heldPass(c);
  // The seat a lapsed pass names: a claim with the ticket from this device keeps that seat.
  let holding: PassClaims | null = null;
  if (pass.error !== null) {
    // A lapsed cookie is normal (continue as a ticket holder); anything else is refused.
    if (pass.from === "bearer" || pass.error !== "token_expired") return refuseCookie(c, "pass", pass.error);
    holding = (await heldPass(c, true)).pass;
    clearTokenCookie(c, "pass", desk.room);
  }
  let seatGone = false;
  let endedBecause: SeatEnd | undefined;
  if (pass.pass !== null) {
    let token = pass.token;
    let expiresAt = pass.pass.exp * 1000;
    // A pass whose seat ended is refused here before its seat is reused: the room's view lists
    // it. Only a recent view can say so (a seat is reused once its revocation is in every
    // view that recent), and only of a young pass (a seat is also reused once its passes are
    // all older): otherwise the seat's own shard decides, as the pass is renewed on the way.
    const known = await desk.viewOrLast();
    const onPass = known.degraded;
    let seatEnded =
      (known.view !== null && isRevoked(known.view, pass.pass.sid)) || endedHere(desk.room, pass.pass.sid, desk.now);
    const vouched = known.view !== null && vouchesForPasses(known.view, desk.now);
    if (!seatEnded && (!vouched || desk.wantsRenewal(pass.pass))) {
      const renewed = await desk.heartbeat(pass.pass);
      if (renewed.kind === "status" && renewed.newPass !== undefined) {
        applyTokens(c, renewed);
        token = renewed.newPass.token;
        expiresAt = renewed.newPass.exp * 1000;
      } else if (renewed.kind === "unavailable") {
        // Nothing can tell whether the seat is still this pass's: it may be someone else's.
        return wantsJson(c) ? answerJson(c, renewed) : reconnecting(c, renewed.degraded, false);
      } else {
        seatEnded = true;
        if (renewed.kind === "seat_ended") endedBecause = renewed.reason;
        // This isolate refuses it from now on without asking again.
        noteEnded(desk.room, pass.pass.sid, pass.pass.exp * 1000);
      }
    }
    if (!seatEnded && isWebSocketUpgrade(c.req.raw)) {
      // A socket is held from its first message: its seat is checked before the origin hears of it.
      const first = await firstRound(c, pass.pass);
      if (first.kind === "ended") {
        seatEnded = true;
        endedBecause = first.reason;
      } else if (first.kind === "held") expiresAt = first.expiresAt;
    }
    if (seatEnded) {
      clearTokenCookie(c, "pass", desk.room);
      seatGone = true;
      // This device's seat: a claim with the ticket from here cannot take back a seat that moved away.
      holding = pass.pass;
    } else {
      const { response, reached } = await toOrigin(c, pass.pass, token, pass.from === "bearer");
      c.set("fromOrigin", true);
      return seatBound(c, response, reached ? pass.pass : null, expiresAt, onPass);
    }
    if (pass.from === "bearer") {
      return fail(c, "seat_ended", endedBecause === undefined ? undefined : { reason: endedBecause });
    }
  }
  // A WebSocket never waits in line: without a valid pass it is refused, and never reaches the origin.
  if (isWebSocketUpgrade(c.req.raw)) {
    if (!seatGone) return fail(c, "pass_required");
    return fail(c, "seat_ended", endedBecause === undefined ? undefined : { reason: endedBecause });
  }

  const ticket = await heldTicket(c);
  if (ticket.error !== null) {
    if (ticket.from === "bearer" || ticket.error !== "token_expired") return refuseCookie(c, "ticket", ticket.error);
    clearTokenCookie(c, "ticket", desk.room);
  }
  const keep = keepsPlace(c);
  const overflow = ticket.ticket === null && !keep ? await heldOverflow(c) : null;
  let answer =
    ticket.ticket !== null
      ? await desk.status(ticket.ticket, keep, holding?.sub === ticket.ticket.sub ? holding.sid : undefined)
      : overflow !== null
        ? await desk.overflow(overflow)
        : await desk.join(keep, c.req.raw.headers);
  if (answer.kind === "spent" && ticket.from !== "bearer") {
    clearTokenCookie(c, "ticket", desk.room);
    answer = await desk.join(keep, c.req.raw.headers);
  }
  if (answer.kind === "challenge" && !wantsJson(c)) {
    // A browser solves the challenge on the page, in a Web Worker, and joins by itself.
    const target = new URL(c.req.url);
    const { view } = await desk.viewOrLast();
    return challengePage(c, {
      room: desk.room,
      challenge: answer.challenge,
      target: target.pathname + target.search,
      branding: view?.branding,
      language: chooseLanguage(c.req.query("lang"), c.req.header("accept-language")),
    });
  }
  if (answer.kind === "unavailable" && !wantsJson(c)) return reconnecting(c, answer.degraded, false);
  if (wantsJson(c) || answer.kind !== "status") return answerJson(c, answer);
  if (answer.degraded !== undefined && answer.status.state === "queued" && answer.status.position === null) {
    // Still in line, but no view tells where: nothing honest to show but "reconnecting".
    applyTokens(c, answer);
    return reconnecting(c, answer.degraded, true);
  }

  applyTokens(c, answer);
  c.header("cache-control", "no-store");
  const target = new URL(c.req.url);
  if (answer.status.state === "admitted") {
    return c.redirect(target.pathname + target.search, 303);
  }
  c.header("retry-after", String(answer.status.pollAfterSeconds));
  if (answer.degraded !== undefined) c.header(POLICY_HEADER, answer.degraded.policy);
  // The view the answer came from (cached in this isolate, or the last known one): the room's branding.
  const { view } = await desk.viewOrLast();
  return waitingPage(c, {
    status: answer.status,
    target: target.pathname + target.search,
    keep,
    branding: view?.branding,
    language: chooseLanguage(c.req.query("lang"), c.req.header("accept-language")),
  });
}

app.all("/rooms/:room", withRoom, guarded);
app.all("/rooms/:room/*", withRoom, guarded);

app.notFound((c) => fail(c, "not_found"));

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const code: ErrorCode = err.status === 413 ? "body_too_large" : err.status === 404 ? "not_found" : "invalid_body";
    return fail(c, code);
  }
  if (err instanceof DurableFailure) {
    // An admin read or change whose Durable Object could not be reached: nothing was applied.
    return unavailable(c, null);
  }
  console.error("spillway fault", err);
  return fail(c, "internal");
});

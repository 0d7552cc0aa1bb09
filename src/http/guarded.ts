/**
 * The guarded room path, /rooms/:room and everything below it: a listener
 * with a valid pass goes to the origin; anyone else waits in line, on the
 * waiting page (a browser) or with the status JSON (`Accept:
 * application/json`). In a direct room (origin other than `proxy`) nothing
 * is proxied to a browser or an app asking JSON: they get the page's direct
 * state or the admitted status, with where to connect (./direct.ts).
 */
import type { Context } from "hono";
import type { FlowAnswer, RoomDesk } from "../edge/desk.ts";
import { isWebSocketUpgrade } from "../edge/proxy.ts";
import { isLiveUrl } from "../edge/live-paths.ts";
import type { Cut } from "../edge/seat-tie.ts";
import { endedHere, isRevoked, noteEnded, vouchesForPasses } from "../edge/view-cache.ts";
import { POLICY_HEADER } from "../policy/failure-policy.ts";
import type { GlobalView } from "../policy/protocol.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { challengePage } from "../pages/challenge/page.tsx";
import { chooseLanguage } from "../pages/waiting/language.ts";
import { waitingPage } from "../pages/waiting/page.tsx";
import { answerJson, applyTokens, reconnecting, refuseCookie } from "./answers.ts";
import { clearTokenCookie, setTokenCookie } from "./cookies.ts";
import { directAnswer, directKind, directPage } from "./direct.ts";
import { cutError, fail } from "./fail.ts";
import {
  type AppEnv,
  heldOverflow,
  heldPass,
  type HeldTicket,
  heldTicket,
  keepsPlace,
  wantsJson,
} from "./room-request.ts";
import { firstRound, routedCall, seatBound, toOrigin } from "./to-origin.ts";

/**
 * The guarded room path, step by step: refuse a path that hides a separator;
 * move a token out of the URL; read the pass; with one, check its seat (and
 * renew it on the way) and go to the origin while the seat is this pass's
 * (in a direct room, answer where to connect instead); otherwise (no pass,
 * or its seat ended) wait in line, which a WebSocket never does.
 */
export async function guarded(c: Context<AppEnv>): Promise<Response> {
  if (HIDDEN_SEPARATOR.test(new URL(c.req.url).pathname)) return fail(c, "bad_path");
  const moved = await tokenOutOfUrl(c);
  if (moved !== null) return moved;
  const held = await passInHand(c);
  if (held instanceof Response) return held;
  let ended: SeatGone | null = null;
  if (held.pass !== null) {
    const seat = await seatOfPass(c, held.pass, held.token);
    if (seat instanceof Response) return seat;
    if (seat.open) {
      // A direct room: a browser's page, or an app's JSON, says where to connect; an app's other requests go on.
      const json = wantsJson(c);
      const direct = isWebSocketUpgrade(c.req.raw) || (held.from === "bearer" && !json) ? null : await directKind(c);
      if (direct !== null) return directAnswer(c, direct, held.pass, seat, json);
      return toSeat(c, held.pass, seat, held.from === "bearer");
    }
    // Only this connection is cut: the seat, its pass and its cookie are still the listener's.
    if (seat.reason === "replaced") return seatEnded(c, seat.reason);
    ended = seat;
    clearTokenCookie(c, "pass", c.get("desk").room);
    if (held.from === "bearer") return seatEnded(c, ended.reason);
  }
  // A WebSocket never waits in line: without a valid pass it is refused, and never reaches the origin.
  if (isWebSocketUpgrade(c.req.raw)) return ended === null ? fail(c, "pass_required") : seatEnded(c, ended.reason);
  // The seat this device held (a lapsed pass, or one whose seat ended): a claim with the ticket from here keeps it,
  // and cannot take back a seat that moved away.
  return waitInLine(c, held.pass ?? held.lapsed);
}

/** Query parameters a token must never travel in (URLs end up in logs, histories and Referer headers). */
const TOKEN_PARAMS = ["ticket", "pass", "token", "overflow"];

/**
 * A guarded path whose escapes hide a separator (`%2F`, `%5C`) or a literal
 * backslash: an origin that decodes before it routes could read another
 * room's path in it (`/rooms/a/..%2Fb/x`), so it is refused, never forwarded.
 */
export const HIDDEN_SEPARATOR = /%2f|%5c|\\/i;

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

/** The pass the request holds (`pass`), or the seat a lapsed pass cookie names (`lapsed`). */
interface PassInHand {
  pass: PassClaims | null;
  token: string;
  from: "bearer" | "cookie" | null;
  lapsed: PassClaims | null;
}

/**
 * Read the pass. A lapsed cookie is normal: it is cleared and the listener
 * goes on as a ticket holder, keeping the seat it names. Any other bad pass
 * is refused.
 */
async function passInHand(c: Context<AppEnv>): Promise<PassInHand | Response> {
  const held = await heldPass(c);
  if (held.pass !== null) return { pass: held.pass, token: held.token, from: held.from, lapsed: null };
  if (held.error === null) return { pass: null, token: "", from: null, lapsed: null };
  if (held.from === "bearer" || held.error !== "token_expired") return refuseCookie(c, "pass", held.error);
  const lapsed = (await heldPass(c, true)).pass;
  clearTokenCookie(c, "pass", c.get("desk").room);
  return { pass: null, token: "", from: held.from, lapsed };
}

/** A seat that is still this pass's: the pass to send on (renewed or not), until when, and whether the view vouched. */
export interface SeatOpen {
  open: true;
  token: string;
  expiresAt: number;
  /** The room's view could not be read: only the pass let this through (policy `pass`). */
  onPass: boolean;
  /** Renewed on the way: the new pass's cookie is set. */
  renewed: boolean;
  /** Held as the seat's live connection before the origin was asked: the holder's id (firstRound). */
  preHeld?: string;
}

/** A seat that is no longer this pass's, and why when its shard said. */
export interface SeatGone {
  open: false;
  /** `replaced`: not the seat, only this live connection is refused (a newer one of the seat came). */
  reason: Cut | undefined;
}

/** What a look at the seat finds: still this pass's, gone, or a Response when nothing can tell. */
type SeatFound = SeatOpen | SeatGone | Response;

/**
 * Is the seat still this pass's? A pass whose seat ended is refused here
 * before its seat is reused: the room's view lists it. Only a recent view can
 * say so (a seat is reused once its revocation is in every view that recent),
 * and only of a young pass (a seat is also reused once its passes are all
 * older): otherwise the seat's own shard decides, as the pass is renewed on
 * the way. A Response when nothing can tell.
 */
async function seatOfPass(c: Context<AppEnv>, pass: PassClaims, token: string): Promise<SeatFound> {
  const byView = await seatByView(c.get("desk"), pass, token);
  if (!byView.open) return byView;
  let seat: SeatOpen = byView;
  if (byView.renew) {
    const renewed = await renewOnTheWay(c, pass, seat);
    if (renewed instanceof Response || !renewed.open) return renewed;
    seat = renewed;
  }
  // A live connection (a socket, a path known to stream) is held from its first byte: its seat is checked, and
  // the seat's older live connection cut, before the origin hears of it.
  return isWebSocketUpgrade(c.req.raw) || isLiveUrl(c.req.url) ? liveSeat(c, pass, seat) : seat;
}

/**
 * What the room's view alone says of a pass's seat: gone (its revocation is
 * listed, or this isolate saw it end), or open, and then whether only its
 * shard can tell (`renew`: no recent view vouches for it, or the pass is old
 * enough to renew), as it renews the pass on the way.
 */
export async function seatByView(
  desk: RoomDesk,
  pass: PassClaims,
  token: string,
): Promise<(SeatOpen & { renew: boolean }) | SeatGone> {
  const known = await desk.viewOrLast();
  return seatInView(desk, pass, token, known.view, known.degraded);
}

/**
 * `seatByView` with the view in hand: `view` null when none could be had,
 * `degraded` when it is the last known one (the view could not be read).
 */
export function seatInView(
  desk: RoomDesk,
  pass: PassClaims,
  token: string,
  view: GlobalView | null,
  degraded: boolean,
): (SeatOpen & { renew: boolean }) | SeatGone {
  const revoked = view !== null && isRevoked(view, pass.sid);
  if (revoked || endedHere(desk.room, pass.sid, desk.now)) return { open: false, reason: undefined };
  const vouched = view !== null && vouchesForPasses(view, desk.now);
  const renew = !vouched || desk.wantsRenewal(pass);
  return { open: true, token, expiresAt: pass.exp * 1000, onPass: degraded, renewed: false, renew };
}

/**
 * Renew the pass through its shard: the new pass rides along as a cookie.
 * When the shard cannot be reached, nothing can tell whether the seat is
 * still this pass's (it may be someone else's): try again later.
 */
async function renewOnTheWay(c: Context<AppEnv>, pass: PassClaims, seat: SeatOpen): Promise<SeatFound> {
  const desk = c.get("desk");
  const renewed = await desk.heartbeat(pass);
  if (renewed.kind === "status" && renewed.newPass !== undefined) {
    applyTokens(c, renewed);
    return { ...seat, token: renewed.newPass.token, expiresAt: renewed.newPass.exp * 1000, renewed: true };
  }
  if (renewed.kind === "unavailable") {
    return wantsJson(c) ? answerJson(c, renewed) : reconnecting(c, renewed.degraded, false);
  }
  // This isolate refuses it from now on without asking again.
  noteEnded(desk.room, pass.sid, pass.exp * 1000);
  return { open: false, reason: renewed.kind === "seat_ended" ? renewed.reason : undefined };
}

/**
 * A live connection's first round on the seat, before the origin is asked:
 * ended, replaced by a newer one, or held (as `preHeld`, until when the
 * shard says). When the shard cannot say, the seat as the view saw it.
 */
async function liveSeat(c: Context<AppEnv>, pass: PassClaims, seat: SeatOpen): Promise<SeatOpen | SeatGone> {
  const holder = crypto.randomUUID();
  const first = await firstRound(c, pass, holder);
  if (first.kind === "ended") return { open: false, reason: first.reason };
  if (first.kind === "replaced") return { open: false, reason: "replaced" };
  return first.kind === "held" ? { ...seat, expiresAt: first.expiresAt, preHeld: holder } : seat;
}

/** To the origin, the answer tied to the seat. */
async function toSeat(c: Context<AppEnv>, pass: PassClaims, seat: SeatOpen, bearer: boolean): Promise<Response> {
  const call = routedCall(c, seat.renewed);
  const sent = await toOrigin(call, pass, seat.token, bearer);
  c.set("fromOrigin", true);
  return seatBound(call, sent, pass, seat.expiresAt, seat.onPass, seat.preHeld);
}

/** 409 `seat_ended` (with the shard's reason), or `connection_replaced` (cutError). */
function seatEnded(c: Context<AppEnv>, reason: Cut | undefined): Response {
  const { code, extra } = cutError(reason);
  return fail(c, code, extra);
}

/**
 * No pass (or its seat ended): read the ticket (a lapsed cookie is cleared,
 * any other bad one refused), take or keep a place in line, and answer it.
 */
async function waitInLine(c: Context<AppEnv>, holding: PassClaims | null): Promise<Response> {
  const ticket = await heldTicket(c);
  if (ticket.error !== null) {
    if (ticket.from === "bearer" || ticket.error !== "token_expired") return refuseCookie(c, "ticket", ticket.error);
    clearTokenCookie(c, "ticket", c.get("desk").room);
  }
  const keep = keepsPlace(c);
  return answerInLine(c, await placeInLine(c, ticket, keep, holding), keep);
}

/**
 * Where the listener stands: its ticket's place (keeping the seat this
 * device held), the recording offer it took, or a new place. A spent ticket
 * cookie is cleared and a new place taken.
 */
async function placeInLine(
  c: Context<AppEnv>,
  ticket: HeldTicket,
  keep: boolean,
  holding: PassClaims | null,
): Promise<FlowAnswer> {
  const desk = c.get("desk");
  const overflow = ticket.ticket === null && !keep ? await heldOverflow(c) : null;
  const answer =
    ticket.ticket !== null
      ? await desk.status(ticket.ticket, keep, holding?.sub === ticket.ticket.sub ? holding.sid : undefined)
      : overflow !== null
        ? await desk.overflow(overflow)
        : await desk.join(keep, c.req.raw.headers);
  if (answer.kind !== "spent" || ticket.from === "bearer") return answer;
  clearTokenCookie(c, "ticket", desk.room);
  return desk.join(keep, c.req.raw.headers);
}

/**
 * The answer in line: the status JSON or an error to an app; to a browser a
 * page (challenge, reconnecting or waiting), or a redirect to the same URL
 * once admitted (in a direct room, the page's direct state at once: the same
 * URL would only answer it too).
 */
async function answerInLine(c: Context<AppEnv>, answer: FlowAnswer, keep: boolean): Promise<Response> {
  if (answer.kind === "challenge" && !wantsJson(c)) return challengeShown(c, answer);
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
    const direct = await directKind(c);
    if (direct !== null) return directPage(c, direct, answer.status);
    return c.redirect(target.pathname + target.search, 303);
  }
  c.header("retry-after", String(answer.status.pollAfterSeconds));
  if (answer.degraded !== undefined) c.header(POLICY_HEADER, answer.degraded.policy);
  // The view the answer came from (cached in this isolate, or the last known one): the room's branding.
  const { view } = await c.get("desk").viewOrLast();
  return waitingPage(c, {
    status: answer.status,
    target: target.pathname + target.search,
    keep,
    branding: view?.branding,
    language: chooseLanguage(c.req.query("lang"), c.req.header("accept-language")),
  });
}

/** A browser solves the challenge on the page, in a Web Worker, and joins by itself. */
async function challengeShown(c: Context<AppEnv>, answer: FlowAnswer & { kind: "challenge" }): Promise<Response> {
  const desk = c.get("desk");
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

/**
 * An admitted request on its way to the origin (or the demo origin) and
 * back: what the origin signals is heeded, and its answer lives no longer
 * than the seat (edge/seat-tie.ts).
 */
import type { Context } from "hono";
import type { AfterAnswer, RoomDesk } from "../edge/desk.ts";
import { demoOrigin } from "../demo/demo.tsx";
import { durableCall, DurableFailure } from "../edge/durable-call.ts";
import { liveKeyOf, noteLivePath, pathOf } from "../edge/live-paths.ts";
import { originTally, readAnswer, withoutSignals } from "../edge/origin-signals.ts";
import { proxy, RETRY_AFTER_SECONDS } from "../edge/proxy.ts";
import {
  answerSlackMs,
  type Cut,
  holdRoundMs,
  isLiveAnswer,
  type SeatKeeper,
  type TieOptions,
  tieAnswer,
  tieSocket,
} from "../edge/seat-tie.ts";
import type { HoldAnswer } from "../objects/seat-holds.ts";
import { clock } from "../policy/clock.ts";
import { POLICY, POLICY_HEADER } from "../policy/failure-policy.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { cutError, failResponse } from "./fail.ts";
import { type AppEnv, afterAnswerOf } from "./room-request.ts";

/** An admitted request on its way, as the routed app and the hot paths (hot-paths.ts) both see it. */
export interface OriginCall {
  request: Request;
  desk: RoomDesk;
  env: Env;
  /** Where work that outlives the answer goes (the request's context). */
  after: AfterAnswer;
  /** The Set-Cookie lines set on the way (a renewal's), to go along with the answer. */
  cookies: () => string[];
  /** Known to carry no Cookie and to be no WebSocket handshake (the hot paths looked): see originRequest. */
  plain?: boolean;
}

/** Nothing was set on the way. */
const NO_COOKIES = (): string[] => [];

/** The request as the routed app has it; `renewed`: a renewal on the way set its cookie. */
export function routedCall(c: Context<AppEnv>, renewed: boolean): OriginCall {
  return {
    request: c.req.raw,
    desk: c.get("desk"),
    env: c.env,
    after: afterAnswerOf(c),
    // Reading the context's answer would build one: only a renewal set a cookie.
    cookies: () => (renewed ? c.res.headers.getSetCookie() : []),
  };
}

/**
 * The same outside the router, for a hot path's request: nothing was set on
 * the way, and it carries no Cookie and is no WebSocket handshake.
 */
export function plainCall(request: Request, desk: RoomDesk, env: Env, ctx: ExecutionContext): OriginCall {
  return { request, desk, env, after: ctx, cookies: NO_COOKIES, plain: true };
}

/**
 * What the origin answered; `reached` false when it could not be (the answer
 * is Spillway's own); `cancel` aborts the origin request, body and all.
 */
export interface Sent {
  response: Response;
  reached: boolean;
  cancel?: (reason: Error) => void;
}

/** Forward an admitted request to the origin (or the demo origin), and heed what the origin signals. */
export async function toOrigin(
  call: OriginCall,
  pass: PassClaims,
  token: string,
  bearerWasPass: boolean,
): Promise<Sent> {
  const { response, reached, cancel } = await forward(call, token, bearerWasPass);
  const desk = call.desk;
  const answer = readAnswer(reached ? response : null);
  const distress = originTally.add(desk.room, answer, desk.now);
  if (distress !== null) {
    // Not retried: a report counted twice would cut the limits twice.
    const coordinator = call.env.ROOM_COORDINATOR.getByName(desk.room);
    const report = durableCall("reportOrigin", () => coordinator.reportOrigin(desk.room, distress), { retry: false });
    call.after.waitUntil(report.catch((err: unknown) => console.warn("origin report failed", String(err))));
  }
  if (answer.release) {
    // The origin says this listener has left: free the seat, as a leave would.
    call.after.waitUntil(desk.leave(pass).catch((err: unknown) => console.warn("release failed", String(err))));
  }
  return { response: withoutSignals(response, answer), reached, cancel };
}

/** The request as the origin gets it (the demo origin when none is set); `reached` false when it could not be. */
async function forward(call: OriginCall, token: string, bearerWasPass: boolean): Promise<Sent> {
  const desk = call.desk;
  const origin = desk.settings.origin;
  if (origin === null) {
    const req = new Request(call.request.url, {
      method: call.request.method,
      headers: { "spillway-pass": token, accept: call.request.headers.get("accept") ?? "" },
    });
    const response = await demoOrigin(req, {
      jwks: desk.keys.jwks,
      issuer: desk.settings.issuer,
      heartbeatSeconds: Math.max(1, Math.floor(desk.settings.timings.passTtlMs / 3000)),
      now: desk.now,
    });
    return { response, reached: true };
  }
  const result = await proxy(call.request, origin, token, bearerWasPass, call.plain);
  if (result.ok) return { response: result.response, reached: true, cancel: result.cancel };
  console.warn("origin unreachable", String(result.error));
  return { response: failResponse("origin_unreachable", { "retry-after": RETRY_AFTER_SECONDS }), reached: false };
}

/**
 * A zero-length hold of a live connection, before the origin hears of it
 * (`holder`: the id its tie goes on with): is the seat still this pass's,
 * and until when? The seat's older live connection is cut and has let go
 * when it answers `held`; `replaced` when a newer one asked meanwhile.
 * `unknown` when the shard cannot say. (The shard forgets a holder that does
 * not call again; seatBound lets go of one whose answer is not live.)
 */
export async function firstRound(
  c: Context<AppEnv>,
  pass: PassClaims,
  holder: string,
): Promise<HoldAnswer | { kind: "unknown" }> {
  try {
    return await c
      .get("desk")
      .keeper(pass, liveKeyOf(pathOf(c.req.url)))
      .hold(holder, 0, true);
  } catch (err) {
    if (!(err instanceof DurableFailure)) throw err;
    return { kind: "unknown" };
  }
}

/**
 * The origin's answer as the listener gets it, living no longer than the
 * seat (edge/seat-tie.ts): a WebSocket is relayed and closed when the seat
 * ends, a body still streaming is cut. A renewal's cookie rides along.
 */
export async function seatBound(
  call: OriginCall,
  sent: Sent,
  pass: PassClaims,
  expiresAt: number,
  onPass: boolean,
  preHeld?: string,
): Promise<Response> {
  const cookies = call.cookies();
  const { response, reached, cancel } = sent;
  // Held before the origin was asked (firstRound), as a live connection: the tie goes on with that holder,
  // and an answer that is not live lets go of it (a newer live connection of the seat need not wait for it).
  const live = preHeld !== undefined && reached && isLiveAnswer(response);
  if (preHeld !== undefined && !live) {
    call.after.waitUntil(
      call.desk
        .keeper(pass)
        .letGo(preHeld)
        .catch(() => undefined),
    );
  }
  if (!reached) {
    // Spillway's own answer (the origin could not be reached): nothing to tie.
    return withRenewal(new Response(response.body, response), cookies, onPass);
  }
  const tie = new PassTie(call, pass, expiresAt, live ? preHeld : undefined);
  if (response.webSocket !== null && response.webSocket !== undefined) {
    const headers = new Headers();
    const protocol = response.headers.get("sec-websocket-protocol");
    if (protocol !== null) headers.set("sec-websocket-protocol", protocol);
    for (const cookie of cookies) headers.append("set-cookie", cookie);
    return tieSocket(response.webSocket, tie, headers);
  }
  const tied = await tieAnswer(response, tie, seatEndedAnswer, cancel);
  // A short document goes on as the origin's own answer, whose headers cannot change: a copy takes them.
  if (tied === response && (cookies.length > 0 || onPass))
    return withRenewal(new Response(tied.body, tied), cookies, onPass);
  return withRenewal(tied, cookies, onPass);
}

const NOW = () => clock.now();
const NEW_ID = () => crypto.randomUUID();

/** What a pass's tie needs of its room's desk (a RoomDesk has it). */
export interface TieDesk {
  readonly settings: { readonly timings: { readonly passTtlMs: number } };
  keeper(pass: PassClaims, path?: string): SeatKeeper;
  /** A path of the room newly seen streaming here (`media`, or events): the room's other edges are to know it too. */
  noteLivePath(path: string, media: boolean): void;
}

/**
 * The seat tie's options for one admitted request; its keeper is made when
 * first held (most short answers are in before they would be). A class, not
 * an object literal: a literal with a getter is built on the runtime's slow
 * path, about 2 µs a request in workerd against a fraction of one for this.
 * Everything a tie reads is an own property, so a copy (`{ ...tie }`) keeps
 * it all but the keeper, which the copy gives its own. bench:parts makes
 * these very options (bench/parts/index.ts).
 */
export class PassTie implements TieOptions {
  readonly expiresAt: number;
  readonly roundMs: number;
  readonly passTtlMs: number;
  readonly slackMs: number;
  readonly now = NOW;
  readonly newId: () => string = NEW_ID;
  readonly background: (work: Promise<unknown>) => void;
  readonly #request: Request | undefined;
  readonly #desk: TieDesk;
  readonly #pass: PassClaims;
  #keeper: SeatKeeper | undefined;

  /** `holder`: the id the tie holds with (one already held before the origin was asked), else a new one. */
  constructor(
    call: { desk: TieDesk; after: AfterAnswer; request?: Request },
    pass: PassClaims,
    expiresAt: number,
    holder?: string,
  ) {
    const passTtlMs = call.desk.settings.timings.passTtlMs;
    if (holder !== undefined) this.newId = () => holder;
    this.expiresAt = expiresAt;
    this.roundMs = holdRoundMs(passTtlMs);
    this.passTtlMs = passTtlMs;
    this.slackMs = answerSlackMs(passTtlMs);
    this.background = (work) =>
      call.after.waitUntil(work.catch((err: unknown) => console.warn("seat tie", String(err))));
    this.#request = call.request;
    this.#desk = call.desk;
    this.#pass = pass;
  }

  /**
   * The answer is a live stream: its path is one (live-paths.ts), held before
   * the origin is asked next time, here and (once the room's view lists it)
   * in every isolate.
   */
  onLive(media: boolean): void {
    const path = this.#request === undefined ? null : noteLivePath(this.#request.url, media);
    if (path !== null) this.#desk.noteLivePath(path, media);
  }

  get keeper(): SeatKeeper {
    // Keyed by the request's path (a media path by the room): a seat holds one live connection per key.
    return (this.#keeper ??= this.#desk.keeper(
      this.#pass,
      this.#request === undefined ? "" : liveKeyOf(pathOf(this.#request.url)),
    ));
  }
}

/** What the listener gets when its seat ends (or a newer live connection replaces it) before its answer is in. */
function seatEndedAnswer(reason: Cut): Response {
  const { code, extra } = cutError(reason);
  return failResponse(code, {}, extra);
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

/**
 * A proxied connection lives no longer than its seat.
 *
 * Live audio is held, not requested: an Icecast mount or a progressive
 * MP3/Ogg answer, server-sent events, a WebSocket. Checking the pass when such
 * a connection opens is not enough — it would go on for the whole show after
 * its seat ended, and the origin would count one listener more than the room
 * holds. So every proxied body that is still streaming, and every proxied
 * WebSocket, is tied to its seat:
 *
 * - While it is open it keeps one long call open to the seat's shard
 *   (`RoomShard.hold`): each call renews the lease, then waits a round (27 s
 *   at the default 60 s pass lifetime: renewed before half a lifetime has
 *   passed, see `ownedUntil`) or until the seat ends. A connected listener
 *   therefore needs no heartbeat of its own, and costs about two Durable
 *   Object calls a minute, plus one when the connection closes.
 * - When the seat ends — a leave from any device, a release by ops or the
 *   origin, the ticket claimed on a newer device, a lapsed lease — the shard
 *   answers the pending call at once, and the connection is cut: the origin's
 *   body is cancelled (the origin sees its client go) and the listener's
 *   stream ends; a WebSocket is closed on both sides with a 4001–4003 code.
 * - One seat, one live connection per path: a live stream (isLiveAnswer) or
 *   a WebSocket is what an origin counts as a listener, so a newer one of the
 *   same seat on the same path replaces the older (`replaced`: cut, 4004, the
 *   seat goes on).
 *   One known to be live before the origin is asked (a WebSocket, a path seen
 *   streaming: live-paths.ts) is held first, so the origin never counts both.
 * - When the shard cannot be reached, the connection goes on only as long as
 *   the seat is certainly still its own, were it to have ended unseen: its
 *   revocation confirmed (CONFIRM_AFTER_MS after the failure) or its passes too
 *   old to be honoured anywhere (half a lifetime after its last renewal,
 *   `ownedUntil`), less a margin. Past that, it is cut as `lapsed`; a seat is
 *   never shared.
 *
 * Responses of known length start holding only when they are still streaming
 * after HOLD_AFTER_MS, so an ordinary page or segment costs no call at all;
 * short ones (WHOLE_ANSWER_BYTES) are read whole before they go on, so most
 * need no pipe either (tieAnswer). A short document (a page, JSON, a
 * playlist: isDocumentType) is no listener to any origin and ends by itself:
 * it goes on as the origin sent it, untied.
 */
import { CONFIRM_AFTER_MS } from "../policy/pass-trust.ts";
import { ANSWER_SLACK_MS, ownedUntil, SAFETY_MARGIN_MS } from "../policy/hold-round.ts";

export {
  ANSWER_SLACK_MS,
  answerSlackMs,
  holdRoundMs,
  MAX_ANSWER_SLACK_MS,
  ownedUntil,
  SAFETY_MARGIN_MS,
} from "../policy/hold-round.ts";
import type { SeatEnd } from "../policy/lease.ts";
import type { HoldAnswer } from "../objects/seat-holds.ts";

/** How long a known-length answer may stream before it holds its seat like a live stream. */
export const HOLD_AFTER_MS = 2_000;
/** When the known lease has already run out, how long a renewal may take before the connection is cut. */
export const LAST_CALL_GRACE_MS = 1_000;

/** Pause after a failed hold call before the next one. */
export const RETRY_AFTER_FAILURE_MS = 500;
/**
 * How long a stream cut because its seat moved to a newer device waits
 * before it says goodbye to the shard (whose claim answers the newer device
 * only then, or after LET_GO_WAIT_MS): an origin counts a closed connection
 * out only when it next writes to it (Icecast: at its next chunks of the
 * stream, 0.35–0.85 s at 64 kbit/s), and must never count both devices.
 */
export const ORIGIN_NOTICE_MS = 1_500;
/**
 * How long a closed socket's goodbye waits once the origin has answered its
 * close: the origin counts it out when the connection under it is gone, a
 * moment after the closing handshake (a WebSocket origin may count a
 * listener until then). Measured at a `ws` origin on a 2-core machine: 14–33 ms
 * later at load 5, over 100 ms at load 7.5. The whole wait, the answer
 * included, is at most ORIGIN_NOTICE_MS, as a cut stream's.
 */
export const SOCKET_SETTLE_MS = 500;
/** A wait that nothing cuts short. */
const NEVER = new Promise<void>(() => undefined);

/**
 * Why a connection was cut: its seat ended, or (`replaced`) a newer live
 * connection of the same seat took its place (one seat, one live connection).
 */
export type Cut = SeatEnd | "replaced";

/**
 * WebSocket close codes for a cut connection (the reason text is
 * `seat_ended:<reason>`, or `connection_replaced`).
 */
export const SEAT_CLOSE_CODES: Record<Cut, number> = { left: 4001, moved: 4002, lapsed: 4003, replaced: 4004 };

/** The close reason that goes with SEAT_CLOSE_CODES. */
export function cutText(cut: Cut): string {
  return cut === "replaced" ? "connection_replaced" : `seat_ended:${cut}`;
}

/** The seat as a held connection keeps it: the shard's hold call and its goodbye. */
export interface SeatKeeper {
  /**
   * Renew the seat and wait up to `waitMs` for it to end. `live`: a
   * connection an origin counts as a listener (one per seat and path, see
   * objects/seat-holds.ts). Throws when the shard cannot be reached.
   */
  hold(holder: string, waitMs: number, live?: boolean): Promise<HoldAnswer>;
  /** The connection is closed (safe to repeat). */
  letGo(holder: string): Promise<void>;
}

export interface TieOptions {
  keeper: SeatKeeper;
  /** Until when (ms) the seat is known to be this listener's: its pass's expiry, or a renewal's. */
  expiresAt: number;
  /**
   * The pass lifetime: a seat is certain only until `ownedUntil` of its last
   * known expiry (absent: until that expiry itself).
   */
  passTtlMs?: number;
  /** How long one hold call waits in the shard at most (holdRoundMs). */
  roundMs: number;
  /** Time allowed for a call's answer on top of its round (answerSlackMs; ANSWER_SLACK_MS when absent). */
  slackMs?: number;
  now: () => number;
  /** A fresh holder id. */
  newId: () => string;
  /** Run work that outlives the answer (the request's waitUntil). */
  background: (work: Promise<unknown>) => void;
  /** Wait (a timer by default; tests inject one). */
  sleep?: (ms: number, signal: Promise<void>) => Promise<void>;
  /** Hears that the answer is a live stream (isLiveAnswer), and whether it is media (isMediaType) or events. */
  onLive?(media: boolean): void;
}

/**
 * A pause of `ms`, its timer cleared once `stop` settles: a timer left to
 * lapse (`scheduler.wait` has nothing to clear) wakes the isolate once more
 * after what it waited on is over, and in Node it would keep the process alive.
 */
function pause(ms: number, stop: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const clear = () => clearTimeout(timer);
  void stop().then(clear, clear);
  return new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
}

/** A timer that also ends when `stop` settles. */
function timerSleep(ms: number, stop: Promise<void>): Promise<void> {
  return Promise.race([pause(ms, () => stop), stop]);
}

type Step = { kind: "answer"; answer: HoldAnswer } | { kind: "failed" } | { kind: "closed" } | { kind: "deadline" };

/**
 * Keep the seat while `closed` has not settled. Resolves with why the
 * connection is to be cut, or null when it closed first. `holdNow`: hold at
 * once; otherwise after HOLD_AFTER_MS. `live`: what an origin counts as a
 * listener (a live stream, a WebSocket), held as the seat's only one on its
 * path: a newer one there replaces it.
 */
export async function watchSeat(
  opts: TieOptions,
  holder: string,
  holdNow: boolean,
  closed: Promise<void>,
  live = holdNow,
): Promise<Cut | null> {
  const sleep = opts.sleep ?? timerSleep;
  let isClosed = false;
  const done = closed.then(() => {
    isClosed = true;
  });
  if (!holdNow) {
    await sleep(HOLD_AFTER_MS, done);
    if (isClosed) return null;
  }
  let expiresAt = opts.expiresAt;
  // After a call that failed, the seat may have ended unseen: certain only until its
  // revocation could be confirmed. Reset by the next answer.
  let doubtedUntil = Infinity;
  const owned = () =>
    Math.min(opts.passTtlMs === undefined ? expiresAt : ownedUntil(expiresAt, opts.passTtlMs), doubtedUntil);
  for (;;) {
    const now = opts.now();
    const slack = opts.slackMs ?? ANSWER_SLACK_MS;
    let round = opts.roundMs;
    // A call that does not fail is taken to renew the seat as it arrives (the shard answers it the
    // moment the seat ends): its answer is due a round and the slack later. After a failure, or
    // without a pass lifetime to reckon with, only what is known counts: it must answer before then.
    let deadline = now + round + slack;
    if (doubtedUntil !== Infinity || opts.passTtlMs === undefined) {
      const certain = owned() - SAFETY_MARGIN_MS;
      deadline = Math.max(certain, now + (certain <= now ? LAST_CALL_GRACE_MS : 0));
      round = Math.max(0, Math.min(opts.roundMs, deadline - now - slack));
    }
    const call: Promise<Step> = opts.keeper.hold(holder, round, live).then(
      (answer) => ({ kind: "answer", answer }),
      () => ({ kind: "failed" }),
    );
    const stop = new Promise<void>((resolve) => void call.then(() => resolve()));
    const step = await Promise.race<Step>([
      call,
      done.then(() => ({ kind: "closed" })),
      sleep(deadline - now, Promise.race([stop, done])).then(() => ({ kind: "deadline" })),
    ]);
    if (step.kind === "closed" || isClosed) return null;
    if (step.kind === "deadline") return "lapsed";
    if (step.kind === "answer") {
      if (step.answer.kind === "ended") return step.answer.reason;
      if (step.answer.kind === "replaced") return "replaced";
      expiresAt = step.answer.expiresAt;
      doubtedUntil = Infinity;
      continue;
    }
    // Not reached this time: try again shortly, while the seat is known to be ours.
    if (doubtedUntil === Infinity) doubtedUntil = opts.now() + CONFIRM_AFTER_MS;
    if (opts.now() >= owned() - SAFETY_MARGIN_MS) return "lapsed";
    await sleep(Math.min(RETRY_AFTER_FAILURE_MS, owned() - SAFETY_MARGIN_MS - opts.now()), done);
    if (isClosed) return null;
  }
}

/** Why a connection was cut: carried as the abort reason of a stream. */
export class SeatEnded extends Error {
  readonly reason: Cut;
  constructor(reason: Cut) {
    super(cutText(reason));
    this.name = "SeatEnded";
    this.reason = reason;
  }
}

/** The options with a keeper that notes whether it was ever called (no call: nothing to let go of). */
function holding(opts: TieOptions): { opts: TieOptions; called: () => boolean } {
  let called = false;
  const keeper: SeatKeeper = {
    hold: (holder, waitMs, live) => {
      called = true;
      return opts.keeper.hold(holder, waitMs, live);
    },
    letGo: (holder) => opts.keeper.letGo(holder),
  };
  return { opts: { ...opts, keeper }, called: () => called };
}

/** An identity stream for the body: of fixed length when the answer says its length (workerd), else open. */
function passThrough(length: number | null): TransformStream<Uint8Array, Uint8Array> {
  if (length !== null && typeof FixedLengthStream === "function") return new FixedLengthStream(length);
  return new TransformStream<Uint8Array, Uint8Array>();
}

/** Media an origin counts a listener of while it streams: audio, video, Ogg, server-sent events. */
const LIVE_TYPE = /^\s*(?:audio\/|video\/|application\/ogg\b|text\/event-stream\b)/i;
/** Of those, the media a listener hears or watches (not server-sent events). */
const MEDIA_TYPE = /^\s*(?:audio\/|video\/|application\/ogg\b)/i;

/**
 * What no origin counts a listener of: pages and text (not server-sent
 * events), JSON and XML, images, and playlists (HLS, M3U, PLS, DASH and XSPF
 * manifests, some of them typed as audio). Anything else, an answer with no
 * type included, may be media.
 */
const DOCUMENT_TYPE =
  /^\s*(?:text\/(?!event-stream\b)|image\/|application\/(?:json|xml|javascript|[\w.-]+\+(?:json|xml))\b|(?:application|audio)\/(?:vnd\.apple\.mpegurl|(?:x-)?mpegurl|x-scpls)\b)/i;

/** Is an answer of this content type a document (a page, JSON, a playlist) rather than possibly media? */
export function isDocumentType(contentType: string | null): boolean {
  return contentType !== null && DOCUMENT_TYPE.test(contentType);
}

/** Is a live answer of this content type media (audio, video, Ogg), rather than server-sent events? */
export function isMediaType(contentType: string | null): boolean {
  return MEDIA_TYPE.test(contentType ?? "");
}

/**
 * Is this answer what an origin counts as a listener while it lasts: a
 * WebSocket, or a live stream (audio, video or server-sent events with no
 * declared length)? The tie holds it as its seat's only live connection on
 * its path. A page or API answer sent in chunks is not one.
 */
export function isLiveAnswer(response: Response): boolean {
  if (response.webSocket !== null && response.webSocket !== undefined) return true;
  if (response.body === null || declaredLength(response) !== null) return false;
  return LIVE_TYPE.test(response.headers.get("content-type") ?? "");
}

/** The declared body length, or null when the answer streams without one. */
function declaredLength(response: Response): number | null {
  const raw = response.headers.get("content-length");
  return raw !== null && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : null;
}

/**
 * The origin's answer with its body tied to the seat: the body streams as it
 * comes (piped natively), and is cut when the seat ends. `onCut` hears why.
 */
export function tieStream(response: Response, opts: TieOptions, onCut?: (reason: Cut) => void): Response {
  const body = response.body;
  if (body === null) return response;
  const length = declaredLength(response);
  // A compressed answer's length is the compressed one, while the body arrives decoded:
  // only an uncompressed answer keeps its fixed length on the way through.
  const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  const { readable, writable } = passThrough(encoding === "identity" ? length : null);
  const abort = new AbortController();
  // Settles when the body is through, the listener went away, or the seat cut it.
  const piped = body.pipeTo(writable, { signal: abort.signal, preventAbort: true }).then(
    () => undefined,
    () => undefined,
  );
  const live = isLiveAnswer(response);
  if (live) opts.onLive?.(isMediaType(response.headers.get("content-type")));
  const holder = opts.newId();
  const held = holding(opts);
  const watched = watchSeat(held.opts, holder, length === null, piped, live).then(async (reason) => {
    // A live stream the listener hung up is counted by the origin until it next writes to it, as a cut one is.
    const counted = reason === "moved" || reason === "replaced" || (reason === null && live);
    if (reason !== null) {
      onCut?.(reason);
      abort.abort(new SeatEnded(reason));
      await piped;
      // The origin's side is cancelled; the listener's ends: cleanly for a live stream,
      // as a broken answer when a length was promised and not met.
      const writer = writable.getWriter();
      await (length === null ? writer.close() : writer.abort(new SeatEnded(reason))).catch(() => undefined);
    }
    // Moved, replaced, or a live stream hung up: the origin counts it out before the seat's next one is answered.
    if (counted && held.called()) await (opts.sleep ?? timerSleep)(ORIGIN_NOTICE_MS, NEVER);
    if (held.called()) await opts.keeper.letGo(holder);
  });
  opts.background(watched);
  return new Response(readable, response);
}

/** Answers of declared length up to this many bytes are read whole before they go on (tieAnswer). */
export const WHOLE_ANSWER_BYTES = 64 * 1024;

/**
 * The origin's answer tied to its seat, as tieStream does, except for short
 * answers of declared length (at most WHOLE_ANSWER_BYTES):
 *
 * - A short document (a page, JSON, a playlist: isDocumentType) goes on as
 *   the origin sent it, the very Response, its body unread. No origin counts
 *   a listener of it, and it ends by itself; the seat's end refuses the
 *   listener's next request instead.
 * - Any other (an audio segment, an answer of no known type) is read whole
 *   first and then goes on as it is: the origin is done with it before the
 *   listener gets it, so nothing is left to tie and no pipe is kept open per
 *   request. One still arriving after HOLD_AFTER_MS holds its seat as a live
 *   stream does, and is cancelled at the origin if the seat ends (`cancel`:
 *   the origin request's abort); the listener then gets `ended(reason)` at
 *   once instead.
 */
export function tieAnswer(
  response: Response,
  opts: TieOptions,
  ended: (reason: Cut) => Response,
  cancel: (reason: SeatEnded) => void = () => undefined,
): Response | Promise<Response> {
  const body = response.body;
  if (body === null) return response;
  const length = declaredLength(response);
  if (length === null || length > WHOLE_ANSWER_BYTES) return tieStream(response, opts);
  if (isDocumentType(response.headers.get("content-type"))) return response;
  const encoding = (response.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  if (encoding !== "identity") return tieStream(response, opts);
  // Read natively in one go (a reader loop in the isolate cost more than the rest of the tie).
  const read = response.arrayBuffer();
  // One promise, settled by whichever comes first, the body or the seat's end: no race against a
  // timer's promise (10,000 instructions a request fewer: bench:instructions, its pass case).
  let answered = false;
  let answer!: (out: Response) => void;
  const out = new Promise<Response>((resolve) => (answer = resolve));
  // The timer is cleared once the body is in: one left to lapse would wake the isolate again per answer.
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Answer the listener with what comes first (the body, its break, the seat's end); false if already answered. */
  const settle = (made: () => Response): boolean => {
    clearTimeout(timer);
    if (answered) return false;
    answered = true;
    answer(made());
    return true;
  };
  // Still arriving after HOLD_AFTER_MS: hold the seat until it is in; if the seat ends first,
  // answer `ended` at once and cancel it at the origin.
  const late = () => {
    if (answered) return;
    const holder = opts.newId();
    const held = holding(opts);
    // Not live: an answer of known length ends by itself, and is never replaced.
    const watched = watchSeat(held.opts, holder, true, read.then(noop, noop), false).then(async (reason) => {
      if (reason !== null && settle(() => ended(reason))) cancel(new SeatEnded(reason));
      if (held.called()) await opts.keeper.letGo(holder);
    });
    opts.background(watched);
  };
  if (opts.sleep === undefined) timer = setTimeout(late, HOLD_AFTER_MS);
  else void opts.sleep(HOLD_AFTER_MS, read.then(noop, noop)).then(late);
  read.then(
    (bytes) => settle(() => new Response(bytes, response)),
    (broken: unknown) => settle(() => brokenAnswer(broken, response)),
  );
  return out;
}

const noop = () => undefined;

/** The origin's body broke off: so does the listener's, as it would have through a pipe. */
function brokenAnswer(error: unknown, response: Response): Response {
  const broken = new ReadableStream<Uint8Array>({ start: (controller) => controller.error(error) });
  return new Response(broken, response);
}

/** Close codes a relay may pass on as they are; anything else becomes 1000. */
function relayableCode(code: number): number {
  if (code === 1000 || (code >= 3000 && code <= 4999)) return code;
  if ((code >= 1001 && code <= 1003) || (code >= 1007 && code <= 1014)) return code;
  return 1000;
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(relayableCode(code), reason.slice(0, 120));
  } catch {
    // Already closed or closing.
  }
}

function sendQuietly(socket: WebSocket, data: string | ArrayBuffer): void {
  try {
    socket.send(data);
  } catch {
    // The other side is closing; its close event ends the relay.
  }
}

/**
 * Relay a WebSocket between the listener and the origin (`upstream`, the
 * origin's accepted socket), messages both ways unchanged, tied to the seat:
 * when the seat ends, or a newer live connection of the seat replaces it,
 * both sides are closed with SEAT_CLOSE_CODES and `cutText`. Returns the 101
 * answer for the listener.
 */
export function tieSocket(upstream: WebSocket, opts: TieOptions, headers?: HeadersInit): Response {
  const pair = new WebSocketPair();
  const client = pair[0];
  const listener = pair[1];
  upstream.accept();
  listener.accept();
  let finish!: () => void;
  const closed = new Promise<void>((resolve) => (finish = resolve));
  // The origin's side is through once its closing handshake is: it counts the socket out then.
  let originDone!: () => void;
  const originClosed = new Promise<void>((resolve) => (originDone = resolve));
  listener.addEventListener("message", (e) => sendQuietly(upstream, e.data));
  upstream.addEventListener("message", (e) => sendQuietly(listener, e.data));
  listener.addEventListener("close", (e) => {
    closeQuietly(upstream, e.code, e.reason);
    finish();
  });
  upstream.addEventListener("close", (e) => {
    closeQuietly(listener, e.code, e.reason);
    originDone();
    finish();
  });
  listener.addEventListener("error", () => {
    closeQuietly(upstream, 1011, "listener error");
    finish();
  });
  upstream.addEventListener("error", () => {
    closeQuietly(listener, 1011, "origin error");
    originDone();
    finish();
  });
  const holder = opts.newId();
  const sleep = opts.sleep ?? timerSleep;
  const watched = watchSeat(opts, holder, true, closed).then(async (reason) => {
    if (reason !== null) {
      const code = SEAT_CLOSE_CODES[reason];
      closeQuietly(listener, code, cutText(reason));
      closeQuietly(upstream, code, cutText(reason));
      finish();
    }
    // However it closed, the seat's next live connection (whose first round waits for this goodbye) goes
    // to the origin only once the origin has closed this one, and had a moment to let its connection go:
    // a close sent is not a close counted, and the origin would serve both for that long.
    await sleep(ORIGIN_NOTICE_MS - SOCKET_SETTLE_MS, originClosed);
    await sleep(SOCKET_SETTLE_MS, NEVER);
    await opts.keeper.letGo(holder);
  });
  opts.background(watched);
  return new Response(null, { status: 101, webSocket: client, headers });
}

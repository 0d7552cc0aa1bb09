/**
 * A listener's Janus client for the browser: the smallest piece of the Janus
 * API a receive-only listener needs, over Janus's HTTP transport with long
 * polling, every request carrying the stored token Spillway handed out
 * (`"token"` in each POST body and `?token=` on each long-poll GET).
 *
 * - AudioBridge (`janus.plugin.audiobridge`): `join` the room muted, then
 *   `configure` with a receive-only offer (one audio transceiver,
 *   `recvonly`: no microphone is ever asked for); Janus answers on the
 *   long poll.
 * - Streaming (`janus.plugin.streaming`): `watch` the mountpoint; Janus
 *   offers on the long poll, and the answer goes back with `start`.
 * ICE is not trickled: each description is sent once its gathering is
 * complete (or after a few seconds), which keeps the exchange to a handful
 * of requests.
 *
 * The session lives while the long poll runs (Janus counts each GET as a
 * sign of life) and a `keepalive` goes every 25 s besides. It ends when
 * Spillway ends the seat: Spillway removes the token and destroys the
 * session, after which Janus answers error 458 "No such session" (or 403 to
 * a request, HTTP 403 to a long poll) and sends no more media. A long poll
 * already pending is not woken by that (Janus answers it only at its 30 s
 * timeout), so the media path is watched too: when the PeerConnection or
 * its DTLS transport drops, the session is asked at once (a keepalive) and
 * a refused one ends the listener. `onEnd` is called once, whatever ended it.
 *
 * Written for the waiting page (./direct.ts) but free of it: tests and other
 * pages can drive it with any `connect` of kind `janus`.
 */

/** The `connect` object of a janus room's admitted status, as far as this client reads it. */
export interface JanusConnect {
  /** The Janus API base, e.g. https://media.example/janus. */
  url: string;
  /** A stored Janus token, sent with every request. */
  token: string;
  plugin: string;
  /** AudioBridge room id or Streaming mountpoint id. */
  room: number | string;
}

/** Why a listener stopped: its seat was ended on Janus (`revoked`), the media dropped (`failed`), or `stop()`. */
export type JanusEnd = "revoked" | "failed" | "stopped";

export interface JanusListenerOptions {
  /** The remote audio, once it arrives. */
  onTrack: (stream: MediaStream) => void;
  /** Called once when the listener ends after `start()` resolved (not for a `start()` that rejects). */
  onEnd: (why: JanusEnd) => void;
  /** Milliseconds between keepalives (default 25 000; Janus's session timeout is 60 s by default). */
  keepaliveMs?: number;
  /** Display name in an AudioBridge room (default "listener"). */
  display?: string;
}

/** A Janus API error answer (`{"janus": "error"}`) or a plugin's own `error_code`. */
export class JanusError extends Error {
  override readonly name = "JanusError";
  readonly code: number;
  constructor(code: number, reason: string) {
    super(`Janus error ${code}: ${reason}`);
    this.code = code;
  }
  /** The token or the session is gone: the seat ended (403 unauthorized, 458 no such session, 459 no such handle). */
  get revoked(): boolean {
    return this.code === 403 || this.code === 458 || this.code === 459;
  }
}

export const AUDIOBRIDGE = "janus.plugin.audiobridge";
export const STREAMING = "janus.plugin.streaming";

type Json = Record<string, unknown>;
interface Jsep {
  type: RTCSdpType;
  sdp: string;
}

const KEEPALIVE_MS = 25_000;
/** Longest wait for ICE gathering before a description is sent with what it has. */
const GATHER_MS = 4_000;
/** Longest wait for the plugin's answer to a request (events arrive on the long poll). */
const EVENT_MS = 20_000;
/** Janus answers a long poll within 30 s; a GET that hangs past this is dropped and made again. */
const POLL_TIMEOUT_MS = 40_000;

/** One receive-only listener on one Janus plugin. */
export class JanusListener {
  readonly #connect: JanusConnect;
  readonly #options: JanusListenerOptions;
  readonly #base: string;
  #session: number | null = null;
  #handle: number | null = null;
  #pc: RTCPeerConnection | null = null;
  #ended = false;
  #started = false;
  #keepalive: ReturnType<typeof setInterval> | undefined;
  #poll: AbortController | null = null;
  /** Events the long poll brought that no waiter has taken yet. */
  #unclaimed: Json[] = [];
  #waiters: Array<{ match: (event: Json) => boolean; done: (event: Json) => void }> = [];

  constructor(connect: JanusConnect, options: JanusListenerOptions) {
    this.#connect = connect;
    this.#options = options;
    this.#base = connect.url.replace(/\/+$/, "");
  }

  /** The PeerConnection, once made (for stats). */
  get peerConnection(): RTCPeerConnection | null {
    return this.#pc;
  }

  /**
   * Create the session, attach, negotiate; resolves once the remote
   * description is set (audio follows as soon as ICE connects). Rejects with
   * a JanusError (`revoked` when the token is refused) or a network error;
   * everything started is torn down then.
   */
  async start(): Promise<void> {
    try {
      this.#session = idOf(await this.#post({ janus: "create" }));
      void this.#longPoll();
      this.#keepalive = setInterval(() => void this.#ping(), this.#options.keepaliveMs ?? KEEPALIVE_MS);
      this.#handle = idOf(await this.#post({ janus: "attach", plugin: this.#connect.plugin }, [this.#session]));
      if (this.#connect.plugin === STREAMING) await this.#watch();
      else await this.#joinBridge();
      this.#started = true;
    } catch (err) {
      this.#teardown();
      throw err;
    }
  }

  /** Stop listening and leave Janus (the session is destroyed, best effort). */
  stop(): void {
    if (this.#ended) return;
    const session = this.#session;
    this.#end("stopped");
    if (session !== null) this.#post({ janus: "destroy" }, [session]).catch(() => undefined);
  }

  /** AudioBridge: join muted (a listener), then configure with a receive-only offer and take Janus's answer. */
  async #joinBridge(): Promise<void> {
    const room = this.#connect.room;
    const display = this.#options.display ?? "listener";
    // The token again for the room's allowed list (a room whose list is on admits listed tokens only).
    const token = this.#connect.token;
    await this.#request(
      { request: "join", room, muted: true, display, token },
      (data) => data.audiobridge === "joined",
    );
    const pc = this.#peer();
    pc.addTransceiver("audio", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await this.#gathered(pc);
    const event = await this.#request(
      { request: "configure", muted: true },
      (_data, e) => jsepOf(e)?.type === "answer",
      offer,
    );
    await pc.setRemoteDescription(jsepOf(event)!);
    this.#watchTransports(pc);
  }

  /** Streaming: watch the mountpoint, answer Janus's offer, and start. */
  async #watch(): Promise<void> {
    const event = await this.#request(
      { request: "watch", id: this.#connect.room },
      (_data, e) => jsepOf(e)?.type === "offer",
    );
    const pc = this.#peer();
    await pc.setRemoteDescription(jsepOf(event)!);
    await pc.setLocalDescription(await pc.createAnswer());
    this.#watchTransports(pc);
    const answer = await this.#gathered(pc);
    await this.#request({ request: "start" }, (data) => isObject(data.result) || data.streaming === "event", answer);
  }

  /** The PeerConnection, with the remote track handed on and its drops watched. */
  #peer(): RTCPeerConnection {
    const pc = new RTCPeerConnection();
    this.#pc = pc;
    pc.addEventListener("track", (e) => {
      this.#options.onTrack(e.streams[0] ?? new MediaStream([e.track]));
    });
    pc.addEventListener("connectionstatechange", () => {
      const state = pc.connectionState;
      if (state === "disconnected" || state === "failed" || state === "closed") void this.#check();
    });
    return pc;
  }

  /**
   * Watch each receiver's DTLS transport: Janus closes it within a moment of
   * ending the session, long before the connection state notices. Called once
   * both descriptions are set (a transport is null before that: in the
   * Streaming flow the track arrives with Janus's offer, before the answer).
   */
  #watchTransports(pc: RTCPeerConnection): void {
    for (const receiver of pc.getReceivers()) {
      const transport = receiver.transport;
      transport?.addEventListener("statechange", () => {
        if (transport.state === "closed" || transport.state === "failed") void this.#check();
      });
    }
  }

  /** The local description once ICE gathering completes (or after GATHER_MS, with the candidates it has). */
  async #gathered(pc: RTCPeerConnection): Promise<Jsep> {
    if (pc.iceGatheringState !== "complete") {
      await new Promise<void>((done) => {
        const timer = setTimeout(done, GATHER_MS);
        pc.addEventListener("icegatheringstatechange", () => {
          if (pc.iceGatheringState === "complete") {
            clearTimeout(timer);
            done();
          }
        });
      });
    }
    const local = pc.localDescription!;
    return { type: local.type, sdp: local.sdp };
  }

  /**
   * A plugin request: the message (with `jsep`) is acked at once, and its
   * outcome comes as an event on the long poll, matched by transaction. A
   * plugin's `error_code` rejects.
   */
  async #request(body: Json, done: (data: Json, event: Json) => boolean, jsep?: Jsep): Promise<Json> {
    const transaction = newTransaction();
    const outcome = this.#waitFor(transaction, done);
    const message: Json = { janus: "message", body, transaction };
    if (jsep !== undefined) message.jsep = jsep;
    // Janus may answer a synchronous request as "success" with the plugin's data right away.
    const ack = await this.#post(message, [this.#session!, this.#handle!]);
    if (ack.janus === "success") this.#deliver({ ...ack, transaction });
    return outcome;
  }

  #waitFor(transaction: string, done: (data: Json, event: Json) => boolean): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error("no answer from Janus in time"));
      }, EVENT_MS);
      const waiter = {
        match: (event: Json) => event.transaction === transaction,
        done: (event: Json) => {
          const data = pluginData(event);
          if (typeof data.error_code === "number") {
            finish();
            reject(new JanusError(data.error_code, String(data.error ?? "")));
          } else if (done(data, event)) {
            finish();
            resolve(event);
          }
        },
      };
      const finish = () => {
        clearTimeout(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
      };
      this.#waiters.push(waiter);
      for (const event of this.#unclaimed.filter(waiter.match)) waiter.done(event);
    });
  }

  /** An event of the long poll: the end of the session, or a plugin's answer for a waiter. */
  #deliver(event: Json): void {
    switch (event.janus) {
      case "keepalive":
      case "ack":
      case "webrtcup":
      case "media":
      case "slowlink":
        return;
      case "hangup":
      case "detached":
      case "timeout":
        this.#end(this.#started ? "revoked" : "failed");
        return;
      case "error": {
        const error = isObject(event.error) ? event.error : {};
        if (new JanusError(Number(error.code), "").revoked) this.#end("revoked");
        return;
      }
    }
    const waiter = this.#waiters.find((w) => w.match(event));
    if (waiter === undefined) {
      this.#unclaimed.push(event);
      if (this.#unclaimed.length > 20) this.#unclaimed.shift();
    } else waiter.done(event);
  }

  /** The long poll, one GET after another while the listener lives; HTTP 403 (token gone) ends it. */
  async #longPoll(): Promise<void> {
    let failures = 0;
    while (!this.#ended && this.#session !== null) {
      const query = new URLSearchParams({ maxev: "10", rid: String(Date.now()), token: this.#connect.token });
      this.#poll = new AbortController();
      const timer = setTimeout(() => this.#poll?.abort(), POLL_TIMEOUT_MS);
      try {
        const res = await fetch(`${this.#base}/${this.#session}?${query}`, {
          signal: this.#poll.signal,
          cache: "no-store",
        });
        if (res.status === 403 || res.status === 404) {
          this.#end("revoked");
          return;
        }
        if (!res.ok) throw new Error(`long poll: HTTP ${res.status}`);
        const answer = (await res.json()) as unknown;
        failures = 0;
        for (const event of Array.isArray(answer) ? answer : [answer]) if (isObject(event)) this.#deliver(event);
      } catch {
        if (this.#ended) return;
        // A network error: ask again after a short, growing pause; the keepalive says if the session is gone.
        failures += 1;
        await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** failures)));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** A keepalive: a session Janus no longer knows (or a refused token) ends the listener. */
  async #ping(): Promise<boolean> {
    if (this.#session === null || this.#ended) return false;
    try {
      await this.#post({ janus: "keepalive" }, [this.#session]);
      return true;
    } catch (err) {
      if (err instanceof JanusError && err.revoked) this.#end("revoked");
      return false;
    }
  }

  /** The media path dropped: is the session still there? If not, the seat ended; if it is, the media failed. */
  async #check(): Promise<void> {
    if (this.#ended || !this.#started) return;
    const alive = await this.#ping();
    const state = this.#pc?.connectionState;
    if (alive && (state === "failed" || state === "closed")) this.#end("failed");
  }

  /** One Janus API POST with the token and a transaction; the answer, or a JanusError for `{"janus": "error"}`. */
  async #post(body: Json, path: number[] = []): Promise<Json> {
    const res = await fetch([this.#base, ...path].join("/"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ transaction: newTransaction(), ...body, token: this.#connect.token }),
      cache: "no-store",
    });
    if (res.status === 403) throw new JanusError(403, "refused");
    if (!res.ok) throw new Error(`Janus API: HTTP ${res.status}`);
    const answer = (await res.json()) as unknown;
    if (!isObject(answer)) throw new Error("Janus API: not an object");
    if (answer.janus === "error") {
      const error = isObject(answer.error) ? answer.error : {};
      throw new JanusError(Number(error.code), String(error.reason ?? ""));
    }
    return answer;
  }

  #end(why: JanusEnd): void {
    if (this.#ended) return;
    this.#teardown();
    if (this.#started) this.#options.onEnd(why);
  }

  /** Stop every timer, request and the media; a `start()` still waiting for an event is rejected. */
  #teardown(): void {
    this.#ended = true;
    clearInterval(this.#keepalive);
    this.#poll?.abort();
    this.#pc?.close();
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) waiter.done({ plugindata: { data: { error_code: 458, error: "ended" } } });
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function idOf(answer: Json): number {
  const data = isObject(answer.data) ? answer.data : {};
  if (typeof data.id !== "number") throw new Error("Janus API: no id in the answer");
  return data.id;
}

function pluginData(event: Json): Json {
  const plugindata = isObject(event.plugindata) ? event.plugindata : {};
  return isObject(plugindata.data) ? plugindata.data : {};
}

function jsepOf(event: Json): Jsep | undefined {
  const jsep = event.jsep;
  if (!isObject(jsep) || typeof jsep.sdp !== "string") return undefined;
  return jsep.type === "offer" || jsep.type === "answer" ? { type: jsep.type, sdp: jsep.sdp } : undefined;
}

function newTransaction(): string {
  return crypto.randomUUID();
}

/**
 * Direct mode with Janus, at a shard: the seats whose listener joins a Janus
 * WebRTC server directly, with a stored token Janus itself enforces
 * (src/origins/janus.ts).
 *
 * - A seat given to a listener gets a token of its own (`janus:<token>` on
 *   its lease), added through the Admin API for the room's plugin only
 *   (AudioBridge or Streaming). Janus refuses every request without a token
 *   it holds, so only seated listeners can create a session and attach.
 * - When the seat ends, the token is removed (no new request with it works)
 *   and every session that attached with it is destroyed (its media stops).
 *   In an AudioBridge room the seat is let go only once AudioBridge no
 *   longer lists the participants those sessions had: it drops a destroyed
 *   session's participant on the handle's own thread, tens of milliseconds
 *   later under load (hundreds on a busy machine), and until then it counts
 *   it. So the listener the seat goes to next never finds Janus still
 *   counting the one before. A mass leave takes its tokens back together
 *   (TAKE_BACK_AT_ONCE Admin API calls at a time), not one seat after another.
 * - Once a round, the sessions are listed (and each new one's handles asked
 *   for the token they attached with; a session's token never changes, so
 *   that is cached): a live seat whose token has a session is renewed, with
 *   no heartbeat; one whose session was seen and is gone ends as a leave,
 *   and its token is then removed. A seat never connected keeps to its
 *   lease (heartbeats, else it lapses and its token is removed).
 * - One seat, one session: Janus lets a token open any number, and counts
 *   each. A token listed with more than one keeps its newest (the device the
 *   listener moved to, a page reloaded) and the others are destroyed then.
 *   For that alone the sessions are listed more often than a round, every
 *   ONE_SESSION_EVERY_MS (one Admin API call: the tokens of sessions already
 *   seen are cached).
 * - One session, one handle: Janus also lets a session attach any number of
 *   handles, each joining the room as one more participant (or viewer). A
 *   seat's session keeps its newest handle of the seat's token; every other
 *   handle in it is detached, at the handle's attach event, or else at the
 *   next round (one `list_handles` a seat a round).
 * - With Janus's event handler posting to Spillway (src/edge/janus-hook.ts),
 *   a handle attached with a seat's token is told at once (`attached`): the
 *   token names its room, shard and seat, and the token's other sessions go
 *   then, not at the next listing.
 * - Why stored tokens and not signed ones (`token_auth_secret`): a signed
 *   token works until it expires, and Janus cannot be told to refuse it;
 *   a stored one is gone the moment it is removed.
 */
import { goneMeanwhile, JANUS_CODE, JanusAdmin, JanusAdminError } from "../origins/janus.ts";
import { timingsFromVars } from "../policy/config.ts";
import { holdRoundMs } from "../policy/hold-round.ts";
import type { Lease } from "../policy/lease.ts";
import { OriginChecks, type OriginChecksOptions, type OriginLedger } from "./origin-checks.ts";

/** The Worker's optional secrets for direct mode with Janus (wrangler.toml). */
export interface JanusSecrets {
  JANUS_ADMIN_SECRET?: string;
  /** The password Janus's event handler posts its events with (basic auth): events are ignored without it. */
  JANUS_EVENTS_SECRET?: string;
  /** The AudioBridge rooms' `secret`, when they have one (needed to change a room's allowed list). */
  JANUS_ROOM_SECRET?: string;
}

/** The plugins a room's listeners may attach to, by JANUS_PLUGIN's value. */
export const JANUS_PLUGINS = {
  audiobridge: "janus.plugin.audiobridge",
  streaming: "janus.plugin.streaming",
} as const;

/** The plugin of a JANUS_PLUGIN value (blank: AudioBridge), or null when it names none. */
export type JanusPlugin = (typeof JANUS_PLUGINS)[keyof typeof JANUS_PLUGINS];

export function janusPlugin(value: string | undefined): JanusPlugin | null {
  const name = (value ?? "").trim() || "audiobridge";
  return Object.hasOwn(JANUS_PLUGINS, name) ? JANUS_PLUGINS[name as keyof typeof JANUS_PLUGINS] : null;
}

/**
 * A fresh token for seat `sid` of `room`'s shard `shard`: the seat it is for,
 * then 32 random bytes, base64url (`<room>.<shard>.<sid>.<random>`; Janus
 * takes any string). Janus's events carry the token a handle attached with,
 * so an event names the seat's shard without asking anyone (`seatOfJanusToken`).
 */
export function newJanusToken(room: string, shard: number, sid: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const random = btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/u, "");
  return `${room}.${shard}.${sid}.${random}`;
}

/** The seat a token names, or null when it is none of Spillway's (or one made before tokens named their seat). */
export function seatOfJanusToken(token: string): { room: string; shard: number; sid: string } | null {
  const m = /^([A-Za-z0-9_-]{1,64})\.(\d{1,4})\.([A-Za-z0-9-]{1,64})\.[A-Za-z0-9_-]{43}$/u.exec(token);
  return m === null ? null : { room: m[1]!, shard: Number(m[2]), sid: m[3]! };
}

export const JANUS_PREFIX = "janus:";

/** How often a seat's extra sessions are looked for, when a round is longer (ms). */
export const ONE_SESSION_EVERY_MS = 5_000;

/** The most Admin API calls a take-back has on the way at once (a mass leave ends many seats together). */
export const TAKE_BACK_AT_ONCE = 8;

/**
 * How often, and how many times in one run, AudioBridge's participants are
 * listed while an ended seat's participant is still being dropped (ms; 80
 * times: two seconds). Still listed after that, the seat stays taken and the
 * next run looks again.
 */
export const DROPPED_EVERY_MS = 25;
export const DROPPED_TRIES = 80;

/** Janus's id of a room or mountpoint: a number unless it is not one (Janus with string ids). */
export function janusRoomId(originRoom: string): number | string {
  return /^\d{1,15}$/u.test(originRoom) ? Number(originRoom) : originRoom;
}

export interface JanusSeatsOptions extends OriginChecksOptions {
  /** The Admin API client, or null with what is missing when the deployment is not set up for Janus. */
  admin: JanusAdmin | { missing: string };
  /** The plugin tokens are granted for. */
  plugin: string;
  /** Janus's room (AudioBridge) or mountpoint (Streaming) the seats are for. */
  janusRoom: string;
  /** The AudioBridge room's secret, for its allowed list (null: the room has none). */
  roomSecret: string | null;
  /** Wait `ms` (between listings of a room's participants); a timer unless a test says otherwise. */
  pause?: (ms: number) => Promise<void>;
}

/** The seats of `room` that Janus serves, with the deployment's settings (vars and secrets). */
export function janusSeatsFor(
  env: { JANUS_ADMIN_URL?: string; JANUS_PLUGIN?: string; PASS_TTL_SECONDS?: string } & JanusSecrets,
  room: string,
  janusRoom: string,
  now: () => number,
): JanusSeats {
  const url = (env.JANUS_ADMIN_URL ?? "").trim();
  const secret = env.JANUS_ADMIN_SECRET ?? "";
  const plugin = janusPlugin(env.JANUS_PLUGIN);
  let admin: JanusSeatsOptions["admin"];
  if (url === "" || secret === "") admin = { missing: "JANUS_ADMIN_URL or the secret JANUS_ADMIN_SECRET is not set" };
  else if (plugin === null) admin = { missing: `JANUS_PLUGIN must be audiobridge or streaming` };
  else admin = new JanusAdmin({ url, adminSecret: secret, timeoutMs: 5_000 });
  return new JanusSeats({
    room,
    admin,
    plugin: plugin ?? JANUS_PLUGINS.audiobridge,
    janusRoom,
    roomSecret: (env.JANUS_ROOM_SECRET ?? "") === "" ? null : env.JANUS_ROOM_SECRET!,
    roundMs: holdRoundMs(timingsFromVars(env).passTtlMs),
    now,
  });
}

export type TokenAdded = { ok: true } | { ok: false; kind: string; message: string };

export class JanusSeats extends OriginChecks {
  protected readonly label = "janus admin";
  readonly prefix = JANUS_PREFIX;
  readonly #admin: JanusAdmin | { missing: string };
  readonly #plugin: string;
  readonly #roomSecret: string | null;
  readonly janusRoom: string;
  /** Tokens added by this object since it started (memory only: after a restart, they are added again). */
  readonly #added = new Set<string>();
  /** Tokens a session was seen with: its listener joined. */
  readonly #seen = new Set<string>();
  /** Each session's token, and when its handle was attached, once one of its handles showed them. */
  readonly #sessionToken = new Map<number, SessionSeen>();
  /** When the sessions were last listed (a round's listing or the one-session check's). */
  #listedAt = 0;
  /**
   * Ended seats' AudioBridge participants (by token) whose sessions are
   * destroyed and which AudioBridge still listed when last asked: their seats
   * are kept until it no longer does. Memory only: after a restart they are
   * long gone.
   */
  readonly #dropping = new Map<string, Set<string>>();
  readonly #pause: (ms: number) => Promise<void>;

  constructor(options: JanusSeatsOptions) {
    super(options);
    this.#admin = options.admin;
    this.#plugin = options.plugin;
    this.#roomSecret = options.roomSecret;
    this.janusRoom = options.janusRoom;
    this.#pause = options.pause ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /**
   * AudioBridge only: put a token on the room's allowed list, or take it off.
   * A room whose list is on (`allowed` … `enable`, the operator's choice) then
   * admits the seat's token to this room alone; a list that is off is kept
   * for when it is turned on.
   */
  async #allowed(admin: JanusAdmin, action: "add" | "remove", token: string): Promise<void> {
    if (this.#plugin !== JANUS_PLUGINS.audiobridge) return;
    const request = { request: "allowed", action, room: janusRoomId(this.janusRoom), allowed: [token] };
    await admin.messagePlugin(
      this.#plugin,
      this.#roomSecret === null ? request : { ...request, secret: this.#roomSecret },
    );
  }

  /** Make sure Janus holds `token` for the room's plugin (added once per token; adding again is harmless). */
  async add(token: string): Promise<TokenAdded> {
    if (this.#added.has(token)) return { ok: true };
    const admin = this.#admin;
    if (!(admin instanceof JanusAdmin)) {
      this.failed("not_configured", admin.missing);
      return { ok: false, kind: "not_configured", message: admin.missing };
    }
    try {
      await admin.addToken(token, [this.#plugin]);
      try {
        await this.#allowed(admin, "add", token);
      } catch (err) {
        // No half-given credential: a token the room will not take is taken back.
        await admin.removeToken(token).catch(() => false);
        throw err;
      }
      this.#added.add(token);
      return { ok: true };
    } catch (err) {
      const { kind, message } = failureOf(err);
      this.failed(kind, message);
      return { ok: false, kind, message };
    }
  }

  protected async check(ledger: OriginLedger): Promise<void> {
    const held = ledger.leases();
    if (held.length === 0) {
      this.#seen.clear();
      this.#sessionToken.clear();
      this.#dropping.clear();
      return;
    }
    const admin = this.#admin;
    if (!(admin instanceof JanusAdmin)) {
      this.failed("not_configured", admin.missing);
      this.keepLive(ledger, held);
      return;
    }
    try {
      const ended = held.filter((l) => l.leftAt !== null);
      if (ended.length > 0) await this.#takeBack(admin, ledger, ended);
      const round = this.listDue();
      if (!round && this.options.now() - this.#listedAt < ONE_SESSION_EVERY_MS) return;
      const sessions = await this.#sessionsByToken(admin);
      await this.#newestOnly(admin, ledger, sessions);
      if (!round) return;
      // A round also looks inside each live seat's session (a call a seat): one handle, as the events keep it.
      for (const l of ledger.leases()) {
        const kept = l.leftAt === null ? sessions.get(tokenOf(l))?.[0] : undefined;
        if (kept !== undefined) await this.#oneHandle(admin, kept.id, tokenOf(l));
      }
      // Only a round's listing renews seats and ends those gone (a write per seat).
      this.judgeListed(ledger, new Set(sessions.keys()), this.#seen);
    } catch (err) {
      const { kind, message } = failureOf(err);
      this.failed(kind, message);
      this.keepLive(ledger, ledger.leases());
    }
  }

  /**
   * Remove the ended seats' tokens, destroy their sessions, and let each seat
   * go once AudioBridge no longer lists what those sessions had in its room.
   */
  async #takeBack(admin: JanusAdmin, ledger: OriginLedger, ended: Lease[]): Promise<void> {
    const tokens = ended.map(tokenOf);
    // All of them first: from then on Janus refuses every request with one, so no session can attach with it.
    await atMost(TAKE_BACK_AT_ONCE, tokens, (token) => admin.removeToken(token));
    for (const token of tokens) this.#added.delete(token);
    // Listed after the removals; each session's participant is read before it is destroyed.
    const sessions = await this.#sessionsByToken(admin);
    const doomed = tokens.flatMap((token) => (sessions.get(token) ?? []).map(({ id }) => ({ token, id })));
    await atMost(TAKE_BACK_AT_ONCE, doomed, async ({ token, id }) => {
      for (const participant of await this.#participantsOf(admin, id)) {
        this.#dropping.set(token, (this.#dropping.get(token) ?? new Set()).add(participant));
      }
      await this.#destroy(admin, id);
    });
    // Only ended seats are waited for (one let go some other way, an ops reset say, is not).
    for (const token of this.#dropping.keys()) if (!tokens.includes(token)) this.#dropping.delete(token);
    await this.#untilDropped(admin);
    for (const l of ended) {
      const token = tokenOf(l);
      if (this.#dropping.has(token)) continue;
      this.#seen.delete(token);
      ledger.gone(l.sid, l.originClient!);
    }
    // Off the room's list too; what matters is done (Janus refuses the token everywhere), so a failure here is told, not waited on.
    await atMost(TAKE_BACK_AT_ONCE, tokens, (token) =>
      this.#allowed(admin, "remove", token).catch((err: unknown) => {
        const { kind, message } = failureOf(err);
        this.failed(kind, message);
      }),
    );
    const kept = [...this.#dropping.values()].reduce((n, ids) => n + ids.size, 0);
    if (kept > 0) {
      this.failed(
        "teardown",
        `AudioBridge still lists ${kept} participant(s) of destroyed sessions; their seats stay taken`,
      );
    }
  }

  /**
   * The AudioBridge participants a session has in this room (none for a
   * Streaming room): read from each handle's plugin state before the session
   * is destroyed, so that their going can be watched for after. The
   * Streaming plugin drops a session's viewer before Janus answers its
   * destroy (docs/origins/janus.md, "Ending"): nothing to watch for there.
   */
  async #participantsOf(admin: JanusAdmin, session: number): Promise<string[]> {
    if (this.#plugin !== JANUS_PLUGINS.audiobridge) return [];
    const room = String(janusRoomId(this.janusRoom));
    const found: string[] = [];
    // A session or handle gone meanwhile (its owner's detach or destroy, Janus's timeout): what it had is being
    // dropped all the same, unseen here.
    let handles: number[] = [];
    try {
      handles = await admin.listHandles(session);
    } catch (err) {
      if (!goneMeanwhile(err)) throw err;
    }
    for (const handle of handles) {
      try {
        const state = (await admin.handleInfo(session, handle)).pluginSpecific;
        if (state !== undefined && String(state.room) === room && state.id !== undefined) found.push(String(state.id));
      } catch (err) {
        if (!goneMeanwhile(err)) throw err;
      }
    }
    return found;
  }

  /**
   * List the room's participants until none of the ended seats' is listed,
   * DROPPED_TRIES times at most; those AudioBridge dropped are forgotten, the
   * others kept for the next run. A room that no longer exists lists nobody.
   */
  async #untilDropped(admin: JanusAdmin): Promise<void> {
    for (let tries = 0; this.#dropping.size > 0 && tries < DROPPED_TRIES; tries += 1) {
      if (tries > 0) await this.#pause(DROPPED_EVERY_MS);
      let listed: Set<string>;
      try {
        listed = new Set((await admin.audiobridgeParticipants(janusRoomId(this.janusRoom))).map((p) => String(p.id)));
      } catch (err) {
        if (!(err instanceof JanusAdminError && err.code === AUDIOBRIDGE_NO_SUCH_ROOM)) throw err;
        listed = new Set();
      }
      for (const [token, ids] of this.#dropping) {
        for (const id of ids) if (!listed.has(id)) ids.delete(id);
        if (ids.size === 0) this.#dropping.delete(token);
      }
    }
  }

  /**
   * Janus says (its event handler) that a handle of `session` attached with
   * the token of a live seat of this shard: the token keeps its newest
   * session, by Janus's own `created` of each handle, and every other one it
   * is known to hold is destroyed now. Sessions not known here yet (their
   * events lost) go at the next listing. The number destroyed.
   */
  async attached(token: string, session: number, handle: number): Promise<number> {
    const admin = this.#admin;
    if (!(admin instanceof JanusAdmin)) return 0;
    try {
      const info = await admin.handleInfo(session, handle);
      // Janus's word on the handle, not the event's: a handle of another token is none of this seat's.
      if (info.token !== token) return 0;
      const created = info.created ?? 0;
      const known = this.#sessionToken.get(session);
      // A session's newest handle of its token dates it (a handle told late does not make it older).
      const dated = known?.token === token ? Math.max(known.created, created) : created;
      this.#sessionToken.set(session, { token, created: dated });
      this.#seen.add(token);
      // Events may come out of order: the newest by Janus's clock stays, whichever was told last.
      const held = [...this.#sessionToken].filter(([, seen]) => seen.token === token);
      const [newest] = held.reduce((a, b) => (b[1].created > a[1].created ? b : a));
      const before = this.health.kills;
      for (const [id] of held) if (id !== newest) await this.#destroy(admin, id);
      if (newest === session) await this.#oneHandle(admin, session, token, { id: handle, created });
      return this.health.kills - before;
    } catch (err) {
      // Ended meanwhile: nothing to keep. Anything else is told; the next listing looks again.
      if (goneMeanwhile(err)) {
        return 0;
      }
      const { kind, message } = failureOf(err);
      this.failed(kind, message);
      return 0;
    }
  }

  /**
   * One session, one handle: in a seat's session, the newest handle attached
   * with the seat's token stays and every other handle is detached, whatever
   * token it was attached with. A listener's page attaches one; each more is
   * one more AudioBridge participant or Streaming viewer on the same seat.
   * `told`: a handle whose info was just read (not asked for again).
   */
  async #oneHandle(admin: JanusAdmin, session: number, token: string, told?: HandleSeen): Promise<void> {
    const handles: (HandleSeen & { token?: string })[] = [];
    try {
      const ids = await admin.listHandles(session);
      if (ids.length < 2) return;
      for (const id of ids) {
        if (id === told?.id) {
          handles.push({ ...told, token });
          continue;
        }
        try {
          const info = await admin.handleInfo(session, id);
          handles.push({ id, created: info.created ?? 0, token: info.token });
        } catch (err) {
          // That handle detached meanwhile: nothing to do for it.
          if (!(err instanceof JanusAdminError && err.code === JANUS_CODE.handleNotFound)) throw err;
        }
      }
    } catch (err) {
      // The whole session ended meanwhile: nothing to keep.
      if (err instanceof JanusAdminError && err.code === JANUS_CODE.sessionNotFound) return;
      throw err;
    }
    const own = handles.filter((h) => h.token === token);
    if (own.length === 0) return;
    const newest = own.reduce((a, b) => (b.created > a.created ? b : a));
    for (const { id } of handles) {
      if (id !== newest.id && (await admin.detachHandle(session, id))) this.health.kills += 1;
    }
  }

  async #destroy(admin: JanusAdmin, id: number): Promise<void> {
    if (await admin.destroySession(id)) this.health.kills += 1;
    this.#sessionToken.delete(id);
  }

  /**
   * A live seat's token listed with several sessions keeps the newest (its
   * handle attached last); the others are destroyed, their media stopped.
   */
  async #newestOnly(admin: JanusAdmin, ledger: OriginLedger, sessions: Map<string, SessionListed[]>): Promise<void> {
    for (const l of ledger.leases()) {
      const token = tokenOf(l);
      const listed = sessions.get(token);
      if (l.leftAt !== null || listed === undefined || listed.length < 2) continue;
      const newest = listed.reduce((a, b) => (b.created > a.created ? b : a));
      for (const { id } of listed) if (id !== newest.id) await this.#destroy(admin, id);
      sessions.set(token, [newest]);
    }
  }

  /** Janus's sessions now, by the token their handles attached with (sessions with no handle yet are left out). */
  async #sessionsByToken(admin: JanusAdmin): Promise<Map<string, SessionListed[]>> {
    this.#listedAt = this.options.now();
    const ids = await admin.listSessions();
    const live = new Set(ids);
    for (const id of this.#sessionToken.keys()) if (!live.has(id)) this.#sessionToken.delete(id);
    // Each new session's token is asked for once (its handles' info), several at a time.
    const unknown = ids.filter((id) => !this.#sessionToken.has(id));
    await atMost(TAKE_BACK_AT_ONCE, unknown, async (id) => {
      const seen = await this.#tokenOfSession(admin, id);
      if (seen !== null) this.#sessionToken.set(id, seen);
    });
    const out = new Map<string, SessionListed[]>();
    for (const id of ids) {
      const seen = this.#sessionToken.get(id);
      if (seen === undefined) continue;
      out.set(seen.token, [...(out.get(seen.token) ?? []), { id, created: seen.created }]);
    }
    return out;
  }

  async #tokenOfSession(admin: JanusAdmin, id: number): Promise<SessionSeen | null> {
    try {
      for (const handle of await admin.listHandles(id)) {
        const info = await admin.handleInfo(id, handle);
        // A Janus that does not say when counts the session as the oldest of its token.
        if (info.token !== undefined) return { token: info.token, created: info.created ?? 0 };
      }
    } catch (err) {
      // Ended between the listing and now: nobody's.
      if (goneMeanwhile(err)) {
        return null;
      }
      throw err;
    }
    return null;
  }
}

/** A session's token, and when the handle that showed it was attached (Janus's monotonic µs). */
interface SessionSeen {
  token: string;
  created: number;
}

/** A handle of a session, and when it was attached (Janus's monotonic µs). */
interface HandleSeen {
  id: number;
  created: number;
}

/** A session listed with its token. */
interface SessionListed {
  id: number;
  created: number;
}

/** AudioBridge's error code for a room it does not have. */
const AUDIOBRIDGE_NO_SUCH_ROOM = 485;

/**
 * Run `work` on every item, at most `n` at a time. After a failure no more
 * start (an unreachable Janus fails them all, each after its timeout); once
 * those on the way have ended, the first failure is thrown.
 */
async function atMost<T>(n: number, items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length && failures.length === 0) {
      const item = items[next++]!;
      await work(item).catch((err: unknown) => void failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}

/** The Janus token a lease holds. */
function tokenOf(lease: Lease): string {
  return lease.originClient!.slice(JANUS_PREFIX.length);
}

function failureOf(err: unknown): { kind: string; message: string } {
  if (err instanceof JanusAdminError) return { kind: err.kind, message: err.message };
  return { kind: "error", message: String(err) };
}

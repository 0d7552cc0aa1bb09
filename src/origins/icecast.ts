/**
 * Icecast's URL authentication, from the hook's side: Icecast 2.4 POSTs a
 * form to the hook when a listener asks for a mount (`listener_add`) and when
 * an admitted listener is gone (`listener_remove`), and admits the listener
 * only if the answer carries the header `icecast-auth-user: 1`. With the hook
 * deciding, Icecast itself enforces the seat: a listener without a valid pass
 * never gets a byte, whatever path it took to reach Icecast.
 *
 * What Icecast 2.4.4 sends (checked against the real server; see
 * docs/origins/icecast-hook.md): `action`, `server`, `port`, `client` (its
 * connection id, the same one `/admin/listclients` and `/admin/killclient`
 * use), `mount` (the requested path *with its query string*, escaped once
 * more), `user` and `pass` (the listener's HTTP basic credentials, empty
 * when it sent none), `ip`, `agent` (`-` when none), and on removal
 * `duration` (seconds). A listener brings its pass either in the query
 * (`/stream.mp3?pass=…`) or as the basic password (`http://x:<pass>@host/…`).
 *
 * Everything here is pure: the parsers return a typed listener or a refusal
 * the hook can answer with, and the answers are plain `Response`s. No pass
 * is ever put into a refusal's message, which Icecast writes to its log.
 */
import { MAX_TOKEN_LENGTH } from "../tokens/claims.ts";

/** What a hook handler hands over: the form as Icecast POSTed it (urlencoded text, or already parsed). */
export type IcecastForm = URLSearchParams | FormData | string;

/** The header (and value) that admits a listener: Icecast's default `auth_header`. */
export const ADMIT_HEADER = "icecast-auth-user";
/** The header Icecast copies into its log when it refuses a listener. */
export const MESSAGE_HEADER = "icecast-auth-message";
/** The header that limits an admitted listener's time (seconds): Icecast cuts it then, by itself. */
export const TIME_LIMIT_HEADER = "icecast-auth-timelimit";

/** Icecast's POST body is at most 4 kB; anything much larger did not come from Icecast. */
const MAX_FORM_LENGTH = 16 * 1024;
/** Icecast keeps at most 255 bytes of the message; more would be cut mid-word. */
const MAX_MESSAGE_LENGTH = 200;

/** A listener Icecast asks about (`listener_add`). */
export interface IcecastListener {
  /** Icecast's id for this connection (decimal digits): what `killclient` takes. */
  clientId: string;
  /** The mount asked for: the path, without its query string. */
  mount: string;
  /** The pass the listener brought. */
  pass: string;
  /** Where the pass came from: the mount URL's `?pass=`, or the listener's HTTP basic password. */
  passFrom: "query" | "basic";
  /** The basic user name ("" when none). */
  user: string;
  /** The listener's address as Icecast saw it. */
  ip: string;
  /** The player's User-Agent ("" when it sent none). */
  agent: string;
  /** Icecast's `<hostname>` and port, to tell several origins apart. */
  server: string;
  port: number | null;
}

/** An admitted listener that is gone (`listener_remove`): hung up, killed, or cut by its time limit. */
export interface IcecastListenerGone extends Omit<IcecastListener, "pass" | "passFrom"> {
  /** The pass it was admitted with, or null when the form carries none. */
  pass: string | null;
  passFrom: "query" | "basic" | null;
  /** Seconds it was connected, per Icecast (null when absent). */
  durationSeconds: number | null;
}

export type HookRefusalCode = "malformed" | "wrong_action" | "no_pass" | "two_passes" | "bad_pass";

/** Why a form was refused: a stable code and a message safe to log (it never holds a pass). */
export interface HookRefusal {
  code: HookRefusalCode;
  message: string;
}

export type HookParse<T> = { ok: true; listener: T } | { ok: false; refusal: HookRefusal };

const refuse = (code: HookRefusalCode, message: string) => ({ ok: false as const, refusal: { code, message } });

/** The fields of the form, each at most once; a string when the form is unusable. */
function readFields(form: IcecastForm): Map<string, string> | string {
  if (typeof form === "string" && form.length > MAX_FORM_LENGTH) return `form longer than ${MAX_FORM_LENGTH} bytes`;
  const entries = typeof form === "string" ? new URLSearchParams(form) : form;
  const fields = new Map<string, string>();
  for (const [name, value] of entries) {
    if (typeof value !== "string") return `field ${name} is a file`;
    if (fields.has(name)) return `field ${name} appears twice`;
    fields.set(name, value);
  }
  return fields;
}

/** A pass as Spillway hands them out (a compact JWT): printable, no spaces, bounded. */
function passShape(pass: string): string | null {
  if (pass.length > MAX_TOKEN_LENGTH) return `the pass is longer than ${MAX_TOKEN_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(pass)) return "the pass holds spaces or characters outside printable ASCII";
  return null;
}

type Common = Omit<IcecastListener, "pass" | "passFrom"> & { pass: string | null; passFrom: "query" | "basic" | null };

/** The fields both actions share, and the pass from the query or the basic password. */
function parseCommon(
  form: IcecastForm,
  action: "listener_add" | "listener_remove",
): HookParse<Common & { fields: Map<string, string> }> {
  const fields = readFields(form);
  if (typeof fields === "string") return refuse("malformed", fields);
  const got = fields.get("action");
  if (got !== action) {
    return refuse("wrong_action", `expected action=${action}, got ${got === undefined ? "none" : JSON.stringify(got)}`);
  }
  const clientId = fields.get("client") ?? "";
  if (!/^[0-9]{1,20}$/.test(clientId)) return refuse("malformed", "client is not a decimal connection id");
  const requested = fields.get("mount") ?? "";
  if (!requested.startsWith("/")) return refuse("malformed", "mount is not a path");
  const at = requested.indexOf("?");
  const mount = at < 0 ? requested : requested.slice(0, at);
  const fromQuery = at < 0 ? [] : new URLSearchParams(requested.slice(at + 1)).getAll("pass");
  if (fromQuery.length > 1) return refuse("two_passes", "the mount URL names pass more than once");
  const queryPass = fromQuery[0] || null;
  const basicPass = fields.get("pass") || null;
  if (queryPass !== null && basicPass !== null && queryPass !== basicPass) {
    return refuse("two_passes", "the mount URL and the basic password carry different passes");
  }
  const pass = queryPass ?? basicPass;
  if (pass !== null) {
    const bad = passShape(pass);
    if (bad !== null) return refuse("bad_pass", bad);
  }
  const portText = fields.get("port") ?? "";
  const port = /^[0-9]{1,5}$/.test(portText) && Number(portText) <= 65535 ? Number(portText) : null;
  const agent = fields.get("agent") ?? "";
  return {
    ok: true,
    listener: {
      clientId,
      mount,
      pass,
      passFrom: queryPass !== null ? "query" : basicPass !== null ? "basic" : null,
      user: fields.get("user") ?? "",
      ip: fields.get("ip") ?? "",
      // Icecast sends "-" for a player that named itself nothing.
      agent: agent === "-" ? "" : agent,
      server: fields.get("server") ?? "",
      port,
      fields,
    },
  };
}

/** Parse Icecast's `listener_add` form: the listener and its pass, or why it cannot be admitted. */
export function parseListenerAdd(form: IcecastForm): HookParse<IcecastListener> {
  const parsed = parseCommon(form, "listener_add");
  if (!parsed.ok) return parsed;
  const { pass, passFrom, fields: _fields, ...rest } = parsed.listener;
  if (pass === null || passFrom === null) {
    return refuse("no_pass", "no pass: neither ?pass= in the mount URL nor a basic password");
  }
  return { ok: true, listener: { ...rest, pass, passFrom } };
}

/** Parse Icecast's `listener_remove` form: which connection is gone (its pass when the form carries one). */
export function parseListenerRemove(form: IcecastForm): HookParse<IcecastListenerGone> {
  const parsed = parseCommon(form, "listener_remove");
  if (!parsed.ok) return parsed;
  const { fields, ...listener } = parsed.listener;
  const duration = fields.get("duration") ?? "";
  return {
    ok: true,
    listener: { ...listener, durationSeconds: /^[0-9]{1,12}$/.test(duration) ? Number(duration) : null },
  };
}

// ---------------------------------------------------------------------------
// Answers

/** Printable ASCII on one line, bounded: what Icecast can log (and a header can carry). */
function logSafe(text: string): string {
  const flat = text.replace(/[^\x20-\x7e]+/g, " ").trim();
  return (flat.length > MAX_MESSAGE_LENGTH ? `${flat.slice(0, MAX_MESSAGE_LENGTH - 3)}...` : flat) || "refused";
}

export interface AdmitOptions {
  /**
   * Let Icecast cut the listener after this many whole seconds (at least 1),
   * e.g. when its pass runs out; Icecast also calls `listener_remove` then.
   */
  timeLimitSeconds?: number;
}

/** The answer that admits a listener: Icecast looks only for the `icecast-auth-user: 1` header. */
export function admitAnswer(options: AdmitOptions = {}): Response {
  const headers = new Headers({ [ADMIT_HEADER]: "1", "cache-control": "no-store" });
  const limit = options.timeLimitSeconds;
  if (limit !== undefined) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError("timeLimitSeconds must be a whole number ≥ 1");
    headers.set(TIME_LIMIT_HEADER, String(limit));
  }
  return new Response(null, { status: 200, headers });
}

/**
 * The answer that refuses a listener: no admit header (that alone refuses),
 * and the reason in `icecast-auth-message`, which Icecast writes to its error
 * log. Icecast then answers the listener 401. The reason must hold no secret.
 */
export function refuseAnswer(reason: string): Response {
  const message = logSafe(reason);
  return new Response(`${message}\n`, {
    status: 403,
    headers: { [MESSAGE_HEADER]: message, "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The answer to `listener_remove` (Icecast reads nothing from it). */
export function acknowledgeAnswer(): Response {
  return new Response(null, { status: 204, headers: { "cache-control": "no-store" } });
}

/** The Icecast mount of a room in direct mode: the same path as the room's stream through Spillway. */
export function icecastMount(room: string): string {
  return `/rooms/${room}/stream.mp3`;
}

/** The room a mount path (without its query) is the mount of, or null when it is no room's. */
export function roomOfMount(path: string): string | null {
  const m = /^\/rooms\/([A-Za-z0-9_-]{1,64})\/stream\.mp3$/.exec(path);
  return m === null ? null : m[1]!;
}

/** Where a listener plays a room's mount on the Icecast at `base`, its pass in the query. */
export function icecastListenUrl(base: URL, room: string, pass: string): string {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${icecastMount(room)}`;
  url.search = new URLSearchParams({ pass }).toString();
  url.hash = "";
  return url.href;
}

/**
 * A client of the Janus WebRTC Server's Admin API (over its HTTP transport),
 * for the pieces of Spillway that make Janus enforce a seat on its own.
 *
 * Janus runs with `token_auth = true` and no `token_auth_secret`: every Janus
 * API request must carry a token from Janus's own stored list, and only the
 * Admin API can add or remove one. Spillway adds a listener's token when it
 * gives out a seat (scoped to the plugins the room needs) and, when the seat
 * ends, removes the token and destroys the sessions that used it: removing a
 * token alone stops new requests, but an existing session and its media live
 * on until Janus's session timeout. A signed (HMAC) token could not be taken
 * back before it expires, which is why stored tokens are used.
 *
 * What Janus 1.1.2 does, as checked against the real server:
 * - Every answer is HTTP 200 with JSON: `{"janus": "success", ...}` or
 *   `{"janus": "error", "error": {"code", "reason"}}`. A wrong admin secret is
 *   code 403 "Unauthorized request (wrong or missing secret/token)".
 * - `add_token` with no `plugins` (or an empty list) grants every plugin, and
 *   silently skips plugins it does not know (answering with the ones it
 *   granted), so `addToken` insists on a non-empty list and on getting back
 *   every plugin it asked for.
 * - `remove_token` of an unknown token answers 490 "Error removing token";
 *   `destroy_session` of an unknown session answers 458 "No such session".
 *   Both are "already gone" here, so revoking twice is harmless.
 * - Session and handle ids are below 2^53, so plain JSON numbers are exact.
 *
 * Runs in the Workers runtime (fetch, crypto.randomUUID) and in Node alike.
 * Every call has a timeout and its own transaction id; errors are
 * `JanusAdminError`s whose messages never contain the admin secret or a token.
 */

/** Why a call failed. */
export type JanusAdminErrorKind =
  /** The request never got an answer (connection refused, DNS, reset). */
  | "unreachable"
  /** No answer within the call's timeout. */
  | "timeout"
  /** Janus refused the admin secret (its code 403). */
  | "unauthorized"
  /** Janus (or the plugin asked) answered with an error: see `code` and `reason`. */
  | "janus_error"
  /** Janus granted a token fewer plugins than asked (unknown plugin names). */
  | "not_granted"
  /** An answer that is not the Janus Admin API's: wrong status, not JSON, wrong transaction. */
  | "bad_answer";

export class JanusAdminError extends Error {
  override readonly name = "JanusAdminError";
  readonly kind: JanusAdminErrorKind;
  /** The Admin API request that failed, e.g. "add_token". */
  readonly request: string;
  /** Janus's (or the plugin's) error code, for `janus_error` and `unauthorized`. */
  readonly code?: number;
  /** Janus's (or the plugin's) reason, for `janus_error` and `unauthorized`. */
  readonly reason?: string;

  constructor(kind: JanusAdminErrorKind, request: string, message: string, code?: number, reason?: string) {
    super(`Janus admin ${request}: ${message}`);
    this.kind = kind;
    this.request = request;
    this.code = code;
    this.reason = reason;
  }
}

/** Janus error codes this client gives a meaning to (janus/apierror.h). */
export const JANUS_CODE = {
  unauthorized: 403,
  unauthorizedPlugin: 405,
  sessionNotFound: 458,
  handleNotFound: 459,
  unknown: 490,
} as const;

export interface JanusAdminOptions {
  /** The Admin API's base URL, e.g. http://127.0.0.1:7088/admin (`admin_base_path`). */
  url: string;
  /** Janus's `admin_secret`. */
  adminSecret: string;
  /** Milliseconds before a call fails with `timeout` (default 5000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** A fresh transaction id per call (default crypto.randomUUID). */
  transaction?: () => string;
}

/** A stored token and the plugins it may attach to. */
export interface JanusToken {
  token: string;
  plugins: string[];
}

/** What `handle_info` says about a handle, with the fields Spillway reads pulled out. */
export interface JanusHandleInfo {
  sessionId: number;
  handleId: number;
  /** The token the handle was attached with (absent when token auth is off). */
  token?: string;
  /** The plugin's package name, e.g. "janus.plugin.audiobridge". */
  plugin?: string;
  /** When the handle was attached, on Janus's monotonic clock (µs): later handles have larger values. */
  created?: number;
  /** The plugin's own view of the handle (AudioBridge: room, participant id, muted...). */
  pluginSpecific?: Record<string, unknown>;
  /** The whole `info` object. */
  raw: Record<string, unknown>;
}

type Json = Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 5_000;

export class JanusAdmin {
  readonly #url: string;
  readonly #secret: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #transaction: () => string;

  constructor(options: JanusAdminOptions) {
    this.#url = options.url.replace(/\/+$/, "");
    this.#secret = options.adminSecret;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#transaction = options.transaction ?? (() => crypto.randomUUID());
  }

  /** Let `token` create sessions and attach to exactly `plugins` (none is refused: Janus would grant all). */
  async addToken(token: string, plugins: readonly string[]): Promise<JanusToken> {
    checkToken(token);
    if (plugins.length === 0) {
      throw new RangeError("a Janus token needs at least one plugin (with none, Janus allows them all)");
    }
    const answer = await this.#call("add_token", [], { token, plugins: [...plugins] });
    const granted = stringList(field(answer, "data", "add_token"), "plugins", "add_token");
    const missing = plugins.filter((p) => !granted.includes(p));
    if (missing.length > 0) {
      // Janus kept the token with fewer plugins (or none, yet still good for sessions): take it back.
      await this.removeToken(token).catch(() => undefined);
      throw new JanusAdminError("not_granted", "add_token", `Janus does not know the plugin(s) ${missing.join(", ")}`);
    }
    return { token, plugins: granted };
  }

  /** Take `token` back: Janus refuses every later request carrying it. False when Janus had no such token. */
  async removeToken(token: string): Promise<boolean> {
    checkToken(token);
    try {
      await this.#call("remove_token", [], { token });
      return true;
    } catch (err) {
      if (err instanceof JanusAdminError && err.code === JANUS_CODE.unknown) return false;
      throw err;
    }
  }

  /** Every stored token Janus lists (tokens that may attach to no plugin are not listed by Janus). */
  async listTokens(): Promise<JanusToken[]> {
    const answer = await this.#call("list_tokens", []);
    const tokens = field(answer, "data", "list_tokens").tokens;
    if (!Array.isArray(tokens)) throw badAnswer("list_tokens", "no tokens list");
    return tokens.map((entry: unknown) => {
      if (!isObject(entry) || typeof entry.token !== "string")
        throw badAnswer("list_tokens", "a token entry without a token");
      return { token: entry.token, plugins: stringList(entry, "allowed_plugins", "list_tokens") };
    });
  }

  /** The ids of every session Janus holds. */
  async listSessions(): Promise<number[]> {
    return idList(await this.#call("list_sessions", []), "sessions", "list_sessions");
  }

  /** End a session as if its owner had sent `destroy` (its handles detach, its media stops). False when it was already gone. */
  async destroySession(sessionId: number): Promise<boolean> {
    try {
      await this.#call("destroy_session", [checkId(sessionId)]);
      return true;
    } catch (err) {
      if (err instanceof JanusAdminError && err.code === JANUS_CODE.sessionNotFound) return false;
      throw err;
    }
  }

  /**
   * Detach one handle of a session, as if its owner had sent `detach`: its
   * plugin lets it go (an AudioBridge participant leaves, a Streaming viewer
   * stops). False when the handle or its session was already gone.
   */
  async detachHandle(sessionId: number, handleId: number): Promise<boolean> {
    try {
      await this.#call("detach_handle", [checkId(sessionId), checkId(handleId)]);
      return true;
    } catch (err) {
      if (goneMeanwhile(err)) return false;
      throw err;
    }
  }

  /** The ids of a session's handles (plugin attachments). */
  async listHandles(sessionId: number): Promise<number[]> {
    return idList(await this.#call("list_handles", [checkId(sessionId)]), "handles", "list_handles");
  }

  /** One handle's token, plugin and the plugin's own state. */
  async handleInfo(sessionId: number, handleId: number): Promise<JanusHandleInfo> {
    const answer = await this.#call("handle_info", [checkId(sessionId), checkId(handleId)]);
    const info = field(answer, "info", "handle_info");
    return {
      sessionId,
      handleId,
      token: typeof info.token === "string" ? info.token : undefined,
      plugin: typeof info.plugin === "string" ? info.plugin : undefined,
      created: typeof info.created === "number" ? info.created : undefined,
      pluginSpecific: isObject(info.plugin_specific) ? info.plugin_specific : undefined,
      raw: info,
    };
  }

  /**
   * The sessions with a handle attached using `token`. Costs one request per
   * session and per handle: meant for revoking one listener, not for polling.
   */
  async sessionsWithToken(token: string): Promise<number[]> {
    checkToken(token);
    const found: number[] = [];
    for (const sessionId of await this.listSessions()) {
      let handles: number[];
      try {
        handles = await this.listHandles(sessionId);
      } catch (err) {
        if (goneMeanwhile(err)) continue;
        throw err;
      }
      for (const handleId of handles) {
        try {
          if ((await this.handleInfo(sessionId, handleId)).token === token) {
            found.push(sessionId);
            break;
          }
        } catch (err) {
          if (!goneMeanwhile(err)) throw err;
        }
      }
    }
    return found;
  }

  /** End a seat on Janus: remove the token, then destroy every session that used it. */
  async revokeToken(token: string): Promise<{ removed: boolean; destroyed: number[] }> {
    const removed = await this.removeToken(token);
    const destroyed: number[] = [];
    for (const sessionId of await this.sessionsWithToken(token)) {
      if (await this.destroySession(sessionId)) destroyed.push(sessionId);
    }
    return { removed, destroyed };
  }

  /** A synchronous plugin request (`message_plugin`), e.g. AudioBridge `listparticipants`; the plugin's answer. */
  async messagePlugin(plugin: string, request: Json): Promise<Json> {
    const name = typeof request.request === "string" ? request.request : "?";
    const label = `message_plugin(${plugin} ${name})`;
    const answer = await this.#call("message_plugin", [], { plugin, request }, label);
    const response = field(answer, "response", label);
    // Plugins answer their own errors inside a "success": {"error_code", "error"}.
    if (typeof response.error_code === "number") {
      const reason = typeof response.error === "string" ? response.error : "";
      throw new JanusAdminError("janus_error", label, `${response.error_code} ${reason}`, response.error_code, reason);
    }
    return response;
  }

  /** Janus's own count of a room: the AudioBridge participants of `room`. */
  async audiobridgeParticipants(room: number | string): Promise<Json[]> {
    const response = await this.messagePlugin("janus.plugin.audiobridge", { request: "listparticipants", room });
    if (!Array.isArray(response.participants)) throw badAnswer("listparticipants", "no participants list");
    return response.participants.filter(isObject);
  }

  async #call(janus: string, path: number[], body: Json = {}, label = janus): Promise<Json> {
    const transaction = this.#transaction();
    const url = [this.#url, ...path].join("/");
    const payload = JSON.stringify({ ...body, janus, transaction, admin_secret: this.#secret });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    let text: string;
    try {
      let response: Response;
      try {
        response = await this.#fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: payload,
          signal: abort.signal,
        });
      } catch (err) {
        if (abort.signal.aborted) throw this.#timeout(label);
        throw new JanusAdminError("unreachable", label, `no answer from ${url}: ${this.#scrub(describe(err), body)}`);
      }
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => undefined);
        throw badAnswer(label, `HTTP ${response.status} from ${url} (is it the Admin API's base path?)`);
      }
      try {
        text = await response.text();
      } catch (err) {
        if (abort.signal.aborted) throw this.#timeout(label);
        throw new JanusAdminError(
          "unreachable",
          label,
          `the answer from ${url} broke off: ${this.#scrub(describe(err), body)}`,
        );
      }
    } finally {
      clearTimeout(timer);
    }

    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw badAnswer(label, `not JSON from ${url}`);
    }
    if (!isObject(answer)) throw badAnswer(label, `not a JSON object from ${url}`);
    if (answer.janus === "error") {
      const error = isObject(answer.error) ? answer.error : {};
      const code = typeof error.code === "number" ? error.code : undefined;
      const reason = this.#scrub(typeof error.reason === "string" ? error.reason : "", body);
      if (code === JANUS_CODE.unauthorized) {
        throw new JanusAdminError(
          "unauthorized",
          label,
          `Janus refused the admin secret (${code} ${reason})`,
          code,
          reason,
        );
      }
      throw new JanusAdminError("janus_error", label, `${code ?? "?"} ${reason}`, code, reason);
    }
    if (answer.transaction !== transaction) throw badAnswer(label, "the answer is for another transaction");
    if (answer.janus !== "success") throw badAnswer(label, `unexpected "janus": ${JSON.stringify(answer.janus)}`);
    return answer;
  }

  #timeout(label: string): JanusAdminError {
    return new JanusAdminError("timeout", label, `no answer within ${this.#timeoutMs} ms`);
  }

  /** Text from elsewhere (fetch errors, Janus reasons) without the admin secret or the request's token. */
  #scrub(text: string, body: Json): string {
    let out = text;
    for (const secret of [this.#secret, body.token]) {
      if (typeof secret === "string" && secret !== "") out = out.split(secret).join("[redacted]");
    }
    return out;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badAnswer(request: string, message: string): JanusAdminError {
  return new JanusAdminError("bad_answer", request, message);
}

function field(answer: Json, name: string, request: string): Json {
  const value = answer[name];
  if (!isObject(value)) throw badAnswer(request, `no "${name}" object in the answer`);
  return value;
}

function stringList(from: Json, name: string, request: string): string[] {
  const value = from[name];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw badAnswer(request, `"${name}" is not a list of names`);
  }
  return value;
}

function idList(from: Json, name: string, request: string): number[] {
  const value = from[name];
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && v > 0)) {
    throw badAnswer(request, `"${name}" is not a list of ids`);
  }
  return value as number[];
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`not a Janus id: ${id}`);
  return id;
}

function checkToken(token: string): void {
  if (token === "") throw new RangeError("a Janus token cannot be empty");
}

/** A session or handle that ended between listing it and asking about it (Janus's 458 or 459). */
export function goneMeanwhile(err: unknown): boolean {
  return (
    err instanceof JanusAdminError &&
    (err.code === JANUS_CODE.sessionNotFound || err.code === JANUS_CODE.handleNotFound)
  );
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
    return `${err.message}${cause}`;
  }
  return String(err);
}

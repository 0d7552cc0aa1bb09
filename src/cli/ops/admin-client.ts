/**
 * The Worker's admin API as the `spillway` CLI calls it: one method per
 * endpoint under /_spillway/admin, each answer checked against the shape the
 * CLI reads, and every failure turned into a CliError that names the URL and
 * says what to do (set the URL, check the token, fix a field).
 *
 * Answers are read with the contract's own schemas (src/contract/schemas.ts,
 * the ones the Worker's answers are tested against), so the CLI and the
 * Worker cannot disagree about a field. Fields a newer Worker adds pass
 * (--json shows them); `config get` keeps them to show them too, and
 * `watch` checks only the stats it shows, so the others may come and go.
 */
import * as v from "valibot";
import {
  AuditTrailSchema,
  type AuditTrail,
  ConfigStateSchema,
  FieldErrorSchema,
  type ReleaseAnswer,
  ReleaseAnswerSchema,
  RoomConfigSchema,
  type RoomList,
  RoomListSchema,
  RoomStatsSchema,
} from "../../contract/schemas.ts";
import { type FieldError, RoomConfigPatchSchema } from "../../policy/config.ts";
import { type Connection, TOKEN_ENV, URL_ENV } from "./args.ts";
import { CliError } from "./errors.ts";

/** Long enough for a stats call on a busy room (every shard reports first), short enough to notice a hang. */
export const TIMEOUT_MS = 10_000;

/** The config answer, with any field this CLI does not know kept, so `config get` lists every field in force. */
const ConfigAnswerSchema = v.looseObject({
  ...ConfigStateSchema.entries,
  config: v.looseObject(RoomConfigSchema.entries),
  overrides: v.looseObject(RoomConfigPatchSchema.entries),
});

/** The stats `watch` shows, by the contract's rules; the room's other numbers are not checked. */
const WatchedStatsSchema = v.looseObject({
  ...v.pick(RoomStatsSchema, [
    "room",
    "active",
    "capacity",
    "admitPerMinute",
    "effectiveCapacity",
    "effectiveAdmitPerMinute",
    "origin",
    "mode",
    "queued",
    "called",
    "admissionsPerMinute",
    "arrivalsPerMinute",
    "peakConcurrent",
    "peakAt",
  ]).entries,
  /** Waiting for the start: 0 from a Worker older than the prequeue (its queue proper is 0 until then). */
  prequeued: v.optional(RoomStatsSchema.entries.prequeued, 0),
});

export type ConfigAnswer = v.InferOutput<typeof ConfigAnswerSchema>;
export type WatchedStats = v.InferOutput<typeof WatchedStatsSchema>;

/** A checked answer, and the JSON exactly as the Worker sent it (for --json). */
export interface Answer<T> {
  data: T;
  raw: unknown;
}

/** The Worker refused a call with its JSON error shape. */
export class ApiError extends CliError {
  readonly status: number;
  readonly code: string;
  readonly fields: readonly FieldError[];

  constructor(message: string, status: number, code: string, fields: readonly FieldError[]) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/**
 * A refusal, read more loosely than the contract's ErrorBody: a code this
 * CLI does not know yet (a newer Worker's) is shown as it came.
 */
const RefusalSchema = v.object({
  error: v.looseObject({
    code: v.string(),
    message: v.optional(v.string(), ""),
    fields: v.optional(v.array(FieldErrorSchema), []),
  }),
});

type Method = "GET" | "PATCH" | "POST";

export interface ClientOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Aborts calls in flight (Ctrl-C); an aborted call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export class AdminClient {
  readonly #connection: Connection;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;

  constructor(connection: Connection, options: ClientOptions = {}) {
    this.#connection = connection;
    this.#fetch = options.fetch ?? fetch;
    this.#timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
    this.#signal = options.signal;
  }

  /** The Worker's origin, as error messages and the watch view name it. */
  get origin(): string {
    return this.#connection.url.origin;
  }

  rooms(): Promise<Answer<RoomList>> {
    return this.#call("GET", "/rooms", RoomListSchema);
  }

  config(room: string): Promise<Answer<ConfigAnswer>> {
    return this.#call("GET", roomPath(room), ConfigAnswerSchema);
  }

  patchConfig(room: string, patch: Record<string, unknown>): Promise<Answer<ConfigAnswer>> {
    return this.#call("PATCH", roomPath(room), ConfigAnswerSchema, patch);
  }

  stats(room: string): Promise<Answer<WatchedStats>> {
    return this.#call("GET", `${roomPath(room)}/stats`, WatchedStatsSchema);
  }

  audit(room: string): Promise<Answer<AuditTrail>> {
    return this.#call("GET", `${roomPath(room)}/audit`, AuditTrailSchema);
  }

  release(room: string, pass: string): Promise<Answer<ReleaseAnswer>> {
    return this.#call("POST", `${roomPath(room)}/release`, ReleaseAnswerSchema, { pass });
  }

  async #call<S extends v.GenericSchema>(
    method: Method,
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<Answer<v.InferOutput<S>>> {
    const url = new URL(`/_spillway/admin${path}`, this.#connection.url);
    const what = `${method} ${url.pathname}`;
    const { status, contentType, location, text } = await this.#send(method, url, what, body);
    if (status >= 300 && status <= 399) throw redirected(url, what, location);
    const json = parseJson(text);
    if (json === undefined) throw notJson(this.origin, what, status, contentType, text);
    if (status < 200 || status > 299) throw this.#refusal(what, status, json);
    const checked = v.safeParse(schema, json);
    if (!checked.success) {
      const issue = checked.issues[0];
      const where = issue === undefined ? "" : ` (${v.getDotPath(issue) ?? "the answer"}: ${issue.message})`;
      throw new CliError(
        `${this.origin} answered ${what} with JSON this CLI does not read${where}. ` +
          `Is --url a Spillway Worker, and is it as new as this CLI?`,
      );
    }
    return { data: checked.output as v.InferOutput<S>, raw: json };
  }

  /**
   * One request, read to the end; network failures and timeouts become
   * CliErrors. Redirects are not followed: the token would not go along to
   * another origin, and a change should never land somewhere else unnoticed.
   */
  async #send(
    method: Method,
    url: URL,
    what: string,
    body: unknown,
  ): Promise<{ status: number; contentType: string; location: string | null; text: string }> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = this.#signal === undefined ? timeout : AbortSignal.any([this.#signal, timeout]);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#connection.token}`,
      accept: "application/json",
    };
    if (body !== undefined) headers["content-type"] = "application/json";
    try {
      const response = await this.#fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        redirect: "manual",
      });
      const text = await response.text();
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        location: response.headers.get("location"),
        text,
      };
    } catch (err) {
      if (this.#signal?.aborted) throw this.#signal.reason;
      if (timeout.aborted) {
        throw new CliError(`no answer from ${this.origin} to ${what} within ${this.#timeoutMs / 1000} s`);
      }
      throw new CliError(unreachable(this.#connection, err));
    }
  }

  /** The Worker's JSON error, told the operator's way. */
  #refusal(what: string, status: number, json: unknown): CliError {
    const parsed = v.safeParse(RefusalSchema, json);
    const code = parsed.success ? parsed.output.error.code : "unknown";
    const message = parsed.success ? parsed.output.error.message : "";
    const fields = parsed.success ? parsed.output.error.fields : [];
    // In parentheses inside a sentence of our own: the Worker's own full stop would double ours.
    const detail = `${status} ${code}${message === "" ? "" : `: ${message.replace(/\.$/, "")}`}`;
    const { tokenSource } = this.#connection;
    switch (status) {
      case 401:
        return new ApiError(
          `the token was refused by ${this.origin} (${detail}). The token from ${tokenSource} must be one of ` +
            `the Worker's admin tokens (ADMIN_TOKEN or ADMIN_TOKENS); set it with --token or ${TOKEN_ENV}.`,
          status,
          code,
          fields,
        );
      case 403:
        return new ApiError(
          `this token is read-only: ${what} needs an admin token with write access (${detail}).`,
          status,
          code,
          fields,
        );
      case 404:
        return new ApiError(
          `${this.origin} has nothing at ${what} (${detail}). Is --url the Spillway Worker, and does its version have this endpoint?`,
          status,
          code,
          fields,
        );
      default: {
        const lines = fields.map((f) => `  ${f.field === "" ? "(body)" : f.field}: ${f.message}`);
        return new ApiError([`${this.origin} refused ${what} (${detail})`, ...lines].join("\n"), status, code, fields);
      }
    }
  }
}

function roomPath(room: string): string {
  return `/rooms/${encodeURIComponent(room)}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Most likely http:// for a Worker that is https-only (Cloudflare redirects),
 * in which case the token has just crossed the network unencrypted: say so.
 */
function redirected(url: URL, what: string, location: string | null): CliError {
  const upgrade = url.protocol === "http:" && location?.startsWith("https:") === true;
  return new CliError(
    `${url.origin} redirects ${what} to ${location ?? "another address"}; set --url to where the Worker answers` +
      (upgrade ? " (https). This request sent the token unencrypted: if that was over the internet, replace it." : "."),
  );
}

/** The usual cause of a non-JSON answer is a URL that points at something other than the Worker. */
function notJson(origin: string, what: string, status: number, contentType: string, text: string): CliError {
  const snippet = text.replace(/\s+/g, " ").trim().slice(0, 80);
  const type = contentType === "" ? "no content type" : contentType.split(";")[0];
  return new CliError(
    `${origin} answered ${what} with ${status} and ${type}, not JSON` +
      `${snippet === "" ? " (an empty body)" : `: "${snippet}${text.length > 80 ? "…" : ""}"`}. ` +
      `Is --url the Spillway Worker (not the room's origin or a proxy in front of it)?`,
  );
}

/** "Could not reach" with the reason, where the URL came from, and how to set it. */
export function unreachable(connection: Pick<Connection, "url" | "urlSource">, err: unknown): string {
  const from =
    connection.urlSource === "default"
      ? "the default URL; `npm start` serves it"
      : `from ${connection.urlSource === "--url" ? "--url" : URL_ENV}`;
  return (
    `could not reach the Worker at ${connection.url.origin} (${networkReason(err)}). ` +
    `Is it running there? Set the URL with --url or ${URL_ENV} (this one is ${from}).`
  );
}

/** fetch() fails with "fetch failed"; the useful part is its cause's code. */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: unknown } | null)?.cause ?? err;
  const code = codeOf(cause);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
      return "host not found";
    case "EAI_AGAIN":
      return "DNS lookup failed; try again";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "the connection was closed";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "the connection timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to the host";
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "EPROTO":
      return "TLS handshake failed; is it http rather than https?";
  }
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate refused: ${code}`;
  const message = cause instanceof Error ? cause.message : String(cause);
  return code === undefined ? message : `${code}: ${message}`;
}

function codeOf(cause: unknown): string | undefined {
  if (typeof cause !== "object" || cause === null) return undefined;
  const { code, errors } = cause as { code?: unknown; errors?: unknown };
  if (typeof code === "string") return code;
  // Happy eyeballs (localhost as ::1 and 127.0.0.1) fails with an AggregateError of both attempts.
  return Array.isArray(errors) ? codeOf(errors[0]) : undefined;
}

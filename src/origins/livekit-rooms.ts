/**
 * LiveKit's RoomService, the two calls the seat wiring needs: cut a
 * participant whose seat ended (`RemoveParticipant`), and see who is
 * connected so the room can be reconciled with the seats (`ListParticipants`).
 *
 * RoomService speaks Twirp: `POST {url}/twirp/livekit.RoomService/<Method>`
 * with a JSON body, `Authorization: Bearer <JWT>` with a `roomAdmin` grant
 * for the room, and on failure an HTTP error status with a JSON body
 * `{ code, msg }` (`not_found` 404, `unauthenticated` 401,
 * `permission_denied` 403, `internal` 500, …).
 *
 * Every call has a timeout, never follows a redirect (which could carry the
 * token elsewhere), and ends in a typed result whose `detail` says what
 * failed and never holds the secret or a token. A participant that is
 * already gone counts as removed (`not_found`): removal is idempotent.
 *
 * LiveKit also refuses, from then on, the tokens of a removed identity whose
 * `nbf` is before the removal (plus a minute's leeway); a seat's identity is
 * its own seat id, so no later seat is affected.
 */
import { type LiveKitKey, mintAdminToken } from "./livekit-auth.ts";

/** A call that did not do what was asked: the key was refused, LiveKit did not answer, or it answered badly. */
export type RoomServiceFailure =
  | { kind: "unauthorized"; status: number; detail: string }
  | { kind: "unreachable"; detail: string }
  | { kind: "error"; status?: number; detail: string };

export type RemoveResult = { kind: "removed" } | { kind: "not_found" } | RoomServiceFailure;

/** A participant LiveKit says is in the room. */
export interface LiveKitParticipant {
  /** The seat id, for participants that joined with a listener token. */
  identity: string;
  sid?: string;
  /** `JOINING`, `JOINED`, `ACTIVE` or `DISCONNECTED`. */
  state?: string;
  /** `STANDARD`, or `INGRESS`, `EGRESS`, `SIP`, `AGENT` for LiveKit's own services. */
  kind?: string;
  /** Seconds since the epoch. */
  joinedAt?: number;
}

/** `not_found`: LiveKit has no such room, so nobody is connected to it. */
export type ListResult =
  { kind: "listed"; participants: LiveKitParticipant[] } | { kind: "not_found" } | RoomServiceFailure;

export interface RoomServiceOptions extends LiveKitKey {
  /** LiveKit's URL: `https://…` (or the `wss://…` clients use, which means the same host). */
  url: string;
  room: string;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  /** Now, in ms since the epoch, for the admin token (default the system clock). */
  now?: number;
  /** Give up after this many ms (default 5000). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5000;
/** Most of LiveKit's error text kept in a detail. */
const MAX_DETAIL_LENGTH = 200;

/** Disconnect the participant `identity` (a seat id) from the room. */
export async function removeParticipant(opts: RoomServiceOptions & { identity: string }): Promise<RemoveResult> {
  const answer = await call(opts, "RemoveParticipant", { room: opts.room, identity: opts.identity });
  if (answer.kind !== "ok") return answer;
  return { kind: "removed" };
}

/** Who is in the room, as LiveKit counts them. */
export async function listParticipants(opts: RoomServiceOptions): Promise<ListResult> {
  const answer = await call(opts, "ListParticipants", { room: opts.room });
  if (answer.kind !== "ok") return answer;
  const list = isObject(answer.body) ? (answer.body.participants ?? []) : undefined;
  if (!Array.isArray(list))
    return { kind: "error", status: 200, detail: "ListParticipants answered without a participants list" };
  const participants: LiveKitParticipant[] = [];
  for (const item of list) {
    const participant = participantOf(item);
    if (participant === null) {
      return { kind: "error", status: 200, detail: "ListParticipants answered a participant without an identity" };
    }
    participants.push(participant);
  }
  return { kind: "listed", participants };
}

type Answer = { kind: "ok"; body: unknown } | { kind: "not_found" } | RoomServiceFailure;

async function call(opts: RoomServiceOptions, method: string, request: object): Promise<Answer> {
  const endpoint = endpointOf(opts.url, method);
  if (endpoint === null) return { kind: "error", detail: "LiveKit URL is not an http(s) or ws(s) URL" };
  let token: string;
  try {
    token = await mintAdminToken(opts, opts.room, opts.now ?? Date.now());
  } catch (err) {
    return { kind: "error", detail: `cannot sign the RoomService call: ${(err as Error).message}` };
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const send = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const where = `LiveKit ${method} at ${endpoint.origin}`;
  let response: Response;
  try {
    response = await send(endpoint.href, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify(request),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const name = (err as Error | undefined)?.name;
    const timedOut = name === "TimeoutError" || name === "AbortError";
    return {
      kind: "unreachable",
      detail: timedOut ? `${where}: no answer in ${timeoutMs} ms` : `${where}: ${reasonOf(err, opts)}`,
    };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    return { kind: "unreachable", detail: `${where}: answer cut off: ${reasonOf(err, opts)}` };
  }
  const body = parseJson(text);
  if (response.ok) {
    if (body === undefined) return { kind: "error", status: response.status, detail: `${where}: answer is not JSON` };
    return { kind: "ok", body };
  }
  const code = isObject(body) && typeof body.code === "string" ? body.code : undefined;
  const msg = isObject(body) && typeof body.msg === "string" ? clean(body.msg, opts, token) : undefined;
  const said = `${where}: HTTP ${response.status}${code ? ` ${code}` : ""}${msg ? `: ${msg}` : ""}`;
  // Only Twirp's own not_found: a bare 404 (a wrong URL, a proxy's page) must not pass for "already gone".
  if (code === "not_found") return { kind: "not_found" };
  if (
    code === "unauthenticated" ||
    code === "permission_denied" ||
    response.status === 401 ||
    response.status === 403
  ) {
    return {
      kind: "unauthorized",
      status: response.status,
      detail: `${said} (check LIVEKIT_API_KEY and LIVEKIT_API_SECRET)`,
    };
  }
  return { kind: "error", status: response.status, detail: said };
}

/** The Twirp endpoint for a method, or null for a URL LiveKit could not be at. */
function endpointOf(base: string, method: string): URL | null {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return null;
  }
  // Clients are given LiveKit's wss:// URL; the API is on the same host over https.
  const protocol = { "http:": "http:", "https:": "https:", "ws:": "http:", "wss:": "https:" }[url.protocol];
  if (protocol === undefined) return null;
  const path = url.pathname.replace(/\/+$/, "");
  return new URL(`${protocol}//${url.host}${path}/twirp/livekit.RoomService/${method}`);
}

function participantOf(item: unknown): LiveKitParticipant | null {
  if (!isObject(item) || typeof item.identity !== "string" || item.identity.length === 0) return null;
  const participant: LiveKitParticipant = { identity: item.identity };
  if (typeof item.sid === "string") participant.sid = item.sid;
  if (typeof item.state === "string") participant.state = item.state;
  if (typeof item.kind === "string") participant.kind = item.kind;
  // Twirp writes int64 as a decimal string, in lowerCamelCase or the proto's own snake_case.
  const joinedAt = Number(item.joinedAt ?? item.joined_at);
  if (Number.isFinite(joinedAt) && joinedAt > 0) participant.joinedAt = joinedAt;
  return participant;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** What a thrown value says, without the secret and kept short. */
function reasonOf(err: unknown, key: LiveKitKey): string {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const text = err instanceof Error ? err.message : String(err);
  return clean(typeof cause === "string" ? `${text} (${cause})` : text, key);
}

/** Text for a detail: the secret (and the call's token) redacted, and kept short. */
function clean(text: string, key: LiveKitKey, token?: string): string {
  let redacted = key.apiSecret.length > 0 ? text.split(key.apiSecret).join("[redacted]") : text;
  if (token !== undefined) redacted = redacted.split(token).join("[token]");
  return redacted.length > MAX_DETAIL_LENGTH ? `${redacted.slice(0, MAX_DETAIL_LENGTH)}…` : redacted;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

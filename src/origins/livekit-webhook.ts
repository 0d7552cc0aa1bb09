/**
 * LiveKit's webhooks, verified. LiveKit posts each event as JSON with an
 * `Authorization` header holding a JWT signed (HS256) with the API secret:
 * `iss` the API key, a few minutes' lifetime, and a `sha256` claim that is
 * the standard base64 of the SHA-256 of the raw body. A verified webhook
 * tells Spillway, by seat id (the participant identity), who joined and who
 * left, so a seat whose listener left can be given back and a participant
 * with no seat can be cut.
 *
 * The checks, in order: the header's shape; `iss` is our API key (else
 * `wrong_key`: LiveKit signed with another key of its own); the HS256
 * signature; `nbf`/`exp` against now with LiveKit's SDK leeway (10 s); the
 * body's hash; then the body as a LiveKit event. The body is read only once
 * the signature holds.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { type LiveKitKey, secretBytes } from "./livekit-auth.ts";

export type WebhookRefusal = "bad_signature" | "wrong_key" | "body_mismatch" | "expired" | "malformed";

/** The events LiveKit sends that the seat wiring reads; others pass through by name. */
export type LiveKitEventName =
  | "room_started"
  | "room_finished"
  | "participant_joined"
  | "participant_left"
  | "participant_connection_aborted"
  | "track_published"
  | "track_unpublished";

/** A verified LiveKit event, with the fields the seat wiring reads. */
export interface LiveKitEvent {
  event: LiveKitEventName | (string & {});
  /** LiveKit's event id (`EV_…`), the same on a retried delivery. */
  id?: string;
  /** When LiveKit made the event, in seconds since the epoch. */
  createdAt?: number;
  room?: { name: string; sid?: string };
  /** The participant the event is about; `identity` is the seat id Spillway minted. */
  participant?: { identity: string; sid?: string; state?: string };
  /** The parsed body, for fields not read here. */
  raw: Record<string, unknown>;
}

export type WebhookVerdict = { ok: true; event: LiveKitEvent } | { ok: false; reason: WebhookRefusal; detail: string };

export interface WebhookRequest extends LiveKitKey {
  /** The raw request body, exactly as received (its bytes are hashed). */
  body: string | Uint8Array;
  /** The request's `Authorization` header: the JWT, with or without `Bearer `. */
  authorization: string | null | undefined;
  /** Now, in ms since the epoch (default the system clock). */
  now?: number;
  /** Seconds of clock skew allowed on `nbf` and `exp` (default 10, as LiveKit's SDK). */
  leewaySeconds?: number;
}

/** Headers longer than this are refused unread. */
const MAX_AUTHORIZATION_LENGTH = 4096;
/** Bodies longer than this are refused unhashed; LiveKit's events are a few KiB. */
export const MAX_WEBHOOK_BODY_BYTES = 1 << 20;

/** Verify a LiveKit webhook and parse its event. Never throws; never echoes the secret. */
export async function verifyWebhook(req: WebhookRequest): Promise<WebhookVerdict> {
  const token = tokenOf(req.authorization);
  if (token === null) return refuse("malformed", "no LiveKit token in the Authorization header");
  const body = typeof req.body === "string" ? new TextEncoder().encode(req.body) : req.body;
  if (body.byteLength > MAX_WEBHOOK_BODY_BYTES) return refuse("malformed", "webhook body is too large");

  let issuer: unknown;
  try {
    if (decodeProtectedHeader(token).alg !== "HS256") return refuse("bad_signature", "webhook token is not HS256");
    issuer = decodeJwt(token).iss;
  } catch {
    return refuse("malformed", "webhook token is not a JWT");
  }
  if (issuer !== req.apiKey) return refuse("wrong_key", "webhook token was signed for another API key");

  let claimed: unknown;
  try {
    const { payload } = await jwtVerify(token, secretBytes(req.apiSecret), {
      algorithms: ["HS256"],
      issuer: req.apiKey,
      currentDate: new Date(req.now ?? Date.now()),
      clockTolerance: req.leewaySeconds ?? 10,
      requiredClaims: ["exp"],
    });
    claimed = payload.sha256;
  } catch (err) {
    return refusalOf(err);
  }
  if (typeof claimed !== "string" || claimed.length === 0) {
    return refuse("malformed", "webhook token has no sha256 claim");
  }
  if (claimed !== (await sha256Base64(body))) {
    return refuse("body_mismatch", "webhook body does not match the signed sha256");
  }
  return parseEvent(body);
}

function refuse(reason: WebhookRefusal, detail: string): WebhookVerdict {
  return { ok: false, reason, detail };
}

/** The JWT in the header: LiveKit sends it bare; a `Bearer ` prefix is accepted too. */
function tokenOf(header: string | null | undefined): string | null {
  if (typeof header !== "string" || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const token = header.replace(/^Bearer\s+/i, "").trim();
  return token.length > 0 ? token : null;
}

function refusalOf(err: unknown): WebhookVerdict {
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return refuse("bad_signature", "webhook signature does not verify with the API secret");
  }
  if (err instanceof errors.JWTExpired) return refuse("expired", "webhook token has expired");
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === "nbf") {
    return refuse("expired", "webhook token is not valid yet");
  }
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === "iss") {
    return refuse("wrong_key", "webhook token was signed for another API key");
  }
  return refuse("malformed", "webhook token claims are malformed");
}

/** Standard base64 (with padding) of the SHA-256 of the bytes, as LiveKit writes `sha256`. */
export async function sha256Base64(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function parseEvent(body: Uint8Array): WebhookVerdict {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    return refuse("malformed", "webhook body is not UTF-8 JSON");
  }
  if (!isObject(raw) || typeof raw.event !== "string" || raw.event.length === 0) {
    return refuse("malformed", "webhook body has no event name");
  }
  const event: LiveKitEvent = { event: raw.event, raw };
  if (typeof raw.id === "string") event.id = raw.id;
  // LiveKit writes its events with protobuf's JSON mapping: int64 as a decimal string, names in lowerCamelCase.
  const createdAt = Number(raw.createdAt ?? raw.created_at);
  if (Number.isFinite(createdAt) && createdAt > 0) event.createdAt = createdAt;
  if (isObject(raw.room) && typeof raw.room.name === "string") {
    event.room = { name: raw.room.name };
    if (typeof raw.room.sid === "string") event.room.sid = raw.room.sid;
  }
  if (isObject(raw.participant) && typeof raw.participant.identity === "string") {
    const { identity, sid, state } = raw.participant;
    event.participant = { identity };
    if (typeof sid === "string") event.participant.sid = sid;
    if (typeof state === "string") event.participant.state = state;
  }
  return { ok: true, event };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

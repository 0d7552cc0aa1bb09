/**
 * LiveKit as an origin that enforces the seat itself. LiveKit admits a
 * participant only with an access token signed by one of its API keys, so
 * Spillway mints one per seat, and the room's own count can never hold
 * more listeners than Spillway handed seats to.
 *
 * Three pieces, each runnable in a Worker or a Durable Object (WebCrypto
 * through jose, and `fetch`; no Node modules, no LiveKit SDK):
 *
 * - `mintListenerToken` (here): the token a listener joins with — HS256, `iss`
 *   the API key, `sub` the seat id, a subscribe-only grant for one room, and
 *   a lifetime no longer than the seat's lease.
 * - `verifyWebhook` (livekit-webhook.ts): LiveKit's signed webhooks, which
 *   tell who joined and who left, by seat id.
 * - `removeParticipant` and `listParticipants` (livekit-rooms.ts): the
 *   RoomService calls that cut a seat that ended and show who is connected.
 *
 * A token's `exp` matters only when a participant connects: LiveKit keeps a
 * connected participant past it. So a seat that ends must be cut with
 * `removeParticipant`; the short lifetime only stops a leaked token from
 * being used to join later.
 */
import { SignJWT } from "jose";
import { type LiveKitKey, requireText, secretBytes } from "./livekit-auth.ts";

export { verifyWebhook, type LiveKitEvent, type WebhookRefusal, type WebhookVerdict } from "./livekit-webhook.ts";
export {
  listParticipants,
  removeParticipant,
  type ListResult,
  type LiveKitParticipant,
  type RemoveResult,
  type RoomServiceFailure,
} from "./livekit-rooms.ts";
export { mintAdminToken, type LiveKitKey } from "./livekit-auth.ts";

/** The longest a listener token may live: a lease is renewed far more often than this. */
export const MAX_LISTENER_TTL_SECONDS = 24 * 60 * 60;

export interface ListenerTokenRequest extends LiveKitKey {
  /** The LiveKit room the seat is for. */
  room: string;
  /** The seat id: LiveKit's participant identity, so webhooks and removals name the seat. */
  identity: string;
  /** Whole seconds the token may be used to join: the lease's remaining life. */
  ttlSeconds: number;
  /** Now, in ms since the epoch (default the system clock). */
  now?: number;
  /** A display name for the participant (LiveKit's `name` claim), if any. */
  name?: string;
}

/** The grant a listener joins with: this room only, hearing but never sending. */
export interface ListenerGrant {
  room: string;
  roomJoin: true;
  canSubscribe: true;
  canPublish: false;
  canPublishData: false;
  canUpdateOwnMetadata: false;
}

/** The claims of a listener token, as LiveKit reads them. */
export interface ListenerClaims {
  iss: string;
  sub: string;
  nbf: number;
  exp: number;
  video: ListenerGrant;
  name?: string;
}

/**
 * A LiveKit access token for one listener seat. Throws a RangeError on a
 * request that could never make a usable token (empty key, room or identity,
 * a lifetime that is not a whole number of seconds in (0, 24 h]); the error
 * never names the secret.
 */
export async function mintListenerToken(req: ListenerTokenRequest): Promise<string> {
  requireText("apiKey", req.apiKey);
  requireText("apiSecret", req.apiSecret);
  requireText("room", req.room);
  requireText("identity", req.identity);
  if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds <= 0 || req.ttlSeconds > MAX_LISTENER_TTL_SECONDS) {
    throw new RangeError(`LiveKit token lifetime must be whole seconds in (0, ${MAX_LISTENER_TTL_SECONDS}]`);
  }
  const nbf = Math.floor((req.now ?? Date.now()) / 1000);
  const claims: ListenerClaims = {
    iss: req.apiKey,
    sub: req.identity,
    nbf,
    exp: nbf + req.ttlSeconds,
    video: {
      room: req.room,
      roomJoin: true,
      canSubscribe: true,
      canPublish: false,
      canPublishData: false,
      canUpdateOwnMetadata: false,
    },
  };
  if (req.name !== undefined) claims.name = req.name;
  return new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(secretBytes(req.apiSecret));
}

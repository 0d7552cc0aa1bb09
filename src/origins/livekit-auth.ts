/**
 * What every LiveKit call shares: the API key pair, the HMAC key LiveKit
 * signs with, and the short-lived admin token for Spillway's own RoomService
 * calls.
 */
import { SignJWT } from "jose";

/** One LiveKit API key and its secret (Worker secrets LIVEKIT_API_KEY and LIVEKIT_API_SECRET). */
export interface LiveKitKey {
  apiKey: string;
  apiSecret: string;
}

/** LiveKit's own limits on a room name and a participant identity are looser; these keep tokens small. */
const MAX_NAME_LENGTH = 256;

/**
 * A short-lived token for Spillway's own RoomService calls: `roomAdmin` for
 * one room and nothing else, so a leaked one cannot touch another room.
 */
export async function mintAdminToken(key: LiveKitKey, room: string, now: number, ttlSeconds = 60): Promise<string> {
  requireText("apiKey", key.apiKey);
  requireText("apiSecret", key.apiSecret);
  requireText("room", room);
  const nbf = Math.floor(now / 1000);
  return new SignJWT({ iss: key.apiKey, nbf, exp: nbf + ttlSeconds, video: { room, roomAdmin: true } })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(secretBytes(key.apiSecret));
}

/** LiveKit signs with the secret's UTF-8 bytes as the HMAC key, as given (not base64-decoded). */
export function secretBytes(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Refuse an empty (or, but for the secret, overlong) value before it goes into a token. */
export function requireText(what: string, value: string): void {
  if (typeof value !== "string" || value.length === 0) throw new RangeError(`LiveKit ${what} is empty`);
  if (what !== "apiSecret" && value.length > MAX_NAME_LENGTH) {
    throw new RangeError(`LiveKit ${what} is longer than ${MAX_NAME_LENGTH} characters`);
  }
}

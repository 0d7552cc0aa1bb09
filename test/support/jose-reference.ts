/**
 * The verifiers src/tokens/hs256.ts replaced, kept as the reference it must
 * match: jose's `jwtVerify` with the options and claim checks tickets and
 * overflow tokens had before. Also a forger's tools, to make tokens with any
 * header, payload and key. The unit tests (ticket-verify, overflow-verify)
 * check that the hand-written verifiers decide as these do; `npm run
 * bench:verify` times the two side by side. No Node imports: the benchmark
 * runs this in workerd too.
 */
import { jwtVerify } from "jose";
import { OVERFLOW_REASONS } from "../../src/policy/overflow.ts";
import { OVERFLOW_TYP, refusalOf, TICKET_TYP, type Verified } from "../../src/tokens/claims.ts";
import type { KeyRing } from "../../src/tokens/keys.ts";

/** Who must have issued the token, the room it must be for, and now (ms since the epoch). */
export interface ReferenceOptions {
  issuer: string;
  room: string;
  now: number;
}

type Reference = Verified<Record<string, unknown>>;

/** A ticket through jwtVerify, then the claim checks verifyTicket makes. */
export async function joseTicket(keys: KeyRing, token: string, opts: ReferenceOptions): Promise<Reference> {
  const required = ["sub", "iat", "exp", "seq", "shard", "at"];
  const verified = await joseRoomToken(keys.ticket, token, TICKET_TYP, required, opts);
  if (!verified.ok) return verified;
  const { sub, seq, shard, at, iat, exp } = verified.claims;
  if (!isCount(seq, 1) || !isCount(shard, 0) || !isCount(at, 0) || typeof sub !== "string") {
    return { ok: false, reason: "bad_claims" };
  }
  return { ok: true, claims: { room: opts.room, sub, shard, seq, at, iat, exp } };
}

/** An overflow token through jwtVerify, then the claim checks verifyOverflow makes. */
export async function joseOverflow(keys: KeyRing, token: string, opts: ReferenceOptions): Promise<Reference> {
  const verified = await joseRoomToken(keys.overflow, token, OVERFLOW_TYP, ["sub", "iat", "exp", "reason"], opts);
  if (!verified.ok) return verified;
  const { sub, reason, iat, exp } = verified.claims;
  if (typeof sub !== "string" || !(OVERFLOW_REASONS as readonly unknown[]).includes(reason)) {
    return { ok: false, reason: "bad_claims" };
  }
  return { ok: true, claims: { room: opts.room, sub, reason, iat, exp } };
}

/**
 * What every room token went through: refused unread when too long, then
 * jwtVerify (HS256 only, this `typ`, issuer, room as audience, these claims
 * present, no leeway), its errors read as refusals. An error that is not
 * jose's, nor a TypeError or SyntaxError from reading the token, is thrown.
 */
async function joseRoomToken(
  key: CryptoKey,
  token: string,
  typ: string,
  requiredClaims: string[],
  opts: ReferenceOptions,
): Promise<Reference> {
  if (token.length > 4096) return { ok: false, reason: "malformed" };
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["HS256"],
      typ,
      issuer: opts.issuer,
      audience: opts.room,
      currentDate: new Date(opts.now),
      requiredClaims,
    });
    return { ok: true, claims: payload };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

const encoder = new TextEncoder();

/** Bytes, or a string's UTF-8, in base64url without padding. */
export function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A value as one segment of a token: its JSON, in base64url. */
export function jsonSegment(value: unknown): string {
  return b64url(JSON.stringify(value));
}

/** An HMAC key: raw bytes (imported for the hash asked for), or a CryptoKey, used as it is. */
export type MacKey = Uint8Array<ArrayBuffer> | CryptoKey;

/** The token of these encoded header and payload segments, whatever they hold, with its MAC under `key`. */
export async function macSegments(header: string, payload: string, key: MacKey, hash = "SHA-256"): Promise<string> {
  const macKey =
    key instanceof Uint8Array
      ? await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"])
      : key;
  const input = `${header}.${payload}`;
  const mac = await crypto.subtle.sign("HMAC", macKey, encoder.encode(input));
  return `${input}.${b64url(new Uint8Array(mac))}`;
}

/** A compact JWS of this header and payload (any JSON), MACed with `key`: the least any signer must do. */
export function signJws(header: unknown, payload: unknown, key: MacKey): Promise<string> {
  return macSegments(jsonSegment(header), jsonSegment(payload), key);
}

/** The record without `key`, to leave a claim out. */
export function without(record: Record<string, unknown>, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = record;
  return rest;
}

/**
 * Overflow tokens: an offer of the recording, HS256 with a key of their own
 * (OVERFLOW_KEY) and their own `typ`, so one can never serve as a ticket or
 * a pass, nor either of those as one. It lets a listener who took the offer
 * come back for the recording link without a place in line. Verified by
 * hs256.ts, as tickets and challenges are.
 */
import { SignJWT } from "jose";
import { OVERFLOW_REASONS, type OverflowReason as OverflowTokenReason } from "../policy/overflow.ts";
import { OVERFLOW_TYP, type Verified } from "./claims.ts";
import { verifyRoomToken } from "./hs256.ts";
import type { KeyRing } from "./keys.ts";

export interface OverflowClaims {
  room: string;
  sub: string;
  reason: OverflowTokenReason;
  iat: number;
  exp: number;
}

export interface OverflowInput {
  issuer: string;
  room: string;
  sub: string;
  reason: OverflowTokenReason;
  now: number;
  ttlMs: number;
}

export async function issueOverflow(keys: KeyRing, p: OverflowInput): Promise<string> {
  return new SignJWT({ reason: p.reason })
    .setProtectedHeader({ alg: "HS256", typ: OVERFLOW_TYP })
    .setIssuer(p.issuer)
    .setAudience(p.room)
    .setSubject(p.sub)
    .setIssuedAt(Math.floor(p.now / 1000))
    .setExpirationTime(Math.floor((p.now + p.ttlMs) / 1000))
    .sign(keys.overflow);
}

const OVERFLOW_CLAIMS = ["sub", "iat", "exp", "reason"] as const;

/** Verify an overflow token of this room; its claims, or why it is refused. */
export async function verifyOverflow(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<OverflowClaims>> {
  const verified = await verifyRoomToken(keys.overflow, token, { typ: OVERFLOW_TYP, required: OVERFLOW_CLAIMS }, opts);
  if (!verified.ok) return verified;
  const { sub, reason, iat, exp } = verified.claims;
  if (typeof sub !== "string" || !OVERFLOW_REASONS.includes(reason as OverflowTokenReason)) {
    return { ok: false, reason: "bad_claims" };
  }
  return { ok: true, claims: { room: opts.room, sub, reason: reason as OverflowTokenReason, iat, exp } };
}

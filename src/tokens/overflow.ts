/**
 * Overflow tokens: an offer of the recording, HS256 with a key of their own
 * (OVERFLOW_KEY) and their own `typ`, so one can never serve as a ticket or
 * a pass, nor either of those as one. It lets a listener who took the offer
 * come back for the recording link without a place in line.
 */
import { jwtVerify, SignJWT } from "jose";
import { MAX_TOKEN_LENGTH, OVERFLOW_TYP, refusalOf, type Verified } from "./claims.ts";
import type { KeyRing } from "./keys.ts";

export const OVERFLOW_REASONS = ["mode", "max_wait", "max_queue"] as const;
export type OverflowTokenReason = (typeof OVERFLOW_REASONS)[number];

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

export async function verifyOverflow(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<OverflowClaims>> {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  try {
    const { payload } = await jwtVerify(token, keys.overflow, {
      algorithms: ["HS256"],
      typ: OVERFLOW_TYP,
      issuer: opts.issuer,
      audience: opts.room,
      currentDate: new Date(opts.now),
      requiredClaims: ["sub", "iat", "exp", "reason"],
    });
    const reason = payload["reason"];
    if (typeof payload.sub !== "string" || !OVERFLOW_REASONS.includes(reason as OverflowTokenReason)) {
      return { ok: false, reason: "bad_claims" };
    }
    return {
      ok: true,
      claims: {
        room: opts.room,
        sub: payload.sub,
        reason: reason as OverflowTokenReason,
        iat: payload.iat!,
        exp: payload.exp!,
      },
    };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

/**
 * Proof-of-work challenges (under-attack mode): HS256 with a key of their own
 * (CHALLENGE_KEY) and their own `typ`, for one room, expiring in minutes.
 * The `sub` is the challenge id that is hashed with the nonce, and becomes
 * the listener's id once the challenge is solved, which is how a solved
 * challenge is spent: the listener's shard refuses an id it has seen.
 */
import { SignJWT } from "jose";
import { CHALLENGE_TTL_MS, MAX_CHALLENGE_BITS } from "../policy/pow.ts";
import { CHALLENGE_TYP, type Verified } from "./claims.ts";
import { verifyRoomToken } from "./hs256.ts";
import type { KeyRing } from "./keys.ts";

export interface ChallengeClaims {
  room: string;
  /** The challenge id (hashed with the nonce; the listener's id once solved). */
  sub: string;
  /** Difficulty in leading zero bits. */
  bits: number;
  iat: number;
  exp: number;
}

export interface ChallengeInput {
  issuer: string;
  room: string;
  sub: string;
  bits: number;
  now: number;
  ttlMs?: number;
}

export async function issueChallenge(keys: KeyRing, c: ChallengeInput): Promise<{ token: string; exp: number }> {
  const iat = Math.floor(c.now / 1000);
  const exp = Math.floor((c.now + (c.ttlMs ?? CHALLENGE_TTL_MS)) / 1000);
  const token = await new SignJWT({ bits: c.bits })
    .setProtectedHeader({ alg: "HS256", typ: CHALLENGE_TYP })
    .setIssuer(c.issuer)
    .setAudience(c.room)
    .setSubject(c.sub)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keys.challenge);
  return { token, exp };
}

const CHALLENGE_CLAIMS = ["sub", "iat", "exp", "bits"] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Verify a challenge of this room; its claims, or why it is refused. */
export async function verifyChallenge(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<ChallengeClaims>> {
  const verified = await verifyRoomToken(
    keys.challenge,
    token,
    { typ: CHALLENGE_TYP, required: CHALLENGE_CLAIMS },
    opts,
  );
  if (!verified.ok) return verified;
  const { sub, bits, iat, exp } = verified.claims;
  if (typeof sub !== "string" || !UUID.test(sub)) return { ok: false, reason: "bad_claims" };
  if (typeof bits !== "number" || !Number.isInteger(bits) || bits < 0 || bits > MAX_CHALLENGE_BITS) {
    return { ok: false, reason: "bad_claims" };
  }
  return { ok: true, claims: { room: opts.room, sub, bits, iat, exp } };
}

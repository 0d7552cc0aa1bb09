/**
 * Admission passes: ES256 JWTs with a `kid`, verifiable by anyone holding the
 * JWKS. `sid` is the seat's lease id; every renewal of one seat keeps it.
 * `gen` is the seat's generation: a claim with the same ticket from another
 * device moves the seat there, and a pass of an older generation can no
 * longer renew (absent in passes signed before it existed: 0).
 */
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from "jose";
import { MAX_TOKEN_LENGTH, PASS_TYP, refusalOf, type Verified } from "./claims.ts";
import type { KeyRing } from "./keys.ts";

export interface PassClaims {
  room: string;
  sub: string;
  sid: string;
  /** The shard holding the seat. */
  shard: number;
  gen: number;
  iat: number;
  exp: number;
}

export interface PassInput {
  issuer: string;
  room: string;
  sub: string;
  sid: string;
  shard: number;
  gen: number;
  now: number;
  /** The lease's expiry (ms); the pass never outlives it. */
  expiresAt: number;
}

/** Sign a pass for a seat. Its `exp` is rounded down so it never outlives the lease. */
export async function issuePass(keys: KeyRing, p: PassInput): Promise<{ token: string; exp: number }> {
  const exp = Math.floor(p.expiresAt / 1000);
  const token = await new SignJWT({ sid: p.sid, shard: p.shard, gen: p.gen })
    .setProtectedHeader({ alg: "ES256", typ: PASS_TYP, kid: keys.passSigner.kid })
    .setIssuer(p.issuer)
    .setAudience(p.room)
    .setSubject(p.sub)
    .setIssuedAt(Math.floor(p.now / 1000))
    .setExpirationTime(exp)
    .sign(keys.passSigner.key);
  return { token, exp };
}

/** Verify a pass for this room against the current public keys. */
export async function verifyPass(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<PassClaims>> {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== "ES256") return { ok: false, reason: "wrong_kind" };
    const key = typeof header.kid === "string" ? keys.passVerifiers.get(header.kid) : undefined;
    if (key === undefined) return { ok: false, reason: "unknown_key" };
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["ES256"],
      typ: PASS_TYP,
      issuer: opts.issuer,
      audience: opts.room,
      currentDate: new Date(opts.now),
      requiredClaims: ["sub", "iat", "exp", "sid", "shard"],
    });
    const { sid, shard } = payload;
    const gen = payload["gen"] ?? 0;
    if (typeof gen !== "number" || !Number.isSafeInteger(gen) || gen < 0) return { ok: false, reason: "bad_claims" };
    if (typeof sid !== "string" || typeof payload.sub !== "string") return { ok: false, reason: "bad_claims" };
    if (typeof shard !== "number" || !Number.isSafeInteger(shard) || shard < 0)
      return { ok: false, reason: "bad_claims" };
    return {
      ok: true,
      claims: { room: opts.room, sub: payload.sub, sid, shard, gen, iat: payload.iat!, exp: payload.exp! },
    };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

/**
 * Verify a pass that may be past its `exp`: authentic, this room's, and
 * otherwise valid. Only for giving a seat back (leave, release): a held
 * stream renews its seat without renewing its listener's pass
 * (src/edge/seat-tie.ts), so an expired pass may still name a live seat;
 * the shard decides whether it does.
 */
export async function verifyPassAnyAge(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<PassClaims>> {
  const verified = await verifyPass(keys, token, opts);
  if (verified.ok || verified.reason !== "expired") return verified;
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return verified;
  }
  if (typeof exp !== "number" || !Number.isFinite(exp)) return verified;
  // Everything else is checked as it was the second before it expired.
  return verifyPass(keys, token, { ...opts, now: exp * 1000 - 1000 });
}

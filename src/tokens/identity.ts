/**
 * The deployer's own identity tokens, and the lane each one puts a listener in
 * (read at join by src/edge/lane-arrival.ts; lanes: src/policy/lanes.ts).
 *
 * A listener may present a JWT from the deployer's login. A room's identity
 * settings name the issuer and audience Spillway expects, where the keys
 * come from (a JWKS URL the Worker fetches and caches, jwks-cache.ts, or a
 * Worker secret shared with the platform, identity-secret.ts), the
 * algorithms allowed, and rules that map claims to a lane: the first rule
 * whose claim holds one of its values wins, and a verified token that no
 * rule matches is a listener with no lane.
 *
 * Verification is jose's `jwtVerify` with everything pinned: the allowed
 * algorithms (checked on the header before any key is looked up, so `none`,
 * and an HMAC token against published keys, never reach a key), issuer,
 * audience, `exp` and `sub` required, `nbf` honoured, the clock tolerance,
 * and the time from `deps.now()`. Outcomes are typed reasons; no message
 * carries a token's contents or a secret.
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import { type IdentityConfig, MAX_IDENTITY_TOKEN_LENGTH, laneOf } from "../policy/identity-config.ts";
import { readCompactJws } from "./compact-jws.ts";
import { hmacSecretSource } from "./identity-secret.ts";
import { jwksCacheFor, type FetchLike, type IdentityKeySource } from "./jwks-cache.ts";

// The settings and their rules live with the room's config; re-exported for the callers of verification.
export * from "../policy/identity-config.ts";

/** Why an identity token is refused: the one list (the contract's error schema reads it too). */
export const IDENTITY_REFUSALS = [
  "malformed",
  "bad_signature",
  "expired",
  "not_yet_valid",
  "wrong_issuer",
  "wrong_audience",
  "unknown_key",
  "alg_not_allowed",
  "keys_unavailable",
] as const;
export type IdentityRefusal = (typeof IDENTITY_REFUSALS)[number];

export type IdentityResult =
  { ok: true; lane: string | null; sub: string; exp: number } | { ok: false; reason: IdentityRefusal };

export interface IdentityDeps {
  /** Now, in ms since the epoch. */
  now(): number;
  keys: IdentityKeySource;
  /** The request's `ctx.waitUntil`, so a background JWKS refresh outlives the response. */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Map a jose error to a refusal, by its class (never its message). */
function refusalOf(err: unknown): IdentityRefusal {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "iss") return "wrong_issuer";
    if (err.claim === "aud") return "wrong_audience";
    if (err.claim === "nbf" && err.reason === "check_failed") return "not_yet_valid";
    return "malformed";
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof errors.JOSEAlgNotAllowed) return "alg_not_allowed";
  if (err instanceof errors.JOSEError) return "malformed";
  if (err instanceof TypeError || err instanceof SyntaxError) return "malformed";
  throw err;
}

/** Verify a listener's identity token against a room's settings: the lane it puts them in, or why it is refused. */
export async function verifyIdentity(
  token: string,
  config: IdentityConfig,
  deps: IdentityDeps,
): Promise<IdentityResult> {
  if (typeof token !== "string" || token.length > MAX_IDENTITY_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  const jws = readCompactJws(token);
  if (jws === null || jws.segments.length !== 3 || !jws.headerIsUtf8) return { ok: false, reason: "malformed" };
  const { alg, kid } = jws.header;
  if (typeof alg !== "string" || alg === "") return { ok: false, reason: "malformed" };
  // `none`, and any algorithm the room does not allow, is refused before a key is looked up.
  if (!config.algorithms.includes(alg)) return { ok: false, reason: "alg_not_allowed" };
  if (kid !== undefined && typeof kid !== "string") return { ok: false, reason: "malformed" };

  const now = deps.now();
  const found = await deps.keys.keyFor(
    kid === undefined ? { alg } : { alg, kid },
    deps.waitUntil === undefined ? { now } : { now, waitUntil: deps.waitUntil },
  );
  if (!found.ok) return found;

  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, found.key, {
      algorithms: [...config.algorithms],
      issuer: config.issuer,
      audience: config.audience,
      requiredClaims: ["exp", "sub"],
      clockTolerance: config.clockToleranceSeconds,
      currentDate: new Date(now),
    }));
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
  const { sub, exp } = claims;
  if (typeof sub !== "string" || sub === "" || sub.length > 256 || typeof exp !== "number") {
    return { ok: false, reason: "malformed" };
  }
  return { ok: true, lane: laneOf(claims, config.lanes), sub, exp };
}

export interface IdentityKeyOptions {
  /** How to fetch a JWKS (the Worker's global `fetch`; a stub in tests). */
  fetch: FetchLike;
  timeoutMs?: number;
}

/** The key source for a room's settings: the isolate's JWKS cache for its URL, or its shared secret in `env`. */
export function identityKeySource(
  config: IdentityConfig,
  env: Readonly<Record<string, unknown>>,
  options: IdentityKeyOptions,
): IdentityKeySource {
  return "jwksUrl" in config.keys
    ? jwksCacheFor(config.keys.jwksUrl, options)
    : hmacSecretSource(env, config.keys.hmacSecretName);
}

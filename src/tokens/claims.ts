/**
 * Token kinds, their JOSE `typ` headers, and the typed reasons a token is
 * refused. Every token has iss, aud (the room), sub (the listener), iat, exp.
 */
import { errors } from "jose";

export const TICKET_TYP = "spillway-ticket+jwt";
export const PASS_TYP = "spillway-pass+jwt";
export const OVERFLOW_TYP = "spillway-overflow+jwt";
export const CHALLENGE_TYP = "spillway-challenge+jwt";

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_LENGTH = 4096;

export type TokenRefusal =
  | "malformed"
  | "expired"
  | "bad_signature"
  | "wrong_kind"
  | "wrong_room"
  | "wrong_issuer"
  | "bad_claims"
  | "unknown_key";

export type Verified<T> = { ok: true; claims: T } | { ok: false; reason: TokenRefusal };

/** The refusal for a claim (or the `typ` header) that is missing or does not hold. */
export function refusalOfClaim(claim: string): TokenRefusal {
  switch (claim) {
    case "aud":
      return "wrong_room";
    case "iss":
      return "wrong_issuer";
    case "typ":
      return "wrong_kind";
    default:
      return "bad_claims";
  }
}

/** Map a jose error to a refusal reason, by its code (never its message). */
export function refusalOf(err: unknown): TokenRefusal {
  if (err instanceof errors.JWTExpired) return "expired";
  if (err instanceof errors.JWTClaimValidationFailed) return refusalOfClaim(err.claim);
  if (err instanceof errors.JWSSignatureVerificationFailed) return "bad_signature";
  if (err instanceof errors.JOSEAlgNotAllowed) return "wrong_kind";
  if (err instanceof errors.JWKSNoMatchingKey) return "unknown_key";
  if (err instanceof errors.JOSEError) return "malformed";
  if (err instanceof TypeError || err instanceof SyntaxError) return "malformed";
  throw err;
}

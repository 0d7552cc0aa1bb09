/**
 * HS256 JWT verification with WebCrypto on the key imported once per isolate
 * (keys.ts), for every HS256 token Spillway verifies: queue tickets,
 * proof-of-work challenges and overflow tokens. Every waiting poll verifies
 * a ticket, so this is the check Spillway runs most. It skips what jose's
 * general `jwtVerify` must do (key-type checks on a key we imported
 * ourselves, options to normalise), and takes the header the request already
 * decoded to route the token (compact-jws.ts).
 *
 * Measured with `npm run bench:verify` (bench/verify.ts: the same keys,
 * claims and tokens both ways), in local workerd on 2 shared EPYC cores, as
 * this path's verifications a second ÷ jose's (each the median of 9 rounds;
 * three runs, the machine's load between 2 and 12):
 *
 *   a waiting poll's ticket (header already read)  1.66  1.47  1.55
 *   a ticket from text (join, claim)               1.47  1.70  1.54
 *   a ticket with a forged signature               2.36  2.51  2.89
 *   an overflow token                              1.46  1.21  1.62
 *
 * so about a third less time on the poll (115,700 against 63,200 a second in
 * the quietest run); Node 24 gave 1.07 to 1.89 for the same, more noisily.
 * Signing stays jose's `SignJWT`: it runs once a join or offer, not once a
 * poll, and a bare WebCrypto signer was 1.04, 1.14, 1.47 × as fast.
 *
 * It makes the checks, in the order and with the outcomes, of jose's
 * `jwtVerify` with the options these tokens were verified with before
 * (`algorithms: ["HS256"]`, `typ`, `issuer`, `audience`, `currentDate`,
 * `requiredClaims`):
 *
 * 1. three segments; the protected header a strictly UTF-8 JSON object;
 * 2. `alg` a non-empty string (else malformed), and then exactly HS256: `none`
 *    and every other algorithm are refused as the wrong kind, before any key
 *    is used;
 * 3. the HMAC-SHA-256 over the ASCII `<header>.<payload>` (compared in
 *    constant time by WebCrypto);
 * 4. the payload a strictly UTF-8 JSON object;
 * 5. `typ`, compared as jose compares it (case-insensitively, with
 *    `application/` implied);
 * 6. the required claims present (`iss` and `aud` first); `iss` the issuer;
 *    `aud` the room (or an array holding it); `iat`, if present, a number;
 *    `nbf`, if present, a number not after now; `exp`, if present, a number
 *    after now (`exp` ≤ now is expired), all in whole seconds, no leeway.
 *
 * One difference, stricter: a header with `crit` is refused (jose accepts
 * `crit: ["b64"]`). Spillway never signs one.
 */
import { ASCII, type CompactJws, decodeBase64url, decodeJsonObject, readCompactJws } from "./compact-jws.ts";
import { MAX_TOKEN_LENGTH, refusalOfClaim, type TokenRefusal, type Verified } from "./claims.ts";

export interface JwtExpectations {
  /** The JOSE `typ` header the token must carry. */
  typ: string;
  issuer: string;
  audience: string;
  /** Now, in ms since the epoch. */
  now: number;
  /** Claims that must be present, besides `iss` and `aud`. */
  required: readonly string[];
}

type Refused = { ok: false; reason: TokenRefusal };

const encoder = new TextEncoder();

function refuse(reason: TokenRefusal): Refused {
  return { ok: false, reason };
}

/** `typ` as jose compares it: lower case, `application/` implied. */
function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase();
  return typ.includes("/") ? lower : `application/${lower}`;
}

/** Steps 1–3: the header and the signature; null when the signature holds. */
async function checkSignature(key: CryptoKey, jws: CompactJws): Promise<Refused | null> {
  const { segments, header } = jws;
  if (segments.length !== 3 || !jws.headerIsUtf8 || header.crit !== undefined) return refuse("malformed");
  const { alg } = header;
  if (typeof alg !== "string" || alg === "") return refuse("malformed");
  if (alg !== "HS256") return refuse("wrong_kind");
  const signed = jws.token.slice(0, segments[0]!.length + 1 + segments[1]!.length);
  if (!ASCII.test(signed)) return refuse("malformed");
  const signature = decodeBase64url(segments[2]!);
  if (signature === null) return refuse("malformed");
  let valid: boolean;
  try {
    valid = await crypto.subtle.verify("HMAC", key, signature, encoder.encode(signed));
  } catch {
    valid = false;
  }
  return valid ? null : refuse("bad_signature");
}

/** Step 5–6: the `typ` header and the claims of a signed payload; null when they hold. */
function checkClaims(
  header: CompactJws["header"],
  claims: Record<string, unknown>,
  expect: JwtExpectations,
): Refused | null {
  const { typ } = header;
  if (typeof typ !== "string" || normalizeTyp(typ) !== normalizeTyp(expect.typ)) return refuse("wrong_kind");
  // jose looks for iss, then aud, then the required claims from last to first.
  for (const claim of new Set(["iss", "aud", ...[...expect.required].reverse()])) {
    if (!Object.hasOwn(claims, claim)) return refuse(refusalOfClaim(claim));
  }
  if (claims.iss !== expect.issuer) return refuse("wrong_issuer");
  const { aud } = claims;
  const forRoom =
    typeof aud === "string" ? aud === expect.audience : Array.isArray(aud) && aud.includes(expect.audience);
  if (!forRoom) return refuse("wrong_room");
  const now = Math.floor(expect.now / 1000);
  const { iat, nbf, exp } = claims;
  if (iat !== undefined && typeof iat !== "number") return refuse("bad_claims");
  if (nbf !== undefined && (typeof nbf !== "number" || nbf > now)) return refuse("bad_claims");
  if (exp !== undefined && typeof exp !== "number") return refuse("bad_claims");
  if (typeof exp === "number" && exp <= now) return refuse("expired");
  return null;
}

/** Verify an HS256 JWT against `key` and what it must say; its claims, or why it is refused. */
export async function verifyHs256Jwt(
  key: CryptoKey,
  jws: CompactJws,
  expect: JwtExpectations,
): Promise<Verified<Record<string, unknown>>> {
  const unsigned = await checkSignature(key, jws);
  if (unsigned !== null) return unsigned;
  const claims = decodeJsonObject(jws.segments[1]!);
  if (claims === null) return refuse("malformed");
  return checkClaims(jws.header, claims, expect) ?? { ok: true, claims };
}

/** What one kind of room token must say: its `typ` and the claims it must carry. */
export interface RoomTokenKind {
  typ: string;
  /** Besides `iss` and `aud`; `iat` and `exp` among them. */
  required: readonly string[];
}

/**
 * A room's HS256 token (ticket, challenge, overflow offer), as text or as the
 * `CompactJws` the request already read it into: bounded in length, read,
 * verified for this room, with `iat` and `exp` numbers. Each kind's own
 * claims are still its verifier's to check.
 */
export async function verifyRoomToken(
  key: CryptoKey,
  token: string | CompactJws,
  kind: RoomTokenKind,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<Record<string, unknown> & { iat: number; exp: number }>> {
  const text = typeof token === "string" ? token : token.token;
  if (text.length > MAX_TOKEN_LENGTH) return refuse("malformed");
  const jws = typeof token === "string" ? readCompactJws(token) : token;
  if (jws === null) return refuse("malformed");
  const verified = await verifyHs256Jwt(key, jws, { ...kind, issuer: opts.issuer, audience: opts.room, now: opts.now });
  if (!verified.ok) return verified;
  const { iat, exp } = verified.claims;
  // Always true for a kind that requires both (numbers when present); checked so the type may say so.
  if (typeof iat !== "number" || typeof exp !== "number") return refuse("bad_claims");
  return verified as { ok: true; claims: Record<string, unknown> & { iat: number; exp: number } };
}

/**
 * Signing keys, imported once per isolate and reused.
 *
 * - Tickets: HS256 with TICKET_KEY (base64url, at least 32 bytes). Only
 *   Spillway ever verifies a ticket, so a fast symmetric key is right.
 * - Overflow tokens (an offer of the recording): HS256 with OVERFLOW_KEY, a
 *   key of their own, so neither kind can ever pass for the other.
 * - Proof-of-work challenges (under-attack mode): HS256 with CHALLENGE_KEY.
 * - Passes: ES256 with PASS_KEYS, a JSON array of private JWKs each with a
 *   `kid`; the first signs, all verify, and their public halves are the JWKS
 *   an origin uses. An origin can verify a pass but never mint one.
 */
import { base64url, type JWK, type JSONWebKeySet } from "jose";

export interface PassSigningKey {
  kid: string;
  key: CryptoKey;
}

export interface KeyRing {
  /** HMAC-SHA-256 key for tickets, imported once. */
  ticket: CryptoKey;
  /** HMAC-SHA-256 key for overflow tokens, imported once. */
  overflow: CryptoKey;
  /** HMAC-SHA-256 key for proof-of-work challenges, imported once. */
  challenge: CryptoKey;
  passSigner: PassSigningKey;
  /** Public pass keys by kid. */
  passVerifiers: Map<string, CryptoKey>;
  jwks: JSONWebKeySet;
}

export interface KeyVars {
  TICKET_KEY: string;
  PASS_KEYS: string;
  OVERFLOW_KEY: string;
  CHALLENGE_KEY: string;
}

let cached: { vars: KeyVars; ring: Promise<KeyRing>; ready: KeyRing | null } | null = null;

/** The same four secrets (compared one by one: no string is built per request). */
function sameSecrets(a: KeyVars, b: KeyVars): boolean {
  // The runtime hands every request the same env object: the common case is one comparison.
  return (
    a === b ||
    (a.TICKET_KEY === b.TICKET_KEY &&
      a.PASS_KEYS === b.PASS_KEYS &&
      a.OVERFLOW_KEY === b.OVERFLOW_KEY &&
      a.CHALLENGE_KEY === b.CHALLENGE_KEY)
  );
}

/** The key ring for these secrets; imported on first use in the isolate. */
export function keyRing(vars: KeyVars): Promise<KeyRing> {
  if (cached === null || !sameSecrets(cached.vars, vars)) {
    const ring = importRing(vars);
    const { TICKET_KEY, PASS_KEYS, OVERFLOW_KEY, CHALLENGE_KEY } = vars;
    const entry: NonNullable<typeof cached> = {
      vars: { TICKET_KEY, PASS_KEYS, OVERFLOW_KEY, CHALLENGE_KEY },
      ring,
      ready: null,
    };
    ring.then(
      (imported) => {
        entry.ready = imported;
      },
      () => {
        if (cached === entry) cached = null;
      },
    );
    cached = entry;
  }
  return cached.ring;
}

/**
 * The key ring for these secrets when it is already imported, else null
 * (then `keyRing` imports it): for an answer that must not wait.
 */
export function readyKeyRing(vars: KeyVars): KeyRing | null {
  return cached !== null && sameSecrets(cached.vars, vars) ? cached.ready : null;
}

const PUBLIC_EC_FIELDS = ["kty", "crv", "x", "y", "kid"] as const;

async function importRing(vars: KeyVars): Promise<KeyRing> {
  const ticket = await hmacKey("TICKET_KEY", vars.TICKET_KEY);
  const overflow = await hmacKey("OVERFLOW_KEY", vars.OVERFLOW_KEY);
  const challenge = await hmacKey("CHALLENGE_KEY", vars.CHALLENGE_KEY);

  let parsed: unknown;
  try {
    parsed = JSON.parse(vars.PASS_KEYS);
  } catch {
    throw new Error("PASS_KEYS is not JSON");
  }
  if (!Array.isArray(parsed) || parsed.length === 0)
    throw new Error("PASS_KEYS must be a non-empty JSON array of JWKs");

  const verifiers = new Map<string, CryptoKey>();
  const publicJwks: JWK[] = [];
  let signer: PassSigningKey | null = null;
  for (const jwk of parsed as JWK[]) {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.kid !== "string" || typeof jwk.d !== "string") {
      throw new Error("each PASS_KEYS entry must be a private EC P-256 JWK with a kid");
    }
    const pub: JWK = { alg: "ES256", use: "sig" };
    for (const f of PUBLIC_EC_FIELDS) pub[f] = jwk[f];
    const algorithm = { name: "ECDSA", namedCurve: "P-256" };
    const verifyKey = await crypto.subtle.importKey("jwk", pub as JsonWebKey, algorithm, false, ["verify"]);
    verifiers.set(jwk.kid, verifyKey);
    publicJwks.push(pub);
    if (signer === null) {
      const { alg: _alg, key_ops: _ops, use: _use, ...priv } = jwk;
      const key = await crypto.subtle.importKey("jwk", priv as JsonWebKey, algorithm, false, ["sign"]);
      signer = { kid: jwk.kid, key };
    }
  }
  return { ticket, overflow, challenge, passSigner: signer!, passVerifiers: verifiers, jwks: { keys: publicJwks } };
}

/** An HMAC-SHA-256 key from a base64url secret of at least 32 bytes. */
async function hmacKey(name: string, secret: string | undefined): Promise<CryptoKey> {
  if (!secret) throw new Error(`${name} is not set`);
  const bytes = base64url.decode(secret);
  if (bytes.byteLength < 32) throw new Error(`${name} must be at least 32 bytes (base64url)`);
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

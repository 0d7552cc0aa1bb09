/**
 * The key for identity tokens signed with a secret the deployer shares with
 * Spillway (HS256/384/512) rather than published keys.
 *
 * The room config names a Worker secret (`wrangler secret put NAME`); its
 * value is the platform's signing secret as the platform shows it, used as
 * its UTF-8 bytes (what jsonwebtoken, Supabase's legacy JWT secret and most
 * HMAC-signing platforms mean by a secret). It must be at least 32 bytes, as
 * RFC 7518 asks of an HS256 key. The value never leaves this module: a
 * missing or short secret makes every token `keys_unavailable` (lanes fail
 * closed), and the message that says why names the secret, never its value.
 *
 * The key is imported once per isolate and hash, and imported again only
 * when the secret's value changes (a new deployment with a rotated secret).
 */
import type { IdentityKeySource, KeyLookup, LookupContext } from "./jwks-cache.ts";

/** The shortest secret accepted, in bytes. */
export const MIN_SECRET_BYTES = 32;

const HASHES: Readonly<Record<string, string>> = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" };

const encoder = new TextEncoder();

/** Why a named secret cannot be used (names the secret, never shows it); null when it can. */
export function secretProblem(env: Readonly<Record<string, unknown>>, name: string): string | null {
  const value = env[name];
  if (typeof value !== "string" || value === "") return `the secret ${name} is not set`;
  if (encoder.encode(value).byteLength < MIN_SECRET_BYTES) {
    return `the secret ${name} must be at least ${MIN_SECRET_BYTES} bytes`;
  }
  return null;
}

const imported = new Map<string, { value: string; keys: Map<string, Promise<CryptoKey>> }>();

/** The HMAC key of this secret for one `alg`, imported on first use. */
function hmacKey(name: string, value: string, alg: string, hash: string): Promise<CryptoKey> {
  let entry = imported.get(name);
  if (entry?.value !== value) {
    entry = { value, keys: new Map() };
    imported.set(name, entry);
  }
  let key = entry.keys.get(alg);
  if (key === undefined) {
    const algorithm = { name: "HMAC", hash };
    key = crypto.subtle.importKey("raw", encoder.encode(value), algorithm, false, ["verify"]);
    entry.keys.set(alg, key);
  }
  return key;
}

/** A key source reading the shared secret named `name` from the Worker's env. */
export function hmacSecretSource(env: Readonly<Record<string, unknown>>, name: string): IdentityKeySource {
  return {
    async keyFor(header: { alg: string }, _at: LookupContext): Promise<KeyLookup> {
      const hash = HASHES[header.alg];
      // Only HMAC algorithms reach here (the config allows no other with a secret); anything else has no key.
      if (hash === undefined) return { ok: false, reason: "unknown_key" };
      if (secretProblem(env, name) !== null) return { ok: false, reason: "keys_unavailable" };
      return { ok: true, key: await hmacKey(name, env[name] as string, header.alg, hash) };
    },
  };
}

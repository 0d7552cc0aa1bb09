/**
 * Key material for a deployment: the ticket HMAC key, the pass signing keys
 * and an admin token. Used by `npm start` (a fresh .dev.vars) and the tests;
 * printed as `wrangler secret` input by `npm run keys`.
 */

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

export interface KeySet {
  ADMIN_TOKEN: string;
  TICKET_KEY: string;
  PASS_KEYS: string;
  OVERFLOW_KEY: string;
  CHALLENGE_KEY: string;
}

/** A new ES256 private JWK with a kid derived from the date and randomness. */
export async function newPassKey(now = new Date()): Promise<JsonWebKey & { kid: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const day = now.toISOString().slice(0, 10);
  const kid = `pass-${day}-${b64url(crypto.getRandomValues(new Uint8Array(4)))}`;
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, d: jwk.d, kid };
}

/** A complete, fresh key set. */
export async function newKeySet(): Promise<KeySet> {
  return {
    ADMIN_TOKEN: b64url(crypto.getRandomValues(new Uint8Array(24))),
    TICKET_KEY: b64url(crypto.getRandomValues(new Uint8Array(32))),
    PASS_KEYS: JSON.stringify([await newPassKey()]),
    OVERFLOW_KEY: b64url(crypto.getRandomValues(new Uint8Array(32))),
    CHALLENGE_KEY: b64url(crypto.getRandomValues(new Uint8Array(32))),
  };
}

/** The key set as .dev.vars lines. */
export function toDevVars(keys: KeySet): string {
  return [
    "# Local secrets for `wrangler dev`, made by `npm start`. Never commit this file.",
    `ADMIN_TOKEN=${keys.ADMIN_TOKEN}`,
    `TICKET_KEY=${keys.TICKET_KEY}`,
    `PASS_KEYS='${keys.PASS_KEYS}'`,
    `OVERFLOW_KEY=${keys.OVERFLOW_KEY}`,
    `CHALLENGE_KEY=${keys.CHALLENGE_KEY}`,
    "",
  ].join("\n");
}

/** Parse .dev.vars (KEY=value, optional single or double quotes). */
export function parseDevVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let value = m[2]!;
    if ((value.startsWith("'") && value.endsWith("'")) || (value.startsWith('"') && value.endsWith('"'))) {
      value = value.slice(1, -1);
    }
    out[m[1]!] = value;
  }
  return out;
}

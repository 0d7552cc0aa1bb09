/**
 * The hostile-input corpus (test/corpus/hostile-requests.json): its entry
 * format, a strict check of that format, and the materialization of an
 * entry into a request.
 *
 * Signing keys are fresh on every test run, so a token that needs a real
 * signature is a template in the corpus (a `TokenSpec`), signed here with
 * the test env's keys at the test clock's time. Everything else in an entry
 * is literal, apart from a few placeholders (see `PLACEHOLDER`).
 */
import * as v from "valibot";
import { keyRing } from "../../src/tokens/keys.ts";

export const CATEGORIES = ["token", "cookie", "header", "admin-body", "room-id", "path", "method"] as const;
export type Category = (typeof CATEGORIES)[number];

/** The token kinds Spillway signs, and their JOSE `typ` headers. */
const TYP = {
  ticket: "spillway-ticket+jwt",
  pass: "spillway-pass+jwt",
  overflow: "spillway-overflow+jwt",
  challenge: "spillway-challenge+jwt",
} as const;
type Kind = keyof typeof TYP;

/** Keys a template may be signed with. HMAC keys sign with the hash its `alg` names (SHA-256 unless HS384/HS512). */
const KEYS = [
  // The deployment's own keys.
  "ticket",
  "overflow",
  "challenge",
  "pass",
  // HS/asymmetric confusion: the pass key's public half as an HMAC secret (as published in the JWKS, and as PEM).
  "pass-public-jwk",
  "pass-public-pem",
  // An attacker's keys: an HMAC secret, a one-byte secret, an EC P-256 key pair.
  "attacker-hmac",
  "attacker-short",
  "attacker-ec",
  // No signature at all (an empty third segment), or 64 fixed junk bytes.
  "none",
  "junk",
] as const;
type KeyName = (typeof KEYS)[number];

/** Byte-level changes made to a token after it is signed. */
const TAMPERS = [
  "payload", // one character of the payload segment changed
  "signature", // one character of the signature changed
  "header-whitespace", // the header re-encoded with whitespace: same meaning, other bytes
  "strip-signature", // `h.p.`
  "truncate-signature", // the first half of the signature
  "one-byte-signature",
  "zero-signature", // 64 zero bytes
  "der-signature", // an ES256 signature in ASN.1 DER instead of JOSE's r||s
  "plus-in-signature", // a standard-base64 `+` in the signature
  "two-segments", // `h.p`
  "four-segments", // `h.p.s.e30`
  "five-segments", // a JWE's shape
  "pad-header", // `=` padding on the header segment
  "pad-header-twice", // `==` padding on the header segment
  "pad-payload", // `=` padding on the payload segment
  "leading-dot",
  "trailing-dot",
] as const;
type Tamper = (typeof TAMPERS)[number];

/** Real tokens of the replay's rooms, handed out by the Worker in the test's setup. */
export const REAL = ["real:ticket", "real:pass", "real:queued", "real2:ticket", "real2:pass"] as const;
export type RealName = (typeof REAL)[number];

const JsonObject = v.record(v.string(), v.unknown());

/**
 * A token template. Without `from`, a token of `kind` is built: its default
 * header (`alg`, `typ`, and for a pass the signing key's `kid`) and claims
 * (`iss`, `aud` = the room, `sub`, `iat`, `exp`, and the kind's own) are
 * overlaid with `header` and `claims`, and signed with `key` (the kind's own
 * key by default). In `header` and `claims` a value `"$delete"` removes the
 * field, `"$now"`, `"$now+60"`, `"$now-1"` are the test clock's time in
 * seconds, `"$nowMs"` in milliseconds, `"$attackerJwk"` the attacker EC
 * key's public JWK, and string placeholders (`{room}`, `{kid}`…) are filled.
 * `rawHeader`/`rawPayload` replace the JSON text (UTF-8), and
 * `rawHeaderBytes`/`rawPayloadBytes` the bytes (one per character, 0–255).
 * With `from`, the token is one of the real ones (see REAL). Then, in order:
 * `afterSign` rewrites the header or claims keeping the signature, `tamper`
 * changes bytes, and `uriEncode` percent-encodes the result (for cookies).
 */
export const TokenSpecSchema = v.strictObject({
  kind: v.optional(v.picklist(Object.keys(TYP) as Kind[])),
  from: v.optional(v.picklist(REAL)),
  key: v.optional(v.picklist(KEYS)),
  header: v.optional(JsonObject),
  claims: v.optional(JsonObject),
  rawHeader: v.optional(v.string()),
  rawPayload: v.optional(v.string()),
  rawHeaderBytes: v.optional(v.string()),
  rawPayloadBytes: v.optional(v.string()),
  padTo: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  afterSign: v.optional(v.strictObject({ header: v.optional(JsonObject), claims: v.optional(JsonObject) })),
  tamper: v.optional(v.picklist(TAMPERS)),
  uriEncode: v.optional(v.boolean()),
});
export type TokenSpec = v.InferOutput<typeof TokenSpecSchema>;

/** A string, or parts to concatenate: text, or text repeated (for huge inputs without huge JSON). */
const TextSchema = v.union([
  v.string(),
  v.array(
    v.union([
      v.string(),
      v.strictObject({ repeat: v.string(), times: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
    ]),
  ),
]);
type Text = v.InferOutput<typeof TextSchema>;

export const EntrySchema = v.strictObject({
  name: v.pipe(v.string(), v.minLength(1)),
  category: v.picklist(CATEGORIES),
  method: v.picklist(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
  path: TextSchema,
  headers: v.optional(v.record(v.string(), TextSchema)),
  body: v.optional(TextSchema),
  /** The token `{token}` stands for. */
  token: v.optional(TokenSpecSchema),
  /** Named tokens: `{token:<name>}`. */
  tokens: v.optional(v.record(v.pipe(v.string(), v.regex(/^[\w-]+$/)), TokenSpecSchema)),
  expect: v.pipe(v.number(), v.integer(), v.minValue(400), v.maxValue(499)),
  code: v.pipe(v.string(), v.regex(/^[a-z_]+$/)),
  note: v.optional(v.string()),
  /** A refusal Spillway gets wrong today: the replay skips the entry until it is fixed. */
  knownBug: v.optional(v.string()),
});
export type CorpusEntry = v.InferOutput<typeof EntrySchema>;

/** Check the corpus's shape; names must be unique. */
export function parseCorpus(raw: unknown): CorpusEntry[] {
  if (!Array.isArray(raw)) throw new Error("the corpus must be a JSON array");
  const seen = new Set<string>();
  return raw.map((item, i) => {
    const result = v.safeParse(EntrySchema, item);
    const label = typeof (item as { name?: unknown })?.name === "string" ? (item as { name: string }).name : `#${i}`;
    if (!result.success) {
      const detail = result.issues.map((issue) => `${v.getDotPath(issue) ?? ""}: ${issue.message}`).join("; ");
      throw new Error(`corpus entry ${label} is malformed: ${detail}`);
    }
    if (seen.has(result.output.name)) throw new Error(`corpus entry name ${label} is used twice`);
    seen.add(result.output.name);
    return result.output;
  });
}

/** What a replay fills templates and placeholders with. */
export interface Materials {
  room: string;
  room2: string;
  /** The test clock, ms. */
  now: number;
  issuer: string;
  adminToken: string;
  readOnlyToken: string;
  real: Record<RealName, string>;
  keys: SigningKeys;
}

interface HmacSecret {
  type: "hmac";
  bytes: Uint8Array<ArrayBuffer>;
}
interface EcKey {
  type: "ec";
  key: CryptoKey;
}
export interface SigningKeys {
  secrets: Record<KeyName, HmacSecret | EcKey | "none" | "junk">;
  passKid: string;
  attackerJwk: JsonWebKey;
}

const encoder = new TextEncoder();

function b64urlBytes(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlText(text: string): string {
  return b64urlBytes(encoder.encode(text));
}

/** One byte per character (0–255). */
function b64urlBinary(binary: string): string {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    const c = binary.charCodeAt(i);
    if (c > 0xff) throw new Error(`raw bytes must be characters 0-255, got U+${c.toString(16)}`);
    bytes[i] = c;
  }
  return b64urlBytes(bytes);
}

function fromB64url(segment: string): Uint8Array<ArrayBuffer> {
  const bin = atob(segment.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The signing keys of a run: the env's, their confusable public halves, and an attacker's. */
export async function signingKeys(env: Env): Promise<SigningKeys> {
  const passJwks = JSON.parse(env.PASS_KEYS) as (JsonWebKey & { kid: string })[];
  const signer = passJwks[0]!;
  const ec = { name: "ECDSA", namedCurve: "P-256" };
  const { kid: _kid, ...privateJwk } = signer;
  const passKey = await crypto.subtle.importKey("jwk", privateJwk, ec, false, ["sign"]);
  // The public key exactly as the JWKS publishes it.
  const published = (await keyRing(env)).jwks.keys.find((k) => k.kid === signer.kid)!;
  const publicKey = await crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: signer.x, y: signer.y },
    ec,
    true,
    ["verify"],
  );
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", publicKey)) as ArrayBuffer);
  const b64 = btoa(String.fromCharCode(...spki));
  const pem = `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, "$1\n")}\n-----END PUBLIC KEY-----\n`;
  const attacker = (await crypto.subtle.generateKey(ec, true, ["sign", "verify"])) as CryptoKeyPair;
  const attackerPublic = (await crypto.subtle.exportKey("jwk", attacker.publicKey)) as JsonWebKey;
  const hmac = (bytes: Uint8Array): HmacSecret => ({ type: "hmac", bytes: new Uint8Array(bytes) });
  const secret = (b64: string) => hmac(fromB64url(b64));
  return {
    secrets: {
      ticket: secret(env.TICKET_KEY),
      overflow: secret(env.OVERFLOW_KEY),
      challenge: secret(env.CHALLENGE_KEY),
      pass: { type: "ec", key: passKey },
      "pass-public-jwk": hmac(encoder.encode(JSON.stringify(published))),
      "pass-public-pem": hmac(encoder.encode(pem)),
      "attacker-hmac": hmac(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode("spillway corpus")))),
      "attacker-short": hmac(encoder.encode("k")),
      "attacker-ec": { type: "ec", key: attacker.privateKey },
      none: "none",
      junk: "junk",
    },
    passKid: signer.kid,
    attackerJwk: { kty: attackerPublic.kty, crv: attackerPublic.crv, x: attackerPublic.x, y: attackerPublic.y },
  };
}

/** Placeholders filled in paths, header values, bodies and template strings. */
const PLACEHOLDER = /\{(room|room2|admin|readonly|kid|token(?::[\w-]+)?|real2?:(?:ticket|pass|queued))\}/g;

function fill(text: string, m: Materials, tokens: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => {
    switch (name) {
      case "room":
        return m.room;
      case "room2":
        return m.room2;
      case "admin":
        return m.adminToken;
      case "readonly":
        return m.readOnlyToken;
      case "kid":
        return m.keys.passKid;
    }
    if (name === "token" || name.startsWith("token:")) {
      const key = name === "token" ? "" : name.slice("token:".length);
      const token = tokens[key];
      if (token === undefined) throw new Error(`${whole} has no token template`);
      return token;
    }
    const real = m.real[name as RealName];
    if (real === undefined) throw new Error(`unknown placeholder ${whole}`);
    return real;
  });
}

function textOf(text: Text, m: Materials, tokens: Record<string, string>): string {
  const joined =
    typeof text === "string"
      ? text
      : text.map((part) => (typeof part === "string" ? part : part.repeat.repeat(part.times))).join("");
  return fill(joined, m, tokens);
}

const NOW = /^\$now([+-]\d+)?$/;

/** A template value with its `$…` markers and placeholders resolved (`undefined`: delete the field). */
function resolve(value: unknown, m: Materials): unknown {
  if (typeof value === "string") {
    if (value === "$delete") return undefined;
    if (value === "$nowMs") return m.now;
    if (value === "$attackerJwk") return m.keys.attackerJwk;
    const now = NOW.exec(value);
    if (now) return Math.floor(m.now / 1000) + Number(now[1] ?? 0);
    return fill(value, m, {});
  }
  if (Array.isArray(value)) return value.map((item) => resolve(item, m));
  if (typeof value === "object" && value !== null) return overlay({}, value as Record<string, unknown>, m);
  return value;
}

function overlay(base: Record<string, unknown>, changes: Record<string, unknown>, m: Materials) {
  const out: Record<string, unknown> = { ...base };
  for (const [k, raw] of Object.entries(changes)) {
    const value = resolve(raw, m);
    if (value === undefined) delete out[k];
    else Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function defaultHeader(kind: Kind, m: Materials): Record<string, unknown> {
  return kind === "pass" ? { alg: "ES256", typ: TYP.pass, kid: m.keys.passKid } : { alg: "HS256", typ: TYP[kind] };
}

const LISTENER = "0b5e55ed-0000-4000-8000-00000000c0de";
const LEASE = "5ea7ed00-0000-4000-8000-00000000c0de";

function defaultClaims(kind: Kind, m: Materials): Record<string, unknown> {
  const now = Math.floor(m.now / 1000);
  const base = { iss: m.issuer, aud: m.room, sub: LISTENER, iat: now };
  switch (kind) {
    case "ticket":
      return { ...base, exp: now + 3600, shard: 0, seq: 1, at: m.now };
    case "pass":
      return { ...base, exp: now + 60, sid: LEASE, shard: 0, gen: 0 };
    case "overflow":
      return { ...base, exp: now + 3600, reason: "mode" };
    case "challenge":
      return { ...base, exp: now + 300, bits: 8 };
  }
}

const HASHES: Record<string, string> = { HS384: "SHA-384", HS512: "SHA-512" };

async function sign(keyName: KeyName, alg: unknown, input: string, m: Materials): Promise<Uint8Array> {
  const key = m.keys.secrets[keyName];
  if (key === "none") return new Uint8Array(0);
  if (key === "junk") return new Uint8Array(64).fill(0xa5);
  const data = encoder.encode(input);
  if (key.type === "ec") {
    return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.key, data));
  }
  const hash = (typeof alg === "string" ? HASHES[alg] : undefined) ?? "SHA-256";
  const hmac = await crypto.subtle.importKey("raw", key.bytes, { name: "HMAC", hash }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", hmac, data));
}

/** An ES256 signature (r||s, 32 bytes each) as ASN.1 DER. */
function toDer(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    const body = trimmed[0]! & 0x80 ? [0, ...trimmed] : [...trimmed];
    return [0x02, body.length, ...body];
  };
  const seq = [...integer(raw.slice(0, 32)), ...integer(raw.slice(32))];
  return new Uint8Array([0x30, seq.length, ...seq]);
}

function flipMiddle(segment: string): string {
  const i = Math.floor(segment.length / 2);
  return `${segment.slice(0, i)}${segment[i] === "A" ? "B" : "A"}${segment.slice(i + 1)}`;
}

function decodeSegment(segment: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(fromB64url(segment))) as Record<string, unknown>;
}

function tamper(token: string, how: Tamper): string {
  const [h = "", p = "", s = ""] = token.split(".");
  switch (how) {
    case "payload":
      return `${h}.${flipMiddle(p)}.${s}`;
    case "signature":
      return `${h}.${p}.${flipMiddle(s)}`;
    case "header-whitespace":
      return `${b64urlText(JSON.stringify(decodeSegment(h), null, 2))}.${p}.${s}`;
    case "strip-signature":
      return `${h}.${p}.`;
    case "truncate-signature":
      return `${h}.${p}.${s.slice(0, Math.floor(s.length / 2))}`;
    case "one-byte-signature":
      return `${h}.${p}.AA`;
    case "zero-signature":
      return `${h}.${p}.${b64urlBytes(new Uint8Array(64))}`;
    case "der-signature":
      return `${h}.${p}.${b64urlBytes(toDer(fromB64url(s)))}`;
    case "plus-in-signature":
      return `${h}.${p}.+${s.slice(1)}`;
    case "two-segments":
      return `${h}.${p}`;
    case "four-segments":
      return `${h}.${p}.${s}.e30`;
    case "five-segments":
      return `${h}.${p}.${s}.${p}.${s}`;
    case "pad-header":
      return `${h}=.${p}.${s}`;
    case "pad-header-twice":
      return `${h}==.${p}.${s}`;
    case "pad-payload":
      return `${h}.${p}=.${s}`;
    case "leading-dot":
      return `.${token}`;
    case "trailing-dot":
      return `${token}.`;
  }
}

/** Build the token a template describes. */
export async function buildToken(spec: TokenSpec, m: Materials): Promise<string> {
  let token: string;
  if (spec.from !== undefined) {
    token = m.real[spec.from];
  } else {
    const kind = spec.kind ?? "ticket";
    const header = overlay(defaultHeader(kind, m), spec.header ?? {}, m);
    let claims = overlay(defaultClaims(kind, m), spec.claims ?? {}, m);
    const headerSegment =
      spec.rawHeaderBytes !== undefined
        ? b64urlBinary(spec.rawHeaderBytes)
        : b64urlText(spec.rawHeader !== undefined ? fill(spec.rawHeader, m, {}) : JSON.stringify(header));
    const payloadOf = () =>
      spec.rawPayloadBytes !== undefined
        ? b64urlBinary(spec.rawPayloadBytes)
        : b64urlText(spec.rawPayload !== undefined ? fill(spec.rawPayload, m, {}) : JSON.stringify(claims));
    let payloadSegment = payloadOf();
    if (spec.padTo !== undefined) {
      // A filler claim so that the whole token is about `padTo` characters (86 for an HS256 or ES256 signature).
      const missing = spec.padTo - (headerSegment.length + payloadSegment.length + 2 + 86);
      claims = { ...claims, pad: "x".repeat(Math.max(0, Math.floor((missing * 3) / 4) - 10)) };
      payloadSegment = payloadOf();
    }
    const input = `${headerSegment}.${payloadSegment}`;
    const signature = await sign(spec.key ?? (kind === "pass" ? "pass" : kind), header.alg, input, m);
    token = `${input}.${b64urlBytes(signature)}`;
  }
  if (spec.afterSign !== undefined) {
    const [h = "", p = "", s = ""] = token.split(".");
    const header = spec.afterSign.header
      ? b64urlText(JSON.stringify(overlay(decodeSegment(h), spec.afterSign.header, m)))
      : h;
    const payload = spec.afterSign.claims
      ? b64urlText(JSON.stringify(overlay(decodeSegment(p), spec.afterSign.claims, m)))
      : p;
    token = `${header}.${payload}.${s}`;
  }
  if (spec.tamper !== undefined) token = tamper(token, spec.tamper);
  return spec.uriEncode ? encodeURIComponent(token) : token;
}

export const BASE = "http://localhost";

/** An entry as a request: the URL and the init to fetch it with. */
export async function materialize(entry: CorpusEntry, m: Materials): Promise<{ url: string; init: RequestInit }> {
  const tokens: Record<string, string> = {};
  if (entry.token !== undefined) tokens[""] = await buildToken(entry.token, m);
  for (const [name, spec] of Object.entries(entry.tokens ?? {})) tokens[name] = await buildToken(spec, m);
  const headers = new Headers();
  for (const [name, value] of Object.entries(entry.headers ?? {})) headers.set(name, textOf(value, m, tokens));
  const path = textOf(entry.path, m, tokens);
  if (!path.startsWith("/")) throw new Error(`${entry.name}: the path must start with /`);
  const init: RequestInit = { method: entry.method, headers, redirect: "manual" };
  if (entry.body !== undefined) init.body = textOf(entry.body, m, tokens);
  return { url: BASE + path, init };
}

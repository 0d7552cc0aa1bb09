/**
 * The cases `npm run bench:verify` times, each in two ways over the same
 * keys, claims and token: the hand-written path (src/tokens, verified by
 * hs256.ts) and jose's general `jwtVerify` with the options and claim checks
 * tickets and overflow tokens used before they moved onto hs256.ts. Signing
 * is jose's `SignJWT` in src; it is timed against a bare WebCrypto signer
 * (here only) to show what a hand-written signer could save. Runs in Node
 * and, bundled, in workerd (no Node imports here).
 */
import { jwtVerify } from "jose";
import { OVERFLOW_TYP, refusalOf, TICKET_TYP, type Verified } from "../../src/tokens/claims.ts";
import { readCompactJws } from "../../src/tokens/compact-jws.ts";
import { keyRing, type KeyRing, type KeyVars } from "../../src/tokens/keys.ts";
import { OVERFLOW_REASONS, type OverflowReason } from "../../src/policy/overflow.ts";
import { issueOverflow, verifyOverflow } from "../../src/tokens/overflow.ts";
import { issueTicket, verifyTicket } from "../../src/tokens/ticket.ts";

/** One operation, both ways. */
export interface BenchCase {
  name: string;
  /** What it stands for in a request. */
  note: string;
  hand: () => Promise<unknown>;
  jose: () => Promise<unknown>;
}

export const PATHS = ["hand", "jose"] as const;
export type PathName = (typeof PATHS)[number];

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const ROOM = "friday-night-live";
const OPTS = { issuer: "spillway", room: ROOM, now: NOW };
const SUB = "3f2b8c4e-9a1d-4e6f-b2c7-5d8e9f0a1b2c";

/** A ticket as a waiting listener holds one: shard 3, ten thousandth in line, six hours to live. */
const TICKET = {
  issuer: "spillway",
  room: ROOM,
  sub: SUB,
  shard: 3,
  seq: 10_000,
  at: NOW - 90_000,
  now: NOW - 90_000,
  ttlMs: 21_600_000,
};

const OVERFLOW = {
  issuer: "spillway",
  room: ROOM,
  sub: SUB,
  reason: "max_wait" as const,
  now: NOW - 60_000,
  ttlMs: 86_400_000,
};

function isCount(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/** A ticket through jose's jwtVerify, with the same claim checks as verifyTicket. */
async function joseTicket(keys: KeyRing, token: string): Promise<Verified<Record<string, unknown>>> {
  try {
    const { payload } = await jwtVerify(token, keys.ticket, {
      algorithms: ["HS256"],
      typ: TICKET_TYP,
      issuer: OPTS.issuer,
      audience: OPTS.room,
      currentDate: new Date(OPTS.now),
      requiredClaims: ["sub", "iat", "exp", "seq", "shard", "at"],
    });
    const { sub, seq, shard, at, iat, exp } = payload;
    if (!isCount(seq, 1) || !isCount(shard, 0) || !isCount(at, 0) || typeof sub !== "string") {
      return { ok: false, reason: "bad_claims" };
    }
    return { ok: true, claims: { room: OPTS.room, sub, shard, seq, at, iat, exp } };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

/** An overflow token through jose's jwtVerify, with the same claim checks as verifyOverflow. */
async function joseOverflow(keys: KeyRing, token: string): Promise<Verified<Record<string, unknown>>> {
  try {
    const { payload } = await jwtVerify(token, keys.overflow, {
      algorithms: ["HS256"],
      typ: OVERFLOW_TYP,
      issuer: OPTS.issuer,
      audience: OPTS.room,
      currentDate: new Date(OPTS.now),
      requiredClaims: ["sub", "iat", "exp", "reason"],
    });
    const { sub, reason, iat, exp } = payload;
    if (typeof sub !== "string" || !OVERFLOW_REASONS.includes(reason as OverflowReason)) {
      return { ok: false, reason: "bad_claims" };
    }
    return { ok: true, claims: { room: OPTS.room, sub, reason, iat, exp } };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

const encoder = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A compact HS256 JWS made with WebCrypto alone: the least any signer must do. */
async function bareSign(key: CryptoKey, header: object, payload: object): Promise<string> {
  const input = `${b64url(encoder.encode(JSON.stringify(header)))}.${b64url(encoder.encode(JSON.stringify(payload)))}`;
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(input));
  return `${input}.${b64url(new Uint8Array(mac))}`;
}

/** A ticket with its signature's bytes changed: what a forger's poll costs. */
function forged(token: string): string {
  const at = token.length - 10;
  return `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`;
}

/**
 * The cases over keys made from `vars`, after checking that both ways give
 * the same answer for each (a benchmark of a refusal would mislead).
 */
export async function makeCases(vars: KeyVars): Promise<BenchCase[]> {
  const keys = await keyRing(vars);
  const ticket = await issueTicket(keys, TICKET);
  const overflow = await issueOverflow(keys, OVERFLOW);
  const bad = forged(ticket);
  const read = readCompactJws(ticket)!;
  const iat = Math.floor(TICKET.now / 1000);
  const ticketPayload = {
    ...{ shard: TICKET.shard, seq: TICKET.seq, at: TICKET.at },
    ...{ iss: TICKET.issuer, aud: TICKET.room, sub: TICKET.sub, iat, exp: iat + Math.floor(TICKET.ttlMs / 1000) },
  };
  const cases: BenchCase[] = [
    {
      name: "ticket verify, header read",
      note: "a waiting poll: the token's header was read once to route it",
      hand: () => verifyTicket(keys, read, OPTS),
      jose: () => joseTicket(keys, read.token),
    },
    {
      name: "ticket verify, from text",
      note: "a ticket handed over as text (join, claim)",
      hand: () => verifyTicket(keys, ticket, OPTS),
      jose: () => joseTicket(keys, ticket),
    },
    {
      name: "forged ticket refused",
      note: "a poll with a tampered signature",
      hand: () => verifyTicket(keys, bad, OPTS),
      jose: () => joseTicket(keys, bad),
    },
    {
      name: "overflow verify",
      note: "a listener back for the recording",
      hand: () => verifyOverflow(keys, overflow, OPTS),
      jose: () => joseOverflow(keys, overflow),
    },
    {
      name: "ticket sign",
      note: "a join: src signs with jose (the jose column); the hand column is a bare signer, here only",
      hand: () => bareSign(keys.ticket, { alg: "HS256", typ: TICKET_TYP }, ticketPayload),
      jose: () => issueTicket(keys, TICKET),
    },
  ];
  for (const c of cases) {
    const [hand, jose] = [await c.hand(), await c.jose()];
    if (JSON.stringify(hand) !== JSON.stringify(jose)) {
      throw new Error(`${c.name}: the two ways disagree: ${JSON.stringify(hand)} vs ${JSON.stringify(jose)}`);
    }
  }
  return cases;
}

/** Run `op` `times` times, one after another (as requests in one isolate would). */
export async function runBatch(op: () => Promise<unknown>, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await op();
}

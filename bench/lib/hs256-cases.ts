/**
 * The cases `npm run bench:verify` times, each in two ways over the same
 * keys, claims and token: the hand-written path (src/tokens, verified by
 * hs256.ts) and jose's general `jwtVerify` with the options and claim checks
 * tickets and overflow tokens used before they moved onto hs256.ts (the
 * reference the unit tests hold them to, test/support/jose-reference.ts).
 * Signing is jose's `SignJWT` in src; it is timed against a bare WebCrypto
 * signer (the tests' forger, not in src) to show what a hand-written signer
 * could save. Runs in Node and, bundled, in workerd (no Node imports here).
 */
import { TICKET_TYP } from "../../src/tokens/claims.ts";
import { type CompactJws, readCompactJws } from "../../src/tokens/compact-jws.ts";
import { keyRing, type KeyVars } from "../../src/tokens/keys.ts";
import { issueOverflow, verifyOverflow } from "../../src/tokens/overflow.ts";
import { issueTicket, verifyTicket } from "../../src/tokens/ticket.ts";
import { joseOverflow, joseTicket, signJws } from "../../test/support/jose-reference.ts";

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
  /** A ticket verified both ways: handed to verifyTicket as it is, to jose as text. */
  const ticketCase = (name: string, note: string, token: string | CompactJws): BenchCase => {
    const text = typeof token === "string" ? token : token.token;
    return { name, note, hand: () => verifyTicket(keys, token, OPTS), jose: () => joseTicket(keys, text, OPTS) };
  };
  const cases: BenchCase[] = [
    ticketCase("ticket verify, header read", "a waiting poll: the token's header was read once to route it", read),
    ticketCase("ticket verify, from text", "a ticket handed over as text (join, claim)", ticket),
    ticketCase("forged ticket refused", "a poll with a tampered signature", bad),
    {
      name: "overflow verify",
      note: "a listener back for the recording",
      hand: () => verifyOverflow(keys, overflow, OPTS),
      jose: () => joseOverflow(keys, overflow, OPTS),
    },
    {
      name: "ticket sign",
      note: "a join: src signs with jose (the jose column); the hand column is a bare signer, here only",
      hand: () => signJws({ alg: "HS256", typ: TICKET_TYP }, ticketPayload, keys.ticket),
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

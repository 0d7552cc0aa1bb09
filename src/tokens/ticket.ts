/**
 * Queue tickets: HS256 JWTs that carry the listener's sequence number, so a
 * waiting poll knows its place from the ticket alone.
 */
import { SignJWT } from "jose";
import { TICKET_TYP, type Verified } from "./claims.ts";
import type { CompactJws } from "./compact-jws.ts";
import { verifyRoomToken } from "./hs256.ts";
import type { KeyRing } from "./keys.ts";

export interface TicketClaims {
  room: string;
  sub: string;
  /** The shard holding this listener's place, its number there, and when it arrived (ms). */
  shard: number;
  seq: number;
  at: number;
  iat: number;
  exp: number;
}

export interface TicketInput {
  issuer: string;
  room: string;
  sub: string;
  shard: number;
  seq: number;
  /** Arrival time (ms). */
  at: number;
  now: number;
  ttlMs: number;
}

/** Sign a ticket for a place in line. */
export async function issueTicket(keys: KeyRing, t: TicketInput): Promise<string> {
  const iat = Math.floor(t.now / 1000);
  return new SignJWT({ shard: t.shard, seq: t.seq, at: t.at })
    .setProtectedHeader({ alg: "HS256", typ: TICKET_TYP })
    .setIssuer(t.issuer)
    .setAudience(t.room)
    .setSubject(t.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(t.ttlMs / 1000))
    .sign(keys.ticket);
}

function isCount(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

const TICKET_CLAIMS = ["sub", "iat", "exp", "seq", "shard", "at"] as const;

/**
 * Verify a ticket for this room; any failure is a typed refusal. Takes the
 * token, or the `CompactJws` the request already read it into (see
 * credentials.ts), so that its header is decoded once.
 */
export async function verifyTicket(
  keys: KeyRing,
  token: string | CompactJws,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<TicketClaims>> {
  const verified = await verifyRoomToken(keys.ticket, token, { typ: TICKET_TYP, required: TICKET_CLAIMS }, opts);
  if (!verified.ok) return verified;
  const { sub, seq, shard, at, iat, exp } = verified.claims;
  if (!isCount(seq, 1) || !isCount(shard, 0) || !isCount(at, 0) || typeof sub !== "string") {
    return { ok: false, reason: "bad_claims" };
  }
  return { ok: true, claims: { room: opts.room, sub, shard, seq, at, iat, exp } };
}

/**
 * Queue tickets: HS256 JWTs that carry the listener's sequence number, so a
 * waiting poll knows its place from the ticket alone.
 */
import { jwtVerify, SignJWT } from "jose";
import { MAX_TOKEN_LENGTH, refusalOf, TICKET_TYP, type Verified } from "./claims.ts";
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

/** Verify a ticket for this room; any failure is a typed refusal. */
export async function verifyTicket(
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): Promise<Verified<TicketClaims>> {
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "malformed" };
  try {
    const { payload } = await jwtVerify(token, keys.ticket, {
      algorithms: ["HS256"],
      typ: TICKET_TYP,
      issuer: opts.issuer,
      audience: opts.room,
      currentDate: new Date(opts.now),
      requiredClaims: ["sub", "iat", "exp", "seq", "shard", "at"],
    });
    const { seq, shard, at } = payload;
    if (!isCount(seq, 1) || !isCount(shard, 0) || !isCount(at, 0) || typeof payload.sub !== "string") {
      return { ok: false, reason: "bad_claims" };
    }
    return {
      ok: true,
      claims: { room: opts.room, sub: payload.sub, shard, seq, at, iat: payload.iat!, exp: payload.exp! },
    };
  } catch (err) {
    return { ok: false, reason: refusalOf(err) };
  }
}

/**
 * Under-attack mode at the edge: before a new arrival gets a ticket, it
 * must show a solved proof-of-work challenge (pow.ts) when the room asks for
 * one (`challengeBits` > 0).
 *
 * Everything here is stateless: a challenge is a signed token (CHALLENGE_KEY),
 * and a solution is checked with one hash and one signature check, so a
 * flood of arrivals without solutions or with forged ones never reaches a
 * Durable Object. A correct solution is spent by the listener's shard when it
 * takes the place (the challenge id becomes the listener's id), so it works
 * once. Each client address may also take only so many places a minute
 * (join-limit.ts). What happens is tallied for the room's stats
 * (arrival-tally.ts) so ops can tell a crowd from an attack.
 */
import type { EdgeArrivals } from "../policy/protocol.ts";
import { type ChallengeOffer, POW_ALGORITHM, solves } from "../policy/pow.ts";
import type { KeyRing } from "../tokens/keys.ts";
import { issueChallenge, verifyChallenge } from "../tokens/challenge.ts";
import { type ArrivalEvent, arrivalTally } from "./arrival-tally.ts";
import { clientKey, type JoinLimiter } from "./join-limit.ts";

/** The headers a solution travels in. */
export const CHALLENGE_HEADER = "spillway-challenge";
export const SOLUTION_HEADER = "spillway-solution";

export type ArrivalGate =
  /** No challenge asked: join as usual. */
  | { kind: "open" }
  /** A correct, unexpired solution: join with this listener id; the shard spends it (until `until`). */
  | { kind: "solved"; sub: string; until: number }
  /** No solution, or a refused one: here is a (new) challenge. */
  | { kind: "challenge"; code: "challenge_required" | "challenge_failed"; challenge: ChallengeOffer }
  /** Too many joins from this client. */
  | { kind: "limited"; retryAfterSeconds: number };

export interface GateInput {
  room: string;
  issuer: string;
  keys: KeyRing;
  now: number;
  /** The difficulty the room asks for now (0: none). */
  bits: number;
  headers: Headers;
  limiter: JoinLimiter;
  /** Hand a batch of counts to the room's coordinator (in the background). */
  report: (batch: EdgeArrivals) => void;
}

/** Count an event, and report the batch when one is due. */
export function tally(input: Pick<GateInput, "room" | "now" | "report">, event: ArrivalEvent): void {
  const batch = arrivalTally.add(input.room, event, input.now);
  if (batch !== null) input.report(batch);
}

/** A fresh challenge for this room at the difficulty it asks for now. */
export async function newChallenge(input: Omit<GateInput, "headers" | "limiter">): Promise<ChallengeOffer> {
  const id = crypto.randomUUID();
  const { token, exp } = await issueChallenge(input.keys, {
    issuer: input.issuer,
    room: input.room,
    sub: id,
    bits: input.bits,
    now: input.now,
  });
  tally(input, "challenged");
  return { token, id, bits: input.bits, algorithm: POW_ALGORITHM, expiresAt: new Date(exp * 1000).toISOString() };
}

/** May this arrival take a place, and as whom? */
export async function gateArrival(input: GateInput): Promise<ArrivalGate> {
  if (input.bits <= 0) return { kind: "open" };
  const token = input.headers.get(CHALLENGE_HEADER);
  const nonce = input.headers.get(SOLUTION_HEADER);
  if (token === null && nonce === null) {
    return { kind: "challenge", code: "challenge_required", challenge: await newChallenge(input) };
  }
  if (!(await input.limiter.allow(clientKey(input.room, input.headers), input.now))) {
    tally(input, "limited");
    return { kind: "limited", retryAfterSeconds: input.limiter.retryAfterSeconds };
  }
  const verified =
    token === null
      ? null
      : await verifyChallenge(input.keys, token.trim(), { issuer: input.issuer, room: input.room, now: input.now });
  // A challenge easier than the room now asks for is refused (ops raised the difficulty).
  const good =
    verified !== null &&
    verified.ok &&
    verified.claims.bits >= input.bits &&
    nonce !== null &&
    (await solves(verified.claims.sub, nonce.trim(), verified.claims.bits));
  if (!good) {
    tally(input, "failed");
    return { kind: "challenge", code: "challenge_failed", challenge: await newChallenge(input) };
  }
  return { kind: "solved", sub: verified.claims.sub, until: verified.claims.exp * 1000 };
}

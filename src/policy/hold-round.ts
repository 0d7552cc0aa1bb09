/**
 * The round of a held seat: how often a connection that holds its seat
 * without heartbeats (a proxied stream, src/edge/seat-tie.ts, or a listener
 * an origin serves directly, src/objects/icecast-seats.ts) has its lease
 * renewed, so that the seat is certainly still its own between renewals.
 */
import { CLOCK_SKEW_MS, passTrustMs } from "./pass-trust.ts";

/** A connection is cut this long before the lease it last saw renewed expires, unless renewed again. */
export const SAFETY_MARGIN_MS = 1_000;
/** The least time allowed for a hold call to travel and answer, on top of its round. */
export const ANSWER_SLACK_MS = 500;
/** The most: a runtime stalled for a second or two must not cut an entitled listener. */
export const MAX_ANSWER_SLACK_MS = 3_000;

/**
 * Time allowed for a hold call to travel and answer, on top of its round: a
 * quarter of the pass lifetime, within ANSWER_SLACK_MS…MAX_ANSWER_SLACK_MS
 * (3 s at the default 60 s: a round's answer may come that late and the
 * connection is still not cut).
 */
export function answerSlackMs(passTtlMs: number): number {
  return Math.min(MAX_ANSWER_SLACK_MS, Math.max(ANSWER_SLACK_MS, Math.floor(passTtlMs / 4)));
}

/**
 * Until when a seat renewed with lease expiry `expiresAt` is certainly its
 * connection's, even if it ended unseen right after: an ended lease lets go
 * of its seat once its passes (issued by its last renewal, `expiresAt` less a
 * pass lifetime) are too old to be honoured from a view (lease.ts releaseAt).
 */
export function ownedUntil(expiresAt: number, passTtlMs: number): number {
  return Math.min(expiresAt, expiresAt - passTtlMs + passTrustMs(passTtlMs) + CLOCK_SKEW_MS);
}

/**
 * The round a held connection asks for with a pass lifetime of `passTtlMs`:
 * a call renews the lease when it arrives and answers a round later, and the
 * next call must renew before the seat the last one saw is no longer
 * certainly its own (`ownedUntil`), less the margin and the answer's slack.
 */
export function holdRoundMs(passTtlMs: number): number {
  const owned = ownedUntil(passTtlMs, passTtlMs);
  return Math.max(0, Math.floor(owned - SAFETY_MARGIN_MS - answerSlackMs(passTtlMs)));
}

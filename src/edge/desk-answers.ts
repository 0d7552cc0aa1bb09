/**
 * What the room desk (desk.ts) answers: the FlowAnswer the HTTP layer turns
 * into cookies and a body, and the status JSON of a listener still in line,
 * built from a view of the room. Pure: no Durable Object call, no token.
 */
import type { GlobalView } from "../policy/protocol.ts";
import { estimatePlace } from "../policy/estimate.ts";
import type { ClaimOutcome, SeatEnd } from "../policy/lease.ts";
import type { PolicyApplied } from "../policy/failure-policy.ts";
import type { ChallengeOffer } from "../policy/pow.ts";
import type { TicketClaims } from "../tokens/ticket.ts";
import type { IdentityRefusal } from "../tokens/identity.ts";
import { prequeueStatus, queuedStatus, type RoomFacts, type StatusBody } from "../contract/status.ts";

/** How a failed Durable Object call shaped an answer: the policy applied and when to try again. */
export interface Degraded {
  policy: PolicyApplied;
  retryAfterSeconds: number;
}

/** What the flow decided; the HTTP layer turns it into cookies and a body. */
export type FlowAnswer =
  | {
      kind: "status";
      status: StatusBody;
      newTicket?: string;
      newPass?: { token: string; exp: number };
      newOverflow?: string;
      /** Present when the answer comes from the failure policy. */
      degraded?: Degraded;
    }
  | { kind: "spent" }
  | { kind: "seat_ended"; reason?: SeatEnd }
  /** A Durable Object call failed and nothing can be answered but "try again later" (503). */
  | { kind: "unavailable"; degraded: Degraded }
  /** Under-attack mode: no place without a solved challenge; here is one to solve. */
  | { kind: "challenge"; code: "challenge_required" | "challenge_failed" | "challenge_used"; challenge: ChallengeOffer }
  /** Under-attack mode: this client has taken too many places lately. */
  | { kind: "limited"; retryAfterSeconds: number }
  /** The identity token presented with a join was refused: nothing was taken. */
  | { kind: "identity_refused"; reason: IdentityRefusal };

/** What the answers tell about a room whose view is not known. */
export const UNKNOWN_ROOM: RoomFacts = { startsAt: null, recordingUrl: null };

/** Whole seconds for the wire. */
export function etaOf(seconds: number | null): number | null {
  return seconds === null ? null : Math.ceil(seconds);
}

/** Has the room not started yet (its `startsAt` still ahead)? */
export function beforeStart(view: GlobalView, now: number): view is GlobalView & { startsAt: number } {
  return view.startsAt !== null && now < view.startsAt;
}

/** What the status builders need of the desk: its room, its `now`, and the jitter of poll times. */
export interface InLine {
  room: string;
  now: number;
  random: () => number;
}

/**
 * A ticket holder when its shard or the view cannot be reached: still
 * waiting, its place kept. The place comes from `view` (the last known
 * one); at the front when its turn had come (`turnCame`: the claim
 * failed); unknown (null) when no view is known at all. Polled again after
 * `retryAfterSeconds`.
 */
export function stillWaitingStatus(
  at: InLine,
  ticket: TicketClaims,
  view: GlobalView | null,
  turnCame: boolean,
  retryAfterSeconds: number,
): StatusBody {
  let status: StatusBody;
  if (view === null) {
    status = queuedStatus(at.room, 1, null, at.random, UNKNOWN_ROOM);
    status = { ...status, position: null, ahead: null };
  } else if (beforeStart(view, at.now)) {
    status = prequeueStatus(at.room, at.now, view);
  } else {
    const place = turnCame ? null : estimatePlace(ticket, view, at.now);
    const waiting = place !== null && place.position !== null;
    status = queuedStatus(at.room, place?.position ?? 1, waiting ? etaOf(place.etaSeconds) : null, at.random, view);
  }
  status.pollAfterSeconds = retryAfterSeconds;
  return status;
}

/**
 * A claim that got no seat: held before the start (the room's mode holds
 * admissions), the prequeue; else called but no seat yet (or not called), at
 * the front, or where the view places it.
 */
export function notSeatedStatus(
  at: InLine,
  reason: (ClaimOutcome & { kind: "waiting" })["reason"],
  place: { shard: number; seq: number; at: number },
  view: GlobalView,
): StatusBody {
  if (reason === "hold" && beforeStart(view, at.now)) return prequeueStatus(at.room, at.now, view);
  const e = estimatePlace(place, view, at.now);
  const position = e.position ?? 1;
  const eta = e.position === null ? null : etaOf(e.etaSeconds);
  return queuedStatus(at.room, position, eta, at.random, view);
}

/**
 * A claim from another device a moment after its ticket's last (repeat-claims.ts):
 * still at the front, as a claim that got no seat, to ask again once the
 * pause is over (`afterMs`).
 */
export function shortlyStatus(
  at: InLine,
  place: { shard: number; seq: number; at: number },
  view: GlobalView,
  afterMs: number,
): StatusBody {
  const status = notSeatedStatus(at, "moving", place, view);
  status.pollAfterSeconds = Math.max(1, Math.ceil(afterMs / 1000));
  return status;
}

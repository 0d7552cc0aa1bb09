/**
 * When a listener is offered the recording instead of a wait ("overflow").
 *
 * - In `overflow` mode every new arrival is offered it.
 * - An arrival who would be beyond `maxQueue` in line is offered it with no
 *   place in line. The view at the edge answers most of them; its shard
 *   has the last word (its queue allowance, coordinator.ts), so a burst
 *   faster than the view never gets more than `maxQueue` places.
 * - An arrival, or a listener already in line, whose honest estimate exceeds
 *   `maxWaitSeconds` is offered it, and may keep (or take) a place instead.
 *
 * Decided at the edge from the room-wide view, with no Durable Object call;
 * the simulator runs the same functions. A room that is full and admits
 * nobody (nothing flows) has no end to its wait in sight: that counts as
 * longer than `maxWaitSeconds`. Pure.
 */
import type { GlobalView } from "./protocol.ts";
import { aheadOf, etaAt, type PlaceEstimate } from "./estimate.ts";

/**
 * Why the recording is offered. The one list: the contract's schema and the
 * overflow token's claim check read it from here.
 */
export const OVERFLOW_REASONS = ["mode", "max_wait", "max_queue", "invite_only"] as const;
export type OverflowReason = (typeof OVERFLOW_REASONS)[number];

export interface OverflowOffer {
  reason: OverflowReason;
  /** May the listener wait in line instead (take or keep a place)? */
  canKeepPlace: boolean;
  /** The estimate of the wait in line, when known. */
  etaSeconds: number | null;
}

/** Listeners waiting room-wide ahead of someone arriving at `now`, by the view. */
export function queueLength(view: GlobalView, now: number): number {
  return aheadOf({ shard: 0, seq: 0, at: now }, view);
}

/** For an arrival, before it takes a place: the offer, or null to let it join. */
export function offerAtArrival(view: GlobalView, now: number): OverflowOffer | null {
  const ahead = queueLength(view, now);
  const etaSeconds = etaAt(ahead + 1, view, now);
  const full = view.maxQueue !== null && ahead >= view.maxQueue;
  if (view.mode === "overflow") return { reason: "mode", canKeepPlace: !full, etaSeconds };
  if (view.mode !== "open") return null;
  if (full) return { reason: "max_queue", canKeepPlace: false, etaSeconds };
  if (tooLong(etaSeconds, view)) return { reason: "max_wait", canKeepPlace: true, etaSeconds };
  return null;
}

/** For an arrival its shard gave no place (the line is full there): the offer, with no place to keep. */
export function queueFullOffer(view: GlobalView, now: number): OverflowOffer {
  return { reason: "max_queue", canKeepPlace: false, etaSeconds: etaAt(queueLength(view, now) + 1, view, now) };
}

/** Is a wait of `eta` longer than the room allows? An unknown one is, while the room is full. */
function tooLong(eta: number | null, view: GlobalView): boolean {
  if (view.maxWaitSeconds === null) return false;
  if (eta === null) return view.live >= view.capacity;
  return eta > view.maxWaitSeconds;
}

/** For a listener in line who has not chosen to keep its place: the offer, or null to go on waiting. */
export function offerInLine(place: PlaceEstimate, view: GlobalView): OverflowOffer | null {
  if (place.position === null || view.mode !== "open" || !tooLong(place.etaSeconds, view)) return null;
  return { reason: "max_wait", canKeepPlace: true, etaSeconds: place.etaSeconds };
}

/**
 * What a waiting listener is told: position, estimate and when to ask again.
 *
 * Computed at the edge from the signed ticket's sequence number and the
 * room's cursor, so a waiting poll needs no Durable Object call.
 */
import type { RoomView } from "./ledger.ts";

/** 1-based place among those still waiting, or null when the turn has come. */
export function positionOf(seq: number, view: RoomView): number | null {
  return seq > view.cursor ? seq - view.cursor : null;
}

/**
 * Seconds until this position is called: position ÷ the measured flow, or
 * the configured rate when seats are free and nothing has flowed yet. Null
 * when the queue is not moving and nothing says when it will.
 */
export function etaSeconds(position: number, view: RoomView): number | null {
  if (view.mode !== "open") return null;
  let perSecond = view.flowPerSecond;
  if (perSecond <= 0 && view.live + view.reserved < view.capacity) {
    perSecond = view.admitPerMinute / 60;
  }
  if (perSecond <= 0) return null;
  return Math.ceil(position / perSecond);
}

/**
 * Seconds until the next poll: short near the front, longer further back,
 * never longer than half the estimate, with ±20 % jitter so that listeners who
 * joined together do not poll together.
 */
export function pollAfterSeconds(position: number | null, eta: number | null, random: () => number): number {
  const p = position ?? 1;
  let base = p <= 5 ? 2 : p <= 50 ? 4 : p <= 500 ? 8 : p <= 5_000 ? 15 : 30;
  if (eta !== null) base = Math.min(base, Math.max(2, eta / 2));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.max(1, Math.round(jittered));
}

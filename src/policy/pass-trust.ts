/**
 * How long a pass may be honoured without asking its shard, and so when the
 * seat of an ended lease may be given to someone else.
 *
 * A pass cannot be un-issued. An edge honours one from the room's view alone
 * only while the pass is young (`passTrustMs`) and the view's revocations are
 * recent (PASS_VIEW_MAX_AGE_MS); anything older is checked with the shard.
 * So an ended lease's seat may be reused once its revocation has been in
 * every view an edge may still honour passes from (CONFIRM_AFTER_MS after it
 * was listed, see revocations.ts), or once every pass of it is too old to be
 * honoured from a view at all (`releaseAt`, lease.ts). These timings are the
 * whole of that argument, which is why they live together.
 */

/** How far two machines' clocks may disagree, allowed for wherever one's time is compared with another's. */
export const CLOCK_SKEW_MS = 1_000;

/**
 * How young a pass must be for an edge to honour it from the room's view
 * alone: half its lifetime. An older pass is renewed on its way to the
 * origin, its shard deciding; so once every pass of an ended lease is older
 * than this, no edge can honour it without asking. (Heartbeats come every
 * third of a lifetime, so a heartbeating listener's pass is always younger.)
 */
export function passTrustMs(passTtlMs: number): number {
  return Math.floor(passTtlMs / 2);
}

/**
 * An edge honours a pass only from a view whose revocations were current at
 * most this long ago (`GlobalView.asOf`); with an older view it asks the
 * seat's shard instead (see view-cache.ts).
 */
export const PASS_VIEW_MAX_AGE_MS = 3_000;

/**
 * A revocation published this long ago is in every view an edge may still
 * honour a pass from: its seat can be reused.
 */
export const CONFIRM_AFTER_MS = PASS_VIEW_MAX_AGE_MS + CLOCK_SKEW_MS;

/**
 * A seat lease: one listener's seat, the passes issued for it, and how it
 * ends.
 *
 * A pass cannot be un-issued, so a seat does not come free the moment its
 * lease ends (given back, or moved to another device of the ticket): the
 * lease's passes are revoked and the seat stays taken until the revocation
 * is confirmed (revocations.ts) or its passes are too old to be honoured
 * from a view at all (`releaseAt`). The ledger (ledger.ts) grants, renews
 * and ends leases; this module holds their shape and the rules that read
 * one on its own.
 */
import { CLOCK_SKEW_MS, passTrustMs } from "./pass-trust.ts";

export interface Lease {
  /** Lease id: the `sid` of every pass for this seat. */
  sid: string;
  /** The listener (the ticket's `sub`). */
  sub: string;
  seq: number;
  grantedAt: number;
  expiresAt: number;
  /**
   * When the seat ended (given back, or moved to another device); the seat is
   * freed when the coordinator confirms the revocation, or at `expiresAt`.
   */
  leftAt: number | null;
  /** Why it ended, when `leftAt` is set (absent: `left`). */
  endedBy?: "left" | "moved" | null;
  /**
   * Set on a seat moved from another lease (that lease's id) until the
   * ticket's next claim takes it; nobody holds a pass for it before.
   */
  movedFrom?: string | null;
  /**
   * The seat's generation (gen): every claim with the ticket (a second
   * device, or a retry) moves the seat to the newest claimant and bumps it;
   * a pass of an older generation can no longer renew (absent: 0).
   */
  gen?: number;
  /**
   * The origin's own connection on this seat (an Icecast client id), in a
   * room whose origin enforces the seat itself; set while the origin may
   * still serve it (absent or null: none).
   */
  originClient?: string | null;
  /**
   * The ledger would have let go of this seat (freed it, or handed it on) but
   * its origin connection was not yet confirmed dropped: it does so once it is
   * (`Ledger.originDropped`).
   */
  awaitingDrop?: boolean;
}

/**
 * Why a seat is no longer a listener's: it gave the seat back (`left`: a leave
 * from any device, a release by ops or the origin), its ticket claimed the
 * seat on a newer device (`moved`), or its lease ran out (`lapsed`; also what
 * a lease id nobody holds reads as).
 */
export type SeatEnd = "left" | "moved" | "lapsed";

/**
 * What a claim gets. `admitted` with `fresh` false: the seat its ticket
 * already holds on this device (`holding` named it). `waiting` with
 * `moving`: the seat is moving to this device and is its own once no pass
 * of the previous device can be honoured (a few seconds; claim again).
 * `spent`: the ticket has had its seat (given back or lapsed), or — to the
 * device whose key names a seat that moved away — is another device's now.
 */
export type ClaimOutcome =
  | { kind: "admitted"; lease: Lease; fresh: boolean }
  | { kind: "waiting"; reason: "not_called" | "full" | "hold" | "moving" }
  | { kind: "closed" }
  | { kind: "spent" };

export type RenewOutcome = { kind: "renewed"; lease: Lease } | { kind: "gone"; reason: SeatEnd };

/** Why a pass (`sub`, generation `gen`) no longer holds `lease`, or null while it does. */
export function seatEnd(lease: Lease | null, sub: string, gen?: number): SeatEnd | null {
  if (lease === null || lease.sub !== sub) return "lapsed";
  if (lease.leftAt !== null) return lease.endedBy ?? "left";
  // A seat moved here is nobody's until the ticket's next claim takes it.
  if (lease.movedFrom != null) return "lapsed";
  if (gen !== undefined && gen !== (lease.gen ?? 0)) return "moved";
  return null;
}

/**
 * May this lease let go of its seat? Not while the origin may still serve
 * its connection: a seat is reused only once the origin itself no longer
 * counts its old holder (killed, or no longer listed), so the origin's own
 * count never exceeds the capacity.
 */
export function mayLetGo(lease: Lease): boolean {
  return lease.originClient == null;
}

/**
 * Why an origin connection may not take this seat, or null when it may: the
 * seat must be live and this pass's (`seatEnd`), and hold no other connection
 * of the origin (one seat, one connection).
 */
export function originRefusal(lease: Lease | null, sub: string, gen: number, client: string): SeatEnd | "busy" | null {
  const ended = seatEnd(lease, sub, gen);
  if (ended !== null) return ended;
  if (lease!.originClient != null && lease!.originClient !== client) return "busy";
  return null;
}

/**
 * When an ended lease lets go of its seat unless confirmed earlier: once
 * its passes (issued at its last renewal at the latest, `expiresAt` minus a
 * pass lifetime) are too old to be honoured from any view, on any clock.
 */
export function releaseAt(lease: Lease, passTtlMs: number, now: number): number {
  const lastIssued = lease.expiresAt - passTtlMs;
  return Math.max(now, Math.min(lease.expiresAt, lastIssued + passTrustMs(passTtlMs) + CLOCK_SKEW_MS));
}

/**
 * Repeat claims answered at the edge. Once a listener's turn has come, every
 * status poll with its ticket is a claim on its shard (a Durable Object
 * call). A client polling as fast as it can would cost a call per request,
 * and a client that drops its cookies (or many devices sharing one ticket)
 * would move the seat from device to device at that rate. So this isolate
 * remembers its shard's last answer to each ticket for REPEAT_CLAIM_MS, with
 * the device that asked, and asks the shard at most once in that time:
 *
 * - The same device asks again: the same answer. A seat is given again with
 *   the very pass the shard's answer carried (nothing is signed here: no new
 *   credential exists that did not before), while the seat still stands as
 *   far as this isolate knows — not listed as revoked in the view, not learnt
 *   ended from its shard (`endedHere`), not given back or renewed through
 *   this isolate (`forgetSeat`) — and while that pass is young enough to be
 *   honoured without its shard (past that, the shard answers). A "not yet"
 *   stands while the view shows nothing that could change it: the same
 *   audience and the same cursor on the ticket's shard (`markOf`); a seat
 *   freed shows there, and the next poll claims at once. A "not called yet"
 *   is never kept (the shard calls on its own within a round).
 * - Another device asks (another pass, or none where a pass was sent, or the
 *   other way round): "try again shortly" until the pause is over. Its claim
 *   would move the seat, and a seat moved twice a second is nobody's.
 *
 * A device is the seat its pass names: a pass of a seat granted to a device
 * that sent none is that device's from its next poll on. While a claim of
 * the ticket is under way in this isolate (`claimStarted`, until its answer
 * is noted), other requests of the ticket do not claim: the same device
 * gets the answer it had, even a little past REPEAT_CLAIM_MS, anyone else
 * "try again shortly" (an isolate serves many requests at once, and a
 * request must not wait on another's call). Only a device with a pass of the
 * ticket that has no answer to be given asks too: its own claims keep its
 * seat, and it is not told to queue for a seat it holds. So a ticket costs
 * its shard at most one claim per REPEAT_CLAIM_MS per isolate once answered,
 * whatever asks, and one per view refresh (EDGE_VIEW_TTL_MS) while a "not
 * yet" changes.
 */
import type { ClaimOutcome } from "../policy/lease.ts";
import type { FlowAnswer } from "./desk-answers.ts";

/** How long the shard's answer to a ticket's claim stands in an isolate. */
export const REPEAT_CLAIM_MS = 2_000;
/** Tickets remembered per isolate (the oldest go first). */
const MAX_ENTRIES = 10_000;
/** A claim under way longer than this is taken for lost (its request ended without an answer). */
const CLAIM_LOST_MS = 5_000;
/** When to try again while another request's claim of the ticket is under way. */
const WHILE_CLAIMING_MS = 1_000;

/** An admitted answer as it was given: its status and the pass the shard's claim had signed. */
export type SeatAnswer = FlowAnswer & { kind: "status"; newPass: { token: string; exp: number } };

/** Who claims, and what the view shows. */
export interface Asking {
  /** The lease id of the pass the device sent along with its ticket (undefined: none). */
  holding: string | undefined;
  /** What in the view could change a "not yet" (`markOf`). */
  mark: string;
  now: number;
}

/** A repeat answered here: as the shard answered (`seat`: the admitted answer given), or "try again shortly". */
export type Repeat =
  { kind: "again"; outcome: ClaimOutcome; seat: SeatAnswer | null } | { kind: "shortly"; afterMs: number };

interface Entry {
  at: number;
  mark: string;
  /** The device that asked: the seat its pass named, undefined for none. */
  device: string | undefined;
  outcome: ClaimOutcome;
  /** With an admitted outcome, the answer given (null: not to be given again, e.g. without where to connect). */
  seat: SeatAnswer | null;
  /** With an admitted outcome, its key in `seats`. */
  seatKey: string | null;
}

type Ticket = { shard: number; seq: number; sub: string };

const entries = new Map<string, Entry>();
/** Per ticket: when the claim under way in this isolate started. */
const claiming = new Map<string, number>();
/** Per room and lease id: the ticket whose remembered seat it is. */
const seats = new Map<string, string>();

/** What in the view could change a claim's "not yet": the audience and the ticket shard's cursor. */
export function markOf(live: number, cursor: number): string {
  return `${live}:${cursor}`;
}

function keyOf(room: string, t: Ticket): string {
  return `${room}\n${t.shard}\n${t.seq}\n${t.sub}`;
}

function seatKey(room: string, sid: string): string {
  return `${room}\n${sid}`;
}

function drop(key: string, entry: Entry): void {
  entries.delete(key);
  if (entry.seatKey !== null) seats.delete(entry.seatKey);
}

/**
 * How this claim is answered without its shard, or null: ask the shard.
 * `stands(sid, exp)`: may the seat `sid`, its pass expiring at `exp` (s), be
 * given again (not known to have ended, the pass young enough)?
 */
export function repeatClaim(
  room: string,
  ticket: Ticket,
  asking: Asking,
  stands: (sid: string, exp: number) => boolean,
): Repeat | null {
  const key = keyOf(room, ticket);
  const started = claiming.get(key);
  // A request's `now` is when it began: one that began before the claim did sees it under way too.
  const underWay = started !== undefined && asking.now - started < CLAIM_LOST_MS;
  if (started !== undefined && !underWay) claiming.delete(key);
  const repeat = fromEntry(key, asking, stands, underWay);
  if (repeat !== null || !underWay) return repeat;
  // Nothing to give again while a claim is under way: a device with a pass of the ticket asks too
  // (its own claims keep its seat, and it is not told to queue for a seat it holds), anyone else waits.
  return asking.holding === undefined ? { kind: "shortly", afterMs: WHILE_CLAIMING_MS } : null;
}

/** The remembered answer's repeat, or null; `underWay`: a claim of the ticket is, so it is kept past its time. */
function fromEntry(
  key: string,
  asking: Asking,
  stands: (sid: string, exp: number) => boolean,
  underWay: boolean,
): Repeat | null {
  const entry = entries.get(key);
  if (entry === undefined) return null;
  // A request that began before the answer came (concurrent ones do) finds it fresh.
  const age = Math.max(0, asking.now - entry.at);
  if (age >= REPEAT_CLAIM_MS + CLAIM_LOST_MS) {
    drop(key, entry);
    return null;
  }
  // Past its time the answer is kept, not given: the request that finds it so claims, and the
  // requests that meet that claim under way are given it meanwhile.
  if (age >= REPEAT_CLAIM_MS && !underWay) return null;
  const afterMs = Math.max(REPEAT_CLAIM_MS - age, WHILE_CLAIMING_MS);
  const { outcome } = entry;
  if (outcome.kind === "admitted") {
    if (asking.holding !== outcome.lease.sid) return { kind: "shortly", afterMs };
    if (entry.seat !== null && stands(outcome.lease.sid, entry.seat.newPass.exp)) {
      return { kind: "again", outcome, seat: copySeatAnswer(entry.seat) };
    }
    drop(key, entry);
    return null;
  }
  // A "not yet" that the room may have changed: whoever asks, the shard answers.
  if (outcome.kind === "waiting" && entry.mark !== asking.mark) {
    drop(key, entry);
    return null;
  }
  if (asking.holding !== entry.device) return { kind: "shortly", afterMs };
  return { kind: "again", outcome, seat: null };
}

/** An answer's own copy: callers add to a status (its lane, its ticket). */
export function copySeatAnswer(seat: SeatAnswer): SeatAnswer {
  return { ...seat, status: { ...seat.status } };
}

/** A request of this isolate is about to claim the ticket: until its answer is noted, no other does. */
export function claimStarted(room: string, ticket: Ticket, now: number): void {
  const key = keyOf(room, ticket);
  claiming.delete(key);
  if (claiming.size >= MAX_ENTRIES) claiming.delete(claiming.keys().next().value!);
  claiming.set(key, now);
}

/** The claim got no answer (its shard could not be reached): the next request claims. */
export function claimFailed(room: string, ticket: Ticket): void {
  claiming.delete(keyOf(room, ticket));
}

/**
 * Remember the shard's answer to a claim from `asking.holding`'s device;
 * `seat`: the admitted answer given (null: ask again next time).
 */
export function noteClaim(
  room: string,
  ticket: Ticket,
  outcome: ClaimOutcome,
  asking: Asking,
  seat: SeatAnswer | null,
): void {
  const key = keyOf(room, ticket);
  claiming.delete(key);
  const previous = entries.get(key);
  if (previous !== undefined) drop(key, previous);
  // "Not called yet" is the shard's cursor catching up with the view within a round (its own
  // paced calls, its alarm): asked again at once, it may well be a seat.
  if (outcome.kind === "waiting" && outcome.reason === "not_called") return;
  if (entries.size >= MAX_ENTRIES) {
    const [oldKey, oldEntry] = entries.entries().next().value!;
    drop(oldKey, oldEntry);
  }
  const seated = outcome.kind === "admitted" ? seatKey(room, outcome.lease.sid) : null;
  entries.set(key, {
    at: asking.now,
    mark: asking.mark,
    device: asking.holding,
    outcome,
    seat: seated !== null && seat !== null ? copySeatAnswer(seat) : null,
    seatKey: seated,
  });
  if (seated !== null) seats.set(seated, key);
}

/**
 * The seat `sid` was given back or renewed through this isolate: its
 * remembered answer goes (the next claim asks the shard).
 */
export function forgetSeat(room: string, sid: string): void {
  const key = seats.get(seatKey(room, sid));
  const entry = key === undefined ? undefined : entries.get(key);
  if (entry !== undefined) drop(key!, entry);
}

/** Forget every remembered claim (tests). */
export function forgetRepeatClaims(): void {
  entries.clear();
  seats.clear();
  claiming.clear();
}

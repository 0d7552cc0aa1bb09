/**
 * Repeat claims answered at the edge. Once a listener's turn has come, every
 * status poll with its ticket is a claim on its shard (a Durable Object
 * call). Claims are idempotent, so a client polling as fast as it can would
 * cost a call per request while the answer stays "not yet" (the room is
 * full, the seat is moving from another device, the shard has not called it
 * yet). This isolate remembers such an answer per ticket for a short while
 * and gives it again, as long as the room's view shows nothing that could
 * change it: the same audience and the same cursor on the ticket's shard. A
 * "not called yet" is never kept (the shard calls on its own within a round). A
 * seat freed shows in the view (fewer live, or the cursor moved on), and the
 * next poll claims at once.
 *
 * So a ticket costs at most one claim per REPEAT_CLAIM_MS per isolate while
 * the room stands still, and one per view refresh (EDGE_VIEW_TTL_MS) while it
 * moves. A seat is never remembered: an admitted claim is always the shard's.
 */
import type { ClaimOutcome } from "../policy/lease.ts";

/** How long a claim that got no seat is given again without asking the shard. */
export const REPEAT_CLAIM_MS = 2_000;
/** Tickets remembered per isolate (the oldest go first). */
const MAX_ENTRIES = 10_000;

type NotSeated = ClaimOutcome & { kind: "waiting" };

interface Entry {
  at: number;
  /** What the view showed when the shard answered (see `markOf`). */
  mark: string;
  outcome: NotSeated;
}

const entries = new Map<string, Entry>();

/** What in the view could change a claim's answer: the audience and the ticket shard's cursor. */
export function markOf(live: number, cursor: number): string {
  return `${live}:${cursor}`;
}

function keyOf(room: string, shard: number, seq: number, sub: string): string {
  return `${room}\n${shard}\n${seq}\n${sub}`;
}

/** The shard's last "not yet" to this ticket, when it still stands (null: ask the shard). */
export function standingRefusal(
  room: string,
  ticket: { shard: number; seq: number; sub: string },
  mark: string,
  now: number,
): NotSeated | null {
  const key = keyOf(room, ticket.shard, ticket.seq, ticket.sub);
  const entry = entries.get(key);
  if (entry === undefined) return null;
  if (now - entry.at >= REPEAT_CLAIM_MS || now < entry.at || entry.mark !== mark) {
    entries.delete(key);
    return null;
  }
  return entry.outcome;
}

/** Remember the shard's answer to a claim: a "not yet" is kept, anything else forgets the ticket. */
export function noteClaim(
  room: string,
  ticket: { shard: number; seq: number; sub: string },
  outcome: ClaimOutcome,
  mark: string,
  now: number,
): void {
  const key = keyOf(room, ticket.shard, ticket.seq, ticket.sub);
  entries.delete(key);
  // "Not called yet" is the shard's cursor catching up with the view within a round (its own
  // paced calls, its alarm): asked again at once, it may well be a seat.
  if (outcome.kind !== "waiting" || outcome.reason === "not_called") return;
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(key, { at: now, mark, outcome });
}

/** Forget every remembered claim (tests). */
export function forgetRepeatClaims(): void {
  entries.clear();
}

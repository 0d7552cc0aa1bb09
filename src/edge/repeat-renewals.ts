/**
 * Repeat renewals answered at the edge. Renewing a pass is a call to its
 * seat's shard (`RoomShard.renew`), made by a heartbeat, by a direct room's
 * JSON answer, and on the way to the origin by any request whose pass is
 * past half its life. A client that sends its heartbeat as fast as it can,
 * or that keeps presenting a pass due for renewal (a player fetching
 * segments with the pass it started with), would cost its shard one call
 * per request: a single listener could keep a shard busy for everyone on it.
 *
 * So this isolate remembers the shard's last renewal of each seat for
 * REPEAT_RENEWAL_MS, and within that time answers any pass of the same seat
 * (the same lease id, device generation and listener) with the pass that
 * renewal signed. Nothing is signed here: the pass given again exists
 * already, and a request that presents it is honoured on the same terms. It
 * is given only while the seat still stands as far as this isolate knows —
 * not revoked in the view, not learnt ended from its shard (`endedHere`),
 * not given back through this isolate (`forgetRenewal`) — and while that
 * pass is young enough to be honoured without its shard. A seat its shard
 * said has ended is told so again in that time, with the shard's reason
 * (a pass of a seat that moved to a newer device, replayed, costs no more).
 *
 * While a renewal of the seat is under way in this isolate, another request
 * of the seat waits for its answer (checking every WAIT_STEP_MS, up to
 * WAIT_STEPS times) rather than calling too: a request must not await
 * another's I/O, so it looks for the noted answer instead. If none comes
 * (the call failed or was lost), it asks the shard itself. So a seat costs
 * its shard at most one renewal per REPEAT_RENEWAL_MS per isolate, however
 * often it is presented.
 */
import type { FlowAnswer } from "./desk-answers.ts";
import { timerSleep } from "./durable-call.ts";
import { copySeatAnswer, type SeatAnswer } from "./repeat-claims.ts";

/** How long the shard's renewal of a seat stands in an isolate. */
export const REPEAT_RENEWAL_MS = 2_000;
/** Seats remembered per isolate (the oldest go first). */
const MAX_ENTRIES = 10_000;
/** A renewal under way longer than this is taken for lost (its request ended without an answer). */
const RENEWAL_LOST_MS = 5_000;
/** While another request's renewal of the seat is under way: how often to look for its answer, and how many times. */
export const WAIT_STEP_MS = 25;
export const WAIT_STEPS = 40;

/** What a renewal answered that may be given again: the renewed pass (as a claim's seat), or that the seat has ended. */
export type RenewalAnswer = SeatAnswer | (FlowAnswer & { kind: "seat_ended" });

/** The seat a pass names: its lease, the device's generation and the listener. */
export interface PassSeat {
  sid: string;
  gen: number;
  sub: string;
}

interface Entry {
  at: number;
  gen: number;
  sub: string;
  answer: RenewalAnswer;
}

/** Per room and lease id: the last renewal given through this isolate. */
const entries = new Map<string, Entry>();
/** Per room and lease id: when the renewal under way in this isolate started. */
const renewing = new Map<string, number>();

function keyOf(room: string, sid: string): string {
  return `${room}\n${sid}`;
}

/**
 * The remembered renewal of this seat to give again, or null (ask the
 * shard). `stands(sid, exp)`: may the seat `sid`, its pass expiring at `exp`
 * (s), be given again (not known to have ended, the pass young enough)?
 */
export function repeatRenewal(
  room: string,
  seat: PassSeat,
  now: number,
  stands: (sid: string, exp: number) => boolean,
): RenewalAnswer | null {
  const key = keyOf(room, seat.sid);
  const entry = entries.get(key);
  if (entry === undefined) return null;
  // A request that began before the answer came (a concurrent one) finds it fresh.
  if (Math.max(0, now - entry.at) >= REPEAT_RENEWAL_MS) {
    entries.delete(key);
    return null;
  }
  // Another device's pass of the lease, or another listener's: its shard decides.
  if (entry.gen !== seat.gen || entry.sub !== seat.sub) return null;
  const { answer } = entry;
  if (answer.kind === "seat_ended") return { ...answer };
  if (!stands(seat.sid, answer.newPass.exp)) {
    entries.delete(key);
    return null;
  }
  return copySeatAnswer(answer);
}

/** Is a renewal of this seat under way in this isolate (started at most RENEWAL_LOST_MS before `now`)? */
export function renewalUnderWay(room: string, sid: string, now: number): boolean {
  const key = keyOf(room, sid);
  const started = renewing.get(key);
  if (started === undefined) return false;
  if (now - started < RENEWAL_LOST_MS) return true;
  renewing.delete(key);
  return false;
}

/**
 * Wait for the renewal under way to be noted, looking every WAIT_STEP_MS (at
 * most WAIT_STEPS times): its answer to give again, or null (then ask the
 * shard) once it is no longer under way without one, or after the last look.
 */
export async function awaitRenewal(
  room: string,
  seat: PassSeat,
  now: number,
  stands: (sid: string, exp: number) => boolean,
  sleep: (ms: number) => Promise<void> = timerSleep,
): Promise<RenewalAnswer | null> {
  for (let step = 0; step < WAIT_STEPS; step++) {
    await sleep(WAIT_STEP_MS);
    const again = repeatRenewal(room, seat, now, stands);
    if (again !== null) return again;
    if (!renewalUnderWay(room, seat.sid, now)) return null;
  }
  return null;
}

/** A request of this isolate is about to renew the seat: until its answer is noted, others wait for it. */
export function renewalStarted(room: string, sid: string, now: number): void {
  const key = keyOf(room, sid);
  renewing.delete(key);
  if (renewing.size >= MAX_ENTRIES) renewing.delete(renewing.keys().next().value!);
  renewing.set(key, now);
}

/**
 * The renewal is over: `answer`, what to give again (null: nothing — the
 * shard could not be reached, or the answer is not one to repeat). Either
 * way nothing is under way any more.
 */
export function noteRenewal(room: string, seat: PassSeat, answer: RenewalAnswer | null, now: number): void {
  const key = keyOf(room, seat.sid);
  renewing.delete(key);
  entries.delete(key);
  if (answer === null) return;
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  entries.set(key, {
    at: now,
    gen: seat.gen,
    sub: seat.sub,
    answer: answer.kind === "status" ? copySeatAnswer(answer) : { ...answer },
  });
}

/** The seat `sid` was given back through this isolate: its renewal is never given again. */
export function forgetRenewal(room: string, sid: string): void {
  entries.delete(keyOf(room, sid));
}

/** Forget every remembered renewal (tests). */
export function forgetRepeatRenewals(): void {
  entries.clear();
  renewing.clear();
}

/**
 * Per-isolate cache of each room's view (cursor, capacity, mode), so waiting
 * polls are answered from the signed ticket and a view at most 1 s old
 * instead of a Durable Object call each. One request fetches at a time; while
 * it does, other requests answer from the view in hand (never awaiting
 * another request's I/O, which workerd refuses under load); only an isolate
 * with no view at all fetches for each request that needs one.
 *
 * When a fetch fails, the failure is remembered for 1–2 s (jittered per
 * isolate), and every request in that time gets the same failure without a
 * call of its own: an object that cannot answer is not asked by every
 * request of every isolate. The last view fetched stays available as the
 * "last known" view for up to STALE_VIEW_MAX_MS, so that the failure policy
 * can still place waiting listeners and check revocations from it.
 */
import { PASS_VIEW_MAX_AGE_MS } from "../policy/pass-trust.ts";
import { EDGE_VIEW_TTL_MS, type GlobalView } from "../policy/protocol.ts";
import { clock } from "../policy/clock.ts";
import { learnLiveMounts, learnLivePaths } from "./live-paths.ts";

export const VIEW_TTL_MS = EDGE_VIEW_TTL_MS;
/** How old a view may be and still serve the failure policy (never a normal answer). */
export const STALE_VIEW_MAX_MS = 5 * 60_000;
const MAX_ROOMS = 1_000;

interface Entry {
  view: GlobalView | null;
  fetchedAt: number;
  pending: Promise<GlobalView> | null;
  /** After a failed fetch: no new fetch before this time; the failure is answered instead. */
  retryAt: number;
  failure: unknown;
  /** False once the view is known to be out of date (a leave in this isolate): refetch even within the TTL. */
  fresh: boolean;
}

const entries = new Map<string, Entry>();

function entryOf(room: string): Entry {
  let entry = entries.get(room);
  if (entry === undefined) {
    if (entries.size >= MAX_ROOMS) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entry = { view: null, fetchedAt: 0, pending: null, retryAt: 0, failure: null, fresh: false };
    entries.set(room, entry);
  }
  return entry;
}

/**
 * The room's view, fetched with `load` when the cached one is older than the
 * TTL. Throws what `load` threw, and throws it again without a new fetch
 * until the failure's hold has passed.
 */
export async function cachedView(
  room: string,
  now: number,
  load: (previous: GlobalView | null) => Promise<GlobalView>,
): Promise<GlobalView> {
  const inHand = viewInHand(room, now);
  if (inHand !== null) return inHand;
  const existing = entries.get(room);
  if (existing !== undefined && now < existing.retryAt) throw existing.failure;
  const e = existing ?? entryOf(room);
  e.pending = load(e.view).then(
    (view) => {
      learnLivePaths(view.livePaths);
      learnLiveMounts(room, view.liveMounts);
      e.view = view;
      e.fetchedAt = now;
      e.fresh = true;
      e.pending = null;
      e.retryAt = 0;
      e.failure = null;
      return view;
    },
    (err: unknown) => {
      e.pending = null;
      e.retryAt = now + VIEW_TTL_MS * (1 + clock.random());
      e.failure = err;
      throw err;
    },
  );
  return e.pending;
}

/**
 * The view `cachedView` answers with without reading one, else null: a
 * fresh one, or while a read is under way the one in hand (a fetch started
 * by another request is not waited on: a request must not await another's I/O).
 */
export function viewInHand(room: string, now: number): GlobalView | null {
  const existing = entries.get(room);
  if (existing?.view && existing.fresh && now - existing.fetchedAt < VIEW_TTL_MS) return existing.view;
  if (existing?.pending && existing.view !== null && now - existing.fetchedAt < STALE_VIEW_MAX_MS) {
    return existing.view;
  }
  return null;
}

/** The last view fetched for the room if it is at most STALE_VIEW_MAX_MS old, else null (for the failure policy). */
export function lastKnownView(room: string, now: number): GlobalView | null {
  const entry = entries.get(room);
  if (entry?.view == null || now - entry.fetchedAt > STALE_VIEW_MAX_MS) return null;
  return entry.view;
}

/**
 * Is this view recent enough to honour a pass from: were its revocations
 * current at most PASS_VIEW_MAX_AGE_MS ago? (A seat is reused only once its
 * revocation is in every such view, see revocations.ts.)
 */
export function vouchesForPasses(view: GlobalView, now: number): boolean {
  return now - view.asOf <= PASS_VIEW_MAX_AGE_MS;
}

/**
 * Replace the cached view with a fresher one learnt from a Durable Object
 * answer. It counts as fetched when its revocations were current (a shard's
 * copy may be older than the answer), so an old copy is soon read again.
 */
export function rememberView(room: string, view: GlobalView, now: number): void {
  learnLivePaths(view.livePaths);
  learnLiveMounts(room, view.liveMounts);
  const entry = entries.get(room);
  const fetchedAt = Math.min(now, view.asOf);
  if (entry === undefined)
    entries.set(room, { view, fetchedAt, pending: null, retryAt: 0, failure: null, fresh: true });
  else if (entry.pending === null && (entry.view === null || view.asOf >= entry.view.asOf)) {
    entry.view = view;
    entry.fetchedAt = fetchedAt;
    entry.fresh = true;
    entry.retryAt = 0;
    entry.failure = null;
  }
}

/**
 * A listener left: the next request refetches the view, and until one
 * arrives the last known view already refuses the left pass (so a failed
 * refetch cannot let it back in).
 */
export function expireView(room: string, revokedSid: string): void {
  const entry = entries.get(room);
  if (entry?.view == null) return;
  const view = entry.view;
  // Listed already (a leave repeated): the view refuses the pass as it is, and stays as fresh as it was.
  if (view.revoked.includes(revokedSid)) return;
  entry.view = { ...view, revoked: [...view.revoked, revokedSid] };
  entry.fresh = false;
}

/** Forget every cached view, and what this isolate learnt of ended seats (tests; after an admin change in this isolate). */
export function forgetViews(room?: string): void {
  if (room === undefined) {
    entries.clear();
    ended.clear();
    givenBack.clear();
  } else {
    entries.delete(room);
    ended.delete(room);
    givenBack.delete(room);
  }
}

/** Most ended seats an isolate remembers per room (the oldest go first). */
export const MAX_ENDED = 10_000;

/**
 * Seats one isolate learnt have ended, from their shard, each until its
 * passes expire; at most `max`, the oldest noted going first. (The
 * simulator keeps one per simulated isolate.)
 */
export class EndedSeats<K> {
  readonly #until = new Map<K, number>();
  readonly #max: number;

  constructor(max = MAX_ENDED) {
    this.#max = max;
  }

  get size(): number {
    return this.#until.size;
  }

  note(seat: K, until: number): void {
    if (this.#until.size >= this.#max) this.#until.delete(this.#until.keys().next().value!);
    this.#until.set(seat, until);
  }

  has(seat: K, now: number): boolean {
    const until = this.#until.get(seat);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(seat);
    return false;
  }
}

/** Per room: the lease ids this isolate learnt have ended. */
const ended = new Map<string, EndedSeats<string>>();
/** Per room: the seats (lease id and listener) given back through this isolate. */
const givenBack = new Map<string, EndedSeats<string>>();

function seatsOf(rooms: Map<string, EndedSeats<string>>, room: string): EndedSeats<string> {
  let seats = rooms.get(room);
  if (seats === undefined) {
    if (rooms.size >= MAX_ROOMS) rooms.delete(rooms.keys().next().value!);
    seats = new EndedSeats();
    rooms.set(room, seats);
  }
  return seats;
}

/**
 * A shard said this seat has ended: refuse its passes here until `until`
 * (their expiry) without asking again — a left listener presenting its pass
 * over and over costs its shard one call per isolate, not one per request.
 */
export function noteEnded(room: string, sid: string, until: number): void {
  seatsOf(ended, room).note(sid, until);
}

/** Has this isolate learnt that the seat ended (and may its passes still be presented)? */
export function endedHere(room: string, sid: string, now: number): boolean {
  return ended.get(room)?.has(sid, now) ?? false;
}

/**
 * Listener `sub` gave seat `sid` back through this isolate (its shard
 * answered the leave): until `until` (its passes' expiry) a leave repeated
 * here is answered as the shard would answer it, with nothing to release,
 * without a call. A leave changes a seat for good (the ledger's leave is
 * idempotent), so a repeat never has anything to do.
 */
export function noteGivenBack(room: string, sid: string, sub: string, until: number): void {
  seatsOf(givenBack, room).note(`${sid}\n${sub}`, until);
}

/** Did listener `sub` give seat `sid` back through this isolate (`noteGivenBack`)? */
export function givenBackHere(room: string, sid: string, sub: string, now: number): boolean {
  return givenBack.get(room)?.has(`${sid}\n${sub}`, now) ?? false;
}

const revokedSets = new WeakMap<GlobalView, Set<string>>();

/** Has this lease's pass been revoked (its listener left), as far as the view knows? */
export function isRevoked(view: GlobalView, sid: string): boolean {
  if (view.revoked.length === 0) return false;
  let set = revokedSets.get(view);
  if (set === undefined) {
    set = new Set(view.revoked);
    revokedSets.set(view, set);
  }
  return set.has(sid);
}

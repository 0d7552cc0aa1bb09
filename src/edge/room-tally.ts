/**
 * What one isolate counts per room between reports to the room's
 * coordinator: events that must not each cost a Durable Object call are
 * added up here and sent in one batch, at most once per REPORT_EVERY_MS per
 * room. The first report of a quiet spell goes at once; the rest go with
 * the next event after the interval.
 *
 * An isolate lives long and may see many rooms (any room id in a URL is a
 * room), so it keeps counts for at most `maxRooms` of them: a new room past
 * that forgets the room first counted (its unsent counts are lost, and its
 * next event reports at once). Counts are a signal, not a ledger, so losing
 * a few is fine; an isolate's memory growing with every room id is not.
 */

/** One report per room per isolate at most this often. */
export const REPORT_EVERY_MS = 5_000;

/** Most rooms one isolate keeps counts for. */
export const MAX_TALLIED_ROOMS = 1_000;

/** How to count one kind of event. */
export interface TallyRules<T, E> {
  /** Counts with nothing seen. */
  empty(): T;
  /** Add one event to the counts. */
  count(tally: T, event: E): void;
  /** Is there anything worth reporting? (default: always) */
  worthReporting?(tally: T): boolean;
}

interface Pending<T> {
  tally: T;
  lastReport: number;
}

export class RoomTally<T, E> {
  readonly #rules: TallyRules<T, E>;
  readonly #maxRooms: number;
  readonly #rooms = new Map<string, Pending<T>>();

  constructor(rules: TallyRules<T, E>, maxRooms = MAX_TALLIED_ROOMS) {
    this.#rules = rules;
    this.#maxRooms = maxRooms;
  }

  /** Rooms with counts kept now (at most `maxRooms`). */
  get rooms(): number {
    return this.#rooms.size;
  }

  /** Count an event; returns the counts to report now (and starts afresh), or null. */
  add(room: string, event: E, now: number): T | null {
    let p = this.#rooms.get(room);
    if (p === undefined) {
      if (this.#rooms.size >= this.#maxRooms) this.#rooms.delete(this.#rooms.keys().next().value!);
      p = { tally: this.#rules.empty(), lastReport: -Infinity };
      this.#rooms.set(room, p);
    }
    this.#rules.count(p.tally, event);
    if (now - p.lastReport < REPORT_EVERY_MS) return null;
    if (this.#rules.worthReporting?.(p.tally) === false) return null;
    const batch = p.tally;
    p.tally = this.#rules.empty();
    p.lastReport = now;
    return batch;
  }
}

/**
 * What one isolate saw of new arrivals in under-attack mode, per room:
 * challenges handed out, solutions refused, joins over the per-client
 * limit. None of these touches a Durable Object when it happens (that is
 * the point: an attack costs the edge a signature, not the room a write),
 * so they are counted here and reported to the room's coordinator in one
 * batch at most every REPORT_EVERY_MS per isolate: the first event of a
 * quiet spell at once, the rest with the next event after the interval.
 */
import type { EdgeArrivals } from "../policy/coordinator.ts";
import { noEdgeArrivals } from "../policy/coordinator.ts";

export const REPORT_EVERY_MS = 5_000;

export type ArrivalEvent = keyof EdgeArrivals;

interface Pending {
  seen: EdgeArrivals;
  lastReport: number;
}

/** Most rooms one isolate keeps counts for (oldest forgotten first). */
const MAX_ROOMS = 1_000;

export class ArrivalTally {
  readonly #rooms = new Map<string, Pending>();

  /** Count an event; returns the batch to report now, or null (reported too recently). */
  add(room: string, event: ArrivalEvent, now: number): EdgeArrivals | null {
    let p = this.#rooms.get(room);
    if (p === undefined) {
      if (this.#rooms.size >= MAX_ROOMS) this.#rooms.delete(this.#rooms.keys().next().value!);
      p = { seen: noEdgeArrivals(), lastReport: -Infinity };
      this.#rooms.set(room, p);
    }
    p.seen[event] += 1;
    if (now - p.lastReport < REPORT_EVERY_MS) return null;
    const batch = p.seen;
    p.seen = noEdgeArrivals();
    p.lastReport = now;
    return batch;
  }
}

/** The tally of this isolate. */
export const arrivalTally = new ArrivalTally();

/**
 * What one isolate saw of new arrivals in under-attack mode, per room:
 * challenges handed out, solutions refused, joins over the per-client
 * limit. None of these touches a Durable Object when it happens (that is
 * the point: an attack costs the edge a signature, not the room a write),
 * so they are counted here and reported to the room's coordinator in
 * batches (room-tally.ts says how often, and how many rooms are kept).
 */
import { type EdgeArrivals, noEdgeArrivals } from "../policy/protocol.ts";
import { RoomTally } from "./room-tally.ts";

export type ArrivalEvent = keyof EdgeArrivals;

export class ArrivalTally extends RoomTally<EdgeArrivals, ArrivalEvent> {
  constructor(maxRooms?: number) {
    super(
      {
        empty: noEdgeArrivals,
        count: (seen, event) => {
          seen[event] += 1;
        },
      },
      maxRooms,
    );
  }
}

/** The tally of this isolate. */
export const arrivalTally = new ArrivalTally();

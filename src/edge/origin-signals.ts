/**
 * What the origin tells Spillway through its answers to proxied requests.
 *
 * - 503 or 429, or no answer at all: it is struggling.
 * - `Spillway-Load: <0.0–1.0>`: how loaded it says it is (at or above
 *   DISTRESS_LOAD counts as struggling).
 * - `Spillway-Command: release`: this listener has left (for example the
 *   origin's "participant left"): free the seat of the pass it was sent.
 *
 * These headers are for Spillway only and are removed before the answer
 * reaches the listener. Each isolate tallies what it saw per room and
 * reports distress to the room's coordinator, at most once per
 * REPORT_EVERY_MS (room-tally.ts: the coordinator cuts at most once per
 * cooldown of the same length, so more would add load and nothing else);
 * healthy answers are never reported, the coordinator grows the limits back
 * on its own while no distress comes (see src/policy/health.ts). With 1,200
 * edge isolates that is at most 240 reports a second to one room's
 * coordinator.
 */
import { isDistress, type OriginSignal } from "../policy/health.ts";
import { RoomTally } from "./room-tally.ts";

export const LOAD_HEADER = "spillway-load";
export const COMMAND_HEADER = "spillway-command";

export interface OriginAnswer {
  overloaded: boolean;
  load: number | null;
  release: boolean;
  /** Did it carry either header (then `withoutSignals` has them to remove)? */
  signalled: boolean;
}

/** Read one answer (null: the origin could not be reached). */
export function readAnswer(response: Response | null): OriginAnswer {
  if (response === null) return { overloaded: true, load: null, release: false, signalled: false };
  const headers = response.headers;
  const raw = headers.get(LOAD_HEADER);
  const said = headers.get(COMMAND_HEADER);
  const parsed = raw === null ? NaN : Number(raw.trim());
  const load = Number.isFinite(parsed) && raw!.trim() !== "" ? Math.min(1, Math.max(0, parsed)) : null;
  const command = (said ?? "").trim().toLowerCase();
  return {
    overloaded: response.status === 503 || response.status === 429,
    load,
    release: command === "release",
    signalled: raw !== null || said !== null,
  };
}

/** The answer as the listener gets it: without Spillway's own headers (`read`: what `readAnswer` found in it). */
export function withoutSignals(response: Response, read: OriginAnswer): Response {
  if (!read.signalled) return response;
  const out = new Response(response.body, response);
  out.headers.delete(LOAD_HEADER);
  out.headers.delete(COMMAND_HEADER);
  return out;
}

/** What one isolate saw of the origin, per room, since its last report: only distress is reported. */
export class OriginTally extends RoomTally<OriginSignal, OriginAnswer> {
  constructor(maxRooms?: number) {
    super(
      {
        empty: () => ({ overloaded: 0, answers: 0, load: null }),
        count: (s, answer) => {
          s.answers += 1;
          if (answer.overloaded) s.overloaded += 1;
          if (answer.load !== null) s.load = Math.max(s.load ?? 0, answer.load);
        },
        worthReporting: isDistress,
      },
      maxRooms,
    );
  }
}

/** The tally of this isolate. */
export const originTally = new OriginTally();

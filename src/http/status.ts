/**
 * The status JSON of the contract, built from what the edge knows.
 */
import { pollAfterSeconds } from "../admission/position.ts";

export type ListenerState = "prequeue" | "queued" | "admitted" | "overflow" | "closed";

export interface StatusBody {
  room: string;
  state: ListenerState;
  position: number | null;
  ahead: number | null;
  etaSeconds: number | null;
  pollAfterSeconds: number;
  ticket?: string;
  pass?: string;
  passExpiresAt?: string;
  startsAt: string | null;
  recordingUrl: string | null;
}

/** A waiting listener's status: its place (1 at the front) and the estimated wait. */
export function queuedStatus(room: string, position: number, eta: number | null, random: () => number): StatusBody {
  return {
    room,
    state: "queued",
    position,
    ahead: position - 1,
    etaSeconds: eta,
    pollAfterSeconds: pollAfterSeconds(position, eta, random),
    startsAt: null,
    recordingUrl: null,
  };
}

/** An admitted listener's status: poll again (heartbeat) at a third of the pass lifetime. */
export function admittedStatus(room: string, pass: string, exp: number, passTtlMs: number): StatusBody {
  return {
    room,
    state: "admitted",
    position: null,
    ahead: null,
    etaSeconds: null,
    pollAfterSeconds: Math.max(1, Math.floor(passTtlMs / 3000)),
    pass,
    passExpiresAt: new Date(exp * 1000).toISOString(),
    startsAt: null,
    recordingUrl: null,
  };
}

export function closedStatus(room: string): StatusBody {
  return {
    room,
    state: "closed",
    position: null,
    ahead: null,
    etaSeconds: null,
    pollAfterSeconds: 60,
    startsAt: null,
    recordingUrl: null,
  };
}

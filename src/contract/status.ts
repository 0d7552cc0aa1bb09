/**
 * The status JSON of the contract, built from what the edge knows. Every
 * answer carries the room's start time and recording link (from the view),
 * written out in each literal: spread into it from an object of their own,
 * they cost every waiting poll a copy of about 600 machine instructions
 * (docs/scale.md, "The poll's floor").
 *
 * The answers a waiting poll gets (queued, prequeue) hold `ticket` and
 * `lane` from the start, undefined (JSON leaves them out): a join or a lane
 * sets them later in place. Added later instead, they gave the literal's
 * shape a transition, and V8 then wrote each key of every poll's JSON on its
 * slower path: about 1,100 instructions a poll (bench:instructions).
 */
import type { InferOutput } from "valibot";
import { pollAfterSeconds } from "../policy/position.ts";
import type { OverflowOffer } from "../policy/overflow.ts";
import type { ListenerStateSchema, StatusSchema } from "./schemas.ts";

export type ListenerState = InferOutput<typeof ListenerStateSchema>;

/**
 * The status JSON, as its schema (schemas.ts) defines it: the OpenAPI
 * document is generated from the same schema, so the two cannot drift.
 */
export type StatusBody = InferOutput<typeof StatusSchema>;

/** What every answer tells about the room. */
export interface RoomFacts {
  startsAt: number | null;
  recordingUrl: string | null;
}

/** The last start time written out, and its text: a room's start time is the same poll after poll. */
let lastStartsAt: number | null = null;
let lastStartsAtText: string | null = null;

function startsAtText(startsAt: number | null): string | null {
  if (startsAt !== lastStartsAt) {
    lastStartsAtText = startsAt === null ? null : new Date(startsAt).toISOString();
    lastStartsAt = startsAt;
  }
  return lastStartsAtText;
}

/** A waiting listener's status: its place (1 at the front) and the estimated wait. */
export function queuedStatus(
  room: string,
  position: number,
  eta: number | null,
  random: () => number,
  f: RoomFacts,
): StatusBody {
  return {
    room,
    state: "queued",
    position,
    ahead: position - 1,
    etaSeconds: eta,
    pollAfterSeconds: pollAfterSeconds(position, eta, random),
    startsAt: startsAtText(f.startsAt),
    recordingUrl: f.recordingUrl,
    ticket: undefined,
    lane: undefined,
  };
}

/** Before the start: a place in the prequeue; polls come closer together as the start nears. */
export function prequeueStatus(room: string, now: number, f: RoomFacts & { startsAt: number }): StatusBody {
  const untilStart = Math.max(0, Math.ceil((f.startsAt - now) / 1000));
  return {
    room,
    state: "prequeue",
    position: null,
    ahead: null,
    etaSeconds: untilStart,
    pollAfterSeconds: Math.min(30, Math.max(1, Math.ceil(untilStart / 2))),
    startsAt: startsAtText(f.startsAt),
    recordingUrl: f.recordingUrl,
    ticket: undefined,
    lane: undefined,
  };
}

/** The recording is offered: the live room is full (or its wait too long). */
export function overflowStatus(room: string, offer: OverflowOffer, f: RoomFacts): StatusBody {
  return {
    room,
    state: "overflow",
    position: null,
    ahead: null,
    etaSeconds: offer.etaSeconds === null ? null : Math.ceil(offer.etaSeconds),
    // Slow polls: the answer changes only when the recording is posted or the room closes.
    pollAfterSeconds: 30,
    offer: { reason: offer.reason, canKeepPlace: offer.canKeepPlace },
    startsAt: startsAtText(f.startsAt),
    recordingUrl: f.recordingUrl,
  };
}

/** Where an admitted listener connects directly, in a room whose origin enforces the seat itself. */
export type Connect = NonNullable<StatusBody["connect"]>;

/**
 * An admitted listener's status: poll again (heartbeat) at a third of the
 * pass lifetime; `connect` when the origin is to be reached directly.
 */
export function admittedStatus(
  room: string,
  pass: string,
  exp: number,
  passTtlMs: number,
  f: RoomFacts,
  connect?: Connect,
): StatusBody {
  return {
    room,
    state: "admitted",
    position: null,
    ahead: null,
    etaSeconds: null,
    pollAfterSeconds: Math.max(1, Math.floor(passTtlMs / 3000)),
    pass,
    passExpiresAt: new Date(exp * 1000).toISOString(),
    ...(connect === undefined ? {} : { connect }),
    startsAt: startsAtText(f.startsAt),
    recordingUrl: f.recordingUrl,
  };
}

export function closedStatus(room: string, f: RoomFacts): StatusBody {
  return {
    room,
    state: "closed",
    position: null,
    ahead: null,
    etaSeconds: null,
    pollAfterSeconds: 60,
    startsAt: startsAtText(f.startsAt),
    recordingUrl: f.recordingUrl,
  };
}

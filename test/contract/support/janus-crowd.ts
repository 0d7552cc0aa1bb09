/**
 * What the Janus crowd tests share (janus-events: an AudioBridge room;
 * janus-streaming: a Streaming mountpoint): a Spillway room put on Janus and
 * filled, old devices that keep opening sessions with a token they were
 * given, and the check that Janus itself refused them once Spillway took
 * the token back.
 */
import { expect } from "vitest";
import { EVERY_MS, untilStopped } from "./crowd.ts";
import { pause } from "./held.ts";
import { adminCall, join, type StatusJson } from "./http.ts";
import { JanusApiError } from "./janus.ts";

/** One old device's try: when it asked, and what came of it (101: a session opened; else Janus's error code; -1 anything else). */
export interface Try {
  askedAt: number;
  outcome: number;
}

/** A seat just given: its ticket, its pass and the Janus token its status carried. */
export interface Given {
  ticket: string;
  pass: string;
  token: string;
}

/**
 * Put `room` on Janus (`origin: janus`, `originRoom`, `capacity`), then seat
 * a room's worth of listeners who join now, `open` opening each one's
 * session on Janus with its token, as its page would.
 */
export async function filledJanusRoom<S>(
  base: string,
  adminToken: string,
  room: string,
  where: { originRoom: number; capacity: number },
  open: (given: Given, i: number) => Promise<S>,
): Promise<S[]> {
  const patched = await adminCall(base, adminToken, "PATCH", `/rooms/${room}`, {
    origin: "janus",
    originRoom: String(where.originRoom),
    capacity: where.capacity,
  });
  expect(patched.status, patched.text).toBe(200);
  const seats: S[] = [];
  for (let i = 0; i < where.capacity; i += 1) {
    const status = (await join(base, room)).json as StatusJson & { connect?: { token: string } };
    expect(status.state).toBe("admitted");
    seats.push(await open({ ticket: status.ticket!, pass: status.pass!, token: status.connect!.token }, i));
  }
  return seats;
}

/**
 * An old device that will not let go of its token: from now until the
 * scenario's stop (added to `stops`), it opens a session with `open` every
 * EVERY_MS. Its tries, as they come.
 */
export function keepsOpening(stops: (() => Promise<void>)[], open: () => Promise<unknown>): Try[] {
  const tries: Try[] = [];
  untilStopped(stops, async () => {
    const askedAt = Date.now();
    const outcome = await open().then(
      () => 101,
      (err: unknown) => (err instanceof JanusApiError ? err.code : -1),
    );
    tries.push({ askedAt, outcome });
    await pause(EVERY_MS);
  });
  return tries;
}

/**
 * The tries asked more than `takeBackMs` after `endedAt` (when the seats'
 * end was answered): more than `atLeast` of them, and Janus itself refused
 * every one (403: the token was taken back).
 */
export function refusedAfter(endedAt: number, takeBackMs: number, tries: Try[][], atLeast: number): Try[] {
  const late = tries.flat().filter((t) => t.askedAt > endedAt + takeBackMs);
  expect(late.length, "the old devices kept trying").toBeGreaterThan(atLeast);
  for (const t of late) expect(t.outcome).toBe(403);
  return late;
}

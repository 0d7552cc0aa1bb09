/**
 * Direct mode with a real Janus serving a Streaming mountpoint (Debian's
 * `janus`, `JANUS_PLUGIN` `streaming`, its sample event handler posting to
 * Spillway), judged by the mountpoint's own count of its viewers: the
 * plugin's `info`, sampled every 20 ms with Janus's session list. A viewer
 * here is a session that asked to `watch` (Janus counts it from its offer
 * on, answered or not), so no WebRTC is needed to be counted.
 *
 * - Everyone seated leaves at once while their old devices keep opening
 *   viewer sessions with their tokens, and the line takes the seats.
 * - Every seat moves to a newer device at once while the older devices do
 *   the same.
 *
 * Until a seat's token is taken back, its old device is the seat's own, as a
 * reloaded page is (its older session goes as the newer attaches); from a
 * second after the answer on, Janus refuses the token itself. A seat goes on
 * only once Janus holds nothing of its holder's, and Streaming drops a
 * viewer before it answers the session's destroy: so whenever a session of
 * the line (or of a newer device) is listed, the mountpoint counts no more
 * viewers than the room's capacity.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusApi, janusVars, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";
import { REFILL_WITHIN_MS, waitingIn } from "./support/crowd.ts";
import { admittedLater as admittedWithin } from "./support/direct.ts";
import { leaveWith, statusJson } from "./support/http.ts";
import { pause } from "./support/held.ts";
import { type JanusCounts, sampleJanus } from "./support/janus-counts.ts";
import { filledJanusRoom, keepsOpening, refusedAfter, type Try } from "./support/janus-crowd.ts";
import { type RunningWorker, freePort, onFreePort, startWorker } from "./support/worker.ts";

const ROOM = "janusstreaming";
const MOUNTPOINT = 5500;
const CAPACITY = 3;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const EVENTS_SECRET = randomBytes(16).toString("hex");
const STREAMING = "janus.plugin.streaming";
/** From this long after a seat's end was answered, Janus refuses its token (Spillway took it back). */
const TAKE_BACK_MS = 1_000;

interface JanusConnect {
  kind: "janus";
  token: string;
}

let janus: RunningJanus | undefined;
let worker: RunningWorker | undefined;
const sp = () => worker!;
/** Keepalive timers of every session opened here, stopped at the end. */
const keepalives: ReturnType<typeof setInterval>[] = [];

/** A viewer session with `token`: create, attach, watch the mountpoint; kept alive until Janus ends it. */
async function watching(token: string): Promise<number> {
  const api = new JanusApi(janus!.url, token);
  const id = await api.create();
  const timer = setInterval(() => {
    api.request({ janus: "keepalive" }, [id]).catch(() => clearInterval(timer));
  }, 1_000);
  keepalives.push(timer);
  await api.watch(await api.attach(STREAMING), MOUNTPOINT);
  return id;
}

/** A seated listener: its ticket, pass and Janus token, and the viewer session it watches in. */
interface Seat {
  ticket: string;
  pass: string;
  token: string;
  session: number;
}
const seats: Seat[] = [];

/** Poll a ticket's status (as a new device) until it is admitted with a `connect`; then watch with its token. */
async function seatedLater(ticket: string, what: string): Promise<Seat> {
  const status = await admittedWithin<JanusConnect>(sp().url, ROOM, ticket, REFILL_WITHIN_MS).catch((err: unknown) => {
    throw new Error(`${what}: ${String(err)}`);
  });
  const token = status.connect!.token;
  return { ticket, pass: status.pass!, token, session: await watching(token) };
}

/** An old device that will not let go of its token: it opens a viewer session with it again and again. */
const oldDevice = (stops: (() => Promise<void>)[], token: string) => keepsOpening(stops, () => watching(token));

/**
 * After seats ended at `endedAt`, their old devices trying all along: every
 * try from TAKE_BACK_MS on was refused by Janus itself (403), none of the old
 * seats' sessions is left, the new seats' are, and the mountpoint counts the
 * new seats' viewers. Any other session Janus still lists holds no handle:
 * an old device's create that came in just before its token was taken back,
 * whose attach Janus then refused (seen on a busy machine). It serves
 * nothing: Janus refuses every request with a removed token, keepalives
 * included (403, on Janus 1.1.2), and ends the session at its
 * `session_timeout`.
 */
async function takenBack(endedAt: number, tries: Try[][], before: Seat[], after: Seat[]): Promise<Try[]> {
  const late = refusedAfter(endedAt, TAKE_BACK_MS, tries, CAPACITY);
  const sessions = await janus!.sessions();
  for (const s of before) expect(sessions, "an old seat's session").not.toContain(s.session);
  for (const s of after) expect(sessions, "a new seat's session").toContain(s.session);
  const seated = new Set(after.map((s) => s.session));
  for (const id of sessions) {
    if (!seated.has(id)) expect(await janus!.handles(id), `the handles of session ${id}, not a seat's`).toEqual([]);
  }
  expect(await janus!.viewers(MOUNTPOINT)).toBe(CAPACITY);
  return late;
}

/** Whenever one of `newcomers`' sessions was listed, the mountpoint counted at most the capacity (and it was, at least once). */
function judged(counts: JanusCounts, newcomers: ReadonlySet<number>, what: string): void {
  expect(counts.samplesWith(newcomers), `samples with ${what} in Janus`).toBeGreaterThan(0);
  expect(counts.peakWhile("viewers", newcomers), `the mountpoint's viewers while ${what} watch`).toBeLessThanOrEqual(
    CAPACITY,
  );
}

/** What the samples saw while `who` watched, and all along: for the log. */
function seenWhile(counts: JanusCounts, who: ReadonlySet<number>): string {
  return (
    `${counts.peakWhile("viewers", who)} in ${counts.samplesWith(who)} samples (all along: ${counts.peak("viewers")} viewers, ` +
    `${counts.peak("sessions")} sessions; ${counts.samples} samples, longest gap ${counts.longestGapMs()} ms)`
  );
}

beforeAll(async () => {
  await requireJanus();
  // Spillway's port first: Janus is told where to post before Spillway starts (again on a new
  // port, with a new Janus, if another test's server takes it first).
  janus = await onFreePort(async (port) => {
    const started = await startJanus({
      eventsBackend: {
        url: `http://127.0.0.1:${port}/_spillway/origins/janus/events`,
        user: "janus",
        password: EVENTS_SECRET,
      },
    });
    try {
      // A mountpoint with no source: Janus counts who watches it all the same.
      const created = await started.admin("message_plugin", {
        plugin: STREAMING,
        request: {
          request: "create",
          type: "rtp",
          id: MOUNTPOINT,
          name: "streaming crowd",
          media: [{ type: "audio", mid: "a", port: await freePort(), pt: 111, codec: "opus" }],
        },
      });
      expect(JSON.stringify(created.response)).toContain('"created"');
      worker = await startWorker({
        port,
        adminToken: ADMIN_TOKEN,
        vars: { ROOMS: "*", ...janusVars(started, "streaming"), JANUS_EVENTS_SECRET: EVENTS_SECRET },
      });
    } catch (err) {
      await started.stop();
      throw err;
    }
    return started;
  });
  // A full room: every seat's listener watching.
  const where = { originRoom: MOUNTPOINT, capacity: CAPACITY };
  const filled = await filledJanusRoom(sp().url, ADMIN_TOKEN, ROOM, where, async (given) => ({
    ...given,
    session: await watching(given.token),
  }));
  seats.push(...filled);
  expect(await janus.viewers(MOUNTPOINT)).toBe(CAPACITY);
}, 90_000);

afterAll(async () => {
  for (const timer of keepalives) clearInterval(timer);
  await worker?.stop();
  await janus?.stop();
});

describe("a Streaming mountpoint's viewers (origin: janus, JANUS_PLUGIN streaming, events on)", () => {
  it("everyone seated leaves at once while their old devices keep watching anew: the line takes the seats, the mountpoint never counts more", async () => {
    const counts = sampleJanus(janus!, 20, { mountpoint: MOUNTPOINT });
    const stops: (() => Promise<void>)[] = [];
    const lineSessions = new Set<number>();
    try {
      const line = await waitingIn(sp().url, ROOM, CAPACITY);
      const players = line.map(async (ticket, i) => {
        const seat = await seatedLater(ticket, `listener ${i + 1} in line`);
        lineSessions.add(seat.session);
        return seat;
      });
      const leaving = Promise.all(seats.map((s) => leaveWith(sp().url, ROOM, s.pass)));
      const tries = seats.map((s) => oldDevice(stops, s.token));
      for (const left of await leaving) expect(left.json.released).toBe(true);
      const answeredAt = Date.now();
      const next = await Promise.all(players);
      const seatedMs = Date.now() - answeredAt;
      await pause(1_000);
      for (const stop of stops.splice(0)) await stop();

      const late = await takenBack(answeredAt, tries, seats, next);
      console.log(
        `Janus Streaming, everyone leaves: ${tries.flat().length} tries by the old devices (${late.length} a second or more after the leaves, all 403); ` +
          `the line watching ${seatedMs} ms after the leaves; the mountpoint's viewers while the line was in: ` +
          seenWhile(counts, lineSessions),
      );
      seats.splice(0, seats.length, ...next);
    } finally {
      for (const stop of stops) await stop();
      await counts.stop();
    }
    judged(counts, lineSessions, "the line");
  }, 90_000);

  it("every seat moves to a newer device at once while the older devices keep watching anew: never two of a seat counted", async () => {
    const counts = sampleJanus(janus!, 20, { mountpoint: MOUNTPOINT });
    const stops: (() => Promise<void>)[] = [];
    const phoneSessions = new Set<number>();
    try {
      const outsiders = await waitingIn(sp().url, ROOM, 2);
      const claims = await Promise.all(seats.map((s) => statusJson(sp().url, ROOM, s.ticket)));
      const claimedAt = Date.now();
      for (const c of claims) expect(c.json.state).toBe("queued");
      const tries = seats.map((s) => oldDevice(stops, s.token));
      const phones = await Promise.all(
        seats.map(async (s, i) => {
          const phone = await seatedLater(s.ticket, `the newer device of seat ${i + 1}`);
          expect(phone.token).not.toBe(s.token);
          phoneSessions.add(phone.session);
          return phone;
        }),
      );
      const movedMs = Date.now() - claimedAt;
      await pause(1_000);
      for (const stop of stops.splice(0)) await stop();

      const late = await takenBack(claimedAt, tries, seats, phones);
      for (const ticket of outsiders) expect((await statusJson(sp().url, ROOM, ticket)).json.state).toBe("queued");
      console.log(
        `Janus Streaming, every seat moves: ${tries.flat().length} tries by the older devices (${late.length} a second or more after the claims, all 403); ` +
          `the newer devices watching ${movedMs} ms after the claims; the mountpoint's viewers while a newer device was in: ` +
          seenWhile(counts, phoneSessions),
      );
      seats.splice(0, seats.length, ...phones);
    } finally {
      for (const stop of stops) await stop();
      await counts.stop();
    }
    judged(counts, phoneSessions, "a newer device");
  }, 90_000);
});

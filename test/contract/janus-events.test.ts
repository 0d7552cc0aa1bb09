/**
 * Direct mode with a real Janus whose event handler posts to Spillway
 * (Debian's `janus` with its sample event handler, `JANUS_EVENTS_SECRET`):
 * a session opened with a seat's token is told to the seat's shard the
 * moment its handle attaches, and the token's older session is destroyed
 * then, not at the next listing (every 5 s). Passes are of the default
 * length (60 s, so rounds of 27 s): without the events, nothing here would
 * act within 5 s.
 *
 * Judged by Janus's own Admin API (its session list and the AudioBridge
 * room's participants), sampled every 20 ms: while a client opens sessions
 * with one seat's token as fast as it can; while a client attaches handle
 * after handle in its seat's one session, each joining the room; while every seated listener
 * leaves at once, their old devices opening sessions with their tokens all
 * along, and the line takes the seats; and while every seat moves to a
 * newer device at once, the older devices doing the same.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusApi, janusVars, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";
import { REFILL_WITHIN_MS, waitingIn } from "./support/crowd.ts";
import { admittedLater as admittedWithin } from "./support/direct.ts";
import { adminCall, leaveWith, send, statusJson } from "./support/http.ts";
import { eventually, pause } from "./support/held.ts";
import { type JanusCounts, type JoinedAt, sampleJanus } from "./support/janus-counts.ts";
import { filledJanusRoom, keepsOpening, refusedAfter, type Try } from "./support/janus-crowd.ts";
import { type RunningWorker, onFreePort, startWorker } from "./support/worker.ts";

const ROOM = "janusevents";
const JANUS_ROOM = 4400;
const CAPACITY = 3;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const EVENTS_SECRET = randomBytes(16).toString("hex");
const AUDIOBRIDGE = "janus.plugin.audiobridge";
/**
 * How long Spillway has, after answering a seat's end (a leave, a move), to take its token back
 * from Janus. Until then the seat's own old devices may still open a session with it, as a
 * reloaded page does; from then on Janus refuses the token, and no session of the seat is left.
 */
const TAKE_BACK_MS = 1_000;
/** The display names of the listeners the line seats after a mass leave, and of the devices seats move to. */
const THE_LINE = /^next-/u;
const NEWER_DEVICES = /^phone-/u;
/** The most a token's older session may outlive its newer one's attach (the listing would take up to 5 s). */
const DESTROYED_WITHIN_MS = 1_000;
/**
 * The most AudioBridge may go on listing the participant of a session Janus has destroyed (and
 * relays nothing to): it hears of the destroy on the handle's own thread, tens of ms later under load.
 */
const TEARDOWN_MS = 1_000;

interface JanusConnect {
  kind: "janus";
  url: string;
  token: string;
  room: number;
}

let janus: RunningJanus | undefined;
let worker: RunningWorker | undefined;
let eventsUrl = "";
const sp = () => worker!;

/** A session on Janus with a seat's token, kept alive by keepalives until Janus ends it. */
interface Session {
  api: JanusApi;
  id: number;
  /** When its handle's attach was answered (Janus had told its event handler by then). */
  attachedAt: number;
  stop(): void;
}
const opened: Session[] = [];
/** Where each AudioBridge participant joined here is (the sampler tells apart a participant Janus is still tearing down). */
const joinedAt = new Map<number, JoinedAt>();

async function openSession(token: string, name: string): Promise<Session> {
  const api = new JanusApi(janus!.url, token);
  const id = await api.create();
  const handle = await api.attach(AUDIOBRIDGE);
  const attachedAt = Date.now();
  const timer = setInterval(() => {
    api.request({ janus: "keepalive" }, [id]).catch(() => clearInterval(timer));
  }, 1_000);
  const session: Session = { api, id, attachedAt, stop: () => clearInterval(timer) };
  opened.push(session);
  // Joined as a listener does; a session destroyed before it joined fails here, which is no test's concern.
  const participant = await api.joinMuted(handle, JANUS_ROOM, name).catch(() => null);
  if (participant !== null) joinedAt.set(participant, { session: id, handle });
  return session;
}

/** How long after `since` Janus no longer lists `session` (checked every 5 ms, for up to `ms`). */
async function goneAfter(session: number, since: number, ms = 10_000): Promise<number> {
  while (Date.now() - since < ms) {
    if (!(await janus!.sessions()).includes(session)) return Date.now() - since;
    await pause(5);
  }
  throw new Error(`Janus still lists session ${session} ${ms} ms on`);
}

/** How long after `since` Janus lists `keep` as the only handle of `session` (checked every 5 ms, for up to `ms`). */
async function onlyHandleAfter(session: number, keep: number, since: number, ms = 10_000): Promise<number> {
  while (Date.now() - since < ms) {
    const handles = await janus!.handles(session);
    if (handles.length === 1 && handles[0] === keep) return Date.now() - since;
    await pause(5);
  }
  throw new Error(`Janus still lists other handles than ${keep} in session ${session} ${ms} ms on`);
}

/** Poll a ticket's status (as a new device) until it is admitted with a `connect`. */
const admittedLater = (ticket: string, what: string) =>
  admittedWithin<JanusConnect>(sp().url, ROOM, ticket, REFILL_WITHIN_MS).catch((err: unknown) => {
    throw new Error(`${what}: ${String(err)}`);
  });

/** An old device that will not let go of its token: it opens a session with it (create, attach, join) again and again. */
const oldDevice = (stops: (() => Promise<void>)[], token: string) =>
  keepsOpening(stops, () => openSession(token, "old-device"));

/**
 * After seats ended at `endedAt` (their old devices trying all along): every try from
 * TAKE_BACK_MS on was refused by Janus itself (403), none of the old seats' sessions is
 * left, and Janus holds the new seats' sessions, a room's worth of participants. The late tries.
 */
async function takenBack(endedAt: number, tries: Try[][], before: Seat[], after: Seat[]): Promise<Try[]> {
  const late = refusedAfter(endedAt, TAKE_BACK_MS, tries, CAPACITY);
  const sessions = await janus!.sessions();
  for (const s of before) expect(sessions).not.toContain(s.session.id);
  for (const s of after) expect(sessions).toContain(s.session.id);
  expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
  return late;
}

const originAdmin = async () =>
  (await adminCall<{ originAdmin: { kills: number } }>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`)).json
    .originAdmin;

/** The room's seated listeners: ticket, pass and Janus token, and the session they play in. */
interface Seat {
  ticket: string;
  pass: string;
  token: string;
  session: Session;
}
const seats: Seat[] = [];

beforeAll(async () => {
  await requireJanus();
  // Spillway's port first: Janus is told where to post before Spillway starts (again on a new
  // port, with a new Janus, if another test's server takes it first).
  janus = await onFreePort(async (port) => {
    eventsUrl = `http://127.0.0.1:${port}/_spillway/origins/janus/events`;
    const started = await startJanus({
      room: JANUS_ROOM,
      eventsBackend: { url: eventsUrl, user: "janus", password: EVENTS_SECRET },
    });
    try {
      worker = await startWorker({
        port,
        adminToken: ADMIN_TOKEN,
        vars: {
          ROOMS: "*",
          ...janusVars(started, "audiobridge"),
          JANUS_EVENTS_SECRET: EVENTS_SECRET,
        },
      });
    } catch (err) {
      await started.stop();
      throw err;
    }
    return started;
  });
  // A full room: every seat's listener in Janus.
  const where = { originRoom: JANUS_ROOM, capacity: CAPACITY };
  const filled = await filledJanusRoom(sp().url, ADMIN_TOKEN, ROOM, where, async (given, i) => ({
    ...given,
    session: await openSession(given.token, `seat-${i}`),
  }));
  seats.push(...filled);
  expect(await janus.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
}, 90_000);

afterAll(async () => {
  for (const s of opened) s.stop();
  await worker?.stop();
  await janus?.stop();
});

describe("Janus's events (origin: janus, JANUS_EVENTS_SECRET)", () => {
  it("a token's older session is destroyed within milliseconds of a newer one's attach, five times running", async () => {
    const seat = seats[0]!;
    const others = seats.slice(1).map((s) => s.session.id);
    const killsBefore = (await originAdmin()).kills;
    const took: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const older = seat.session;
      const newer = await openSession(seat.token, `reload-${i}`);
      took.push(await goneAfter(older.id, newer.attachedAt));
      older.stop();
      seat.session = newer;
    }
    console.log(`a token's older Janus session destroyed ${took.join(", ")} ms after the newer one attached`);
    for (const ms of took) expect(ms).toBeLessThan(DESTROYED_WITHIN_MS);
    // The newest plays on, the other seats' sessions were never touched, and the kills are counted.
    const sessions = await janus!.sessions();
    expect(sessions).toContain(seat.session.id);
    for (const id of others) expect(sessions).toContain(id);
    expect(sessions).toHaveLength(CAPACITY);
    // AudioBridge drops the last destroyed session's participant on its own thread, a moment later.
    await eventually(
      async () => (await janus!.participants(JANUS_ROOM)).length === CAPACITY,
      TEARDOWN_MS,
      "AudioBridge lists the room's seats only",
    );
    expect((await originAdmin()).kills).toBe(killsBefore + 5);
  }, 60_000);

  it("a client opening sessions with one seat's token as fast as it can gets one at a time; Janus counts the room's seats", async () => {
    const seat = seats[1]!;
    const others = [seats[0]!, seats[2]!].map((s) => s.session.id);
    const counts: JanusCounts = sampleJanus(janus!, 20, JANUS_ROOM, joinedAt);
    const lived: number[] = [];
    const attempts: Session[] = [];
    const until = Date.now() + 3_000;
    let previous = seat.session;
    try {
      while (Date.now() < until) {
        const next = await openSession(seat.token, `greedy-${attempts.length}`);
        attempts.push(next);
        const older = previous;
        previous = next;
        lived.push(await goneAfter(older.id, next.attachedAt));
      }
      await pause(DESTROYED_WITHIN_MS);
    } finally {
      await counts.stop();
    }
    seat.session = previous;
    const sorted = [...lived].sort((a, b) => a - b);
    console.log(
      `${attempts.length} sessions opened with one token in 3 s; each older one gone ${sorted[0]}–${sorted.at(-1)} ms ` +
        `after the next attached (median ${sorted[Math.floor(sorted.length / 2)]}); Janus's most: ` +
        `${counts.peak("sessions")} sessions, ${counts.peak("served")} participants with a session ` +
        `(${counts.peak("participants")} listed, a destroyed session's participant listed for up to ` +
        `${counts.longestTeardownMs()} ms more; ${counts.samples} samples, longest gap ${counts.longestGapMs()} ms)`,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    for (const ms of lived) expect(ms).toBeLessThan(DESTROYED_WITHIN_MS);
    // Never more than one of the seat's sessions at once beyond its own, and only for those milliseconds.
    expect(counts.samples).toBeGreaterThan(20);
    expect(counts.peak("sessions")).toBeLessThanOrEqual(CAPACITY + 1);
    // Janus's participants with a session: those it relays to. A destroyed session's participant is
    // dropped by AudioBridge a moment later (support/janus-counts.ts), and it must be, soon.
    expect(counts.peak("served")).toBeLessThanOrEqual(CAPACITY + 1);
    // The room's seats were in it all along: a count that missed them would prove nothing.
    expect(counts.peak("served")).toBeGreaterThanOrEqual(CAPACITY);
    expect(counts.longestTeardownMs()).toBeLessThan(TEARDOWN_MS);
    // Once it stops, the seat holds its newest session only; the others' sessions were never touched.
    const sessions = await janus!.sessions();
    expect(sessions).toHaveLength(CAPACITY);
    expect(sessions).toContain(previous.id);
    for (const id of others) expect(sessions).toContain(id);
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
  }, 60_000);

  it("a client attaching handle after handle in its seat's session, each joining the room, keeps one participant; Janus counts the room's seats", async () => {
    const seat = seats[2]!;
    const { api, id: session } = seat.session;
    const others = [seats[0]!, seats[1]!].map((s) => s.session.id);
    const counts = sampleJanus(janus!, 20, JANUS_ROOM, joinedAt, [session]);
    const killsBefore = (await originAdmin()).kills;
    const lived: number[] = [];
    let handles = 0;
    let newest = 0;
    const until = Date.now() + 3_000;
    try {
      while (Date.now() < until) {
        newest = await api.attach(AUDIOBRIDGE);
        const attachedAt = Date.now();
        handles += 1;
        // Joined as the page's one handle would; one detached before it joined fails here, which is no concern.
        const participant = await api.joinMuted(newest, JANUS_ROOM, `extra-${handles}`).catch(() => null);
        if (participant !== null) joinedAt.set(participant, { session, handle: newest });
        lived.push(await onlyHandleAfter(session, newest, attachedAt));
      }
      await pause(DESTROYED_WITHIN_MS);
    } finally {
      await counts.stop();
    }
    const sorted = [...lived].sort((a, b) => a - b);
    console.log(
      `${handles} handles attached in one seat's session in 3 s; the older ones detached ${sorted[0]}–${sorted.at(-1)} ms ` +
        `after the newest attached (median ${sorted[Math.floor(sorted.length / 2)]}); Janus's most: ` +
        `${counts.peak("sessions")} sessions, ${counts.peak("served")} participants with their handle ` +
        `(${counts.peak("participants")} listed, a detached handle's participant listed for up to ` +
        `${counts.longestTeardownMs()} ms more; ${counts.samples} samples, longest gap ${counts.longestGapMs()} ms)`,
    );
    expect(handles).toBeGreaterThanOrEqual(5);
    for (const ms of lived) expect(ms).toBeLessThan(DESTROYED_WITHIN_MS);
    // One participant a seat, beyond the newest one's milliseconds; no session was destroyed for it.
    expect(counts.samples).toBeGreaterThan(20);
    expect(counts.peak("sessions")).toBe(CAPACITY);
    expect(counts.peak("served")).toBeLessThanOrEqual(CAPACITY + 1);
    expect(counts.peak("served")).toBeGreaterThanOrEqual(CAPACITY);
    expect(counts.longestTeardownMs()).toBeLessThan(TEARDOWN_MS);
    // Afterwards the seat's session holds its newest handle, in the room; every other seat's is untouched.
    const sessions = await janus!.sessions();
    expect(sessions).toHaveLength(CAPACITY);
    expect(sessions).toContain(session);
    for (const id of others) expect(sessions).toContain(id);
    expect(await janus!.handles(session)).toEqual([newest]);
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
    // Each detach is counted with the kills.
    expect((await originAdmin()).kills).toBeGreaterThanOrEqual(killsBefore + handles);
  }, 60_000);

  it("everyone seated leaves at once while their old devices keep opening sessions: the line takes the seats, Janus never serves more", async () => {
    const counts = sampleJanus(janus!, 20, JANUS_ROOM, joinedAt);
    const stops: (() => Promise<void>)[] = [];
    try {
      const line = await waitingIn(sp().url, ROOM, CAPACITY);
      const players = line.map(async (ticket, i) => {
        const status = await admittedLater(ticket, `listener ${i + 1} in line`);
        return {
          ticket,
          pass: status.pass!,
          token: status.connect!.token,
          session: await openSession(status.connect!.token, `next-${i}`),
        };
      });
      const leaving = Promise.all(seats.map((s) => leaveWith(sp().url, ROOM, s.pass)));
      const tries = seats.map((s) => oldDevice(stops, s.token));
      for (const left of await leaving) expect(left.json.released).toBe(true);
      const answeredAt = Date.now();
      const next = await Promise.all(players);
      const seatedMs = Date.now() - answeredAt;
      await pause(1_000);
      for (const stop of stops.splice(0)) await stop();

      // From a second after the leaves on, every old device's try was refused by Janus itself (403).
      const late = await takenBack(answeredAt, tries, seats, next);
      console.log(
        `Janus, everyone leaves: ${tries.flat().length} tries by the old devices (${late.length} a second or more after the leaves, all 403); ` +
          `the line in Janus ${seatedMs} ms after the leaves; Janus's most from a second after the leaves' answer: ` +
          `${counts.peak("sessions", answeredAt + TAKE_BACK_MS)} sessions, ` +
          `${counts.peak("participants", answeredAt + TAKE_BACK_MS)} participants listed, ` +
          `${counts.peak("served", answeredAt + TAKE_BACK_MS)} with a session; while the line was in: ` +
          `${counts.peakWhile("participants", THE_LINE)} participants listed in ${counts.samplesWith(THE_LINE)} samples ` +
          `(before, while the tokens were still the seats': ${counts.peak("participants")} listed, ${counts.peak("served")} with a session; ` +
          `${counts.samples} samples, longest gap ${counts.longestGapMs()} ms)`,
      );
      seats.splice(0, seats.length, ...next);
    } finally {
      for (const stop of stops) await stop();
      await counts.stop();
    }
    // Until its token is taken back an old device is its seat's own, opening a session as a reloaded page
    // does (its older one goes within milliseconds, as above); from TAKE_BACK_MS on Janus refuses the
    // token (takenBack). A seat goes to the line only once Janus lists nothing of its holder's: no
    // session, and no participant AudioBridge is still dropping. So whenever a listener of the line is in
    // the room, Janus's own list (dropped ones included) holds no more than the capacity, however long
    // a loaded machine takes to get there.
    // At least one sample saw the line in (a loaded machine samples slowly; none would prove nothing).
    expect(counts.samplesWith(THE_LINE), "samples with the line in the room").toBeGreaterThan(0);
    expect(counts.peakWhile("participants", THE_LINE), "Janus's participants while the line is in").toBeLessThanOrEqual(
      CAPACITY,
    );
  }, 90_000);

  it("every seat moves to a newer device at once while the older devices keep opening sessions: never two of a seat in Janus", async () => {
    const counts = sampleJanus(janus!, 20, JANUS_ROOM, joinedAt);
    const stops: (() => Promise<void>)[] = [];
    try {
      const outsiders = await waitingIn(sp().url, ROOM, 2);
      const claims = await Promise.all(seats.map((s) => statusJson(sp().url, ROOM, s.ticket)));
      const claimedAt = Date.now();
      for (const c of claims) expect(c.json.state).toBe("queued");
      const tries = seats.map((s) => oldDevice(stops, s.token));
      const phones = await Promise.all(
        seats.map(async (s, i) => {
          const status = await admittedLater(s.ticket, `the newer device of seat ${i + 1}`);
          expect(status.connect!.token).not.toBe(s.token);
          return {
            ...s,
            token: status.connect!.token,
            session: await openSession(status.connect!.token, `phone-${i}`),
          };
        }),
      );
      const movedMs = Date.now() - claimedAt;
      await pause(1_000);
      for (const stop of stops.splice(0)) await stop();

      const late = await takenBack(claimedAt, tries, seats, phones);
      for (const ticket of outsiders) expect((await statusJson(sp().url, ROOM, ticket)).json.state).toBe("queued");
      console.log(
        `Janus, every seat moves: ${tries.flat().length} tries by the older devices (${late.length} a second or more after the claims, all 403); ` +
          `the newer devices in Janus ${movedMs} ms after the claims; Janus's most from a second after the claims: ` +
          `${counts.peak("sessions", claimedAt + TAKE_BACK_MS)} sessions, ` +
          `${counts.peak("participants", claimedAt + TAKE_BACK_MS)} participants listed, ` +
          `${counts.peak("served", claimedAt + TAKE_BACK_MS)} with a session; while a newer device was in: ` +
          `${counts.peakWhile("participants", NEWER_DEVICES)} participants listed in ${counts.samplesWith(NEWER_DEVICES)} samples ` +
          `(all along: ${counts.peak("participants")} listed, ${counts.peak("served")} with a session; ${counts.samples} samples)`,
      );
      seats.splice(0, seats.length, ...phones);
    } finally {
      for (const stop of stops) await stop();
      await counts.stop();
    }
    // As for the leaves: the older devices' tokens are the seats' own until taken back, and a seat goes
    // to its newer device only once Janus lists nothing of the older one's.
    expect(counts.samplesWith(NEWER_DEVICES), "samples with the newer devices in the room").toBeGreaterThan(0);
    expect(
      counts.peakWhile("participants", NEWER_DEVICES),
      "Janus's participants while a newer device is in",
    ).toBeLessThanOrEqual(CAPACITY);
  }, 90_000);

  it("refuses events without the password, changing nothing, and says why", async () => {
    const seat = seats[2]!;
    const before = await janus!.sessions();
    const event = JSON.stringify({
      type: 2,
      session_id: seat.session.id + 1,
      handle_id: 1,
      event: { name: "attached", plugin: AUDIOBRIDGE, token: seat.token },
    });
    const wrong = `Basic ${btoa("janus:not-the-secret")}`;
    for (const authorization of [wrong, "", `Bearer ${EVENTS_SECRET}`]) {
      const res = await send<string>(eventsUrl, { method: "POST", headers: { authorization }, body: event });
      expect(res.status).toBe(401);
    }
    expect(await janus!.sessions()).toContain(seat.session.id);
    const bad = await send<string>(eventsUrl, {
      method: "POST",
      headers: { authorization: `Basic ${btoa(`janus:${EVENTS_SECRET}`)}` },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    const after = await janus!.sessions();
    for (const s of seats) expect(after).toContain(s.session.id);
    // Nothing new, nothing of a seat's destroyed. An older device's session made just before its
    // token was taken back never got a handle: Janus keeps it, serving nothing, until its
    // session_timeout (docs/origins/janus.md), so the count is of sessions with a handle.
    expect(after.filter((id) => !before.includes(id))).toEqual([]);
    const served: number[] = [];
    for (const id of after) if ((await janus!.handles(id)).length > 0) served.push(id);
    expect(served.sort((a, b) => a - b)).toEqual(seats.map((s) => s.session.id).sort((a, b) => a - b));
  });
});

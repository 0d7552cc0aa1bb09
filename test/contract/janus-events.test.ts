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
 * room's participants), sampled every 20 ms while a client opens sessions
 * with one seat's token as fast as it can.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusApi, janusVars, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";
import { adminCall, join, send } from "./support/http.ts";
import { pause } from "./support/held.ts";
import { type JanusCounts, sampleJanus } from "./support/janus-counts.ts";
import { type RunningWorker, freePort, startWorker } from "./support/worker.ts";

const ROOM = "janusevents";
const JANUS_ROOM = 4400;
const CAPACITY = 3;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const EVENTS_SECRET = randomBytes(16).toString("hex");
const AUDIOBRIDGE = "janus.plugin.audiobridge";
/** The most a token's older session may outlive its newer one's attach (the listing would take up to 5 s). */
const DESTROYED_WITHIN_MS = 1_000;

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
  await api.joinMuted(handle, JANUS_ROOM, name).catch((err: unknown) => err);
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

const originAdmin = async () =>
  (await adminCall<{ originAdmin: { kills: number } }>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`)).json
    .originAdmin;

const seats: { token: string; session: Session }[] = [];

beforeAll(async () => {
  await requireJanus();
  // Spillway's port first: Janus is told where to post before Spillway starts.
  const port = await freePort();
  eventsUrl = `http://127.0.0.1:${port}/_spillway/origins/janus/events`;
  janus = await startJanus({
    room: JANUS_ROOM,
    eventsBackend: { url: eventsUrl, user: "janus", password: EVENTS_SECRET },
  });
  worker = await startWorker({
    port,
    adminToken: ADMIN_TOKEN,
    vars: {
      ROOMS: "*",
      ...janusVars(janus, "audiobridge"),
      JANUS_EVENTS_SECRET: EVENTS_SECRET,
    },
  });
  const patched = await adminCall(sp().url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, {
    origin: "janus",
    originRoom: String(JANUS_ROOM),
    capacity: CAPACITY,
  });
  expect(patched.status).toBe(200);
  // A full room: every seat's listener in Janus.
  for (let i = 0; i < CAPACITY; i += 1) {
    const status = (await join(sp().url, ROOM)).json as { state: string; connect?: JanusConnect };
    expect(status.state).toBe("admitted");
    const token = status.connect!.token;
    seats.push({ token, session: await openSession(token, `seat-${i}`) });
  }
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
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
    expect((await originAdmin()).kills).toBe(killsBefore + 5);
  }, 60_000);

  it("a client opening sessions with one seat's token as fast as it can gets one at a time; Janus counts the room's seats", async () => {
    const seat = seats[1]!;
    const others = [seats[0]!, seats[2]!].map((s) => s.session.id);
    const counts: JanusCounts = sampleJanus(janus!, 20, JANUS_ROOM);
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
        `${counts.peak("sessions")} sessions, ${counts.peak("participants")} participants ` +
        `(${counts.samples} samples, longest gap ${counts.longestGapMs()} ms)`,
    );
    expect(attempts.length).toBeGreaterThanOrEqual(5);
    for (const ms of lived) expect(ms).toBeLessThan(DESTROYED_WITHIN_MS);
    // Never more than one of the seat's sessions at once beyond its own, and only for those milliseconds.
    expect(counts.samples).toBeGreaterThan(20);
    expect(counts.peak("sessions")).toBeLessThanOrEqual(CAPACITY + 1);
    expect(counts.peak("participants")).toBeLessThanOrEqual(CAPACITY + 1);
    // Once it stops, the seat holds its newest session only; the others' sessions were never touched.
    const sessions = await janus!.sessions();
    expect(sessions).toHaveLength(CAPACITY);
    expect(sessions).toContain(previous.id);
    for (const id of others) expect(sessions).toContain(id);
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
  }, 60_000);

  it("refuses events without the password, changing nothing, and says why", async () => {
    const seat = seats[2]!;
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
    expect(await janus!.sessions()).toContain(seat.session.id);
    expect(await janus!.sessions()).toHaveLength(CAPACITY);
  });
});

/**
 * Direct mode end to end with a real Janus (Debian's `janus`, stored-token
 * auth, HTTP and Admin transports on loopback) in front of which a running
 * Spillway hands out seats (`origin: janus`). Listeners join the AudioBridge
 * room straight at Janus with the token `connect` carries, and keep their
 * session alive with Janus alone (no heartbeat to Spillway). Every claim
 * about the cap is judged by Janus's own Admin API session list and
 * AudioBridge participant list, sampled every 100 ms for the whole file.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin } from "../../src/origins/janus.ts";
import { JanusApi, JanusApiError, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";
import { adminCall, bearer, join, send, type StatusJson } from "./support/http.ts";
import { eventually, pause } from "./support/held.ts";
import { type JanusCounts, sampleJanus } from "./support/janus-counts.ts";
import { admittedLater as admittedWithin, statusOf as directStatus, inLineOrder } from "./support/direct.ts";
import { type RunningWorker, startWorker, workerLogs } from "./support/worker.ts";

const ROOM = "janusroom";
const JANUS_ROOM = 4321;
const CAPACITY = 3;
/** Short passes, so that holding past several lifetimes fits in the file's time. */
const PASS_TTL_SECONDS = 6;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const AUDIOBRIDGE = "janus.plugin.audiobridge";
/** The rooms' secret, and a second room on the same Janus whose allowed list holds no seat. */
const ROOM_SECRET = randomBytes(12).toString("hex");
const OTHER_JANUS_ROOM = 4322;

interface JanusConnect {
  kind: "janus";
  url: string;
  token: string;
  plugin: string;
  room: number;
  expiresAt: string;
}
type Status = StatusJson & { connect?: JanusConnect };

let janus: RunningJanus | undefined;
let worker: RunningWorker | undefined;
const sp = () => worker!;

/** Janus's own counts, sampled in the background: sessions, and participants of the room. */
let counts: JanusCounts | undefined;

/** A listener on Janus: its session, kept alive by Janus keepalives only, until Janus ends it. */
interface Listener {
  api: JanusApi;
  session: number;
  ended: boolean;
  stop(): void;
}
const open: Listener[] = [];

async function joinJanus(connect: JanusConnect, name: string): Promise<Listener> {
  expect(connect).toMatchObject({ kind: "janus", url: janus!.url, plugin: AUDIOBRIDGE, room: JANUS_ROOM });
  const api = new JanusApi(connect.url, connect.token);
  const session = await api.create();
  const handle = await api.attach(AUDIOBRIDGE);
  await api.joinMuted(handle, JANUS_ROOM, name);
  const listener: Listener = { api, session, ended: false, stop: () => undefined };
  const timer = setInterval(() => {
    api.request({ janus: "keepalive" }, [session]).catch((err: unknown) => {
      if (err instanceof JanusApiError) listener.ended = true;
    });
  }, 1_000);
  listener.stop = () => clearInterval(timer);
  open.push(listener);
  return listener;
}

/** Janus no longer has this listener's session (destroyed), and its token creates none. */
async function droppedWithin(l: Listener, ms: number): Promise<void> {
  await eventually(async () => !(await janus!.sessions()).includes(l.session), ms, "Janus destroys the session");
  l.stop();
  await expect(l.api.create()).rejects.toMatchObject({ code: 403 });
}

const statusOf = (ticket: string) => directStatus<JanusConnect>(sp().url, ROOM, ticket);
const admittedLater = (ticket: string, ms: number) => admittedWithin<JanusConnect>(sp().url, ROOM, ticket, ms);

const originAdmin = async () =>
  (await adminCall<{ originAdmin: { kills: number } }>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`)).json
    .originAdmin;

const activeSeats = async () =>
  (await adminCall<{ active: number }>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`)).json.active;

beforeAll(async () => {
  await requireJanus();
  janus = await startJanus({ room: JANUS_ROOM, roomSecret: ROOM_SECRET });
  // Both rooms admit only tokens on their allowed list (the operator's choice): a seat's token, its own room alone.
  const admin = new JanusAdmin({ url: janus.adminUrl, adminSecret: janus.adminSecret });
  const ab = (request: Record<string, unknown>) =>
    admin.messagePlugin(AUDIOBRIDGE, { ...request, secret: ROOM_SECRET });
  await ab({ request: "create", room: OTHER_JANUS_ROOM, permanent: false });
  for (const room of [JANUS_ROOM, OTHER_JANUS_ROOM])
    await ab({ request: "allowed", action: "enable", room, allowed: [] });
  worker = await startWorker({
    adminToken: ADMIN_TOKEN,
    vars: {
      ROOMS: "*",
      PASS_TTL_SECONDS: String(PASS_TTL_SECONDS),
      JANUS_URL: janus.url,
      JANUS_ADMIN_URL: janus.adminUrl,
      JANUS_ADMIN_SECRET: janus.adminSecret,
      JANUS_ROOM_SECRET: ROOM_SECRET,
      JANUS_PLUGIN: "audiobridge",
    },
  });
  const patched = await adminCall(sp().url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, {
    origin: "janus",
    originRoom: String(JANUS_ROOM),
    capacity: CAPACITY,
  });
  expect(patched.status).toBe(200);
  counts = sampleJanus(janus, 100, JANUS_ROOM);
}, 90_000);

afterAll(async () => {
  for (const l of open) l.stop();
  await counts?.stop();
  await worker?.stop();
  await janus?.stop();
});

const seated: { ticket: string; status: Status; listener: Listener }[] = [];
const waiting: string[] = [];

describe("Janus enforcing Spillway's seats (origin: janus)", () => {
  it("admits a burst up to the capacity; each joins Janus with its own token, and nobody else can", async () => {
    const joins = await Promise.all(Array.from({ length: 6 }, () => join(sp().url, ROOM)));
    for (const [i, j] of joins.entries()) {
      const s = j.json as Status;
      if (s.state === "admitted") {
        seated.push({ ticket: s.ticket!, status: s, listener: await joinJanus(s.connect!, `seat-${i}`) });
      } else {
        expect(s.connect).toBeUndefined();
        waiting.push(s.ticket!);
      }
    }
    expect(seated).toHaveLength(CAPACITY);
    // The next to be called first (the burst's answers come back in any order).
    waiting.splice(0, waiting.length, ...(await inLineOrder(sp().url, ROOM, waiting)));
    expect(new Set(seated.map((s) => s.status.connect!.token)).size).toBe(CAPACITY);
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(CAPACITY);
    // No token, a made-up one, or a token that is not a seat's: Janus itself refuses.
    for (const token of [undefined, "made-up", seated[0]!.status.pass!]) {
      await expect(new JanusApi(janus!.url, token).create()).rejects.toMatchObject({ code: 403 });
    }
  });

  it("keeps the seats of listeners Janus serves past several pass lifetimes, with no heartbeat", async () => {
    await pause(2.5 * PASS_TTL_SECONDS * 1000);
    for (const s of seated) expect(s.listener.ended).toBe(false);
    expect((await janus!.participants(JANUS_ROOM)).length).toBe(CAPACITY);
    expect(await activeSeats()).toBe(CAPACITY);
  }, 40_000);

  it("destroys the session of a listener who leaves within seconds; the seat goes to the next in line", async () => {
    const a = seated[0]!;
    const left = await send(`${sp().url}/_spillway/rooms/${ROOM}/leave`, {
      method: "POST",
      headers: bearer(a.status.pass!),
    });
    expect(left.status).toBe(200);
    await droppedWithin(a.listener, 5_000);
    const next = await admittedLater(waiting.shift()!, 20_000);
    seated[0] = { ticket: next.ticket ?? "", status: next, listener: await joinJanus(next.connect!, "next") };
  }, 30_000);

  it("destroys the old device's session when a newer device of the ticket takes the seat", async () => {
    const b = seated[1]!;
    const moving = await statusOf(b.ticket);
    expect(moving.state).not.toBe("admitted");
    await droppedWithin(b.listener, 5_000);
    const newer = await admittedLater(b.ticket, 20_000);
    expect(newer.connect!.token).not.toBe(b.status.connect!.token);
    seated[1] = { ticket: b.ticket, status: newer, listener: await joinJanus(newer.connect!, "newer") };
  }, 30_000);

  it("destroys the session of a listener ops release", async () => {
    const c = seated[2]!;
    const released = await adminCall<{ released: boolean }>(sp().url, ADMIN_TOKEN, "POST", `/rooms/${ROOM}/release`, {
      pass: c.status.pass,
    });
    expect(released.json.released).toBe(true);
    await droppedWithin(c.listener, 5_000);
  });

  it("frees the seat of a listener who leaves Janus by itself, and takes its token back", async () => {
    const d = seated[0]!;
    const before = await activeSeats();
    await d.listener.api.request({ janus: "destroy" }, [d.listener.session]);
    d.listener.stop();
    // Janus is listed once a round (under half a pass lifetime here); the seat then ends as a leave.
    await eventually(async () => (await activeSeats()) < before, 4 * PASS_TTL_SECONDS * 1000, "the seat is freed");
    // The seat ends first; its token is taken back on the check's next pass, moments later.
    const token = d.status.connect!.token;
    await eventually(
      async () => {
        const api = new JanusApi(janus!.url, token);
        let session: number;
        try {
          session = await api.create();
        } catch (err) {
          if (err instanceof JanusApiError && err.code === 403) return true;
          throw err;
        }
        // Not yet: this probe's own session is not left behind (once the token is gone, Janus ends it itself).
        await api.request({ janus: "destroy" }, [session]).catch(() => undefined);
        return false;
      },
      2_000,
      "the token is refused",
    );
  }, 40_000);

  it("never logged the admin secret or a seat's token", () => {
    const logs = workerLogs(sp());
    expect(logs).not.toContain(janus!.adminSecret);
    for (const s of seated) expect(logs).not.toContain(s.status.connect!.token);
  });

  it("never let Janus hold more sessions or participants than the capacity", () => {
    const c = counts!;
    expect(c.peak("sessions")).toBeLessThanOrEqual(CAPACITY);
    expect(c.peak("participants")).toBeLessThanOrEqual(CAPACITY);
    expect(c.peak("participants")).toBe(CAPACITY);
    expect(c.samples).toBeGreaterThan(100);
    expect(c.longestGapMs()).toBeLessThan(2_000);
  });

  it("keeps one Janus session a seat: a token's older sessions are destroyed at the next listing, its newest plays on", async () => {
    // After the file's cap check: this test makes Janus count more than the capacity, briefly.
    const s = seated[1]!;
    const killsBefore = (await originAdmin()).kills;
    const sessionsBefore = (await janus!.sessions()).length;
    // The same token on a second device (a page reloaded, a phone), then a third: each a new session.
    const second = await joinJanus(s.status.connect!, "second-device");
    await pause(50);
    const third = await joinJanus(s.status.connect!, "third-device");
    const opened = Date.now();
    expect(await janus!.sessions()).toEqual(
      expect.arrayContaining([s.listener.session, second.session, third.session]),
    );
    // Within a round or two (rounds are under half a pass lifetime here), only the newest is left.
    await eventually(
      async () => {
        const sessions = await janus!.sessions();
        return !sessions.includes(s.listener.session) && !sessions.includes(second.session);
      },
      2 * PASS_TTL_SECONDS * 1000,
      "Janus destroys the token's older sessions",
    );
    const tookMs = Date.now() - opened;
    expect(await janus!.sessions()).toContain(third.session);
    // As many sessions as before the second device: the seat holds one again.
    expect(await janus!.sessions()).toHaveLength(sessionsBefore);
    expect((await originAdmin()).kills).toBe(killsBefore + 2);
    // The seat is still its listener's: the newest session keeps it, with no heartbeat.
    await pause(PASS_TTL_SECONDS * 1000);
    expect(await janus!.sessions()).toContain(third.session);
    expect(third.ended).toBe(false);
    console.log(`a token's older Janus sessions destroyed ${tookMs} ms after its third opened`);
    seated[1] = { ...s, listener: third };
  }, 40_000);

  it("keeps one handle in a seat's session: a second one joining the room is detached at the next round, the newest plays on", async () => {
    // After the file's cap check: this test too makes Janus count more than the capacity, briefly.
    const s = seated[1]!;
    const killsBefore = (await originAdmin()).kills;
    const handlesOf = () => janus!.handles(s.listener.session);
    const [first] = await handlesOf();
    const participantsBefore = (await janus!.participants(JANUS_ROOM)).length;
    // The same session joins the room again through a second handle: one more participant on one seat.
    const second = await s.listener.api.attach(AUDIOBRIDGE);
    await s.listener.api.joinMuted(second, JANUS_ROOM, "second-handle");
    const attached = Date.now();
    expect(await janus!.participants(JANUS_ROOM)).toHaveLength(participantsBefore + 1);
    // Within a round or two (no events here), the older handle is detached and its participant leaves.
    await eventually(
      async () => (await handlesOf()).length === 1,
      2 * PASS_TTL_SECONDS * 1000,
      "Janus detaches the seat's older handle",
    );
    const tookMs = Date.now() - attached;
    expect(await handlesOf()).toEqual([second]);
    expect(first).not.toBe(second);
    await eventually(
      async () => (await janus!.participants(JANUS_ROOM)).length === participantsBefore,
      2_000,
      "AudioBridge lets the detached handle's participant go",
    );
    // The session and the seat are still the listener's, and the detach is counted with the kills.
    expect(await janus!.sessions()).toContain(s.listener.session);
    expect(s.listener.ended).toBe(false);
    expect((await originAdmin()).kills).toBe(killsBefore + 1);
    console.log(`a seat's older Janus handle detached ${tookMs} ms after its session attached a second`);
  }, 40_000);

  it("with a wrong admin secret, admits within the capacity without connect, no 5xx, and the stats say why", async () => {
    const misconfigured = await startWorker({
      adminToken: ADMIN_TOKEN,
      vars: {
        ROOMS: "*",
        JANUS_URL: janus!.url,
        JANUS_ADMIN_URL: janus!.adminUrl,
        JANUS_ADMIN_SECRET: "not-the-admin-secret",
      },
    });
    try {
      await adminCall(misconfigured.url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, {
        origin: "janus",
        originRoom: String(JANUS_ROOM),
        capacity: 2,
      });
      const joins = await Promise.all(Array.from({ length: 3 }, () => join(misconfigured.url, ROOM)));
      expect(joins.map((j) => j.status)).toEqual([200, 200, 200]);
      expect(joins.filter((j) => j.json.state === "admitted")).toHaveLength(2);
      for (const j of joins) expect((j.json as Status).connect).toBeUndefined();
      const stats = await adminCall<{ originAdmin?: { lastFailure: { kind: string; message: string } } }>(
        misconfigured.url,
        ADMIN_TOKEN,
        "GET",
        `/rooms/${ROOM}/stats`,
      );
      expect(stats.json.originAdmin?.lastFailure).toMatchObject({ kind: "unauthorized" });
      expect(stats.json.originAdmin!.lastFailure.message).not.toContain("not-the-admin-secret");
      // Logged, and without the secret (what wrangler prints before the Worker is ready lists its vars).
      await eventually(() => /janus admin failed/u.test(workerLogs(misconfigured)), 10_000, "the failure is logged");
      expect(workerLogs(misconfigured)).not.toContain("not-the-admin-secret");
    } finally {
      await misconfigured.stop();
    }
  }, 60_000);

  it("grants a seat's token the room's plugin and, with the room's allowed list on, that room only", async () => {
    // Last, with the sampling over: a second session of one seat's token would count in Janus's list.
    await counts!.stop();
    const api = new JanusApi(janus!.url, seated[1]!.status.connect!.token);
    await api.create();
    await expect(api.attach("janus.plugin.streaming")).rejects.toMatchObject({ code: 405 });
    const handle = await api.attach(AUDIOBRIDGE);
    // AudioBridge refuses a token not on the room's list: error 489 "Unauthorized (not in the allowed list)".
    await expect(api.joinMuted(handle, OTHER_JANUS_ROOM, "elsewhere")).rejects.toMatchObject({ code: 489 });
    await api.request({ janus: "destroy" }, [api.sessionId!]);
    // A token that is not a seat's any more is off the room's list too: given back to Janus, it still cannot join.
    const admin = new JanusAdmin({ url: janus!.adminUrl, adminSecret: janus!.adminSecret });
    const old = seated[0]!.status.connect!.token;
    await admin.addToken(old, [AUDIOBRIDGE]);
    const stale = new JanusApi(janus!.url, old);
    await stale.create();
    const staleHandle = await stale.attach(AUDIOBRIDGE);
    await expect(stale.joinMuted(staleHandle, JANUS_ROOM, "stale")).rejects.toMatchObject({ code: 489 });
    await stale.request({ janus: "destroy" }, [stale.sessionId!]);
    await admin.removeToken(old);
  });
});

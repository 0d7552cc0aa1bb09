/**
 * Direct mode end to end with LiveKit's side played by a stand-in (no
 * LiveKit server can be installed here; see test/unit/livekit-stand-in.ts):
 * a running Spillway (`origin: livekit`) mints listener tokens, the stand-in
 * admits a participant only with a token the official livekit-server-sdk
 * verifies for its room, posts joins and leaves to Spillway's webhook route
 * signed as LiveKit signs them, and answers RemoveParticipant and
 * ListParticipants after checking Spillway's admin token with the same SDK.
 * The cap is judged by the stand-in room's own participant count.
 */
import { randomBytes } from "node:crypto";
import { AccessToken, TokenVerifier } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveKitStandIn, startLiveKitStandIn } from "../unit/livekit-stand-in.ts";
import { adminCall, bearer, join, send, type StatusJson } from "./support/http.ts";
import { eventually, pause } from "./support/held.ts";
import { admittedLater as admittedWithin, statusOf as directStatus, inLineOrder } from "./support/direct.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

const ROOM = "lkroom";
const LIVEKIT_ROOM = "studio-a";
const CAPACITY = 3;
const PASS_TTL_SECONDS = 6;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const API_KEY = "APIspillwaytest";
const API_SECRET = randomBytes(24).toString("base64url");

interface LiveKitConnect {
  kind: "livekit";
  url: string;
  token: string;
  room: string;
  identity: string;
  expiresAt: string;
}
type Status = StatusJson & { connect?: LiveKitConnect };
interface Stats {
  active: number;
  originAdmin?: { failures: number; kills: number; lastFailure: { kind: string; message: string } | null };
}

let livekit: LiveKitStandIn | undefined;
let worker: RunningWorker | undefined;
const sp = () => worker!;
const lk = () => livekit!;
const verifier = new TokenVerifier(API_KEY, API_SECRET);
const inRoom = (identity: string) => lk().rooms.get(LIVEKIT_ROOM)?.has(identity) === true;
const stats = async () => (await adminCall<Stats>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`)).json;

const statusOf = (ticket: string) => directStatus<LiveKitConnect>(sp().url, ROOM, ticket);
const admittedLater = (ticket: string, ms: number) => admittedWithin<LiveKitConnect>(sp().url, ROOM, ticket, ms);

/** Join the LiveKit room with a status's token; the identity. */
async function joinLiveKit(status: Status): Promise<string> {
  const joined = await lk().join(status.connect!.token);
  expect(joined).toMatchObject({ ok: true, identity: status.connect!.identity });
  return status.connect!.identity;
}

beforeAll(async () => {
  livekit = await startLiveKitStandIn(API_KEY, API_SECRET);
  worker = await startWorker({
    adminToken: ADMIN_TOKEN,
    vars: {
      ROOMS: "*",
      PASS_TTL_SECONDS: String(PASS_TTL_SECONDS),
      LIVEKIT_URL: livekit.url.replace(/^http/, "ws"),
      LIVEKIT_API_KEY: API_KEY,
      LIVEKIT_API_SECRET: API_SECRET,
    },
  });
  livekit.webhookUrl = `${worker.url}/_spillway/origins/livekit/webhook`;
  const patched = await adminCall(sp().url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, {
    origin: "livekit",
    originRoom: LIVEKIT_ROOM,
    capacity: CAPACITY,
  });
  expect(patched.status).toBe(200);
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await livekit?.close();
});

const seated: { ticket: string; status: Status; identity: string }[] = [];
const waiting: string[] = [];

describe("LiveKit enforcing Spillway's seats (origin: livekit)", () => {
  it("mints a subscribe-only token per seat, for the room, that the SDK verifies; nobody else gets one", async () => {
    /** A seat's token is LiveKit's for the room, subscribe-only: the participant joins with it. */
    const seat = async (s: Status) => {
      expect(s.connect).toMatchObject({ kind: "livekit", url: lk().url.replace(/^http/, "ws"), room: LIVEKIT_ROOM });
      const claims = await verifier.verify(s.connect!.token);
      expect(claims.sub).toBe(s.connect!.identity);
      expect(claims.video).toEqual({
        room: LIVEKIT_ROOM,
        roomJoin: true,
        canSubscribe: true,
        canPublish: false,
        canPublishData: false,
        canUpdateOwnMetadata: false,
      });
      // Half a pass lifetime to join with it; the heartbeat brings another.
      expect(claims.exp! - claims.nbf!).toBeLessThanOrEqual(PASS_TTL_SECONDS / 2);
      expect(new Date(s.connect!.expiresAt).getTime()).toBe(claims.exp! * 1000);
      seated.push({ ticket: s.ticket!, status: s, identity: await joinLiveKit(s) });
    };
    const joins = await Promise.all(Array.from({ length: 6 }, () => join(sp().url, ROOM)));
    for (const j of joins) {
      const s = j.json as Status;
      if (s.state === "admitted") await seat(s);
      else {
        expect(s.connect).toBeUndefined();
        waiting.push(s.ticket!);
      }
    }
    // The next to be called first (the burst's answers come back in any order). On a loaded machine
    // a fresh shard's first joins may wait in line (the sync a join asks for failed) and be called at
    // a poll soon after: the first in line then take the free seats.
    waiting.splice(0, waiting.length, ...(await inLineOrder(sp().url, ROOM, waiting)));
    while (seated.length < CAPACITY && waiting.length > 0) await seat(await admittedLater(waiting.shift()!, 10_000));
    expect(seated).toHaveLength(CAPACITY);
    expect(waiting).toHaveLength(6 - CAPACITY);
    expect(
      lk()
        .webhooks.filter((w) => w.event === "participant_joined")
        .map((w) => w.status),
    ).toEqual([200, 200, 200]);
    // A token signed with another secret does not get in.
    const forged = new AccessToken(API_KEY, "not-the-secret", { identity: "intruder" });
    forged.addGrant({ room: LIVEKIT_ROOM, roomJoin: true });
    expect(await lk().join(await forged.toJwt())).toMatchObject({ ok: false });
  });

  it("keeps the seats of connected participants past several pass lifetimes, with no heartbeat", async () => {
    await pause(2.5 * PASS_TTL_SECONDS * 1000);
    for (const s of seated) expect(inRoom(s.identity)).toBe(true);
    expect((await stats()).active).toBe(CAPACITY);
    expect(lk().calls.some((c) => c.path.endsWith("/ListParticipants") && c.status === 200)).toBe(true);
  }, 40_000);

  it("removes a participant who leaves Spillway within seconds; the seat goes on once its token has expired", async () => {
    const a = seated[0]!;
    const left = await send(`${sp().url}/_spillway/rooms/${ROOM}/leave`, {
      method: "POST",
      headers: bearer(a.status.pass!),
    });
    expect(left.status).toBe(200);
    await eventually(() => !inRoom(a.identity), 5_000, "RemoveParticipant");
    const next = await admittedLater(waiting.shift()!, 30_000);
    expect(next.connect!.identity).not.toBe(a.identity);
    seated[0] = { ticket: next.ticket ?? "", status: next, identity: await joinLiveKit(next) };
  }, 40_000);

  it("removes the old device's participant when a newer device of the ticket takes the seat", async () => {
    const b = seated[1]!;
    expect((await statusOf(b.ticket)).state).not.toBe("admitted");
    await eventually(() => !inRoom(b.identity), 5_000, "RemoveParticipant of the old device");
    const newer = await admittedLater(b.ticket, 30_000);
    seated[1] = { ticket: b.ticket, status: newer, identity: await joinLiveKit(newer) };
  }, 40_000);

  it("ends the seat of a participant who leaves LiveKit, and removes it if its token joins again", async () => {
    const c = seated[2]!;
    const before = (await stats()).active;
    await lk().leave(LIVEKIT_ROOM, c.identity);
    expect(lk().webhooks.at(-1)).toMatchObject({ event: "participant_left", identity: c.identity, status: 200 });
    // The seat ends at once, and goes to the next in line once no token of it can join.
    const next = await admittedLater(waiting.shift()!, 30_000);
    expect((await stats()).active).toBe(before);
    const identity = await joinLiveKit(next);
    // This one leaves too, and comes back at once with its still valid token: removed again.
    await lk().leave(LIVEKIT_ROOM, identity);
    const rejoined = await lk().join(next.connect!.token);
    expect(rejoined).toMatchObject({ ok: true });
    await eventually(() => !inRoom(identity), 5_000, "the rejoined participant is removed");
    expect((await stats()).originAdmin?.kills).toBeGreaterThanOrEqual(3);
  }, 40_000);

  it("refuses a webhook with a bad signature, changing nothing, and says so in the stats", async () => {
    const body = JSON.stringify({
      event: "participant_left",
      room: { name: LIVEKIT_ROOM },
      participant: { identity: seated[0]!.identity },
    });
    const forged = new AccessToken(API_KEY, "not-the-secret", { ttl: "5m" });
    const res = await send(`${sp().url}/_spillway/origins/livekit/webhook`, {
      method: "POST",
      headers: { authorization: await forged.toJwt(), "content-type": "application/webhook+json" },
      body,
    });
    expect(res.status).toBe(401);
    expect(inRoom(seated[0]!.identity)).toBe(true);
    const s = await stats();
    expect(s.originAdmin?.lastFailure).toMatchObject({ kind: "webhook_refused" });
    expect(s.originAdmin!.lastFailure!.message).not.toContain(API_SECRET);
  });

  it("never let the LiveKit room hold more participants than the capacity", () => {
    expect(lk().peak(LIVEKIT_ROOM)).toBe(CAPACITY);
  });
});

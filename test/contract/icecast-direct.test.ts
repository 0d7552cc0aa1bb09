/**
 * Direct mode end to end: a real Icecast 2.4 whose room mount uses URL
 * authentication pointing at a running Spillway (`origin: icecast-hook`).
 * Listeners play `connect.url` straight from Icecast, with no heartbeat;
 * Spillway's hook admits them seat by seat, and its shard drops (killclient)
 * every connection whose seat ends. Every claim about the cap is judged by
 * Icecast's own listener count, sampled every 100 ms for the whole file.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen, requireDebian, type RunningIcecast, startIcecast, startSource } from "./support/icecast.ts";
import type { RunningSource, StreamListener } from "./support/icecast.ts";
import { urlAuthXml } from "./support/icecast-auth.ts";
import { type ListenerSampler, sampleListeners } from "./support/listener-count.ts";
import { EVERY_MS, passWhenCalled, seatedIn, untilStopped, waitingIn } from "./support/crowd.ts";
import { adminCall, bearer, join, leaveWith, send, type StatusJson } from "./support/http.ts";
import { eventually, pause } from "./support/held.ts";
import { inLineOrder, startIcecastHookWorker } from "./support/direct.ts";
import { freePort, type RunningWorker } from "./support/worker.ts";

const ROOM = "direct";
/** A second room whose mount calls the hook with a wrong key. */
const WRONG_KEY_ROOM = "wrongkey";
/** A third room, for a crowd: everyone leaves at once, old devices reconnecting. */
const CROWD_ROOM = "directcrowd";
const mountOf = (room: string) => `/rooms/${room}/stream.mp3`;
const MOUNT = mountOf(ROOM);
const CROWD_MOUNT = mountOf(CROWD_ROOM);
const CAPACITY = 3;
/** Short passes, so that holding past several lifetimes fits in the file's time. */
const PASS_TTL_SECONDS = 6;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const HOOK_KEY = randomBytes(16).toString("hex");

type Status = StatusJson & { connect?: { kind: string; url: string; expiresAt: string } };

let icecast: RunningIcecast | undefined;
let worker: RunningWorker | undefined;
let sampler: ListenerSampler | undefined;
const shows: RunningSource[] = [];
const open: StreamListener[] = [];
let since = 0;

const sp = () => worker!;

async function tuneIn(url: string): Promise<StreamListener> {
  const listener = await listen(url);
  open.push(listener);
  return listener;
}

/** A status poll with the ticket alone: what a newer device of the listener sends. */
async function statusOf(ticket: string): Promise<Status> {
  const headers: Record<string, string> = { ...bearer(ticket), accept: "application/json" };
  return (await send<Status>(`${sp().url}/_spillway/rooms/${ROOM}/status`, { headers })).json;
}

/** Poll a ticket's status (as a new device) until it is admitted. */
async function admittedLater(ticket: string, ms: number): Promise<Status> {
  const end = Date.now() + ms;
  for (;;) {
    const s = await statusOf(ticket);
    if (s.state === "admitted") return s;
    if (Date.now() > end) throw new Error(`not admitted within ${ms} ms: ${JSON.stringify(s)}`);
    await pause(500);
  }
}

/** Play a status's connect URL: 200 and audio bytes. */
async function plays(status: Status): Promise<StreamListener> {
  expect(status.connect?.kind).toBe("icecast");
  return playsUrl(status.connect!.url);
}

async function playsUrl(url: string): Promise<StreamListener> {
  const listener = await tuneIn(url);
  expect(listener.status).toBe(200);
  expect(listener.headers["content-type"]).toBe("audio/mpeg");
  expect((await listener.bytes(8_000)).length).toBe(8_000);
  return listener;
}

async function refusedBy(url: string): Promise<void> {
  const listener = await tuneIn(url);
  expect(listener.status).toBe(401);
  await listener.ended;
}

const connectUrl = (room: string, pass: string) => `${icecast!.url}${mountOf(room)}?pass=${encodeURIComponent(pass)}`;

beforeAll(async () => {
  await requireDebian(["icecast2", "ffmpeg"]);
  const port = await freePort();
  const hook = `http://127.0.0.1:${port}/_spillway/origins/icecast/listener`;
  icecast = await startIcecast({
    mountXml: {
      [MOUNT]: urlAuthXml({ listenerAdd: `${hook}?key=${HOOK_KEY}`, listenerRemove: `${hook}?key=${HOOK_KEY}` }),
      [mountOf(WRONG_KEY_ROOM)]: urlAuthXml({ listenerAdd: `${hook}?key=wrong`, listenerRemove: `${hook}?key=wrong` }),
      [CROWD_MOUNT]: urlAuthXml({ listenerAdd: `${hook}?key=${HOOK_KEY}`, listenerRemove: `${hook}?key=${HOOK_KEY}` }),
    },
  });
  shows.push(
    await startSource(icecast, MOUNT),
    await startSource(icecast, mountOf(WRONG_KEY_ROOM)),
    await startSource(icecast, CROWD_MOUNT),
  );
  worker = await startIcecastHookWorker(icecast, {
    adminToken: ADMIN_TOKEN,
    port,
    hookKey: HOOK_KEY,
    rooms: [ROOM, WRONG_KEY_ROOM, CROWD_ROOM],
    capacity: CAPACITY,
    vars: { PASS_TTL_SECONDS: String(PASS_TTL_SECONDS) },
  });
  sampler = sampleListeners(icecast, 100);
  since = Date.now();
}, 90_000);

afterAll(async () => {
  for (const listener of open) listener.close();
  await sampler?.stop();
  for (const show of shows) await show.stop().catch(() => undefined);
  await worker?.stop();
  await icecast?.stop();
});

/** Listeners seated in the burst, in order: their tickets, statuses and connections. */
const seated: { ticket: string; status: Status; stream: StreamListener }[] = [];
const waiting: string[] = [];

describe("Icecast enforcing Spillway's seats (origin: icecast-hook)", () => {
  it("admits a burst of joins up to the capacity; they play connect.url and a seat takes one connection", async () => {
    const joins = await Promise.all(Array.from({ length: 6 }, () => join(sp().url, ROOM)));
    for (const j of joins) {
      const s = j.json as Status;
      if (s.state === "admitted") {
        expect(s.connect!.url).toBe(connectUrl(ROOM, s.pass!));
        seated.push({ ticket: s.ticket!, status: s, stream: await plays(s) });
      } else waiting.push(j.json.ticket!);
    }
    expect(seated).toHaveLength(CAPACITY);
    // The next to be called first (the burst's answers come back in any order).
    waiting.splice(0, waiting.length, ...(await inLineOrder(sp().url, ROOM, waiting)));
    expect(waiting).toHaveLength(3);
    await icecast!.waitForListeners(MOUNT, CAPACITY, 5_000);
    // One seat, one connection: the same pass again is refused by Icecast.
    await refusedBy(seated[0]!.status.connect!.url);
    expect(sampler!.peak(MOUNT, since)).toBe(CAPACITY);
  });

  it("holds the connections past several pass lifetimes without a heartbeat", async () => {
    const before = seated.map((s) => s.stream.received());
    await pause(2.5 * PASS_TTL_SECONDS * 1000);
    seated.forEach((s, i) => expect(s.stream.received(), `listener ${i}`).toBeGreaterThan(before[i]! + 10_000));
    expect(await icecast!.listeners(MOUNT)).toBe(CAPACITY);
    const stats = await adminCall<{ active: number }>(sp().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`);
    expect(stats.json.active).toBe(CAPACITY);
    // Their passes have expired: a new connection with one is refused.
    await refusedBy(connectUrl(ROOM, seated[1]!.status.pass!));
  }, 40_000);

  it("drops a listener who leaves within a few seconds, and its seat goes to the next in line", async () => {
    const a = seated[0]!;
    const left = await send(`${sp().url}/_spillway/rooms/${ROOM}/leave`, {
      method: "POST",
      headers: bearer(a.status.pass!),
    });
    expect(left.status).toBe(200);
    const t0 = Date.now();
    await a.stream.ended;
    expect(Date.now() - t0).toBeLessThan(5_000);
    const next = await admittedLater(waiting.shift()!, 20_000);
    seated[0] = { ticket: "", status: next, stream: await plays(next) };
    expect(sampler!.peak(MOUNT, since)).toBeLessThanOrEqual(CAPACITY);
  }, 30_000);

  it("drops the old connection when a newer device of the same ticket claims the seat", async () => {
    const b = seated[1]!;
    const moving = await statusOf(b.ticket);
    expect(moving.state).not.toBe("admitted");
    await eventually(() => b.stream.isEnded(), 5_000, "the old device's stream ends");
    const newer = await admittedLater(b.ticket, 20_000);
    expect(newer.pass).not.toBe(b.status.pass);
    seated[1] = { ticket: b.ticket, status: newer, stream: await plays(newer) };
    expect(sampler!.peak(MOUNT, since)).toBeLessThanOrEqual(CAPACITY);
  }, 30_000);

  it("drops a listener ops release", async () => {
    const c = seated[2]!;
    const released = await adminCall<{ released: boolean }>(sp().url, ADMIN_TOKEN, "POST", `/rooms/${ROOM}/release`, {
      pass: c.status.pass,
    });
    expect(released.json.released).toBe(true);
    const t0 = Date.now();
    await c.stream.ended;
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it(
    "refuses a forged pass, a given-back pass, and anyone when the hook key is wrong",
    { timeout: 30_000 },
    async () => {
      const pass = seated[1]!.status.pass!;
      await refusedBy(connectUrl(ROOM, `${pass.slice(0, -6)}AAAAAA`));
      await refusedBy(connectUrl(ROOM, seated[2]!.status.pass!));
      // A pass given back while still young: refused because its seat has ended.
      const fresh = await admittedLater(waiting.shift()!, 20_000);
      const gaveBack = await send(`${sp().url}/_spillway/rooms/${ROOM}/leave`, {
        method: "POST",
        headers: bearer(fresh.pass!),
      });
      expect(gaveBack.status).toBe(200);
      await refusedBy(fresh.connect!.url);
      expect(await icecast!.errorLog()).toContain('failed with "seat left"');
      const other = (await join(sp().url, WRONG_KEY_ROOM)).json as Status;
      expect(other.state).toBe("admitted");
      await refusedBy(other.connect!.url);
      expect(await icecast!.listeners(mountOf(WRONG_KEY_ROOM))).toBe(0);
      expect(sampler!.peak(mountOf(WRONG_KEY_ROOM), since)).toBe(0);
    },
  );

  it("a full room whose listeners all leave at once while their old devices reconnect: Icecast admits only the line", async () => {
    const first = await seatedIn(sp().url, CROWD_ROOM, CAPACITY);
    const playing = await Promise.all(first.map((l) => playsUrl(connectUrl(CROWD_ROOM, l.pass))));
    // One seat, one connection, however many a client opens at once with its pass.
    const extra = await Promise.all(first.flatMap((l) => [1, 2, 3].map(() => tuneIn(connectUrl(CROWD_ROOM, l.pass)))));
    for (const e of extra) expect(e.status).toBe(401);
    const line = await waitingIn(sp().url, CROWD_ROOM, CAPACITY);
    const players = line.map(async (ticket, i) =>
      playsUrl(connectUrl(CROWD_ROOM, await passWhenCalled(sp().url, CROWD_ROOM, ticket, `listener ${i + 1} in line`))),
    );

    const stops: (() => Promise<void>)[] = [];
    const tries: { askedAt: number; status: number }[] = [];
    const leaving = Promise.all(first.map((l) => leaveWith(sp().url, CROWD_ROOM, l.pass)));
    for (const l of first) {
      untilStopped(stops, async () => {
        const askedAt = Date.now();
        const attempt = await tuneIn(connectUrl(CROWD_ROOM, l.pass));
        tries.push({ askedAt, status: attempt.status });
        await pause(EVERY_MS);
      });
    }
    for (const left of await leaving) expect(left.json.released).toBe(true);
    const answeredAt = Date.now();
    await eventually(() => playing.every((p) => p.isEnded()), 5_000, "every seat given back is dropped by Icecast");
    const next = await Promise.all(players);
    const refilledMs = Date.now() - answeredAt;
    await pause(1_000);
    for (const stop of stops) await stop();

    // Whatever an old device opened before the leaves were answered was dropped; nothing after got in.
    const after = tries.filter((t) => t.askedAt > answeredAt);
    expect(after.length, "the old devices kept trying").toBeGreaterThan(CAPACITY);
    for (const t of after) expect(t.status).toBe(401);
    for (const n of next) expect(n.isEnded()).toBe(false);
    expect(await icecast!.listeners(CROWD_MOUNT)).toBe(CAPACITY);
    expect(sampler!.peak(CROWD_MOUNT, since)).toBeLessThanOrEqual(CAPACITY);
    console.log(
      `Icecast direct, everyone leaves: ${after.length} reconnections after the leaves, all 401; the line playing ` +
        `${refilledMs} ms after; Icecast's most ${sampler!.peak(CROWD_MOUNT, since)} of ${CAPACITY}`,
    );
  }, 60_000);

  it("never let Icecast count more listeners than the capacity", () => {
    expect(sampler!.peak(MOUNT, since)).toBeLessThanOrEqual(CAPACITY);
    expect(sampler!.peak(CROWD_MOUNT, since)).toBeLessThanOrEqual(CAPACITY);
    expect(sampler!.samples(since)).toBeGreaterThan(100);
    expect(sampler!.longestGapMs(since)).toBeLessThan(2_000);
  });
});

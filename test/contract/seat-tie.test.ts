/**
 * Held connections keep to their seats, as the origin counts them: a live
 * stream and a WebSocket proxied through Spillway are cut when their seat
 * ends (leave from another device, the ticket taken by a newer device, a
 * release by the origin or by ops), and never while it is still theirs —
 * across several lease lifetimes with no heartbeat at all. The origin's own
 * count of open connections never exceeds the room's capacity.
 */
import { request } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  adminCall,
  bearer,
  claimsOf,
  type ErrorJson,
  heartbeatWith,
  join,
  send,
  type StatusJson,
} from "./support/http.ts";
import { eventually, holdSocket, holdStream, pause } from "./support/held.ts";
import { type LiveOrigin, PACKED_TEXT, startLiveOrigin } from "./support/live-origin.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

/** Short leases, so that several lifetimes pass within a test. */
const PASS_TTL_SECONDS = 4;
const LIFETIME_MS = PASS_TTL_SECONDS * 1000;
/** How soon a cut must reach the origin. */
const CUT_WITHIN_MS = 3_000;
/** A seat moved to a newer device is that device's once the older pass is refused everywhere (about 5 s). */
const MOVE_WITHIN_MS = 12_000;

let origin: LiveOrigin;
let worker: RunningWorker;
let rooms = 0;

function base(): string {
  return worker.url;
}

/** A fresh room of the given capacity. */
async function room(capacity = 1): Promise<string> {
  const name = `tie-${++rooms}-${crypto.randomUUID().slice(0, 8)}`;
  const res = await adminCall(base(), worker.adminToken, "PATCH", `/rooms/${name}`, { capacity, admitPerMinute: 600 });
  expect(res.status).toBe(200);
  return name;
}

/**
 * The next listener of a room with a free seat, admitted. Its join almost
 * always answers `admitted`; now and then (about one run in five here) the
 * first join of a new room is answered first in line and the seat comes with
 * the next poll, as for any listener, so this polls briefly like a client.
 */
async function admitted(name: string): Promise<{ pass: string; ticket: string }> {
  const res = await join(base(), name);
  expect(res.status).toBe(200);
  let status: StatusJson = res.json;
  if (status.state === "queued") {
    expect(status.position).toBe(1);
    await eventually(
      async () => (status = (await statusOf(name, res.json.ticket!)).json).state === "admitted",
      3_000,
      "the first in line of a room with a free seat is admitted",
    );
  }
  expect(status.state).toBe("admitted");
  return { pass: status.pass!, ticket: res.json.ticket! };
}

function streamUrl(name: string): string {
  return `${base()}/rooms/${name}/stream`;
}

function socketUrl(name: string): string {
  return `${base().replace("http", "ws")}/rooms/${name}/socket`;
}

/** A raw WebSocket handshake (fetch cannot send one): the refusal's status and body. */
function handshake(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
        accept: "application/json",
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("upgrade", () => reject(new Error("the handshake was accepted")));
    req.on("error", reject);
    req.end();
  });
}

/** A heartbeat with `pass`: the renewed pass of the same seat (the tests' passes live 4 s). */
async function renewed(name: string, pass: string): Promise<string> {
  const res = await heartbeatWith(base(), name, pass);
  expect(res.status).toBe(200);
  expect(claimsOf(res.json.pass!).sid).toBe(claimsOf(pass).sid);
  return res.json.pass!;
}

async function statusOf(name: string, ticket: string) {
  return send<StatusJson>(`${base()}/_spillway/rooms/${name}/status`, {
    headers: { ...bearer(ticket), accept: "application/json" },
  });
}

beforeAll(async () => {
  origin = await startLiveOrigin();
  worker = await startWorker({
    adminToken: `tie-${crypto.randomUUID()}`,
    originUrl: origin.url,
    vars: { PASS_TTL_SECONDS: String(PASS_TTL_SECONDS) },
  });
});

afterAll(async () => {
  await worker?.stop();
  await origin?.close();
});

beforeEach(async () => {
  // Every test starts with the origin empty, and judges its own peak.
  await eventually(() => origin.listeners() === 0, 10_000, "the origin has no listener left from an earlier test");
  origin.resetPeak();
});

describe("a live stream through Spillway", () => {
  it("keeps flowing across several lease lifetimes without a heartbeat; nobody else gets its seat", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const stream = await holdStream(streamUrl(name), bearer(a.pass));
    expect(stream.status).toBe(200);

    const waiting = await join(base(), name);
    expect(waiting.json.state).toBe("queued");

    let last = stream.bytes();
    for (let t = 0; t < 2.5 * LIFETIME_MS; t += 1_000) {
      await pause(1_000);
      expect(stream.isEnded()).toBe(false);
      expect(stream.bytes()).toBeGreaterThan(last);
      last = stream.bytes();
      expect(origin.listeners()).toBe(1);
    }
    // The waiting listener is still waiting: the connected one holds the seat.
    const still = await statusOf(name, waiting.json.ticket!);
    expect(still.json.state).toBe("queued");

    // Once the stream closes, the seat lapses and goes to the next listener.
    stream.close();
    let next: StatusJson | undefined;
    await eventually(
      async () => {
        next = (await statusOf(name, waiting.json.ticket!)).json;
        return next.state === "admitted";
      },
      3 * LIFETIME_MS,
      "the waiting listener is admitted after the stream closed",
    );
    const second = await holdStream(streamUrl(name), bearer(next!.pass!));
    await eventually(() => second.bytes() > 2_000, 5_000, "the second listener's stream flows");
    expect(origin.peak).toBe(1);
    second.close();
  });

  it("is cut when the seat is given back from another device, and the seat is then reused", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const stream = await holdStream(streamUrl(name), bearer(a.pass));
    await eventually(() => stream.bytes() > 0, 5_000, "the stream flows");
    const next = await join(base(), name);
    expect(next.json.state).toBe("queued");

    const left = await send<{ released: boolean }>(`${base()}/_spillway/rooms/${name}/leave`, {
      method: "POST",
      headers: bearer(a.pass),
    });
    expect(left.json.released).toBe(true);
    await eventually(() => stream.isEnded(), CUT_WITHIN_MS, "the stream ends after the leave");
    await eventually(() => origin.listeners() === 0, CUT_WITHIN_MS, "the origin counts nobody");

    let pass: string | undefined;
    await eventually(
      async () => {
        pass = (await statusOf(name, next.json.ticket!)).json.pass;
        return pass !== undefined;
      },
      3 * LIFETIME_MS,
      "the next listener gets the seat",
    );
    const second = await holdStream(streamUrl(name), bearer(pass!));
    await eventually(() => second.bytes() > 0, 5_000, "the next listener's stream flows");
    expect(origin.peak).toBe(1);
    second.close();
  });

  it("moves to the newer device when the ticket is claimed there; the older stream is cut first", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const first = await holdStream(streamUrl(name), bearer(a.pass));
    await eventually(() => first.bytes() > 0, 5_000, "the first device's stream flows");

    // The newer device waits (position 1) while the older device's pass is refused everywhere.
    const moving = await statusOf(name, a.ticket);
    expect(moving.json).toMatchObject({ state: "queued", position: 1 });
    expect(moving.json.pass).toBeUndefined();
    await eventually(() => first.isEnded(), CUT_WITHIN_MS, "the older device's stream ends");
    let pass: string | undefined;
    await eventually(
      async () => (pass = (await statusOf(name, a.ticket)).json.pass) !== undefined,
      MOVE_WITHIN_MS,
      "the newer device gets the seat",
    );
    expect(claimsOf(pass!).sid).not.toBe(claimsOf(a.pass).sid);

    const second = await holdStream(streamUrl(name), bearer(pass!));
    await eventually(() => second.bytes() > 5_000, 5_000, "the newer device's stream flows");
    expect(second.isEnded()).toBe(false);
    expect(origin.peak).toBe(1);
    second.close();
  });

  it("one seat, one live stream: the same pass streaming again cuts the older stream before the origin hears of the newer", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const first = await holdStream(streamUrl(name), bearer(a.pass));
    await eventually(() => first.bytes() > 0, 5_000, "the first stream flows");

    // A player reconnecting (or a client after more streams) on a path Spillway has seen stream.
    const second = await holdStream(streamUrl(name), bearer(await renewed(name, a.pass)));
    expect(second.status).toBe(200);
    expect(first.isEnded(), "the older stream is cut before the newer one is answered").toBe(true);
    await eventually(() => second.bytes() > 0, 5_000, "the newer stream flows");
    expect(origin.peak, "the origin never counted both").toBe(1);

    // Four more at once, a quarter second apart: the newest plays, the others are cut or refused
    // (409 connection_replaced) before the origin hears of them; the seat is still the listener's.
    // The newest is the one that reached the seat last (a client's timers can fire together, and
    // requests sent together may arrive in any order): exactly one of the four plays on.
    const pass = await renewed(name, a.pass);
    const loop = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        await pause(i * 250);
        return holdStream(streamUrl(name), bearer(pass));
      }),
    );
    try {
      await eventually(() => second.isEnded(), CUT_WITHIN_MS, "the second stream is cut");
      for (const s of loop) expect([200, 409]).toContain(s.status);
      const answered = loop.filter((s) => s.status === 200);
      await eventually(
        () => answered.filter((s) => !s.isEnded()).length <= 1,
        CUT_WITHIN_MS,
        "every older stream is cut",
      );
      const playing = answered.filter((s) => !s.isEnded());
      expect(playing, "one of the four plays on").toHaveLength(1);
      const newest = playing[0]!;
      const before = newest.bytes();
      await pause(LIFETIME_MS);
      expect(newest.isEnded()).toBe(false);
      expect(newest.bytes()).toBeGreaterThan(before);
      expect(origin.listeners()).toBe(1);
      expect(origin.peak, "the origin never counted two of the seat's streams").toBe(1);
      const waiting = await join(base(), name);
      expect(waiting.json.state, "the seat is still taken").toBe("queued");
    } finally {
      for (const s of [first, second, ...loop]) s.close();
    }
  });

  it("is cut when the origin answers Spillway-Command: release for its pass", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const stream = await holdStream(streamUrl(name), bearer(a.pass));
    await eventually(() => stream.bytes() > 0, 5_000, "the stream flows");

    const bye = await send(`${base()}/rooms/${name}/bye`, { headers: bearer(a.pass) });
    expect(bye.status).toBe(200);
    expect(bye.headers.get("spillway-command")).toBeNull();
    await eventually(() => stream.isEnded(), CUT_WITHIN_MS, "the stream ends after the origin's release");
    await eventually(() => origin.listeners() === 0, CUT_WITHIN_MS, "the origin counts nobody");
  });

  it("an ordinary compressed answer of known length comes through whole", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const res = await fetch(`${base()}/rooms/${name}/packed`, { headers: bearer(a.pass) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(PACKED_TEXT);
  });

  it("a short answer still arriving when its seat is given back is cut at the origin and answered seat_ended", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const started = Date.now();
    const answer = fetch(`${base()}/rooms/${name}/slow`, { headers: bearer(a.pass) });
    await eventually(() => origin.listeners() === 1, 5_000, "the origin is sending the answer");
    // Past the first HOLD_AFTER_MS (2 s) the answer holds its seat like a live stream.
    await pause(2_500);
    const left = await send<{ released: boolean }>(`${base()}/_spillway/rooms/${name}/leave`, {
      method: "POST",
      headers: bearer(a.pass),
    });
    expect(left.json.released).toBe(true);
    const res = await answer;
    expect(Date.now() - started).toBeLessThan(2_500 + CUT_WITHIN_MS + 2_000);
    expect(res.status).toBe(409);
    expect(((await res.json()) as ErrorJson).error.code).toBe("seat_ended");
    await eventually(() => origin.listeners() === 0, CUT_WITHIN_MS, "the origin's request is cancelled");
    expect(origin.peak).toBe(1);
  });

  it("a short document goes on as the origin sent it: a playlist's first half before the origin has sent the rest", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const res = await fetch(`${base()}/rooms/${name}/slow.m3u8`, { headers: bearer(a.pass) });
    // Read whole first, as an audio segment is, it would not have been answered yet.
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(res.headers.get("content-length")).toBe("2000");
    const reader = res.body!.getReader();
    let bytes = 0;
    while (bytes < 1000) {
      const chunk = await reader.read();
      expect(chunk.done).toBe(false);
      bytes += (chunk.value as Uint8Array).byteLength;
    }
    expect(bytes).toBe(1000);
    expect(origin.finishPlaylists()).toBe(1);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      bytes += (chunk.value as Uint8Array).byteLength;
    }
    expect(bytes).toBe(2000);
  });

  it("a short document renewed on the way comes back whole, with the renewed pass's cookie", async () => {
    const name = await room(1);
    const a = await admitted(name);
    // Past half its life, a pass is renewed on the way; the origin's own answer then takes a cookie.
    await pause(LIFETIME_MS / 2 + 500);
    const res = await send<{ path: string }>(`${base()}/rooms/${name}/notes`, {
      headers: { cookie: `spillway-pass-${name}=${a.pass}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.json).toEqual({ path: `/rooms/${name}/notes` });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`spillway-pass-${name}=`));
    expect(cookie).toBeDefined();
    const renewedPass = cookie!.slice(`spillway-pass-${name}=`.length).split(";")[0]!;
    expect(renewedPass).not.toBe(a.pass);
    expect(claimsOf(renewedPass).sid).toBe(claimsOf(a.pass).sid);
  });

  it("is cut when ops release the seat", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const stream = await holdStream(streamUrl(name), bearer(a.pass));
    await eventually(() => stream.bytes() > 0, 5_000, "the stream flows");

    const res = await adminCall<{ released: boolean }>(base(), worker.adminToken, "POST", `/rooms/${name}/release`, {
      pass: a.pass,
    });
    expect(res.json.released).toBe(true);
    await eventually(() => stream.isEnded(), CUT_WITHIN_MS, "the stream ends after the release");
    await eventually(() => origin.listeners() === 0, CUT_WITHIN_MS, "the origin counts nobody");
  });

  it("lowering capacity cuts nobody and lets nobody new in", async () => {
    const name = await room(2);
    const a = await admitted(name);
    const b = await admitted(name);
    const streams = [
      await holdStream(streamUrl(name), bearer(a.pass)),
      await holdStream(streamUrl(name), bearer(b.pass)),
    ];
    await eventually(() => origin.listeners() === 2, 5_000, "both streams reach the origin");
    const patched = await adminCall(base(), worker.adminToken, "PATCH", `/rooms/${name}`, { capacity: 1 });
    expect(patched.status).toBe(200);

    const c = await join(base(), name);
    expect(c.json.state).toBe("queued");
    await pause(2 * LIFETIME_MS);
    expect(streams.map((s) => s.isEnded())).toEqual([false, false]);
    // One stream closes: the room is then at its new capacity, so still nobody new.
    streams[0]!.close();
    await pause(LIFETIME_MS + 1_000);
    expect((await statusOf(name, c.json.ticket!)).json.state).toBe("queued");
    expect(streams[1]!.isEnded()).toBe(false);
    expect(origin.peak).toBe(2);
    streams[1]!.close();
  });
});

describe("a WebSocket through Spillway", () => {
  it("reaches the origin with the pass, and messages pass both ways unchanged", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const socket = await holdSocket(socketUrl(name), bearer(a.pass));
    expect(origin.passes.at(-1)).toBe(a.pass);
    expect(await socket.ask("hello")).toBe("echo:hello");
    const text = "ünïcødé ✓ " + "x".repeat(10_000);
    expect(await socket.ask(text)).toBe(`echo:${text}`);
    socket.socket.close(1000, "done");
    await eventually(
      () => origin.closedSockets.some((c) => c.reason === "done"),
      3_000,
      "the close reaches the origin",
    );
  });

  it("stays open across several lease lifetimes without a heartbeat", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const socket = await holdSocket(socketUrl(name), bearer(a.pass));
    for (let i = 0; i < 3; i++) {
      await pause(LIFETIME_MS);
      expect(await socket.ask(`ping ${i}`)).toBe(`echo:ping ${i}`);
    }
    expect(socket.isClosed()).toBe(false);
    socket.socket.close(1000, "done");
  });

  it("is closed with 4001 seat_ended:left when the seat is given back", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const socket = await holdSocket(socketUrl(name), bearer(a.pass));
    expect(await socket.ask("hi")).toBe("echo:hi");
    await send(`${base()}/_spillway/rooms/${name}/leave`, { method: "POST", headers: bearer(a.pass) });
    const closed = await Promise.race([socket.closed, pause(CUT_WITHIN_MS).then(() => null)]);
    expect(closed).toEqual({ code: 4001, reason: "seat_ended:left" });
    await eventually(() => origin.listeners() === 0, CUT_WITHIN_MS, "the origin's socket is closed too");
    expect(origin.closedSockets.at(-1)).toEqual({ code: 4001, reason: "seat_ended:left" });
  });

  it("is closed with 4002 seat_ended:moved when the ticket is claimed on a newer device", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const socket = await holdSocket(socketUrl(name), bearer(a.pass));
    const moving = await statusOf(name, a.ticket);
    expect(moving.json.state).toBe("queued");
    const closed = await Promise.race([socket.closed, pause(CUT_WITHIN_MS).then(() => null)]);
    expect(closed).toEqual({ code: 4002, reason: "seat_ended:moved" });
    let pass: string | undefined;
    await eventually(
      async () => (pass = (await statusOf(name, a.ticket)).json.pass) !== undefined,
      MOVE_WITHIN_MS,
      "the newer device gets the seat",
    );

    // The older pass cannot open another socket (refused as ended, or by now expired); the newer one can.
    const handshakes = origin.handshakes;
    await expect(holdSocket(socketUrl(name), bearer(a.pass))).rejects.toThrow(/refused: 40[19]/);
    expect(origin.handshakes).toBe(handshakes);
    const newer = await holdSocket(socketUrl(name), bearer(pass!));
    expect(await newer.ask("again")).toBe("echo:again");
    expect(origin.peak).toBe(1);
    newer.socket.close(1000, "done");
  });

  it("is closed with 4004 connection_replaced when the same pass opens another socket, before the origin hears of it", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const first = await holdSocket(socketUrl(name), bearer(a.pass));
    expect(await first.ask("one")).toBe("echo:one");
    const handshakes = origin.handshakes;

    const second = await holdSocket(socketUrl(name), bearer(await renewed(name, a.pass)));
    expect(first.isClosed(), "the older socket is closed before the newer one is answered").toBe(true);
    expect(await first.closed).toEqual({ code: 4004, reason: "connection_replaced" });
    expect(origin.closedSockets).toContainEqual({ code: 4004, reason: "connection_replaced" });
    expect(origin.handshakes).toBe(handshakes + 1);
    expect(await second.ask("two")).toBe("echo:two");
    expect(origin.peak, "the origin never counted both").toBe(1);
    second.socket.close(1000, "done");
  });

  it("is closed when ops release the seat", async () => {
    const name = await room(1);
    const a = await admitted(name);
    const socket = await holdSocket(socketUrl(name), bearer(a.pass));
    await adminCall(base(), worker.adminToken, "POST", `/rooms/${name}/release`, { pass: a.pass });
    const closed = await Promise.race([socket.closed, pause(CUT_WITHIN_MS).then(() => null)]);
    expect(closed).toEqual({ code: 4001, reason: "seat_ended:left" });
  });

  it("without a pass is refused by Spillway and never reaches the origin", async () => {
    const name = await room(1);
    const handshakes = origin.handshakes;
    await expect(holdSocket(socketUrl(name))).rejects.toThrow(/refused: 401/);
    const refused = await handshake(`${base()}/rooms/${name}/socket`);
    expect(refused.status).toBe(401);
    expect((JSON.parse(refused.body) as ErrorJson).error.code).toBe("pass_required");
    expect(origin.handshakes).toBe(handshakes);
    // Nobody took a place in line by knocking.
    const stats = await adminCall<{ queued: number; active: number }>(
      base(),
      worker.adminToken,
      "GET",
      `/rooms/${name}/stats`,
    );
    expect(stats.json).toMatchObject({ queued: 0, active: 0 });
  });
});

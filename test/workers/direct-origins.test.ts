/**
 * Direct mode with a WebRTC origin misconfigured, inside workerd: a listener
 * is still answered (admitted within the capacity, or in line), never with
 * a 5xx and never with a credential the origin does not hold; the stats say
 * what is wrong. LiveKit's webhook route refuses what does not verify. The
 * working origins are in test/contract/{janus,livekit}-direct.test.ts.
 */
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ADMIN, callWith, patchRoom, roomName, stats, type Status } from "./helpers.ts";

const JANUS_VARS = { JANUS_URL: "http://janus.test:8088/janus" } as Partial<Env>;
const LK_KEY = "APIworkers";
const LK_SECRET = "livekit-secret-for-the-workers-tests";
const LK_VARS = { LIVEKIT_API_KEY: LK_KEY, LIVEKIT_API_SECRET: LK_SECRET } as Partial<Env>;
const WEBHOOK = "/_spillway/origins/livekit/webhook";

const joinWith = async (vars: Partial<Env>, room: string) => {
  const res = await callWith(vars, `/_spillway/rooms/${room}/join`, { method: "POST" });
  return { status: res.status, body: await res.json<Status>() };
};

async function signed(body: string, secret = LK_SECRET): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  const sha256 = btoa(String.fromCharCode(...digest));
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: LK_KEY, nbf: now, exp: now + 300, sha256 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(secret));
}

const webhook = (vars: Partial<Env>, body: string, authorization: string) =>
  callWith(vars, WEBHOOK, {
    method: "POST",
    headers: { authorization, "content-type": "application/webhook+json" },
    body,
  });

describe("a janus room whose Admin API is not set up", () => {
  it("admits within the capacity without connect, queues the rest, and the stats say why", async () => {
    const room = roomName("janus-nocfg");
    await patchRoom(room, { origin: "janus", originRoom: "1234", capacity: 1 });
    const first = await joinWith(JANUS_VARS, room);
    expect(first.status).toBe(200);
    expect(first.body.state).toBe("admitted");
    expect(first.body).not.toHaveProperty("connect");
    const second = await joinWith(JANUS_VARS, room);
    expect(second.status).toBe(200);
    expect(second.body.state).toBe("queued");
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.originAdmin?.lastFailure).toMatchObject({
      kind: "not_configured",
      message: expect.stringContaining("JANUS_ADMIN_URL"),
    });
    // And in Prometheus's view of the room.
    const metrics = await (
      await callWith({}, `/_spillway/admin/metrics?room=${room}`, { headers: { authorization: ADMIN } })
    ).text();
    const failures = new RegExp(`^spillway_origin_admin_failures_total\\{room="${room}"\\} (\\d+)$`, "mu");
    expect(Number(failures.exec(metrics)?.[1])).toBeGreaterThanOrEqual(s.originAdmin!.failures);
    expect(metrics).toContain(`spillway_origin_admin_drops_total{room="${room}"} 0`);
  });

  it("gives no connect without JANUS_URL either", async () => {
    const room = roomName("janus-nourl");
    await patchRoom(room, { origin: "janus", capacity: 1 });
    const first = await joinWith({}, room);
    expect(first.body.state).toBe("admitted");
    expect(first.body).not.toHaveProperty("connect");
  });
});

describe("LiveKit's webhook route", () => {
  const body = JSON.stringify({
    event: "participant_left",
    room: { name: "lk" },
    participant: { identity: "nobody-here:0:0b0f8a4e-1111-4222-8333-444455556666" },
  });

  it("says it is not configured (503) without the key pair, reading nothing", async () => {
    const res = await webhook({}, body, await signed(body));
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/LIVEKIT_API_KEY/);
  });

  it("refuses a bad signature, a changed body and no signature (401), and takes a good one", async () => {
    expect((await webhook(LK_VARS, body, await signed(body, "another-secret-entirely"))).status).toBe(401);
    expect((await webhook(LK_VARS, body.replace("left", "joined"), await signed(body))).status).toBe(401);
    expect((await webhook(LK_VARS, body, "")).status).toBe(401);
    const ok = await webhook(LK_VARS, body, await signed(body));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("ok (not a seat)\n");
  });

  it("takes a webhook about someone who is not a seat (a speaker) and changes nothing", async () => {
    const speaker = body.replace("nobody-here:0:0b0f8a4e-1111-4222-8333-444455556666", "host-alice");
    const res = await webhook(LK_VARS, speaker, await signed(speaker));
    expect(res.status).toBe(200);
  });
});

describe("Janus's events route", () => {
  const EVENTS = "/_spillway/origins/janus/events";
  const SECRET = "janus-events-secret-for-the-workers-tests";
  const JANUS_EVENTS = { JANUS_EVENTS_SECRET: SECRET } as Partial<Env>;
  const basic = (password: string) => `Basic ${btoa(`janus:${password}`)}`;
  const post = (vars: Partial<Env>, body: string, authorization: string) =>
    callWith(vars, EVENTS, { method: "POST", headers: { authorization, "content-type": "application/json" }, body });
  const attached = (token: string) =>
    JSON.stringify({ type: 2, session_id: 11, handle_id: 12, event: { name: "attached", token } });
  // A token naming a seat of a room no listener ever joined: its shard never started.
  const token = `nobody-here.0.0b0f8a4e-1111-4222-8333-444455556666.${"A".repeat(43)}`;

  it("says it is not configured (503) without JANUS_EVENTS_SECRET, reading nothing", async () => {
    const res = await post({}, attached(token), basic(SECRET));
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/JANUS_EVENTS_SECRET/);
  });

  it("refuses a wrong password, no password or another scheme (401) before reading the body", async () => {
    for (const authorization of [basic("not-the-secret"), "", `Bearer ${SECRET}`, "Basic !!!", basic("")]) {
      const res = await post(JANUS_EVENTS, "{not even json", authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
    }
  });

  it("refuses a body that is not Janus's events (400), and takes Janus's own, single or grouped", async () => {
    const auth = basic(SECRET);
    for (const body of ["{not json", "[1,2]", JSON.stringify({ type: "handle" }), "null"]) {
      const res = await post(JANUS_EVENTS, body, auth);
      expect(res.status, body).toBe(400);
    }
    const tooMany = JSON.stringify(Array.from({ length: 1_001 }, () => ({ type: 1 })));
    expect((await post(JANUS_EVENTS, tooMany, auth)).status).toBe(400);
    // A seat's token whose shard holds no such seat, a token that names none, other events: taken, no seat told.
    const one = await post(JANUS_EVENTS, attached(token), auth);
    expect(one.status).toBe(200);
    expect(await one.text()).toBe("ok (1 events, 0 of seats)\n");
    const grouped = JSON.stringify([
      JSON.parse(attached("made-up")),
      { type: 1, session_id: 11, event: { name: "created" } },
      { type: 2, session_id: 11, handle_id: 12, event: { name: "detached", token } },
    ]);
    const many = await post(JANUS_EVENTS, grouped, auth);
    expect(many.status).toBe(200);
    expect(await many.text()).toBe("ok (3 events, 0 of seats)\n");
  });
});

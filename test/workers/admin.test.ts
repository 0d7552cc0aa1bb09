/**
 * The admin API: who may do what (401 without a token, 403 for a read-only
 * token that writes), the audit trail, the room list, releasing a seat,
 * invalid bodies that change nothing, and each lane's numbers in the stats
 * and the metrics.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import type { Sample } from "../../src/contract/schemas.ts";
import {
  ADMIN,
  call,
  type ErrorJson,
  getConfig,
  leave,
  heartbeat,
  join,
  patchRoom,
  roomName,
  shardStub,
  stats,
  useManualClock,
  advance,
  letRevocationsThrough,
} from "./helpers.ts";
import { laneShard } from "../../src/policy/lanes.ts";

const t = useManualClock();

const ALICE = "Bearer test-token-ops-alice";
const READ_ONLY = "Bearer test-token-read-only";

function admin(path: string, auth: string | null, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== null) headers["authorization"] = auth;
  return call(`/_spillway/admin${path}`, { ...init, headers: { ...headers, ...(init.headers as object) } });
}

async function history(room: string): Promise<Sample[]> {
  const res = await admin(`/rooms/${room}/history`, ADMIN);
  expect(res.status).toBe(200);
  return (await res.json<{ samples: Sample[] }>()).samples;
}

async function audit(room: string) {
  const res = await admin(`/rooms/${room}/audit`, ADMIN);
  expect(res.status).toBe(200);
  return (await res.json<{ entries: { at: string; by: string; changes: Record<string, unknown> }[] }>()).entries;
}

describe("admin tokens", () => {
  const routes = (room: string): [string, string, unknown?][] => [
    ["GET", "/rooms"],
    ["GET", `/rooms/${room}`],
    ["PATCH", `/rooms/${room}`, { capacity: 5 }],
    ["GET", `/rooms/${room}/stats`],
    ["GET", `/rooms/${room}/audit`],
    ["POST", `/rooms/${room}/release`, { pass: "x.y.z" }],
  ];

  it("refuses every route without a token, or with a wrong one (401, no data)", async () => {
    const room = roomName("adm-auth");
    for (const [method, path, body] of routes(room)) {
      for (const auth of [null, "Bearer nope", "Basic dGVzdA==", ADMIN + "x"]) {
        const res = await admin(path, auth, { method, body: body === undefined ? undefined : JSON.stringify(body) });
        expect(res.status, `${method} ${path} with ${auth}`).toBe(401);
        expect((await res.json<ErrorJson>()).error.code).toBe("unauthorized");
        expect(res.headers.get("cache-control")).toBe("no-store");
      }
    }
  });

  it("lets a read-only token read, and refuses it every write with 403, changing nothing", async () => {
    const room = roomName("adm-ro");
    await patchRoom(room, { capacity: 7 });
    for (const [method, path, body] of routes(room)) {
      const res = await admin(path, READ_ONLY, { method, body: body === undefined ? undefined : JSON.stringify(body) });
      if (method === "GET") expect(res.status, `${method} ${path}`).toBe(200);
      else {
        expect(res.status, `${method} ${path}`).toBe(403);
        expect((await res.json<ErrorJson>()).error.code).toBe("forbidden");
      }
    }
    expect((await getConfig(room)).config.capacity).toBe(7);
    expect((await audit(room)).length).toBe(1);
  });
});

describe("the audit trail", () => {
  it("records each change with the token's name, when, and each field from → to", async () => {
    const room = roomName("adm-audit");
    await patchRoom(room, { capacity: 50 });
    const res = await admin(`/rooms/${room}`, ALICE, {
      method: "PATCH",
      body: JSON.stringify({ capacity: 20, mode: "hold", maxWaitSeconds: 600 }),
    });
    expect(res.status).toBe(200);
    // A patch that changes nothing records nothing.
    await admin(`/rooms/${room}`, ALICE, { method: "PATCH", body: JSON.stringify({ capacity: 20 }) });
    const entries = await audit(room);
    expect(entries.map((e) => e.by)).toEqual(["admin", "ops-alice"]);
    expect(entries[1]!.changes).toEqual({
      capacity: { from: 50, to: 20 },
      mode: { from: "open", to: "hold" },
      maxWaitSeconds: { from: null, to: 600 },
    });
    expect(Date.parse(entries[1]!.at)).not.toBeNaN();
  });

  it("changes nothing and records nothing for an invalid body", async () => {
    const room = roomName("adm-bad");
    await patchRoom(room, { capacity: 9 });
    const before = await getConfig(room);
    const bad = [
      '{"capacity": -1}',
      '{"capacity": 3, "mode": "lots"}',
      '{"__proto__": {"capacity": 1}}',
      "[1]",
      "not json",
      '{"colour": 1}',
    ];
    for (const body of bad) {
      const res = await admin(`/rooms/${room}`, ALICE, { method: "PATCH", body });
      expect(res.status, body).toBe(400);
    }
    expect(await getConfig(room)).toEqual(before);
    expect((await audit(room)).length).toBe(1);
  });
});

describe("lanes in the audit trail", () => {
  const lanes = { stage: { reserved: 20 }, priority: { share: 0.3 } };
  const filled = {
    stage: { reserved: 20, cap: null, share: null, lend: true, shards: 1 },
    priority: { reserved: 0, cap: null, share: 0.3, lend: true, shards: 1 },
  };

  it("records a change of lanes once, from → to as objects, and nothing for the same lanes again", async () => {
    const room = roomName("adm-lanes");
    await patchRoom(room, { capacity: 100 });
    const set = await admin(`/rooms/${room}`, ALICE, { method: "PATCH", body: JSON.stringify({ lanes }) });
    expect(set.status).toBe(200);
    // The same value, written in another key order inside a lane: still the same lanes.
    const again = { stage: { reserved: 20 }, priority: { share: 0.3 } };
    expect(
      (await admin(`/rooms/${room}`, ALICE, { method: "PATCH", body: JSON.stringify({ lanes: again }) })).status,
    ).toBe(200);
    const entries = await audit(room);
    expect(entries).toHaveLength(2);
    expect(entries[1]!.by).toBe("ops-alice");
    expect(entries[1]!.changes).toEqual({ lanes: { from: null, to: filled } });

    // inviteOnly and a new lane order are changes: one entry with both.
    const reordered = { priority: { share: 0.3 }, stage: { reserved: 20 } };
    await admin(`/rooms/${room}`, ALICE, {
      method: "PATCH",
      body: JSON.stringify({ lanes: reordered, inviteOnly: true }),
    });
    const last = (await audit(room)).at(-1)!;
    expect(Object.keys(last.changes).sort()).toEqual(["inviteOnly", "lanes"]);
    expect(last.changes["inviteOnly"]).toEqual({ from: false, to: true });
    expect(Object.keys((last.changes["lanes"] as { to: object }).to)).toEqual(["priority", "stage"]);
  });

  it("refuses lanes whose reserves exceed capacity as invalid_body on the lanes field, changing and recording nothing", async () => {
    const room = roomName("adm-lanes-bad");
    await patchRoom(room, { capacity: 10 });
    const before = await getConfig(room);
    const res = await admin(`/rooms/${room}`, ALICE, {
      method: "PATCH",
      body: JSON.stringify({ lanes: { stage: { reserved: 11 } } }),
    });
    expect(res.status).toBe(400);
    const body = await res.json<ErrorJson>();
    expect(body.error.code).toBe("invalid_body");
    expect(body.error.fields).toEqual([{ field: "lanes", message: expect.stringContaining("capacity (10)") }]);
    const invite = await admin(`/rooms/${room}`, ALICE, {
      method: "PATCH",
      body: JSON.stringify({ inviteOnly: true }),
    });
    expect(invite.status).toBe(400);
    expect((await invite.json<ErrorJson>()).error.fields?.map((f) => f.field)).toEqual(["inviteOnly"]);
    expect(await getConfig(room)).toEqual(before);
    expect(await audit(room)).toHaveLength(1);
  });
});

describe("lanes in the stats and the metrics", () => {
  const SECRET = (env as unknown as Record<string, string>)["IDENTITY_LANES_TEST"]!;
  const identity = {
    issuer: "https://login.example.com",
    audience: "spillway-admin-test",
    keys: { hmacSecretName: "IDENTITY_LANES_TEST" },
    lanes: [{ lane: "stage", claim: "role", anyOf: ["host"] }],
  };
  const hostToken = () =>
    new SignJWT({
      iss: identity.issuer,
      aud: identity.audience,
      sub: `host-${crypto.randomUUID()}`,
      role: "host",
      exp: Math.floor(t.clock.now() / 1000) + 600,
    })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(SECRET));

  it("gives general first, then each lane in rank order, with its rules and its listeners", async () => {
    const room = roomName("adm-lane-stats");
    await patchRoom(room, {
      capacity: 10,
      lanes: { stage: { reserved: 3, cap: 5 }, priority: { share: 0.25 } },
      identity,
    });
    await join(room);
    const host = await join(room, { "spillway-identity": await hostToken() });
    expect(host.body.lane).toBe("stage");
    const s = await stats(room);
    expect(s.lanes.map((l) => l.lane)).toEqual(["general", "stage", "priority"]);
    const [general, stage, priority] = s.lanes;
    expect(general).toMatchObject({ reserved: 0, cap: null, strict: null, share: null, admissionsPerMinute: null });
    expect(general!.live + general!.queued).toBe(1);
    expect(stage).toMatchObject({ reserved: 3, cap: 5, strict: true, share: null });
    expect(stage!.live + stage!.queued).toBe(1);
    expect(priority).toMatchObject({ live: 0, queued: 0, admittedTotal: 0, reserved: 0, cap: null, strict: false });
    expect(priority!.share).toBe(0.25);
    expect(priority!.waitP50Seconds).toBeNull();
    // The lines add up to the room.
    expect(s.lanes.reduce((n, l) => n + l.live, 0)).toBe(s.active);
    expect(s.lanes.reduce((n, l) => n + l.admittedTotal, 0)).toBe(s.admittedTotal);

    const text = await (await admin(`/metrics?room=${room}`, READ_ONLY)).text();
    expect(text).toContain("# TYPE spillway_lane_live gauge");
    expect(text).toContain("# TYPE spillway_lane_admitted_total counter");
    expect(text).toContain(`spillway_lane_live{room="${room}",lane="stage"} ${stage!.live}`);
    expect(text).toContain(`spillway_lane_queued{room="${room}",lane="general"} ${general!.queued}`);
    expect(text).toContain(`spillway_lane_reserved{room="${room}",lane="stage"} 3`);
    expect(text).toContain(`spillway_lane_cap{room="${room}",lane="stage"} 5`);
    // No cap, no series; no admitted listener yet, no wait.
    expect(text).not.toContain(`spillway_lane_cap{room="${room}",lane="priority"}`);
    expect(text).not.toContain(`spillway_lane_wait_p50_seconds{room="${room}",lane="priority"}`);
  });

  it("has only the general line, with the room's numbers, in a room without lanes", async () => {
    const room = roomName("adm-no-lanes");
    await patchRoom(room, { capacity: 4 });
    await join(room);
    const s = await stats(room);
    expect(s.lanes).toEqual([
      expect.objectContaining({ lane: "general", live: s.active, queued: s.queued, admittedTotal: s.admittedTotal }),
    ]);
    const samples = await history(room);
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) expect(sample).not.toHaveProperty("lanes");
  });

  it("keeps each lane's live and queued in the history samples", async () => {
    const room = roomName("adm-lane-history");
    await patchRoom(room, { capacity: 10, lanes: { stage: { reserved: 2 }, priority: {} }, identity });
    await join(room, { "spillway-identity": await hostToken() });
    // A sample every 10 s: the next one sees the host's seat once its shard has reported it (its
    // join asked the coordinator for a place first; the next round's sync reports the seat).
    advance(t.clock, 11_000);
    const stage = laneShard(1, 0);
    await shardStub(room, stage).syncNow(room, stage);
    await stats(room);
    const last = (await history(room)).at(-1)!;
    expect(Object.keys(last.lanes ?? {})).toEqual(["stage", "priority"]);
    expect(last.lanes!["stage"]!.live + last.lanes!["stage"]!.queued).toBe(1);
    expect(last.lanes!["priority"]).toEqual({ live: 0, queued: 0 });
  });
});

describe("rooms and releases", () => {
  it("lists every room that has been used", async () => {
    const room = roomName("adm-list");
    await join(room);
    const res = await admin("/rooms", ADMIN);
    const { rooms } = await res.json<{ rooms: { room: string; createdAt: string }[] }>();
    expect(rooms.map((r) => r.room)).toContain(room);
  });

  it("frees one listener's seat given its pass, and refuses what is not a pass", async () => {
    const room = roomName("adm-release");
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");
    const bad = await admin(`/rooms/${room}/release`, ALICE, {
      method: "POST",
      body: JSON.stringify({ pass: listener.ticket }),
    });
    expect(bad.status).toBe(400);
    const res = await admin(`/rooms/${room}/release`, ALICE, {
      method: "POST",
      body: JSON.stringify({ pass: listener.pass }),
    });
    expect(await res.json()).toEqual({ room, released: true });
    expect((await heartbeat(room, listener.pass!)).status).toBe(409);
    expect((await stats(room)).left).toBe(1);
    // Again: nothing more to release.
    const again = await admin(`/rooms/${room}/release`, ALICE, {
      method: "POST",
      body: JSON.stringify({ pass: listener.pass }),
    });
    expect(await again.json()).toEqual({ room, released: false });
  });
});

describe("history", () => {
  it("keeps a sample every 10 s for an hour: live against capacity, the line, admissions", async () => {
    const room = roomName("adm-hist");
    await patchRoom(room, { capacity: 2 });
    for (let k = 0; k < 3; k++) await join(room);
    const read = async () => {
      const res = await admin(`/rooms/${room}/history`, READ_ONLY);
      expect(res.status).toBe(200);
      return res.json<{
        everySeconds: number;
        samples: { at: string; live: number; capacity: number; queued: number }[];
      }>();
    };
    // The numbers as of the shards' reports (stats makes every shard report).
    advance(t.clock, 10_000);
    await stats(room);
    const first = await read();
    expect(first.everySeconds).toBe(10);
    expect(first.samples.at(-1)).toMatchObject({ live: 2, capacity: 2, queued: 1 });
    const n = first.samples.length;
    advance(t.clock, 5_000);
    expect((await read()).samples.length).toBe(n);
    advance(t.clock, 5_000);
    expect((await read()).samples.length).toBe(n + 1);
    advance(t.clock, 3_700_000);
    expect((await read()).samples.length).toBe(1);
  });
});

describe("honest numbers", () => {
  it("gives exactly the expected stats after a known sequence of joins, admissions, leaves and overflows", async () => {
    const room = roomName("adm-stats");
    await patchRoom(room, { capacity: 2, maxQueue: 1 });
    const a = (await join(room)).body;
    const b = (await join(room)).body;
    expect([a.state, b.state]).toEqual(["admitted", "admitted"]);
    const c = (await join(room)).body;
    expect(c.state).toBe("queued");
    advance(t.clock, 2_000); // the edge's view sees the line
    expect((await join(room)).body.state).toBe("overflow");
    expect((await join(room)).body.state).toBe("overflow");
    expect((await leave(room, a.pass!)).status).toBe(200);
    // Given back, but its pass could still be served somewhere: the seat stays counted.
    expect(await stats(room)).toMatchObject({ active: 2, leaving: 1, revocationsListed: 1 });
    // The seat is freed once its revocation is in every edge's view (about 5 s after the leave).
    await letRevocationsThrough(t.clock, room);
    const res = await call(`/_spillway/rooms/${room}/status`, { headers: { authorization: `Bearer ${c.ticket}` } });
    expect((await res.json<{ state: string }>()).state).toBe("admitted");

    const s = await stats(room);
    expect(s).toMatchObject({
      active: 2,
      capacity: 2,
      queued: 0,
      prequeued: 0,
      called: 0,
      overflowed: 2,
      uniqueListeners: 3,
      joined: 3,
      admittedTotal: 3,
      left: 1,
      // Freed; its id stays listed until its pass expires.
      leaving: 0,
      revocationsListed: 1,
      expired: 0,
      abandoned: 0,
      peakConcurrent: 2,
      // a and b were seated at once (under 1 s), c after 9 s (the 10 s bucket).
      waitP50Seconds: 1,
      waitP90Seconds: 10,
    });
  });
});

describe("Prometheus metrics", () => {
  it("exposes each room's numbers as text, behind a token", async () => {
    const room = roomName("adm-prom");
    await patchRoom(room, { capacity: 4 });
    await join(room);
    expect((await admin(`/metrics?room=${room}`, null)).status).toBe(401);
    const res = await admin(`/metrics?room=${room}`, READ_ONLY);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain(`spillway_live{room="${room}"} 1`);
    expect(text).toContain(`spillway_capacity{room="${room}"} 4`);
    expect(text).toContain("# TYPE spillway_admitted_total counter");
    expect(text).toMatch(new RegExp(`spillway_do_calls_total\\{room="${room}",kind="join"\\} [1-9]`));
    expect((await admin("/metrics?room=bad%20room", ADMIN)).status).toBe(400);
    // Every room, from the directory.
    expect(await (await admin("/metrics", ADMIN)).text()).toContain(`room="${room}"`);
  });
});

/**
 * The admin API: who may do what (401 without a token, 403 for a read-only
 * token that writes), the audit trail, the room list, releasing a seat, and
 * invalid bodies that change nothing.
 */
import { describe, expect, it } from "vitest";
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
  stats,
  useManualClock,
  advance,
  letRevocationsThrough,
} from "./helpers.ts";

const t = useManualClock();

const ALICE = "Bearer test-token-ops-alice";
const READ_ONLY = "Bearer test-token-read-only";

function admin(path: string, auth: string | null, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (auth !== null) headers["authorization"] = auth;
  return call(`/_spillway/admin${path}`, { ...init, headers: { ...headers, ...(init.headers as object) } });
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

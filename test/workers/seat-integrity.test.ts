/**
 * Reproductions of attacks on seats and rooms, each refused: cookies tossed
 * from a sibling subdomain, a crafted link that would swap a listener's
 * cookie, Spillway's credentials leaking to the origin, a path that names
 * another room once decoded, a new room's admission rate, and rooms made up
 * by anyone.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { burstOf } from "../../src/policy/rate.ts";
import {
  ADMIN,
  bearer,
  call,
  callWith,
  type ErrorJson,
  join,
  patchRoom,
  roomName,
  type Status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();
const PUBLIC = "https://live.example.com";

afterEach(() => vi.restoreAllMocks());

/** The requests the origin received (fetch is replaced by a recording stand-in). */
function recordingOrigin(): Request[] {
  const seen: Request[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    seen.push(new Request(input as RequestInfo, init));
    return new Response("origin", { headers: { "content-length": "6" } });
  });
  return seen;
}

const ORIGIN = { ORIGIN_URL: "http://origin.test" };

describe("cookie tossing", () => {
  it("a plain-named pass cookie on a public host is ignored and cleared, never a 401", async () => {
    const room = roomName("toss-pass");
    const res = await call(`${PUBLIC}/rooms/${room}/`, {
      headers: { accept: "application/json", cookie: `spillway-pass-${room}=junk` },
    });
    expect(res.status).toBe(200);
    expect((await res.json<Status>()).state).toBe("admitted");
    const cleared = res.headers.getSetCookie().find((c) => c.startsWith(`spillway-pass-${room}=;`));
    expect(cleared).toMatch(/Max-Age=0/);
  });

  it("a plain-named ticket cookie holding someone else's ticket is not honoured", async () => {
    const room = roomName("toss-ticket");
    await patchRoom(room, { capacity: 1 });
    const victim = (await join(room)).body;
    const res = await call(`${PUBLIC}/_spillway/rooms/${room}/status`, {
      headers: { accept: "application/json", cookie: `spillway-ticket-${room}=${victim.ticket}` },
    });
    expect(res.status).toBe(401);
    expect((await res.json<ErrorJson>()).error.code).toBe("ticket_required");
  });
});

describe("a crafted link", () => {
  it("never replaces a valid ticket cookie the browser holds", async () => {
    const room = roomName("link-ticket");
    await patchRoom(room, { capacity: 0 });
    const mine = (await join(room)).body;
    const theirs = (await join(room)).body;
    const res = await call(`/rooms/${room}/?ticket=${theirs.ticket}`, {
      headers: { cookie: `spillway-ticket-${room}=${mine.ticket}` },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/rooms/${room}/`);
    expect(res.headers.getSetCookie().filter((c) => c.includes(`-ticket-${room}=`))).toEqual([]);
  });

  it("never replaces a valid pass cookie either", async () => {
    const room = roomName("link-pass");
    const mine = (await join(room)).body;
    const theirs = (await join(room)).body;
    const res = await call(`/rooms/${room}/?pass=${theirs.pass}`, {
      headers: { cookie: `spillway-pass-${room}=${mine.pass}` },
    });
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().filter((c) => c.includes(`-pass-${room}=`))).toEqual([]);
  });
});

describe("nothing of Spillway's reaches the origin", () => {
  it("a ticket in Authorization beside a pass cookie is not forwarded", async () => {
    const room = roomName("leak-auth");
    const listener = (await join(room)).body;
    const seen = recordingOrigin();
    const res = await callWith(ORIGIN, `/rooms/${room}/live.m3u8`, {
      headers: { cookie: `spillway-pass-${room}=${listener.pass}`, ...bearer(listener.ticket!) },
    });
    expect(res.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get("authorization")).toBeNull();
    expect(seen[0]!.headers.get("spillway-pass")).toBe(listener.pass);
  });

  it("Spillway cookies in Cookie lines merged with ', ' are removed; the origin's own are kept", async () => {
    const room = roomName("leak-cookie");
    const listener = (await join(room)).body;
    const seen = recordingOrigin();
    await callWith(ORIGIN, `/rooms/${room}/live.m3u8`, {
      headers: {
        ...bearer(listener.pass!),
        cookie: `theme=dark, spillway-ticket-${room}=${listener.ticket}; session=abc, __Host-spillway-pass-x=y; spillway_identity=platform.jwt.token`,
        "spillway-challenge": "c",
        "spillway-solution": "s",
        "spillway-identity": "platform.jwt.token",
      },
    });
    expect(seen).toHaveLength(1);
    // The deployer's identity token is read at join only, and never passed on.
    expect(seen[0]!.headers.get("cookie")).toBe("theme=dark; session=abc");
    expect(seen[0]!.headers.get("spillway-challenge")).toBeNull();
    expect(seen[0]!.headers.get("spillway-solution")).toBeNull();
    expect(seen[0]!.headers.get("spillway-identity")).toBeNull();
  });
});

describe("a path that names another room once decoded", () => {
  it.each(["..%2fB/secret", "..%2FB/secret", "%2e%2e%2fB/secret", "..%5cB/secret", "x/..%2F..%2fB"])(
    "is refused, never forwarded: /rooms/A/%s",
    async (rest) => {
      const room = roomName("path");
      const listener = (await join(room)).body;
      const seen = recordingOrigin();
      const res = await callWith(ORIGIN, `/rooms/${room}/${rest}`, { headers: bearer(listener.pass!) });
      expect(res.status).toBe(400);
      expect((await res.json<ErrorJson>()).error.code).toBe("bad_path");
      expect(seen).toEqual([]);
    },
  );
});

describe("a room's admission rate", () => {
  it("a new room set to 60 a minute seats no more than its own burst at once", async () => {
    const room = roomName("rate-new");
    await patchRoom(room, { capacity: 1_000, admitPerMinute: 60 });
    let admitted = 0;
    for (let i = 0; i < 40; i++) if ((await join(room)).body.state === "admitted") admitted += 1;
    expect(admitted).toBeLessThanOrEqual(burstOf(60));
    expect(admitted).toBeGreaterThan(0);
  });

  it("lowering the rate takes effect at once", async () => {
    const room = roomName("rate-lower");
    await patchRoom(room, { capacity: 1_000, admitPerMinute: 6_000 });
    expect((await join(room)).body.state).toBe("admitted");
    await patchRoom(room, { admitPerMinute: 6 });
    t.clock.advance(2_000);
    let admitted = 0;
    for (let i = 0; i < 40; i++) if ((await join(room)).body.state === "admitted") admitted += 1;
    expect(admitted).toBeLessThanOrEqual(burstOf(6));
  });
});

describe("rooms by anyone (ROOMS)", () => {
  it("with ROOMS=ops a made-up room id is 404, takes no place and is never listed", async () => {
    const room = roomName("junk");
    const vars = { ROOMS: "ops" };
    for (const [path, init] of [
      [`/_spillway/rooms/${room}/join`, { method: "POST" }],
      [`/rooms/${room}/`, { headers: { accept: "application/json" } }],
      [`/_spillway/rooms/${room}/status`, {}],
    ] as const) {
      const res = await callWith(vars, path, init);
      expect(res.status).toBe(404);
      expect((await res.json<ErrorJson>()).error.code).toBe("not_found");
    }
    const list = await call("/_spillway/admin/rooms", { headers: { authorization: ADMIN } });
    expect(JSON.stringify(await list.json())).not.toContain(room);
  });

  it("with ROOMS=ops a room ops created is served (within the refresh interval)", async () => {
    const room = roomName("made-by-ops");
    const vars = { ROOMS: "ops" };
    expect((await callWith(vars, `/_spillway/rooms/${room}/join`, { method: "POST" })).status).toBe(404);
    await patchRoom(room, { capacity: 5 });
    t.clock.advance(2_000);
    const res = await callWith(vars, `/_spillway/rooms/${room}/join`, { method: "POST" });
    expect(res.status).toBe(200);
    expect((await res.json<Status>()).state).toBe("admitted");
  });

  it("an allow-list serves exactly its ids", async () => {
    const listed = roomName("listed");
    const vars = { ROOMS: listed };
    expect((await callWith(vars, `/_spillway/rooms/${listed}/join`, { method: "POST" })).status).toBe(200);
    expect((await callWith(vars, `/_spillway/rooms/${roomName("other")}/join`, { method: "POST" })).status).toBe(404);
  });
});

import { describe, expect, it } from "vitest";
import {
  ADMIN,
  bearer,
  call,
  type ErrorJson,
  getConfig,
  join,
  passClaims,
  patchRoom,
  roomName,
  stats,
  type Status,
  useManualClock,
  statusHolding,
} from "./helpers.ts";

useManualClock();

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
  const body = await res.json<ErrorJson>();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  return body;
}

/** The Set-Cookie headers of a response, by cookie name. */
function cookiesOf(res: Response): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of res.headers.getSetCookie()) out.set(line.split("=", 1)[0]!, line);
  return out;
}

function cookieValue(line: string): string {
  return line.slice(line.indexOf("=") + 1).split(";", 1)[0]!;
}

const BAD_ROOMS = ["a".repeat(65), "a.b", "a%20b", "a%2Fb", "ä", "a~b"];

describe("room ids", () => {
  it("answers 400 bad_room on listener endpoints for ids outside the contract", async () => {
    for (const room of BAD_ROOMS) {
      await expectError(await call(`/_spillway/rooms/${room}/join`, { method: "POST" }), 400, "bad_room");
      await expectError(await call(`/_spillway/rooms/${room}/status`), 400, "bad_room");
      await expectError(await call(`/_spillway/rooms/${room}/heartbeat`, { method: "POST" }), 400, "bad_room");
      await expectError(await call(`/_spillway/rooms/${room}/leave`, { method: "POST" }), 400, "bad_room");
      await expectError(await call(`/rooms/${room}/`, { headers: { accept: "text/html" } }), 400, "bad_room");
      await expectError(await call(`/rooms/${room}/deep/path`), 400, "bad_room");
    }
  });

  it("answers 400 bad_room on admin endpoints for ids outside the contract", async () => {
    for (const room of BAD_ROOMS) {
      await expectError(
        await call(`/_spillway/admin/rooms/${room}`, { headers: { authorization: ADMIN } }),
        400,
        "bad_room",
      );
      await expectError(
        await call(`/_spillway/admin/rooms/${room}/stats`, { headers: { authorization: ADMIN } }),
        400,
        "bad_room",
      );
      await expectError(
        await call(`/_spillway/admin/rooms/${room}`, {
          method: "PATCH",
          headers: { authorization: ADMIN, "content-type": "application/json" },
          body: JSON.stringify({ capacity: 1 }),
        }),
        400,
        "bad_room",
      );
    }
  });

  it("accepts ids at the edges of the contract", async () => {
    for (const room of ["a", "A-z_09", "b".repeat(64)]) {
      const { res, body } = await join(room);
      expect(res.status).toBe(200);
      expect(body.room).toBe(room);
    }
  });
});

describe("unknown paths", () => {
  it("answers 404 with the JSON error shape", async () => {
    await expectError(await call("/"), 404, "not_found");
    await expectError(await call("/nowhere"), 404, "not_found");
    await expectError(await call("/_spillway/nope"), 404, "not_found");
    await expectError(await call("/_spillway/rooms/ok/unknown", { method: "POST" }), 404, "not_found");
    await expectError(await call("/_spillway/admin/nope", { headers: { authorization: ADMIN } }), 404, "not_found");
  });
});

describe("admin authorization", () => {
  const wrong: (Record<string, string> | undefined)[] = [
    undefined,
    { authorization: "Bearer wrong-token" },
    { authorization: "Bearer test-admin-token-but-longer" },
    { authorization: "Bearer " },
    { authorization: "Basic dGVzdC1hZG1pbi10b2tlbg==" },
    { authorization: "test-admin-token" },
  ];

  it("answers 401 and no data to admin requests without the right token", async () => {
    const room = roomName("adm-auth");
    await patchRoom(room, { capacity: 7 });
    for (const headers of wrong) {
      for (const [method, path] of [
        ["GET", `/_spillway/admin/rooms/${room}`],
        ["GET", `/_spillway/admin/rooms/${room}/stats`],
        ["PATCH", `/_spillway/admin/rooms/${room}`],
        ["GET", `/_spillway/admin/nope`],
      ] as const) {
        const res = await call(path, {
          method,
          headers: { ...headers, "content-type": "application/json" },
          body: method === "PATCH" ? JSON.stringify({ capacity: 99 }) : undefined,
        });
        const text = await res.clone().text();
        await expectError(res, 401, "unauthorized");
        expect(text).not.toContain("capacity");
        expect(text).not.toContain(room);
      }
    }
    expect((await getConfig(room)).config.capacity).toBe(7);
  });

  it("answers with the config and stats given the right token", async () => {
    const room = roomName("adm-ok");
    const res = await call(`/_spillway/admin/rooms/${room}`, { headers: { authorization: ADMIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toMatchObject({ room, config: { capacity: 1000, mode: "open" }, overrides: {} });
    const s = await call(`/_spillway/admin/rooms/${room}/stats`, { headers: { authorization: ADMIN } });
    expect(s.status).toBe(200);
    expect(await s.json()).toMatchObject({ room, active: 0, capacity: 1000, queued: 0 });
  });
});

describe("admin PATCH validation", () => {
  const invalid: { name: string; body: string; fields?: string[] }[] = [
    { name: "unknown field", body: JSON.stringify({ capacity: 3, bogus: 1 }), fields: ["bogus"] },
    { name: "wrong type", body: JSON.stringify({ capacity: "3" }), fields: ["capacity"] },
    { name: "negative capacity", body: JSON.stringify({ capacity: -1 }), fields: ["capacity"] },
    { name: "fractional capacity", body: JSON.stringify({ capacity: 2.5 }), fields: ["capacity"] },
    { name: "bad mode", body: JSON.stringify({ capacity: 3, mode: "party" }), fields: ["mode"] },
    { name: "zero rate", body: JSON.stringify({ admitPerMinute: 0 }), fields: ["admitPerMinute"] },
    { name: "array", body: JSON.stringify([{ capacity: 3 }]), fields: [""] },
    { name: "null", body: "null", fields: [""] },
    { name: "non-JSON text", body: "capacity=3" },
    { name: "empty body", body: "" },
  ];

  for (const c of invalid) {
    it(`refuses a body with ${c.name} (400 invalid_body) and changes nothing`, async () => {
      const room = roomName("adm-bad");
      await patchRoom(room, { capacity: 5, mode: "hold" });
      const before = await getConfig(room);

      const res = await call(`/_spillway/admin/rooms/${room}`, {
        method: "PATCH",
        headers: { authorization: ADMIN, "content-type": "application/json" },
        body: c.body,
      });
      const body = await expectError(res, 400, "invalid_body");
      if (c.fields !== undefined) {
        expect(body.error.fields).toBeDefined();
        expect(body.error.fields!.map((f) => f.field)).toEqual(c.fields);
        for (const f of body.error.fields!) expect(f.message.length).toBeGreaterThan(0);
      }

      expect(await getConfig(room)).toEqual(before);
    });
  }

  it("applies a valid body as a whole", async () => {
    const room = roomName("adm-good");
    const state = await patchRoom(room, { capacity: 4, admitPerMinute: 30, mode: "hold" });
    expect(state.config).toEqual({
      capacity: 4,
      admitPerMinute: 30,
      mode: "hold",
      shards: 1,
      maxWaitSeconds: null,
      maxQueue: null,
      startsAt: null,
      shuffleAtStart: false,
      recordingUrl: null,
      title: null,
      logoUrl: null,
      accentColor: null,
      message: null,
      challengeBits: 0,
      origin: "proxy",
      originRoom: null,
      liveMounts: null,
      lanes: null,
      identity: null,
      inviteOnly: false,
    });
    expect((await getConfig(room)).overrides).toEqual({ capacity: 4, admitPerMinute: 30, mode: "hold" });
    expect((await stats(room)).capacity).toBe(4);
  });
});

describe("listener endpoints", () => {
  it("answers 401 ticket_required to a status poll without a ticket", async () => {
    const room = roomName("http-noticket");
    await expectError(await call(`/_spillway/rooms/${room}/status`), 401, "ticket_required");
    await expectError(
      await call(`/_spillway/rooms/${room}/status`, { headers: { authorization: "Bearer " } }),
      401,
      "ticket_required",
    );
    await expectError(await call(`/_spillway/rooms/${room}/heartbeat`, { method: "POST" }), 401, "pass_required");
    await expectError(await call(`/_spillway/rooms/${room}/leave`, { method: "POST" }), 401, "pass_required");
    expect((await stats(room)).joined).toBe(0);
  });
});

describe("the guarded room path", () => {
  it("joins a browser without credentials and answers the waiting page with a ticket cookie when the room is full", async () => {
    const room = roomName("page-full");
    await patchRoom(room, { capacity: 0 });

    const res = await call(`/rooms/${room}/`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const html = await res.text();
    expect(html).toMatch(/<html/i);
    expect(html).toContain(room);

    const cookies = cookiesOf(res);
    const line = cookies.get(`spillway-ticket-${room}`);
    expect(line).toBeDefined();
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).toMatch(/;\s*Path=\//i);
    expect(line).not.toMatch(/;\s*Secure/i);
    expect(cookies.has(`spillway-pass-${room}`)).toBe(false);
    const s = await stats(room);
    expect(s).toMatchObject({ joined: 1, queued: 1, active: 0 });

    // The same browser polling again keeps its place.
    const again = await call(`/rooms/${room}/`, {
      headers: { accept: "text/html", cookie: `spillway-ticket-${room}=${cookieValue(line!)}` },
    });
    expect(again.status).toBe(200);
    expect((await stats(room)).joined).toBe(1);
  });

  it("answers the waiting page when every seat is taken", async () => {
    const room = roomName("page-taken");
    await patchRoom(room, { capacity: 1 });
    const seated = (await join(room)).body;
    expect(seated.state).toBe("admitted");

    const res = await call(`/rooms/${room}/`, { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
    expect(cookiesOf(res).has(`spillway-ticket-${room}`)).toBe(true);
    expect(cookiesOf(res).has(`spillway-pass-${room}`)).toBe(false);
    expect(await stats(room)).toMatchObject({ active: 1, queued: 1, joined: 2 });
  });

  it("uses Secure __Host- cookies off localhost", async () => {
    const room = roomName("page-https");
    await patchRoom(room, { capacity: 0 });
    const res = await call(`https://example.com/rooms/${room}/`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const line = cookiesOf(res).get(`__Host-spillway-ticket-${room}`);
    expect(line).toBeDefined();
    expect(line).toMatch(/;\s*Secure/i);
    expect(line).toMatch(/;\s*HttpOnly/i);
    expect(line).toMatch(/;\s*SameSite=Lax/i);
    expect(line).toMatch(/;\s*Path=\/(;|$)/i);
    expect(line).not.toMatch(/;\s*Domain=/i);
  });

  it("answers the status JSON to an app asking for JSON", async () => {
    const room = roomName("page-json");
    await patchRoom(room, { capacity: 0 });
    const res = await call(`/rooms/${room}/`, { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
    const body = await res.json<Status>();
    expect(body).toMatchObject({ room, state: "queued", position: 1, ahead: 0 });
    expect(typeof body.ticket).toBe("string");
    expect(cookiesOf(res).get(`spillway-ticket-${room}`)).toContain(body.ticket!);
  });

  it("redirects a browser to the same path with a pass cookie when a seat is free, then serves the origin", async () => {
    const room = roomName("page-seat");
    const res = await call(`/rooms/${room}/listen?lang=fr`, { headers: { accept: "text/html" } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/rooms/${room}/listen?lang=fr`);
    const passLine = cookiesOf(res).get(`spillway-pass-${room}`);
    expect(passLine).toBeDefined();
    expect(passLine).toMatch(/;\s*HttpOnly/i);
    expect(passLine).toMatch(/;\s*SameSite=Lax/i);
    const pass = cookieValue(passLine!);
    const claims = passClaims(pass);
    expect(claims.aud).toBe(room);
    expect((await stats(room)).active).toBe(1);

    const page = await call(`/rooms/${room}/listen?lang=fr`, {
      headers: { accept: "text/html", cookie: `spillway-pass-${room}=${pass}` },
    });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html\b/);
    const html = await page.text();
    expect(html).toContain("LIVE");
    expect(html).toContain(claims.sid);
    expect(html).toContain(claims.sub);
    expect(html).toContain(`/rooms/${room}/listen`);

    const json = await call(`/rooms/${room}/listen`, {
      headers: { accept: "application/json", cookie: `spillway-pass-${room}=${pass}` },
    });
    expect(json.status).toBe(200);
    const body = await json.json<{ room: string; live: boolean; claims: Record<string, unknown> }>();
    expect(body).toMatchObject({
      room,
      live: true,
      claims: { sid: claims.sid, sub: claims.sub, aud: room, iss: "spillway" },
    });

    // The pass also works as a bearer, and using it takes no second seat.
    const viaBearer = await call(`/rooms/${room}/listen`, { headers: { ...bearer(pass), accept: "application/json" } });
    expect(viaBearer.status).toBe(200);
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.joined).toBe(1);
  });
});

describe("headers on personal answers", () => {
  it("puts a CSP, nosniff and no-store on Spillway's own answers, and leaves the origin's answers alone", async () => {
    const room = roomName("csp");
    await patchRoom(room, { capacity: 1 });
    const joined = await call(`/_spillway/rooms/${room}/join`, { method: "POST" });
    const { pass, ticket } = await joined.json<Status>();
    // The device that holds the seat polls (with its pass cookie, as a browser does): it keeps the seat.
    const polled = (await statusHolding(room, ticket!, pass!)).res;
    const refused = await call(`/_spillway/rooms/${room}/status`);
    const beat = await call(`/_spillway/rooms/${room}/heartbeat`, { method: "POST", headers: bearer(pass!) });
    const adminRead = await call(`/_spillway/admin/rooms/${room}`, { headers: { authorization: ADMIN } });
    for (const [name, res] of Object.entries({ joined, polled, refused, beat, adminRead })) {
      expect(res.headers.get("content-security-policy"), name).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("x-content-type-options"), name).toBe("nosniff");
      expect(res.headers.get("cache-control"), name).toBe("no-store");
    }
    // The waiting page keeps its own policy (with its script nonce).
    await patchRoom(room, { capacity: 0 });
    const page = await call(`/rooms/${room}/`, { headers: { accept: "text/html" } });
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'nonce-/);

    // What the origin (here the demo room) answers is forwarded as it is.
    const origin = await call(`/rooms/${room}/`, { headers: { accept: "text/html", ...bearer(pass!) } });
    expect(origin.status).toBe(200);
    expect(origin.headers.get("content-security-policy")).not.toBe("default-src 'none'; frame-ancestors 'none'");
  });
});

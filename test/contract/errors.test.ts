/**
 * Clean refusals over HTTP: bad room ids, the admin API without its token,
 * invalid admin bodies that change nothing, and a JWKS with public keys only.
 */
import { createPublicKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCall, type ConfigJson, type ErrorJson, join, send, type StatusJson } from "./support/http.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

const ADMIN = `errors-${crypto.randomUUID()}`;
const ROOM = "errors-room";

let worker: RunningWorker | undefined;

function base(): string {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker.url;
}

function expectJsonError(res: { status: number; headers: Headers; json: unknown }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = res.json as ErrorJson;
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
}

beforeAll(async () => {
  worker = await startWorker({ adminToken: ADMIN });
});

afterAll(async () => {
  await worker?.stop();
});

describe("room ids", () => {
  const bad = ["bad.room", "bad%20room", "caf%C3%A9", "x".repeat(65), "room%2Fsub", "%3Cscript%3E"];

  it.each(bad)("refuses %s on every listener endpoint with 400 bad_room", async (room) => {
    expectJsonError(await send(`${base()}/_spillway/rooms/${room}/join`, { method: "POST" }), 400, "bad_room");
    expectJsonError(await send(`${base()}/_spillway/rooms/${room}/status`), 400, "bad_room");
    expectJsonError(await send(`${base()}/_spillway/rooms/${room}/heartbeat`, { method: "POST" }), 400, "bad_room");
    expectJsonError(await send(`${base()}/_spillway/rooms/${room}/leave`, { method: "POST" }), 400, "bad_room");
    expectJsonError(await send(`${base()}/rooms/${room}/live.m3u8`), 400, "bad_room");
    expectJsonError(await send(`${base()}/rooms/${room}`), 400, "bad_room");
    expectJsonError(await adminCall(base(), ADMIN, "GET", `/rooms/${room}`), 400, "bad_room");
    expectJsonError(await adminCall(base(), ADMIN, "GET", `/rooms/${room}/stats`), 400, "bad_room");
  });

  it("accepts the longest and the most varied valid ids", async () => {
    for (const room of ["x".repeat(64), "A-z_0-9", "a"]) {
      const res = await join(base(), room);
      expect(res.status).toBe(200);
      expect(res.json.room).toBe(room);
    }
  });
});

describe("the admin API without its token", () => {
  const calls: [string, string, unknown][] = [
    ["GET", `/rooms/${ROOM}`, undefined],
    ["PATCH", `/rooms/${ROOM}`, { capacity: 1 }],
    ["GET", `/rooms/${ROOM}/stats`, undefined],
  ];

  it.each(calls)("%s %s answers 401 and no data", async (method, path, body) => {
    const headerSets: Record<string, string>[] = [
      {},
      { authorization: "Bearer not-the-token" },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}` },
      { authorization: "Bearer" },
    ];
    for (const headers of headerSets) {
      const res = await send(`${base()}/_spillway/admin${path}`, {
        method,
        headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expectJsonError(res, 401, "unauthorized");
      expect(res.text).not.toMatch(/capacity|active|queued/);
    }
  });

  it("an unauthorized PATCH changes nothing", async () => {
    const before = await adminCall<ConfigJson>(base(), ADMIN, "GET", `/rooms/${ROOM}`);
    expect(before.status).toBe(200);
    const res = await send(`${base()}/_spillway/admin/rooms/${ROOM}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ capacity: before.json.config.capacity + 5, mode: "closed" }),
    });
    expect(res.status).toBe(401);
    const after = await adminCall<ConfigJson>(base(), ADMIN, "GET", `/rooms/${ROOM}`);
    expect(after.json.config).toEqual(before.json.config);
  });
});

describe("invalid admin bodies", () => {
  const invalid: [string, string][] = [
    ["a negative capacity", JSON.stringify({ capacity: -1 })],
    ["a fractional capacity", JSON.stringify({ capacity: 2.5 })],
    ["a capacity as a string", JSON.stringify({ capacity: "5" })],
    ["admitPerMinute of 0", JSON.stringify({ admitPerMinute: 0 })],
    ["an unknown mode", JSON.stringify({ mode: "party" })],
    ["a valid field with an unknown one", JSON.stringify({ capacity: 3, colour: "blue" })],
    ["a valid field with an invalid one", JSON.stringify({ capacity: 3, mode: "party" })],
    ["an array", "[]"],
    ["null", "null"],
    ["a number", "42"],
    ["malformed JSON", '{"capacity": 3'],
    ["an empty body", ""],
  ];

  it("baseline: a valid PATCH applies", async () => {
    const res = await adminCall<ConfigJson>(base(), ADMIN, "PATCH", `/rooms/${ROOM}`, {
      capacity: 7,
      admitPerMinute: 70,
    });
    expect(res.status).toBe(200);
    expect(res.json.config).toMatchObject({ capacity: 7, admitPerMinute: 70 });
  });

  it.each(invalid)("refuses %s with 400 invalid_body and changes nothing", async (_name, body) => {
    const before = await adminCall<ConfigJson>(base(), ADMIN, "GET", `/rooms/${ROOM}`);
    expect(before.status).toBe(200);
    expect(before.json.config).toMatchObject({ capacity: 7, admitPerMinute: 70 });

    const res = await send(`${base()}/_spillway/admin/rooms/${ROOM}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body,
    });
    expectJsonError(res, 400, "invalid_body");

    const after = await adminCall<ConfigJson>(base(), ADMIN, "GET", `/rooms/${ROOM}`);
    expect(after.json).toEqual(before.json);
  });

  it("the room still admits by its unchanged config", async () => {
    const res = await join(base(), ROOM);
    expect(res.status).toBe(200);
    expect((res.json as StatusJson).state).toBe("admitted");
    const stats = await adminCall<{ capacity: number; admitPerMinute: number }>(
      base(),
      ADMIN,
      "GET",
      `/rooms/${ROOM}/stats`,
    );
    expect(stats.json).toMatchObject({ capacity: 7, admitPerMinute: 70 });
  });
});

describe("jwks.json", () => {
  it("lists EC P-256 public keys with a kid and no private part", async () => {
    const res = await send<{ keys: Record<string, unknown>[] }>(`${base()}/_spillway/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Array.isArray(res.json.keys)).toBe(true);
    expect(res.json.keys.length).toBeGreaterThan(0);
    const kids = new Set<string>();
    for (const jwk of res.json.keys) {
      expect(jwk.kty).toBe("EC");
      expect(jwk.crv).toBe("P-256");
      expect(typeof jwk.kid).toBe("string");
      expect((jwk.kid as string).length).toBeGreaterThan(0);
      expect(typeof jwk.x).toBe("string");
      expect(typeof jwk.y).toBe("string");
      expect(jwk).not.toHaveProperty("d");
      kids.add(jwk.kid as string);
      const key = createPublicKey({ key: jwk, format: "jwk" });
      expect(key.type).toBe("public");
      expect(key.asymmetricKeyType).toBe("ec");
    }
    expect(kids.size).toBe(res.json.keys.length);
  });

  it("the key that signs a new pass is listed", async () => {
    const res = await join(base(), "errors-jwks");
    expect(res.json.state).toBe("admitted");
    const header = JSON.parse(Buffer.from(res.json.pass!.split(".")[0]!, "base64url").toString("utf8")) as {
      kid?: string;
    };
    const keys = await send<{ keys: { kid: string }[] }>(`${base()}/_spillway/jwks.json`);
    expect(keys.json.keys.map((k) => k.kid)).toContain(header.kid);
  });
});

describe("anything else", () => {
  it("an unknown Spillway path is a JSON 404", async () => {
    expectJsonError(await send(`${base()}/_spillway/nothing-here`), 404, "not_found");
    expectJsonError(await adminCall(base(), ADMIN, "GET", "/nothing-here"), 404, "not_found");
  });
});

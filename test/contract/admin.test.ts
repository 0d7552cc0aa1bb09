/**
 * The admin API over HTTP against `npm start`, with named tokens given as a
 * secret: every route refuses a missing token (401) and a read-only token
 * that writes (403), invalid bodies change nothing, the audit names who
 * changed what, and a change is seen by a fresh edge request within 2 s.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCall, type ConfigJson, type ErrorJson, join, send } from "./support/http.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

let worker: RunningWorker | undefined;
const ROOM = "ops-contract";
const WRITER = `writer-${crypto.randomUUID()}`;
const READER = `reader-${crypto.randomUUID()}`;

beforeAll(async () => {
  const tokens = [
    { name: "ops-bob", token: WRITER, access: "write" },
    { name: "wallboard", token: READER, access: "read" },
  ];
  worker = await startWorker({
    adminToken: `adm-${crypto.randomUUID()}`,
    vars: { ADMIN_TOKENS: JSON.stringify(tokens) },
  });
});

afterAll(async () => {
  await worker?.stop();
});

function w(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker;
}

const ROUTES: [string, string, unknown?][] = [
  ["GET", "/rooms"],
  ["GET", `/rooms/${ROOM}`],
  ["PATCH", `/rooms/${ROOM}`, { capacity: 3 }],
  ["GET", `/rooms/${ROOM}/stats`],
  ["GET", `/rooms/${ROOM}/audit`],
  ["POST", `/rooms/${ROOM}/release`, { pass: "a.b.c" }],
];

describe("admin API over HTTP", () => {
  it("answers 401 without a token on every route, and 403 to a read-only token that writes", async () => {
    for (const [method, path, body] of ROUTES) {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const none = await send<ErrorJson>(`${w().url}/_spillway/admin${path}`, { method, body: payload });
      expect(none.status, `${method} ${path}`).toBe(401);
      expect(none.json.error.code).toBe("unauthorized");
      const read = await adminCall<ErrorJson>(w().url, READER, method, path, body);
      expect(read.status, `${method} ${path} read-only`).toBe(method === "GET" ? 200 : 403);
    }
  });

  it("changes nothing for invalid bodies, audits changes by token name, and a fresh edge request sees a change within 2 s", async () => {
    const set = await adminCall<ConfigJson>(w().url, WRITER, "PATCH", `/rooms/${ROOM}`, { capacity: 1, mode: "open" });
    expect(set.status).toBe(200);
    const before = (await adminCall(w().url, WRITER, "GET", `/rooms/${ROOM}`)).json;
    for (const bad of ['{"capacity":"ten"}', '{"mode":"maybe","capacity":2}', "nope", '{"capacity":1e309}']) {
      expect((await adminCall(w().url, WRITER, "PATCH", `/rooms/${ROOM}`, bad)).status).toBe(400);
    }
    expect((await adminCall(w().url, WRITER, "GET", `/rooms/${ROOM}`)).json).toEqual(before);

    expect((await join(w().url, ROOM)).json.state).toBe("admitted");
    const changedAt = performance.now();
    expect((await adminCall(w().url, WRITER, "PATCH", `/rooms/${ROOM}`, { mode: "closed" })).status).toBe(200);
    let state = "";
    while (performance.now() - changedAt < 3_000) {
      state = (await join(w().url, ROOM)).json.state;
      if (state === "closed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(state).toBe("closed");
    expect(performance.now() - changedAt).toBeLessThan(2_000);

    const audit = await adminCall<{
      entries: { by: string; changes: Record<string, { from: unknown; to: unknown }> }[];
    }>(w().url, READER, "GET", `/rooms/${ROOM}/audit`);
    expect(audit.json.entries.map((e) => e.by)).toEqual(["ops-bob", "ops-bob"]);
    expect(audit.json.entries[1]!.changes).toEqual({ mode: { from: "open", to: "closed" } });
    const rooms = await adminCall<{ rooms: { room: string }[] }>(w().url, READER, "GET", "/rooms");
    expect(rooms.json.rooms.map((r) => r.room)).toContain(ROOM);
  });
});

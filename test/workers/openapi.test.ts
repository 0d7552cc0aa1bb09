/**
 * The OpenAPI document as the Worker serves it, checked against the
 * Worker's own answers: a listener's status JSON in every state, its leave
 * and error answers, the JWKS and the admin answers each validate against
 * the document's JSON Schema and against the valibot schema the code's
 * types come from, and carry no field the document does not name; and its
 * paths are the routes the Worker's router holds.
 */
import { inspectRoutes } from "hono/dev";
import * as v from "valibot";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/http/app.tsx";
import { CHALLENGE_WORKER_PATH } from "../../src/pages/challenge/worker.ts";
import type { OpenApiDocument, SchemaName } from "../../src/contract/openapi.ts";
import {
  AuditTrailSchema,
  ConfigStateSchema,
  ErrorBodySchema,
  JwksSchema,
  LeaveAnswerSchema,
  ReleaseAnswerSchema,
  RoomHistorySchema,
  RoomListSchema,
  RoomStatsSchema,
  StatusSchema,
} from "../../src/contract/schemas.ts";
import { deref, documentedOperations, schemaErrors, templateOf } from "../openapi-check.ts";
import {
  ADMIN,
  advance,
  bearer,
  call,
  heartbeat,
  join,
  leave,
  patchRoom,
  roomName,
  status,
  type Status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

let doc: OpenApiDocument;

beforeAll(async () => {
  const res = await call("/_spillway/openapi.json");
  doc = await res.json<OpenApiDocument>();
});

/** The named schema of the served document, `$ref`s followed. */
function documented(name: SchemaName): { properties: Record<string, unknown>; required: string[] } {
  return deref(doc, doc.components.schemas[name] as { properties: Record<string, unknown>; required: string[] });
}

/**
 * `body` is what the document says `name` is: valid by its JSON Schema and
 * by the valibot schema, with every required field and no field the
 * document does not name.
 */
function expectDocumented(name: SchemaName, schema: v.GenericSchema, body: unknown): void {
  const what = `${name}: ${JSON.stringify(body)}`;
  expect(schemaErrors(doc, name, body), what).toEqual([]);
  const parsed = v.safeParse(schema, body);
  expect(parsed.issues?.map((i) => `${v.getDotPath(i)} ${i.message}`) ?? [], what).toEqual([]);
  const { properties, required } = documented(name);
  const keys = Object.keys(body as object);
  for (const key of required) expect(keys, what).toContain(key);
  for (const key of keys) expect(Object.keys(properties), what).toContain(key);
}

/** A status answer, documented; its state returned for the test to check. */
function documentedStatus(body: Status): Status {
  expectDocumented("Status", StatusSchema, body);
  return body;
}

async function poll(room: string, token: string): Promise<Status> {
  const res = await call(`/_spillway/rooms/${room}/status`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return res.json<Status>();
}

function admin(path: string, init: RequestInit = {}): Promise<Response> {
  return call(`/_spillway/admin${path}`, {
    ...init,
    headers: { authorization: ADMIN, "content-type": "application/json", ...init.headers },
  });
}

/**
 * Routes the document leaves out on purpose, in the router's syntax, each
 * with why. (The dashboard's page and the demo origin are not routes: a
 * middleware of admin.ts serves the page, the guarded path calls the demo.)
 */
const UNDOCUMENTED: Record<string, string> = {
  [`GET ${CHALLENGE_WORKER_PATH}`]: "the waiting page's own solver script, not an API",
  "ALL /_spillway/admin/*": "the admin API's 404 for any path it does not have",
  "POST /_spillway/origins/icecast/listener":
    "Icecast's URL authentication hook, Icecast's own form protocol (docs/origins/icecast-hook.md)",
  "POST /_spillway/origins/livekit/webhook":
    "LiveKit's webhooks, LiveKit's own signed event protocol (docs/origins/livekit.md)",
  "POST /_spillway/origins/janus/events":
    "Janus's event handler posts, Janus's own event format (docs/origins/janus.md)",
  "ALL /rooms/:room": "the bare room: /rooms/{room}/{path} covers it (its `path` parameter says so)",
};

/** The router's endpoints (middleware left out), as `METHOD /path` in its own syntax. */
function routerEndpoints(): string[] {
  const endpoints = inspectRoutes(app)
    .filter((route) => !route.isMiddleware)
    .map((route) => `${route.method} ${route.path}`);
  return [...new Set(endpoints)];
}

describe("the document's paths", () => {
  it("are the routes the Worker's router holds, and every route is documented or listed as left out", () => {
    const endpoints = routerEndpoints();
    const described = documentedOperations(doc);
    for (const left of Object.keys(UNDOCUMENTED))
      expect(endpoints, `left out but not a route: ${left}`).toContain(left);
    for (const endpoint of endpoints.filter((e) => !Object.hasOwn(UNDOCUMENTED, e))) {
      const [method, path] = endpoint.split(" ") as [string, string];
      const template = templateOf(path);
      // A route for any method (the guarded path) is one operation of its path in the document.
      const documented =
        method === "ALL"
          ? described.some((op) => op.endsWith(` ${template}`))
          : described.includes(`${method} ${template}`);
      expect(documented, `a route the document does not describe: ${endpoint}`).toBe(true);
    }
    const routed = endpoints.map((e) => {
      const [method, path] = e.split(" ") as [string, string];
      return { method, template: templateOf(path) };
    });
    for (const op of described) {
      const [method, template] = op.split(" ") as [string, string];
      const found = routed.some((r) => r.template === template && (r.method === method || r.method === "ALL"));
      expect(found, `documented but no route answers it: ${op}`).toBe(true);
    }
  });
});

describe("GET /_spillway/openapi.json", () => {
  it("answers the document without a token: JSON, public for five minutes", async () => {
    const res = await call("/_spillway/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const body = await res.json<OpenApiDocument>();
    expect(body.openapi).toMatch(/^3\.1\./);
    expect(body.info.title).toBe("Spillway");
    expect(body.paths).toHaveProperty(["/_spillway/rooms/{room}/status"]);
  });
});

describe("a listener's answers match the document", () => {
  it("in every state, and the leave answer", async () => {
    const room = roomName("openapi");
    await patchRoom(room, { capacity: 1 });

    const first = await join(room);
    expect(documentedStatus(first.body).state).toBe("admitted");
    const second = await join(room);
    expect(documentedStatus(second.body).state).toBe("queued");
    expect(second.res.headers.get("retry-after")).toBe(String(second.body.pollAfterSeconds));
    const polled = await status(room, second.body.ticket!);
    expect(documentedStatus(polled.body).state).toBe("queued");

    const renewed = await heartbeat(room, first.body.pass!);
    expect(renewed.status).toBe(200);
    expect(documentedStatus(await renewed.json<Status>()).state).toBe("admitted");

    // Overflow: a new arrival is offered the recording, with a token to poll it with.
    await patchRoom(room, { mode: "overflow" });
    advance(t.clock, 2_000);
    const offered = await join(room);
    expect(documentedStatus(offered.body).state).toBe("overflow");
    expect(offered.body.offer).toEqual({ reason: "mode", canKeepPlace: expect.any(Boolean) });
    expect(documentedStatus(await poll(room, offered.body.overflowToken!)).state).toBe("overflow");

    // Closed, with the recording posted.
    await patchRoom(room, { mode: "closed", recordingUrl: "https://example.com/recording" });
    advance(t.clock, 2_000);
    const closed = documentedStatus(await poll(room, second.body.ticket!));
    expect(closed).toMatchObject({ state: "closed", recordingUrl: "https://example.com/recording" });

    const left = await leave(room, first.body.pass!);
    expect(left.status).toBe(200);
    expectDocumented("LeaveAnswer", LeaveAnswerSchema, await left.json());
  });

  it("before the start (prequeue), and through the guarded path with Accept: application/json", async () => {
    const room = roomName("openapi-pre");
    await patchRoom(room, { startsAt: new Date(t.clock.now() + 60_000).toISOString() });
    const early = await join(room);
    expect(documentedStatus(early.body).state).toBe("prequeue");
    expect(early.res.headers.get("retry-after")).toBe(String(early.body.pollAfterSeconds));

    const res = await call(`/rooms/${room}/stage`, { headers: { accept: "application/json" } });
    expect(res.status).toBe(200);
    expect(documentedStatus(await res.json<Status>()).state).toBe("prequeue");
  });

  it("when refused: the error body, with a code the operation's answer for that status lists", async () => {
    const room = roomName("openapi-err");
    const res = await call(`/_spillway/rooms/${room}/status`);
    expect(res.status).toBe(401);
    const body = await res.json();
    expectDocumented("Error", ErrorBodySchema, body);
    const answer = doc.paths["/_spillway/rooms/{room}/status"]!.get!.responses["401"] as {
      content: Record<string, { schema: object }>;
    };
    expect(schemaErrors(doc, answer.content["application/json"]!.schema, body)).toEqual([]);

    const invalid = await admin(`/rooms/${room}`, { method: "PATCH", body: JSON.stringify({ capacity: -1 }) });
    expect(invalid.status).toBe(400);
    const fields = await invalid.json();
    expectDocumented("Error", ErrorBodySchema, fields);
    expect(fields).toHaveProperty(["error", "fields", 0, "field"], "capacity");
  });
});

describe("the JWKS and the admin answers match the document", () => {
  it("for every admin endpoint that answers JSON", async () => {
    const jwks = await call("/_spillway/jwks.json");
    expectDocumented("Jwks", JwksSchema, await jwks.json());

    const room = roomName("openapi-admin");
    const patched = await admin(`/rooms/${room}`, {
      method: "PATCH",
      body: JSON.stringify({ capacity: 2, title: "Late show", maxQueue: null }),
    });
    expect(patched.status).toBe(200);
    expectDocumented("ConfigState", ConfigStateSchema, await patched.json());
    const { body } = await join(room);
    expect(body.state).toBe("admitted");

    expectDocumented("RoomList", RoomListSchema, await (await admin("/rooms")).json());
    expectDocumented("ConfigState", ConfigStateSchema, await (await admin(`/rooms/${room}`)).json());
    expectDocumented("RoomStats", RoomStatsSchema, await (await admin(`/rooms/${room}/stats`)).json());
    expectDocumented("RoomHistory", RoomHistorySchema, await (await admin(`/rooms/${room}/history`)).json());
    const audit = await (await admin(`/rooms/${room}/audit`)).json();
    expect(audit).toHaveProperty(["entries", "length"], 1);
    expectDocumented("AuditTrail", AuditTrailSchema, audit);

    const released = await admin(`/rooms/${room}/release`, {
      method: "POST",
      body: JSON.stringify({ pass: body.pass }),
    });
    expect(released.status).toBe(200);
    expectDocumented("ReleaseAnswer", ReleaseAnswerSchema, await released.json());
  });
});

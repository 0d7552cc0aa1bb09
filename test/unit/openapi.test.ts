/**
 * The OpenAPI document: OpenAPI 3.1 in structure (every reference resolves,
 * every path parameter is declared), and generated from the same schemas as
 * the code: the status JSON in every state, the error body and its codes,
 * the admin PATCH body (config.ts's RoomConfigPatchSchema itself).
 */
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { version } from "../../package.json";
import { RoomConfigPatchSchema } from "../../src/policy/config.ts";
import { ERROR_CODES, errorBody, statusOf } from "../../src/contract/errors.ts";
import {
  OPENAPI_PATH,
  openApiDocument,
  openApiJson,
  statusExamples,
  directStatusExamples,
} from "../../src/contract/openapi.ts";
import { ErrorBodySchema, LaneStatsSchema, LISTENER_STATES, StatusSchema } from "../../src/contract/schemas.ts";
import { deref, documentedOperations, refsIn, resolvePointer, schemaErrors, templateOf } from "../openapi-check.ts";

const doc = openApiDocument();

type JsonObject = Record<string, unknown>;
type Ref = { $ref: string };
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  operationId: string;
  parameters?: (Parameter | Ref)[];
  requestBody?: { content: Record<string, { schema: JsonObject }> };
  responses: Record<string, JsonObject>;
  security: Record<string, string[]>[];
}

const METHODS = ["get", "post", "patch"] as const;

/** Every operation of the document: method, path, the operation and its path item's parameters. */
function operations(): { method: string; path: string; op: Operation; shared: (Parameter | Ref)[] }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((method) => ({
      method,
      path,
      op: item[method] as unknown as Operation,
      shared: item.parameters ?? [],
    })),
  );
}

function operation(method: (typeof METHODS)[number], path: string): Operation {
  const op = doc.paths[path]?.[method];
  if (op === undefined) throw new Error(`no ${method} ${path} in the document`);
  return op as unknown as Operation;
}

function component(name: string): JsonObject {
  return deref(doc, doc.components.schemas[name] as JsonObject);
}

/** The keys of a valibot object schema that an answer must carry (not wrapped in optional). */
function requiredKeys(entries: Record<string, { type: string }>): string[] {
  return Object.entries(entries)
    .filter(([, schema]) => schema.type !== "optional")
    .map(([key]) => key);
}

describe("the document's structure", () => {
  it("is OpenAPI 3.1 with info, tags, paths and components", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe("Spillway");
    expect(doc.info.version).toBe(version);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10);
    for (const part of ["schemas", "parameters", "headers", "examples", "securitySchemes"] as const) {
      expect(Object.keys(doc.components[part]).length).toBeGreaterThan(0);
    }
    const tags = new Set(doc.tags.map((t) => t.name));
    for (const { op } of operations()) expect(op).toHaveProperty("tags", [expect.toSatisfy((t) => tags.has(t))]);
  });

  it("resolves every $ref, all of them inside components", () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of refs) {
      expect(ref).toMatch(/^#\/components\/(schemas|parameters|headers|examples)\/[\w-]+$/);
      expect(() => resolvePointer(doc, ref), ref).not.toThrow();
    }
  });

  it("declares exactly the parameters each path template names, as required path parameters", () => {
    for (const { method, path, op, shared } of operations()) {
      const declared = [...shared, ...(op.parameters ?? [])].map((p) => deref(doc, p));
      const inPath = declared.filter((p) => p.in === "path");
      const named = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(inPath.map((p) => p.name).sort(), `${method} ${path}`).toEqual(named.sort());
      for (const p of inPath) expect(p.required, `${method} ${path} ${p.name}`).toBe(true);
      const keys = declared.map((p) => `${p.in}:${p.name}`);
      expect(new Set(keys).size, `${method} ${path}: a parameter twice`).toBe(keys.length);
    }
  });

  it("gives every operation a unique id, a success answer, and security from the declared schemes", () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { method, path, op } of operations()) {
      expect(
        Object.keys(op.responses).some((s) => /^[23]\d\d$/.test(s)),
        `${method} ${path}`,
      ).toBe(true);
      for (const requirement of op.security) {
        for (const scheme of Object.keys(requirement)) expect(doc.components.securitySchemes).toHaveProperty(scheme);
      }
    }
  });

  it("reads router paths as its path templates (the Workers test compares them with the router)", () => {
    expect(templateOf("/_spillway/rooms/:room/join")).toBe("/_spillway/rooms/{room}/join");
    expect(templateOf("/rooms/:room/*")).toBe("/rooms/{room}/{path}");
    expect(templateOf("/rooms/:id{[a-z]+}/x")).toBe("/rooms/{id}/x");
    expect(templateOf(OPENAPI_PATH)).toBe(OPENAPI_PATH);
    const described = documentedOperations(doc);
    expect(described).toContain("POST /_spillway/rooms/{room}/join");
    expect(described).toContain("PATCH /_spillway/admin/rooms/{room}");
    expect(described).toHaveLength(operations().length);
  });

  it("needs the admin token on every admin operation and never on a listener's", () => {
    for (const { path, op } of operations()) {
      const schemes = op.security.flatMap((r) => Object.keys(r));
      if (path.startsWith("/_spillway/admin/")) expect(op.security, path).toEqual([{ admin: [] }]);
      else expect(schemes, path).not.toContain("admin");
    }
    expect(operation("get", "/_spillway/jwks.json").security).toEqual([]);
    expect(operation("get", OPENAPI_PATH).security).toEqual([]);
    // A join takes a place without a token, or answers the ticket it is sent with.
    expect(operation("post", "/_spillway/rooms/{room}/join").security).toEqual([{}, { ticket: [] }]);
    expect(operation("post", "/_spillway/rooms/{room}/heartbeat").security).toEqual([{ pass: [] }]);
  });

  it("is built once per isolate, and served as the same document", () => {
    expect(openApiDocument()).toBe(doc);
    expect(openApiJson()).toBe(openApiJson());
    expect(JSON.parse(openApiJson())).toEqual(doc);
  });
});

describe("the status JSON", () => {
  it("lists every state", () => {
    expect(component("Status")["properties"]).toHaveProperty("state", { $ref: "#/components/schemas/ListenerState" });
    expect(component("ListenerState")["enum"]).toEqual([...LISTENER_STATES]);
    expect(LISTENER_STATES).toEqual(["prequeue", "queued", "admitted", "overflow", "closed"]);
  });

  it("has the fields of the valibot schema, required exactly where it requires them", () => {
    const status = component("Status");
    expect(Object.keys(status["properties"] as JsonObject)).toEqual(Object.keys(StatusSchema.entries));
    expect(status["required"]).toEqual(requiredKeys(StatusSchema.entries));
    expect(status["required"]).toEqual([
      "room",
      "state",
      "position",
      "ahead",
      "etaSeconds",
      "pollAfterSeconds",
      "startsAt",
      "recordingUrl",
    ]);
  });

  it("has one example per state, each valid by valibot and by the document's JSON Schema", () => {
    const examples = statusExamples();
    expect(Object.keys(examples)).toEqual([...LISTENER_STATES]);
    for (const [state, example] of Object.entries(examples)) {
      expect(example.state).toBe(state);
      expect(v.safeParse(StatusSchema, example).success, state).toBe(true);
      expect(schemaErrors(doc, "Status", example), state).toEqual([]);
      expect(doc.components.examples[`status-${state}`]?.value).toEqual(example);
    }
  });

  it("has an admitted example per direct mode, with its connect, valid by valibot and by the JSON Schema", () => {
    const examples = directStatusExamples();
    expect(Object.keys(examples)).toEqual(["icecast", "janus", "livekit"]);
    for (const [kind, example] of Object.entries(examples)) {
      expect(example.connect?.kind).toBe(kind);
      expect(v.safeParse(StatusSchema, example).success, kind).toBe(true);
      expect(schemaErrors(doc, "Status", example), kind).toEqual([]);
      expect(doc.components.examples[`status-admitted-${kind}`]?.value).toEqual(example);
    }
    // A connect of one kind with another's fields is refused by both.
    const wrong = { ...examples.janus, connect: { ...examples.janus.connect, kind: "livekit" } };
    expect(v.safeParse(StatusSchema, wrong).success).toBe(false);
    expect(schemaErrors(doc, "Status", wrong)).not.toEqual([]);
  });

  it("is refused by the JSON Schema where valibot refuses it", () => {
    const queued = statusExamples().queued;
    const wrong: unknown[] = [
      { ...queued, state: "waiting" },
      { ...queued, position: 0 },
      { ...queued, pollAfterSeconds: 1.5 },
      { ...queued, passExpiresAt: "tomorrow" },
      { ...queued, room: "a.b" },
      { ...queued, ticket: "not a token" },
      { ...queued, offer: { reason: "full", canKeepPlace: true } },
      Object.fromEntries(Object.entries(queued).filter(([key]) => key !== "etaSeconds")),
    ];
    for (const body of wrong) {
      expect(v.safeParse(StatusSchema, body).success, JSON.stringify(body)).toBe(false);
      expect(schemaErrors(doc, "Status", body), JSON.stringify(body)).not.toEqual([]);
    }
  });

  it("comes with Retry-After on the answers of join, status and the guarded path", () => {
    const retryAfter = { $ref: "#/components/headers/RetryAfter" };
    for (const [method, path] of [
      ["post", "/_spillway/rooms/{room}/join"],
      ["get", "/_spillway/rooms/{room}/status"],
      ["get", "/rooms/{room}/{path}"],
    ] as const) {
      const ok = operation(method, path).responses["200"] as { headers: JsonObject; content: JsonObject };
      expect(ok.headers["Retry-After"], path).toEqual(retryAfter);
      expect(ok.content["application/json"], path).toHaveProperty("schema", {
        $ref: "#/components/schemas/Status",
      });
    }
    expect(doc.components.headers).toHaveProperty(["RetryAfter", "schema"], { type: "integer", minimum: 1 });
  });
});

describe("errors", () => {
  it("has every error code in the error schema", () => {
    expect(component("ErrorCode")["enum"]).toEqual([...ERROR_CODES]);
    for (const code of ERROR_CODES) {
      expect(v.safeParse(ErrorBodySchema, errorBody(code)).success, code).toBe(true);
      expect(schemaErrors(doc, "Error", errorBody(code)), code).toEqual([]);
    }
  });

  it("keeps each code's status, in the documented order (the contract: a change here breaks clients)", () => {
    const statuses = {
      bad_room: 400,
      bad_path: 400,
      invalid_body: 400,
      ticket_required: 401,
      pass_required: 401,
      invalid_token: 401,
      token_expired: 401,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      method_not_allowed: 405,
      seat_ended: 409,
      connection_replaced: 409,
      body_too_large: 413,
      headers_too_large: 431,
      internal: 500,
      origin_unreachable: 502,
      unavailable: 503,
      challenge_required: 401,
      challenge_failed: 401,
      challenge_used: 409,
      too_many_joins: 429,
      identity_refused: 401,
    };
    expect([...ERROR_CODES]).toEqual(Object.keys(statuses));
    expect(Object.fromEntries(ERROR_CODES.map((code) => [code, statusOf(code)]))).toEqual(statuses);
    for (const code of ERROR_CODES) expect(errorBody(code).error.message, code).toMatch(/^[A-Z].*\.$/);
  });

  it("answers each operation's error codes under their own HTTP status, with the error schema", () => {
    for (const { method, path, op } of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const media = (response as { content: Record<string, { schema: JsonObject }> }).content["application/json"]!;
        const [base, narrowed] = media.schema["allOf"] as [JsonObject, JsonObject];
        expect(base).toEqual({ $ref: "#/components/schemas/Error" });
        const codes = (narrowed as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties
          .error.properties.code.enum;
        for (const code of codes) {
          expect(statusOf(code as (typeof ERROR_CODES)[number]), `${method} ${path} ${code}`).toBe(Number(status));
          expect(schemaErrors(doc, media.schema, errorBody(code as (typeof ERROR_CODES)[number]))).toEqual([]);
        }
        const other = ERROR_CODES.find((c) => !codes.includes(c))!;
        expect(schemaErrors(doc, media.schema, errorBody(other)), `${method} ${path} ${status}`).not.toEqual([]);
      }
    }
  });
});

describe("the admin API", () => {
  it("takes config.ts's RoomConfigPatchSchema as the PATCH body", () => {
    const body = operation("patch", "/_spillway/admin/rooms/{room}").requestBody!.content["application/json"]!;
    expect(body.schema).toEqual({ $ref: "#/components/schemas/RoomConfigPatch" });
    const patch = component("RoomConfigPatch");
    expect(Object.keys(patch["properties"] as JsonObject)).toEqual(Object.keys(RoomConfigPatchSchema.entries));
    expect(patch["required"]).toEqual([]);
    expect(patch["additionalProperties"]).toBe(false);
  });

  it("agrees with valibot about which patches are valid, where JSON Schema can say it", () => {
    const samples: unknown[] = [
      { capacity: 50 },
      { capacity: -1 },
      { capacity: 1.5 },
      { admitPerMinute: 0 },
      { mode: "overflow" },
      { mode: "paused" },
      { shards: 1025 },
      { maxWaitSeconds: null, maxQueue: 0 },
      { startsAt: "2026-11-22T19:00:00Z" },
      { startsAt: "at eight" },
      { recordingUrl: "https://example.com/r" },
      { recordingUrl: "not a url" },
      { accentColor: "#1f4fd1" },
      { accentColor: "#1f4fdz" },
      { title: "Late show" },
      { title: "two\nlines" },
      { capacity: 1, extra: true },
      {},
      { lanes: { stage: { reserved: 20 }, priority: { share: 0.3, cap: 100 } }, inviteOnly: true },
      { lanes: null, identity: null, inviteOnly: false },
      { lanes: { stage: { reserved: -1 } } },
      { lanes: { stage: { share: 1.5 } } },
      { lanes: { stage: { seats: 3 } } },
      { lanes: { Stage: {} } },
      { inviteOnly: "yes" },
      {
        identity: {
          issuer: "https://login.example.com",
          audience: "spillway",
          keys: { jwksUrl: "https://login.example.com/jwks.json" },
          lanes: [{ lane: "stage", claim: "role", anyOf: ["host", 1, true] }],
        },
      },
      { identity: { issuer: "https://login.example.com", audience: "spillway", lanes: [] } },
      {
        identity: {
          issuer: "https://login.example.com",
          audience: "spillway",
          keys: { hmacSecretName: "IDENTITY_LOGIN" },
          lanes: [{ lane: "stage", claim: "role", anyOf: [{}] }],
        },
      },
    ];
    for (const sample of samples) {
      const valid = v.safeParse(RoomConfigPatchSchema, sample).success;
      expect(schemaErrors(doc, "RoomConfigPatch", sample).length === 0, JSON.stringify(sample)).toBe(valid);
    }
  });

  it("documents each line's numbers in the stats, and the lanes' in the samples", () => {
    const stats = component("RoomStats");
    expect(stats["required"]).toContain("lanes");
    expect((stats["properties"] as JsonObject)["lanes"]).toMatchObject({
      type: "array",
      items: { $ref: "#/components/schemas/LaneStats" },
    });
    const lane = component("LaneStats");
    expect(Object.keys(lane["properties"] as JsonObject)).toEqual(Object.keys(LaneStatsSchema.entries));
    expect(lane["required"]).toEqual(Object.keys(LaneStatsSchema.entries));
    for (const property of Object.values(lane["properties"] as Record<string, { description?: string }>)) {
      expect(property.description).toMatch(/^[A-Z`].*\.$/);
    }
    const general = {
      lane: "general",
      live: 3,
      queued: 0,
      admittedTotal: 3,
      waitP50Seconds: 1,
      waitP90Seconds: null,
      reserved: 0,
      cap: null,
      strict: null,
      share: null,
      admissionsPerMinute: null,
    };
    expect(schemaErrors(doc, "LaneStats", general)).toEqual([]);
    expect(v.safeParse(LaneStatsSchema, general).success).toBe(true);
    for (const wrong of [
      { ...general, live: -1 },
      { ...general, cap: 0 },
      { ...general, strict: "yes" },
    ]) {
      expect(schemaErrors(doc, "LaneStats", wrong), JSON.stringify(wrong)).not.toEqual([]);
      expect(v.safeParse(LaneStatsSchema, wrong).success).toBe(false);
    }
    expect(component("Sample")["required"]).not.toContain("lanes");
  });

  it("answers the config in force with every field of the patch, each required", () => {
    const config = component("RoomConfig");
    const fields = Object.keys(RoomConfigPatchSchema.entries);
    expect(Object.keys(config["properties"] as JsonObject)).toEqual(fields);
    expect(config["required"]).toEqual(fields);
    expect(component("ConfigState")["properties"]).toHaveProperty("overrides", {
      $ref: "#/components/schemas/RoomConfigPatch",
    });
  });
});

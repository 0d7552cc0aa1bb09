/**
 * The OpenAPI 3.1 document of Spillway's HTTP contract, served at
 * /_spillway/openapi.json.
 *
 * Its schemas are generated with @valibot/to-json-schema from the valibot
 * schemas the code's own types come from (schemas.ts; the admin PATCH body
 * is config.ts's RoomConfigPatchSchema itself), so what the document says a
 * status answer holds is what the code builds. The paths, headers and
 * security below are written by hand from the routes in app.tsx and
 * admin.ts; the error responses take their statuses and messages from
 * errors.ts, and the status examples are made by status.ts's builders.
 *
 * The document is built once per isolate, on first request: the schemas
 * never change at run time, and most isolates never serve it.
 */
import { type ConversionConfig, type JsonSchema, toJsonSchemaDefs } from "@valibot/to-json-schema";
import { RoomConfigPatchSchema } from "../policy/config.ts";
import { version } from "../../package.json";
import { OVERFLOW_TYP, PASS_TYP, TICKET_TYP } from "../tokens/claims.ts";
import { type ErrorCode, errorBody, statusOf } from "./errors.ts";
import * as shapes from "./schemas.ts";
import {
  admittedStatus,
  closedStatus,
  overflowStatus,
  prequeueStatus,
  queuedStatus,
  type StatusBody,
} from "./status.ts";

export const OPENAPI_PATH = "/_spillway/openapi.json";

// ---------------------------------------------------------------------------
// The document's types: only the parts of OpenAPI 3.1 this document uses.

type Ref = { $ref: string };

interface Example {
  summary?: string;
  value: unknown;
}

interface MediaType {
  schema: JsonSchema;
  examples?: Record<string, Example | Ref>;
}

interface Header {
  description: string;
  schema: JsonSchema;
}

interface Response {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, MediaType>;
}

interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  required: boolean;
  description: string;
  schema: JsonSchema;
}

interface RequestBody {
  description: string;
  required: boolean;
  content: Record<string, MediaType>;
}

type SecurityRequirement = Record<string, string[]>;

interface Operation {
  operationId: string;
  tags: string[];
  summary: string;
  description?: string;
  parameters?: (Parameter | Ref)[];
  requestBody?: RequestBody;
  responses: Record<string, Response | Ref>;
  /** `[]`: public. `{}` in the list: the credential is optional. */
  security: SecurityRequirement[];
}

interface PathItem {
  parameters?: Ref[];
  get?: Operation;
  post?: Operation;
  patch?: Operation;
}

interface SecurityScheme {
  type: "http";
  scheme: "bearer";
  bearerFormat?: string;
  description: string;
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; summary: string; description: string; license: { name: string } };
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, Parameter>;
    headers: Record<string, Header>;
    examples: Record<string, Example>;
    securitySchemes: Record<string, SecurityScheme>;
  };
}

// ---------------------------------------------------------------------------
// Schemas

/** The document's named schemas; a schema used inside another is referenced by name, not repeated. */
const SCHEMAS = {
  RoomId: shapes.RoomIdSchema,
  Token: shapes.JwtSchema,
  ListenerState: shapes.ListenerStateSchema,
  OverflowOffer: shapes.OverflowOfferSchema,
  Status: shapes.StatusSchema,
  LeaveAnswer: shapes.LeaveAnswerSchema,
  Jwks: shapes.JwksSchema,
  ErrorCode: shapes.ErrorCodeSchema,
  FieldError: shapes.FieldErrorSchema,
  Error: shapes.ErrorBodySchema,
  RoomList: shapes.RoomListSchema,
  RoomConfig: shapes.RoomConfigSchema,
  RoomConfigPatch: RoomConfigPatchSchema,
  ConfigState: shapes.ConfigStateSchema,
  RoomStats: shapes.RoomStatsSchema,
  Sample: shapes.SampleSchema,
  RoomHistory: shapes.RoomHistorySchema,
  AuditEntry: shapes.AuditEntrySchema,
  AuditTrail: shapes.AuditTrailSchema,
  ReleaseRequest: shapes.ReleaseRequestSchema,
  ReleaseAnswer: shapes.ReleaseAnswerSchema,
};

export type SchemaName = keyof typeof SCHEMAS;

function schemaRef(name: SchemaName): Ref {
  return { $ref: `#/components/schemas/${name}` };
}

/** "must be an http or https URL" → "Must be an http or https URL." */
function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1) + (text.endsWith(".") ? "" : ".");
}

function withNote(schema: JsonSchema, note: string): JsonSchema {
  const current = (schema as { description?: string }).description;
  return { ...schema, description: current === undefined ? note : `${current} ${note}` } as JsonSchema;
}

/**
 * The few validations JSON Schema cannot state exactly, made explicit rather
 * than dropped: conversion otherwise throws on them (errorMode "throw"), so
 * a new kind of rule in a schema fails the build of the document — and its
 * tests — instead of silently vanishing from it.
 */
const describeUncheckable: NonNullable<ConversionConfig["overrideAction"]> = ({ valibotAction, jsonSchema }) => {
  const action = valibotAction as { type: string; message?: unknown; requirement?: unknown };
  switch (action.type) {
    case "check":
      // A custom predicate: its message is the rule, in words.
      return typeof action.message === "string" ? withNote(jsonSchema, sentence(action.message)) : undefined;
    case "trim":
      return withNote(jsonSchema, "Surrounding whitespace is trimmed.");
    case "regex": {
      // JSON Schema patterns are ECMA-262 regexes meant to run with Unicode semantics: the `u` flag is implied.
      // The converter has set `pattern` already; anything but a lone `u` flag (or a second regex) stays an error.
      const regex = action.requirement;
      const own = regex instanceof RegExp && (jsonSchema as { pattern?: string }).pattern === regex.source;
      return own && regex.flags === "u" ? { ...jsonSchema } : undefined;
    }
    default:
      return undefined;
  }
};

const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  errorMode: "throw",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  overrideAction: describeUncheckable,
};

// ---------------------------------------------------------------------------
// Headers, parameters and security

const headerRef = (name: keyof typeof HEADERS): Ref => ({ $ref: `#/components/headers/${name}` });
const parameterRef = (name: keyof typeof PARAMETERS): Ref => ({ $ref: `#/components/parameters/${name}` });

const HEADERS = {
  RetryAfter: {
    description:
      "On waiting answers (prequeue, queued, overflow): seconds until the next poll, the same value as " +
      "`pollAfterSeconds`. On 502 `origin_unreachable`: when to try again.",
    schema: { type: "integer", minimum: 1 },
  },
  NoStore: { description: "Answers about one listener or one room are never cached.", schema: { const: "no-store" } },
  SpillwayPolicy: {
    description:
      "Present when the failure policy shaped the answer (a Durable Object could not be reached): `wait` (still " +
      "in line, placed from the last known view), `pass` (served on the current pass), `closed` (no new place " +
      "now) or `recording` (offered the recording instead). See docs/failure-policy.md.",
    schema: { enum: ["wait", "pass", "closed", "recording"] },
  },
  PublicCache: { description: "Public, the same for everyone.", schema: { const: "public, max-age=300" } },
  SetCookie: {
    description:
      "Browsers get their tokens as cookies, per room: `spillway-ticket-<room>`, `spillway-pass-<room>` and " +
      "`spillway-overflow-<room>`; HttpOnly, SameSite=Lax, path `/`, living as long as the token; on anything but " +
      "localhost Secure, with the `__Host-` prefix. Apps may ignore them and send the token from the body instead.",
    schema: { type: "string" },
  },
  WwwAuthenticate: { description: "The admin realm.", schema: { const: 'Bearer realm="spillway-admin"' } },
} satisfies Record<string, Header>;

const PARAMETERS = {
  Room: {
    name: "room",
    in: "path",
    required: true,
    description: "The room id.",
    schema: schemaRef("RoomId"),
  },
  Keep: {
    name: "keep",
    in: "query",
    required: false,
    description:
      "`1` (or `true`): take or keep a place in line instead of the recording offer, when the offer says " +
      "`canKeepPlace`.",
    schema: { enum: ["1", "true"] },
  },
  Path: {
    name: "path",
    in: "path",
    required: true,
    description: "Anything below the room, passed on to the origin; `/rooms/{room}` itself behaves the same.",
    schema: { type: "string" },
  },
  Challenge: {
    name: "Spillway-Challenge",
    in: "header",
    required: false,
    description:
      "Under-attack mode: the `token` of the challenge a `challenge_required` error handed out, sent back with " +
      "its solution.",
    schema: { type: "string" },
  },
  Solution: {
    name: "Spillway-Solution",
    in: "header",
    required: false,
    description:
      "Under-attack mode: a decimal nonce such that SHA-256 of `<challenge id>:<nonce>` starts with the " +
      "challenge's `bits` zero bits.",
    schema: { type: "string", pattern: "^[0-9]{1,32}$" },
  },
  AuditLimit: {
    name: "limit",
    in: "query",
    required: false,
    description: "How many of the latest entries (default 100).",
    schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
  },
  MetricsRoom: {
    name: "room",
    in: "query",
    required: false,
    description: "Only this room (default: every room that has been used).",
    schema: schemaRef("RoomId"),
  },
} satisfies Record<string, Parameter>;

/** How a browser holds a token of this kind, for the scheme's description. */
function cookieNote(kind: string): string {
  return (
    `Browsers hold it in the cookie \`spillway-${kind}-<room>\` (\`__Host-spillway-${kind}-<room>\` on anything ` +
    "but localhost), set by Spillway; a bearer token of the right kind wins over the cookie."
  );
}

const SECURITY_SCHEMES = {
  ticket: {
    type: "http",
    scheme: "bearer",
    bearerFormat: `JWT (typ ${TICKET_TYP}, HS256)`,
    description: `The queue ticket from \`join\`: a place in line. ${cookieNote("ticket")}`,
  },
  pass: {
    type: "http",
    scheme: "bearer",
    bearerFormat: `JWT (typ ${PASS_TYP}, ES256, verifiable with the JWKS)`,
    description: `The admission pass, when admitted: one seat, renewed by heartbeat. ${cookieNote("pass")}`,
  },
  overflowToken: {
    type: "http",
    scheme: "bearer",
    bearerFormat: `JWT (typ ${OVERFLOW_TYP}, HS256)`,
    description: `An offer of the recording, from an \`overflow\` answer. ${cookieNote("overflow")}`,
  },
  admin: {
    type: "http",
    scheme: "bearer",
    description:
      "`ADMIN_TOKEN` (named `admin`, read-write) or a named token from `ADMIN_TOKENS`, read or write. Without " +
      "one, 401 and no data; a read-only token that changes anything, 403.",
  },
} satisfies Record<string, SecurityScheme>;

type Credential = keyof typeof SECURITY_SCHEMES;

/** Any one of these credentials; `anonymous` adds the empty requirement (the credential is optional). */
function anyOf(credentials: Credential[], anonymous = false): SecurityRequirement[] {
  return [...(anonymous ? [{}] : []), ...credentials.map((c) => ({ [c]: [] }))];
}

// ---------------------------------------------------------------------------
// Responses

const json = (schema: JsonSchema, examples?: Record<string, Ref>): Record<string, MediaType> => ({
  "application/json": examples === undefined ? { schema } : { schema, examples },
});

/** Headers that go with an error code. */
const ERROR_HEADERS: Partial<Record<ErrorCode, Record<string, Ref>>> = {
  origin_unreachable: { "Retry-After": headerRef("RetryAfter") },
  unavailable: { "Retry-After": headerRef("RetryAfter"), "Spillway-Policy": headerRef("SpillwayPolicy") },
  too_many_joins: { "Retry-After": headerRef("RetryAfter") },
  unauthorized: { "WWW-Authenticate": headerRef("WwwAuthenticate") },
};

/** One response for codes that share an HTTP status: the error schema, its code narrowed to these. */
function errorResponse(codes: ErrorCode[]): Response {
  const headers = Object.assign({}, ...codes.map((code) => ERROR_HEADERS[code] ?? {})) as Record<string, Ref>;
  const narrowed = { properties: { error: { properties: { code: { enum: codes } } } } };
  const examples = Object.fromEntries(codes.map((code) => [code, exampleRef(errorExampleName(code))]));
  return {
    description: codes.map((code) => `\`${code}\`: ${errorBody(code).error.message}`).join(" "),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: json({ allOf: [schemaRef("Error"), narrowed] } as JsonSchema, examples),
  };
}

/** The error responses of an operation, by status (from errors.ts). */
function errorResponses(codes: ErrorCode[]): Record<string, Response> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([s, group]) => [String(s), errorResponse(group)]),
  );
}

/** Codes any listener request may meet. */
const LISTENER_ERRORS: ErrorCode[] = ["bad_room", "headers_too_large", "internal"];
/** Codes any admin request may meet. */
const ADMIN_ERRORS: ErrorCode[] = ["unauthorized", "headers_too_large", "internal", "unavailable"];
const TOKEN_ERRORS: ErrorCode[] = ["invalid_token", "token_expired"];
/** Codes a new arrival may meet in under-attack mode. */
const ARRIVAL_ERRORS: ErrorCode[] = ["challenge_required", "challenge_failed", "challenge_used", "too_many_joins"];

const EXAMPLE_START = Date.UTC(2026, 10, 22, 19, 0, 0);
const EXAMPLE_ROOM = "demo";
/** Stand-ins with the shape of a compact JWS (never valid signatures). */
const EXAMPLE_TOKEN = {
  ticket: "eyJhbGciOiJIUzI1NiIsInR5cCI6InNwaWxsd2F5LXRpY2tldCtqd3QifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
  pass: "eyJhbGciOiJFUzI1NiIsInR5cCI6InNwaWxsd2F5LXBhc3Mrand0In0.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
  overflow: "eyJhbGciOiJIUzI1NiIsInR5cCI6InNwaWxsd2F5LW92ZXJmbG93K2p3dCJ9.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
};

/**
 * One example answer per state, made by the builders the Worker answers with
 * (status.ts); tests validate them against the schema.
 */
export function statusExamples(): Record<StatusBody["state"], StatusBody> {
  const live = { startsAt: EXAMPLE_START, recordingUrl: null };
  const midway = () => 0.5;
  const { ticket, pass, overflow } = EXAMPLE_TOKEN;
  return {
    prequeue: { ...prequeueStatus(EXAMPLE_ROOM, EXAMPLE_START - 600_000, live), ticket },
    queued: { ...queuedStatus(EXAMPLE_ROOM, 12, 40, midway, live), ticket },
    admitted: admittedStatus(EXAMPLE_ROOM, pass, EXAMPLE_START / 1000 + 120, 60_000, live),
    overflow: {
      ...overflowStatus(EXAMPLE_ROOM, { reason: "max_wait", canKeepPlace: true, etaSeconds: 1800 }, live),
      overflowToken: overflow,
    },
    closed: closedStatus(EXAMPLE_ROOM, { ...live, recordingUrl: "https://example.com/recordings/demo" }),
  };
}

const exampleRef = (name: string): Ref => ({ $ref: `#/components/examples/${name}` });
const statusExampleName = (state: string) => `status-${state}`;
const errorExampleName = (code: ErrorCode) => `error-${code}`;

/** Every example, once: responses refer to them by name. */
function examples(): Record<string, Example> {
  const states = Object.entries(statusExamples()).map(([state, value]) => [
    statusExampleName(state),
    { summary: `state: ${state}`, value },
  ]);
  const errors = shapes.ERROR_CODES.map((code) => [errorExampleName(code), { summary: code, value: errorBody(code) }]);
  return Object.fromEntries([...states, ...errors]);
}

/** A status JSON answer (one example per state), with the headers every flow answer carries. */
function statusResponse(description: string, otherContent: Record<string, MediaType> = {}): Response {
  const examples = Object.fromEntries(
    shapes.LISTENER_STATES.map((state) => [state, exampleRef(statusExampleName(state))]),
  );
  return {
    description,
    headers: {
      "Retry-After": headerRef("RetryAfter"),
      "Cache-Control": headerRef("NoStore"),
      "Set-Cookie": headerRef("SetCookie"),
      "Spillway-Policy": headerRef("SpillwayPolicy"),
    },
    content: { ...json(schemaRef("Status"), examples), ...otherContent },
  };
}

/** An admin answer: JSON of this schema, never cached. */
function adminResponse(name: SchemaName, description: string): Response {
  return { description, headers: { "Cache-Control": headerRef("NoStore") }, content: json(schemaRef(name)) };
}

// ---------------------------------------------------------------------------
// Operations

const LISTENER = "listener";
const ORIGIN = "origin";
const ADMIN = "admin";

function listenerPaths(): Record<string, PathItem> {
  const room = [parameterRef("Room")];
  return {
    "/_spillway/rooms/{room}/join": {
      parameters: room,
      post: {
        operationId: "join",
        tags: [LISTENER],
        summary: "Take a place in line",
        description:
          "Answers the status JSON with a `ticket` (and a `pass` when a seat is free at once). Sent with a valid " +
          "ticket, it never takes a second place: it answers that ticket's status. Keep the ticket and retry with " +
          "it: a join without one takes a new place. In under-attack mode a new arrival first gets 401 " +
          "`challenge_required` with `error.challenge`; it joins again with the solution in `Spillway-Challenge` " +
          "and `Spillway-Solution` (a solution works once).",
        parameters: [parameterRef("Keep"), parameterRef("Challenge"), parameterRef("Solution")],
        security: anyOf(["ticket"], true),
        responses: {
          "200": statusResponse("Where the listener stands now."),
          ...errorResponses([...LISTENER_ERRORS, ...TOKEN_ERRORS, "seat_ended", ...ARRIVAL_ERRORS, "unavailable"]),
        },
      },
    },
    "/_spillway/rooms/{room}/status": {
      parameters: room,
      get: {
        operationId: "status",
        tags: [LISTENER],
        summary: "Where am I",
        description:
          "Sent with the ticket. When the turn has come this claims the seat and the answer includes the `pass`. " +
          "The device that holds the seat sends its pass along (a browser's cookie) and keeps it; the ticket alone " +
          "is another device's: the seat moves to it, answered `queued` (position 1) until no edge can honour the " +
          "other device's pass (a few seconds). " +
          "Sent with an overflow token instead, it answers `overflow` (or `closed`) with the current " +
          "`recordingUrl`. Poll again after `pollAfterSeconds` (`Retry-After`).",
        parameters: [parameterRef("Keep")],
        security: anyOf(["ticket", "overflowToken"]),
        responses: {
          "200": statusResponse("Where the listener stands now."),
          ...errorResponses([...LISTENER_ERRORS, "ticket_required", ...TOKEN_ERRORS, "seat_ended", "unavailable"]),
        },
      },
    },
    "/_spillway/rooms/{room}/heartbeat": {
      parameters: room,
      post: {
        operationId: "heartbeat",
        tags: [LISTENER],
        summary: "Keep the seat",
        description:
          "Sent with the pass, every `pollAfterSeconds` (a third of the pass lifetime): the answer is `admitted` " +
          "with a new `pass` for the same seat (same `sid`). 409 `seat_ended` when the seat was given back or lapsed.",
        security: anyOf(["pass"]),
        responses: {
          "200": statusResponse("The seat is kept: a renewed pass."),
          ...errorResponses([...LISTENER_ERRORS, "pass_required", ...TOKEN_ERRORS, "seat_ended", "unavailable"]),
        },
      },
    },
    "/_spillway/rooms/{room}/leave": {
      parameters: room,
      post: {
        operationId: "leave",
        tags: [LISTENER],
        summary: "Give the seat back",
        security: anyOf(["pass"]),
        responses: {
          "200": {
            description: "The seat is given back; the pass is refused from now on.",
            headers: { "Cache-Control": headerRef("NoStore"), "Set-Cookie": headerRef("SetCookie") },
            content: json(schemaRef("LeaveAnswer")),
          },
          ...errorResponses([...LISTENER_ERRORS, "pass_required", ...TOKEN_ERRORS, "unavailable"]),
        },
      },
    },
    "/rooms/{room}/{path}": {
      parameters: [...room, parameterRef("Path")],
      get: {
        operationId: "room",
        tags: [LISTENER],
        summary: "The guarded room",
        description:
          "With a valid pass: proxied to the origin (any method), the pass in a `Spillway-Pass` header, renewed on " +
          "the way past half its lifetime. Without one: joins (or keeps waiting) and answers the status JSON with " +
          "`Accept: application/json`, or the waiting page otherwise; a browser whose turn has come is redirected " +
          "(303) to the same URL with its pass cookie.",
        parameters: [parameterRef("Keep"), parameterRef("Challenge"), parameterRef("Solution")],
        security: anyOf(["pass", "ticket", "overflowToken"], true),
        responses: {
          "200": statusResponse(
            "With a pass: the origin's answer, as it is. Without: the status JSON (`Accept: application/json`) " +
              "or the waiting page (HTML).",
            { "text/html": { schema: { type: "string" } } },
          ),
          "303": {
            description: "A browser whose turn has come: the same URL again, now with its pass cookie.",
            headers: { "Set-Cookie": headerRef("SetCookie") },
          },
          ...errorResponses([
            ...LISTENER_ERRORS,
            "bad_path",
            ...TOKEN_ERRORS,
            "seat_ended",
            "origin_unreachable",
            ...ARRIVAL_ERRORS,
            "unavailable",
          ]),
        },
      },
    },
    "/_spillway/jwks.json": {
      get: {
        operationId: "jwks",
        tags: [ORIGIN],
        summary: "The public keys that verify passes",
        description:
          "Origins verify `Spillway-Pass` with these keys alone (ES256, `typ` spillway-pass+jwt, `aud` the room).",
        security: [],
        responses: {
          "200": {
            description: "The JSON Web Key Set.",
            headers: { "Cache-Control": headerRef("PublicCache") },
            content: json(schemaRef("Jwks")),
          },
          ...errorResponses(["headers_too_large", "internal"]),
        },
      },
    },
    [OPENAPI_PATH]: {
      get: {
        operationId: "openapi",
        tags: [ORIGIN],
        summary: "This document",
        security: [],
        responses: {
          "200": {
            description: "The OpenAPI 3.1 document.",
            headers: { "Cache-Control": headerRef("PublicCache") },
            content: { "application/json": { schema: { type: "object" } } },
          },
          ...errorResponses(["headers_too_large", "internal"]),
        },
      },
    },
  };
}

function adminPaths(): Record<string, PathItem> {
  const room = [parameterRef("Room")];
  const admin = anyOf(["admin"]);
  const reads = errorResponses([...ADMIN_ERRORS, "bad_room"]);
  const writes = (...more: ErrorCode[]) =>
    errorResponses([...ADMIN_ERRORS, "bad_room", "forbidden", "invalid_body", "body_too_large", ...more]);
  const read = (operationId: string, summary: string, name: SchemaName, answer: string): Operation => ({
    operationId,
    tags: [ADMIN],
    summary,
    security: admin,
    responses: { "200": adminResponse(name, answer), ...reads },
  });
  return {
    "/_spillway/admin/rooms": {
      get: {
        operationId: "listRooms",
        tags: [ADMIN],
        summary: "Every room that has been used",
        security: admin,
        responses: { "200": adminResponse("RoomList", "The rooms."), ...errorResponses(ADMIN_ERRORS) },
      },
    },
    "/_spillway/admin/rooms/{room}": {
      parameters: room,
      get: read("getRoomConfig", "The room's config", "ConfigState", "The config in force and this room's overrides."),
      patch: {
        operationId: "patchRoomConfig",
        tags: [ADMIN],
        summary: "Change the room's config",
        description:
          "Every edge applies a change within about 2 s; the audit trail records who changed what. Lowering " +
          "`capacity` evicts nobody.",
        security: admin,
        requestBody: {
          description:
            "Any subset of the config fields, nothing else (nullable ones take null). All or nothing: an invalid " +
            "body is a 400 `invalid_body` with `error.fields` and changes nothing. At most 16 KiB.",
          required: true,
          content: json(schemaRef("RoomConfigPatch")),
        },
        responses: { "200": adminResponse("ConfigState", "The config now in force."), ...writes() },
      },
    },
    "/_spillway/admin/rooms/{room}/stats": {
      parameters: room,
      get: read("roomStats", "Exact live numbers", "RoomStats", "Every shard reports before the numbers are read."),
    },
    "/_spillway/admin/rooms/{room}/history": {
      parameters: room,
      get: read("roomHistory", "The last hour, every 10 s", "RoomHistory", "The room's samples, oldest first."),
    },
    "/_spillway/admin/rooms/{room}/audit": {
      parameters: room,
      get: {
        ...read("roomAudit", "Who changed what, when", "AuditTrail", "The latest config changes, oldest first."),
        parameters: [parameterRef("AuditLimit")],
        responses: {
          "200": adminResponse("AuditTrail", "The latest config changes, oldest first."),
          ...errorResponses([...ADMIN_ERRORS, "bad_room", "invalid_body"]),
        },
      },
    },
    "/_spillway/admin/rooms/{room}/release": {
      parameters: room,
      post: {
        operationId: "releaseSeat",
        tags: [ADMIN],
        summary: "Free a listener's seat",
        description: "As the listener's own leave would: for an origin's \"participant left\" webhook.",
        security: admin,
        requestBody: {
          description: "The listener's pass. At most 16 KiB.",
          required: true,
          content: json(schemaRef("ReleaseRequest")),
        },
        responses: { "200": adminResponse("ReleaseAnswer", "Whether the seat was released."), ...writes() },
      },
    },
    "/_spillway/admin/metrics": {
      get: {
        operationId: "metrics",
        tags: [ADMIN],
        summary: "Prometheus metrics",
        parameters: [parameterRef("MetricsRoom")],
        security: admin,
        responses: {
          "200": {
            description: "Prometheus text exposition, every room (or `?room=`).",
            headers: { "Cache-Control": headerRef("NoStore") },
            content: { "text/plain; version=0.0.4; charset=utf-8": { schema: { type: "string" } } },
          },
          ...errorResponses([...ADMIN_ERRORS, "bad_room"]),
        },
      },
    },
  };
}

// ---------------------------------------------------------------------------
// The document

const DESCRIPTION = `Spillway is an edge admission controller for live audio rooms: it lets in as many live listeners as the
room's origin can carry, keeps everyone else in an honest queue, and offers the recording when the room is full.

Listeners (apps) **join** a room and get the status JSON with a **ticket**; they poll **status** with it every
\`pollAfterSeconds\` (also sent as \`Retry-After\`) until the answer is \`admitted\` with a **pass**, which opens the
guarded room path and is renewed by **heartbeat**. Browsers do the same through the guarded path with cookies.
Origins verify passes with the **JWKS**. Ops use the **admin** API with an admin token.

Tokens go as \`Authorization: Bearer <token>\`; browsers get them as per-room HttpOnly cookies instead. Every error
is \`{"error": {"code", "message"}}\`. The paths, field names and error codes are contract v1: fields may be added,
never renamed.`;

function buildDocument(): OpenApiDocument {
  return {
    openapi: "3.1.0",
    info: {
      title: "Spillway",
      version,
      summary: "Edge admission controller for live audio rooms.",
      description: DESCRIPTION,
      license: { name: "MIT" },
    },
    tags: [
      { name: LISTENER, description: "Listeners: join, wait, claim, keep and give back a seat." },
      { name: ORIGIN, description: "Public documents: the keys that verify passes, and this document." },
      { name: ADMIN, description: "Ops: config, live numbers, history, audit, releasing a seat, metrics." },
    ],
    paths: { ...listenerPaths(), ...adminPaths() },
    components: {
      schemas: toJsonSchemaDefs(SCHEMAS, CONVERSION),
      parameters: PARAMETERS,
      headers: HEADERS,
      examples: examples(),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

let built: { document: OpenApiDocument; json: string } | null = null;

function once(): { document: OpenApiDocument; json: string } {
  if (built === null) {
    const document = buildDocument();
    built = { document, json: JSON.stringify(document) };
  }
  return built;
}

/** The document (built on first use, then kept for the isolate's life). */
export function openApiDocument(): OpenApiDocument {
  return once().document;
}

/** The document as served: serialized once, like the document itself. */
export function openApiJson(): string {
  return once().json;
}

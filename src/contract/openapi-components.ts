/**
 * The parts of the OpenAPI document that its paths refer to: the named
 * schemas (generated with @valibot/to-json-schema from the valibot schemas
 * the code's own types come from), headers, parameters, security schemes,
 * examples, and the responses built from them. The error responses take
 * their statuses and messages from errors.ts; the status examples are made
 * by status.ts's builders.
 */
import type { ConversionConfig, JsonSchema } from "@valibot/to-json-schema";
import { RoomConfigPatchSchema } from "../policy/config.ts";
import { OVERFLOW_TYP, PASS_TYP, TICKET_TYP } from "../tokens/claims.ts";
import { type ErrorCode, errorBody, statusOf } from "./errors.ts";
import type {
  Example,
  Header,
  MediaType,
  Parameter,
  Ref,
  Response,
  SecurityRequirement,
  SecurityScheme,
} from "./openapi-types.ts";
import * as shapes from "./schemas.ts";
import {
  admittedStatus,
  closedStatus,
  overflowStatus,
  prequeueStatus,
  queuedStatus,
  type StatusBody,
} from "./status.ts";

// ---------------------------------------------------------------------------
// Schemas

/** The document's named schemas; a schema used inside another is referenced by name, not repeated. */
export const SCHEMAS = {
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
  LaneStats: shapes.LaneStatsSchema,
  RoomStats: shapes.RoomStatsSchema,
  Sample: shapes.SampleSchema,
  RoomHistory: shapes.RoomHistorySchema,
  AuditEntry: shapes.AuditEntrySchema,
  AuditTrail: shapes.AuditTrailSchema,
  ReleaseRequest: shapes.ReleaseRequestSchema,
  ReleaseAnswer: shapes.ReleaseAnswerSchema,
};

export type SchemaName = keyof typeof SCHEMAS;

export function schemaRef(name: SchemaName): Ref {
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
    case "partial_check":
      // A rule across fields of an object (the identity settings' keys and algorithms): also stated in words.
      return typeof action.message === "string" ? withNote(jsonSchema, sentence(action.message)) : undefined;
    case "transform":
      // The schema states what is taken; the value kept (and answered) may be normalized, e.g. defaults filled in.
      return withNote(jsonSchema, "Stored normalized: answers show it with its defaults filled in.");
    case "finite":
      // JSON has no NaN or Infinity: every number a document can hold is finite already.
      return { ...jsonSchema };
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

export const CONVERSION: ConversionConfig = {
  target: "draft-2020-12",
  errorMode: "throw",
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
  overrideAction: describeUncheckable,
};

// ---------------------------------------------------------------------------
// Headers, parameters and security

export const headerRef = (name: keyof typeof HEADERS): Ref => ({ $ref: `#/components/headers/${name}` });
export const parameterRef = (name: keyof typeof PARAMETERS): Ref => ({ $ref: `#/components/parameters/${name}` });

export const HEADERS = {
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

export const PARAMETERS = {
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

export const SECURITY_SCHEMES = {
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
export function anyOf(credentials: Credential[], anonymous = false): SecurityRequirement[] {
  return [...(anonymous ? [{}] : []), ...credentials.map((c) => ({ [c]: [] }))];
}

// ---------------------------------------------------------------------------
// Responses

export const json = (schema: JsonSchema, examples?: Record<string, Ref>): Record<string, MediaType> => ({
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
export function errorResponses(codes: ErrorCode[]): Record<string, Response> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([s, group]) => [String(s), errorResponse(group)]),
  );
}

/** Codes any listener request may meet. */
export const LISTENER_ERRORS: ErrorCode[] = ["bad_room", "headers_too_large", "internal"];
/** Codes any admin request may meet. */
export const ADMIN_ERRORS: ErrorCode[] = ["unauthorized", "headers_too_large", "internal", "unavailable"];
export const TOKEN_ERRORS: ErrorCode[] = ["invalid_token", "token_expired"];
/** Codes a new arrival may meet in under-attack mode. */
export const ARRIVAL_ERRORS: ErrorCode[] = [
  "challenge_required",
  "challenge_failed",
  "challenge_used",
  "too_many_joins",
];

const EXAMPLE_START = Date.UTC(2026, 10, 22, 19, 0, 0);
const EXAMPLE_ROOM = "demo";
/** Stand-ins with the shape of a compact JWS (never valid signatures). */
const EXAMPLE_TOKEN = {
  ticket: "eyJhbGciOiJIUzI1NiIsInR5cCI6InNwaWxsd2F5LXRpY2tldCtqd3QifQ.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
  pass: "eyJhbGciOiJFUzI1NiIsInR5cCI6InNwaWxsd2F5LXBhc3Mrand0In0.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
  overflow: "eyJhbGciOiJIUzI1NiIsInR5cCI6InNwaWxsd2F5LW92ZXJmbG93K2p3dCJ9.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
};

/** A status as the listener gets it: JSON, so a property the builder holds undefined (status.ts) is not there. */
function asSent(body: StatusBody): StatusBody {
  return JSON.parse(JSON.stringify(body)) as StatusBody;
}

/**
 * One example answer per state, made by the builders the Worker answers with
 * (status.ts), as sent; tests validate them against the schema.
 */
export function statusExamples(): Record<StatusBody["state"], StatusBody> {
  const live = { startsAt: EXAMPLE_START, recordingUrl: null };
  const midway = () => 0.5;
  const { ticket, pass, overflow } = EXAMPLE_TOKEN;
  return {
    prequeue: asSent({ ...prequeueStatus(EXAMPLE_ROOM, EXAMPLE_START - 600_000, live), ticket }),
    queued: asSent({ ...queuedStatus(EXAMPLE_ROOM, 12, 40, midway, live), ticket }),
    admitted: admittedStatus(EXAMPLE_ROOM, pass, EXAMPLE_START / 1000 + 120, 60_000, live),
    overflow: {
      ...overflowStatus(EXAMPLE_ROOM, { reason: "max_wait", canKeepPlace: true, etaSeconds: 1800 }, live),
      overflowToken: overflow,
    },
    closed: closedStatus(EXAMPLE_ROOM, { ...live, recordingUrl: "https://example.com/recordings/demo" }),
  };
}

/**
 * An admitted answer in each direct mode (the room's `origin`): what the
 * listener connects to the origin with (`connect`).
 */
export function directStatusExamples(): Record<"icecast" | "janus" | "livekit", StatusBody> {
  const live = { startsAt: EXAMPLE_START, recordingUrl: null };
  const exp = EXAMPLE_START / 1000 + 120;
  const expiresAt = new Date(exp * 1000).toISOString();
  const admitted = (connect: NonNullable<StatusBody["connect"]>) =>
    admittedStatus(EXAMPLE_ROOM, EXAMPLE_TOKEN.pass, exp, 60_000, live, connect);
  return {
    icecast: admitted({
      kind: "icecast",
      url: `https://icecast.example.com/rooms/${EXAMPLE_ROOM}/stream.mp3?pass=${EXAMPLE_TOKEN.pass}`,
      expiresAt,
    }),
    janus: admitted({
      kind: "janus",
      url: "https://janus.example.com/janus",
      token: "q0Vd3bXo1m4ZQ8pL7c2s9nYtRkA5wE6uHjFgDiBxCvM",
      plugin: "janus.plugin.audiobridge",
      room: 1234,
      expiresAt,
    }),
    livekit: admitted({
      kind: "livekit",
      url: "wss://livekit.example.com",
      token: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJleGFtcGxlIn0.c2lnbmF0dXJl",
      room: "main-stage",
      identity: `${EXAMPLE_ROOM}:0:0b0f8a4e-1111-4222-8333-444455556666`,
      expiresAt: new Date((EXAMPLE_START / 1000 + 30) * 1000).toISOString(),
    }),
  };
}

const exampleRef = (name: string): Ref => ({ $ref: `#/components/examples/${name}` });
const directExampleName = (kind: string) => `status-admitted-${kind}`;
const statusExampleName = (state: string) => `status-${state}`;
const errorExampleName = (code: ErrorCode) => `error-${code}`;

/** Every example, once: responses refer to them by name. */
export function examples(): Record<string, Example> {
  const states = Object.entries(statusExamples()).map(([state, value]) => [
    statusExampleName(state),
    { summary: `state: ${state}`, value },
  ]);
  const direct = Object.entries(directStatusExamples()).map(([kind, value]) => [
    directExampleName(kind),
    { summary: `state: admitted, in a room with origin ${kind === "icecast" ? "icecast-hook" : kind}`, value },
  ]);
  const errors = shapes.ERROR_CODES.map((code) => [errorExampleName(code), { summary: code, value: errorBody(code) }]);
  return Object.fromEntries([...states, ...direct, ...errors]);
}

/** A status JSON answer (one example per state), with the headers every flow answer carries. */
export function statusResponse(description: string, otherContent: Record<string, MediaType> = {}): Response {
  const examples = Object.fromEntries([
    ...shapes.LISTENER_STATES.map((state) => [state, exampleRef(statusExampleName(state))]),
    ...Object.keys(directStatusExamples()).map((kind) => [`admitted-${kind}`, exampleRef(directExampleName(kind))]),
  ]);
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
export function adminResponse(name: SchemaName, description: string): Response {
  return { description, headers: { "Cache-Control": headerRef("NoStore") }, content: json(schemaRef(name)) };
}

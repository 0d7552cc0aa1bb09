/**
 * The OpenAPI document's paths, written by hand from the routes in
 * src/http/ (listener.ts, guarded.ts, app.tsx and admin.ts); a test
 * (test/workers/openapi.test.ts) compares them with the routes the Worker's
 * router holds.
 */
import type { ErrorCode } from "./errors.ts";
import {
  ADMIN_ERRORS,
  adminResponse,
  anyOf,
  ARRIVAL_ERRORS,
  errorResponses,
  headerRef,
  json,
  LISTENER_ERRORS,
  parameterRef,
  type SchemaName,
  schemaRef,
  statusResponse,
  TOKEN_ERRORS,
} from "./openapi-components.ts";
import type { Operation, PathItem } from "./openapi-types.ts";

export const OPENAPI_PATH = "/_spillway/openapi.json";
/** The public keys that verify passes. */
export const JWKS_PATH = "/_spillway/jwks.json";

/** The document's tags: whom each operation is for. */
export const LISTENER = "listener";
export const ORIGIN = "origin";
export const ADMIN = "admin";

/** The listener's endpoints, the guarded room path, and the public documents (JWKS, this document). */
export function listenerPaths(): Record<string, PathItem> {
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
          "Asked again within 2 s, the edge answers without a new claim: the same device gets the same answer " +
          "(the same `pass`), another device `queued` (position 1) until the 2 s are over, and the seat stays. " +
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
            "connection_replaced",
            "origin_unreachable",
            ...ARRIVAL_ERRORS,
            "unavailable",
          ]),
        },
      },
    },
    [JWKS_PATH]: {
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
          // No credential is read here, so none is too large.
          ...errorResponses(["internal"]),
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
          // No credential is read here, so none is too large.
          ...errorResponses(["internal"]),
        },
      },
    },
  };
}

/** The admin API (admin.ts): every operation needs the admin token. */
export function adminPaths(): Record<string, PathItem> {
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

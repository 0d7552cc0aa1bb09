/**
 * Wire errors: one code per expected failure, one status per code, one JSON
 * shape. Messages on the wire stay generic; details go to logs.
 *
 * ERRORS is the one list of codes: the `ErrorCode` type, the status and
 * message lookups below and the schema's picklist (schemas.ts, and so the
 * OpenAPI document) are all read from it, so a code added here is known
 * everywhere at once.
 */
import type { FieldError } from "../policy/config.ts";
import type { SeatEnd } from "../policy/lease.ts";
import type { ChallengeOffer } from "../policy/pow.ts";
import type { TokenRefusal } from "../tokens/claims.ts";
import type { IdentityRefusal } from "../tokens/identity.ts";

/** Each code's status and message, in the order the OpenAPI document lists them. */
const ERRORS = {
  bad_room: { status: 400, message: "Room ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -." },
  bad_path: { status: 400, message: "A room path may not hide a slash or a backslash in an escape (%2F, %5C)." },
  invalid_body: { status: 400, message: "The request body is not valid." },
  ticket_required: { status: 401, message: "A queue ticket is required: join the room first." },
  pass_required: { status: 401, message: "An admission pass is required." },
  invalid_token: { status: 401, message: "The token is not valid for this room." },
  token_expired: { status: 401, message: "The token has expired." },
  unauthorized: { status: 401, message: "An admin token is required." },
  forbidden: { status: 403, message: "This admin token may read but not change anything." },
  not_found: { status: 404, message: "There is nothing here." },
  method_not_allowed: { status: 405, message: "This method is not allowed here." },
  seat_ended: { status: 409, message: "This seat has ended; join the room again." },
  connection_replaced: {
    status: 409,
    message: "A newer live connection of this seat took its place: one seat, one live stream or WebSocket.",
  },
  body_too_large: { status: 413, message: "The request body is too large." },
  headers_too_large: { status: 431, message: "The request headers are too large." },
  internal: { status: 500, message: "Something went wrong in Spillway." },
  origin_unreachable: { status: 502, message: "The room's origin cannot be reached right now; try again shortly." },
  unavailable: { status: 503, message: "Spillway is busy; try again shortly." },
  challenge_required: {
    status: 401,
    message: "This room asks for a short proof of work before a place in line: solve the challenge and join again.",
  },
  challenge_failed: {
    status: 401,
    message: "The challenge solution is not valid (wrong, expired or for another room): ask for a new challenge.",
  },
  challenge_used: { status: 409, message: "This challenge has already been used: ask for a new one." },
  too_many_joins: { status: 429, message: "Too many places taken from this address; try again shortly." },
  identity_refused: {
    status: 401,
    message:
      "The identity token is not valid for this room (see `identity` for why): sign in again, or join without it.",
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** The statuses errors are answered with. */
export type ErrorStatus = (typeof ERRORS)[ErrorCode]["status"];

/** Every wire error code. */
export const ERROR_CODES = Object.keys(ERRORS) as readonly ErrorCode[];

export function statusOf(code: ErrorCode): ErrorStatus {
  return ERRORS[code].status;
}

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    fields?: FieldError[];
    /** With `challenge_required`: the challenge to solve. */
    challenge?: ChallengeOffer;
    /** With `seat_ended`, when known: why the seat ended. */
    reason?: SeatEnd;
    /** With `identity_refused`: why the identity token was refused (identity.ts). */
    identity?: IdentityRefusal;
  };
}

export function errorBody(code: ErrorCode, extra?: Partial<ErrorBody["error"]>): ErrorBody {
  return { error: { code, message: ERRORS[code].message, ...extra } };
}

/** The wire error for a refused token: expiry is told apart, the rest is one code. */
export function tokenError(reason: TokenRefusal): ErrorCode {
  switch (reason) {
    case "expired":
      return "token_expired";
    case "malformed":
    case "bad_signature":
    case "wrong_kind":
    case "wrong_room":
    case "wrong_issuer":
    case "bad_claims":
    case "unknown_key":
      return "invalid_token";
  }
}

/**
 * Wire errors: one code per expected failure, one status per code, one JSON
 * shape. Messages on the wire stay generic; details go to logs.
 */
import type { SeatEnd } from "../policy/ledger.ts";
import type { ChallengeOffer } from "../policy/pow.ts";
import type { TokenRefusal } from "../tokens/claims.ts";

export type ErrorCode =
  | "bad_room"
  | "bad_path"
  | "not_found"
  | "method_not_allowed"
  | "ticket_required"
  | "pass_required"
  | "invalid_token"
  | "token_expired"
  | "seat_ended"
  | "unauthorized"
  | "forbidden"
  | "invalid_body"
  | "body_too_large"
  | "headers_too_large"
  | "challenge_required"
  | "challenge_failed"
  | "challenge_used"
  | "too_many_joins"
  | "origin_unreachable"
  | "unavailable"
  | "internal";

/** The statuses errors are answered with. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 429 | 431 | 500 | 502 | 503;

const STATUS: Record<ErrorCode, ErrorStatus> = {
  bad_room: 400,
  bad_path: 400,
  not_found: 404,
  method_not_allowed: 405,
  ticket_required: 401,
  pass_required: 401,
  invalid_token: 401,
  token_expired: 401,
  seat_ended: 409,
  unauthorized: 401,
  forbidden: 403,
  invalid_body: 400,
  body_too_large: 413,
  headers_too_large: 431,
  challenge_required: 401,
  challenge_failed: 401,
  challenge_used: 409,
  too_many_joins: 429,
  origin_unreachable: 502,
  unavailable: 503,
  internal: 500,
};

const MESSAGES: Record<ErrorCode, string> = {
  bad_room: "Room ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -.",
  bad_path: "A room path may not hide a slash or a backslash in an escape (%2F, %5C).",
  not_found: "There is nothing here.",
  method_not_allowed: "This method is not allowed here.",
  ticket_required: "A queue ticket is required: join the room first.",
  pass_required: "An admission pass is required.",
  invalid_token: "The token is not valid for this room.",
  token_expired: "The token has expired.",
  seat_ended: "This seat has ended; join the room again.",
  unauthorized: "An admin token is required.",
  forbidden: "This admin token may read but not change anything.",
  invalid_body: "The request body is not valid.",
  body_too_large: "The request body is too large.",
  headers_too_large: "The request headers are too large.",
  challenge_required:
    "This room asks for a short proof of work before a place in line: solve the challenge and join again.",
  challenge_failed:
    "The challenge solution is not valid (wrong, expired or for another room): ask for a new challenge.",
  challenge_used: "This challenge has already been used: ask for a new one.",
  too_many_joins: "Too many places taken from this address; try again shortly.",
  origin_unreachable: "The room's origin cannot be reached right now; try again shortly.",
  unavailable: "Spillway is busy; try again shortly.",
  internal: "Something went wrong in Spillway.",
};

export function statusOf(code: ErrorCode): ErrorStatus {
  return STATUS[code];
}

export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    fields?: { field: string; message: string }[];
    /** With `challenge_required`: the challenge to solve. */
    challenge?: ChallengeOffer;
    /** With `seat_ended`, when known: why the seat ended. */
    reason?: SeatEnd;
  };
}

export function errorBody(code: ErrorCode, extra?: Partial<ErrorBody["error"]>): ErrorBody {
  return { error: { code, message: MESSAGES[code], ...extra } };
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

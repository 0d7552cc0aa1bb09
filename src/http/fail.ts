/** Errors answered through Hono: the contract's shape and status (src/contract/errors.ts). */
import type { Context } from "hono";
import type { Cut } from "../edge/seat-tie.ts";
import { type ErrorBody, type ErrorCode, errorBody, statusOf } from "../contract/errors.ts";
import { OWN_ANSWER_HEADERS } from "../pages/csp.ts";

/** Answer with the JSON error shape and the status of `code`. */
export function fail(
  c: Context,
  code: ErrorCode,
  extra?: Partial<ErrorBody["error"]>,
  headers?: Record<string, string>,
): Response {
  return c.json(errorBody(code, extra), statusOf(code), headers);
}

/**
 * What a request whose connection was cut (or refused) gets: 409
 * `connection_replaced` when a newer live connection of the seat took its
 * place, else 409 `seat_ended`, with the reason when its shard gave one.
 */
export function cutError(reason: Cut | undefined): { code: ErrorCode; extra?: Partial<ErrorBody["error"]> } {
  if (reason === "replaced") return { code: "connection_replaced" };
  return reason === undefined ? { code: "seat_ended" } : { code: "seat_ended", extra: { reason } };
}

/**
 * The same answer outside the router (the hot paths, hot-paths.ts), with the
 * headers the app adds to every answer of its own.
 */
export function failResponse(
  code: ErrorCode,
  headers: Record<string, string> = {},
  extra?: Partial<ErrorBody["error"]>,
): Response {
  return new Response(JSON.stringify(errorBody(code, extra)), {
    status: statusOf(code),
    headers: { "content-type": "application/json", ...OWN_ANSWER_HEADERS, ...headers },
  });
}

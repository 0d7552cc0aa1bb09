/** Errors answered through Hono: the contract's shape and status (src/contract/errors.ts). */
import type { Context } from "hono";
import { type ErrorBody, type ErrorCode, errorBody, statusOf } from "../contract/errors.ts";

/** Answer with the JSON error shape and the status of `code`. */
export function fail(
  c: Context,
  code: ErrorCode,
  extra?: Partial<ErrorBody["error"]>,
  headers?: Record<string, string>,
): Response {
  return c.json(errorBody(code, extra), statusOf(code), headers);
}

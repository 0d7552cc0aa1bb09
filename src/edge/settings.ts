/**
 * Deployment settings read from the Worker's vars and secrets, parsed once
 * per env object.
 */
import { type Timings, timingsFromVars } from "../policy/config.ts";
import { type FailurePolicy, parseFailurePolicy } from "../policy/failure-policy.ts";
import { parseRooms, type RoomsPolicy } from "./room-gate.ts";

export interface Settings {
  issuer: string;
  timings: Timings;
  /** Where admitted requests go; null: the built-in demo origin. */
  origin: URL | null;
  /** What a new arrival gets when its shard cannot be reached (docs/failure-policy.md). */
  failurePolicy: FailurePolicy;
  /** Which room ids are served (room-gate.ts). */
  rooms: RoomsPolicy;
}

const parsed = new WeakMap<object, Settings>();

export function settingsOf(env: Env): Settings {
  let s = parsed.get(env);
  if (s === undefined) {
    const originVar = (env.ORIGIN_URL ?? "").trim();
    let origin: URL | null = null;
    if (originVar !== "") {
      origin = new URL(originVar);
      if (origin.protocol !== "http:" && origin.protocol !== "https:") {
        throw new Error(`ORIGIN_URL must be http(s): ${originVar}`);
      }
    }
    const failurePolicy = parseFailurePolicy(env.FAILURE_POLICY);
    const rooms = parseRooms(env.ROOMS);
    s = { issuer: env.TOKEN_ISSUER || "spillway", timings: timingsFromVars(env), origin, failurePolicy, rooms };
    parsed.set(env, s);
  }
  return s;
}

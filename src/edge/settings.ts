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
  /** The Janus API's public base URL (JANUS_URL) that listeners of janus rooms reach; null when unset. */
  janus: URL | null;
  /** What a new arrival gets when its shard cannot be reached (docs/failure-policy.md). */
  failurePolicy: FailurePolicy;
  /** Which room ids are served (room-gate.ts). */
  rooms: RoomsPolicy;
}

const parsed = new WeakMap<object, Settings>();
/**
 * The last env asked about and its settings: the runtime hands every request
 * the same env object, and a comparison costs a hot path less than a WeakMap's
 * lookup (it asks more than once a request).
 */
let lastEnv: object | null = null;
let lastSettings: Settings | null = null;

export function settingsOf(env: Env): Settings {
  if (env === lastEnv) return lastSettings!;
  let s = parsed.get(env);
  if (s === undefined) {
    const origin = httpUrl("ORIGIN_URL", env.ORIGIN_URL);
    const janus = httpUrl("JANUS_URL", env.JANUS_URL);
    const failurePolicy = parseFailurePolicy(env.FAILURE_POLICY);
    const rooms = parseRooms(env.ROOMS);
    s = { issuer: env.TOKEN_ISSUER || "spillway", timings: timingsFromVars(env), origin, janus, failurePolicy, rooms };
    parsed.set(env, s);
  }
  lastEnv = env;
  lastSettings = s;
  return s;
}

/** An http(s) URL var, or null when it is unset or blank; anything else is a deployment error. */
function httpUrl(name: string, value: string | undefined): URL | null {
  const text = (value ?? "").trim();
  if (text === "") return null;
  const url = new URL(text);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`${name} must be http(s): ${text}`);
  return url;
}

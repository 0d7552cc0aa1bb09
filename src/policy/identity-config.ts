/**
 * A room's identity settings (the `identity` config field): how a listener's
 * identity token from the deployer's login is checked — issuer, audience,
 * where the keys come from, the algorithms allowed — and the rules that map
 * its claims to a lane. Validation only; verification is
 * src/tokens/identity.ts. Kept here, below the tokens, because the room's
 * config and the coordinator's view carry these settings.
 */
import * as v from "valibot";
import type { FieldError } from "./config.ts";
import { LANE_NAME_PATTERN } from "./lanes.ts";

/** Algorithms allowed with published keys (jose supports them in Workers and Node). */
export const JWKS_ALGORITHMS = [
  "ES256",
  "ES384",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "EdDSA",
  "Ed25519",
] as const;
/** Algorithms allowed with a shared secret. */
export const HMAC_ALGORITHMS = ["HS256", "HS384", "HS512"] as const;
export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = ["ES256", "RS256", "EdDSA"];
export const DEFAULT_HMAC_ALGORITHMS: readonly string[] = ["HS256"];
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
/** Identity tokens longer than this are refused before any parsing (platform tokens run 1–2 KiB). */
export const MAX_IDENTITY_TOKEN_LENGTH = 8192;
export const MAX_LANE_RULES = 32;
/** Longest `anyOf` list: a larger invite list belongs in a claim (`equals: true`). */
export const MAX_RULE_VALUES = 1000;
/** The prefix a shared secret's name must have, so no other var or secret can be named as a key. */
export const SECRET_PREFIX = "IDENTITY_";

const ALGORITHMS = [...JWKS_ALGORITHMS, ...HMAC_ALGORITHMS] as const;

/** Operator text on one line: no control characters. */
function oneLine(max: number) {
  return v.pipe(
    v.string("must be text"),
    v.minLength(1, "must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
    v.regex(/^[^\p{Cc}]*$/u, "must not contain control characters"),
  );
}

/** An https URL, or http to this machine (a JWKS served locally in development; a deployed Worker cannot reach one). */
function httpsOrLoopback(url: string): boolean {
  if (/^https:\/\//i.test(url)) return true;
  try {
    const u = new URL(url);
    return u.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
  } catch {
    return false;
  }
}

const jwksUrl = v.pipe(
  v.string("must be a URL"),
  v.maxLength(2048, "must be at most 2048 characters"),
  v.url("must be an absolute URL"),
  v.check(httpsOrLoopback, "must be an https URL (http only on this machine: localhost, 127.0.0.1, [::1])"),
);
const hmacSecretName = v.pipe(
  v.string("must be the name of a Worker secret"),
  v.regex(/^IDENTITY_[A-Z0-9_]{1,64}$/u, `must be a secret name starting ${SECRET_PREFIX} (A-Z, 0-9, _)`),
);
const keys = v.pipe(
  v.strictObject(
    { jwksUrl: v.optional(jwksUrl), hmacSecretName: v.optional(hmacSecretName) },
    "must be an object with jwksUrl or hmacSecretName",
  ),
  v.check(
    (k) => (k.jwksUrl === undefined) !== (k.hmacSecretName === undefined),
    "must have exactly one of jwksUrl and hmacSecretName",
  ),
);
const algorithms = v.pipe(
  v.array(v.picklist(ALGORITHMS, `must be one of ${ALGORITHMS.join(", ")}`), "must be a list of algorithms"),
  v.minLength(1, "must name at least one algorithm"),
  v.check((list) => new Set(list).size === list.length, "must not repeat an algorithm"),
);
const clockToleranceSeconds = v.pipe(
  v.number("must be a number"),
  v.integer("must be a whole number"),
  v.minValue(0, "must be 0 or more"),
  v.maxValue(MAX_CLOCK_TOLERANCE_SECONDS, `must be at most ${MAX_CLOCK_TOLERANCE_SECONDS}`),
);

/** A claim value a rule compares with (claims are JSON: text, numbers, booleans). */
export type ClaimValue = string | number | boolean;
const claimValue = v.union(
  [v.pipe(v.string(), v.maxLength(256)), v.pipe(v.number(), v.finite()), v.boolean()],
  "must be text (at most 256 characters), a number, or true/false",
);
export const LANE_NAME = LANE_NAME_PATTERN;
const laneRule = v.pipe(
  v.strictObject(
    {
      lane: v.pipe(v.string("must be a lane name"), v.regex(LANE_NAME, "must be 1-32 of a-z, 0-9, '-', starting a-z")),
      claim: oneLine(256),
      anyOf: v.optional(
        v.pipe(
          v.array(claimValue, "must be a list of values"),
          v.minLength(1, "must hold at least one value"),
          v.maxLength(MAX_RULE_VALUES, `must hold at most ${MAX_RULE_VALUES} values`),
        ),
      ),
      equals: v.optional(claimValue),
    },
    "must be a rule { lane, claim, anyOf } or { lane, claim, equals }",
  ),
  v.check((r) => (r.anyOf === undefined) !== (r.equals === undefined), "must have exactly one of anyOf and equals"),
);

/** A rule: a listener whose `claim` is (or, for a list claim, holds) one of these values is in `lane`. */
export type LaneRule = { lane: string; claim: string } & ({ anyOf: ClaimValue[] } | { equals: ClaimValue });

/** A room's identity settings, defaults filled in. */
export interface IdentityConfig {
  issuer: string;
  audience: string;
  keys: { jwksUrl: string } | { hmacSecretName: string };
  algorithms: readonly string[];
  clockToleranceSeconds: number;
  lanes: LaneRule[];
}

const isHmac = (alg: string): boolean => (HMAC_ALGORITHMS as readonly string[]).includes(alg);

/** A room's identity settings as the admin API will take them (defaults filled in on the way out). */
export const IdentityConfigSchema = v.pipe(
  v.strictObject(
    {
      issuer: oneLine(512),
      audience: oneLine(512),
      keys,
      algorithms: v.optional(algorithms),
      clockToleranceSeconds: v.optional(clockToleranceSeconds),
      lanes: v.pipe(
        v.array(laneRule, "must be a list of lane rules"),
        v.maxLength(MAX_LANE_RULES, `must hold at most ${MAX_LANE_RULES} rules`),
      ),
    },
    "must be an object with issuer, audience, keys and lanes",
  ),
  v.forward(
    v.partialCheck(
      [["keys"], ["algorithms"]],
      (c) => c.algorithms === undefined || c.algorithms.every((alg) => isHmac(alg) === (c.keys.jwksUrl === undefined)),
      "must be public-key algorithms with jwksUrl, HS256/HS384/HS512 with hmacSecretName",
    ),
    ["algorithms"],
  ),
  v.transform((c): IdentityConfig => ({
    issuer: c.issuer,
    audience: c.audience,
    keys: c.keys.jwksUrl !== undefined ? { jwksUrl: c.keys.jwksUrl } : { hmacSecretName: c.keys.hmacSecretName! },
    algorithms: c.algorithms ?? (c.keys.jwksUrl !== undefined ? DEFAULT_JWKS_ALGORITHMS : DEFAULT_HMAC_ALGORITHMS),
    clockToleranceSeconds: c.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS,
    lanes: c.lanes.map(({ lane, claim, anyOf, equals }) =>
      anyOf !== undefined ? { lane, claim, anyOf } : { lane, claim, equals: equals! },
    ),
  })),
);

export type IdentityConfigResult = { ok: true; config: IdentityConfig } | { ok: false; errors: FieldError[] };

/** Validate untrusted identity settings; field errors with dotted paths, as the admin API answers. */
export function parseIdentityConfig(input: unknown): IdentityConfigResult {
  const result = v.safeParse(IdentityConfigSchema, input);
  if (result.success) return { ok: true, config: result.output };
  return {
    ok: false,
    errors: result.issues.map((issue) => ({
      field: v.getDotPath(issue) ?? "",
      // A strict object's unknown key carries the object's message; say what is wrong with the key instead.
      message:
        issue.type === "strict_object" && issue.expected === "never" ? "is not an identity setting" : issue.message,
    })),
  };
}

/** The lane of the first rule the claims match; null when none does. */
export function laneOf(claims: Readonly<Record<string, unknown>>, rules: readonly LaneRule[]): string | null {
  for (const rule of rules) {
    if (!Object.hasOwn(claims, rule.claim)) continue;
    const value = claims[rule.claim];
    const values: unknown[] = Array.isArray(value) ? value : [value];
    const hit =
      "anyOf" in rule ? values.some((x) => rule.anyOf.includes(x as ClaimValue)) : values.includes(rule.equals);
    if (hit) return rule.lane;
  }
  return null;
}

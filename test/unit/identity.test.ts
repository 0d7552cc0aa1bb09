/**
 * The deployer's identity tokens (src/tokens/identity.ts) against a JWKS
 * served by node:http on 127.0.0.1, with jose-made ES256 and RS256 keys:
 * lanes by each rule, every refusal for its reason, key rotation picked up
 * without a restart, the refetch limit under a flood of made-up kids, and
 * the JWKS down with a cold and a warm cache. Time is a variable; the only
 * real wait is a 20 ms fetch timeout.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  identityKeySource,
  laneOf,
  parseIdentityConfig,
  verifyIdentity,
  type IdentityConfig,
  type IdentityDeps,
  type LaneRule,
} from "../../src/tokens/identity.ts";
import { hmacSecretSource, secretProblem } from "../../src/tokens/identity-secret.ts";
import {
  DEFAULT_FRESH_MS,
  forgetJwksCaches,
  freshnessOf,
  JwksCache,
  MIN_FETCH_INTERVAL_MS,
  STALE_IF_ERROR_MS,
  type FetchLike,
} from "../../src/tokens/jwks-cache.ts";

const T0 = Date.UTC(2026, 0, 1);
const T0_S = T0 / 1000;
const IDP = "https://login.example.com";
const JWKS_URL = `${IDP}/.well-known/jwks.json`;
const ISSUER = `${IDP}/`;
const AUDIENCE = "spillway:room-demo";
const INVITED = ["auth0|ada", "auth0|grace"];

const RULES = [
  { lane: "stage", claim: "role", anyOf: ["host", "speaker"] },
  { lane: "priority", claim: "tier", anyOf: ["premium"] },
  { lane: "invited", claim: "sub", anyOf: INVITED },
  { lane: "invited", claim: "invited", equals: true },
];

function configOf(input: unknown): IdentityConfig {
  const parsed = parseIdentityConfig(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

const JWKS_CONFIG = configOf({ issuer: ISSUER, audience: AUDIENCE, keys: { jwksUrl: JWKS_URL }, lanes: RULES });

interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: "ES256" | "RS256" | "EdDSA", kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, jwk };
}

/** A token from `key`, issued now for the room, with these claims over the defaults. */
function sign(key: SigningKey, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "auth0|someone", iat: T0_S, exp: T0_S + 3600, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })
    .sign(key.privateKey);
}

// --- A JWKS server ----------------------------------------------------------

const served = {
  keys: [] as JWK[],
  status: 200,
  cacheControl: null as string | null,
  body: null as string | null,
  hits: 0,
};
let server: Server;
let base = "";
let es1: SigningKey;
let es2: SigningKey;
let rs1: SigningKey;
let ed1: SigningKey;
/** Not in the served set, but with es-1's kid. */
let impostor: SigningKey;

beforeAll(async () => {
  [es1, es2, rs1, ed1] = await Promise.all([
    signingKey("ES256", "es-1"),
    signingKey("ES256", "es-2"),
    signingKey("RS256", "rs-1"),
    signingKey("EdDSA", "ed-1"),
  ]);
  impostor = await signingKey("ES256", "es-1");
  server = createServer((req, res) => {
    served.hits++;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (served.cacheControl !== null) headers["cache-control"] = served.cacheControl;
    res.writeHead(served.status, headers);
    res.end(served.body ?? JSON.stringify({ keys: served.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Fetch the https JWKS URL from the local server (the config only takes https). */
const localFetch: FetchLike = (url, init) => fetch(url.replace(IDP, base), init);

let now = T0;
let cache: JwksCache;
let deps: IdentityDeps;

beforeEach(() => {
  Object.assign(served, { keys: [es1.jwk, rs1.jwk, ed1.jwk], status: 200, cacheControl: null, body: null, hits: 0 });
  now = T0;
  forgetJwksCaches();
  cache = identityKeySource(JWKS_CONFIG, {}, { fetch: localFetch }) as JwksCache;
  deps = { now: () => now, keys: cache };
});
afterEach(() => forgetJwksCaches());

const verify = (token: string, config = JWKS_CONFIG) => verifyIdentity(token, config, deps);
const reasonOf = async (token: string, config = JWKS_CONFIG) => {
  const result = await verify(token, config);
  return result.ok ? "ok" : result.reason;
};

// --- Config -----------------------------------------------------------------

describe("identity settings", () => {
  it("fill in the algorithms and clock tolerance for each kind of keys", () => {
    expect(JWKS_CONFIG.algorithms).toEqual(["ES256", "RS256", "EdDSA"]);
    expect(JWKS_CONFIG.clockToleranceSeconds).toBe(DEFAULT_CLOCK_TOLERANCE_SECONDS);
    const hmac = configOf({ issuer: "x", audience: "y", keys: { hmacSecretName: "IDENTITY_SUPABASE" }, lanes: [] });
    expect(hmac.algorithms).toEqual(["HS256"]);
    expect(hmac.keys).toEqual({ hmacSecretName: "IDENTITY_SUPABASE" });
    expect(JWKS_CONFIG.lanes[3]).toEqual({ lane: "invited", claim: "invited", equals: true });
  });

  it.each([
    [{ keys: { jwksUrl: "http://login.example.com/jwks" } }, "keys.jwksUrl", "must be an https URL"],
    [{ keys: { jwksUrl: JWKS_URL, hmacSecretName: "IDENTITY_X" } }, "keys", "exactly one of jwksUrl"],
    [{ keys: {} }, "keys", "exactly one of jwksUrl"],
    [{ keys: { hmacSecretName: "TICKET_KEY" } }, "keys.hmacSecretName", "starting IDENTITY_"],
    [{ algorithms: ["HS256"] }, "algorithms", "public-key algorithms with jwksUrl"],
    [{ algorithms: ["none"] }, "algorithms.0", "must be one of"],
    [{ algorithms: [] }, "algorithms", "at least one"],
    [{ clockToleranceSeconds: 301 }, "clockToleranceSeconds", "at most 300"],
    [{ clockToleranceSeconds: 1.5 }, "clockToleranceSeconds", "whole number"],
    [{ issuer: "" }, "issuer", "must not be empty"],
    [{ lanes: [{ lane: "Stage", claim: "role", anyOf: ["host"] }] }, "lanes.0.lane", "1-32 of a-z"],
    [{ lanes: [{ lane: "stage", claim: "role", anyOf: ["host"], equals: "x" }] }, "lanes.0", "exactly one of anyOf"],
    [{ lanes: [{ lane: "stage", claim: "role", anyOf: [] }] }, "lanes.0.anyOf", "at least one value"],
    [{ lanes: [{ lane: "stage", claim: "role", equals: null }] }, "lanes.0.equals", "must be text"],
    [{ lanes: [{ lane: "stage", claim: "role", anyOf: ["x"], weight: 2 }] }, "lanes.0.weight", "not an identity"],
    [{ extra: 1 }, "extra", "is not an identity setting"],
  ])("refuse %j at %s", (patch, field, message) => {
    const parsed = parseIdentityConfig({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { jwksUrl: JWKS_URL },
      lanes: RULES,
      ...patch,
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.errors).toContainEqual({ field, message: expect.stringContaining(message) });
  });

  it("take HMAC algorithms only with a secret", () => {
    const parsed = parseIdentityConfig({
      issuer: "x",
      audience: "y",
      keys: { hmacSecretName: "IDENTITY_S" },
      algorithms: ["HS256", "ES256"],
      lanes: [],
    });
    expect(parsed.ok).toBe(false);
  });
});

// --- Lanes ------------------------------------------------------------------

describe("a valid token", () => {
  it.each([
    ["role host", { role: "host" }, "stage"],
    ["role speaker", { role: "speaker" }, "stage"],
    ["tier premium", { tier: "premium" }, "priority"],
    ["a sub on the invite list", { sub: "auth0|grace" }, "invited"],
    ["invited: true", { invited: true }, "invited"],
    ["role among a list claim", { role: ["viewer", "speaker"] }, "stage"],
    ["the first rule that matches", { tier: "premium", role: "host" }, "stage"],
    ["no rule", { role: "listener", tier: "free", invited: "true" }, null],
  ] as [string, Record<string, unknown>, string | null][])(
    "with %s is in its lane (ES256)",
    async (_name, claims, lane) => {
      expect(await verify(await sign(es1, claims))).toEqual({
        ok: true,
        lane,
        sub: claims.sub ?? "auth0|someone",
        exp: T0_S + 3600,
      });
    },
  );

  it("verifies with RS256 and EdDSA keys of the same set", async () => {
    expect(await verify(await sign(rs1, { tier: "premium" }))).toMatchObject({ ok: true, lane: "priority" });
    expect(await verify(await sign(ed1, { role: "host" }))).toMatchObject({ ok: true, lane: "stage" });
    expect(served.hits).toBe(1);
  });

  it("is accepted with an audience list holding the room, and within the clock tolerance", async () => {
    expect(await reasonOf(await sign(es1, { aud: ["other", AUDIENCE] }))).toBe("ok");
    expect(await reasonOf(await sign(es1, { exp: T0_S - 29 }))).toBe("ok");
    expect(await reasonOf(await sign(es1, { nbf: T0_S + 29 }))).toBe("ok");
  });
});

// --- Refusals ---------------------------------------------------------------

/** An unsigned token (`alg: none`). */
function unsecured(payload: Record<string, unknown>): string {
  const part = (o: unknown) => base64url.encode(JSON.stringify(o));
  return `${part({ alg: "none", typ: "JWT" })}.${part(payload)}.`;
}

describe("a token is refused", () => {
  it("when it has expired (past the tolerance)", async () => {
    expect(await reasonOf(await sign(es1, { exp: T0_S - 30 }))).toBe("expired");
  });

  it("when it is not yet valid", async () => {
    expect(await reasonOf(await sign(es1, { nbf: T0_S + 31 }))).toBe("not_yet_valid");
  });

  it("from another issuer, or for another audience", async () => {
    expect(await reasonOf(await sign(es1, { iss: "https://evil.example.com/" }))).toBe("wrong_issuer");
    expect(await reasonOf(await sign(es1, { iss: undefined }))).toBe("wrong_issuer");
    expect(await reasonOf(await sign(es1, { aud: "spillway:other-room" }))).toBe("wrong_audience");
  });

  it("without exp or sub", async () => {
    expect(await reasonOf(await sign(es1, { exp: undefined }))).toBe("malformed");
    expect(await reasonOf(await sign(es1, { sub: undefined }))).toBe("malformed");
    expect(await reasonOf(await sign(es1, { sub: 42 }))).toBe("malformed");
    expect(await reasonOf(await sign(es1, { exp: "tomorrow" }))).toBe("malformed");
  });

  it("when its kid is not in the set", async () => {
    expect(await reasonOf(await sign(es1, {}, { kid: "ghost" }))).toBe("unknown_key");
  });

  it("when signed by a key outside the set, under a kid in it", async () => {
    expect(await reasonOf(await sign(impostor))).toBe("bad_signature");
  });

  it("when its payload was changed after signing", async () => {
    const [h, , s] = (await sign(es1)).split(".");
    const forged = base64url.encode(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: "x", iat: T0_S, exp: T0_S + 60, role: "host" }),
    );
    expect(await reasonOf(`${h}.${forged}.${s}`)).toBe("bad_signature");
  });

  it("unsigned (alg none), without asking for any key", async () => {
    expect(await reasonOf(unsecured({ iss: ISSUER, aud: AUDIENCE, sub: "x", exp: T0_S + 60 }))).toBe("alg_not_allowed");
    expect(served.hits).toBe(0);
  });

  it("HMAC-signed with the public key against a JWKS (alg confusion), without asking for any key", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(es1.jwk));
    const token = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "x", exp: T0_S + 60, role: "host" })
      .setProtectedHeader({ alg: "HS256", kid: "es-1" })
      .sign(secret);
    expect(await reasonOf(token)).toBe("alg_not_allowed");
    expect(served.hits).toBe(0);
  });

  it("with an algorithm the room does not allow", async () => {
    const esOnly = { ...JWKS_CONFIG, algorithms: ["ES256"] };
    expect(await reasonOf(await sign(rs1), esOnly)).toBe("alg_not_allowed");
  });

  it("when it is not a JWT", async () => {
    for (const token of ["", "abc", "a.b.c", "a.b.c.d", `${"x".repeat(9000)}.a.b`, (await sign(es1)) + ".x.y"]) {
      expect(await reasonOf(token)).toBe("malformed");
    }
    const [, p, s] = (await sign(es1)).split(".");
    expect(await reasonOf(`${base64url.encode('{"alg":"ES256","kid":7}')}.${p}.${s}`)).toBe("malformed");
  });

  it("without a kid when the set holds several keys for its algorithm", async () => {
    served.keys = [es1.jwk, es2.jwk];
    expect(await reasonOf(await sign(es1, {}, { kid: undefined }))).toBe("unknown_key");
  });

  it("for any flipped bit in any of its three parts (property)", async () => {
    const token = await sign(es1, { role: "host" });
    const parts = token.split(".").map((p) => base64url.decode(p));
    await fc.assert(
      fc.asyncProperty(fc.nat(2), fc.nat(), fc.nat(7), async (part, index, bit) => {
        const bytes = new Uint8Array(parts[part]!);
        bytes[index % bytes.length]! ^= 1 << bit;
        const tampered = parts.map((p, i) => base64url.encode(i === part ? bytes : p)).join(".");
        expect((await verify(tampered)).ok).toBe(false);
        now += 1; // as time passes, made-up kids keep being rate-limited
      }),
      { numRuns: 300 },
    );
  });
});

// --- Rotation and the refetch limit -------------------------------------------

describe("the JWKS cache", () => {
  it("picks up a rotated key without a restart, and drops the key rotated out after a refetch", async () => {
    expect(await reasonOf(await sign(es1))).toBe("ok");
    expect(served.hits).toBe(1);
    served.keys = [es2.jwk]; // the platform rotates: es-2 in, es-1 out
    expect(await reasonOf(await sign(es2))).toBe("unknown_key"); // the set was fetched less than 30 s ago
    expect(served.hits).toBe(1);
    now += MIN_FETCH_INTERVAL_MS;
    expect(await reasonOf(await sign(es1))).toBe("ok"); // still cached, still fresh
    expect(await reasonOf(await sign(es2))).toBe("ok"); // unknown kid: refetched at once
    expect(served.hits).toBe(2);
    expect(await reasonOf(await sign(es1))).toBe("unknown_key"); // gone from the new set
    expect(served.hits).toBe(2); // and no refetch for it within 30 s
    now += MIN_FETCH_INTERVAL_MS;
    expect(await reasonOf(await sign(es1))).toBe("unknown_key"); // a refetch confirms it is gone
    expect(served.hits).toBe(3);
  });

  it("fetches at most once per 30 s under a flood of made-up kids", async () => {
    expect(await reasonOf(await sign(es1))).toBe("ok");
    let unknown = 0;
    for (let second = 0; second < 300; second++) {
      now = T0 + second * 1000;
      const tokens = await Promise.all(
        Array.from({ length: 5 }, (_, i) => sign(es1, {}, { kid: `made-up-${second}-${i}` })),
      );
      const reasons = await Promise.all(tokens.map((t) => reasonOf(t)));
      unknown += reasons.filter((r) => r === "unknown_key").length;
    }
    expect(unknown).toBe(1500);
    // The first fetch at 0 s, then one per 30 s: 30, 60, ..., 270 s.
    expect(served.hits).toBe(10);
    expect(await reasonOf(await sign(es1))).toBe("ok");
  });

  it("shares one fetch between concurrent requests on a cold cache", async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => sign(es1)));
    const reasons = await Promise.all(tokens.map((t) => reasonOf(t)));
    expect(new Set(reasons)).toEqual(new Set(["ok"]));
    expect(served.hits).toBe(1);
  });

  it("refreshes a stale set in the background, by Cache-Control max-age", async () => {
    served.cacheControl = "public, max-age=120, must-revalidate";
    expect(await reasonOf(await sign(es1))).toBe("ok");
    now = T0 + 119_000;
    expect(await reasonOf(await sign(es1))).toBe("ok");
    expect(served.hits).toBe(1);
    served.keys = [es2.jwk];
    now = T0 + 120_000;
    const pending: Promise<unknown>[] = [];
    deps = { ...deps, waitUntil: (p) => pending.push(p) };
    // Stale: still verifies with the set it has, while the refresh runs.
    expect(await reasonOf(await sign(es1))).toBe("ok");
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(served.hits).toBe(2);
    expect(await reasonOf(await sign(es2))).toBe("ok");
    expect(await reasonOf(await sign(es1))).toBe("unknown_key");
    expect(served.hits).toBe(2);
  });

  it("clamps max-age to [60 s, 1 h], 5 min without one", () => {
    expect(freshnessOf(null)).toBe(DEFAULT_FRESH_MS);
    expect(freshnessOf("no-cache")).toBe(DEFAULT_FRESH_MS);
    expect(freshnessOf("max-age=0")).toBe(60_000);
    expect(freshnessOf("public, max-age=600")).toBe(600_000);
    expect(freshnessOf("max-age=86400")).toBe(3_600_000);
    expect(freshnessOf("s-maxage=10, max-age=900")).toBe(900_000);
  });

  it("answers keys_unavailable when the JWKS is unreachable and nothing is cached, and retries after 30 s", async () => {
    let calls = 0;
    const down = new JwksCache(JWKS_URL, {
      fetch: (url, init) => {
        calls++;
        return fetch(url.replace(IDP, "http://127.0.0.1:1"), init);
      },
    });
    deps = { now: () => now, keys: down };
    expect(await reasonOf(await sign(es1))).toBe("keys_unavailable");
    expect(await reasonOf(await sign(es1))).toBe("keys_unavailable");
    expect(calls).toBe(1);
    now += MIN_FETCH_INTERVAL_MS;
    expect(await reasonOf(await sign(es1))).toBe("keys_unavailable");
    expect(calls).toBe(2);
  });

  it.each([
    ["an error status", { status: 503 }],
    ["a redirect", { status: 302 }],
    ["a body that is not JSON", { body: "<html>" }],
    ["JSON that is not a key set", { body: '{"keys":"none"}' }],
    ["a body too large", { body: JSON.stringify({ keys: [], pad: "x".repeat(70_000) }) }],
  ])("answers keys_unavailable for %s", async (_name, answer) => {
    Object.assign(served, answer);
    expect(await reasonOf(await sign(es1))).toBe("keys_unavailable");
  });

  it("answers keys_unavailable when the JWKS does not answer in time", async () => {
    const hanging = new JwksCache(JWKS_URL, {
      timeoutMs: 20,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason))),
    });
    deps = { now: () => now, keys: hanging };
    expect(await reasonOf(await sign(es1))).toBe("keys_unavailable");
  });

  it("keeps verifying with a warm cache while the JWKS is down, up to its stale-if-error limit", async () => {
    expect(await reasonOf(await sign(es1))).toBe("ok");
    served.status = 503;
    const pending: Promise<unknown>[] = [];
    deps = { ...deps, waitUntil: (p) => pending.push(p) };
    const limit = T0 + DEFAULT_FRESH_MS + STALE_IF_ERROR_MS;
    for (const at of [T0 + DEFAULT_FRESH_MS, T0 + DEFAULT_FRESH_MS + 1_800_000, limit - 1]) {
      now = at;
      expect(await reasonOf(await sign(es1, { iat: now / 1000, exp: now / 1000 + 60 }))).toBe("ok");
      await Promise.all(pending);
    }
    expect(served.hits).toBe(4); // the first fetch, then one failed refresh at each stale verification
    now = limit;
    const fresh = await sign(es1, { iat: now / 1000, exp: now / 1000 + 60 });
    expect(await reasonOf(fresh)).toBe("keys_unavailable");
    served.status = 200;
    now = limit + MIN_FETCH_INTERVAL_MS;
    expect(await reasonOf(fresh)).toBe("ok");
  });

  it("is one per URL in the isolate", () => {
    const again = identityKeySource(JWKS_CONFIG, {}, { fetch: localFetch });
    expect(again).toBe(cache);
  });
});

// --- A shared secret ----------------------------------------------------------

describe("a shared HMAC secret", () => {
  const SECRET = "a-shared-secret-of-the-platform-0123456789";
  const HMAC_CONFIG = configOf({
    issuer: "https://project.supabase.example/auth/v1",
    audience: "authenticated",
    keys: { hmacSecretName: "IDENTITY_PLATFORM" },
    lanes: [{ lane: "stage", claim: "app_role", anyOf: ["host"] }],
  });
  const hmacToken = (secret: string, claims: Record<string, unknown> = {}, alg = "HS256") =>
    new SignJWT({ iss: HMAC_CONFIG.issuer, aud: "authenticated", sub: "u-1", exp: T0_S + 60, ...claims })
      .setProtectedHeader({ alg })
      .sign(new TextEncoder().encode(secret));
  const withSecret = (env: Record<string, unknown>) => ({
    now: () => now,
    keys: hmacSecretSource(env, "IDENTITY_PLATFORM"),
  });

  it("verifies a token signed with it and maps its lane", async () => {
    const d = withSecret({ IDENTITY_PLATFORM: SECRET });
    expect(await verifyIdentity(await hmacToken(SECRET, { app_role: "host" }), HMAC_CONFIG, d)).toEqual({
      ok: true,
      lane: "stage",
      sub: "u-1",
      exp: T0_S + 60,
    });
    const viaConfig = {
      now: () => now,
      keys: identityKeySource(HMAC_CONFIG, { IDENTITY_PLATFORM: SECRET }, { fetch }),
    };
    expect(await verifyIdentity(await hmacToken(SECRET), HMAC_CONFIG, viaConfig)).toMatchObject({
      ok: true,
      lane: null,
    });
  });

  it("refuses other secrets, other algorithms, and fails closed without a usable secret", async () => {
    const d = withSecret({ IDENTITY_PLATFORM: SECRET });
    const other = "another-secret-entirely-0123456789abcdef";
    expect(await verifyIdentity(await hmacToken(other), HMAC_CONFIG, d)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(await verifyIdentity(await hmacToken(SECRET, {}, "HS512"), HMAC_CONFIG, d)).toEqual({
      ok: false,
      reason: "alg_not_allowed",
    });
    expect(await verifyIdentity(await sign(es1), HMAC_CONFIG, d)).toEqual({ ok: false, reason: "alg_not_allowed" });
    for (const env of [{}, { IDENTITY_PLATFORM: "" }, { IDENTITY_PLATFORM: "short" }]) {
      expect(await verifyIdentity(await hmacToken(SECRET), HMAC_CONFIG, withSecret(env))).toEqual({
        ok: false,
        reason: "keys_unavailable",
      });
    }
  });

  it("verifies HS384 and HS512 when allowed", async () => {
    const config = { ...HMAC_CONFIG, algorithms: ["HS256", "HS384", "HS512"] };
    const d = withSecret({ IDENTITY_PLATFORM: SECRET });
    for (const alg of ["HS384", "HS512"]) {
      expect(await verifyIdentity(await hmacToken(SECRET, {}, alg), config, d)).toMatchObject({ ok: true });
    }
  });

  it("never shows the secret in what it says", async () => {
    expect(secretProblem({ IDENTITY_PLATFORM: "short" }, "IDENTITY_PLATFORM")).toBe(
      "the secret IDENTITY_PLATFORM must be at least 32 bytes",
    );
    expect(secretProblem({}, "IDENTITY_PLATFORM")).toBe("the secret IDENTITY_PLATFORM is not set");
    expect(secretProblem({ IDENTITY_PLATFORM: SECRET }, "IDENTITY_PLATFORM")).toBeNull();
    const d = withSecret({ IDENTITY_PLATFORM: SECRET });
    for (const token of [
      await hmacToken(SECRET),
      await hmacToken("x".repeat(40)),
      "a.b.c",
      await hmacToken(SECRET, { exp: 1 }),
    ]) {
      expect(JSON.stringify(await verifyIdentity(token, HMAC_CONFIG, d))).not.toContain(SECRET);
    }
  });
});

// --- Lane rules -------------------------------------------------------------

describe("lane rules", () => {
  it("pick the first rule that matches (property)", () => {
    const value = fc.constantFrom("a", "b", "c", 1, true);
    const rule = fc.record({
      lane: fc.constantFrom("stage", "priority", "invited", "crew"),
      claim: fc.constantFrom("x", "y", "z"),
      anyOf: fc.array(value, { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 6 }),
        fc.dictionary(fc.constantFrom("x", "y", "z"), value),
        (rules, claims) => {
          const lane = laneOf(claims, rules as LaneRule[]);
          const first = rules.findIndex((r) => Object.hasOwn(claims, r.claim) && r.anyOf.includes(claims[r.claim]!));
          expect(lane).toBe(first === -1 ? null : rules[first]!.lane);
          // Rules after the first match never change the lane.
          expect(laneOf(claims, [...rules, ...rules.slice().reverse()] as LaneRule[])).toBe(lane);
        },
      ),
    );
  });

  it("never match inherited properties", () => {
    expect(laneOf({}, [{ lane: "stage", claim: "toString", anyOf: ["x"] }])).toBeNull();
  });
});

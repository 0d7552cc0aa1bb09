/**
 * The deployer's identity tokens verified inside workerd, as the Worker will
 * verify them: a shared HMAC secret read from an env, and a JWKS fetched
 * through a stub `fetch` (WebCrypto and jose as the Worker runs them; the
 * cache's rules themselves are tested in test/unit/identity.test.ts).
 */
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import {
  identityKeySource,
  parseIdentityConfig,
  verifyIdentity,
  type IdentityConfig,
} from "../../src/tokens/identity.ts";
import { forgetJwksCaches, type FetchLike } from "../../src/tokens/jwks-cache.ts";

const NOW = Date.UTC(2026, 0, 1);
const NOW_S = NOW / 1000;
const LANES = [
  { lane: "stage", claim: "role", anyOf: ["host", "speaker"] },
  { lane: "priority", claim: "tier", anyOf: ["premium"] },
];

function configOf(input: unknown): IdentityConfig {
  const parsed = parseIdentityConfig(input);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.config;
}

afterEach(() => forgetJwksCaches());

describe("identity tokens in workerd", () => {
  it("verify with a shared HMAC secret from the env", async () => {
    const secret = "a-platform-secret-of-at-least-32-bytes!";
    const config = configOf({
      issuer: "https://auth.example.com",
      audience: "spillway",
      keys: { hmacSecretName: "IDENTITY_AUTH" },
      lanes: LANES,
    });
    const env = { IDENTITY_AUTH: secret };
    const deps = { now: () => NOW, keys: identityKeySource(config, env, { fetch }) };
    const token = (claims: Record<string, unknown>, key = secret) =>
      new SignJWT({ iss: "https://auth.example.com", aud: "spillway", sub: "u-7", exp: NOW_S + 600, ...claims })
        .setProtectedHeader({ alg: "HS256" })
        .sign(new TextEncoder().encode(key));

    expect(await verifyIdentity(await token({ tier: "premium" }), config, deps)).toEqual({
      ok: true,
      lane: "priority",
      sub: "u-7",
      exp: NOW_S + 600,
    });
    expect(await verifyIdentity(await token({ exp: NOW_S - 60 }), config, deps)).toEqual({
      ok: false,
      reason: "expired",
    });
    const forged = await token({ role: "host" }, "not-the-platform-secret-but-long-enough");
    expect(await verifyIdentity(forged, config, deps)).toEqual({ ok: false, reason: "bad_signature" });
    const noSecret = { now: () => NOW, keys: identityKeySource(config, {}, { fetch }) };
    expect(await verifyIdentity(await token({}), config, noSecret)).toEqual({ ok: false, reason: "keys_unavailable" });
  });

  it("verify with a JWKS fetched through an injected fetch, and pick up a rotated key", async () => {
    const [first, second] = await Promise.all([
      generateKeyPair("ES256", { extractable: true }),
      generateKeyPair("RS256", { extractable: true }),
    ]);
    const jwk1 = { ...(await exportJWK(first.publicKey)), kid: "k1", alg: "ES256" };
    const jwk2 = { ...(await exportJWK(second.publicKey)), kid: "k2", alg: "RS256" };
    let keys = [jwk1];
    const asked: string[] = [];
    const stub: FetchLike = async (url) => {
      asked.push(url);
      return Response.json({ keys }, { headers: { "cache-control": "max-age=600" } });
    };
    const url = "https://tenant.auth.example.com/.well-known/jwks.json";
    const config = configOf({
      issuer: "https://tenant.auth.example.com/",
      audience: "spillway",
      keys: { jwksUrl: url },
      lanes: LANES,
    });
    let now = NOW;
    const deps = { now: () => now, keys: identityKeySource(config, {}, { fetch: stub }) };
    const token = (key: CryptoKey, header: { alg: string; kid: string }, claims: Record<string, unknown>) =>
      new SignJWT({
        iss: "https://tenant.auth.example.com/",
        aud: "spillway",
        sub: "auth0|ada",
        exp: NOW_S + 3600,
        ...claims,
      })
        .setProtectedHeader(header)
        .sign(key);

    expect(
      await verifyIdentity(await token(first.privateKey, { alg: "ES256", kid: "k1" }, { role: "host" }), config, deps),
    ).toEqual({
      ok: true,
      lane: "stage",
      sub: "auth0|ada",
      exp: NOW_S + 3600,
    });
    expect(asked).toEqual([url]);
    const ed = await generateKeyPair("EdDSA", { extractable: true });
    keys = [jwk1, { ...(await exportJWK(ed.publicKey)), kid: "k3", alg: "EdDSA" }];
    now += 30_000;
    const edToken = await token(ed.privateKey, { alg: "EdDSA", kid: "k3" }, { role: "speaker" });
    expect(await verifyIdentity(edToken, config, deps)).toMatchObject({ ok: true, lane: "stage" });
    expect(asked).toHaveLength(2);

    keys = [jwk2];
    now += 30_000;
    const rotated = await token(second.privateKey, { alg: "RS256", kid: "k2" }, { tier: "premium" });
    expect(await verifyIdentity(rotated, config, deps)).toMatchObject({ ok: true, lane: "priority" });
    expect(asked).toHaveLength(3);
    const retired = await token(first.privateKey, { alg: "ES256", kid: "k1" }, {});
    expect(await verifyIdentity(retired, config, deps)).toEqual({ ok: false, reason: "unknown_key" });

    const unsigned = `${btoa('{"alg":"none"}').replace(/=+$/, "")}.${btoa("{}").replace(/=+$/, "")}.`;
    expect(await verifyIdentity(unsigned, config, deps)).toEqual({ ok: false, reason: "alg_not_allowed" });
  });

  it("fail closed when the JWKS cannot be fetched", async () => {
    const config = configOf({
      issuer: "https://down.example.com/",
      audience: "spillway",
      keys: { jwksUrl: "https://down.example.com/jwks.json" },
      lanes: LANES,
    });
    const { privateKey } = await generateKeyPair("ES256");
    const deps = {
      now: () => NOW,
      keys: identityKeySource(config, {}, { fetch: () => Promise.reject(new TypeError("network down")) }),
    };
    const token = await new SignJWT({ iss: "https://down.example.com/", aud: "spillway", sub: "x", exp: NOW_S + 60 })
      .setProtectedHeader({ alg: "ES256", kid: "k" })
      .sign(privateKey);
    expect(await verifyIdentity(token, config, deps)).toEqual({ ok: false, reason: "keys_unavailable" });
  });
});

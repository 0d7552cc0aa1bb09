/**
 * A platform's login as Spillway sees it: a JSON Web Key Set served on
 * 127.0.0.1 (what an Auth0, Clerk or Supabase tenant publishes at its
 * `jwks.json`), whose keys a test rotates, counting every fetch of it, and
 * the identity tokens that login signs with those keys.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

export const JWKS_PATH = "/jwks.json";

export interface JwksServer {
  /** http://127.0.0.1:<port>/jwks.json */
  readonly url: string;
  /** GET requests for the key set so far. */
  fetches(): number;
  /** The public keys it serves from now on. */
  serve(keys: readonly JWK[]): void;
  close(): Promise<void>;
}

/** Serve `keys` as a JWKS (cacheable for ten minutes, as identity providers say), counting fetches. */
export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let served: readonly JWK[] = keys;
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    if (req.method !== "GET" || req.url !== JWKS_PATH) {
      res.writeHead(404).end();
      return;
    }
    fetches += 1;
    const body = JSON.stringify({ keys: served });
    res.writeHead(200, {
      "content-type": "application/json",
      "cache-control": "public, max-age=600",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${JWKS_PATH}`,
    fetches: () => fetches,
    serve: (next) => {
      served = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JWKS URL on this machine where nothing answers: a server started and stopped again. */
export async function stoppedJwksUrl(): Promise<string> {
  const gone = await startJwksServer([]);
  await gone.close();
  return gone.url;
}

/** One of the platform's signing keys: its public JWK (with `kid`), and tokens it signs. */
export interface SigningKey {
  readonly kid: string;
  readonly jwk: JWK;
  sign(claims: { iss: string; aud: string } & Record<string, unknown>): Promise<string>;
}

/** A new ES256 key named `kid`; its tokens carry `sub`, expire in ten minutes (unless `exp` is given), and name the key. */
export async function signingKey(kid: string): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  return {
    kid,
    jwk,
    sign: (claims) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ sub: `user-${crypto.randomUUID()}`, iat: now, exp: now + 600, ...claims })
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .sign(privateKey);
    },
  };
}

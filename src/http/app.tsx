/**
 * The edge Worker's routes: the listener's JSON endpoints (listener.ts), the
 * guarded room path (guarded.ts), the JWKS, the OpenAPI document and the
 * admin API (admin.ts). Policy lives below src/http/; this layer only turns
 * HTTP into desk calls and the desk's answers into cookies, pages and JSON
 * (answers.ts).
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { MAX_CREDENTIAL_HEADER } from "../edge/credentials.ts";
import { keyRing } from "../tokens/keys.ts";
import { admin } from "./admin.ts";
import { DurableFailure } from "../edge/durable-call.ts";
import type { ErrorCode } from "../contract/errors.ts";
import { fail } from "./fail.ts";
import { JWKS_PATH, OPENAPI_PATH, openApiJson } from "../contract/openapi.ts";
import { CHALLENGE_WORKER_PATH, challengeWorkerResponse } from "../pages/challenge/worker.ts";
import { OWN_ANSWER_CSP } from "../pages/csp.ts";
import { unavailable } from "./answers.ts";
import { guarded } from "./guarded.ts";
import { listener } from "./listener.ts";
import { originHooks } from "./origin-hooks.ts";
import { type AppEnv, withRoom } from "./room-request.ts";

export const app = new Hono<AppEnv>();

/** The documents anyone may fetch, answered the same whatever the request carries (no credential is read). */
const PUBLIC_DOCUMENTS: ReadonlySet<string> = new Set([JWKS_PATH, OPENAPI_PATH]);

/**
 * Headers every answer of Spillway's own carries (not the origin's answers it
 * forwards): nothing in it may run or be framed unless the answer says
 * otherwise (pages set a CSP with their script nonce), no type sniffing, and
 * no caching unless the answer says it may be. A Cookie or Authorization
 * header over MAX_CREDENTIAL_HEADER is refused before anything reads it,
 * except on the public documents, which read none.
 */
app.use("*", async (c, next) => {
  if (!PUBLIC_DOCUMENTS.has(c.req.path)) {
    const cookie = c.req.header("cookie");
    const auth = c.req.header("authorization");
    if ((cookie?.length ?? 0) > MAX_CREDENTIAL_HEADER || (auth?.length ?? 0) > MAX_CREDENTIAL_HEADER) {
      return fail(c, "headers_too_large");
    }
  }
  await next();
  if (c.get("fromOrigin") === true) return;
  const headers = c.res.headers;
  if (!headers.has("content-security-policy")) headers.set("content-security-policy", OWN_ANSWER_CSP);
  headers.set("x-content-type-options", "nosniff");
  // Only what says it may be cached (the JWKS, the OpenAPI document, the solver script) is.
  if (!headers.has("cache-control")) headers.set("cache-control", "no-store");
});

app.get(JWKS_PATH, async (c) => {
  const keys = await keyRing(c.env);
  return c.json(keys.jwks, 200, { "cache-control": "public, max-age=300" });
});

/** The OpenAPI document of this contract, generated from the schemas the code's types come from. */
app.get(OPENAPI_PATH, (c) =>
  c.body(openApiJson(), 200, { "content-type": "application/json", "cache-control": "public, max-age=300" }),
);

app.route("/_spillway/admin", admin);

/** The waiting page's proof-of-work solver (under-attack mode), a Web Worker script. */
app.get(CHALLENGE_WORKER_PATH, () => challengeWorkerResponse());

app.route("/_spillway/rooms", listener);

/** Calls from origins that enforce the seat themselves (direct mode). */
app.route("/_spillway/origins", originHooks);

app.all("/rooms/:room", withRoom, guarded);
app.all("/rooms/:room/*", withRoom, guarded);

app.notFound((c) => fail(c, "not_found"));

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    const code: ErrorCode = err.status === 413 ? "body_too_large" : err.status === 404 ? "not_found" : "invalid_body";
    return fail(c, code);
  }
  if (err instanceof DurableFailure) {
    // An admin read or change whose Durable Object could not be reached: nothing was applied.
    return unavailable(c, null);
  }
  console.error("spillway fault", err);
  return fail(c, "internal");
});

/**
 * Origins' own calls to Spillway (direct mode): Icecast's URL authentication
 * hook. The logic is src/edge/icecast-hook.ts; this only reads the request.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { icecastHook } from "../edge/icecast-hook.ts";
import type { AppEnv } from "./room-request.ts";

export const originHooks = new Hono<AppEnv>();

/** Icecast's forms are small; a bigger body is no listener's. */
const MAX_FORM_BYTES = 16 * 1024;

/** A refusal Icecast reads as one (no admit header) and the caller as a wrong key. */
const wrongKey = () =>
  new Response("wrong or missing hook key\n", {
    status: 401,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });

originHooks.post(
  "/icecast/listener",
  bodyLimit({
    maxSize: MAX_FORM_BYTES,
    onError: () => new Response("form too large\n", { status: 413, headers: { "content-type": "text/plain" } }),
  }),
  async (c) => {
    // A form is ASCII (Icecast escapes every value); read as bytes, not as text of a declared type.
    const form = new TextDecoder().decode(await c.req.arrayBuffer());
    const answer = await icecastHook(c.env, c.req.query("key") ?? null, form);
    return answer.kind === "wrong_key" ? wrongKey() : answer.response;
  },
);

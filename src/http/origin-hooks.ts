/**
 * Origins' own calls to Spillway (direct mode): Icecast's URL authentication
 * hook, LiveKit's webhooks and Janus's events. The logic is
 * src/edge/icecast-hook.ts, src/edge/livekit-hook.ts and
 * src/edge/janus-hook.ts; this only reads the request and words the answer.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { icecastHook } from "../edge/icecast-hook.ts";
import { janusEvents, MAX_JANUS_EVENTS_BYTES } from "../edge/janus-hook.ts";
import { liveKitHook } from "../edge/livekit-hook.ts";
import { MAX_WEBHOOK_BODY_BYTES } from "../origins/livekit-webhook.ts";
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

const plain = (status: number, text: string) =>
  new Response(`${text}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

originHooks.post(
  "/livekit/webhook",
  bodyLimit({ maxSize: MAX_WEBHOOK_BODY_BYTES, onError: () => plain(413, "webhook body too large") }),
  async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await liveKitHook(c.env, c.req.header("authorization") ?? null, body);
    switch (answer.kind) {
      case "done":
        return plain(200, answer.seat ? "ok" : "ok (not a seat)");
      case "refused":
        return plain(401, `webhook refused: ${answer.reason}`);
      case "not_configured":
        return plain(503, "LiveKit is not configured here (LIVEKIT_API_KEY/LIVEKIT_API_SECRET)");
      case "unavailable":
        return plain(503, "the seat's shard is unavailable: deliver again later");
    }
  },
);

originHooks.post(
  "/janus/events",
  bodyLimit({ maxSize: MAX_JANUS_EVENTS_BYTES, onError: () => plain(413, "events body too large") }),
  async (c) => {
    const body = new Uint8Array(await c.req.arrayBuffer());
    const answer = await janusEvents(c.env, c.req.header("authorization") ?? null, body);
    switch (answer.kind) {
      case "done":
        return plain(200, `ok (${answer.events} events, ${answer.seats} of seats)`);
      case "refused":
        return new Response("wrong or missing events password\n", {
          status: 401,
          headers: { "content-type": "text/plain; charset=utf-8", "www-authenticate": 'Basic realm="janus events"' },
        });
      case "bad_body":
        return plain(400, answer.message);
      case "not_configured":
        return plain(503, "Janus's events are not configured here (JANUS_EVENTS_SECRET)");
      case "unavailable":
        return plain(503, "a seat's shard is unavailable: post again later");
    }
  },
);

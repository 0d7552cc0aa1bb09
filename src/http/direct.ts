/**
 * The guarded room path in a direct room (origin `icecast-hook`, `janus`,
 * `livekit`): the listener connects to the media server itself with the
 * credential the status JSON's `connect` carries, so nothing is proxied. A
 * browser holding a valid pass gets the waiting page in its admitted
 * "direct" state, whose script fetches `connect` and plays it (or hands it
 * to the embedding app); an app asking JSON gets the admitted status, as
 * from `heartbeat`.
 *
 * The page's CSP opens exactly one more origin, and only the one its mode
 * needs: `media-src` to Icecast (ORIGIN_URL) in an icecast-hook room,
 * `connect-src` to the Janus API (JANUS_URL) in a janus room; nothing in a
 * livekit room (no client is bundled) and nothing in a proxy room.
 */
import type { Context } from "hono";
import type { Settings } from "../edge/settings.ts";
import type { PassClaims } from "../tokens/pass.ts";
import { admittedStatus, type RoomFacts, type StatusBody } from "../contract/status.ts";
import type { DirectSources } from "../pages/csp.ts";
import { chooseLanguage } from "../pages/waiting/language.ts";
import { type DirectKind, waitingPage } from "../pages/waiting/page.tsx";
import { answerJson } from "./answers.ts";
import type { AppEnv } from "./room-request.ts";

/** The room's origin when it is a direct one, from the desk's view (cached or last known); null for a proxy room. */
export async function directKind(c: Context<AppEnv>): Promise<DirectKind | null> {
  const { view } = await c.get("desk").viewOrLast();
  const origin = view?.origin ?? "proxy";
  return origin === "proxy" ? null : origin;
}

/** The one origin the direct page of `kind` may reach beyond Spillway's own, from the deployment's settings. */
export function directSources(kind: DirectKind, settings: Settings): DirectSources {
  switch (kind) {
    case "icecast-hook":
      return settings.origin === null ? {} : { media: settings.origin.origin };
    case "janus":
      return settings.janus === null ? {} : { connect: settings.janus.origin };
    case "livekit":
      // No client in the page: the embedding app connects, under its own policy.
      return {};
  }
}

/**
 * The answer to a pass holder in a direct room: to an app asking JSON, the
 * admitted status with `connect` (the seat's heartbeat: it renews the pass);
 * to a browser, the direct page. `token` and `expiresAt` are the seat's
 * current pass (renewed on the way or not).
 */
export async function directAnswer(
  c: Context<AppEnv>,
  kind: DirectKind,
  pass: PassClaims,
  seat: { token: string; expiresAt: number },
  json: boolean,
): Promise<Response> {
  const desk = c.get("desk");
  if (json) return answerJson(c, await desk.heartbeat(pass));
  const { view } = await desk.viewOrLast();
  const facts: RoomFacts = view ?? { startsAt: null, recordingUrl: null };
  const status = admittedStatus(
    desk.room,
    seat.token,
    Math.floor(seat.expiresAt / 1000),
    desk.settings.timings.passTtlMs,
    facts,
  );
  return directPage(c, kind, status);
}

/** The waiting page in its admitted direct state (the caller has set the flow's cookies). */
export async function directPage(c: Context<AppEnv>, kind: DirectKind, status: StatusBody): Promise<Response> {
  const desk = c.get("desk");
  const target = new URL(c.req.url);
  const { view } = await desk.viewOrLast();
  c.header("cache-control", "no-store");
  return waitingPage(c, {
    status,
    target: target.pathname + target.search,
    keep: false,
    branding: view?.branding,
    language: chooseLanguage(c.req.query("lang"), c.req.header("accept-language")),
    direct: { kind, sources: directSources(kind, desk.settings) },
  });
}

/**
 * The solving worker's route: its source (./browser/worker.ts, bundled by
 * ../build.ts) served from this origin, so that the challenge page's CSP can
 * allow it with `worker-src 'self'` and nothing else, under a URL that
 * changes with the source.
 */
import { WORKER_SCRIPT_POLICY } from "../csp.ts";
import { CHALLENGE_WORKER_JS } from "../generated/scripts.ts";

/** Where the page loads the worker from; the route is mounted by the app. */
export const CHALLENGE_WORKER_PATH = "/_spillway/challenge-worker.js";

/** FNV-1a of a string, as 8 hex digits: a version tag, not a security measure. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * The URL the page starts the worker from: the path with a tag of this
 * source, so that a page never runs a worker cached from an older release
 * (the route ignores the query).
 */
export const CHALLENGE_WORKER_URL = `${CHALLENGE_WORKER_PATH}?v=${fnv1a(CHALLENGE_WORKER_JS)}`;

/** The answer of `GET /_spillway/challenge-worker.js` (the same for everyone, so cached for an hour). */
export function challengeWorkerResponse(): Response {
  return new Response(CHALLENGE_WORKER_JS, {
    status: 200,
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=3600",
      // A dedicated worker runs under the CSP of its own response, and this one fetches, imports and evaluates nothing.
      "content-security-policy": WORKER_SCRIPT_POLICY,
      "x-content-type-options": "nosniff",
    },
  });
}

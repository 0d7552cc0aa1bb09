/**
 * The Content-Security-Policy of everything Spillway answers itself, and the
 * nonce its pages' inline script and style run under, written once: the
 * listener's pages, the dashboard, the solving worker's script, and every
 * other answer of its own (errors, the reconnecting page) take theirs from
 * here.
 */

/** Nothing may load: the start of every policy here. */
const NOTHING = "default-src 'none'";
/** No page may frame this one. */
const NO_FRAMING = "frame-ancestors 'none'";

/**
 * The policy of a script that fetches, imports and evaluates nothing (the
 * solving worker runs under the CSP of its own response).
 */
export const WORKER_SCRIPT_POLICY = NOTHING;

/** Spillway's own answers that are not pages with a script (errors, JSON, the reconnecting page): nothing runs, nothing frames them. */
export const OWN_ANSWER_CSP = `${NOTHING}; ${NO_FRAMING}`;

/**
 * The security headers of an answer of Spillway's own that sets none itself
 * (the app's middleware adds the same to every routed answer): never cached
 * unless it says so.
 */
export const OWN_ANSWER_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": OWN_ANSWER_CSP,
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
};

/** A fresh nonce for one response. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes));
}

/**
 * What a waiting page in a direct room may reach beyond this origin: at most
 * one media server's origin (`scheme://host:port`), for fetches (`connect`,
 * the Janus API) or for media (`media`, an Icecast stream). Empty for every
 * other page.
 */
export interface DirectSources {
  connect?: string;
  media?: string;
}

/**
 * A page's policy: only its own nonced script and style, images from
 * `images`, fetches to this origin (the status polls, the join, the admin
 * API) and to `direct.connect`, media from `direct.media` only, `extra`
 * directives (the challenge page's worker), and no base URL, form target or
 * framing. A meta refresh and the script's navigation are not governed by
 * CSP, so both work.
 */
export function pagePolicy(
  nonce: string,
  images: string,
  extra: readonly string[] = [],
  direct: DirectSources = {},
): string {
  return [
    NOTHING,
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    `img-src ${images}`,
    direct.connect === undefined ? "connect-src 'self'" : `connect-src 'self' ${direct.connect}`,
    ...(direct.media === undefined ? [] : [`media-src ${direct.media}`]),
    ...extra,
    "base-uri 'none'",
    "form-action 'none'",
    NO_FRAMING,
  ].join("; ");
}

/**
 * The listener's pages: images from https (the room's logo) or inline, plus
 * `extra` (the challenge page's worker) and a direct room's media server.
 */
export function listenerPagePolicy(nonce: string, extra: readonly string[] = [], direct: DirectSources = {}): string {
  return pagePolicy(nonce, "https: data:", extra, direct);
}

/** Headers of a page: personal, so never cached; its policy; no sniffing, no referrer (to a logo's host, say). */
export function pageHeaders(policy: string): Record<string, string> {
  return {
    "cache-control": "no-store",
    "content-security-policy": policy,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  };
}

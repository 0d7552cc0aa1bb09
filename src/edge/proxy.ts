/**
 * Proxy mode: an admitted request goes on to ORIGIN_URL with the pass in
 * `Spillway-Pass`, without Spillway's cookies or the listener's bearer pass.
 * An origin that cannot be reached gives a 502 with Retry-After; the seat
 * stays with its listener until the pass expires, so nothing leaks.
 */
import { foreignCookies, IDENTITY_HEADER } from "./credentials.ts";
import { readCompactJws } from "../tokens/compact-jws.ts";

export const PASS_HEADER = "Spillway-Pass";
const RETRY_AFTER_SECONDS = "5";

/**
 * Hop-by-hop headers that must not be forwarded, of those the runtime lets
 * through. Connection, Keep-Alive, TE, Trailer, Transfer-Encoding and
 * Upgrade never reach an origin through `fetch` (the connection's own, set
 * by the runtime: test/contract/proxy.test.ts sends them all), so deleting
 * them would cost a call each per request and change nothing.
 */
const HOP_BY_HOP = ["proxy-connection"];

/** Request headers that are Spillway's business only (under-attack mode's challenge and solution, the identity token). */
const SPILLWAY_REQUEST_HEADERS = ["spillway-challenge", "spillway-solution", IDENTITY_HEADER];

/** Does this Authorization value carry one of Spillway's tokens (any kind: its JOSE `typ` says so)? */
export function carriesSpillwayToken(authorization: string | null): boolean {
  if (authorization === null) return false;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (m === null) return false;
  const typ = readCompactJws(m[1]!)?.header.typ;
  return typeof typ === "string" && typ.toLowerCase().startsWith("spillway-");
}

/** Is this request a WebSocket handshake? */
export function isWebSocketUpgrade(request: Request): boolean {
  return (request.headers.get("upgrade") ?? "").trim().toLowerCase() === "websocket";
}

/**
 * The request as the origin should see it (a WebSocket handshake keeps its
 * `Upgrade`); `signal` aborts it. Its headers are the listener's, copied once
 * into the new request and trimmed there. `plain`: the request is known to
 * carry no Cookie and to be no WebSocket handshake (the hot paths looked),
 * so neither is looked for again.
 */
export function originRequest(
  request: Request,
  origin: URL,
  pass: string,
  bearerWasPass: boolean,
  signal: AbortSignal,
  plain = false,
): Request {
  // The request's path and query on the origin's host (the origin's own path is not kept, as a URL resolves).
  const url = request.url;
  const target = origin.origin + url.slice(url.indexOf("/", url.indexOf("//") + 2));
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const out = new Request(target, {
    method: request.method,
    headers: request.headers,
    body: hasBody ? request.body : null,
    redirect: "manual",
    signal,
  });
  const headers = out.headers;
  for (const h of HOP_BY_HOP) headers.delete(h);
  if (!plain) {
    if (isWebSocketUpgrade(request)) headers.set("upgrade", "websocket");
    const cookies = foreignCookies(headers.get("cookie"));
    if (cookies === null) headers.delete("cookie");
    else headers.set("cookie", cookies);
  }
  // Nothing of Spillway's own goes on: no token of any kind in Authorization, no challenge headers.
  if (bearerWasPass || carriesSpillwayToken(headers.get("authorization"))) headers.delete("authorization");
  for (const h of SPILLWAY_REQUEST_HEADERS) headers.delete(h);
  headers.set(PASS_HEADER, pass);
  return out;
}

/** `cancel` aborts the origin request, its body still arriving included. */
export type ProxyResult =
  { ok: true; response: Response; cancel: (reason: Error) => void } | { ok: false; error: unknown };

/** Send to the origin (`plain`: as originRequest takes it); a network failure is a result, not a throw. */
export async function proxy(
  request: Request,
  origin: URL,
  pass: string,
  bearerWasPass: boolean,
  plain = false,
): Promise<ProxyResult> {
  try {
    const abort = new AbortController();
    const cancel = (reason: Error) => abort.abort(reason);
    const response = await fetch(originRequest(request, origin, pass, bearerWasPass, abort.signal, plain));
    if (
      (response.status === 502 || response.status === 503 || response.status === 504) &&
      !response.headers.has("retry-after")
    ) {
      const withRetry = new Response(response.body, response);
      withRetry.headers.set("retry-after", RETRY_AFTER_SECONDS);
      return { ok: true, response: withRetry, cancel };
    }
    return { ok: true, response, cancel };
  } catch (error) {
    return { ok: false, error };
  }
}

export { RETRY_AFTER_SECONDS };

/**
 * Where listeners' tokens travel: cookies for browsers, `Authorization:
 * Bearer` for apps. Cookies are per room, HttpOnly, SameSite=Lax, and Secure
 * with the `__Host-` prefix everywhere but on localhost. Reading and setting
 * them on a request is Hono wiring (src/http/cookies.ts).
 */
import { OVERFLOW_TYP, PASS_TYP, TICKET_TYP } from "../tokens/claims.ts";
import type { CompactJws } from "../tokens/compact-jws.ts";

export type TokenKind = "ticket" | "pass" | "overflow";

export const COOKIE_BASE = "spillway";

export const TOKEN_KINDS: readonly TokenKind[] = ["ticket", "pass", "overflow"];

/** True when the request is served from this machine (http cookies allowed). */
export function isLocal(url: URL): boolean {
  const h = url.hostname;
  return h === "localhost" || h.endsWith(".localhost") || h.startsWith("127.") || h === "[::1]";
}

export function cookieName(kind: TokenKind, room: string, secure: boolean): string {
  return `${secure ? "__Host-" : ""}${COOKIE_BASE}-${kind}-${room}`;
}

/** Is this cookie one of Spillway's own (to strip before the origin)? */
export function isSpillwayCookie(name: string): boolean {
  return name.startsWith(`${COOKIE_BASE}-`) || name.startsWith(`__Host-${COOKIE_BASE}-`);
}

/** The kind a token says it is (unverified; only used to route it to its verifier). */
export function claimedKind(jws: CompactJws): TokenKind | null {
  const { typ } = jws.header;
  if (typ === TICKET_TYP) return "ticket";
  if (typ === PASS_TYP) return "pass";
  if (typ === OVERFLOW_TYP) return "overflow";
  return null;
}

/** Clear plain-named cookies on the answer (host-only; one set for a parent domain cannot be reached from here). */
export function clearStrayCookies(headers: Headers, room: string, kinds: TokenKind[]): void {
  for (const kind of kinds) {
    headers.append(
      "set-cookie",
      `${cookieName(kind, room, false)}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax`,
    );
  }
}

/** Largest Cookie or Authorization header accepted. */
export const MAX_CREDENTIAL_HEADER = 8 * 1024;

/**
 * The `name=value` pairs of a Cookie header. Several Cookie lines may arrive
 * merged with ", " (as the runtime joins repeated headers), so a pair is also
 * cut where ", " is followed by a cookie name (cookie values never hold a
 * comma, RFC 6265).
 */
export function cookiePairs(header: string): string[] {
  return header.split(/;|,\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)/);
}

/**
 * Where an arrival shows the deployer's identity token (lane-arrival.ts):
 * read by Spillway at join, and never passed on to the origin.
 */
export const IDENTITY_HEADER = "spillway-identity";
export const IDENTITY_COOKIE = "spillway_identity";

/**
 * The Cookie header without Spillway's own cookies (and the identity
 * cookie), or null when nothing is left.
 */
export function foreignCookies(header: string | null): string | null {
  if (header === null) return null;
  const kept = cookiePairs(header)
    .map((p) => p.trim())
    .filter((p) => {
      const name = p.split("=", 1)[0]!.trim();
      return p !== "" && !isSpillwayCookie(name) && name !== IDENTITY_COOKIE;
    });
  return kept.length === 0 ? null : kept.join("; ");
}

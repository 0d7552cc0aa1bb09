/**
 * Where listeners' tokens travel: cookies for browsers, `Authorization:
 * Bearer` for apps. Cookies are per room, HttpOnly, SameSite=Lax, and Secure
 * with the `__Host-` prefix everywhere but on localhost.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { OVERFLOW_TYP, PASS_TYP, TICKET_TYP } from "../tokens/claims.ts";
import { type CompactJws, readCompactJws } from "../tokens/compact-jws.ts";

export type TokenKind = "ticket" | "pass" | "overflow";

const COOKIE_BASE = "spillway";

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

/** The bearer token, or null. */
export function bearerOf(c: Context): string | null {
  const h = c.req.header("authorization");
  if (h === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
}

/** The kind a token says it is (unverified; only used to route it to its verifier). */
export function claimedKind(jws: CompactJws): TokenKind | null {
  const { typ } = jws.header;
  if (typ === TICKET_TYP) return "ticket";
  if (typ === PASS_TYP) return "pass";
  if (typ === OVERFLOW_TYP) return "overflow";
  return null;
}

export interface Presented {
  token: string;
  from: "bearer" | "cookie";
  /** A bearer token as read for its kind, for its verifier to reuse (null for a cookie). */
  jws: CompactJws | null;
}

/**
 * The token of this kind the request presents: a bearer of that kind first,
 * else the cookie. Off localhost only the `__Host-` cookie counts: a plain
 * name can be set by a sibling subdomain (cookie tossing), so it is ignored
 * (and cleared, see strayCookies).
 */
export function presented(c: Context, kind: TokenKind, room: string): Presented | null {
  const bearer = bearerOf(c);
  const jws = bearer === null ? null : readCompactJws(bearer);
  if (jws !== null && claimedKind(jws) === kind) return { token: jws.token, from: "bearer", jws };
  const cookie = getCookie(c, cookieName(kind, room, !isLocal(new URL(c.req.url))));
  if (cookie !== undefined && cookie !== "") return { token: cookie, from: "cookie", jws: null };
  return null;
}

const KINDS: TokenKind[] = ["ticket", "pass", "overflow"];

/**
 * Plain-named Spillway cookies of this room on a host where Spillway only
 * sets `__Host-` ones: nobody but a sibling subdomain can have set them.
 * They are never read; the answer clears them (clearStrayCookies).
 */
export function strayCookies(c: Context, room: string): TokenKind[] {
  // The waiting poll's path: no cookie (apps), or no plain Spillway name in it, costs one string search.
  const header = c.req.header("cookie");
  if (header === undefined || !header.includes(`${COOKIE_BASE}-`)) return [];
  if (isLocal(new URL(c.req.url))) return [];
  const all = getCookie(c);
  return KINDS.filter((kind) => all[cookieName(kind, room, false)] !== undefined);
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

/** Set the cookie for a token, living as long as the token. */
export function setTokenCookie(c: Context, kind: TokenKind, room: string, token: string, maxAgeSeconds: number): void {
  const secure = !isLocal(new URL(c.req.url));
  setCookie(c, cookieName(kind, room, secure), token, {
    path: "/",
    httpOnly: true,
    sameSite: "Lax",
    secure,
    maxAge: Math.max(1, Math.floor(maxAgeSeconds)),
  });
}

/** Remove the cookie for a token kind. */
export function clearTokenCookie(c: Context, kind: TokenKind, room: string): void {
  const secure = !isLocal(new URL(c.req.url));
  deleteCookie(c, cookieName(kind, room, secure), { path: "/", secure });
}

/**
 * The Cookie header without Spillway's own cookies, or null when nothing is
 * left. Several Cookie lines may arrive merged with ", " (as the runtime
 * joins repeated headers), so a pair is also cut where ", " is followed by a
 * cookie name (cookie values never hold a comma, RFC 6265).
 */
export function foreignCookies(header: string | null): string | null {
  if (header === null) return null;
  const kept = header
    .split(/;|,\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)/)
    .map((p) => p.trim())
    .filter((p) => p !== "" && !isSpillwayCookie(p.split("=", 1)[0]!.trim()));
  return kept.length === 0 ? null : kept.join("; ");
}

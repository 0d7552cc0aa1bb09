/**
 * Listeners' tokens on a Hono request: the bearer, the room's cookies, and
 * setting or clearing them (names and rules: src/edge/credentials.ts).
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { claimedKind, COOKIE_BASE, cookieName, isLocal, TOKEN_KINDS, type TokenKind } from "../edge/credentials.ts";
import { type CompactJws, readCompactJws } from "../tokens/compact-jws.ts";

/** The bearer token, or null. */
export function bearerOf(c: Context): string | null {
  const h = c.req.header("authorization");
  if (h === undefined) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : null;
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
  return TOKEN_KINDS.filter((kind) => all[cookieName(kind, room, false)] !== undefined);
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

/**
 * Which line a new arrival joins: a lane, when it presents an identity token
 * from the deployer's login that the room's identity settings verify and map
 * to one of the room's lanes (identity.ts, lanes.ts); otherwise the general
 * line.
 *
 * The token comes in the `Spillway-Identity` header (apps, or a platform's
 * page calling join), or in a `spillway_identity` cookie the platform sets
 * for the site. It is read only at join: the lane is fixed in the ticket
 * (its shard), which Spillway signs, so nothing presented later changes it.
 *
 * Lanes fail closed, and only lanes: a token in the header that is forged,
 * expired, for another issuer or audience, or signed with a key the platform
 * does not publish is refused (401 `identity_refused`, nothing taken: the app
 * that sent it can sign in again or join without it). The same token in the
 * cookie puts the listener in the general line instead: a browser sends the
 * platform's cookie whether or not its token is still good, and cannot join
 * without it, so a refusal would keep it out of the room altogether. When the
 * platform's keys cannot be had (its JWKS unreachable, the secret unset) the
 * listener joins the general line, as if it had shown no token.
 */
import type { GlobalView, LaneView } from "../policy/protocol.ts";
import { laneAt } from "../policy/estimate.ts";
import { slotOf } from "../policy/lanes.ts";
import {
  identityKeySource,
  type IdentityRefusal,
  MAX_IDENTITY_TOKEN_LENGTH,
  verifyIdentity,
} from "../tokens/identity.ts";

import { cookiePairs, IDENTITY_COOKIE, IDENTITY_HEADER } from "./credentials.ts";

/** An arrival a lane takes: its name and how the view sees it. */
export interface LaneArrival {
  kind: "lane";
  name: string;
  view: LaneView;
}

export type ArrivalLine =
  | LaneArrival
  /** The general line; `unchecked`: why a token shown was not used (its keys could not be had, or a cookie's was refused). */
  | { kind: "general"; unchecked?: IdentityRefusal }
  | { kind: "refused"; reason: IdentityRefusal };

/** The identity token an arrival presents (header first, then the cookie) and where it came from, or null. */
export function identityTokenOf(headers: Headers): { token: string; from: "header" | "cookie" } | null {
  const header = headers.get(IDENTITY_HEADER);
  if (header !== null && header.trim() !== "")
    return { token: header.trim().replace(/^Bearer\s+/i, ""), from: "header" };
  const cookie = cookieValue(headers.get("cookie"), IDENTITY_COOKIE);
  return cookie === null || cookie === "" ? null : { token: cookie, from: "cookie" };
}

/**
 * A cookie's value from a Cookie header (the first of that name), or null.
 * Pairs are cut as credentials.ts cuts them (`cookiePairs`); a quoted value
 * is unquoted, a percent-encoded one decoded.
 */
function cookieValue(header: string | null, name: string): string | null {
  if (header === null || header.length > 16 * 1024) return null;
  for (const pair of cookiePairs(header)) {
    const eq = pair.indexOf("=");
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!value.includes("%")) return value;
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return null;
}

export interface LaneDeps {
  env: Env;
  now: number;
  /** The request's waitUntil: a background refresh of the platform's keys outlives the answer. */
  background: (work: Promise<unknown>) => void;
  /** How the platform's keys are fetched (the global fetch by default). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** The line an arrival with these headers joins, by the room's view. */
export async function laneOfArrival(view: GlobalView, headers: Headers, deps: LaneDeps): Promise<ArrivalLine> {
  const presented = identityTokenOf(headers);
  const settings = view.identity ?? null;
  // A room that reads no identity tokens ignores one; so does a room without lanes.
  if (presented === null || settings === null || Object.keys(view.lanes ?? {}).length === 0) return { kind: "general" };
  const { token, from } = presented;
  const refuse = (reason: IdentityRefusal): ArrivalLine =>
    from === "cookie" ? { kind: "general", unchecked: reason } : { kind: "refused", reason };
  if (token.length > MAX_IDENTITY_TOKEN_LENGTH) return refuse("malformed");
  const keys = identityKeySource(settings, deps.env as unknown as Record<string, unknown>, {
    fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
  });
  const result = await verifyIdentity(token, settings, { now: () => deps.now, keys, waitUntil: deps.background });
  if (!result.ok) {
    if (result.reason !== "keys_unavailable") return refuse(result.reason);
    console.warn("identity keys unavailable: the arrival joins the general line");
    return { kind: "general", unchecked: "keys_unavailable" };
  }
  const lane = result.lane === null ? undefined : view.lanes?.[result.lane];
  return lane === undefined ? { kind: "general" } : { kind: "lane", name: result.lane!, view: lane };
}

/** The name of the lane a shard belongs to, by the view (null: the general line, or a lane the room no longer has). */
export function laneNameAt(view: GlobalView, shard: number): string | null {
  const slot = slotOf(shard);
  if (slot === 0) return null;
  const lane = laneAt(view, slot);
  if (lane === null) return null;
  for (const [name, l] of Object.entries(view.lanes ?? {})) if (l === lane) return name;
  return null;
}

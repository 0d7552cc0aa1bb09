/**
 * A deployer's JSON Web Key Set, fetched and cached per isolate.
 *
 * Identity tokens from the deployer's own login (identity.ts) are signed with
 * keys the platform publishes at a JWKS URL and rotates on its own schedule.
 * This cache fetches that set with an injected `fetch` and reads the time
 * from the caller, so the rules below are tested without sleeping:
 *
 * - **Freshness.** A set is fresh for the response's `Cache-Control: max-age`
 *   clamped to [60 s, 1 h] (5 min when it gives none). A stale set is still
 *   used while a refresh runs in the background (through the request's
 *   `waitUntil` when the caller gives one).
 * - **Stale if error.** When refreshes fail, a set is used for at most 1 h
 *   past its freshness, then dropped: tokens are refused as
 *   `keys_unavailable` until the JWKS answers again. Lanes fail closed;
 *   the caller treats such a listener as a general one.
 * - **Rotation.** A token whose `kid` is not in the set makes the cache
 *   refetch at once (within the limit below) and look again, so a new key is
 *   picked up without a restart, and a key rotated out of the set stops
 *   verifying at the next fetch.
 * - **One fetch per 30 s.** Whatever asks for it (an unknown `kid`, a stale
 *   set, a failure), at most one fetch starts per 30 s per URL and concurrent
 *   requests share it, so a flood of made-up `kid`s, or a JWKS that is down,
 *   costs the JWKS (and the requests) one fetch per 30 s, not one per token.
 *
 * jose's `createRemoteJWKSet` does much the same, but reads `Date.now()` for
 * its cooldown and age, so it is not used: the fetched document goes through
 * `createLocalJWKSet`, which imports each key once and reuses its `CryptoKey`.
 */
import { createLocalJWKSet, errors, type JWSHeaderParameters } from "jose";

/** A set is fresh for at least this long, whatever its `max-age` says. */
export const MIN_FRESH_MS = 60_000;
/** ... and at most this long. */
export const MAX_FRESH_MS = 3_600_000;
/** Freshness when the response says nothing about it. */
export const DEFAULT_FRESH_MS = 300_000;
/** How long past its freshness a set is still used while its URL fails. */
export const STALE_IF_ERROR_MS = 3_600_000;
/** At most one fetch starts in this long, per URL. */
export const MIN_FETCH_INTERVAL_MS = 30_000;
/** A fetch that has not answered in this long has failed. */
export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
/** A JWKS longer than this (in characters) is refused: real ones are a few KiB. */
export const MAX_JWKS_LENGTH = 64 * 1024;

/** Why a key source has no key for a token. */
export type KeyRefusal = "unknown_key" | "keys_unavailable";

export type KeyLookup = { ok: true; key: CryptoKey } | { ok: false; reason: KeyRefusal };

/** What a lookup is told about the request it serves. */
export interface LookupContext {
  /** Now, in ms since the epoch. */
  now: number;
  /** Keeps a background refresh alive past the response (the request's `ctx.waitUntil`). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** Where the verifier gets the key for a token's header. */
export interface IdentityKeySource {
  keyFor(header: JWSHeaderParameters & { alg: string }, at: LookupContext): Promise<KeyLookup>;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface JwksCacheOptions {
  fetch: FetchLike;
  timeoutMs?: number;
}

interface CachedSet {
  resolve: ReturnType<typeof createLocalJWKSet>;
  freshUntil: number;
}

/** How long a response says it may be cached, clamped to [MIN_FRESH_MS, MAX_FRESH_MS]. */
export function freshnessOf(cacheControl: string | null): number {
  const maxAge = cacheControl === null ? null : /(?:^|[\s,])max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  if (maxAge === null || maxAge === undefined) return DEFAULT_FRESH_MS;
  const ms = Number(maxAge[1]) * 1000;
  return Math.min(MAX_FRESH_MS, Math.max(MIN_FRESH_MS, ms));
}

/** One JWKS URL's keys, for the life of the isolate. */
export class JwksCache implements IdentityKeySource {
  readonly url: string;
  #fetch: FetchLike;
  #timeoutMs: number;
  #set: CachedSet | null = null;
  #inflight: Promise<boolean> | null = null;
  #lastAttempt = -Infinity;
  #fetches = 0;

  constructor(url: string, options: JwksCacheOptions) {
    this.url = url;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  }

  /** Fetches started so far (for logs and tests). */
  get fetches(): number {
    return this.#fetches;
  }

  /** The key this token's header names, fetching or refreshing the set as the rules above allow. */
  async keyFor(header: JWSHeaderParameters & { alg: string }, at: LookupContext): Promise<KeyLookup> {
    let set = this.#usable(at.now);
    if (set === null) {
      if (!(await this.#refresh(at.now))) return { ok: false, reason: "keys_unavailable" };
      set = this.#usable(at.now);
      if (set === null) return { ok: false, reason: "keys_unavailable" };
    } else if (at.now >= set.freshUntil) {
      const refresh = this.#refresh(at.now);
      at.waitUntil?.(refresh);
    }
    const found = await lookup(set, header);
    if (found !== "no_match") return found;
    // A kid this set does not hold: perhaps a key rotated in since the last fetch.
    const before = this.#set;
    await this.#refresh(at.now);
    const after = this.#usable(at.now);
    if (after === null || after === before) return { ok: false, reason: "unknown_key" };
    const retried = await lookup(after, header);
    return retried === "no_match" ? { ok: false, reason: "unknown_key" } : retried;
  }

  /** The cached set unless it is past its stale-if-error limit. */
  #usable(now: number): CachedSet | null {
    const set = this.#set;
    if (set !== null && now >= set.freshUntil + STALE_IF_ERROR_MS) this.#set = null;
    return this.#set;
  }

  /**
   * Fetch the set again unless a fetch started less than MIN_FETCH_INTERVAL_MS
   * ago (then wait for it if it is still running). True when a set was stored.
   */
  #refresh(now: number): Promise<boolean> {
    if (this.#inflight !== null) return this.#inflight;
    if (now - this.#lastAttempt < MIN_FETCH_INTERVAL_MS) return Promise.resolve(false);
    this.#lastAttempt = now;
    this.#fetches++;
    const inflight = this.#load(now).finally(() => {
      if (this.#inflight === inflight) this.#inflight = null;
    });
    this.#inflight = inflight;
    return inflight;
  }

  /** One fetch; a failure keeps whatever was cached. */
  async #load(now: number): Promise<boolean> {
    try {
      const res = await this.#fetch(this.url, {
        method: "GET",
        headers: { accept: "application/json" },
        redirect: "manual",
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        return false;
      }
      const text = await res.text();
      if (text.length > MAX_JWKS_LENGTH) return false;
      const resolve = createLocalJWKSet(JSON.parse(text));
      this.#set = { resolve, freshUntil: now + freshnessOf(res.headers.get("cache-control")) };
      return true;
    } catch {
      // Unreachable, timed out, not JSON, not a JWKS: the set is unavailable, for now.
      return false;
    }
  }
}

/** A key from a set: found, refused, or no key with this header's `kid` and `alg`. */
async function lookup(set: CachedSet, header: JWSHeaderParameters & { alg: string }): Promise<KeyLookup | "no_match"> {
  try {
    return { ok: true, key: await set.resolve(header) };
  } catch (err) {
    if (err instanceof errors.JWKSNoMatchingKey) return "no_match";
    // Several keys and no `kid` to choose (trying each would multiply the cost of a forgery),
    // a key jose cannot import, or an `alg` a JWKS cannot hold: no key for this token.
    if (err instanceof errors.JOSEError) return { ok: false, reason: "unknown_key" };
    throw err;
  }
}

const MAX_CACHED_URLS = 64;
const caches = new Map<string, JwksCache>();

/**
 * The isolate's cache for this URL (created with these options on first use).
 * Few URLs are expected, one per identity provider; past MAX_CACHED_URLS the
 * oldest is forgotten.
 */
export function jwksCacheFor(url: string, options: JwksCacheOptions): JwksCache {
  let cache = caches.get(url);
  if (cache === undefined) {
    if (caches.size >= MAX_CACHED_URLS) caches.delete(caches.keys().next().value!);
    cache = new JwksCache(url, options);
    caches.set(url, cache);
  }
  return cache;
}

/** Forget every cached set (tests). */
export function forgetJwksCaches(): void {
  caches.clear();
}

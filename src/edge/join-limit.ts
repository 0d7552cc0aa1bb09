/**
 * Per-client limits on joins in under-attack mode: each client address may
 * take only so many places in a room per minute.
 *
 * With Cloudflare's rate limiting binding (JOIN_LIMITER in wrangler.toml)
 * the count is kept per Cloudflare location and its limit is the binding's.
 * Without it each isolate keeps its own count (a fixed one-minute window,
 * FALLBACK_LIMIT joins), which is rougher — an address spread over many
 * isolates gets more — but never lets one connection loop for free.
 *
 * The client is the address Cloudflare saw (`CF-Connecting-IP`); a request
 * without one (local tools) is limited under one shared key.
 */

/** Joins per client per room per window when there is no binding. */
export const FALLBACK_LIMIT = 20;
export const FALLBACK_WINDOW_MS = 60_000;
/** Most clients one isolate keeps counts for. */
const MAX_CLIENTS = 10_000;

export interface JoinLimiter {
  /** May this client take a place now? Counts the attempt. */
  allow(key: string, now: number): Promise<boolean>;
  /** Seconds to tell a refused client to wait. */
  readonly retryAfterSeconds: number;
}

/** An isolate's own fixed-window count. */
export class WindowLimiter implements JoinLimiter {
  readonly #counts = new Map<string, { window: number; n: number }>();
  readonly #limit: number;
  readonly #windowMs: number;

  constructor(limit = FALLBACK_LIMIT, windowMs = FALLBACK_WINDOW_MS) {
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  get retryAfterSeconds(): number {
    return Math.ceil(this.#windowMs / 1000);
  }

  allow(key: string, now: number): Promise<boolean> {
    const window = Math.floor(now / this.#windowMs);
    let entry = this.#counts.get(key);
    if (entry === undefined || entry.window !== window) {
      if (entry === undefined && this.#counts.size >= MAX_CLIENTS) this.#forgetOld(window);
      entry = { window, n: 0 };
      this.#counts.set(key, entry);
    }
    entry.n += 1;
    return Promise.resolve(entry.n <= this.#limit);
  }

  #forgetOld(window: number): void {
    for (const [key, entry] of this.#counts) if (entry.window !== window) this.#counts.delete(key);
    // Still full within one window: drop the oldest entries rather than grow.
    while (this.#counts.size >= MAX_CLIENTS) this.#counts.delete(this.#counts.keys().next().value!);
  }
}

/** Cloudflare's rate limiting binding. Its period is the binding's (10 or 60 s). */
export class BindingLimiter implements JoinLimiter {
  readonly #binding: RateLimit;
  readonly retryAfterSeconds: number;

  constructor(binding: RateLimit, periodSeconds = 60) {
    this.#binding = binding;
    this.retryAfterSeconds = periodSeconds;
  }

  async allow(key: string): Promise<boolean> {
    try {
      const { success } = await this.#binding.limit({ key });
      return success;
    } catch (err) {
      // The limiter is a defence, not a gate: if it fails, the proof of work still holds.
      console.warn("join limiter failed", String(err));
      return true;
    }
  }
}

const isolateLimiter = new WindowLimiter();

/** The limiter for this deployment: the binding when configured, else this isolate's own. */
export function joinLimiter(env: { JOIN_LIMITER?: RateLimit }): JoinLimiter {
  return env.JOIN_LIMITER !== undefined ? new BindingLimiter(env.JOIN_LIMITER) : isolateLimiter;
}

/** The key a client's joins to a room are counted under. */
export function clientKey(room: string, headers: Headers): string {
  const address = headers.get("cf-connecting-ip")?.trim() || "unknown";
  return `${room}|${address}`;
}

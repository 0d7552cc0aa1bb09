/**
 * Every call the edge makes to a Durable Object goes through `durableCall`:
 * it retries what is safe to retry, backs off with full jitter, and turns
 * whatever failed into one typed `DurableFailure` the HTTP layer maps to the
 * failure policy (docs/failure-policy.md).
 *
 * Rules, after Cloudflare's guidance for Durable Object errors:
 * - An error marked `overloaded` is never retried: the object cannot keep
 *   up, and a retry would only add to its load.
 * - An error marked `retryable` (and not overloaded) is retried at most
 *   `MAX_RETRIES` times, and only for calls that are safe to repeat (`retry:
 *   true`): a claim, a renewal, a leave or a view read, never a join (a
 *   repeated join would take a second place in line). The runtime itself
 *   already retries a request that never reached the object; these retries
 *   cover the rest, briefly.
 * - Between attempts: exponential backoff with full jitter — a random wait
 *   in [0, min(BASE · 2^n, what is left of TOTAL_CAP)) — so that edges that
 *   failed together do not retry together; never more than TOTAL_CAP_MS of
 *   waiting in one call, so a listener's request is not held long.
 * - Anything else an object throws (its own error, a lost connection that is
 *   not retryable) fails at once as `unreachable`.
 *
 * Randomness comes from the injected clock and the wait from an injectable
 * `sleep`, so tests neither depend on chance nor wait.
 */
import { clock } from "../policy/clock.ts";

/** How a Durable Object call failed: too busy to answer, or not answering (or failing) at all. */
export type FailureKind = "overloaded" | "unreachable";

/** Most retries after the first attempt. */
export const MAX_RETRIES = 2;
/** The first backoff's upper bound, doubled for each later one. */
export const BACKOFF_BASE_MS = 25;
/** Most time spent waiting between attempts in one call. */
export const BACKOFF_TOTAL_CAP_MS = 250;

/** A Durable Object call that failed after the attempts its error allowed. */
export class DurableFailure extends Error {
  readonly kind: FailureKind;
  /** Attempts made (1 + retries). */
  readonly attempts: number;
  /** Did the error come from the object's own code (Cloudflare's `remote`)? */
  readonly remote: boolean;

  constructor(what: string, kind: FailureKind, attempts: number, cause: unknown) {
    super(`${what}: Durable Object ${kind} after ${attempts} attempt(s): ${String(cause)}`, { cause });
    this.name = "DurableFailure";
    this.kind = kind;
    this.attempts = attempts;
    this.remote = flag(cause, "remote");
  }
}

export interface CallOptions {
  /** Is the call safe to repeat? Only then is a retryable error retried. Default true. */
  retry?: boolean;
  /** Most retries (default MAX_RETRIES). */
  maxRetries?: number;
  /** A number in [0, 1) (default the clock's). */
  random?: () => number;
  /** Wait this many ms (default a timer). */
  sleep?: (ms: number) => Promise<void>;
}

/** Is `name` set to true on a thrown value (Cloudflare marks stub errors this way)? */
function flag(err: unknown, name: "retryable" | "overloaded" | "remote"): boolean {
  return typeof err === "object" && err !== null && (err as Record<string, unknown>)[name] === true;
}

/** How a thrown value counts: overloaded, or else unreachable. */
export function classify(err: unknown): FailureKind {
  return flag(err, "overloaded") ? "overloaded" : "unreachable";
}

/** May this error be tried again? Only when marked retryable and not overloaded. */
export function isRetryable(err: unknown): boolean {
  return flag(err, "retryable") && !flag(err, "overloaded");
}

/**
 * The wait before retry `n` (0 for the first retry): full jitter over
 * [0, min(BASE · 2^n, budget)), where `budget` is what is left of TOTAL_CAP.
 */
export function backoffMs(n: number, spentMs: number, random: () => number): number {
  const bound = Math.min(BACKOFF_BASE_MS * 2 ** n, Math.max(0, BACKOFF_TOTAL_CAP_MS - spentMs));
  return Math.floor(random() * bound);
}

/** A real pause of `ms` (the default wherever a sleep is injected). */
export const timerSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run one Durable Object call (`call` makes it afresh on each attempt);
 * throws a `DurableFailure` when it fails for good. `what` names the call
 * in logs.
 */
export async function durableCall<T>(what: string, call: () => Promise<T>, options: CallOptions = {}): Promise<T> {
  const maxRetries = options.retry === false ? 0 : (options.maxRetries ?? MAX_RETRIES);
  const random = options.random ?? clock.random;
  const sleep = options.sleep ?? timerSleep;
  let spent = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt > maxRetries || !isRetryable(err)) {
        const failure = new DurableFailure(what, classify(err), attempt, err);
        // An error from the object's own code is a fault to look at; the rest is the platform's weather.
        if (failure.remote) console.error("durable call failed", failure.message);
        else console.warn("durable call failed", failure.message);
        throw failure;
      }
      const wait = backoffMs(attempt - 1, spent, random);
      spent += wait;
      if (wait > 0) await sleep(wait);
    }
  }
}

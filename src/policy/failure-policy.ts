/**
 * What a listener gets when a Durable Object call fails (unreachable or
 * overloaded), and the header that says which policy applied. The whole
 * table, with the reasons, is in docs/failure-policy.md.
 *
 * `Spillway-Policy` (response header, only on answers shaped by a failure):
 * - `wait`      — a waiting listener (a valid ticket) is answered as still
 *                 waiting: `queued` (or `prequeue`) with its place from the
 *                 last known room view, `Retry-After` jittered; its place is
 *                 kept for when the object answers again.
 * - `closed`    — a new arrival could not get a place: 503 `unavailable` with
 *                 `Retry-After` (FAILURE_POLICY=closed, the default).
 * - `recording` — a new arrival was offered the recording instead, from the
 *                 last known view's link (FAILURE_POLICY=recording).
 * - `pass`      — an admitted listener's pass could not be checked with the
 *                 room's shards: it is served from the last known view while
 *                 that is recent (PASS_VIEW_MAX_AGE_MS), else refused with 503
 *                 and `Retry-After` (its seat may be someone else's by then);
 *                 a heartbeat or leave is refused with 503 and `Retry-After`.
 * Every such answer is `Cache-Control: no-store`.
 *
 * Admissions always fail closed: a pass is only ever issued by the shard
 * that holds the seat, so no failure can let the room exceed its capacity.
 */

/** The response header naming the policy that shaped the answer. */
export const POLICY_HEADER = "spillway-policy";

/** The values of `Spillway-Policy`. */
export const POLICY = {
  wait: "wait",
  closed: "closed",
  recording: "recording",
  pass: "pass",
} as const;

export type PolicyApplied = (typeof POLICY)[keyof typeof POLICY];

/** What a new arrival gets when it cannot get a place (the `FAILURE_POLICY` var). */
export type FailurePolicy = "closed" | "recording";

/** The smallest `Retry-After` of a failure answer; the jitter adds up to as much again. */
export const RETRY_AFTER_BASE_SECONDS = 5;

/**
 * Seconds to wait before trying again: uniform over the whole seconds of
 * [base, 2·base], so listeners refused together come back spread out.
 */
export function failureRetryAfter(random: () => number, base = RETRY_AFTER_BASE_SECONDS): number {
  return base + Math.min(base, Math.floor(random() * (base + 1)));
}

/** The `FAILURE_POLICY` var: empty means `closed`; anything else unknown is a configuration error. */
export function parseFailurePolicy(value: string | undefined): FailurePolicy {
  const v = (value ?? "").trim();
  if (v === "" || v === "closed") return "closed";
  if (v === "recording") return "recording";
  throw new Error(`invalid FAILURE_POLICY: ${value} (closed | recording)`);
}

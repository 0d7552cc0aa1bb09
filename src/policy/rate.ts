/**
 * Admission rate: a token bucket per room.
 *
 * Tokens refill at `admitPerMinute / 60` per second up to a burst of one sixth
 * of a minute's worth (at least 1). Every admission (a pass for a new seat)
 * spends a token, so new admissions in any 60 s window stay within
 * `admitPerMinute + burst(admitPerMinute)`. Calling a listener earmarks a
 * token for its claim, so calls never outrun the tokens.
 *
 * Lowering `admitPerMinute` takes effect at once: the bucket never holds
 * more than the burst of the rate in force, so tokens beyond the new burst
 * are dropped. (Tokens already earmarked for called listeners may then leave
 * the bucket below zero; it refills from there, and no one new is called
 * until it is above the earmarks again.)
 */

export interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

/** The most tokens a bucket holds: the documented burst. */
export function burstOf(admitPerMinute: number): number {
  return Math.max(1, Math.ceil(admitPerMinute / 6));
}

/** The bucket brought up to `now`. */
export function refill(bucket: Bucket, admitPerMinute: number, now: number): Bucket {
  const elapsed = Math.max(0, now - bucket.at);
  const burst = burstOf(admitPerMinute);
  // Never more than the burst of the rate in force: a lowered rate takes effect at once.
  const tokens = Math.min(burst, bucket.tokens + (elapsed * admitPerMinute) / 60_000);
  return { tokens, at: Math.max(now, bucket.at) };
}

/** Milliseconds from `bucket.at` until the bucket holds one whole token. */
export function msUntilToken(bucket: Bucket, admitPerMinute: number): number {
  if (bucket.tokens >= 1) return 0;
  return Math.ceil(((1 - bucket.tokens) * 60_000) / admitPerMinute);
}

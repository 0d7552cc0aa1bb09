/**
 * How often a shard writes its changes: at most one group commit per
 * COMMIT_EVERY_MS (write-behind.ts, src/objects/group-commit.ts). An answer
 * waits for the commit that holds its changes, so this is also the most a
 * busy shard adds to an answer; a quiet shard commits at once.
 *
 * A busy shard then writes its shared rows (the counters, the current
 * second's arrival bin, the batches being claimed from) four times a second
 * instead of at every request: in the 8M simulation that is most of the
 * cost of the event's SQLite writes (docs/scale.md).
 */

/** Default: at most one commit per this many ms. */
export const COMMIT_EVERY_MS = 250;

/** The Worker's COMMIT_EVERY_MS var (0 to 5,000 ms; blank: the default); a bad value is a deployment error. */
export function commitEveryMs(value: string | undefined): number {
  const v = value?.trim();
  if (v === undefined || v === "") return COMMIT_EVERY_MS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 5_000) throw new Error(`invalid COMMIT_EVERY_MS: ${value}`);
  return n;
}

/**
 * When a change made at `now` is committed, the last commit having run at
 * `last` (ms; null: none yet): at once, or once COMMIT_EVERY_MS has passed
 * since the last (what GroupCommit does with timers, for the simulator).
 * A clock that went back behind the last commit commits at once: the wait is
 * never more than `everyMs`.
 */
export function commitAt(last: number | null, now: number, everyMs: number = COMMIT_EVERY_MS): number {
  return last === null || last > now ? now : Math.max(now, last + everyMs);
}

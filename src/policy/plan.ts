/**
 * The walk: how the coordinator hands out calls across shards, oldest
 * arrival first, so that nobody is called while someone who arrived more
 * than a second earlier still waits on another shard.
 *
 * At each sync the coordinator works out what seats and tokens are free for
 * the syncing shard and for the others (coordinator.ts), then walks every
 * shard's uncalled arrivals second by second (arrival-index.ts) and returns
 * this shard's part. Other shards get theirs when they sync; the walk is the
 * same for each, so their parts agree. Pure.
 */
import type { ArrivalIndex } from "./arrival-index.ts";
import { uncalledIn } from "./arrivals.ts";
import type { ShardRecord } from "./coordinator-state.ts";
import { pacedThrough, roundStart, SYNC_INTERVAL_MS } from "./rounds.ts";

/** A shard silent for this long no longer holds back the order of others. */
export const LOST_AFTER_MS = 5 * SYNC_INTERVAL_MS;

/** A shard that takes part in the walk: it has anything to do, and has synced lately. */
export function isActive(r: ShardRecord, now: number): boolean {
  const idle =
    r.tail === r.cursor && (r.asking ?? 0) === 0 && r.live + r.reserved === 0 && Math.max(r.confirmed, r.sent) === 0;
  return !idle && now - r.lastSync < LOST_AFTER_MS;
}

/**
 * What the walk may hand out: `shared` seats may go to anyone, `own` seats
 * (freed here, not yet given back) only to the syncing shard, `tokens` are
 * the admissions the rate allows, `othersTokens` the part of them other
 * shards' listeners may take.
 */
export interface Pools {
  shared: number;
  own: number;
  tokens: number;
  othersTokens: number;
}

/**
 * The walk's result: calls for the syncing shard (`mine`), listeners of
 * other active shards left waiting, and what no listener in line needed.
 */
export interface Plan {
  mine: number;
  othersWaiting: number;
  left: number;
  /** Calls the walk counted for other shards (by shard): theirs when they sync (see Coordinator's promises). */
  promised: Map<number, number>;
}

/**
 * Share calls out oldest second first, across all active shards, and
 * return this shard's part. Only seconds every active shard has fully
 * reported are called. Within one second, shards take turns in an order
 * that rotates with the second. The walk stops at the first listener it
 * cannot serve, so nobody younger is called ahead of it. With `rounds`,
 * only seconds that every shard had reported by the round's start, so
 * every sync of a round walks the same seconds (see rounds.ts).
 */
export function planCalls(
  shards: ReadonlyMap<number, ShardRecord>,
  arrivals: ArrivalIndex,
  pools: Pools,
  self: number,
  now: number,
  rounds: boolean,
): Plan {
  const roundStartMs = roundStart(now);
  let completeBefore = rounds ? Math.floor(roundStartMs / 1000) - 1 : Infinity;
  let othersWaiting = 0;
  const active = new Set<number>();
  for (const r of shards.values()) {
    if (!isActive(r, now)) continue;
    active.add(r.shard);
    completeBefore = Math.min(completeBefore, r.completeBefore);
    // A join that asked for a place (queue-allowance.ts) waits too, though its shard has not numbered it yet.
    if (r.shard !== self) othersWaiting += Math.max(0, r.tail - r.through) + (r.asking ?? 0);
  }
  let { shared, own, tokens, othersTokens } = pools;
  let mine = 0;
  const promised = new Map<number, number>();
  walk: for (const second of arrivals.seconds) {
    if (tokens === 0 || second >= completeBefore) break;
    const entries = arrivals.binsAt(second);
    if (entries === undefined) continue;
    const waiting: { shard: number; n: number }[] = [];
    for (const [shard, b] of entries) {
      if (!active.has(shard)) continue;
      const n = uncalledIn(b, shards.get(shard)?.through ?? 0);
      if (n > 0) waiting.push({ shard, n });
    }
    const turn = (shard: number) => (((shard - second) % 7919) + 7919) % 7919;
    waiting.sort((x, y) => turn(x.shard) - turn(y.shard));
    const partial = shareOut(waiting, self, { shared, own, tokens });
    for (const w of partial ?? waiting) {
      let take: number;
      if (w.shard === self) {
        take = Math.min(w.n, own + shared, tokens);
        const fromOwn = Math.min(take, own);
        own -= fromOwn;
        shared -= take - fromOwn;
        mine += take;
      } else if (rounds && (shards.get(w.shard)?.lastSync ?? 0) >= roundStartMs) {
        // Synced already in this round: it calls only at its next sync, so nobody younger is called now.
        take = 0;
      } else {
        take = Math.min(w.n, shared, tokens, othersTokens);
        othersTokens -= take;
        shared -= take;
        othersWaiting -= take;
        if (take > 0) promised.set(w.shard, (promised.get(w.shard) ?? 0) + take);
      }
      tokens -= take;
      othersTokens = Math.min(othersTokens, tokens);
      if (partial === null && take < w.n) break walk;
    }
    if (partial !== null) break;
  }
  return { mine, othersWaiting: Math.max(0, othersWaiting), left: Math.min(own + shared, tokens), promised };
}

/**
 * A second the pools cannot serve whole is shared out in proportion to
 * each shard's waiting listeners (the rounding remainder in turn order), so
 * every shard works through that second at the same pace: shards that sync
 * later still find their earliest arrivals of the second next in line, and
 * nobody called elsewhere arrived much later than they did. Null when the
 * pools serve the whole second.
 */
function shareOut(
  waiting: { shard: number; n: number }[],
  self: number,
  pools: { shared: number; own: number; tokens: number },
): { shard: number; n: number }[] | null {
  let total = 0;
  let selfWaiting = 0;
  for (const w of waiting) {
    total += w.n;
    if (w.shard === self) selfWaiting = w.n;
  }
  const budget = Math.min(pools.tokens, pools.shared + Math.min(pools.own, selfWaiting));
  if (budget >= total) return null;
  let given = 0;
  const shares = waiting.map((w) => {
    const n = Math.floor((budget * w.n) / total);
    given += n;
    return { shard: w.shard, n };
  });
  for (let i = 0; given < budget && i < shares.length; i++) {
    if (shares[i]!.n < waiting[i]!.n) {
      shares[i]!.n += 1;
      given += 1;
    }
  }
  return shares;
}

/**
 * Listeners on the other active shards that are not called yet, as far as
 * the coordinator knows (a paced batch counts as called only as far as its
 * pace has reached at `now`), leaving out the shards in `spared`: their last
 * order let them seat their own arrivals at once. A spare allowance is given
 * only while this is 0, because the walk (planCalls) counts the listeners it
 * hands to other shards as served although they are called only when those
 * shards sync, and over the round after that.
 */
export function uncalledElsewhere(
  shards: ReadonlyMap<number, ShardRecord>,
  self: number,
  spared: ReadonlySet<number>,
  now: number,
): number {
  let n = 0;
  for (const r of shards.values()) {
    if (r.shard === self || spared.has(r.shard) || !isActive(r, now)) continue;
    n += Math.max(0, r.tail - pacedThrough(r.through, r.pace, now));
  }
  return n;
}

/**
 * Every simulated listener, in typed arrays indexed by listener number
 * (listeners are numbered in arrival order), and the measures taken on
 * them: waits, estimates and first-in-first-out displacement.
 */

export const WAITING = 1;
export const ADMITTED = 2;
export const LEFT = 3;
export const GAVE_UP = 4;
/** Went to the recording when offered it (at arrival: never joined; or from the line). */
export const TO_RECORDING = 5;

/** Out of the line without a seat: gave up, or went to the recording. */
export function outOfLine(state: number): boolean {
  return state === GAVE_UP || state === TO_RECORDING;
}

/** "No time yet" in the time arrays. */
export const NEVER = -1;

export class Listeners {
  readonly size: number;
  /** Arrival (ms since the start). */
  readonly at: Int32Array;
  /** Its shard: a position in the world's shells (general shards first, then each lane's; see lines.ts). */
  readonly shard: Uint16Array;
  /** Its line: 0 the general one, k the k-th lane in rank order (see lines.ts). */
  readonly line: Uint8Array;
  readonly seq: Int32Array;
  /** When its shard took the join (ms): the ticket's `at`. */
  readonly joinedAt: Int32Array;
  readonly state: Uint8Array;
  /** When its turn came (its sequence number was called), ms. */
  readonly calledAt: Int32Array;
  readonly admittedAt: Int32Array;
  /** Seconds it was told at join; NaN when none (seated at once, or unknown). */
  readonly etaAtJoin: Float32Array;
  /** Gives up waiting after this many ms since arrival; 0: never. */
  readonly patienceMs: Int32Array;
  /** Listener ids (the ticket's `sub`), one string each, made on arrival. */
  readonly subs: string[];
  /** Listeners that have joined so far. */
  joined = 0;
  /**
   * One past the highest listener number that has joined: everyone below it
   * has arrived (a join may wait while its shard syncs, so some of them may
   * not have joined yet).
   */
  reached = 0;

  constructor(size: number) {
    this.size = size;
    this.at = new Int32Array(size);
    this.shard = new Uint16Array(size);
    this.line = new Uint8Array(size);
    this.seq = new Int32Array(size);
    this.joinedAt = new Int32Array(size);
    this.state = new Uint8Array(size);
    this.calledAt = new Int32Array(size).fill(NEVER);
    this.admittedAt = new Int32Array(size).fill(NEVER);
    this.etaAtJoin = new Float32Array(size).fill(NaN);
    this.patienceMs = new Int32Array(size);
    this.subs = new Array<string>(size);
  }

  /** The listener id a ticket names (what the edge hashes to pick a shard). */
  static sub(id: number): string {
    return "l" + id.toString(36);
  }

  /** The listener a ticket's `sub` names (the inverse of `sub`). */
  static id(sub: string): number {
    return parseInt(sub.slice(1), 36);
  }
}

/**
 * First-in-first-out displacement: when a listener gets in, how much earlier
 * the earliest listener still waiting arrived (0 when nobody earlier waits).
 * "Still waiting" is decided by `done` (not yet called, or not yet seated);
 * listeners of `exclude` (a shard) can be left out of the comparison, and
 * with `line` (≥ 0) only that line's listeners are compared (first in first
 * out within a lane: lanes go ahead of the general line by design).
 */
export class FifoTracker {
  readonly #listeners: Listeners;
  readonly #done: (id: number) => boolean;
  readonly #exclude: number;
  readonly #line: number;
  #head = 0;
  readonly samples: Float32Array;
  count = 0;
  /** For samples over 1 s: the earliest listener then waiting, and when (ms). */
  readonly overHead: number[] = [];
  readonly overAt: number[] = [];

  constructor(listeners: Listeners, done: (id: number) => boolean, exclude = -1, line = -1) {
    this.#listeners = listeners;
    this.#done = done;
    this.#exclude = exclude;
    this.#line = line;
    this.samples = new Float32Array(listeners.size);
  }

  /** Record displacement for listeners who got in together at `t` (call after marking them all). */
  record(ids: ArrayLike<number>, from: number, to: number, t: number): void {
    const l = this.#listeners;
    while (
      this.#head < l.reached &&
      (this.#done(this.#head) ||
        outOfLine(l.state[this.#head]!) ||
        l.shard[this.#head] === this.#exclude ||
        (this.#line >= 0 && l.line[this.#head] !== this.#line))
    ) {
      this.#head++;
    }
    const earliest = this.#head < l.reached ? l.at[this.#head]! : Infinity;
    for (let k = from; k < to; k++) {
      const id = ids[k]!;
      if (l.shard[id] === this.#exclude || (this.#line >= 0 && l.line[id] !== this.#line)) continue;
      const d = Math.max(0, l.at[id]! - earliest) / 1000;
      this.samples[this.count++] = d;
      if (d > 1) {
        this.overHead.push(this.#head);
        this.overAt.push(t);
      }
    }
  }

  one(id: number, t: number): void {
    this.record([id], 0, 1, t);
  }

  /**
   * Samples over 1 s whose earliest waiting listener was still not called
   * `lagMs` later (at `end` if never): those not explained by the one sync
   * its own shard needs to learn of its call.
   */
  overBeyond(lagMs: number, end: number): number {
    const l = this.#listeners;
    let n = 0;
    for (let i = 0; i < this.overHead.length; i++) {
      const head = this.overHead[i]!;
      if (outOfLine(l.state[head]!)) continue;
      const called = l.calledAt[head] === NEVER ? end : l.calledAt[head]!;
      if (called - this.overAt[i]! > lagMs) n++;
    }
    return n;
  }
}

/** Several quantiles (0..1) of the first `n` values, with one sort of a copy. */
export function quantiles<const Q extends readonly number[]>(
  values: Float32Array,
  n: number,
  qs: Q,
): { [K in keyof Q]: number } {
  const sorted = values.slice(0, n).sort();
  const at = (q: number) => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  return qs.map(at) as { [K in keyof Q]: number };
}

/** How many of the first `n` values exceed `limit`. */
export function countAbove(values: Float32Array, n: number, limit: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (values[i]! > limit) k++;
  return k;
}

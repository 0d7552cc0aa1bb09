/**
 * The simulator's event queue: a calendar of one-millisecond buckets.
 *
 * An event is a small integer (`kind + KINDS * payload`), so buckets are
 * packed integer arrays and millions of pending events cost little memory.
 * Buckets cover a ring of about two minutes; events further ahead wait in a
 * per-second overflow list and move into the ring as it comes round. Within
 * one millisecond, events run in the order they were scheduled.
 */

/** Kinds of events; the payload is a listener, a shard or an edge view. */
export const KINDS = 16;

const RING_BITS = 17;
const RING = 1 << RING_BITS;
const MASK = RING - 1;
/** Events at most this many whole seconds ahead go straight into the ring. */
const HORIZON_S = 100;

export class Calendar {
  readonly #ring: number[][] = Array.from({ length: RING }, () => []);
  /** Events beyond the horizon, by second: (time, code) pairs. */
  readonly #far = new Map<number, number[]>();
  /** The millisecond being run. */
  #now = 0;

  get now(): number {
    return this.#now;
  }

  /** Schedule `code` at `t` ms (never before the millisecond being run). */
  at(t: number, code: number): void {
    const ms = Math.max(this.#now, Math.floor(t));
    const second = Math.floor(ms / 1000);
    if (second > Math.floor(this.#now / 1000) + HORIZON_S) {
      let list = this.#far.get(second);
      if (list === undefined) {
        list = [];
        this.#far.set(second, list);
      }
      list.push(ms, code);
      return;
    }
    this.#ring[ms & MASK]!.push(code);
  }

  /**
   * Run millisecond `ms` (calls must go up one by one): `onSecond` first when
   * a second starts, then every event due, including any scheduled meanwhile
   * for this same millisecond.
   */
  run(ms: number, onSecond: (second: number) => void, dispatch: (code: number, ms: number) => void): void {
    this.#now = ms;
    if (ms % 1000 === 0) {
      const second = ms / 1000;
      const far = this.#far.get(second + HORIZON_S);
      if (far !== undefined) {
        this.#far.delete(second + HORIZON_S);
        for (let i = 0; i < far.length; i += 2) this.#ring[far[i]! & MASK]!.push(far[i + 1]!);
      }
      onSecond(second);
    }
    const bucket = this.#ring[ms & MASK]!;
    for (let i = 0; i < bucket.length; i++) dispatch(bucket[i]!, ms);
    bucket.length = 0;
  }
}

/**
 * Position staleness: how out of date the place a waiting listener last saw
 * is. A waiting page shows the position of its last answer (join or poll)
 * until the next one, so fewer polls mean older numbers on screen; this
 * measures how much that matters.
 *
 * Every SAMPLE_EVERY_S simulated seconds, up to SAMPLE_MAX waiting listeners
 * (every k-th listener number, the offset turning with each sample, so the
 * sample is spread over the whole line and uses no random draw: measuring
 * does not change the run) are looked at:
 *
 * - age: seconds since the position on its screen was computed;
 * - staleness: |shown − now| / shown, where `now` is the position a poll at
 *   this moment would be told from the freshest view any edge isolate holds
 *   (0 when its turn has come and it does not know yet). The share of the
 *   number on screen that is wrong: 0.1 means a listener shown 10,000 is
 *   really at 9,000; 1 means its turn has come and it still sees a place.
 *
 * Only listeners shown a position count (not those told none, e.g. before
 * the first view).
 */
import { quantiles } from "./listeners.ts";

/** Sample every this many simulated seconds. */
export const SAMPLE_EVERY_S = 5;
/** At most this many waiting listeners per sample. */
export const SAMPLE_MAX = 2_000;

export class Staleness {
  /** Position last shown, per listener (NaN: none). */
  readonly #shown: Float32Array;
  /** When it was computed (ms since the start). */
  readonly #shownAt: Int32Array;
  readonly #ages: number[] = [];
  readonly #errors: number[] = [];
  #turn = 0;

  constructor(size: number) {
    this.#shown = new Float32Array(size).fill(NaN);
    this.#shownAt = new Int32Array(size);
  }

  /** Listener `id` was told `position` at `t` (null: no position). */
  told(id: number, position: number | null, t: number): void {
    this.#shown[id] = position ?? NaN;
    this.#shownAt[id] = t;
  }

  /**
   * Sample the waiting listeners among the first `reached` at `t`;
   * `positionNow` is the position a poll would be told now (0: its turn has
   * come; null: unknown, not sampled).
   */
  sample(
    reached: number,
    t: number,
    waiting: (id: number) => boolean,
    positionNow: (id: number) => number | null,
  ): void {
    if (reached === 0) return;
    const stride = Math.max(1, Math.floor(reached / SAMPLE_MAX));
    const offset = this.#turn++ % stride;
    for (let id = offset; id < reached; id += stride) {
      const shown = this.#shown[id]!;
      if (Number.isNaN(shown) || !waiting(id)) continue;
      const now = positionNow(id);
      if (now === null) continue;
      this.#ages.push((t - this.#shownAt[id]!) / 1000);
      this.#errors.push(Math.abs(shown - now) / Math.max(1, shown));
    }
  }

  /** p50 and p90 of age (s) and staleness, and the sample size. */
  result(): { samples: number; ageP50: number; ageP90: number; p50: number; p90: number } {
    const n = this.#ages.length;
    const [ageP50, ageP90] = quantiles(Float32Array.from(this.#ages), n, [0.5, 0.9]);
    const [p50, p90] = quantiles(Float32Array.from(this.#errors), n, [0.5, 0.9]);
    return { samples: n, ageP50, ageP90, p50, p90 };
  }
}

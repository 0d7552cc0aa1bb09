/**
 * Listeners arriving: each second's count spread over its milliseconds at
 * random (seeded), numbered in arrival order, each in its line (with lanes:
 * picked at random by the lanes' shares) and hashed to its line's shard the
 * way the edge does it, and some of them impatient.
 */
import type { LineLayout } from "./lines.ts";
import { Listeners } from "./listeners.ts";
import type { Scenario } from "./scenarios.ts";

export class Arrivals {
  readonly #l: Listeners;
  readonly #counts: Int32Array;
  readonly #layout: LineLayout;
  readonly #impatient: Scenario["impatient"];
  readonly #rand: () => number;
  /** Draws that pick lines (a stream of their own, see lineDraws). */
  readonly #lineRand: () => number;
  readonly #hist = new Int32Array(1000);
  #next = 0;

  constructor(
    l: Listeners,
    counts: Int32Array,
    layout: LineLayout,
    scenario: Scenario,
    rand: () => number,
    lineRand: () => number,
  ) {
    this.#l = l;
    this.#lineRand = lineRand;
    this.#counts = counts;
    this.#layout = layout;
    this.#impatient = scenario.impatient;
    this.#rand = rand;
  }

  /** Second `sec`'s arrivals, oldest first: `arrive(id)` for each once its fields are set. */
  second(sec: number, arrive: (id: number) => void): void {
    if (sec >= this.#counts.length) return;
    const hist = this.#hist.fill(0);
    for (let i = this.#counts[sec]!; i > 0; i--) hist[Math.floor(this.#rand() * 1000)]! += 1;
    const l = this.#l;
    const { share, meanSeconds } = this.#impatient;
    const layout = this.#layout;
    const lanes = layout.hasLanes;
    for (let ms = 0; ms < 1000; ms++) {
      for (let k = hist[ms]!; k > 0; k--) {
        const id = this.#next++;
        const sub = Listeners.sub(id);
        l.subs[id] = sub;
        l.at[id] = sec * 1000 + ms;
        const line = lanes ? layout.pick(this.#lineRand()) : 0;
        l.line[id] = line;
        l.shard[id] = layout.posOf(line, sub);
        if (this.#rand() < share) {
          const patience = -Math.log(1 - this.#rand()) * meanSeconds * 1000;
          l.patienceMs[id] = Math.max(1, Math.round(patience));
        }
        arrive(id);
      }
    }
  }
}

/**
 * Listeners arriving: each second's count spread over its milliseconds at
 * random (seeded), numbered in arrival order, each hashed to its shard the
 * way the edge does it, and some of them impatient.
 */
import { shardOf } from "../src/policy/shard.ts";
import { Listeners } from "./listeners.ts";
import type { Scenario } from "./scenarios.ts";

export class Arrivals {
  readonly #l: Listeners;
  readonly #counts: Int32Array;
  readonly #shards: number;
  readonly #impatient: Scenario["impatient"];
  readonly #rand: () => number;
  readonly #hist = new Int32Array(1000);
  #next = 0;

  constructor(l: Listeners, counts: Int32Array, shards: number, scenario: Scenario, rand: () => number) {
    this.#l = l;
    this.#counts = counts;
    this.#shards = shards;
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
    for (let ms = 0; ms < 1000; ms++) {
      for (let k = hist[ms]!; k > 0; k--) {
        const id = this.#next++;
        const sub = Listeners.sub(id);
        l.subs[id] = sub;
        l.at[id] = sec * 1000 + ms;
        l.shard[id] = shardOf(sub, this.#shards);
        if (this.#rand() < share) {
          const patience = -Math.log(1 - this.#rand()) * meanSeconds * 1000;
          l.patienceMs[id] = Math.max(1, Math.round(patience));
        }
        arrive(id);
      }
    }
  }
}

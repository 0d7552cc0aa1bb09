/**
 * The offer of the recording, for scenarios with rules for a full room: the
 * edge asks the real functions of src/policy/overflow.ts with the view
 * cached in the isolate a request lands on, and this file models what
 * listeners do with the offer.
 *
 * - At arrival, before it joins: offerAtArrival. With no offer the listener
 *   joins. Offered, one who may keep (take) a place does so with probability
 *   `keepPlaceShare` (seeded); the others go to the recording and never join.
 *   Those offered no place (maxQueue) all go, and so do those their shard
 *   gives no place (its queue allowance is full: the edge offers them the
 *   recording with no place).
 * - At each waiting poll, for listeners who have not chosen to keep their
 *   place: offerInLine, and the same choice. One who goes stops polling; a
 *   seat reserved for it later lapses after the claim window, as it would.
 * - A listener chooses once: one who kept its place is not asked again.
 *
 * Counts are in real listeners (cohorts multiplied back).
 */
import type { ListenerRules } from "../src/policy/config.ts";
import type { GlobalView } from "../src/policy/protocol.ts";
import type { PlaceEstimate } from "../src/policy/estimate.ts";
import { offerAtArrival, offerInLine, type OverflowOffer, type OverflowReason } from "../src/policy/overflow.ts";
import { type Listeners, TO_RECORDING } from "./listeners.ts";
import type { Stats } from "./stats.ts";

/** The rules a scenario gives the room (in real listeners), and how listeners take the offer. */
export interface OverflowModel {
  rules: Pick<ListenerRules, "maxWaitSeconds" | "maxQueue" | "recordingUrl">;
  /** Share of the listeners offered the recording who keep (or take) a place when they may. */
  keepPlaceShare: number;
}

/** The rules as the coordinator of a simulated room holds them: a queue length counts cohorts. */
export function scaledRules(model: OverflowModel, cohort: number): OverflowModel["rules"] {
  const { maxQueue } = model.rules;
  return { ...model.rules, maxQueue: maxQueue === null ? null : Math.round(maxQueue / cohort) };
}

export class Overflow {
  readonly model: OverflowModel;
  readonly #l: Listeners;
  readonly #stats: Stats;
  readonly #rand: () => number;
  readonly #w: number;
  /** Per listener: 1 once it chose to keep its place (it is not asked again). */
  readonly #kept: Uint8Array;
  /** Listeners offered the recording, by the reason of their (only) offer. */
  readonly offered: Record<OverflowReason, number> = { mode: 0, max_wait: 0, max_queue: 0, invite_only: 0 };
  /** Offered listeners who kept or took a place. */
  kept = 0;
  /** Listeners who went to the recording: at arrival (never joined), and from the line. */
  sentAtArrival = 0;
  sentFromLine = 0;

  constructor(model: OverflowModel, l: Listeners, stats: Stats, rand: () => number, cohort: number) {
    this.model = model;
    this.#l = l;
    this.#stats = stats;
    this.#rand = rand;
    this.#w = cohort;
    this.#kept = new Uint8Array(l.size);
  }

  get offeredTotal(): number {
    return this.offered.mode + this.offered.max_wait + this.offered.max_queue;
  }

  get sentToRecording(): number {
    return this.sentAtArrival + this.sentFromLine;
  }

  /** Listener `id` arrives at the edge with this view cached (null: none yet): does it join? */
  atArrival(id: number, view: GlobalView | null, now: number): boolean {
    const offer = view === null ? null : offerAtArrival(view, now);
    if (offer === null || this.#keeps(id, offer)) return true;
    this.sentAtArrival += this.#w;
    this.#l.state[id] = TO_RECORDING;
    return false;
  }

  /** Listener `id` got no place from its shard (the line is full there): it goes to the recording. */
  turnedAway(id: number): void {
    this.offered.max_queue += this.#w;
    this.sentAtArrival += this.#w;
    this.#l.state[id] = TO_RECORDING;
  }

  /** A waiting poll of listener `id`, not yet called: does it go on waiting? */
  inLine(id: number, place: PlaceEstimate, view: GlobalView): boolean {
    if (this.#kept[id] === 1) return true;
    const offer = offerInLine(place, view);
    if (offer === null || this.#keeps(id, offer)) return true;
    this.sentFromLine += this.#w;
    this.#stats.toRecording += 1;
    this.#l.state[id] = TO_RECORDING;
    return false;
  }

  /** The listener's one choice on an offer: keep (take) a place, when it may, or go to the recording. */
  #keeps(id: number, offer: OverflowOffer): boolean {
    this.offered[offer.reason] += this.#w;
    if (!offer.canKeepPlace || this.#rand() >= this.model.keepPlaceShare) return false;
    this.#kept[id] = 1;
    this.kept += this.#w;
    return true;
  }
}

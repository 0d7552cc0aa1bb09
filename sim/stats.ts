/**
 * What the simulator counts while it runs: requests per Durable Object per
 * simulated second, the cap at every step, waits and estimates.
 */
import { type Listeners, NEVER, outOfLine } from "./listeners.ts";

/** The kinds of request a shard serves (Durable Object requests, not a listener being called). */
export type ShardRequestKind = "join" | "claim" | "renew" | "leave" | "view" | "alarm";

export class Stats {
  readonly #l: Listeners;
  readonly #shards: number;
  /** Listeners one simulated listener stands for. */
  readonly w: number;
  /** How long a capacity cut takes to be in force at every shard. */
  readonly #cutGraceMs: number;
  readonly requests: Record<ShardRequestKind, number> = { join: 0, claim: 0, renew: 0, leave: 0, view: 0, alarm: 0 };
  /** Syncs the coordinator received. */
  syncs = 0;
  /** Origin distress reports the coordinator received from edge isolates (see origin.ts). */
  originReports = 0;
  edgePolls = 0;
  claimsWaiting = 0;
  lostSyncs = 0;
  lostReplies = 0;
  lostSeats = 0;
  /**
   * Seats given back and freed: on the coordinator's confirmation of the
   * revocation, or at the lease's expiry (which a leave brings forward to
   * releaseAt, lease.ts: once its passes are too old for any view).
   */
  freedOnConfirm = 0;
  freedAtExpiry = 0;
  gaveUp = 0;
  /** Listeners who left the line for the recording (see overflow.ts). */
  toRecording = 0;
  admittedTotal = 0;
  admittedAtJoin = 0;
  /** Requests this second, per shard; and at the coordinator. */
  readonly #thisSecond: Float64Array;
  #coordinatorThisSecond = 0;
  #second = 0;
  peakShardRps = 0;
  peakShardAt = { shard: 0, second: 0 };
  peakCoordinatorRps = 0;
  // The cap.
  live = 0;
  peakLive = 0;
  #capacity: number;
  /** After a cut: the audience seated before it, as it drains (it may stay above the new capacity). */
  #grandfathered = 0;
  #cut: { at: number; capacity: number; from: number } | null = null;
  maxLiveOverCapacity = 0;
  capViolations = 0;
  admittedAboveNewCapacity = 0;
  lastAdmissionAboveNewCapacityMs: number | null = null;
  resumedAfterCutMs: number | null = null;
  liveAtCut = 0;
  // Waits and estimates.
  readonly waits: Float32Array;
  nWaits = 0;
  readonly etaErrors: Float32Array;
  readonly etaErrorsToCall: Float32Array;
  nEta = 0;
  noEta = 0;
  waitingAtEnd = 0;
  oldestWaitingSeconds = 0;
  /** When live leases first reached 99 % of capacity. */
  fullAtMs: number | null = null;

  constructor(listeners: Listeners, shards: number, capacity: number, cutGraceMs: number, cohort: number) {
    this.#l = listeners;
    this.w = cohort;
    this.#cutGraceMs = cutGraceMs;
    this.#shards = shards;
    this.#capacity = capacity;
    this.#thisSecond = new Float64Array(shards);
    this.waits = new Float32Array(listeners.size);
    this.etaErrors = new Float32Array(listeners.size);
    this.etaErrorsToCall = new Float32Array(listeners.size);
  }

  /** A request to a shard (listeners' requests count for their whole cohort). */
  request(shard: number, kind: ShardRequestKind): void {
    const n = kind === "view" || kind === "alarm" ? 1 : this.w;
    this.requests[kind] += n;
    this.#thisSecond[shard]! += n;
  }

  coordinatorRequest(): void {
    this.syncs += 1;
    this.#coordinatorThisSecond += 1;
  }

  originReport(): void {
    this.originReports += 1;
    this.#coordinatorThisSecond += 1;
  }

  /** End of a simulated second: note the busiest object. */
  closeSecond(): void {
    for (let s = 0; s < this.#shards; s++) {
      const n = this.#thisSecond[s]!;
      if (n > this.peakShardRps) {
        this.peakShardRps = n;
        this.peakShardAt = { shard: s, second: this.#second };
      }
    }
    this.peakCoordinatorRps = Math.max(this.peakCoordinatorRps, this.#coordinatorThisSecond);
    this.#thisSecond.fill(0);
    this.#coordinatorThisSecond = 0;
    this.#second += 1;
  }

  capacityCut(t: number, capacity: number): void {
    this.#cut = { at: t, capacity, from: this.#capacity };
    this.liveAtCut = this.live;
  }

  /** Live leases changed by `delta` at `t`: check the cap. */
  liveChanged(delta: number, t: number): void {
    this.live += delta;
    if (this.live > this.peakLive) this.peakLive = this.live;
    const cut = this.#cut;
    if (cut !== null && t >= cut.at + this.#cutGraceMs && this.#capacity !== cut.capacity) {
      // The cut is in force everywhere: whoever is seated may stay, nobody more.
      this.#capacity = cut.capacity;
      this.#grandfathered = this.live - Math.max(0, delta);
    }
    const allowed = Math.max(this.#capacity, this.#grandfathered);
    const ratio = this.#capacity > 0 ? this.live / allowed : 0;
    if (ratio > this.maxLiveOverCapacity) this.maxLiveOverCapacity = ratio;
    if (this.live > allowed) this.capViolations += 1;
    this.#grandfathered = Math.min(this.#grandfathered, this.live);
    if (this.fullAtMs === null && this.live >= 0.99 * this.#capacity) this.fullAtMs = t;
  }

  admitted(id: number, t: number, atJoin: boolean): void {
    const l = this.#l;
    this.admittedTotal += 1;
    const wait = (t - l.at[id]!) / 1000;
    this.waits[this.nWaits++] = wait;
    if (atJoin) this.admittedAtJoin += 1;
    else {
      const eta = l.etaAtJoin[id]!;
      if (Number.isNaN(eta)) this.noEta += 1;
      else {
        this.etaErrors[this.nEta] = Math.abs(eta - wait) / Math.max(wait, 1);
        const toCall = (l.calledAt[id]! - l.at[id]!) / 1000;
        this.etaErrorsToCall[this.nEta] = Math.abs(eta - toCall) / Math.max(toCall, 1);
        this.nEta += 1;
      }
    }
    const cut = this.#cut;
    if (cut !== null && t >= cut.at) {
      if (this.live > cut.capacity) {
        this.admittedAboveNewCapacity += 1;
        this.lastAdmissionAboveNewCapacityMs = t - cut.at;
      } else if (this.resumedAfterCutMs === null) this.resumedAfterCutMs = t - cut.at;
    }
  }

  waiting(): number {
    return this.#l.joined - this.admittedTotal - this.gaveUp - this.toRecording;
  }

  /** At the end: who is still waiting, and for how long the first of them has. */
  finish(end: number): void {
    const l = this.#l;
    this.waitingAtEnd = this.waiting();
    for (let id = 0; id < l.reached; id++) {
      if (l.admittedAt[id] === NEVER && !outOfLine(l.state[id]!)) {
        this.oldestWaitingSeconds = (end - l.at[id]!) / 1000;
        break;
      }
    }
  }

  progress(second: number, wall: number, out: (line: string) => void): void {
    const f = (n: number) => Math.round(n * this.w).toLocaleString("en-US");
    const t = `${Math.floor(second / 60)}:${String(second % 60).padStart(2, "0")}`;
    out(
      `  t=${t}  joined ${f(this.#l.joined)}  waiting ${f(this.waiting())}  live ${f(this.live)}` +
        `  admitted ${f(this.admittedTotal)}  gave up ${f(this.gaveUp)}  (wall ${wall.toFixed(1)} s)`,
    );
  }
}

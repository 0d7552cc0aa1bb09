/**
 * The origin behind the edge, for scenarios that model it (origin-melt):
 * how much of the live audience it can serve, the 503s the edge sees when it
 * cannot, and the reports edge isolates send the coordinator. The reports go
 * to the real Coordinator.reportOrigin, so the effective limits follow the
 * real AIMD of src/policy/health.ts; this file only models the origin and
 * the edge's reporting, and measures the outcome.
 *
 * - Every live listener makes `requestsPerListenerPerSecond` requests through
 *   the edge (audio segments). While the live audience exceeds what the
 *   origin can serve, that share of them is answered 503:
 *   share = (live − served) ÷ live (overloadedShare).
 * - The requests are spread evenly over all edge isolates (WorldOptions.
 *   isolates), but only `reportingIsolates` of them are modelled: a bounded
 *   sample, so the coordinator's load from reports stays what a sampled edge
 *   would send (what all of them would send is measured apart, see
 *   peakReportsAllIsolates). Once a second, each at its own offset in the
 *   second, a modelled isolate draws its answers of the last second (seeded)
 *   and, if any was a 503, reports them once: one coordinator request. A
 *   report without distress would change nothing (observe() only lets the
 *   factor grow back with time), so an isolate that saw none sends none.
 * - "Live" is the ledger's live leases: a listener who left keeps its seat
 *   until the coordinator confirms its revocation (CONFIRM_AFTER_MS after it
 *   is listed, a few seconds) or, when the room's list is full, until its
 *   lease expires: an overstatement of seconds, at most a pass lifetime.
 */
import type { Coordinator } from "../src/policy/coordinator.ts";
import { ADMITTED, type Listeners } from "./listeners.ts";
import type { ShardShell } from "./shell.ts";
import type { Stats } from "./stats.ts";

export interface OriginModel {
  /** Listeners (real ones, not cohorts) the origin can serve at `second` since the start. */
  servesAt: (second: number) => number;
  /** Requests a live listener makes through the edge each second. */
  requestsPerListenerPerSecond: number;
  /** Edge isolates modelled as reporting to the coordinator (a sample of all of them). */
  reportingIsolates: number;
}

/**
 * An origin that serves `full` listeners until `fromSecond`, then loses
 * capacity evenly over `overSeconds` down to `share` of it, and stays there.
 */
export function melting(
  full: number,
  fromSecond: number,
  overSeconds: number,
  share: number,
): (second: number) => number {
  return (second) => {
    const progress = Math.min(1, Math.max(0, (second - fromSecond) / overSeconds));
    return Math.round(full * (1 - (1 - share) * progress));
  };
}

/** The share of a live audience's requests the origin answers 503: what it cannot serve of it. */
export function overloadedShare(live: number, served: number): number {
  return live > served && live > 0 ? (live - served) / live : 0;
}

/** The room once a minute (and at the end), for the readable report; counts in real listeners. */
export interface OriginSample {
  second: number;
  live: number;
  effectiveCapacity: number;
  served: number;
  waiting: number;
  /** Listeners sent to the recording so far. */
  sentToRecording: number;
  overloadedShare: number;
}

export interface OriginDeps {
  coordinator: Coordinator;
  stats: Stats;
  listeners: Listeners;
  shells: readonly ShardShell[];
  rand: () => number;
  /** Simulated time 0, ms since the epoch. */
  t0: number;
  /** Listeners one simulated listener stands for. */
  cohort: number;
  /** All edge isolates serving the room (requests are spread over them). */
  isolates: number;
  /** Listeners sent to the recording so far (0 without overflow rules). */
  sentToRecording: () => number;
}

export class Origin {
  readonly model: OriginModel;
  readonly #d: OriginDeps;
  /** Distress reports sent (each one coordinator request). */
  reports = 0;
  /** The coordinator's effective capacity (real listeners): lowest, when, and at the end. */
  effectiveCapacityMin = Infinity;
  effectiveCapacityMinAtSecond = 0;
  effectiveCapacityAtEnd = 0;
  /** Largest fall of the live audience from one second to the next, and when. */
  maxLiveDrop = 0;
  maxLiveDropAtSecond = 0;
  /** Most leave requests in one second (the falls above come from these). */
  maxLeavesPerSecond = 0;
  /** Seconds with any 503, the 503s in all (estimated), and the largest share. */
  overloadedSeconds = 0;
  overloadedAnswers = 0;
  maxOverloadedShare = 0;
  /** The first second after distress began that the audience fitted the origin again, and the largest share after it. */
  drainedAtSecond: number | null = null;
  maxOverloadedShareAfterDrain = 0;
  /** Most isolates per second that would report if every isolate did (expected number). */
  peakReportsAllIsolates = 0;
  /** Listeners still listening whose seat was gone at the end (checked in finish). */
  unseatedAtEnd = 0;
  readonly samples: OriginSample[] = [];
  #lastLive = 0;
  #lastLeaves = 0;

  constructor(model: OriginModel, deps: OriginDeps) {
    this.model = model;
    this.#d = deps;
  }

  /** Live leases now, in real listeners. */
  #live(): number {
    return this.#d.stats.live * this.#d.cohort;
  }

  #effectiveCapacity(t: number): number {
    return this.#d.coordinator.limits(this.#d.t0 + t).capacity * this.#d.cohort;
  }

  /** Start of second `sec`: take the measures, and schedule each modelled isolate's report in it. */
  second(sec: number, schedule: (t: number, isolate: number) => void): void {
    const t = sec * 1000;
    const live = this.#live();
    const served = this.model.servesAt(sec);
    const share = overloadedShare(live, served);
    this.#sampleCapacity(t);
    if (sec > 0) this.#noteChanges(sec, live);
    this.#noteOverload(sec, live, share);
    if (sec % 60 === 0) this.#sample(sec, live, served, share);
    const r = this.model.reportingIsolates;
    for (let k = 0; k < r; k++) schedule(t + Math.floor((k * 1000) / r), k);
  }

  /** Falls of the live audience and leaves, since the last second. */
  #noteChanges(sec: number, live: number): void {
    const drop = this.#lastLive - live;
    if (drop > this.maxLiveDrop) {
      this.maxLiveDrop = drop;
      this.maxLiveDropAtSecond = sec;
    }
    const leaves = this.#d.stats.requests.leave;
    this.maxLeavesPerSecond = Math.max(this.maxLeavesPerSecond, leaves - this.#lastLeaves);
    this.#lastLeaves = leaves;
    this.#lastLive = live;
  }

  #noteOverload(sec: number, live: number, share: number): void {
    const answersPerIsolate = (live * this.model.requestsPerListenerPerSecond) / this.#d.isolates;
    if (share > 0) {
      this.overloadedSeconds += 1;
      this.overloadedAnswers += share * live * this.model.requestsPerListenerPerSecond;
      this.maxOverloadedShare = Math.max(this.maxOverloadedShare, share);
      // Expected isolates seeing at least one 503 among their answers this second.
      const all = this.#d.isolates * (1 - Math.pow(1 - share, answersPerIsolate));
      this.peakReportsAllIsolates = Math.max(this.peakReportsAllIsolates, all);
    }
    if (this.reports === 0) return;
    if (this.drainedAtSecond === null && share === 0) this.drainedAtSecond = sec;
    else if (this.drainedAtSecond !== null) {
      this.maxOverloadedShareAfterDrain = Math.max(this.maxOverloadedShareAfterDrain, share);
    }
  }

  #sampleCapacity(t: number): void {
    const capacity = this.#effectiveCapacity(t);
    if (capacity < this.effectiveCapacityMin) {
      this.effectiveCapacityMin = capacity;
      this.effectiveCapacityMinAtSecond = Math.floor(t / 1000);
    }
  }

  #sample(sec: number, live: number, served: number, share: number): void {
    const d = this.#d;
    this.samples.push({
      second: sec,
      live,
      effectiveCapacity: this.#effectiveCapacity(sec * 1000),
      served,
      waiting: d.stats.waiting() * d.cohort,
      sentToRecording: d.sentToRecording(),
      overloadedShare: share,
    });
  }

  /** Modelled isolate `isolate` reports its last second's answers at `t`, if any was a 503. */
  report(_isolate: number, t: number): void {
    const live = this.#live();
    const share = overloadedShare(live, this.model.servesAt(Math.floor(t / 1000)));
    if (share === 0) return;
    const rand = this.#d.rand;
    const expected = (live * this.model.requestsPerListenerPerSecond) / this.#d.isolates;
    const answers = Math.floor(expected) + (rand() < expected % 1 ? 1 : 0);
    let overloaded = 0;
    for (let i = 0; i < answers; i++) if (rand() < share) overloaded++;
    if (overloaded === 0) return;
    this.reports += 1;
    this.#d.stats.originReport();
    this.#d.coordinator.reportOrigin({ overloaded, answers, load: null }, this.#d.t0 + t);
    this.#sampleCapacity(t);
  }

  /** At the end: the last sample, and nobody still listening may have lost a seat. */
  finish(end: number): void {
    const sec = end / 1000;
    const live = this.#live();
    const served = this.model.servesAt(sec);
    this.#sample(sec, live, served, overloadedShare(live, served));
    this.effectiveCapacityAtEnd = this.#effectiveCapacity(end);
    this.unseatedAtEnd = unseated(this.#d.listeners, this.#d.shells, this.#d.t0 + end) * this.#d.cohort;
  }
}

/** Listeners still listening (admitted, not left) who hold no valid seat at `now`: evicted. */
export function unseated(l: Listeners, shells: readonly ShardShell[], now: number): number {
  let n = 0;
  for (let id = 0; id < l.reached; id++) {
    if (l.state[id] !== ADMITTED) continue;
    const lease = shells[l.shard[id]!]!.store.peekLease(l.subs[id]!);
    if (lease === null || lease.expiresAt <= now) n++;
  }
  return n;
}

/**
 * The simulated room: listeners, the edge, shard Durable Objects and the
 * coordinator, on simulated time. Every admission decision is the real
 * policy code (Coordinator, Shard, Ledger on the in-memory stores, and the
 * shards' ShardRunner: when to sync, the alarm, the view an edge gets); the
 * world moves time, carries messages with seeded network delays, and counts.
 *
 * - A listener arrives and joins its shard (FNV-1a of its id, as the edge
 *   does): one Durable Object (DO) call. Unless seated at once, the answer
 *   carries its position and estimate (estimatePlace over the shard's view)
 *   and when to poll (pollAfterSeconds).
 * - A poll lands on a random edge isolate and is answered from that
 *   isolate's cached view (no DO call) until the view shows the listener's
 *   turn; then it claims its seat (a DO call). Each isolate reads the view
 *   from one shard once a second (a DO call).
 * - Shards run the real shard logic: ShardRunner (src/policy/shard-runner.ts),
 *   the code RoomShard runs, on the simulated platform of shell.ts; shard
 *   and coordinator talk over a network with 20–80 ms each way.
 * - Seated listeners renew every passTrustMs (pass-trust.ts: a pass that old is
 *   renewed on its way through the edge; a page that heartbeats every third
 *   of a lifetime renews at least as often) and leave after an exponential
 *   listening time; some waiting listeners give up. A seat given back stays
 *   taken until the coordinator confirms its revocation (a few seconds) or
 *   until its lease's new expiry, `releaseAt` (passTrustMs and 1 s after its
 *   last renewal).
 * - The room's revocation list, a shard's report of its ended leases and
 *   the revoked passes a shard adds to a view hold MAX_VIEW_REVOKED passes;
 *   one simulated listener stands for a cohort, so the simulation lets them
 *   hold MAX_VIEW_REVOKED ÷ cohort: never more listeners than the real room.
 * The edge↔shard hop is not delayed (it adds the same ~0.1 s to everyone).
 * Scenarios may add the origin and its failures (origin.ts), the offer of
 * the recording to a full room (overflow.ts), and a mass leave whose left
 * listeners keep presenting their passes at the edge (mass-leave.ts), and
 * lanes: lines of their own on shards of their own, each listener's picked
 * at arrival (lines.ts).
 */
import { Coordinator } from "../src/policy/coordinator.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "../src/policy/pass-trust.ts";
import type { GlobalView, ShardReport } from "../src/policy/protocol.ts";
import type { JoinAnswer, NoPlace, Reply, ShardRequest, ShardView, ShardWork } from "../src/policy/shard-runner.ts";
import { MAX_VIEW_REVOKED } from "../src/policy/revocations.ts";
import { SYNC_INTERVAL_MS } from "../src/policy/rounds.ts";
import { estimatePlace } from "../src/policy/estimate.ts";
import type { ClaimOutcome, Lease } from "../src/policy/lease.ts";
import { pollAfterSeconds } from "../src/policy/position.ts";
import { Shard } from "../src/policy/shard.ts";
import { ManualClock } from "../src/policy/clock.ts";
import { vouchesForPasses } from "../src/edge/view-cache.ts";
import { Calendar, KINDS } from "./calendar.ts";
import { Arrivals } from "./arrivals.ts";
import { lineDraws, LineLayout, LineStats } from "./lines.ts";
import { ADMITTED, GAVE_UP, LEFT, Listeners, TO_RECORDING, WAITING } from "./listeners.ts";
import { MassLeave } from "./mass-leave.ts";
import { arrivalCounts, type Scenario } from "./scenarios.ts";
import { Origin } from "./origin.ts";
import { Overflow, scaledRules } from "./overflow.ts";
import { type EdgeView, listed, ShardShell, type ShardWorld } from "./shell.ts";
import { type ShardRequestKind, Stats } from "./stats.ts";
import { CallTracker } from "./tracker.ts";
import { SAMPLE_EVERY_S, Staleness } from "./staleness.ts";
import { CountingCoordinatorStore, CountingLedgerStore, type Rows } from "./stores.ts";

// Event kinds. Shard requests (JOIN..PASS_RENEW) wait while their shard syncs.
const JOIN = 0;
const CLAIM = 1;
const RENEW = 2;
const LEAVE = 3;
const VIEW = 4;
const ALARM = 5;
/** The edge asks a left pass's shard to renew it (only with a mass leave). */
const PASS_RENEW = 6;
const POLL = 7;
const READ_TICK = 8;
const AT_COORDINATOR = 9;
const REPLY = 10;
/** A listener at the edge, before it joins (only with overflow rules). */
const ARRIVE = 11;
/** A modelled edge isolate reports the origin's answers (only with an origin model). */
const ORIGIN_REPORT = 12;
/** A listener who left presents its old pass at the edge (only with a mass leave). */
const LEFT_PASS = 13;
/** The last kind that is a shard request. */
const LAST_SHARD_REQUEST = PASS_RENEW;
const SHIFT = 4;

/** Simulated time starts here (a whole second). */
export const T0 = Date.UTC(2026, 0, 1);
/** Most network delay one way, ms (least: 20). */
const MAX_DELAY_MS = 80;
/** Every shard hears from the coordinator within one sync interval and a round trip. */
export const SYNC_ROUND_MS = SYNC_INTERVAL_MS + 2 * MAX_DELAY_MS + 40;

/** Steps that serve a listener's request: their rows count for its whole cohort. */
const COHORT_STEPS: ReadonlySet<ShardRequest | ShardWork> = new Set([
  "join",
  "claim",
  "renew",
  "leave",
  "reclaim",
  "rejoin",
]);
/** Steps counted as requests to a shard (a step of its own is not one). */
const COUNTED: ReadonlySet<ShardRequest | ShardWork> = new Set(["join", "claim", "renew", "leave", "view", "alarm"]);
/** An answer nobody waits for (the listener has moved on). */
const IGNORED: Reply<unknown> = { answer: () => {}, fail: raise };

function raise(err: unknown): never {
  throw err;
}

export interface WorldOptions {
  scenario: Scenario;
  seed: number;
  shards: number;
  /** Edge isolates, each reading a view once a second. */
  isolates: number;
  /** Listeners one simulated listener stands for (see Scenario.cohort). */
  cohort: number;
  progress: (line: string) => void;
}

export class World {
  readonly o: WorldOptions;
  readonly sc: Scenario;
  readonly counts: Int32Array;
  readonly l: Listeners;
  readonly stats: Stats;
  readonly rows: Rows = { read: 0, written: 0, weight: 1 };
  /** Capacity in simulated listeners (cohorts). */
  readonly capacity: number;
  readonly coordinator: Coordinator;
  readonly shells: ShardShell[];
  readonly calls: CallTracker;
  readonly origin: Origin | null;
  readonly overflow: Overflow | null;
  readonly massLeave: MassLeave | null;
  /** The lines and where their shards are (without lanes: the general line's shards alone). */
  readonly layout: LineLayout;
  /** Measures per line (null: no lanes). */
  readonly lines: LineStats | null;
  /** How out of date waiting listeners' positions are (a measure only: see staleness.ts). */
  readonly staleness: Staleness;
  /** Most revocations the room lists, and a shard reports, in simulated listeners (MAX_VIEW_REVOKED ÷ cohort). */
  readonly revocationListSize: number;
  readonly #coordinatorStore: CountingCoordinatorStore;
  readonly #clock: ManualClock;
  readonly #rand: () => number;
  readonly #cal = new Calendar();
  /** The view cached in each edge isolate (null: none yet). */
  readonly #views: (EdgeView | null)[];
  /** The newest view any edge isolate holds (for the staleness measure only). */
  #freshest: GlobalView | null = null;
  /** Where each isolate's view read is answered. */
  readonly #viewReplies: Reply<ShardView | null>[];
  /** The listener whose join or leave a shard is serving (-1: none). */
  #serving = -1;
  /** Per shard (by position): listeners whose join waits on a sync for a place, in order. */
  readonly #askers = new Map<number, number[]>();
  /** The shard's tail before the step being run. */
  #tailBefore = 0;
  readonly #arrivals: Arrivals;
  readonly #end: number;
  /** How often a seated listener renews: once its pass is too old to be honoured from a view (passTrustMs). */
  readonly #renewEvery: number;
  /** A pass with this long left or less is renewed on its way through the edge (RoomDesk.wantsRenewal). */
  readonly #renewBelow: number;
  readonly #wallStart = performance.now();

  constructor(o: WorldOptions) {
    this.o = o;
    this.sc = o.scenario;
    this.#end = this.sc.durationSeconds * 1000;
    this.#renewEvery = passTrustMs(this.sc.passTtlMs);
    this.#renewBelow = this.sc.passTtlMs - passTrustMs(this.sc.passTtlMs);
    const w = o.cohort;
    this.counts = arrivalCounts(this.sc, w);
    const total = this.counts.reduce((a, c) => a + c, 0);
    this.l = new Listeners(total);
    this.staleness = new Staleness(total);
    this.capacity = this.#scaled(this.sc.capacity);
    if (this.sc.lanes && this.sc.overflow !== null) throw new Error("lanes with overflow rules are not modelled");
    this.layout = new LineLayout(this.sc.lanes ?? null, o.shards, w);
    this.lines = this.layout.hasLanes ? new LineStats(this.layout, this.l) : null;
    this.stats = new Stats(this.l, this.layout.size, this.capacity, SYNC_ROUND_MS, w);
    this.#clock = new ManualClock(T0, o.seed);
    this.#rand = () => this.#clock.random();
    const admitPerMinute = Math.max(1, this.#scaled(this.sc.admitPerMinute));
    const rules = this.sc.overflow === null ? {} : scaledRules(this.sc.overflow, w);
    const config = {
      capacity: this.capacity,
      admitPerMinute,
      mode: "open" as const,
      shards: o.shards,
      ...rules,
      ...this.layout.config,
    };
    this.#coordinatorStore = new CountingCoordinatorStore(this.rows);
    this.coordinator = new Coordinator(this.#coordinatorStore, config, T0);
    this.revocationListSize = Math.max(1, Math.floor(MAX_VIEW_REVOKED / w));
    let sid = 0;
    const deps = { newId: () => "s" + (++sid).toString(36) };
    const timings = { passTtlMs: this.sc.passTtlMs, claimWindowMs: this.sc.claimWindowMs, ticketTtlMs: 6 * 3_600_000 };
    const world = this.#shardWorld();
    this.shells = Array.from({ length: this.layout.size }, (_, pos) => {
      const store = new CountingLedgerStore(this.rows);
      const i = this.layout.indexAt(pos);
      const shard = new Shard(i, store, store, timings, deps, T0);
      return new ShardShell(i, shard, store, world, this.revocationListSize, pos);
    });
    this.#views = new Array<null>(o.isolates).fill(null);
    this.#viewReplies = Array.from({ length: o.isolates }, (_, x) => ({
      answer: (parts: ShardView | null) => {
        const cached = this.shells[x % o.shards]!.edgeView(parts, this.massLeave !== null);
        this.#views[x] = cached;
        if (cached !== null && (this.#freshest === null || cached.view.asOf >= this.#freshest.asOf))
          this.#freshest = cached.view;
      },
      fail: raise,
    }));
    this.calls = new CallTracker(this.l, this.stats, this.layout.size, this.sc.outage?.shard ?? null, this.lines);
    this.#arrivals = new Arrivals(this.l, this.counts, this.layout, this.sc, this.#rand, lineDraws(o.seed));
    const room = { coordinator: this.coordinator, stats: this.stats, listeners: this.l, shells: this.shells };
    const sentToRecording = () => this.overflow?.sentToRecording ?? 0;
    const edge = { rand: this.#rand, t0: T0, cohort: w, isolates: o.isolates, sentToRecording };
    this.origin = this.sc.origin === null ? null : new Origin(this.sc.origin, { ...room, ...edge });
    this.overflow =
      this.sc.overflow === null ? null : new Overflow(this.sc.overflow, this.l, this.stats, this.#rand, w);
    this.massLeave =
      this.sc.massLeave === null ? null : new MassLeave(this.sc.massLeave, total, this.capacity, o.isolates, w);
  }

  /** Run the whole scenario. */
  run(): void {
    const onSecond = (s: number) => this.#second(s);
    const dispatch = (code: number, ms: number) => this.#dispatch(code, ms);
    for (let ms = 0; ms < this.#end; ms++) this.#cal.run(ms, onSecond, dispatch);
    for (const shell of this.shells) shell.commit();
    this.stats.closeSecond();
    this.stats.finish(this.#end);
    this.origin?.finish(this.#end);
    this.massLeave?.finish();
  }

  /** A count of listeners in simulated listeners (cohorts). */
  #scaled(n: number): number {
    return Math.round(n / this.o.cohort);
  }

  #at(t: number, kind: number, x: number): void {
    this.#cal.at(t, kind + KINDS * x);
  }

  #delay(): number {
    return 20 + Math.floor((MAX_DELAY_MS - 20) * this.#rand());
  }

  #exp(mean: number): number {
    return -Math.log(1 - this.#rand()) * mean;
  }

  #inOutage(shard: number, t: number): boolean {
    const out = this.sc.outage;
    return out !== null && out.shard === shard && t >= out.fromSecond * 1000 && t < out.toSecond * 1000;
  }

  #second(sec: number): void {
    const st = this.stats;
    if (sec > 0) st.closeSecond();
    for (const change of this.sc.capacityChanges) {
      if (change.atSecond !== sec) continue;
      const capacity = this.#scaled(change.capacity);
      this.coordinator.setConfig({ ...this.coordinator.config, capacity });
      st.capacityCut(sec * 1000, capacity);
    }
    this.massLeave?.second(sec);
    if (this.sc.massLeave?.atSecond === sec) this.#massLeave(sec);
    const arrive = this.overflow === null ? JOIN : ARRIVE;
    this.#arrivals.second(sec, (id) => {
      this.lines?.arrived(id);
      this.#at(this.l.at[id]!, arrive, id);
    });
    this.origin?.second(sec, (t, isolate) => this.#at(t, ORIGIN_REPORT, isolate));
    const I = this.o.isolates;
    for (let k = 0; k < I; k++) this.#at(sec * 1000 + Math.floor((k * 1000) / I), READ_TICK, k);
    if (sec > 0 && sec % SAMPLE_EVERY_S === 0) this.#sampleStaleness(sec * 1000);
    if (sec > 0 && sec % 60 === 0) {
      st.progress(sec, (performance.now() - this.#wallStart) / 1000, this.o.progress);
      if (this.lines !== null) this.#laneProgress();
    }
  }

  #dispatch(code: number, t: number): void {
    const kind = code & (KINDS - 1);
    const x = code >>> SHIFT;
    if (kind <= LAST_SHARD_REQUEST) {
      const shell = this.shells[kind === VIEW ? x % this.o.shards : kind === ALARM ? x : this.l.shard[x]!]!;
      if (shell.blocked) shell.defer(code);
      else this.#request(shell, code, t);
      return;
    }
    switch (kind) {
      case POLL:
        return this.#poll(x, t);
      case READ_TICK:
        return this.#at(t, VIEW, x);
      case AT_COORDINATOR:
        return this.#atCoordinator(this.shells[x]!, t);
      case REPLY:
        return this.#reply(this.shells[x]!, t);
      case ARRIVE:
        if (this.overflow!.atArrival(x, this.#edgeView(), T0 + t)) this.#dispatch(JOIN + KINDS * x, t);
        return;
      case ORIGIN_REPORT:
        return this.origin!.report(x, t);
      case LEFT_PASS:
        return this.#leftPass(x, t);
    }
  }

  /** A request the shard is free to run now. */
  #request(shell: ShardShell, code: number, t: number): void {
    const kind = code & (KINDS - 1);
    const x = code >>> SHIFT;
    const runner = shell.runner;
    this.rows.weight = kind <= LEAVE || kind === PASS_RENEW ? this.o.cohort : 1;
    switch (kind) {
      case JOIN: {
        const l = this.l;
        l.joined += 1;
        l.reached = Math.max(l.reached, x + 1);
        l.state[x] = WAITING;
        l.joinedAt[x] = t;
        this.#serving = x;
        const answer = (out: JoinAnswer | NoPlace | null) => {
          this.#answered(shell, x);
          if (out !== null && "noPlace" in out) return this.#noPlace(x);
          this.#joined(shell, x, this.#cal.now, out!.claim);
        };
        runner.join(l.subs[x]!, null, { answer, fail: raise });
        this.#serving = -1;
        return;
      }
      case CLAIM: {
        const answer = ({ claim }: { claim: ClaimOutcome }) => this.#claimed(x, this.#cal.now, claim);
        return runner.claim(this.l.subs[x]!, this.l.seq[x]!, undefined, undefined, { answer, fail: raise });
      }
      case RENEW:
      case LEAVE:
        return this.#seated(shell, kind, x, t);
      case VIEW:
        return runner.view(this.#viewReplies[x]!);
      case ALARM:
        if (shell.alarmDue(t)) runner.alarm(IGNORED);
        return;
      case PASS_RENEW:
        return this.#passRenew(shell, x, t);
    }
  }

  /** A claim's answer: seated, or back to polling. */
  #claimed(id: number, t: number, claim: ClaimOutcome): void {
    if (claim.kind === "admitted") return this.#admit(id, t, false, claim.lease);
    this.stats.claimsWaiting += this.o.cohort;
    this.#schedulePoll(id, t, null, null);
  }

  /** A join was answered: it waits on no sync any more. */
  #answered(shell: ShardShell, id: number): void {
    const askers = this.#askers.get(shell.pos);
    const i = askers === undefined ? -1 : askers.lastIndexOf(id);
    if (i >= 0) askers!.splice(i, 1);
  }

  /** The shard gave no place (its line is full): the listener goes to the recording, never having joined. */
  #noPlace(id: number): void {
    this.l.joined -= 1;
    if (this.overflow !== null) this.overflow.turnedAway(id);
    else this.l.state[id] = TO_RECORDING;
  }

  /** The join's answer: seated, or a position, an estimate and when to poll. */
  #joined(shell: ShardShell, id: number, t: number, claim: ClaimOutcome): void {
    if (claim.kind === "admitted") return this.#admit(id, t, true, claim.lease);
    const view = shell.runner.ownView();
    const e =
      view === null
        ? null
        : estimatePlace({ shard: shell.index, seq: this.l.seq[id]!, at: T0 + this.l.joinedAt[id]! }, view, T0 + t);
    this.l.etaAtJoin[id] = e?.etaSeconds ?? NaN;
    this.#schedulePoll(id, t, e?.position ?? null, e?.etaSeconds ?? null);
  }

  /** A renewal or a leave of a seated listener. */
  #seated(shell: ShardShell, kind: number, id: number, t: number): void {
    const l = this.l;
    if (l.state[id] !== ADMITTED) return;
    const sub = l.subs[id]!;
    const lease = shell.store.peekLease(sub);
    if (kind === LEAVE) {
      l.state[id] = LEFT;
      if (lease === null) return;
      // The pass is revoked; the seat stays taken until the coordinator
      // confirms the revocation (or until releaseAt, the lease's new expiry).
      this.#serving = id;
      shell.runner.leave(lease.sid, sub, IGNORED);
      this.#serving = -1;
      return;
    }
    if (lease === null) this.stats.request(shell.pos, "renew");
    const out = lease === null ? null : shell.runner.renew(lease.sid, sub, undefined);
    if (out?.kind !== "renewed") {
      this.stats.lostSeats += 1;
      l.state[id] = LEFT;
      this.massLeave?.lost(t);
    } else {
      this.massLeave?.renewed(id, out.lease.expiresAt - T0);
      if (t + this.#renewEvery < this.#end) this.#at(t + this.#renewEvery, RENEW, id);
    }
  }

  /** Every listener seated at second `sec` leaves within the mass leave's window. */
  #massLeave(sec: number): void {
    const over = this.sc.massLeave!.overSeconds * 1000;
    const l = this.l;
    for (let id = 0; id < l.reached; id++) {
      if (l.state[id] === ADMITTED) this.#at(sec * 1000 + Math.floor(this.#rand() * over), LEAVE, id);
    }
  }

  /** When a left listener presents its pass again (ms from now). */
  #retryAfter(): number {
    return Math.max(1, Math.round(this.sc.massLeave!.retryMs * (0.8 + 0.4 * this.#rand())));
  }

  /**
   * A left listener presents its old pass at the edge (src/http/guarded.ts), in
   * one of its location's isolates: refused when the isolate's view lists it
   * or the isolate learnt from the shard that the seat ended; the shard is
   * asked when the view does not vouch for passes or the pass is older than
   * passTrustMs; otherwise it is served at the origin. It comes back
   * until the pass no longer verifies.
   */
  #leftPass(id: number, t: number): void {
    const ml = this.massLeave!;
    if (!ml.passValid(id, t)) return;
    ml.counts.requests += 1;
    const now = T0 + t;
    const isolate = ml.isolateOf(id, this.#rand());
    const cached = this.#views[isolate] ?? null;
    const view = cached?.view ?? null;
    const sid = ml.sids[id]!;
    if (cached !== null && listed(cached, sid)) ml.counts.refusedByView += 1;
    else if (ml.endedHere(isolate, id, t)) ml.counts.refusedInIsolate += 1;
    else if (view === null || !vouchesForPasses(view, now)) {
      ml.counts.askedShardStaleView += 1;
      ml.asking(id, isolate);
      this.#dispatch(PASS_RENEW + KINDS * id, t);
    } else if (ml.passEnd[id]! - t <= this.#renewBelow) {
      ml.counts.askedShardToRenew += 1;
      ml.asking(id, isolate);
      this.#dispatch(PASS_RENEW + KINDS * id, t);
    } else ml.served(id, t, now - view.asOf);
    const next = t + this.#retryAfter();
    if (next < this.#end && ml.passValid(id, next)) this.#at(next, LEFT_PASS, id);
  }

  /**
   * The edge renews a left listener's pass at its shard (a heartbeat): the
   * shard knows the seat was given back, and the isolate that asked then
   * refuses the pass without asking again (noteEnded).
   */
  #passRenew(shell: ShardShell, id: number, t: number): void {
    const ml = this.massLeave!;
    const out = shell.runner.renew(ml.sids[id]!, this.l.subs[id]!, undefined);
    ml.shardAnswered(id, out.kind !== "renewed");
    if (out.kind === "renewed") {
      ml.renewed(id, out.lease.expiresAt - T0);
      ml.served(id, t, null);
    }
  }

  /** What the shards' runners get of this world (see ShardWorld). */
  #shardWorld(): ShardWorld {
    return {
      t0: T0,
      time: () => this.#cal.now,
      beforeStep: (shell, step) => this.#beforeStep(shell, step),
      afterStep: (shell, step) => this.#afterStep(shell, step),
      send: (shell) => this.#send(shell),
      wakeAt: (shell, t) => this.#at(t, ALARM, shell.pos),
      seatEnded: (shell, reason) => this.#seatEnded(reason),
    };
  }

  /** A shard's step: count its request; a listener's request counts rows for its whole cohort. */
  #beforeStep(shell: ShardShell, step: ShardRequest | ShardWork): void {
    this.#tailBefore = shell.shard.ledger.counters.tail;
    this.rows.weight = COHORT_STEPS.has(step) ? this.o.cohort : 1;
    if (COUNTED.has(step)) this.stats.request(shell.pos, step as ShardRequestKind);
  }

  #afterStep(shell: ShardShell, step: ShardRequest | ShardWork): void {
    if ((step === "join" && this.#serving >= 0) || step === "rejoin") {
      // A join that took no place may be waiting on a sync to try again (its `rejoin`, in order).
      const askers = this.#askers.get(shell.pos) ?? [];
      const id = step === "join" ? this.#serving : (askers.shift() ?? -1);
      const seq = shell.shard.ledger.counters.tail;
      if (id >= 0 && seq > this.#tailBefore) {
        this.l.seq[id] = seq;
        this.calls.joined(shell.pos, seq, id);
      } else if (step === "join") {
        askers.push(id);
        this.#askers.set(shell.pos, askers);
      }
    }
    this.#afterOp(shell.pos, this.#cal.now);
  }

  /** A seat ended at a leave: with a mass leave, the listener comes back with its old pass. */
  #seatEnded(reason: "left" | "moved"): void {
    const id = this.#serving;
    if (reason !== "left" || id < 0 || this.massLeave === null) return;
    const t = this.#cal.now;
    this.massLeave.left(id, t, t >= this.massLeave.startMs);
    this.#at(t + this.#retryAfter(), LEFT_PASS, id);
  }

  /** A shard's report leaves for the coordinator. */
  #send(shell: ShardShell): void {
    const t = this.#cal.now;
    this.rows.weight = 1;
    const report = shell.report!;
    // A shard reports at most MAX_VIEW_REVOKED ended leases: as many real listeners' worth.
    const cap = this.revocationListSize;
    if (this.o.cohort > 1 && report.ending.length > cap)
      shell.report = { ...report, ending: report.ending.slice(0, cap) };
    const there = this.#delay();
    shell.replyAt = t + there + this.#delay();
    // The link fails as the outage starts: the first sync of the outage still
    // reaches the coordinator (whose order is then lost on the way back); later
    // ones are lost on the way there.
    if (this.#inOutage(shell.index, t) && this.stats.lostReplies > 0) {
      this.stats.lostSyncs += 1;
      this.#at(shell.replyAt, REPLY, shell.pos);
    } else this.#at(t + there, AT_COORDINATOR, shell.pos);
  }

  #atCoordinator(shell: ShardShell, t: number): void {
    this.stats.coordinatorRequest();
    this.rows.weight = 1;
    const order = this.coordinator.sync(this.#listable(shell.report!, T0 + t), T0 + t);
    this.massLeave?.listedNow(this.coordinator.publishedCount(), t);
    if (this.#inOutage(shell.index, shell.replyAt) || this.#inOutage(shell.index, t)) this.stats.lostReplies += 1;
    else shell.order = order;
    this.#at(shell.replyAt, REPLY, shell.pos);
  }

  /**
   * The report as the coordinator may list it: with cohorts, the room's list
   * holds MAX_VIEW_REVOKED ÷ cohort simulated listeners (as many real ones
   * as the real list), so ended leases it has no room for are left out, as
   * the coordinator leaves them out once its list is full.
   */
  #listable(report: ShardReport, now: number): ShardReport {
    if (this.o.cohort === 1 || report.ending.length === 0) return report;
    const published = this.#coordinatorStore.published;
    let room = this.revocationListSize - this.#coordinatorStore.listedAt(now);
    const ending = report.ending.filter((r) => {
      if (published.has(r.sid)) return true;
      if (r.until + CLOCK_SKEW_MS <= now || room <= 0) return false;
      room -= 1;
      return true;
    });
    return ending.length === report.ending.length ? report : { ...report, ending };
  }

  /** The sync's answer (or its failure) is back: the shard applies it and answers who waited; the waiting requests run. */
  #reply(shell: ShardShell, t: number): void {
    this.rows.weight = 1;
    shell.answered(shell.order);
    for (let code = shell.nextDeferred(); code >= 0; code = shell.blocked ? -1 : shell.nextDeferred()) {
      this.#request(shell, code, t);
    }
  }

  /** Waiting listeners' positions against what a poll would be told now (staleness.ts; reads only). */
  #sampleStaleness(t: number): void {
    const view = this.#freshest;
    if (view === null) return;
    const l = this.l;
    this.staleness.sample(
      l.reached,
      t,
      (id) => l.state[id] === WAITING,
      (id) => {
        const ticket = { shard: this.shells[l.shard[id]!]!.index, seq: l.seq[id]!, at: T0 + l.joinedAt[id]! };
        return estimatePlace(ticket, view, T0 + t).position ?? 0;
      },
    );
  }

  /** The next poll, as the edge tells it (from the place in real listeners, not cohorts). */
  #schedulePoll(id: number, t: number, position: number | null, eta: number | null): void {
    this.staleness.told(id, position, t);
    const place = position === null ? null : position * this.o.cohort;
    this.#at(t + pollAfterSeconds(place, eta, this.#rand) * 1000, POLL, id);
  }

  /** A waiting poll at the edge: answered from the isolate's view, or a claim when the turn has come. */
  #poll(id: number, t: number): void {
    const l = this.l;
    if (l.state[id] !== WAITING) return;
    const patience = l.patienceMs[id]!;
    if (patience > 0 && t - l.at[id]! >= patience) {
      l.state[id] = GAVE_UP;
      this.stats.gaveUp += 1;
      this.lines?.gaveUp(id);
      return;
    }
    const view = this.#edgeView();
    const e =
      view === null
        ? null
        : estimatePlace(
            { shard: this.shells[l.shard[id]!]!.index, seq: l.seq[id]!, at: T0 + l.joinedAt[id]! },
            view,
            T0 + t,
          );
    if (e !== null && e.position === null) return this.#dispatch(CLAIM + KINDS * id, t);
    this.stats.edgePolls += this.o.cohort;
    if (this.overflow !== null && view !== null && e !== null && !this.overflow.inLine(id, e, view)) return;
    this.#schedulePoll(id, t, e?.position ?? null, e?.etaSeconds ?? null);
  }

  /** The view cached in the edge isolate a request lands on (null: it has none yet). */
  #edgeView(): GlobalView | null {
    return this.#isolateView()?.view ?? null;
  }

  /** The view an edge isolate keeps, its shard's own revoked passes apart (see EdgeView). */
  #isolateView(): EdgeView | null {
    return this.#views[Math.floor(this.#rand() * this.o.isolates)] ?? null;
  }

  #admit(id: number, t: number, atJoin: boolean, lease: Lease): void {
    const l = this.l;
    l.state[id] = ADMITTED;
    l.admittedAt[id] = t;
    this.calls.fifoPass.one(id, t);
    this.stats.admitted(id, t, atJoin);
    this.lines?.admitted(id, t, atJoin);
    this.massLeave?.admitted(id, lease.sid, lease.expiresAt - T0, t);
    const leaveAt = t + this.#exp(this.sc.meanListenSeconds * 1000);
    if (leaveAt < this.#end) this.#at(leaveAt, LEAVE, id);
    if (t + this.#renewEvery < this.#end) this.#at(t + this.#renewEvery, RENEW, id);
  }

  /** Each lane's and the general line's seats and line, once a minute (stderr). */
  #laneProgress(): void {
    const lines = this.lines!;
    const waiting = lines.waiting();
    const f = (n: number) => Math.round(n * this.o.cohort).toLocaleString("en-US");
    const parts = lines.lines.map(
      (m, line) => `${lines.layout.names[line]} live ${f(m.live)} waiting ${f(waiting[line]!)}`,
    );
    this.o.progress(`         ${parts.join(" | ")}`);
  }

  #afterOp(s: number, t: number): void {
    const shell = this.shells[s]!;
    this.calls.after(s, shell.shard.ledger.counters, t);
    const freed = shell.store.freedEnded;
    if (freed.length === 0) return;
    for (const lease of freed) {
      // Expired leases (a leave set their expiry to releaseAt) are freed before
      // confirmations are looked at (the ledger settles first).
      if (lease.expiresAt <= T0 + t) this.stats.freedAtExpiry += 1;
      else this.stats.freedOnConfirm += 1;
      this.massLeave?.freed(Listeners.id(lease.sub), t);
    }
    freed.length = 0;
  }
}

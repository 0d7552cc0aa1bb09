/**
 * The simulated room: listeners, the edge, shard Durable Objects and the
 * coordinator, on simulated time. Every admission decision is the real
 * policy code (Coordinator, Shard, Ledger on the in-memory stores); the
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
 * - Shards behave as src/room/room-shard.ts (see shell.ts); shard and
 *   coordinator talk over a network with 20–80 ms each way.
 * - Seated listeners renew at half the pass lifetime and leave after an
 *   exponential listening time; some waiting listeners give up.
 * The edge↔shard hop is not delayed (it adds the same ~0.1 s to everyone).
 * Scenarios may add the origin and its failures (origin.ts) and the offer
 * of the recording to a full room (overflow.ts).
 */
import { Coordinator, SYNC_INTERVAL_MS } from "../src/admission/coordinator.ts";
import { estimatePlace } from "../src/admission/estimate.ts";
import { type ClaimOutcome, MAX_REVOKED, REVOCATION_DELAY_MS } from "../src/admission/ledger.ts";
import { pollAfterSeconds } from "../src/admission/position.ts";
import { Shard } from "../src/admission/shard.ts";
import { ManualClock } from "../src/clock.ts";
import { Calendar, KINDS } from "./calendar.ts";
import { Arrivals } from "./arrivals.ts";
import { ADMITTED, GAVE_UP, LEFT, Listeners, WAITING } from "./listeners.ts";
import { arrivalCounts, type Scenario } from "./scenarios.ts";
import { Origin } from "./origin.ts";
import { Overflow, scaledRules } from "./overflow.ts";
import { ShardShell } from "./shell.ts";
import { Stats } from "./stats.ts";
import { CallTracker } from "./tracker.ts";
import { CountingCoordinatorStore, CountingLedgerStore, type Rows } from "./stores.ts";

// Event kinds. Shard requests (JOIN..ALARM) wait while their shard syncs.
const JOIN = 0;
const CLAIM = 1;
const RENEW = 2;
const LEAVE = 3;
const VIEW = 4;
const ALARM = 5;
const POLL = 6;
const READ_TICK = 7;
const AT_COORDINATOR = 8;
const REPLY = 9;
/** A listener at the edge, before it joins (only with overflow rules). */
const ARRIVE = 10;
/** A modelled edge isolate reports the origin's answers (only with an origin model). */
const ORIGIN_REPORT = 11;
const SHIFT = 4;

/** Simulated time starts here (a whole second). */
export const T0 = Date.UTC(2026, 0, 1);
/** Most network delay one way, ms (least: 20). */
const MAX_DELAY_MS = 80;
/** Every shard hears from the coordinator within one sync interval and a round trip. */
export const SYNC_ROUND_MS = SYNC_INTERVAL_MS + 2 * MAX_DELAY_MS + 40;

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
  readonly #clock: ManualClock;
  readonly #rand: () => number;
  readonly #cal = new Calendar();
  readonly #views: (ReturnType<ShardShell["freshView"]> | null)[];
  readonly #arrivals: Arrivals;
  readonly #end: number;
  readonly #wallStart = performance.now();

  constructor(o: WorldOptions) {
    this.o = o;
    this.sc = o.scenario;
    this.#end = this.sc.durationSeconds * 1000;
    const w = o.cohort;
    this.counts = arrivalCounts(this.sc, w);
    const total = this.counts.reduce((a, c) => a + c, 0);
    this.l = new Listeners(total);
    this.capacity = this.#scaled(this.sc.capacity);
    this.stats = new Stats(this.l, o.shards, this.capacity, SYNC_ROUND_MS, w);
    this.#clock = new ManualClock(T0, o.seed);
    this.#rand = () => this.#clock.random();
    const admitPerMinute = Math.max(1, this.#scaled(this.sc.admitPerMinute));
    const rules = this.sc.overflow === null ? {} : scaledRules(this.sc.overflow, w);
    const config = { capacity: this.capacity, admitPerMinute, mode: "open" as const, shards: o.shards, ...rules };
    this.coordinator = new Coordinator(new CountingCoordinatorStore(this.rows), config, T0);
    let sid = 0;
    const deps = { newId: () => "s" + (++sid).toString(36) };
    const timings = { passTtlMs: this.sc.passTtlMs, claimWindowMs: this.sc.claimWindowMs, ticketTtlMs: 6 * 3_600_000 };
    this.shells = Array.from({ length: o.shards }, (_, i) => {
      const store = new CountingLedgerStore(this.rows);
      return new ShardShell(i, new Shard(i, store, store, timings, deps, T0), store, T0);
    });
    this.#views = new Array<null>(o.isolates).fill(null);
    this.calls = new CallTracker(this.l, this.stats, o.shards, this.sc.outage?.shard ?? null);
    this.#arrivals = new Arrivals(this.l, this.counts, o.shards, this.sc, this.#rand);
    const room = { coordinator: this.coordinator, stats: this.stats, listeners: this.l, shells: this.shells };
    const sentToRecording = () => this.overflow?.sentToRecording ?? 0;
    const edge = { rand: this.#rand, t0: T0, cohort: w, isolates: o.isolates, sentToRecording };
    this.origin = this.sc.origin === null ? null : new Origin(this.sc.origin, { ...room, ...edge });
    this.overflow =
      this.sc.overflow === null ? null : new Overflow(this.sc.overflow, this.l, this.stats, this.#rand, w);
  }

  /** Run the whole scenario. */
  run(): void {
    const onSecond = (s: number) => this.#second(s);
    const dispatch = (code: number, ms: number) => this.#dispatch(code, ms);
    for (let ms = 0; ms < this.#end; ms++) this.#cal.run(ms, onSecond, dispatch);
    this.stats.closeSecond();
    this.stats.finish(this.#end);
    this.origin?.finish(this.#end);
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
    const arrive = this.overflow === null ? JOIN : ARRIVE;
    this.#arrivals.second(sec, (id) => this.#at(this.l.at[id]!, arrive, id));
    this.origin?.second(sec, (t, isolate) => this.#at(t, ORIGIN_REPORT, isolate));
    const I = this.o.isolates;
    for (let k = 0; k < I; k++) this.#at(sec * 1000 + Math.floor((k * 1000) / I), READ_TICK, k);
    if (sec > 0 && sec % 60 === 0) st.progress(sec, (performance.now() - this.#wallStart) / 1000, this.o.progress);
  }

  #dispatch(code: number, t: number): void {
    const kind = code & (KINDS - 1);
    const x = code >>> SHIFT;
    if (kind <= ALARM) {
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
    }
  }

  /** A request the shard is free to run now. */
  #request(shell: ShardShell, code: number, t: number): void {
    const kind = code & (KINDS - 1);
    const x = code >>> SHIFT;
    const s = shell.index;
    const now = T0 + t;
    const ledger = shell.shard.ledger;
    this.rows.weight = kind <= LEAVE ? this.o.cohort : 1;
    switch (kind) {
      case JOIN: {
        const l = this.l;
        l.joined += 1;
        l.reached = Math.max(l.reached, x + 1);
        l.state[x] = WAITING;
        this.stats.request(s, "join");
        const out = ledger.join(l.subs[x]!, now);
        l.seq[x] = out.seq;
        l.joinedAt[x] = t;
        this.calls.joined(s, out.seq, x);
        this.#afterOp(s, t);
        const c = ledger.counters;
        if (out.claim.kind === "waiting" && (c.tail - c.cursor === 1 || shell.syncDue(t))) {
          return this.#startSync(shell, t, code);
        }
        this.#joined(shell, x, t, out.claim);
        break;
      }
      case CLAIM: {
        this.stats.request(s, "claim");
        const out = ledger.claim(this.l.subs[x]!, this.l.seq[x]!, now);
        this.#afterOp(s, t);
        if (out.kind === "admitted") this.#admit(x, t, false);
        else {
          this.stats.claimsWaiting += this.o.cohort;
          this.#schedulePoll(x, t, null, null);
        }
        break;
      }
      case RENEW:
      case LEAVE:
        this.#seated(shell, kind, x, t);
        break;
      case VIEW:
        this.stats.request(s, "view");
        if (shell.shard.view === null || shell.syncDue(t)) return this.#startSync(shell, t, code);
        this.#views[x] = shell.freshView(true);
        break;
      case ALARM:
        if (shell.alarmAt !== t) return;
        shell.alarmAt = -1;
        this.stats.request(s, "alarm");
        ledger.settle(now);
        this.#afterOp(s, t);
        if (shell.shard.busy() && shell.syncDue(t)) return this.#startSync(shell, t, -1);
        break;
    }
    this.#schedule(shell, t);
  }

  /** The join's answer: seated, or a position, an estimate and when to poll. */
  #joined(shell: ShardShell, id: number, t: number, claim: ClaimOutcome): void {
    if (claim.kind === "admitted") return this.#admit(id, t, true);
    const view = shell.freshView(false);
    const e =
      view === null
        ? null
        : estimatePlace({ shard: shell.index, seq: this.l.seq[id]!, at: T0 + this.l.joinedAt[id]! }, view, T0 + t);
    this.l.etaAtJoin[id] = e?.etaSeconds ?? NaN;
    this.#schedulePoll(id, t, e?.position ?? null, e?.etaSeconds ?? null);
  }

  #seated(shell: ShardShell, kind: number, id: number, t: number): void {
    const l = this.l;
    if (l.state[id] !== ADMITTED) return;
    const sub = l.subs[id]!;
    const lease = shell.store.peekLease(sub);
    const now = T0 + t;
    if (kind === LEAVE) {
      l.state[id] = LEFT;
      if (lease === null) return;
      this.stats.request(shell.index, "leave");
      // A shard revokes at most MAX_REVOKED passes at once, and one simulated
      // listener stands for a cohort: past MAX_REVOKED / cohort revocations
      // the real list would be full, so the seat is kept until its pass
      // expires, as the ledger does then (the listener just stops renewing).
      if (shell.store.revoked.size >= MAX_REVOKED / this.o.cohort) return;
      shell.shard.ledger.leave(lease.sid, sub, now);
      this.#afterOp(shell.index, t);
      if (shell.store.peekLease(sub)?.expiresAt === now + REVOCATION_DELAY_MS) this.stats.freedEarly += 1;
      return;
    }
    this.stats.request(shell.index, "renew");
    const out = lease === null ? null : shell.shard.ledger.renew(lease.sid, sub, now);
    this.#afterOp(shell.index, t);
    if (out?.kind !== "renewed") {
      this.stats.lostSeats += 1;
      l.state[id] = LEFT;
    } else if (t + this.sc.passTtlMs / 2 < this.#end) this.#at(t + this.sc.passTtlMs / 2, RENEW, id);
  }

  #schedule(shell: ShardShell, t: number): void {
    if (shell.alarmAt < t) shell.alarmAt = -1; // it has fired (or was dropped while the shard synced)
    const next = shell.nextAlarm(t);
    if (next === null) shell.alarmAt = -1;
    else if (shell.alarmAt === -1 || next < shell.alarmAt) {
      shell.alarmAt = next;
      this.#at(next, ALARM, shell.index);
    }
  }

  #startSync(shell: ShardShell, t: number, cause: number): void {
    this.rows.weight = 1;
    shell.blocked = true;
    shell.syncFor = cause;
    shell.report = shell.shard.report(T0 + t);
    this.#afterOp(shell.index, t);
    const there = this.#delay();
    shell.replyAt = t + there + this.#delay();
    // The link fails as the outage starts: the first sync of the outage still
    // reaches the coordinator (whose order is then lost on the way back); later
    // ones are lost on the way there.
    if (this.#inOutage(shell.index, t) && this.stats.lostReplies > 0) {
      this.stats.lostSyncs += 1;
      this.#at(shell.replyAt, REPLY, shell.index);
    } else this.#at(t + there, AT_COORDINATOR, shell.index);
  }

  #atCoordinator(shell: ShardShell, t: number): void {
    this.stats.coordinatorRequest();
    this.rows.weight = 1;
    const order = this.coordinator.sync(shell.report!, T0 + t);
    if (this.#inOutage(shell.index, shell.replyAt) || this.#inOutage(shell.index, t)) this.stats.lostReplies += 1;
    else shell.order = order;
    this.#at(shell.replyAt, REPLY, shell.index);
  }

  /** The sync's answer (or its failure) is back: apply it, answer who waited, run the waiting requests. */
  #reply(shell: ShardShell, t: number): void {
    const s = shell.index;
    this.rows.weight = 1;
    if (shell.order !== null) {
      shell.shard.apply(shell.order, shell.report!, T0 + t);
      shell.lastSync = t;
      this.#afterOp(s, t);
    }
    shell.order = null;
    shell.report = null;
    shell.blocked = false;
    const cause = shell.syncFor;
    shell.syncFor = -1;
    if (cause >= 0) {
      const x = cause >>> SHIFT;
      if ((cause & (KINDS - 1)) === VIEW) this.#views[x] = shell.freshView(true);
      else {
        this.rows.weight = this.o.cohort;
        const claim = shell.shard.ledger.claim(this.l.subs[x]!, this.l.seq[x]!, T0 + t);
        this.#afterOp(s, t);
        this.#joined(shell, x, t, claim);
      }
    }
    this.#schedule(shell, t);
    for (let code = shell.nextDeferred(); code >= 0; code = shell.blocked ? -1 : shell.nextDeferred()) {
      this.#request(shell, code, t);
    }
  }

  /** The next poll, as the edge tells it (from the place in real listeners, not cohorts). */
  #schedulePoll(id: number, t: number, position: number | null, eta: number | null): void {
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
      return;
    }
    const view = this.#edgeView();
    const e =
      view === null
        ? null
        : estimatePlace({ shard: l.shard[id]!, seq: l.seq[id]!, at: T0 + l.joinedAt[id]! }, view, T0 + t);
    if (e !== null && e.position === null) return this.#dispatch(CLAIM + KINDS * id, t);
    this.stats.edgePolls += this.o.cohort;
    if (this.overflow !== null && view !== null && e !== null && !this.overflow.inLine(id, e, view)) return;
    this.#schedulePoll(id, t, e?.position ?? null, e?.etaSeconds ?? null);
  }

  /** The view cached in the edge isolate a request lands on (null: it has none yet). */
  #edgeView(): ReturnType<ShardShell["freshView"]> {
    return this.#views[Math.floor(this.#rand() * this.o.isolates)] ?? null;
  }

  #admit(id: number, t: number, atJoin: boolean): void {
    const l = this.l;
    l.state[id] = ADMITTED;
    l.admittedAt[id] = t;
    this.calls.fifoPass.one(id, t);
    this.stats.admitted(id, t, atJoin);
    const leaveAt = t + this.#exp(this.sc.meanListenSeconds * 1000);
    if (leaveAt < this.#end) this.#at(leaveAt, LEAVE, id);
    if (t + this.sc.passTtlMs / 2 < this.#end) this.#at(t + this.sc.passTtlMs / 2, RENEW, id);
  }

  #afterOp(s: number, t: number): void {
    this.calls.after(s, this.shells[s]!.shard.ledger.counters, t);
  }
}

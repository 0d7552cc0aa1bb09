/**
 * A shard's Durable Object as the simulator runs it: the real ShardRunner
 * (src/policy/shard-runner.ts, the very code RoomShard runs: when to sync,
 * what waits for a sync, the alarm, the view an edge gets) on a simulated
 * platform. This file is only that platform:
 *
 * - storage: the in-memory store, counting the SQLite rows the Durable
 *   Object would read and write (stores.ts); a step is not a transaction
 *   (nothing fails halfway here); changes are written at group commits, at
 *   once when the shard was quiet for COMMIT_EVERY_MS, else that long after
 *   the last (the wait it adds to answers is not modelled, like the
 *   edge↔shard hop);
 * - time: the clock reads T0 plus the simulated millisecond being run;
 * - the gate (blockConcurrencyWhile): while a sync is out, requests wait in
 *   `deferred` and run afterwards, in order;
 * - the coordinator link: the world carries the report and the order over a
 *   network with seeded delays, and loses them in an outage;
 * - the alarm: an event on the world's calendar; one the alarm has moved
 *   away from since does nothing.
 *
 * Not modelled: claims from a second device (the `moving` seat), held
 * connections.
 */
import type { GlobalView, ShardOrder, ShardReport } from "../src/policy/protocol.ts";
import type { Shard } from "../src/policy/shard.ts";
import {
  type ShardPlatform,
  type ShardRequest,
  ShardRunner,
  type ShardView,
  type ShardWork,
} from "../src/policy/shard-runner.ts";
import { commitAt } from "../src/policy/commits.ts";
import type { CountingLedgerStore } from "./stores.ts";

/** What a simulated shard needs of the world around it. */
export interface ShardWorld {
  /** Simulated time 0, ms since the epoch. */
  readonly t0: number;
  /** The simulated millisecond being run. */
  time(): number;
  /** Before a step of `shell`: count its request, weigh its rows. */
  beforeStep(shell: ShardShell, step: ShardRequest | ShardWork): void;
  /** After a step of `shell`: who was called, the cap, seats freed. */
  afterStep(shell: ShardShell, step: ShardRequest | ShardWork): void;
  /** Carry `shell.report` to the coordinator; the world calls `shell.answered` when the order is back (or lost). */
  send(shell: ShardShell): void;
  /** Run `shell`'s alarm event at simulated millisecond `t`. */
  wakeAt(shell: ShardShell, t: number): void;
  /** A seat of `shell` ended at the request being served. */
  seatEnded(shell: ShardShell, reason: "left" | "moved"): void;
}

export class ShardShell implements ShardPlatform {
  /** The shard's index (a lane's shards are numbered from its slot × LANE_BLOCK, see lanes.ts). */
  readonly index: number;
  /** Its place among the world's shells (the general shards' is their index; see lines.ts). */
  readonly pos: number;
  readonly store: CountingLedgerStore;
  readonly runner: ShardRunner;
  /** A sync is out: requests wait. */
  blocked = false;
  /** The sync out: its report as sent, and the order once the coordinator answered. */
  report: ShardReport | null = null;
  order: ShardOrder | null = null;
  /** When the order of the sync out arrives back (ms). */
  replyAt = 0;
  /** Requests waiting for the sync to finish (event codes), from `#head` on. */
  #deferred: number[] = [];
  #head = 0;
  /** Hands the runner the sync's order. */
  #done: ((order: ShardOrder | null) => void) | null = null;
  /** Its own revoked passes as last answered to a view read (the same array while they are the same). */
  #ownLast: readonly string[] = [];
  readonly #world: ShardWorld;

  /** `maxOwnRevoked`: MAX_VIEW_REVOKED in simulated listeners; `pos`: its place among the world's shells. */
  constructor(
    index: number,
    shard: Shard,
    store: CountingLedgerStore,
    world: ShardWorld,
    maxOwnRevoked: number,
    pos = index,
  ) {
    this.index = index;
    this.pos = pos;
    this.store = store;
    this.#world = world;
    this.runner = new ShardRunner(shard, store, this, { maxOwnRevoked });
  }

  get shard(): Shard {
    return this.runner.shard;
  }

  now(): number {
    return this.#world.t0 + this.#world.time();
  }

  atomically<T>(step: ShardRequest | ShardWork, op: (now: number) => T): T {
    const now = this.now();
    const store = this.store;
    // The commit due by now ran before this step (nothing changed in between).
    if (store.commitDue !== null && store.commitDue <= now) this.commit();
    this.#world.beforeStep(this, step);
    const out = op(now);
    this.#world.afterStep(this, step);
    if (store.commitDue === null && store.dirty) store.commitDue = commitAt(store.lastCommit, now);
    return out;
  }

  /** Run the commit that is due (its rows are counted when it runs). */
  commit(): void {
    const store = this.store;
    if (store.commitDue === null) return;
    store.lastCommit = store.commitDue;
    store.commitDue = null;
    store.commit();
  }

  sync(report: ShardReport, done: (order: ShardOrder | null) => void): void {
    this.blocked = true;
    this.report = report;
    this.#done = done;
    this.#world.send(this);
  }

  setAlarm(at: number | null): void {
    if (at !== null) this.#world.wakeAt(this, Math.ceil(at - this.#world.t0));
  }

  seatEnded(_sid: string, reason: "left" | "moved"): void {
    this.#world.seatEnded(this, reason);
  }

  /** The sync's order is back (null: lost): the runner applies it and answers who waited; requests may run again. */
  answered(order: ShardOrder | null): void {
    const done = this.#done!;
    this.#done = null;
    this.report = null;
    this.order = null;
    try {
      done(order);
    } finally {
      this.blocked = false;
    }
  }

  /** Is the alarm due at simulated millisecond `t` (an event the alarm has moved away from is not)? */
  alarmDue(t: number): boolean {
    const at = this.runner.alarmAt;
    return at !== null && at <= this.#world.t0 + t;
  }

  defer(code: number): void {
    this.#deferred.push(code);
  }

  /** The next waiting request, or -1. */
  nextDeferred(): number {
    if (this.#head >= this.#deferred.length) {
      if (this.#head > 0) {
        this.#deferred = [];
        this.#head = 0;
      }
      return -1;
    }
    return this.#deferred[this.#head++]!;
  }

  /**
   * A view read's answer as an edge isolate keeps it. The shard's own
   * revoked passes are kept only when the edge checks passes (`keepOwn`),
   * but always read (and their rows counted).
   */
  edgeView(parts: ShardView | null, keepOwn: boolean): EdgeView | null {
    if (parts === null) return null;
    return { view: parts.view, own: keepOwn ? this.#sameAsLast(parts.own) : [] };
  }

  /** These own revoked passes, as the last array answered when they are the same (its set is then reused). */
  #sameAsLast(sids: readonly string[]): readonly string[] {
    const last = this.#ownLast;
    if (last.length !== sids.length || !last.every((sid, i) => sid === sids[i])) this.#ownLast = sids;
    return this.#ownLast;
  }
}

/**
 * A view as an edge isolate keeps it: what a shard's view read answered.
 * The shard adds its own revoked passes to the room's list (withOwnRevoked);
 * the simulator keeps them apart (`own`), so that lists of thousands are not
 * merged for every one of the 1,200 reads a second, and `listed` checks both.
 */
export interface EdgeView {
  /** The room's view with the shard's own cursor; `revoked` is the room's list. */
  view: GlobalView;
  /** The shard's own revoked passes. */
  own: readonly string[];
}

/** A set of each list looked up (lists are shared by many views and never change). */
const sets = new WeakMap<readonly string[], Set<string>>();

function has(list: readonly string[], sid: string): boolean {
  if (list.length === 0) return false;
  let set = sets.get(list);
  if (set === undefined) {
    set = new Set(list);
    sets.set(list, set);
  }
  return set.has(sid);
}

/** Does the edge refuse this pass from this view, the shard's own revoked passes included (isRevoked, view-cache.ts)? */
export function listed(e: EdgeView, sid: string): boolean {
  return has(e.view.revoked, sid) || has(e.own, sid);
}

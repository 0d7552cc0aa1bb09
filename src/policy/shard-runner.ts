/**
 * A shard at work on a platform: when it syncs with the coordinator, what a
 * request that needs a sync waits for, the one alarm it keeps, and the view it
 * answers an edge with. The Durable Object (src/objects/room-shard.ts) and
 * the simulator (sim/shell.ts) both run this very code; each provides a
 * ShardPlatform: the clock, storage transactions, the link to the
 * coordinator (with the gate that holds other requests back while a sync is
 * out) and the alarm.
 *
 * - Syncs come in rounds (rounds.ts). One runs when due on the alarm while
 *   the shard is busy, on an edge's view read, right after a leave or a move
 *   (so the revocation is listed at once), and at once when a join finds no
 *   free seat for the first one waiting. A failed sync counts as the round's
 *   sync too: the next is tried a round later, not at every request (a storm of
 *   retries would starve this shard's listeners).
 * - While a sync is out the platform holds other requests back, so the order
 *   applies to exactly the state that was reported. The requests that asked for
 *   it answer once it is back (whether it succeeded or not).
 * - The alarm is kept at the earlier of the ledger's next wake-up and, while
 *   the shard is busy, the start of the next round.
 * - A join that finds neither a seat nor room in the queue allowance asks
 *   the coordinator: it waits on a sync (at once, at most one such sync a
 *   round, counted in the report as `asking`) and takes its place only if
 *   the order brings room; otherwise it is answered `queue_full` and takes
 *   nothing. So the edge's one call per join stays one call.
 * - A view answered to an edge is the last room-wide view with what this
 *   shard knows better: its own cursor, and its own revoked passes (read at
 *   most once a sync interval, and again after a seat here ends).
 */
import type { ClaimOutcome, RenewOutcome } from "./lease.ts";
import type { LedgerStore } from "./ledger-state.ts";
import type { GlobalView, ShardOrder, ShardReport } from "./protocol.ts";
import { MAX_VIEW_REVOKED } from "./revocations.ts";
import { nextSyncAt, SYNC_INTERVAL_MS, syncDue } from "./rounds.ts";
import type { Shard } from "./shard.ts";

/** The requests a shard serves (a Durable Object request: a method call or its alarm). */
export type ShardRequest = "join" | "claim" | "renew" | "hold" | "leave" | "view" | "alarm" | "origin";
/**
 * Steps of the shard's own: a sync's report and order, a join's second claim
 * once a sync is back, a join's second try for a place once the sync it asked
 * for is back, and what the origin's own list says (direct mode).
 */
export type ShardWork = "report" | "apply" | "reclaim" | "rejoin" | "origin-check";

/** What a platform provides a shard. */
export interface ShardPlatform {
  /** The clock (ms since the epoch). */
  now(): number;
  /** Run `op` as one atomic step (a storage transaction) at the clock's `now`. */
  atomically<T>(step: ShardRequest | ShardWork, op: (now: number) => T): T;
  /**
   * Send `report` to the coordinator and hold every other request back until
   * `done` has run: call it once, with the order, or with null when the
   * request failed. `done` throws when applying the order does (the sync then
   * counts as failed).
   */
  sync(report: ShardReport, done: (order: ShardOrder | null) => void): void;
  /** Keep the shard's one alarm at `at` (null: none); called only when it changes. */
  setAlarm(at: number | null): void;
  /** A seat here ended at a request (its held connections, if the platform keeps any, go). */
  seatEnded?(sid: string, reason: "left" | "moved"): void;
  /** The alarm settled the ledger (seats may have lapsed). */
  settled?(): void;
}

/** Where a request's answer goes: at once, or once the sync it asked for is back. */
export interface Reply<T> {
  answer(value: T): void;
  fail(err: unknown): void;
}

export interface JoinAnswer {
  seq: number;
  /** When the shard took the arrival (ms); orders listeners across shards. */
  at: number;
  claim: ClaimOutcome;
}

/**
 * A join that took no place: the queue allowance is full here
 * (`queue_full`: the edge offers the recording), or the coordinator could not
 * be asked for room while the room's `maxQueue` binds (`unavailable`).
 */
export interface NoPlace {
  noPlace: "queue_full" | "unavailable";
}

export interface ClaimAnswer {
  claim: ClaimOutcome;
  /** A seat that moved here whose other device's connections must go before this answer (null: none). */
  movedFrom: string | null;
}

/** A view as a shard answers it, its own revoked passes apart (withOwnRevoked merges them). */
export interface ShardView {
  /** The room's last view with this shard's own cursor; `revoked` is the room's list. */
  view: GlobalView;
  /** This shard's own revoked passes (the same array until they are read again). */
  own: readonly string[];
}

export interface ShardRunnerOptions {
  /** The alarm already set (ms), if any. */
  alarmAt?: number | null;
  /** Most of its own revoked passes a view adds (MAX_VIEW_REVOKED; the simulator scales it to its cohorts). */
  maxOwnRevoked?: number;
}

/** A join's try found no room, and the coordinator may be asked. */
const ASK = Symbol("ask");

interface Waiter {
  run(): void;
  fail(err: unknown): void;
}

export class ShardRunner {
  readonly shard: Shard;
  readonly #store: LedgerStore;
  readonly #p: ShardPlatform;
  readonly #maxOwnRevoked: number;
  /** The last sync, successful or failed (ms). */
  #lastSync = 0;
  #alarmAt: number | null;
  #syncing = false;
  /** Requests waiting for the sync out (or about to go out). */
  #waiting: Waiter[] = [];
  /** Own revoked lease ids as last read: at most once a sync interval, and after a seat here ends. */
  #ownRevoked: { at: number; sids: string[] } | null = null;
  /** Joins waiting on the next report for a waiting place, and the round of the last sync one asked for. */
  #asking = 0;
  #askedRound = -1;
  /** The last sync brought no order (it failed). */
  #missed = false;

  constructor(shard: Shard, store: LedgerStore, platform: ShardPlatform, options: ShardRunnerOptions = {}) {
    this.shard = shard;
    this.#store = store;
    this.#p = platform;
    this.#alarmAt = options.alarmAt ?? null;
    this.#maxOwnRevoked = options.maxOwnRevoked ?? MAX_VIEW_REVOKED;
  }

  /** The last sync, successful or failed (ms; 0: none yet). */
  get lastSync(): number {
    return this.#lastSync;
  }

  /** The alarm as last set (null: none). */
  get alarmAt(): number | null {
    return this.#alarmAt;
  }

  syncDue(now: number): boolean {
    return syncDue(this.#lastSync, now);
  }

  /**
   * Take a place in line; admitted at once when this shard has a free seat
   * and nobody waits. With `spend`, only when spending (in the same step)
   * succeeds — null when it does not. No place beyond the queue allowance
   * (see the header): NoPlace, with the challenge unspent.
   */
  join(sub: string, spend: ((now: number) => boolean) | null, reply: Reply<JoinAnswer | NoPlace | null>): void {
    const ledger = this.shard.ledger;
    const round = Math.floor(this.#p.now() / SYNC_INTERVAL_MS);
    const mayAsk = this.#syncing || this.#askedRound !== round;
    const out = this.#p.atomically("join", (now) => this.#place(sub, spend, now, mayAsk ? "ask" : "final"));
    if (out === ASK) {
      this.#asking += 1;
      this.#askedRound = round;
      const rejoin = () => this.#p.atomically("rejoin", (now) => this.#place(sub, spend, now, "final"));
      return this.#afterSync(this.#againIfLapsed(reply, sub), rejoin);
    }
    if (out === null || "noPlace" in out) return reply.answer(out);
    const alone = ledger.counters.tail - ledger.counters.cursor === 1;
    if (out.claim.kind === "waiting" && (alone || this.syncDue(this.#p.now()))) {
      // No free seat here: ask the coordinator now rather than at the next
      // round — at once for the first one waiting (the others wait behind it anyway).
      return this.#afterSync(this.#againIfLapsed(reply, sub), () => this.#reclaim(sub, out));
    }
    this.schedule();
    reply.answer(out);
  }

  /**
   * `reply`, except that a join left waiting because the order's spare
   * allowance had already run out is claimed once more after another sync.
   * The coordinator opens a spare allowance until the end of its own round
   * (`openUntil`); when a new round has begun by the time the order is
   * applied here (a slow answer across a second's edge), the allowance is
   * void before anyone could use it, and a free room would queue its first
   * arrivals until the next round. The next sync opens it for this round.
   */
  #againIfLapsed(reply: Reply<JoinAnswer | NoPlace | null>, sub: string): Reply<JoinAnswer | NoPlace | null> {
    return {
      fail: (err) => reply.fail(err),
      answer: (got) => {
        if (got === null || "noPlace" in got || got.claim.kind !== "waiting" || !this.#spareLapsed()) {
          return reply.answer(got);
        }
        this.#afterSync(reply, () => this.#reclaim(sub, got));
      },
    };
  }

  /** A waiting place claimed again, in one step (after a sync). */
  #reclaim(sub: string, placed: JoinAnswer): JoinAnswer {
    const again = (now: number) => this.shard.ledger.claim(sub, placed.seq, now, placed.at);
    return { ...placed, claim: this.#p.atomically("reclaim", again) };
  }

  /** The last order's spare allowance (no call-through, open until a time) has run out. */
  #spareLapsed(): boolean {
    const local = this.shard.local;
    return local.callThrough === null && typeof local.openUntil === "number" && this.#p.now() >= local.openUntil;
  }

  /**
   * One try at a place, in one step. Without room: ASK when the coordinator
   * may still be asked; else, as a last word, while `maxQueue` binds this
   * shard, `queue_full` (counted as offered the recording), or `unavailable`
   * when the sync asked for failed; with no limit known, the place.
   */
  #place(
    sub: string,
    spend: ((now: number) => boolean) | null,
    now: number,
    last: "ask" | "final",
  ): JoinAnswer | NoPlace | typeof ASK | null {
    const shard = this.shard;
    let refused: NoPlace | typeof ASK | null = null;
    const out = shard.ledger.join(sub, now, (atOnce) => {
      if (!atOnce && !shard.queueRoom()) {
        if (last === "ask") {
          refused = ASK;
          return "refuse";
        }
        // Without a limit (a lane's shard, or no `maxQueue` by the last view) the place is given anyway.
        if (shard.lineLimited()) {
          refused = { noPlace: this.#missed ? "unavailable" : "queue_full" };
          return this.#missed ? "refuse" : "overflow";
        }
      }
      return spend === null || spend(now) ? "place" : "refuse";
    });
    return out === null ? refused : { ...out, at: now };
  }

  /**
   * Claim a called listener's seat (Ledger.claim). A claim from another
   * device than the seat's ends the seat there at once and gets the
   * revocation listed now, when a sync is due.
   */
  claim(
    sub: string,
    seq: number,
    arrivedAt: number | undefined,
    key: string | undefined,
    reply: Reply<ClaimAnswer>,
  ): void {
    const prior = this.#store.leaseBySub(sub);
    const claim = this.#p.atomically("claim", (now) => this.shard.ledger.claim(sub, seq, now, arrivedAt, key));
    if (claim.kind === "waiting" && claim.reason === "moving" && prior !== null && prior.leftAt === null) {
      this.#seatEnded(prior.sid, "moved");
      if (this.syncDue(this.#p.now())) return this.#afterSync(reply, () => ({ claim, movedFrom: null }));
    }
    this.schedule();
    const moved = claim.kind === "admitted" && claim.fresh ? (prior?.movedFrom ?? null) : null;
    reply.answer({ claim, movedFrom: moved });
  }

  /** Renew a seat (as `request`: a renewal, or a round of a held connection). */
  renew(sid: string, sub: string, gen: number | undefined, request: "renew" | "hold" = "renew"): RenewOutcome {
    const out = this.#p.atomically(request, (now) => this.shard.ledger.renew(sid, sub, now, gen));
    this.schedule();
    return out;
  }

  /**
   * A step of direct mode on the ledger (an origin connection admitted, seen
   * listed, or gone), atomic; then the alarm is kept. A seat it ends (a
   * connection gone) is listed as revoked at the next sync.
   */
  originStep<T>(step: "origin" | "origin-check", op: (now: number) => T): T {
    const out = this.#p.atomically(step, op);
    this.#ownRevoked = null;
    this.schedule();
    return out;
  }

  /** Give a seat back; its revocation is listed at the next sync: now, when one is due. */
  leave(sid: string, sub: string, reply: Reply<boolean>): void {
    const left = this.#p.atomically("leave", (now) => this.shard.ledger.leave(sid, sub, now));
    if (left) this.#seatEnded(sid, "left");
    if (left && this.syncDue(this.#p.now())) return this.#afterSync(reply, () => true);
    this.schedule();
    reply.answer(left);
  }

  /** The view for an edge, after a sync when the last one is older than a round (null: none could be had). */
  view(reply: Reply<ShardView | null>): void {
    this.#p.atomically("view", () => undefined);
    if (this.shard.view === null || this.syncDue(this.#p.now())) {
      return this.#afterSync(reply, () => this.viewParts());
    }
    reply.answer(this.viewParts());
  }

  /** The alarm fired: settle the ledger, then sync when busy and due, or set the next alarm. */
  alarm(reply: Reply<void>): void {
    this.#alarmAt = null;
    this.#p.atomically("alarm", (now) => this.shard.ledger.settle(now));
    this.#p.settled?.();
    if (this.shard.busy() && this.syncDue(this.#p.now())) return this.#afterSync(reply, () => undefined);
    this.schedule();
    reply.answer(undefined);
  }

  /** Sync now (or wait for the sync that is out). */
  syncNow(reply: Reply<void>): void {
    this.#afterSync(reply, () => undefined);
  }

  /** Keep the alarm at the earlier of the ledger's next wake-up and, while busy, the next round. */
  schedule(): void {
    const now = this.#p.now();
    let wake = this.shard.ledger.nextWake(now);
    if (this.shard.busy()) {
      const next = nextSyncAt(this.#lastSync, now);
      wake = wake === null ? next : Math.min(wake, next);
    }
    if (wake === this.#alarmAt) return;
    this.#alarmAt = wake;
    this.#p.setAlarm(wake);
  }

  /** The last room-wide view with this shard's own cursor (its own cursor is known exactly, not paced). */
  ownView(): GlobalView | null {
    const view = this.shard.view;
    if (view === null) return null;
    const paces = { ...view.paces };
    delete paces[this.shard.index];
    return { ...view, cursors: { ...view.cursors, [this.shard.index]: this.shard.ledger.counters.cursor }, paces };
  }

  /** This shard's own revoked passes, read at most once a sync interval (and again after a seat here ends). */
  ownRevoked(): readonly string[] {
    const now = this.#p.now();
    if (this.#ownRevoked === null || now - this.#ownRevoked.at >= SYNC_INTERVAL_MS) {
      this.#ownRevoked = { at: now, sids: this.#store.revokedSids(now, this.#maxOwnRevoked) };
    }
    return this.#ownRevoked.sids;
  }

  /** The view for an edge, its own revoked passes apart (null: no view yet). */
  viewParts(): ShardView | null {
    const view = this.ownView();
    return view === null ? null : { view, own: this.ownRevoked() };
  }

  /** The view for an edge, its own revoked passes added to the room's (null: no view yet). */
  freshView(): GlobalView | null {
    const parts = this.viewParts();
    return parts === null ? null : withOwnRevoked(parts);
  }

  #seatEnded(sid: string, reason: "left" | "moved"): void {
    this.#ownRevoked = null;
    this.#p.seatEnded?.(sid, reason);
  }

  /** Answer `reply` with `then()` once a sync is back, starting one unless one is out. */
  #afterSync<T>(reply: Reply<T>, then: () => T): void {
    const run = () => {
      let value: T;
      try {
        value = then();
      } catch (err) {
        return reply.fail(err);
      }
      reply.answer(value);
    };
    this.#waiting.push({ run, fail: (err) => reply.fail(err) });
    if (!this.#syncing) this.#startSync();
  }

  #startSync(): void {
    this.#syncing = true;
    let report: ShardReport;
    try {
      // The coordinator counts the sync; the shard's own steps are not requests to it.
      report = this.#p.atomically("report", (now) => this.shard.report(now, this.#asking));
      this.#asking = 0;
    } catch (err) {
      this.#syncing = false;
      for (const w of this.#takeWaiting()) w.fail(err);
      return;
    }
    this.#p.sync(report, (order) => this.#synced(order, report));
  }

  /** The sync is back (or failed): apply its order, answer who waited, set the alarm. */
  #synced(order: ShardOrder | null, report: ShardReport): void {
    try {
      this.#missed = order === null;
      if (order !== null) this.#p.atomically("apply", (now) => this.shard.apply(order, report, now));
    } finally {
      // A failed sync counts as this round's too: the next is tried a round later.
      this.#lastSync = this.#p.now();
      this.#syncing = false;
      for (const w of this.#takeWaiting()) w.run();
      this.schedule();
    }
  }

  #takeWaiting(): Waiter[] {
    const waiting = this.#waiting;
    this.#waiting = [];
    return waiting;
  }
}

/** A shard's view with its own revoked passes added to the room's list (the room's first, without repeats). */
export function withOwnRevoked(parts: ShardView): GlobalView {
  const { view, own } = parts;
  if (own.length === 0) return view;
  const known = new Set(view.revoked);
  return { ...view, revoked: [...view.revoked, ...own.filter((sid) => !known.has(sid))] };
}

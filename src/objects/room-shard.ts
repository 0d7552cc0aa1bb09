/**
 * RoomShard: the Durable Object holding one shard of a room — the listeners
 * whose id hashes to it: their places in line, seats and reservations.
 *
 * A thin shell around the pure Shard (a Ledger plus its sync glue). Every
 * call runs in one synchronous SQLite transaction. A sync with the
 * coordinator runs under blockConcurrencyWhile, so the order it brings back
 * applies to exactly the state that was reported. One alarm is kept at the
 * earlier of the ledger's next wake-up and the next sync while busy.
 */
import { DurableObject } from "cloudflare:workers";
import { timingsFromVars } from "../policy/config.ts";
import { type GlobalView, MAX_VIEW_REVOKED } from "../policy/coordinator.ts";
import { nextSyncAt, SYNC_INTERVAL_MS, syncDue } from "../policy/rounds.ts";
import { type ClaimOutcome, type RenewOutcome, seatEnd } from "../policy/ledger.ts";
import { Shard } from "../policy/shard.ts";
import { clock } from "../policy/clock.ts";
import { type CallCounts, type CallKind, countCall } from "./calls.ts";
import { type HoldAnswer, SeatHolds } from "./seat-holds.ts";
import { migrate, SqlLedgerStore } from "./sql-store.ts";

/** The longest one round of a held connection's call may wait (the edge asks for less). */
export const MAX_HOLD_ROUND_MS = 60_000;

export interface ShardJoin {
  seq: number;
  /** When the shard took the arrival (ms); orders listeners across shards. */
  at: number;
  claim: ClaimOutcome;
  /** The room-wide view, with this shard's cursor as it is now. */
  view: GlobalView | null;
}

interface Identity {
  room: string;
  index: number;
}

/** The name of shard `index` of `room` (room ids never contain ':'). */
export function shardName(room: string, index: number): string {
  return `${room}:${index}`;
}

export class RoomShard extends DurableObject<Env> {
  #store!: SqlLedgerStore;
  #shard: Shard | null = null;
  #identity: Identity | null = null;
  #lastSync = 0;
  #alarmAt: number | null = null;
  #initError: unknown = null;
  /** The connections holding this shard's seats now (memory only: see seat-holds.ts). */
  readonly #holds = new SeatHolds();
  /**
   * This shard's own revoked lease ids as last read (memory only): re-read at
   * most once a sync interval, and after a seat here ends, not at every view.
   */
  #ownRevoked: { at: number; sids: string[] } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        migrate(ctx.storage.sql);
        this.#store = new SqlLedgerStore(ctx.storage.sql);
        this.#identity = this.#store.getMeta<Identity>("identity");
        if (this.#identity !== null) this.#shard = this.#newShard(this.#identity.index);
        this.#alarmAt = await ctx.storage.getAlarm();
      } catch (err) {
        this.#initError = err;
      }
    });
  }

  #newShard(index: number): Shard {
    return new Shard(
      index,
      this.#store,
      this.#store,
      timingsFromVars(this.env),
      { newId: () => crypto.randomUUID() },
      clock.now(),
    );
  }

  /** The shard, created on the first call that names it. */
  #ensure(room: string, index: number): Shard {
    if (this.#initError !== null) throw this.#initError;
    if (this.#shard === null) {
      this.#identity = { room, index };
      this.#store.setMeta("identity", this.#identity);
      this.#shard = this.#newShard(index);
    }
    return this.#shard;
  }

  /** One transaction; `kind` names the incoming call it serves (null: work of its own, like a sync). */
  #run<T>(kind: CallKind | null, shard: Shard, op: (now: number) => T): T {
    const now = clock.now();
    try {
      return this.ctx.storage.transactionSync(() => {
        if (kind !== null) countCall(this.#store, kind);
        return op(now);
      });
    } catch (err) {
      shard.ledger.reload(now);
      throw err;
    }
  }

  /** Report to the coordinator and apply its order, atomically for this shard. */
  async #sync(): Promise<void> {
    const shard = this.#shard;
    const identity = this.#identity;
    if (shard === null || identity === null) return;
    await this.ctx.blockConcurrencyWhile(async () => {
      // The coordinator counts the sync; the shard's own steps are not calls to it.
      const report = this.#run(null, shard, (now) => shard.report(now));
      const stub = this.env.ROOM_COORDINATOR.getByName(identity.room);
      try {
        const order = await stub.sync(identity.room, report);
        this.#run(null, shard, (now) => shard.apply(order, report, now));
        this.#lastSync = clock.now();
      } catch (err) {
        // Keep the allowance in force; try again a sync interval later, not at
        // every call (a storm of retries would starve this shard's listeners).
        this.#lastSync = clock.now();
        console.warn("shard sync failed", identity.room, identity.index, String(err));
      }
    });
    await this.#schedule();
  }

  #syncDue(now: number): boolean {
    return syncDue(this.#lastSync, now);
  }

  async #schedule(): Promise<void> {
    const shard = this.#shard;
    if (shard === null) return;
    const now = clock.now();
    let wake = shard.ledger.nextWake(now);
    if (shard.busy()) {
      const next = nextSyncAt(this.#lastSync, now);
      wake = wake === null ? next : Math.min(wake, next);
    }
    if (wake === this.#alarmAt) return;
    if (wake === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(wake);
    this.#alarmAt = wake;
  }

  /** Take a place in line; admitted at once when this shard has a free seat and nobody waits. */
  async join(room: string, index: number, sub: string): Promise<ShardJoin> {
    return (await this.#join(room, index, sub, null))!;
  }

  /** A join; with `spend`, only when spending (in the same transaction) succeeds — null when it does not. */
  async #join(
    room: string,
    index: number,
    sub: string,
    spend: ((now: number) => boolean) | null,
  ): Promise<ShardJoin | null> {
    const shard = this.#ensure(room, index);
    let out = this.#run("join", shard, (now) =>
      spend !== null && !spend(now) ? null : { ...shard.ledger.join(sub, now), at: now },
    );
    if (out === null) return null;
    const alone = shard.ledger.counters.tail - shard.ledger.counters.cursor === 1;
    if (out.claim.kind === "waiting" && (alone || this.#syncDue(clock.now()))) {
      // No free seat here: ask the coordinator now rather than at the next tick — at
      // once for the first one waiting (the others wait behind it anyway).
      await this.#sync();
      const arrived = out;
      const claim = this.#run(null, shard, (now) => shard.ledger.claim(sub, arrived.seq, now, arrived.at));
      out = { ...out, claim };
    } else {
      await this.#schedule();
    }
    return { seq: out.seq, at: out.at, claim: out.claim, view: this.#freshView(shard) };
  }

  /**
   * Take a place with a solved challenge (under-attack mode): the challenge
   * id is the listener's id, and it works once — null when it was used
   * before (until `until`, when the edge refuses it anyway).
   */
  async joinSolved(room: string, index: number, sub: string, until: number): Promise<ShardJoin | null> {
    return this.#join(room, index, sub, (now) => {
      if (!this.#store.spendChallenge(sub, until, now)) return false;
      this.#ensure(room, index).ledger.noteSolved();
      return true;
    });
  }

  /**
   * Claim a called listener's seat; `arrivedAt` (its ticket's arrival, ms)
   * counts its wait, `key` names the claiming device's seat (Ledger.claim).
   * A claim from another device than the seat's ends the
   * seat there at once (its held connections are cut) and answers `moving`:
   * the seat is this device's once no edge can honour the other's pass. The
   * claim that takes a moved seat answers once the connections it moved
   * from have closed.
   */
  async claim(
    room: string,
    index: number,
    sub: string,
    seq: number,
    arrivedAt?: number,
    key?: string,
  ): Promise<ClaimOutcome> {
    const shard = this.#ensure(room, index);
    const prior = this.#store.leaseBySub(sub);
    const claim = this.#run("claim", shard, (now) => shard.ledger.claim(sub, seq, now, arrivedAt, key));
    if (claim.kind === "waiting" && claim.reason === "moving" && prior !== null && prior.leftAt === null) {
      // Just moved: cut the other device's connections, and get the revocation listed now.
      this.#ownRevoked = null;
      void this.#holds.end(prior.sid, "moved");
      if (this.#syncDue(clock.now())) await this.#sync();
    } else if (claim.kind === "admitted" && claim.fresh && prior?.movedFrom != null) {
      await this.#holds.end(prior.movedFrom, "moved");
    }
    await this.#schedule();
    return claim;
  }

  /**
   * One round of a held connection (a proxied stream or WebSocket) on seat
   * `sid`: renews the lease, then answers after `waitMs` (`held`: call again
   * before `expiresAt`) or as soon as the seat ends (`ended`: cut it).
   */
  async hold(
    room: string,
    index: number,
    sid: string,
    sub: string,
    gen: number,
    holder: string,
    waitMs: number,
  ): Promise<HoldAnswer> {
    const shard = this.#ensure(room, index);
    const out = this.#run("hold", shard, (now) => shard.ledger.renew(sid, sub, now, gen));
    await this.#schedule();
    if (out.kind === "gone") {
      this.#holds.letGo(sid, holder);
      return { kind: "ended", reason: out.reason };
    }
    // A connection of an older generation still held here goes now.
    void this.#holds.end(sid, "moved", gen);
    const round = Math.max(0, Math.min(waitMs, MAX_HOLD_ROUND_MS));
    return this.#holds.wait(sid, holder, gen, round, out.lease.expiresAt);
  }

  /** The edge closed a held connection of seat `sid` (safe to repeat). */
  async letGo(room: string, index: number, sid: string, holder: string): Promise<void> {
    const shard = this.#ensure(room, index);
    this.#run("hold", shard, () => undefined);
    this.#holds.letGo(sid, holder);
  }

  /** Held connections of this shard now (tests, stats). */
  async holders(): Promise<number> {
    return this.#holds.size;
  }

  /** Count an arrival the edge offered the recording instead of a place (for the room's stats). */
  async noteOverflow(room: string, index: number): Promise<void> {
    const shard = this.#ensure(room, index);
    this.#run("overflow", shard, () => shard.ledger.noteOverflow());
  }

  /** Renew a seat; a pass of an older generation (the seat moved to another device) cannot. */
  async renew(room: string, index: number, sid: string, sub: string, gen?: number): Promise<RenewOutcome> {
    const shard = this.#ensure(room, index);
    const out = this.#run("renew", shard, (now) => shard.ledger.renew(sid, sub, now, gen));
    await this.#schedule();
    return out;
  }

  /** Give a seat back; its held connections are cut at once. */
  async leave(room: string, index: number, sid: string, sub: string): Promise<boolean> {
    const shard = this.#ensure(room, index);
    const out = this.#run("leave", shard, (now) => shard.ledger.leave(sid, sub, now));
    if (out) this.#ownRevoked = null;
    if (out) void this.#holds.end(sid, "left");
    // The revocation is listed at the next sync: now, when one is due.
    if (out && this.#syncDue(clock.now())) await this.#sync();
    else await this.#schedule();
    return out;
  }

  /** The room-wide view as this shard last heard it, refreshed when older than a sync interval. */
  async view(room: string, index: number): Promise<GlobalView> {
    const shard = this.#ensure(room, index);
    this.#run("view", shard, () => undefined);
    if (shard.view === null || this.#syncDue(clock.now())) await this.#sync();
    const view = this.#freshView(shard);
    if (view === null) throw new Error("no view: the coordinator could not be reached");
    return view;
  }

  /** Held connections whose seat has gone (lease expired without a renewal) are cut. */
  #endLapsedHolds(shard: Shard): void {
    for (const sid of this.#holds.sids()) {
      const lease = shard.ledger.lease(sid);
      if (lease === null) void this.#holds.end(sid, "lapsed");
      else if (lease.leftAt !== null) void this.#holds.end(sid, seatEnd(lease, lease.sub) ?? "left");
    }
  }

  /** The last room-wide view with what this shard knows better: its cursor and its revocations. */
  #freshView(shard: Shard): GlobalView | null {
    const view = shard.view;
    if (view === null) return null;
    const now = clock.now();
    if (this.#ownRevoked === null || now - this.#ownRevoked.at >= SYNC_INTERVAL_MS) {
      this.#ownRevoked = { at: now, sids: this.#store.revokedSids(now, MAX_VIEW_REVOKED) };
    }
    const own = this.#ownRevoked.sids;
    const known = new Set(view.revoked);
    const revoked = [...view.revoked, ...own.filter((sid) => !known.has(sid))];
    // Its own cursor is known exactly, not paced.
    const paces = { ...view.paces };
    delete paces[shard.index];
    return { ...view, cursors: { ...view.cursors, [shard.index]: shard.ledger.counters.cursor }, paces, revoked };
  }

  /** Sync now (admin: exact stats). */
  async syncNow(room: string, index: number): Promise<void> {
    this.#ensure(room, index);
    await this.#sync();
  }

  async calls(): Promise<CallCounts> {
    return this.#store.getMeta<CallCounts>("calls") ?? {};
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const shard = this.#shard;
    if (shard === null) return;
    this.#run("alarm", shard, (now) => shard.ledger.settle(now));
    this.#endLapsedHolds(shard);
    if (shard.busy() && this.#syncDue(clock.now())) await this.#sync();
    else await this.#schedule();
  }
}

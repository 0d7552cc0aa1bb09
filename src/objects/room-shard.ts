/**
 * RoomShard: the Durable Object holding one shard of a room — the listeners
 * whose id hashes to it: their places in line, seats and reservations.
 *
 * A thin shell around ShardRunner (src/policy/shard-runner.ts), which
 * decides when to sync with the coordinator, keeps the alarm and builds the
 * view an edge gets; the simulator runs that same code. What this object
 * adds is the platform: its state is in memory and written behind to SQLite
 * (sql-store.ts), every answer waiting for the group commit that writes its
 * changes (group-commit.ts: at most one every COMMIT_EVERY_MS), a sync runs
 * under blockConcurrencyWhile (so the order it brings back applies to
 * exactly the state that was reported), the alarm is the object's own, and
 * the connections holding seats (seat-holds.ts) are cut when their seat ends.
 */
import { DurableObject } from "cloudflare:workers";
import { timingsFromVars } from "../policy/config.ts";
import type { GlobalView, ShardOrder, ShardReport } from "../policy/protocol.ts";
import { type ClaimOutcome, type RenewOutcome, seatEnd } from "../policy/lease.ts";
import { Shard } from "../policy/shard.ts";
import {
  type ClaimAnswer,
  type JoinAnswer,
  type NoPlace,
  type Reply,
  type ShardPlatform,
  type ShardRequest,
  ShardRunner,
  type ShardView,
  type ShardWork,
  withOwnRevoked,
} from "../policy/shard-runner.ts";
import { clock } from "../policy/clock.ts";
import {
  countObjectRequest,
  type ObjectRequestCounts,
  objectRequests,
  type ObjectRequestKind,
} from "./request-counts.ts";
import { type HoldAnswer, SeatHolds } from "./seat-holds.ts";
import { type IcecastSeats, icecastSeatsFor } from "./icecast-seats.ts";
import { JANUS_PREFIX, type JanusSeats, janusSeatsFor, newJanusToken } from "./janus-seats.ts";
import { LIVEKIT_PREFIX, liveKitIdentity, type LiveKitSeats, liveKitSeatsFor } from "./livekit-seats.ts";
import { addHealth, type OriginChecks, type OriginHealth, type OriginLedger } from "./origin-checks.ts";
import type { OriginAttach } from "../policy/ledger-state.ts";
import { SqlLedgerStore } from "./sql-store.ts";
import { GroupCommit } from "./group-commit.ts";
import { commitEveryMs } from "../policy/commits.ts";

/** The most seats with an origin connection a shard checks at once (a shard holds far fewer). */
const MAX_ORIGIN_LEASES = 10_000;

/** The longest one round of a held connection's call may wait (the edge asks for less). */
export const MAX_HOLD_ROUND_MS = 60_000;

/** A seat's credential at a WebRTC origin (`RoomShard.originCredential`). */
export type OriginCredential =
  | { kind: "issued"; token: string; identity?: string; expiresAt: number }
  | { kind: "refused"; reason: string }
  | { kind: "unavailable"; reason: string };

/** A join's answer (a place, or none: NoPlace) with the room-wide view, this shard's cursor as it is now. */
export type ShardJoin = (JoinAnswer | NoPlace) & { view: GlobalView | null };

interface Identity {
  room: string;
  index: number;
}

/** The name of shard `index` of `room` (room ids never contain ':'). */
export function shardName(room: string, index: number): string {
  return `${room}:${index}`;
}

/** The request a runner's step is counted under (null: work of the shard's own, not a request). */
function requestOf(step: ShardRequest | ShardWork): ObjectRequestKind | null {
  return step === "report" || step === "apply" || step === "reclaim" || step === "rejoin" || step === "origin-check"
    ? null
    : step;
}

export class RoomShard extends DurableObject<Env> {
  #store!: SqlLedgerStore;
  #runner: ShardRunner | null = null;
  /** The alarm found set when the object started (the runner keeps track of it from then on). */
  #startAlarm: number | null = null;
  #initError: unknown = null;
  /** The connections holding this shard's seats now (memory only: see seat-holds.ts). */
  readonly #holds = new SeatHolds();
  /** Direct mode: the seats each origin serves itself (made when first needed). */
  #icecast: IcecastSeats | null = null;
  #janus: JanusSeats | null = null;
  #livekit: LiveKitSeats | null = null;
  /** Origin failures the edge saw (webhooks refused), for stats. */
  #edgeFailures: OriginHealth = { failures: 0, kills: 0, lastFailure: null, lastListAt: null };
  /** Alarm writes not yet awaited: a request answers once they are done. */
  #alarmWrites: Promise<unknown> | null = null;
  /** Writes the store's changes; answers wait for it. */
  readonly #commits: GroupCommit;
  /** Counts restarts from what was committed (a failed step or commit): an answer from before one is not given. */
  #generation = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#commits = new GroupCommit(
      () => ctx.storage.transactionSync(() => this.#store.commit()),
      (err) => this.#restart(err),
      commitEveryMs(env.COMMIT_EVERY_MS),
      (run, ms) => void setTimeout(run, ms),
      () => clock.now(),
    );
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.#store = new SqlLedgerStore(ctx.storage.sql);
        this.#startAlarm = await ctx.storage.getAlarm();
        const identity = this.#store.getMeta<Identity>("identity");
        if (identity !== null) this.#runner = this.#newRunner(identity);
      } catch (err) {
        this.#initError = err;
      }
    });
  }

  #newRunner(identity: Identity): ShardRunner {
    const shard = new Shard(
      identity.index,
      this.#store,
      this.#store,
      timingsFromVars(this.env),
      { newId: () => crypto.randomUUID() },
      clock.now(),
    );
    return new ShardRunner(shard, this.#store, this.#platform(shard, identity.room), { alarmAt: this.#startAlarm });
  }

  /** What the runner needs of this object. */
  #platform(shard: Shard, room: string): ShardPlatform {
    return {
      now: () => clock.now(),
      atomically: (step, op) => this.#run(requestOf(step), op),
      sync: (report, done) => void this.ctx.blockConcurrencyWhile(() => this.#sync(room, shard, report, done)),
      setAlarm: (at) => this.#setAlarm(at),
      seatEnded: (sid, reason) => {
        void this.#holds.end(sid, reason);
        this.#checkOrigin(room);
      },
      settled: () => this.#endLapsedHolds(shard),
    };
  }

  /** The shard, created on the first request that names it. */
  #ensure(room: string, index: number): ShardRunner {
    if (this.#initError !== null) throw this.#initError;
    if (this.#runner === null) {
      const identity = { room, index };
      this.#store.setMeta("identity", identity);
      this.#runner = this.#newRunner(identity);
    }
    return this.#runner;
  }

  /**
   * One step on the state in memory, written at the next commit; `kind` names
   * the incoming request it serves (null: work of its own, like a sync). A
   * step that fails halfway leaves memory unknown: the object starts again
   * from what was committed.
   */
  #run<T>(kind: ObjectRequestKind | null, op: (now: number) => T): T {
    const now = clock.now();
    try {
      if (kind !== null) countObjectRequest(this.#store, kind);
      return op(now);
    } catch (err) {
      this.#restart(err);
      throw err;
    } finally {
      this.#commits.soon();
    }
  }

  /**
   * Drop memory and load what was committed: the changes not yet written go,
   * and so do the answers waiting for them (they fail; nothing of theirs was
   * answered).
   */
  #restart(err: unknown): void {
    console.warn("shard restarts from its committed state", String(err));
    this.#generation += 1;
    this.#commits.abandon(err);
    this.#store = new SqlLedgerStore(this.ctx.storage.sql);
    const identity = this.#store.getMeta<Identity>("identity");
    this.#runner = identity === null ? null : this.#newRunner(identity);
  }

  /** Everything changed so far is written (and the alarm set). */
  async #durable(): Promise<void> {
    await this.#commits.committed();
    await this.#alarmsWritten();
  }

  /** Report to the coordinator and hand its order (null: none came) to the runner, inside the gate. */
  async #sync(room: string, shard: Shard, report: ShardReport, done: (order: ShardOrder | null) => void) {
    let order: ShardOrder | null = null;
    try {
      order = await this.env.ROOM_COORDINATOR.getByName(room).sync(room, report);
    } catch (err) {
      console.warn("shard sync failed", room, shard.index, String(err));
    }
    try {
      done(order);
    } catch (err) {
      console.warn("shard sync failed", room, shard.index, String(err));
    }
  }

  #setAlarm(at: number | null): void {
    const write = at === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(at);
    const before = this.#alarmWrites;
    this.#alarmWrites = before === null ? write : Promise.all([before, write]);
  }

  async #alarmsWritten(): Promise<void> {
    while (this.#alarmWrites !== null) {
      const writes = this.#alarmWrites;
      this.#alarmWrites = null;
      await writes;
    }
  }

  /** Start a runner's operation and wait for its answer (after a sync, when it asked for one) and its commit. */
  async #ask<T>(start: (reply: Reply<T>) => void): Promise<T> {
    const generation = this.#generation;
    const value = await new Promise<T>((answer, fail) => start({ answer, fail }));
    await this.#durable();
    if (this.#generation !== generation) throw new Error("the shard restarted: try again");
    return value;
  }

  /**
   * Take a place in line; admitted at once when this shard has a free seat
   * and nobody waits; no place beyond the queue allowance (NoPlace).
   */
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
    const runner = this.#ensure(room, index);
    const out = await this.#ask<JoinAnswer | NoPlace | null>((reply) => runner.join(sub, spend, reply));
    return out === null ? null : { ...out, view: runner.freshView() };
  }

  /**
   * Take a place with a solved challenge (under-attack mode): the challenge
   * id is the listener's id, and it works once — null when it was used
   * before (until `until`, when the edge refuses it anyway). A join that
   * gets no place (NoPlace) leaves it unspent.
   */
  async joinSolved(room: string, index: number, sub: string, until: number): Promise<ShardJoin | null> {
    return this.#join(room, index, sub, (now) => {
      if (!this.#store.spendChallenge(sub, until, now)) return false;
      this.#ensure(room, index).shard.ledger.noteSolved();
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
    const runner = this.#ensure(room, index);
    const out = await this.#ask<ClaimAnswer>((reply) => runner.claim(sub, seq, arrivedAt, key, reply));
    if (out.movedFrom !== null) await this.#holds.end(out.movedFrom, "moved");
    return out.claim;
  }

  /**
   * One round of a held connection (a proxied stream or WebSocket) on seat
   * `sid`: renews the lease, then answers after `waitMs` (`held`: call again
   * before `expiresAt`) or as soon as the seat ends (`ended`: cut it). A
   * `live` connection (what an origin counts as a listener; `live` is its
   * key: one for the room's media, else its path) is the seat's only one
   * under that key: its first call replaces the seat's older live connection
   * there and is answered once it has let go,
   * or `replaced` at once when a newer one asked meanwhile (seat-holds.ts).
   */
  async hold(
    room: string,
    index: number,
    sid: string,
    sub: string,
    gen: number,
    holder: string,
    waitMs: number,
    live: string | null = null,
  ): Promise<HoldAnswer> {
    const runner = this.#ensure(room, index);
    // The round counts from the call's arrival: time spent below (the renewal's commit, the seat's
    // older live connection letting go) comes out of it, so the answer is never later than the edge
    // was told to expect it.
    const arrivedAt = clock.now();
    const out = runner.renew(sid, sub, gen, "hold");
    // The edge may let go of this connection while the renewal waits for its commit
    // (or while the seat's older live connection lets go).
    const arrived = this.#holds.arriving(sid, holder);
    let there: boolean;
    let asked: { key: string; ask: ReturnType<SeatHolds["askLive"]> } | null = null;
    try {
      await this.#durable();
      if (out.kind !== "gone" && live !== null) {
        asked = { key: live, ask: this.#holds.askLive(sid, holder, gen, live) };
        if ("handover" in asked.ask) await asked.ask.handover;
      }
    } finally {
      there = arrived();
    }
    if (out.kind === "gone") {
      this.#holds.letGo(sid, holder);
      return { kind: "ended", reason: out.reason };
    }
    // A connection of an older generation still held here goes now.
    void this.#holds.end(sid, "moved", gen);
    if (asked !== null) {
      // Cut between two of its calls, or replaced by a newer live connection that asked meanwhile.
      const { key, ask } = asked;
      if ("own" in ask && ask.own !== null) return ask.own;
      if ("turn" in ask && !this.#holds.isNewestLive(sid, key, ask.turn)) return { kind: "replaced" };
    }
    // Closed meanwhile: nothing to hold (a holder registered now would stand for no connection).
    if (!there) return { kind: "ended", reason: "left" };
    const round = Math.max(0, Math.min(waitMs, MAX_HOLD_ROUND_MS) - (clock.now() - arrivedAt));
    const answer = this.#holds.wait(sid, holder, gen, round, out.lease.expiresAt, live);
    // The seat ended while the renewal waited for its commit: this round ends now, as if it had been held then.
    const ended = seatEnd(runner.shard.ledger.lease(sid), sub, gen);
    if (ended !== null) void this.#holds.end(sid, ended);
    return answer;
  }

  /** The edge closed a held connection of seat `sid` (safe to repeat). */
  async letGo(room: string, index: number, sid: string, holder: string): Promise<void> {
    this.#ensure(room, index);
    this.#run("hold", () => undefined);
    this.#holds.letGo(sid, holder);
  }

  /** Held connections of this shard now (tests, stats). */
  async holders(): Promise<number> {
    return this.#holds.size;
  }

  /** Count an arrival the edge offered the recording instead of a place (for the room's stats). */
  async noteOverflow(room: string, index: number): Promise<void> {
    const { shard } = this.#ensure(room, index);
    this.#run("overflow", () => shard.ledger.noteOverflow());
    await this.#durable();
  }

  /** Renew a seat; a pass of an older generation (the seat moved to another device) cannot. */
  async renew(room: string, index: number, sid: string, sub: string, gen?: number): Promise<RenewOutcome> {
    const out = this.#ensure(room, index).renew(sid, sub, gen);
    await this.#durable();
    return out;
  }

  /** Give a seat back; its held connections are cut at once. */
  async leave(room: string, index: number, sid: string, sub: string): Promise<boolean> {
    const runner = this.#ensure(room, index);
    return this.#ask<boolean>((reply) => runner.leave(sid, sub, reply));
  }

  /** The room-wide view as this shard last heard it, refreshed when older than a sync interval. */
  async view(room: string, index: number): Promise<GlobalView> {
    const runner = this.#ensure(room, index);
    const parts = await this.#ask<ShardView | null>((reply) => runner.view(reply));
    if (parts === null) throw new Error("no view: the coordinator could not be reached");
    return withOwnRevoked(parts);
  }

  /** Held connections whose seat has gone (lease expired without a renewal) are cut. */
  #endLapsedHolds(shard: Shard): void {
    for (const sid of this.#holds.sids()) {
      const lease = shard.ledger.lease(sid);
      if (lease === null) void this.#holds.end(sid, "lapsed");
      else if (lease.leftAt !== null) void this.#holds.end(sid, seatEnd(lease, lease.sub) ?? "left");
    }
  }

  /** Sync now (admin: exact stats). */
  async syncNow(room: string, index: number): Promise<void> {
    const runner = this.#ensure(room, index);
    await this.#ask<void>((reply) => runner.syncNow(reply));
  }

  /** This shard's requests so far, by kind (the admin stats add every object's up). */
  async requestCounts(): Promise<ObjectRequestCounts> {
    return objectRequests(this.#store);
  }

  override async alarm(): Promise<void> {
    const runner = this.#runner;
    if (runner === null) {
      this.#startAlarm = null;
      return;
    }
    await this.#ask<void>((reply) => runner.alarm(reply));
    const identity = this.#store.getMeta<Identity>("identity");
    if (identity !== null) await this.#originWork(identity.room);
  }

  /** The seats Icecast serves itself in this shard's room (direct mode). */
  #icecastSeats(room: string): IcecastSeats {
    this.#icecast ??= icecastSeatsFor(this.env, room, () => clock.now());
    return this.#icecast;
  }

  /** The seats Janus serves itself in this shard's room (direct mode), in Janus's room `janusRoom`. */
  #janusSeats(room: string, janusRoom: string): JanusSeats {
    if (this.#janus === null || this.#janus.janusRoom !== janusRoom) {
      this.#janus = janusSeatsFor(this.env, room, janusRoom, () => clock.now());
    }
    return this.#janus;
  }

  /** The seats LiveKit serves itself in this shard's room (direct mode), in LiveKit's room `liveKitRoom`. */
  #liveKitSeats(room: string, liveKitRoom: string): LiveKitSeats {
    if (this.#livekit === null || this.#livekit.liveKitRoom !== liveKitRoom) {
      this.#livekit = liveKitSeatsFor(this.env, room, liveKitRoom, () => clock.now());
    }
    return this.#livekit;
  }

  /**
   * The origin's room this shard's seats last got credentials for (kept, so
   * that a restart checks and takes back in the same room; default the room id).
   */
  #originRoomOf(kind: "janus" | "livekit", room: string): string {
    const live = kind === "janus" ? this.#janus?.janusRoom : this.#livekit?.liveKitRoom;
    return live ?? this.#store.getMeta<string>(`originRoom:${kind}`) ?? room;
  }

  #rememberOriginRoom(kind: "janus" | "livekit", originRoom: string): void {
    if (this.#store.getMeta<string>(`originRoom:${kind}`) !== originRoom) {
      this.#store.setMeta(`originRoom:${kind}`, originRoom);
      this.#commits.soon();
    }
  }

  /** Which origin's checks a lease's origin client belongs to (made when first needed). */
  #checksOf(room: string, client: string): OriginChecks | null {
    if (client.startsWith(JANUS_PREFIX)) return this.#janusSeats(room, this.#originRoomOf("janus", room));
    if (client.startsWith(LIVEKIT_PREFIX)) return this.#liveKitSeats(room, this.#originRoomOf("livekit", room));
    return client.includes(":") ? null : this.#icecastSeats(room);
  }

  /** The ledger steps one origin's checks take, each atomic, over the leases of that origin. */
  #originLedger(runner: ShardRunner, checks: OriginChecks): OriginLedger {
    const ledger = runner.shard.ledger;
    const mine = (client: string | null | undefined) =>
      client != null && (checks.prefix === "" ? !client.includes(":") : client.startsWith(checks.prefix));
    return {
      leases: () => ledger.originLeases(MAX_ORIGIN_LEASES).filter((l) => mine(l.originClient)),
      renewListed: (sid, client) => runner.originStep("origin-check", (now) => ledger.renewListed(sid, client, now)),
      gone: (sid, client) => runner.originStep("origin-check", (now) => ledger.originGone(sid, client, now)),
      ended: (sid, client) => runner.originStep("origin-check", (now) => ledger.originEnded(sid, client, now)),
    };
  }

  /** Take back what ended seats hold at their origin and read its list when due (nothing when no seat holds any). */
  async #originWork(room: string): Promise<void> {
    const runner = this.#runner;
    if (runner === null) return;
    const checks = new Set<OriginChecks>();
    for (const l of runner.shard.ledger.originLeases(MAX_ORIGIN_LEASES)) {
      const c = this.#checksOf(room, l.originClient!);
      if (c !== null) checks.add(c);
    }
    try {
      await Promise.all([...checks].map((c) => c.run(this.#originLedger(runner, c))));
      await this.#durable();
    } catch (err) {
      console.warn("origin seats check failed", room, String(err));
    }
  }

  /** Start the origin's checks without waiting for them (a seat just ended). */
  #checkOrigin(room: string): void {
    void this.#originWork(room);
  }

  /**
   * Direct mode with a WebRTC server: the credential the seat of a pass
   * (`sid`, `sub`, `gen`) joins with — a Janus token Janus now holds for the
   * room's plugin, or a LiveKit token for `originRoom` — recorded on the
   * lease first, so that the seat is let go only once the origin has it back.
   * Refused when the seat is not this pass's and live; `unavailable` when the
   * origin cannot take it now (stats and logs say why; the listener asks again).
   */
  async originCredential(
    room: string,
    index: number,
    sid: string,
    sub: string,
    gen: number,
    kind: "janus" | "livekit",
    originRoom: string,
  ): Promise<OriginCredential> {
    const runner = this.#ensure(room, index);
    const ledger = runner.shard.ledger;
    const fresh =
      kind === "janus"
        ? `${JANUS_PREFIX}${newJanusToken(room, index, sid)}`
        : `${LIVEKIT_PREFIX}${liveKitIdentity(room, index, sid)}`;
    const out = runner.originStep("origin", (now) => ledger.issueOrigin(sid, sub, gen, kind, fresh, now));
    await this.#durable();
    if (out.kind === "refused") return { kind: "refused", reason: out.reason };
    const client = out.lease.originClient!;
    this.#rememberOriginRoom(kind, originRoom);
    if (kind === "janus") {
      const token = client.slice(JANUS_PREFIX.length);
      const added = await this.#janusSeats(room, originRoom).add(token);
      if (!added.ok) return { kind: "unavailable", reason: added.kind };
      return { kind: "issued", token, expiresAt: out.lease.expiresAt };
    }
    const identity = client.slice(LIVEKIT_PREFIX.length);
    const minted = await this.#liveKitSeats(room, originRoom).mint(identity, out.lease);
    if (!minted.ok) return { kind: "unavailable", reason: minted.kind };
    return { kind: "issued", token: minted.token, identity, expiresAt: minted.expiresAt };
  }

  /**
   * Direct mode with LiveKit: its webhook says the participant of seat `sid`
   * joined or left. A join is noted (and a participant whose seat has ended
   * is removed at once); a leave ends the live seat, whose token is then
   * waited out before the seat is let go.
   */
  async liveKitEvent(room: string, index: number, sid: string, event: "joined" | "left"): Promise<boolean> {
    // A shard that never started holds no seat (and a webhook does not start one).
    if (this.#initError !== null || this.#runner === null) return false;
    const runner = this.#runner;
    const client = `${LIVEKIT_PREFIX}${liveKitIdentity(room, index, sid)}`;
    const lease = runner.shard.ledger.lease(sid);
    if (lease === null || lease.originClient !== client) return false;
    const checks = this.#liveKitSeats(room, this.#originRoomOf("livekit", room));
    if (event === "joined") checks.joined(client.slice(LIVEKIT_PREFIX.length));
    else runner.originStep("origin", (now) => runner.shard.ledger.originEnded(sid, client, now));
    await this.#durable();
    if (event === "left" || lease.leftAt !== null) this.#checkOrigin(room);
    return true;
  }

  /**
   * Direct mode with Janus: its event handler says a handle of `session`
   * attached with seat `sid`'s token. A live seat keeps that token's newest
   * session only, its others destroyed now (janus-seats.ts `attached`); an
   * ended seat's token is taken back as it is anyway. False when the token
   * is no seat's here.
   */
  async janusAttached(
    room: string,
    index: number,
    sid: string,
    token: string,
    session: number,
    handle: number,
  ): Promise<boolean> {
    // A shard that never started holds no seat (and an event does not start one).
    if (this.#initError !== null || this.#runner === null) return false;
    const lease = this.#runner.shard.ledger.lease(sid);
    if (lease === null || lease.originClient !== `${JANUS_PREFIX}${token}`) return false;
    if (lease.leftAt !== null) {
      this.#checkOrigin(room);
      return true;
    }
    await this.#janusSeats(room, this.#originRoomOf("janus", room)).attached(token, session, handle);
    return true;
  }

  /** An origin's failure seen at the edge (a webhook with a bad signature, say): counted in this shard's stats. */
  async noteOriginFailure(kind: string, message: string): Promise<void> {
    const now = clock.now();
    this.#edgeFailures = {
      failures: this.#edgeFailures.failures + 1,
      kills: 0,
      lastFailure: { kind, message: message.slice(0, 200), at: now },
      lastListAt: null,
    };
  }

  /**
   * Direct mode: Icecast asks whether connection `client` may play on the
   * seat of a pass (`sid`, `sub`, `gen`). Admitted only while the seat is live
   * and holds no other connection; the connection is recorded and the lease renewed.
   */
  async admitOrigin(
    room: string,
    index: number,
    sid: string,
    sub: string,
    gen: number,
    client: string,
  ): Promise<OriginAttach> {
    const runner = this.#ensure(room, index);
    const out = runner.originStep("origin", (now) => runner.shard.ledger.attachOrigin(sid, sub, gen, client, now));
    if (out.kind === "admitted") this.#icecastSeats(room).admitted(client);
    await this.#durable();
    return out;
  }

  /** Direct mode: Icecast says connection `client` of seat `sid` is gone (`listener_remove`). */
  async originGone(room: string, index: number, sid: string, client: string): Promise<boolean> {
    const runner = this.#ensure(room, index);
    const out = runner.originStep("origin", (now) => runner.shard.ledger.originGone(sid, client, now));
    await this.#durable();
    return out;
  }

  /** What the origins' admin APIs did lately at this shard (stats), or null when no seat has used one. */
  async originHealth(): Promise<OriginHealth | null> {
    return this.#health();
  }

  #health(): OriginHealth | null {
    const all = [this.#icecast, this.#janus, this.#livekit].flatMap((c) => (c === null ? [] : [c.health]));
    if (this.#edgeFailures.failures > 0) all.push(this.#edgeFailures);
    return addHealth(all);
  }

  /** This shard's part of the room's stats, in one call: its requests by kind, and its origin's health. */
  async statsParts(): Promise<{ requests: ObjectRequestCounts; origin: OriginHealth | null }> {
    return { requests: objectRequests(this.#store), origin: this.#health() };
  }
}

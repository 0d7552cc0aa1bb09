/**
 * The room desk: the listener's path through the queue (join, wait, claim,
 * renew, leave), one desk per request and room, like a front desk that reads
 * tickets, looks at the room-wide board and sends for a seat only when one is
 * due. It runs per request at the edge and knows nothing of Hono.
 *
 * Shared by the JSON endpoints and the guarded room path. A listener belongs
 * to one shard (a stable hash of its id, fixed in its ticket and pass). A
 * waiting poll is answered from the ticket and the cached room-wide view;
 * only a listener whose turn has come (or who holds a seat) calls its shard.
 *
 * Every Durable Object call goes through durableCall (retries, backoff,
 * one typed failure). When one fails, the answer follows the failure policy
 * (failure-policy.ts): a ticket holder is answered as still waiting from the
 * last known view, a new arrival is refused (or offered the recording), a
 * renewal is refused while the current pass goes on working; never is a
 * pass signed without the shard's seat.
 */
import { type EdgeArrivals, type GlobalView, isListablePath } from "../policy/protocol.ts";
import { calledThrough, estimatePlace } from "../policy/estimate.ts";
import {
  claimFailed,
  claimStarted,
  forgetSeat,
  markOf,
  noteClaim,
  repeatClaim,
  type SeatAnswer,
} from "./repeat-claims.ts";
import {
  awaitRenewal,
  forgetRenewal,
  noteRenewal,
  type RenewalAnswer,
  renewalStarted,
  renewalUnderWay,
  repeatRenewal,
} from "./repeat-renewals.ts";
import { shardOf } from "../policy/shard.ts";
import { laneShard, slotOf } from "../policy/lanes.ts";
import { laneNameAt, laneOfArrival } from "./lane-arrival.ts";
import { offerAtArrival, offerInLine, type OverflowOffer, queueFullOffer } from "../policy/overflow.ts";
import type { ClaimOutcome, Lease, RenewOutcome } from "../policy/lease.ts";
import { passTrustMs } from "../policy/pass-trust.ts";
import { clock } from "../policy/clock.ts";
import { durableCall, DurableFailure } from "./durable-call.ts";
import type { SeatKeeper } from "./seat-tie.ts";
import type { HoldAnswer } from "../objects/seat-holds.ts";
import { shardName, type ShardJoin } from "../objects/room-shard.ts";
import {
  cachedView,
  endedHere,
  givenBackHere,
  isRevoked,
  lastKnownView,
  noteEnded,
  noteGivenBack,
  rememberView,
  viewInHand,
} from "./view-cache.ts";
import type { TokenRefusal } from "../tokens/claims.ts";
import type { CompactJws } from "../tokens/compact-jws.ts";
import { keyRing, type KeyRing, readyKeyRing } from "../tokens/keys.ts";
import { issueOverflow, type OverflowClaims, verifyOverflow } from "../tokens/overflow.ts";
import { issuePass, type PassClaims, verifyPass, verifyPassAnyAge } from "../tokens/pass.ts";
import { issueTicket, type TicketClaims, verifyTicket } from "../tokens/ticket.ts";
import { rememberedClaims, verifiedOnce } from "../tokens/verified-memo.ts";
import { failureRetryAfter, POLICY, type PolicyApplied } from "../policy/failure-policy.ts";
import { joinLimiter } from "./join-limit.ts";
import { type Settings, settingsOf } from "./settings.ts";
import { gateArrival, newChallenge, tally } from "./under-attack.ts";
import {
  admittedStatus,
  closedStatus,
  overflowStatus,
  prequeueStatus,
  queuedStatus,
  type RoomFacts,
} from "../contract/status.ts";
import { connectFor, type OriginFacts } from "./direct-connect.ts";
import {
  beforeStart,
  type Degraded,
  etaOf,
  type FlowAnswer,
  type InLine,
  notSeatedStatus,
  shortlyStatus,
  stillWaitingStatus,
  UNKNOWN_ROOM,
} from "./desk-answers.ts";

export type { Degraded, FlowAnswer } from "./desk-answers.ts";

/** This isolate's pick among a room's shards for view reads, so reads spread over shards. */
const isolateSeed = Math.floor(Math.random() * 0x7fffffff);
/** Failed view reads in this isolate: each moves the next read to another shard of the room. */
let viewFailures = 0;

/** The failure, when `err` is one; anything else is rethrown. */
function failureOf(err: unknown): DurableFailure {
  if (err instanceof DurableFailure) return err;
  throw err;
}

/**
 * What takes work that goes on after the answer: the request's
 * ExecutionContext itself, so that opening a desk makes no closure.
 */
export interface AfterAnswer {
  waitUntil(work: Promise<unknown>): void;
}

/** `#byView`'s word that a ticket's turn came: its seat is to be claimed. */
const CALLED = Symbol("called");
/** `#byView`'s offer of the recording to a listener in line (no FlowAnswer has this kind). */
interface OfferInLine {
  kind: "offer";
  offer: OverflowOffer;
}

/** No context: the work runs unawaited. */
const UNAWAITED: AfterAnswer = { waitUntil: (work) => void work };

export class RoomDesk {
  readonly room: string;
  readonly settings: Settings;
  readonly #env: Env;
  readonly #keys: KeyRing;
  readonly now: number;
  /**
   * Tokens' issuer (the settings'). With `room` and `now` it makes the desk
   * itself the options a token is checked against (an own field, so a copy
   * of those options keeps it).
   */
  readonly issuer: string;

  /** Where work to finish after the answer goes (the request's context). */
  readonly #after: AfterAnswer;

  private constructor(env: Env, room: string, keys: KeyRing, now: number, after: AfterAnswer) {
    this.#env = env;
    this.#after = after;
    this.room = room;
    this.settings = settingsOf(env);
    this.issuer = this.settings.issuer;
    this.#keys = keys;
    this.now = now;
  }

  /** Work to finish after the answer (the request's waitUntil); a failure is logged, never thrown. */
  #background(work: Promise<unknown>): void {
    this.#after.waitUntil(work.catch((err: unknown) => console.warn("background work failed", String(err))));
  }

  /** `after` runs work after the answer (the request's context); without one, it runs unawaited. */
  static async open(env: Env, room: string, after: AfterAnswer = UNAWAITED): Promise<RoomDesk> {
    return new RoomDesk(env, room, await keyRing(env), clock.now(), after);
  }

  /**
   * `open` without waiting, at `now` (the caller's one read of the clock):
   * null while the keys are not yet imported (then `open`).
   */
  static openNow(env: Env, room: string, after: AfterAnswer, now: number): RoomDesk | null {
    const keys = readyKeyRing(env);
    return keys === null ? null : new RoomDesk(env, room, keys, now, after);
  }

  get keys(): KeyRing {
    return this.#keys;
  }

  #shard(index: number) {
    return this.#env.ROOM_SHARD.getByName(shardName(this.room, index));
  }

  async checkTicket(
    token: string | CompactJws,
  ): Promise<{ ok: true; claims: TicketClaims } | { ok: false; reason: TokenRefusal }> {
    const text = typeof token === "string" ? token : token.token;
    return verifiedOnce("ticket", this.#keys, text, this, () => verifyTicket(this.#keys, token, this));
  }

  /** The ticket's claims when this isolate verified it before and that still holds, else null (then `checkTicket`). */
  checkedTicket(token: string): TicketClaims | null {
    return rememberedClaims<TicketClaims>("ticket", this.#keys, token, this);
  }

  async checkOverflow(token: string) {
    return verifiedOnce("overflow", this.#keys, token, this, () => verifyOverflow(this.#keys, token, this));
  }

  async checkPass(token: string): Promise<{ ok: true; claims: PassClaims } | { ok: false; reason: TokenRefusal }> {
    return verifiedOnce("pass", this.#keys, token, this, () => verifyPass(this.#keys, token, this));
  }

  /** The pass's claims when this isolate verified it before and that still holds, else null (then `checkPass`). */
  checkedPass(token: string): PassClaims | null {
    return rememberedClaims<PassClaims>("pass", this.#keys, token, this);
  }

  /** A pass presented to give its seat back: accepted past its `exp` (a held stream outlives it). */
  async checkLeavingPass(
    token: string,
  ): Promise<{ ok: true; claims: PassClaims } | { ok: false; reason: TokenRefusal }> {
    return verifyPassAnyAge(this.#keys, token, this);
  }

  /**
   * The room-wide view, at most a second old in this isolate, read from one
   * of the room's shards. Throws a DurableFailure when it cannot be read.
   */
  async view(): Promise<GlobalView> {
    return cachedView(this.room, this.now, async (previous) => {
      const index = (isolateSeed + viewFailures) % Math.max(1, previous?.shards ?? 1);
      try {
        return await durableCall("view", () => this.#shard(index).view(this.room, index));
      } catch (err) {
        viewFailures += 1;
        throw err;
      }
    });
  }

  /** The view, or the failure that kept it from being read. */
  async #tryView(): Promise<GlobalView | DurableFailure> {
    try {
      return await this.view();
    } catch (err) {
      return failureOf(err);
    }
  }

  /** The room-wide view while one is in hand (as `view` would answer it at once), else null (then `viewOrLast`). */
  viewNow(): GlobalView | null {
    return viewInHand(this.room, this.now);
  }

  /** The last known view, up to a few minutes old, for answers the failure policy makes; null when none. */
  lastView(): GlobalView | null {
    return lastKnownView(this.room, this.now);
  }

  /**
   * The freshest view that can be had without failing: the view, else the
   * last known one (`degraded` then true), else null.
   */
  async viewOrLast(): Promise<{ view: GlobalView | null; degraded: boolean }> {
    const view = await this.#tryView();
    if (view instanceof DurableFailure) return { view: this.lastView(), degraded: true };
    return { view, degraded: false };
  }

  /** When to try again after a failure, jittered (failure-policy.ts). */
  #degraded(policy: PolicyApplied): Degraded {
    return { policy, retryAfterSeconds: failureRetryAfter(clock.random) };
  }

  /**
   * Take a place in line (and a seat at once when one is free). An arrival
   * the room's rules send to the recording gets the offer instead, and no
   * place, unless it asks to `keep` one and the queue allows it.
   */
  async join(keep = false, headers: Headers = new Headers()): Promise<FlowAnswer> {
    const view = await this.#tryView();
    if (view instanceof DurableFailure) return this.#refuseArrival();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    // The listener's lane, from the deployer's identity token (none: the general line).
    const lane = await laneOfArrival(view, headers, {
      env: this.#env,
      now: this.now,
      background: (work) => this.#background(work),
    });
    if (lane.kind === "refused") return { kind: "identity_refused", reason: lane.reason };
    if (lane.kind === "general" && view.inviteOnly === true) {
      return this.#offer(crypto.randomUUID(), { reason: "invite_only", canKeepPlace: false, etaSeconds: null }, view);
    }
    const gate = await gateArrival({ ...this.#gateBase(view), headers, limiter: joinLimiter(this.#env) });
    if (gate.kind === "challenge" || gate.kind === "limited") return gate;
    const solved = gate.kind === "solved" ? gate : null;
    const sub = solved?.sub ?? crypto.randomUUID();
    if (lane.kind === "lane") {
      const shard = laneShard(lane.view.slot, shardOf(sub, lane.view.shards));
      return this.#placeOn(shard, sub, solved?.until ?? null, view, lane.name);
    }
    if (!this.#beforeStart(view)) {
      const offer = offerAtArrival(view, this.now);
      if (offer !== null && !(keep && offer.canKeepPlace)) {
        // Counted by the shard the listener would have joined, after the answer.
        const shard = shardOf(sub, view.shards);
        this.#background(
          durableCall("noteOverflow", () => this.#shard(shard).noteOverflow(this.room, shard), { retry: false }),
        );
        return this.#offer(sub, offer, view);
      }
    }
    return this.#placeOn(shardOf(sub, view.shards), sub, solved?.until ?? null, view, null);
  }

  /**
   * Take a place on `shard` and answer with its ticket (and the seat, when
   * one is free at once). A lane's listener (`lane`: its name) takes one on
   * its lane's shards, where the general line's rules (the prequeue,
   * `maxQueue`, `maxWaitSeconds`, overflow mode) do not apply; only `hold`
   * and `closed` stop it. A general arrival beyond its shard's queue
   * allowance gets no place: it is offered the recording (`max_queue`).
   */
  async #placeOn(
    shard: number,
    sub: string,
    until: number | null,
    view: GlobalView,
    lane: string | null,
  ): Promise<FlowAnswer> {
    const joined = await this.#takePlace(shard, sub, until);
    if (joined instanceof DurableFailure) return this.#refuseArrival();
    if (joined === null) {
      // The solution was spent before: refused, with a new challenge.
      const base = this.#gateBase(view);
      tally(base, "failed");
      return { kind: "challenge", code: "challenge_used", challenge: await newChallenge(base) };
    }
    if (joined.view !== null) rememberView(this.room, joined.view, this.now);
    if ("noPlace" in joined) {
      // The line is full at the shard (it counted the offer), or it could not ask for room.
      if (joined.noPlace === "unavailable") return this.#refuseArrival();
      const seen = joined.view ?? view;
      return this.#offer(sub, queueFullOffer(seen, this.now), seen);
    }
    const ticket = await issueTicket(this.#keys, {
      issuer: this.settings.issuer,
      room: this.room,
      sub,
      shard,
      seq: joined.seq,
      at: joined.at,
      now: this.now,
      ttlMs: this.settings.timings.ticketTtlMs,
    });
    const claims = { shard, seq: joined.seq, at: joined.at };
    const answer = await this.#fromClaim(joined.claim, sub, claims, joined.view ?? view);
    if (answer.kind === "status") {
      answer.status.ticket = ticket;
      if (lane !== null) answer.status.lane = lane;
      answer.newTicket = ticket;
    }
    return answer;
  }

  /**
   * The shard's join: a place in line; never retried (a repeated join would
   * take a second place, and a solved challenge is spent by the first). With
   * a solved challenge (`until`: when it expires) null when it was spent before.
   */
  async #takePlace(shard: number, sub: string, until: number | null): Promise<ShardJoin | null | DurableFailure> {
    const stub = this.#shard(shard);
    try {
      // Awaited inside: the RPC stub types a union answer as a union of promises.
      return until === null
        ? await durableCall<ShardJoin>("join", async () => await stub.join(this.room, shard, sub), { retry: false })
        : await durableCall<ShardJoin | null>("join", async () => await stub.joinSolved(this.room, shard, sub, until), {
            retry: false,
          });
    } catch (err) {
      return failureOf(err);
    }
  }

  /** What the arrival gate needs of this desk: the room, its keys, now, and where its counts go. */
  #gateBase(view: GlobalView) {
    return {
      room: this.room,
      issuer: this.settings.issuer,
      keys: this.#keys,
      now: this.now,
      bits: view.challengeBits ?? 0,
      report: (batch: EdgeArrivals) =>
        this.#background(
          durableCall(
            "reportArrivals",
            () => this.#env.ROOM_COORDINATOR.getByName(this.room).reportArrivals(this.room, batch),
            { retry: false },
          ),
        ),
    };
  }

  /**
   * Where a ticket holder stands; claims the seat when the turn has come. A
   * listener whose estimate has grown past `maxWaitSeconds` is offered the
   * recording, and keeps its ticket; with `keep` it has chosen to wait.
   * `holding`: the lease id of a pass this device presents with its ticket
   * (its own seat, which it keeps); a claim from another device moves it.
   */
  async status(ticket: TicketClaims, keep = false, holding?: string): Promise<FlowAnswer> {
    const view = await this.#tryView();
    if (view instanceof DurableFailure) return this.#stillWaiting(ticket, this.lastView(), false);
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    const byView = this.#byView(ticket, view, keep);
    const answer =
      byView === CALLED
        ? await this.#claimTurn(ticket, view, holding)
        : byView.kind === "offer"
          ? await this.#offer(ticket.sub, byView.offer, view)
          : byView;
    return this.#laneTold(ticket, view, answer);
  }

  /**
   * `status` without waiting, for a listener the view alone answers (still in
   * line, before the start, a closed room) while a view is in hand; null
   * otherwise (no view in hand, an offer to sign, a turn to claim): then `status`.
   */
  statusNow(ticket: TicketClaims, keep = false): FlowAnswer | null {
    const view = viewInHand(this.room, this.now);
    if (view === null) return null;
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    const byView = this.#byView(ticket, view, keep);
    return byView === CALLED || byView.kind === "offer" ? null : this.#laneTold(ticket, view, byView);
  }

  /** A lane's listener is told its lane (null: one the room no longer has). */
  #laneTold(ticket: TicketClaims, view: GlobalView, answer: FlowAnswer): FlowAnswer {
    if (answer.kind === "status" && slotOf(ticket.shard) !== 0) answer.status.lane = laneNameAt(view, ticket.shard);
    return answer;
  }

  /**
   * What the view alone says of a ticket: the answer itself, an offer of the
   * recording, or CALLED (its turn came: a claim). The answer is not wrapped:
   * a waiting poll makes one object less.
   */
  #byView(ticket: TicketClaims, view: GlobalView, keep: boolean): FlowAnswer | OfferInLine | typeof CALLED {
    const lane = slotOf(ticket.shard) !== 0;
    if (!lane && this.#beforeStart(view)) {
      return { kind: "status", status: prequeueStatus(this.room, this.now, view) };
    }
    const place = estimatePlace(ticket, view, this.now);
    if (place.position === null) return CALLED;
    const offer = keep || lane ? null : offerInLine(place, view);
    if (offer !== null) return { kind: "offer", offer };
    const eta = etaOf(place.etaSeconds);
    return { kind: "status", status: queuedStatus(this.room, place.position, eta, clock.random, view) };
  }

  /** The ticket's turn came: claim its seat (or give the answer a claim a moment ago got again). */
  async #claimTurn(ticket: TicketClaims, view: GlobalView, holding?: string): Promise<FlowAnswer> {
    // The ticket claimed a moment ago: the same device gets the same answer (its seat with the same
    // pass, or the same "not yet" while the room stands still), another "try again shortly",
    // without asking the shard again (repeat-claims.ts).
    const asking = { holding, mark: markOf(view.live, calledThrough(view, ticket.shard, this.now)), now: this.now };
    const repeat = repeatClaim(this.room, ticket, asking, (sid, exp) => this.#seatStands(view, sid, exp));
    if (repeat?.kind === "shortly") {
      return { kind: "status", status: shortlyStatus(this.#inLine(), ticket, view, repeat.afterMs) };
    }
    if (repeat?.kind === "again") return repeat.seat ?? this.#fromClaim(repeat.outcome, ticket.sub, ticket, view);
    let claim: ClaimOutcome;
    // This device's seat: the one its lapsed pass names, else a new id for the seat this claim may take.
    const key = holding ?? crypto.randomUUID();
    claimStarted(this.room, ticket, this.now);
    try {
      // Safe to repeat: a claim never takes a second seat, and its retry (same key) gets the same one.
      claim = await durableCall<ClaimOutcome>("claim", () =>
        this.#shard(ticket.shard).claim(this.room, ticket.shard, ticket.sub, ticket.seq, ticket.at, key),
      );
    } catch (err) {
      claimFailed(this.room, ticket);
      failureOf(err);
      return this.#stillWaiting(ticket, view, true);
    }
    const answer = await this.#fromClaim(claim, ticket.sub, ticket, view);
    noteClaim(this.room, ticket, claim, asking, this.#toGiveAgain(claim, answer, view));
    return answer;
  }

  /** A claim's admitted answer that may be given again: `#seatAnswer`'s, while its seat stands. */
  #toGiveAgain(claim: ClaimOutcome, answer: FlowAnswer, view: GlobalView): SeatAnswer | null {
    if (claim.kind !== "admitted") return null;
    const seat = seatAnswer(answer, view);
    return seat !== null && this.#seatStands(view, claim.lease.sid, seat.newPass.exp) ? seat : null;
  }

  /**
   * May the seat `sid` be given again with the pass its claim carried
   * (expiring at `exp`, s)? Not once this isolate knows it ended (listed as
   * revoked, or its shard said so), nor once that pass is due for renewal.
   */
  #seatStands(view: GlobalView, sid: string, exp: number): boolean {
    return !isRevoked(view, sid) && !endedHere(this.room, sid, this.now) && !this.wantsRenewal({ exp });
  }

  /** A ticket holder when its shard or the view cannot be reached: still waiting (desk-answers.ts). */
  #stillWaiting(ticket: TicketClaims, view: GlobalView | null, turnCame: boolean): FlowAnswer {
    const degraded = this.#degraded(POLICY.wait);
    const status = stillWaitingStatus(this.#inLine(), ticket, view, turnCame, degraded.retryAfterSeconds);
    return { kind: "status", status, degraded };
  }

  /**
   * A new arrival that cannot get a place: admissions fail closed (no place
   * and no pass without the shard). With FAILURE_POLICY=recording and a
   * recording link in the last known view, it is offered the recording.
   */
  async #refuseArrival(): Promise<FlowAnswer> {
    const last = this.lastView();
    if (this.settings.failurePolicy === "recording" && last !== null && last.recordingUrl !== null) {
      const degraded = this.#degraded(POLICY.recording);
      const answer = await this.#offer(
        crypto.randomUUID(),
        { reason: "mode", canKeepPlace: false, etaSeconds: null },
        last,
      );
      if (answer.kind === "status") {
        answer.status.pollAfterSeconds = degraded.retryAfterSeconds;
        answer.degraded = degraded;
      }
      return answer;
    }
    return { kind: "unavailable", degraded: this.#degraded(POLICY.closed) };
  }

  /** Where a listener who took the recording offer stands: the link once posted, or the room's end. */
  async overflow(claims: OverflowClaims): Promise<FlowAnswer> {
    const view = await this.#tryView();
    if (view instanceof DurableFailure) {
      // The offer stands, from the last known view; without one, try again later.
      const last = this.lastView();
      if (last === null) return { kind: "unavailable", degraded: this.#degraded(POLICY.closed) };
      const degraded = this.#degraded(POLICY.recording);
      const offer = { reason: claims.reason, canKeepPlace: false, etaSeconds: null };
      const status = { ...overflowStatus(this.room, offer, last), pollAfterSeconds: degraded.retryAfterSeconds };
      return { kind: "status", status, degraded };
    }
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    const offer = offerAtArrival(view, this.now) ?? { reason: claims.reason, canKeepPlace: true, etaSeconds: null };
    return { kind: "status", status: overflowStatus(this.room, offer, view) };
  }

  /**
   * Renew a seat's pass; `seat_ended` when the lease is gone; `unavailable`
   * (policy `pass`) when the shard cannot be reached: the current pass is
   * honoured only while a recent view vouches for it and it is young. The
   * seat's shard is asked at most once per REPEAT_RENEWAL_MS in this isolate
   * (repeat-renewals.ts): a pass of the seat presented again within it gets
   * the same answer, the pass that renewal signed.
   */
  async heartbeat(pass: PassClaims): Promise<FlowAnswer> {
    const seat = { sid: pass.sid, gen: pass.gen, sub: pass.sub };
    const view = await this.#tryView();
    const stands = (sid: string, exp: number) => !(view instanceof DurableFailure) && this.#seatStands(view, sid, exp);
    const again = repeatRenewal(this.room, seat, this.now, stands);
    if (again !== null) return again;
    if (renewalUnderWay(this.room, seat.sid, this.now)) {
      const waited = await awaitRenewal(this.room, seat, this.now, stands);
      if (waited !== null) return waited;
    }
    // A claim's answer remembered for this seat carries the pass being renewed: no longer given again.
    forgetSeat(this.room, pass.sid);
    renewalStarted(this.room, seat.sid, this.now);
    let answer: FlowAnswer;
    try {
      answer = await this.#renew(pass, view);
    } catch (err) {
      noteRenewal(this.room, seat, null, this.now);
      throw err;
    }
    noteRenewal(this.room, seat, this.#renewalToGiveAgain(answer, view), this.now);
    return answer;
  }

  /** The shard's renewal of the seat, as `heartbeat` answers it; `view`: as read before it. */
  async #renew(pass: PassClaims, view: GlobalView | DurableFailure): Promise<FlowAnswer> {
    let renewed: RenewOutcome;
    try {
      renewed = await durableCall<RenewOutcome>("renew", () =>
        this.#shard(pass.shard).renew(this.room, pass.shard, pass.sid, pass.sub, pass.gen),
      );
    } catch (err) {
      failureOf(err);
      return { kind: "unavailable", degraded: this.#degraded(POLICY.pass) };
    }
    if (renewed.kind === "gone") return { kind: "seat_ended", reason: renewed.reason };
    const newPass = await this.#signPass(pass.sub, pass.shard, renewed.lease);
    // The seat is renewed: a view that could not be read only leaves the room's facts out of date.
    const facts = (view instanceof DurableFailure ? this.lastView() : view) ?? UNKNOWN_ROOM;
    return {
      kind: "status",
      status: await this.#admitted(newPass, renewed.lease, pass.shard, facts),
      newPass,
    };
  }

  /** A renewal's answer that may be given again: the seat ended, or `seatAnswer`'s (not without a view to tell). */
  #renewalToGiveAgain(answer: FlowAnswer, view: GlobalView | DurableFailure): RenewalAnswer | null {
    if (answer.kind === "seat_ended") return answer;
    return view instanceof DurableFailure ? null : seatAnswer(answer, view);
  }

  /** An admitted answer; in a room whose origin enforces the seat, with where to connect to it. */
  async #admitted(pass: { token: string; exp: number }, lease: Lease, shard: number, facts: RoomFacts & OriginFacts) {
    const seat = { room: this.room, shard, sid: lease.sid, sub: lease.sub, gen: lease.gen ?? 0, pass };
    const connect = await connectFor(this.#env, this.settings, facts, seat);
    return admittedStatus(this.room, pass.token, pass.exp, this.settings.timings.passTtlMs, facts, connect);
  }

  #beforeStart(view: GlobalView): view is GlobalView & { startsAt: number } {
    return beforeStart(view, this.now);
  }

  /** What the status builders of desk-answers.ts need of this desk. */
  #inLine(): InLine {
    return { room: this.room, now: this.now, random: clock.random };
  }

  /** Offer the recording, with an overflow token to come back with. */
  async #offer(sub: string, offer: OverflowOffer, view: GlobalView): Promise<FlowAnswer> {
    const token = await issueOverflow(this.#keys, {
      issuer: this.settings.issuer,
      room: this.room,
      sub,
      reason: offer.reason,
      now: this.now,
      ttlMs: this.settings.timings.ticketTtlMs,
    });
    const status = { ...overflowStatus(this.room, offer, view), overflowToken: token };
    return { kind: "status", status, newOverflow: token };
  }

  /**
   * Give the seat back (safe to repeat: a repeat through this isolate is answered here,
   * without a call). Throws a DurableFailure when the shard cannot be reached.
   */
  async leave(pass: PassClaims): Promise<boolean> {
    // Never given again from a claim's remembered answer (repeat-claims.ts), even by a claim
    // under way now: this isolate knows the seat ended until any pass of it has expired.
    forgetSeat(this.room, pass.sid);
    forgetRenewal(this.room, pass.sid);
    // Given back through this isolate already: its shard would change nothing, and say so.
    if (givenBackHere(this.room, pass.sid, pass.sub, this.now)) return false;
    const released = await durableCall("leave", () =>
      this.#shard(pass.shard).leave(this.room, pass.shard, pass.sid, pass.sub),
    );
    const until = Math.max(pass.exp * 1000, this.now + this.settings.timings.passTtlMs);
    noteEnded(this.room, pass.sid, until);
    noteGivenBack(this.room, pass.sid, pass.sub, until);
    return released;
  }

  /**
   * The seat of `pass` as a held connection keeps it (origin/seat-tie.ts);
   * `path`: the request's, the key of a live connection (one per seat and path).
   */
  keeper(pass: PassClaims, path = ""): SeatKeeper {
    const stub = this.#shard(pass.shard);
    const { room } = this;
    return {
      // One round is a long call: not retried here, the connection's own loop calls again.
      hold: (holder, waitMs, live = false) =>
        durableCall<HoldAnswer>(
          "hold",
          () => stub.hold(room, pass.shard, pass.sid, pass.sub, pass.gen, holder, waitMs, live ? path : null),
          {
            retry: false,
          },
        ),
      letGo: (holder) => durableCall("letGo", () => stub.letGo(room, pass.shard, pass.sid, holder)),
    };
  }

  /**
   * A path of this room newly seen answered with a live stream in this
   * isolate (`media`, or events): the coordinator lists it in the room's
   * view, so that every isolate holds a request on it before the origin is
   * asked (edge/live-paths.ts). After the answer, not retried: an isolate
   * that fails to tell still holds the path itself, and the next to see it tells.
   */
  noteLivePath(path: string, media: boolean): void {
    if (!isListablePath(path)) return;
    const coordinator = this.#env.ROOM_COORDINATOR.getByName(this.room);
    this.#background(
      durableCall("noteLivePath", () => coordinator.noteLivePath(this.room, path, media), { retry: false }),
    );
  }

  /**
   * Is this pass too old to be honoured from the room's view alone (past
   * half its life, pass-trust.ts passTrustMs)? Then it is renewed on the way:
   * its shard decides, and a seat freed without confirmation relies on that.
   */
  wantsRenewal(pass: Pick<PassClaims, "exp">): boolean {
    const ttl = this.settings.timings.passTtlMs;
    // At the very moment the trust ends the seat may be freed: then it is too old already.
    return pass.exp * 1000 - this.now <= ttl - passTrustMs(ttl);
  }

  async #signPass(sub: string, shard: number, lease: Lease) {
    const { sid, expiresAt } = lease;
    const gen = lease.gen ?? 0;
    return issuePass(this.#keys, {
      issuer: this.settings.issuer,
      room: this.room,
      sub,
      sid,
      shard,
      gen,
      now: this.now,
      expiresAt,
    });
  }

  async #fromClaim(
    claim: ClaimOutcome,
    sub: string,
    place: { shard: number; seq: number; at: number },
    view: GlobalView,
  ): Promise<FlowAnswer> {
    switch (claim.kind) {
      case "admitted": {
        const newPass = await this.#signPass(sub, place.shard, claim.lease);
        return {
          kind: "status",
          status: await this.#admitted(newPass, claim.lease, place.shard, view),
          newPass,
        };
      }
      case "waiting":
        return { kind: "status", status: notSeatedStatus(this.#inLine(), claim.reason, place, view) };
      case "closed":
        return { kind: "status", status: closedStatus(this.room, view) };
      case "spent":
        return { kind: "spent" };
    }
  }
}

/**
 * An answer that hands out a seat, as it may be given again (a claim's or a
 * renewal's): with its pass, and not one without where to connect in a room
 * whose origin says where (the next request asks for that again).
 */
function seatAnswer(answer: FlowAnswer, view: GlobalView): SeatAnswer | null {
  if (answer.kind !== "status" || answer.newPass === undefined) return null;
  if ((view.origin ?? "proxy") !== "proxy" && answer.status.connect === undefined) return null;
  return { ...answer, newPass: answer.newPass };
}

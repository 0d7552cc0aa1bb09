/**
 * The listener's path through the queue: join, wait, claim, renew, leave.
 *
 * Shared by the JSON endpoints and the guarded room path. A listener belongs
 * to one shard (a stable hash of its id, fixed in its ticket and pass). A
 * waiting poll is answered from the ticket and the cached room-wide view;
 * only a listener whose turn has come (or who holds a seat) calls its shard.
 */
import type { GlobalView } from "../admission/coordinator.ts";
import { estimatePlace } from "../admission/estimate.ts";
import { offerAtArrival, offerInLine, type OverflowOffer } from "../admission/overflow.ts";
import type { ClaimOutcome, Lease } from "../admission/ledger.ts";
import { clock } from "../clock.ts";
import { shardName } from "../room/room-shard.ts";
import { cachedView, rememberView } from "../room/view-cache.ts";
import type { TokenRefusal } from "../tokens/claims.ts";
import type { CompactJws } from "../tokens/compact-jws.ts";
import { keyRing, type KeyRing } from "../tokens/keys.ts";
import { issueOverflow, type OverflowClaims, verifyOverflow } from "../tokens/overflow.ts";
import { issuePass, type PassClaims, verifyPass } from "../tokens/pass.ts";
import { issueTicket, type TicketClaims, verifyTicket } from "../tokens/ticket.ts";
import { type Settings, settingsOf } from "./settings.ts";
import {
  admittedStatus,
  closedStatus,
  overflowStatus,
  prequeueStatus,
  queuedStatus,
  type StatusBody,
} from "./status.ts";

/** What the flow decided; the HTTP layer turns it into cookies and a body. */
export type FlowAnswer =
  | {
      kind: "status";
      status: StatusBody;
      newTicket?: string;
      newPass?: { token: string; exp: number };
      newOverflow?: string;
    }
  | { kind: "spent" }
  | { kind: "seat_ended" };

/** This isolate's pick among a room's shards for view reads, so reads spread over shards. */
const isolateSeed = Math.floor(Math.random() * 0x7fffffff);

/** Whole seconds for the wire. */
function etaOf(seconds: number | null): number | null {
  return seconds === null ? null : Math.ceil(seconds);
}

/** A listener id's shard: FNV-1a of the id, modulo the shard count. */
export function shardOf(sub: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sub.length; i++) {
    h ^= sub.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % Math.max(1, shards);
}

export class RoomDesk {
  readonly room: string;
  readonly settings: Settings;
  readonly #env: Env;
  readonly #keys: KeyRing;
  readonly now: number;

  /** Work to finish after the answer (the request's waitUntil). */
  readonly #background: (work: Promise<unknown>) => void;

  private constructor(
    env: Env,
    room: string,
    keys: KeyRing,
    now: number,
    background: (work: Promise<unknown>) => void,
  ) {
    this.#env = env;
    this.#background = (work) =>
      background(work.catch((err: unknown) => console.warn("background work failed", String(err))));
    this.room = room;
    this.settings = settingsOf(env);
    this.#keys = keys;
    this.now = now;
  }

  /** `background` runs work after the answer (the request's waitUntil); without one, it runs unawaited. */
  static async open(env: Env, room: string, background?: (work: Promise<unknown>) => void): Promise<RoomDesk> {
    return new RoomDesk(env, room, await keyRing(env), clock.now(), background ?? ((work) => void work));
  }

  get keys(): KeyRing {
    return this.#keys;
  }

  #shard(index: number) {
    return this.#env.ROOM_SHARD.getByName(shardName(this.room, index));
  }

  #opts() {
    return { issuer: this.settings.issuer, room: this.room, now: this.now };
  }

  async checkTicket(
    token: string | CompactJws,
  ): Promise<{ ok: true; claims: TicketClaims } | { ok: false; reason: TokenRefusal }> {
    return verifyTicket(this.#keys, token, this.#opts());
  }

  async checkOverflow(token: string) {
    return verifyOverflow(this.#keys, token, this.#opts());
  }

  async checkPass(token: string): Promise<{ ok: true; claims: PassClaims } | { ok: false; reason: TokenRefusal }> {
    return verifyPass(this.#keys, token, this.#opts());
  }

  /** The room-wide view, at most a second old in this isolate, read from one of the room's shards. */
  async view(): Promise<GlobalView> {
    return cachedView(this.room, this.now, (previous) => {
      const index = isolateSeed % Math.max(1, previous?.shards ?? 1);
      return this.#shard(index).view(this.room, index);
    });
  }

  /**
   * Take a place in line (and a seat at once when one is free). An arrival
   * the room's rules send to the recording gets the offer instead, and no
   * place, unless it asks to `keep` one and the queue allows it.
   */
  async join(keep = false): Promise<FlowAnswer> {
    const view = await this.view();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    const sub = crypto.randomUUID();
    if (!this.#beforeStart(view)) {
      const offer = offerAtArrival(view, this.now);
      if (offer !== null && !(keep && offer.canKeepPlace)) {
        // Counted by the shard the listener would have joined, after the answer.
        const shard = shardOf(sub, view.shards);
        this.#background(this.#shard(shard).noteOverflow(this.room, shard));
        return this.#offer(sub, offer, view);
      }
    }
    const shard = shardOf(sub, view.shards);
    const joined = await this.#shard(shard).join(this.room, shard, sub);
    if (joined.view !== null) rememberView(this.room, joined.view, this.now);
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
      answer.newTicket = ticket;
    }
    return answer;
  }

  /**
   * Where a ticket holder stands; claims the seat when the turn has come. A
   * listener whose estimate has grown past `maxWaitSeconds` is offered the
   * recording, and keeps its ticket; with `keep` it has chosen to wait.
   */
  async status(ticket: TicketClaims, keep = false): Promise<FlowAnswer> {
    const view = await this.view();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    if (this.#beforeStart(view)) return { kind: "status", status: prequeueStatus(this.room, this.now, view) };
    const place = estimatePlace(ticket, view, this.now);
    if (place.position !== null) {
      const offer = keep ? null : offerInLine(place, view);
      if (offer !== null) return this.#offer(ticket.sub, offer, view);
      const eta = etaOf(place.etaSeconds);
      return { kind: "status", status: queuedStatus(this.room, place.position, eta, clock.random, view) };
    }
    const claim = await this.#shard(ticket.shard).claim(this.room, ticket.shard, ticket.sub, ticket.seq, ticket.at);
    return this.#fromClaim(claim, ticket.sub, ticket, view);
  }

  /** Where a listener who took the recording offer stands: the link once posted, or the room's end. */
  async overflow(claims: OverflowClaims): Promise<FlowAnswer> {
    const view = await this.view();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room, view) };
    const offer = offerAtArrival(view, this.now) ?? { reason: claims.reason, canKeepPlace: true, etaSeconds: null };
    return { kind: "status", status: overflowStatus(this.room, offer, view) };
  }

  /** Renew a seat's pass; `seat_ended` when the lease is gone. */
  async heartbeat(pass: PassClaims): Promise<FlowAnswer> {
    const renewed = await this.#shard(pass.shard).renew(this.room, pass.shard, pass.sid, pass.sub, pass.gen);
    if (renewed.kind === "gone") return { kind: "seat_ended" };
    const newPass = await this.#signPass(pass.sub, pass.shard, renewed.lease);
    const view = await this.view();
    return {
      kind: "status",
      status: admittedStatus(this.room, newPass.token, newPass.exp, this.settings.timings.passTtlMs, view),
      newPass,
    };
  }

  #beforeStart(view: GlobalView): view is GlobalView & { startsAt: number } {
    return view.startsAt !== null && this.now < view.startsAt;
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

  /** Give the seat back. */
  async leave(pass: PassClaims): Promise<boolean> {
    return this.#shard(pass.shard).leave(this.room, pass.shard, pass.sid, pass.sub);
  }

  /** Should this pass be renewed while it is used (past half its life)? */
  wantsRenewal(pass: PassClaims): boolean {
    return pass.exp * 1000 - this.now < this.settings.timings.passTtlMs / 2;
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
          status: admittedStatus(this.room, newPass.token, newPass.exp, this.settings.timings.passTtlMs, view),
          newPass,
        };
      }
      case "waiting": {
        if (claim.reason === "hold" && this.#beforeStart(view)) {
          return { kind: "status", status: prequeueStatus(this.room, this.now, view) };
        }
        // Called but no seat yet (or not called): at the front, or where the view places it.
        const e = estimatePlace(place, view, this.now);
        const position = e.position ?? 1;
        const eta = e.position === null ? null : etaOf(e.etaSeconds);
        return { kind: "status", status: queuedStatus(this.room, position, eta, clock.random, view) };
      }
      case "closed":
        return { kind: "status", status: closedStatus(this.room, view) };
      case "spent":
        return { kind: "spent" };
    }
  }
}

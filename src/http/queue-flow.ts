/**
 * The listener's path through the queue: join, wait, claim, renew, leave.
 *
 * Shared by the JSON endpoints and the guarded room path. A waiting poll is
 * answered from the ticket and the cached room view; only a listener whose
 * turn has come (or who holds a seat) calls the room's Durable Object.
 */
import { clock } from "../clock.ts";
import type { ClaimOutcome, RoomView } from "../admission/ledger.ts";
import { cachedView, rememberView } from "../room/view-cache.ts";
import type { TokenRefusal } from "../tokens/claims.ts";
import { keyRing, type KeyRing } from "../tokens/keys.ts";
import { issuePass, verifyPass, type PassClaims } from "../tokens/pass.ts";
import { issueTicket, verifyTicket, type TicketClaims } from "../tokens/ticket.ts";
import { settingsOf, type Settings } from "./settings.ts";
import { admittedStatus, closedStatus, queuedStatus, type StatusBody } from "./status.ts";

/** What the flow decided; the HTTP layer turns it into cookies and a body. */
export type FlowAnswer =
  | { kind: "status"; status: StatusBody; newTicket?: string; newPass?: { token: string; exp: number } }
  | { kind: "spent" }
  | { kind: "seat_ended" };

export class RoomDesk {
  readonly room: string;
  readonly settings: Settings;
  readonly #env: Env;
  readonly #keys: KeyRing;
  readonly now: number;

  private constructor(env: Env, room: string, keys: KeyRing, now: number) {
    this.#env = env;
    this.room = room;
    this.settings = settingsOf(env);
    this.#keys = keys;
    this.now = now;
  }

  static async open(env: Env, room: string): Promise<RoomDesk> {
    return new RoomDesk(env, room, await keyRing(env), clock.now());
  }

  get keys(): KeyRing {
    return this.#keys;
  }

  #stub() {
    return this.#env.ROOM.getByName(this.room);
  }

  #opts() {
    return { issuer: this.settings.issuer, room: this.room, now: this.now };
  }

  async checkTicket(token: string): Promise<{ ok: true; claims: TicketClaims } | { ok: false; reason: TokenRefusal }> {
    return verifyTicket(this.#keys, token, this.#opts());
  }

  async checkPass(token: string): Promise<{ ok: true; claims: PassClaims } | { ok: false; reason: TokenRefusal }> {
    return verifyPass(this.#keys, token, this.#opts());
  }

  async view(): Promise<RoomView> {
    return cachedView(this.room, this.now, () => this.#stub().view());
  }

  /** Take a place in line (and a seat at once when one is free). */
  async join(): Promise<FlowAnswer> {
    const view = await this.view();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room) };
    const sub = crypto.randomUUID();
    const joined = await this.#stub().join(this.room, sub);
    rememberView(this.room, joined.view, this.now);
    const ticket = await issueTicket(this.#keys, {
      issuer: this.settings.issuer,
      room: this.room,
      sub,
      seq: joined.seq,
      now: this.now,
      ttlMs: this.settings.timings.ticketTtlMs,
    });
    const answer = await this.#fromClaim(joined.claim, sub, joined.seq, joined.view);
    if (answer.kind === "status") {
      answer.status.ticket = ticket;
      answer.newTicket = ticket;
    }
    return answer;
  }

  /** Where a ticket holder stands; claims the seat when the turn has come. */
  async status(ticket: TicketClaims): Promise<FlowAnswer> {
    const view = await this.view();
    if (view.mode === "closed") return { kind: "status", status: closedStatus(this.room) };
    if (ticket.seq > view.cursor) {
      return { kind: "status", status: queuedStatus(this.room, ticket.seq, view, clock.random) };
    }
    const claimed = await this.#stub().claim(ticket.sub, ticket.seq);
    rememberView(this.room, claimed.view, this.now);
    return this.#fromClaim(claimed.claim, ticket.sub, ticket.seq, claimed.view);
  }

  /** Renew a seat's pass; `seat_ended` when the lease is gone. */
  async heartbeat(pass: PassClaims): Promise<FlowAnswer> {
    const renewed = await this.#stub().renew(pass.sid, pass.sub);
    if (renewed.kind === "gone") return { kind: "seat_ended" };
    const newPass = await this.#signPass(pass.sub, renewed.lease.sid, renewed.lease.expiresAt);
    return {
      kind: "status",
      status: admittedStatus(this.room, newPass.token, newPass.exp, this.settings.timings.passTtlMs),
      newPass,
    };
  }

  /** Give the seat back. */
  async leave(pass: PassClaims): Promise<boolean> {
    return this.#stub().leave(pass.sid, pass.sub);
  }

  /** Should this pass be renewed while it is used (past half its life)? */
  wantsRenewal(pass: PassClaims): boolean {
    return pass.exp * 1000 - this.now < this.settings.timings.passTtlMs / 2;
  }

  async #signPass(sub: string, sid: string, expiresAt: number) {
    return issuePass(this.#keys, {
      issuer: this.settings.issuer,
      room: this.room,
      sub,
      sid,
      now: this.now,
      expiresAt,
    });
  }

  async #fromClaim(claim: ClaimOutcome, sub: string, seq: number, view: RoomView): Promise<FlowAnswer> {
    switch (claim.kind) {
      case "admitted": {
        const newPass = await this.#signPass(sub, claim.lease.sid, claim.lease.expiresAt);
        return {
          kind: "status",
          status: admittedStatus(this.room, newPass.token, newPass.exp, this.settings.timings.passTtlMs),
          newPass,
        };
      }
      case "waiting":
        return { kind: "status", status: queuedStatus(this.room, seq, view, clock.random) };
      case "closed":
        return { kind: "status", status: closedStatus(this.room) };
      case "spent":
        return { kind: "spent" };
    }
  }
}

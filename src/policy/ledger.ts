/**
 * The admission ledger of one room, or of one shard of a sharded room: queue
 * sequence, cursor, seat leases and reservations, and the decisions that move
 * them.
 *
 * Pure policy over an injected synchronous store (ledger-state.ts): every
 * operation takes `now` and changes nothing but the store, so the Durable
 * Object (SQLite store), the tests and the simulator (in-memory store) run
 * this very code.
 *
 * The model:
 * - `join` hands out the next sequence number (`tail`). A listener's place in
 *   line is its number minus the `cursor`.
 * - `advance` calls the next listeners by moving the cursor, as far as free
 *   seats and the rate allow (queue.ts). Each call reserves a seat for a
 *   claim window.
 * - `claim` turns a call into a lease (a seat), at most one per listener; a
 *   reservation not claimed within its window returns to the pool, so
 *   abandoned tickets at the head never freeze the queue.
 *
 * Strict cap: a lease is granted only while `live < capacity` (and, when it
 * does not consume a reservation, while `live + reserved < capacity`), so at no
 * instant are there more live leases than the capacity in force.
 *
 * A pass cannot be un-issued, so `leave` does not free the seat at once: the
 * lease's pass is revoked and the seat stays taken until either the pass
 * could no longer be honoured anywhere — the room's coordinator confirms
 * (`confirmRevoked`) once the revocation is in every view an edge may still
 * honour passes from, see revocations.ts — or its passes are too old to be
 * honoured from a view at all (`releaseAt`, lease.ts: edges ask the shard
 * about those). Whatever the number of leaves, no seat is reused while a pass
 * of its last holder could still be served.
 *
 * One ticket, one listener: a claim from another device does not hand the
 * same seat over. It ends the seat like a leave (`moved`), and once that is
 * confirmed (or the lease expires) the seat passes, as a new lease with a new
 * id, to the ticket's next claim — so at no moment may two devices' passes
 * be honoured for one seat.
 */
import { calls, type Timings } from "./config.ts";
import { record } from "./flow.ts";
import {
  type ClaimOutcome,
  type Lease,
  mayLetGo,
  originRefusal,
  releaseAt,
  type RenewOutcome,
  seatEnd,
} from "./lease.ts";
import {
  type Counters,
  initialCounters,
  type JoinOutcome,
  type LedgerConfig,
  type LedgerDeps,
  type LedgerStore,
  type LedgerView,
  ledgerView,
  ORIGIN_DROP_RECHECK_MS,
  type OriginAttach,
} from "./ledger-state.ts";
import { arrivalSecond, callable, freeSeats, nextCallAt, pacedAhead } from "./queue.ts";
import { refill } from "./rate.ts";
import { withReturn } from "./returns.ts";
import { rankOf } from "./shuffle.ts";
import { withWait } from "./waits.ts";

const EXPIRE_BATCH = 500;

/** Whether an arrival may take its place, told whether it would be called at once (Ledger.join). */
export type JoinGate = (atOnce: boolean) => "place" | "refuse" | "overflow";

export class Ledger {
  readonly #store: LedgerStore;
  readonly #deps: LedgerDeps;
  #config: LedgerConfig;
  readonly #timings: Timings;
  #c: Counters;

  constructor(store: LedgerStore, config: LedgerConfig, timings: Timings, deps: LedgerDeps, now: number) {
    this.#store = store;
    this.#deps = deps;
    this.#config = config;
    this.#timings = timings;
    this.#c = store.loadCounters() ?? initialCounters(now, config.admitPerMinute);
  }

  get config(): LedgerConfig {
    return this.#config;
  }

  get counters(): Readonly<Counters> {
    return this.#c;
  }

  /** Apply a new config; lowering capacity evicts nobody, it only stops calls. */
  setConfig(config: LedgerConfig, now: number): void {
    this.#config = config;
    this.settle(now);
  }

  /**
   * Take the next place in line; claims at once when the turn has already
   * come. With `gate`, asked (after settling) whether the arrival may take
   * its place, told whether it would be called at once (taking no waiting
   * place): `refuse` or `overflow` (counted as offered the recording) take
   * nothing, and the join answers null.
   */
  join(sub: string, now: number): JoinOutcome;
  join(sub: string, now: number, gate: JoinGate): JoinOutcome | null;
  join(sub: string, now: number, gate?: JoinGate): JoinOutcome | null {
    this.#settleNoSave(now);
    const verdict = gate === undefined ? "place" : gate(this.#callsNext(now));
    if (verdict !== "place") {
      if (verdict === "overflow") this.#c.overflowed = (this.#c.overflowed ?? 0) + 1;
      this.#save();
      return null;
    }
    this.#c.tail += 1;
    const seq = this.#c.tail;
    this.#store.recordArrival(arrivalSecond(this.#config, now), seq);
    this.#advance(now);
    const claim = this.#claim(sub, seq, now, now);
    this.#save();
    return { seq, claim };
  }

  /** Would an arrival at `now` be called at once (a seat, or one reserved for it)? Read after settling. */
  #callsNext(now: number): boolean {
    if (!calls(this.#config.mode)) return false;
    const next = { ...this.#c, tail: this.#c.tail + 1 };
    const n = Math.min(
      callable(this.#config, next, now),
      freeSeats(this.#config, next),
      Math.floor(next.bucket.tokens - next.reserved),
    );
    return next.cursor + n >= next.tail;
  }

  /** Listeners in line not yet called. */
  get waiting(): number {
    return this.#c.tail - this.#c.cursor;
  }

  /**
   * Turn this listener's call into a seat. `arrivedAt` (ms) counts its wait.
   * `key` names the claiming device's seat: the lease id of a pass it
   * presents with its ticket, or a new unguessable id the caller made for
   * this claim — the lease id of a seat it grants, so the same claim retried
   * gets the same seat. A claim whose key is not the seat's comes from
   * another device: the seat moves (see `ClaimOutcome`).
   */
  claim(sub: string, seq: number, now: number, arrivedAt?: number, key?: string): ClaimOutcome {
    this.#settleNoSave(now);
    const outcome = this.#claim(sub, seq, now, arrivedAt, key);
    this.#save();
    return outcome;
  }

  /** The lease with this id, or null (reads only). */
  lease(sid: string): Lease | null {
    return this.#store.leaseBySid(sid);
  }

  /** Extend a live lease by one pass lifetime. */
  renew(sid: string, sub: string, now: number, gen?: number): RenewOutcome {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const reason = seatEnd(lease, sub, gen);
    if (reason !== null || lease === null) {
      this.#save();
      // A seat given back (or moved) and since freed is still told apart from one that lapsed, while its revocation lasts.
      const revoked = lease === null ? this.#store.revocation(sid, now) : null;
      return { kind: "gone", reason: revoked ?? reason ?? "lapsed" };
    }
    const renewed = { ...lease, expiresAt: now + this.#timings.passTtlMs };
    this.#store.putLease(renewed);
    this.#save();
    return { kind: "renewed", lease: renewed };
  }

  /**
   * Give a seat back; the listener's ticket cannot claim again. The pass is
   * revoked; the seat is freed once the revocation is confirmed
   * (`confirmRevoked`) or at the lease's expiry. Giving back a seat that is
   * moving to another device gives up the move too. Idempotent: false when
   * there was no seat to give back.
   */
  leave(sid: string, sub: string, now: number): boolean {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    let released = false;
    if (lease !== null && lease.sub === sub && lease.movedFrom == null && lease.endedBy !== "left") {
      if (lease.leftAt === null) this.#endAsLeave(lease, now);
      else {
        // It was moving: the seat now goes to nobody.
        this.#store.putLease({ ...lease, endedBy: "left" });
        this.#c.left += 1;
        this.#c.returns = withReturn(this.#c.returns, lease.expiresAt, 1, now);
      }
      released = true;
    }
    this.#save();
    return released;
  }

  /**
   * The passes of these ended leases can no longer be honoured anywhere (the
   * coordinator says so): their seats are freed now — or, for a seat that
   * moved, handed to its ticket's next claim. Unknown or live ids are skipped.
   */
  confirmRevoked(sids: readonly string[], now: number): void {
    this.#settleNoSave(now);
    for (const sid of sids) {
      const lease = this.#store.leaseBySid(sid);
      if (lease !== null && lease.leftAt !== null) this.#release(lease, now);
    }
    this.#advance(now);
    this.#save();
  }

  /**
   * An origin connection (`client`, e.g. an Icecast client id) asks to be
   * served on the seat of a pass (`sid`, `sub`, `gen`): admitted only while
   * the seat is live and holds no other connection of the origin; the
   * connection is recorded on the lease and the lease renewed.
   */
  attachOrigin(sid: string, sub: string, gen: number, client: string, now: number): OriginAttach {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const refusal = originRefusal(lease, sub, gen, client);
    if (refusal !== null || lease === null) {
      this.#save();
      return { kind: "refused", reason: refusal ?? "lapsed" };
    }
    const attached = { ...lease, originClient: client, expiresAt: now + this.#timings.passTtlMs };
    this.#store.putLease(attached);
    this.#save();
    return { kind: "admitted", lease: attached };
  }

  /**
   * The seat of a pass (`sid`, `sub`, `gen`) takes an origin credential (a
   * Janus token, a LiveKit identity): the one it already holds, else `fresh`
   * (`kind`-prefixed, e.g. `janus:…`). Only while the seat is live and holds
   * no credential of another kind; from then on the seat is let go only once
   * the origin has confirmed the credential taken back (`originGone`).
   */
  issueOrigin(sid: string, sub: string, gen: number, kind: string, fresh: string, now: number): OriginAttach {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const held = lease?.originClient ?? null;
    const client = held !== null && held.startsWith(`${kind}:`) ? held : fresh;
    const refusal = originRefusal(lease, sub, gen, client);
    if (refusal !== null || lease === null) {
      this.#save();
      return { kind: "refused", reason: refusal ?? "lapsed" };
    }
    const issued = { ...lease, originClient: client };
    this.#store.putLease(issued);
    this.#save();
    return { kind: "admitted", lease: issued };
  }

  /**
   * The origin says the live seat's listener has gone (it left the WebRTC
   * room), while its credential may still work: the seat ends as a leave and
   * keeps the credential, which is taken back before the seat is let go.
   * False when the lease is not live or holds another credential.
   */
  originEnded(sid: string, client: string, now: number): boolean {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const live = lease !== null && lease.leftAt === null && lease.originClient === client;
    if (live) {
      this.#endAsLeave(lease, now);
      this.#advance(now);
    }
    this.#save();
    return live;
  }

  /** A live lease ends as a leave: its passes are revoked and it is freed by the usual rules. */
  #endAsLeave(lease: Lease, now: number): void {
    this.#store.revoke(lease.sid, lease.expiresAt, "left");
    const expiresAt = releaseAt(lease, this.#timings.passTtlMs, now);
    this.#store.putLease({ ...lease, leftAt: now, endedBy: "left", expiresAt });
    this.#c.left += 1;
    this.#c.returns = withReturn(this.#c.returns, expiresAt, 1, now);
  }

  /**
   * The origin still serves this seat's connection (it lists it): the live
   * lease is renewed. False when the seat has ended or holds another connection.
   */
  renewListed(sid: string, client: string, now: number): boolean {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    const live = lease !== null && lease.leftAt === null && lease.originClient === client;
    if (live) this.#store.putLease({ ...lease, expiresAt: now + this.#timings.passTtlMs });
    this.#save();
    return live;
  }

  /**
   * The origin no longer serves this connection (it said so, or no longer
   * lists it). A live seat ends as a leave (its passes are revoked and it is
   * freed by the usual rules); an ended one that waited for the drop lets go
   * of its seat now. False when the lease does not hold this connection.
   */
  originGone(sid: string, client: string, now: number): boolean {
    this.#settleNoSave(now);
    const lease = this.#store.leaseBySid(sid);
    if (lease === null || lease.originClient !== client) {
      this.#save();
      return false;
    }
    const dropped = { ...lease, originClient: null };
    if (lease.leftAt === null) this.#endAsLeave(dropped, now);
    else if (lease.awaitingDrop === true) {
      this.#release({ ...dropped, awaitingDrop: false }, now);
    } else {
      this.#store.putLease(dropped);
    }
    this.#advance(now);
    this.#save();
    return true;
  }

  /** Leases that hold an origin connection, live or ended (what a shard checks against the origin). */
  originLeases(limit: number): Lease[] {
    return this.#store.originLeases(limit);
  }

  /** Ended leases still holding their seat, longest ended first (what a shard asks to have confirmed). */
  ending(limit: number): Lease[] {
    return this.#store.endingLeases(limit);
  }

  /** How many ended leases still hold their seat. */
  endingCount(): number {
    return this.#store.endingCount();
  }

  /** Expire what is due and call whoever can be called. */
  settle(now: number): void {
    this.#settleNoSave(now);
    this.#save();
  }

  /** When the ledger next needs to run without a request (alarm), or null. */
  nextWake(now: number): number | null {
    const times: number[] = [];
    const lease = this.#store.earliestLeaseExpiry();
    if (lease !== null) times.push(lease);
    const batch = this.#store.earliestBatchExpiry();
    if (batch !== null) times.push(batch);
    const call = nextCallAt(this.#config, this.#c, now);
    if (call !== null) times.push(call);
    return times.length === 0 ? null : Math.max(now, Math.min(...times));
  }

  view(now: number): LedgerView {
    return ledgerView(this.#config, this.#c, this.#store, now);
  }

  #save(): void {
    this.#store.saveCounters(this.#c);
  }

  /** At the start, once: draw the prequeue's order (everyone waiting then) when asked to shuffle. */
  #drawAtStart(now: number): void {
    const { startsAt, shuffleSeed } = this.#config;
    if (typeof startsAt !== "number" || now < startsAt || this.#c.drawnFor === startsAt) return;
    this.#c.drawnFor = startsAt;
    if (typeof shuffleSeed === "number" && this.#c.tail > this.#c.cursor + 1) {
      this.#c.draw = { seed: shuffleSeed, from: this.#c.cursor, to: this.#c.tail };
    }
  }

  #settleNoSave(now: number): void {
    this.#drawAtStart(now);
    for (;;) {
      const due = this.#store.expiredLeases(now, EXPIRE_BATCH);
      for (const lease of due) {
        if (lease.leftAt === null) this.#c.expired += 1;
        this.#release(lease, now);
      }
      if (due.length < EXPIRE_BATCH) break;
    }
    for (;;) {
      const due = this.#store.expiredBatches(now, EXPIRE_BATCH);
      for (const batch of due) {
        this.#c.reserved -= batch.outstanding;
        this.#c.abandoned += batch.outstanding;
        this.#store.deleteBatch(batch.id);
      }
      if (due.length < EXPIRE_BATCH) break;
    }
    this.#store.pruneSpent(now);
    this.#store.pruneRevoked(now);
    this.#store.pruneArrivals(this.#c.cursor);
    this.#advance(now);
  }

  #end(lease: Lease, now: number): void {
    this.#store.deleteLease(lease.sid);
    this.#store.markSpent(lease.sub, now + this.#timings.ticketTtlMs);
    this.#c.live -= 1;
    // A seat given back that comes free before its time (confirmed) is no longer to come.
    if (lease.endedBy === "left" && lease.awaitingDrop !== true && lease.expiresAt > now)
      this.#c.returns = withReturn(this.#c.returns, lease.expiresAt, -1, now);
  }

  /**
   * An ended (or expired) lease lets go of its seat: freed, or — when it
   * moved to another device of its ticket — handed over as a new lease that
   * the ticket's next claim takes within a claim window.
   */
  #release(lease: Lease, now: number): void {
    if (!mayLetGo(lease)) {
      // The origin may still serve this seat's connection: the seat stays taken until it is
      // confirmed dropped (`originDropped`); until then it comes up again now and then.
      this.#store.putLease({
        ...lease,
        leftAt: lease.leftAt ?? now,
        endedBy: lease.endedBy ?? "left",
        awaitingDrop: true,
        expiresAt: now + ORIGIN_DROP_RECHECK_MS,
      });
      return;
    }
    if (lease.leftAt === null || lease.endedBy !== "moved") {
      this.#end(lease, now);
      return;
    }
    this.#store.deleteLease(lease.sid);
    this.#store.putLease({
      sid: this.#deps.newId(),
      sub: lease.sub,
      seq: lease.seq,
      grantedAt: now,
      expiresAt: now + this.#timings.claimWindowMs,
      leftAt: null,
      gen: (lease.gen ?? 0) + 1,
      movedFrom: lease.sid,
    });
  }

  /** Call as many waiting listeners as free seats and the rate allow. */
  #advance(now: number): void {
    this.#c.bucket = refill(this.#c.bucket, this.#config.admitPerMinute, now);
    if (!calls(this.#config.mode)) return;
    // Each reservation earmarks a token that its claim will spend.
    const n = Math.min(
      callable(this.#config, this.#c, now),
      freeSeats(this.#config, this.#c),
      Math.floor(this.#c.bucket.tokens - this.#c.reserved),
    );
    if (n <= 0) return;
    this.#store.addBatch({
      fromSeq: this.#c.cursor + 1,
      toSeq: this.#c.cursor + n,
      expiresAt: now + this.#timings.claimWindowMs,
      outstanding: n,
    });
    this.#c.cursor += n;
    this.#c.reserved += n;
    this.#c.flow = record(this.#c.flow, now, n);
  }

  /** Count an arrival that took its place with a solved challenge. */
  noteSolved(): void {
    this.#c.solved = (this.#c.solved ?? 0) + 1;
    this.#save();
  }

  /** Count an arrival the edge offered the recording instead of a place. */
  noteOverflow(): void {
    this.#c.overflowed = (this.#c.overflowed ?? 0) + 1;
    this.#save();
  }

  /**
   * The lease id for a new seat: the claim's key when it was never a lease's
   * (a key naming a lease that ended — an older device's pass — is revoked
   * and may still be listed, so its seat gets a new id).
   */
  #leaseId(key: string | undefined, now: number): string {
    const usable =
      key !== undefined &&
      key !== "" &&
      this.#store.leaseBySid(key) === null &&
      this.#store.revocation(key, now) === null;
    return usable ? key : this.#deps.newId();
  }

  #claim(sub: string, seq: number, now: number, arrivedAt?: number, key?: string): ClaimOutcome {
    const existing = this.#store.leaseBySub(sub);
    // A device whose seat moved to another of the ticket's devices does not take it back on its
    // own (two devices would pass the seat to and fro): for it, the ticket is spent.
    if (key !== undefined && key !== existing?.sid && this.#store.revocation(key, now) === "moved") {
      return { kind: "spent" };
    }
    if (existing !== null) {
      // The device that holds the seat asks again (a retry, or its pass lapsed): it keeps it.
      if (key === existing.sid && existing.leftAt === null) return { kind: "admitted", lease: existing, fresh: false };
      if (existing.leftAt !== null) {
        return existing.endedBy === "moved" ? { kind: "waiting", reason: "moving" } : { kind: "spent" };
      }
      if (existing.movedFrom != null) {
        // The seat that moved here: this claim takes it, under its own key, with a pass lifetime.
        const taken = {
          ...existing,
          sid: this.#leaseId(key, now),
          movedFrom: null,
          grantedAt: now,
          expiresAt: now + this.#timings.passTtlMs,
        };
        this.#store.deleteLease(existing.sid);
        this.#store.putLease(taken);
        return { kind: "admitted", lease: taken, fresh: true };
      }
      // One ticket, one listener: another device's claim ends this seat here,
      // and the seat is that device's once no pass of this one can be honoured.
      this.#store.revoke(existing.sid, existing.expiresAt, "moved");
      const expiresAt = releaseAt(existing, this.#timings.passTtlMs, now);
      this.#store.putLease({ ...existing, leftAt: now, endedBy: "moved", expiresAt });
      return { kind: "waiting", reason: "moving" };
    }
    if (this.#config.mode === "closed") return { kind: "closed" };
    if (this.#store.isSpent(sub, now)) return { kind: "spent" };
    if (this.#config.mode === "hold") return { kind: "waiting", reason: "hold" };
    const rank = rankOf(seq, this.#c.draw);
    if (rank > this.#c.cursor) return { kind: "waiting", reason: "not_called" };
    if (this.#c.live >= Math.min(this.#config.capacity, this.#config.liveLimit ?? Infinity)) {
      return { kind: "waiting", reason: "full" };
    }

    const batch = this.#store.batchContaining(rank);
    if (batch !== null && batch.outstanding > 0) {
      // Its earmarked token is there: tokens never fall below reservations.
      this.#store.setBatchOutstanding(batch.id, batch.outstanding - 1);
      this.#c.reserved -= 1;
    } else {
      // A late claim: its reservation lapsed. It may take a seat and a token
      // that no reservation holds, and that no call being paced will need.
      if (this.#c.live + this.#c.reserved + pacedAhead(this.#config, this.#c, now) >= this.#config.capacity) {
        return { kind: "waiting", reason: "full" };
      }
      if (this.#c.bucket.tokens - this.#c.reserved < 1) return { kind: "waiting", reason: "full" };
    }
    // The admission itself spends the token, so passes issued, not calls,
    // are what the rate bounds.
    this.#c.bucket = { tokens: this.#c.bucket.tokens - 1, at: this.#c.bucket.at };

    const lease: Lease = {
      sid: this.#leaseId(key, now),
      sub,
      seq,
      grantedAt: now,
      expiresAt: now + this.#timings.passTtlMs,
      leftAt: null,
    };
    this.#store.putLease(lease);
    this.#c.live += 1;
    this.#c.admittedTotal += 1;
    if (arrivedAt !== undefined) this.#c.waits = withWait(this.#c.waits, Math.max(0, now - arrivedAt) / 1000);
    if (this.#c.live > this.#c.peakLive) {
      this.#c.peakLive = this.#c.live;
      this.#c.peakAt = now;
    }
    return { kind: "admitted", lease, fresh: true };
  }
}

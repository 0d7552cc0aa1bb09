/**
 * The connections that hold seats of one shard right now: proxied streams and
 * WebSockets (src/edge/seat-tie.ts), each a "holder" at the edge that keeps
 * one long call open to this shard (`RoomShard.hold`).
 *
 * A holder's call renews its lease and then waits here until the round is
 * over (the edge calls again) or the seat ends, whichever comes first; a seat
 * that ends answers every waiting holder at once, so the edge cuts its
 * connection within one round trip instead of at its next poll. Holders of an
 * older generation of a seat (the ticket moved to a newer device) are ended
 * the moment the newer claim is made, and that claim is answered only once
 * they have let go (or after LET_GO_WAIT_MS), so the origin never serves both
 * devices of one seat.
 *
 * Memory only, by design: a holder is a live connection, which a restart of
 * this object or of the edge ends anyway; the holder calls again and is
 * registered anew (or told its seat is gone).
 */
import type { SeatEnd } from "../policy/lease.ts";

/** How long a newer claim waits for the older generation's connections to close. */
export const LET_GO_WAIT_MS = 2_000;
/** A holder that has not called again this long after its round ended is forgotten. */
const FORGET_GRACE_MS = 5_000;

/** What a holder's call answers: keep holding until `expiresAt` (call again before), or cut. */
export type HoldAnswer = { kind: "held"; expiresAt: number } | { kind: "ended"; reason: SeatEnd };

interface Holder {
  gen: number;
  /** Answers the holder's pending call. */
  answer: (a: HoldAnswer) => void;
  round: ReturnType<typeof setTimeout> | null;
  /** Settled when the edge says the connection is closed. */
  gone: Promise<void>;
  letGo: () => void;
  ended: boolean;
}

/** A holder's call on its way here (its renewal waits for its commit): whether the edge let go meanwhile. */
interface Arriving {
  calls: number;
  gone: boolean;
}

export class SeatHolds {
  /** sid → holder id → holder. */
  readonly #seats = new Map<string, Map<string, Holder>>();
  /** Holders' calls not yet registered, by seat and holder (arrivalKey). */
  readonly #arriving = new Map<string, Arriving>();

  /** Seats that have holders (for the alarm's check of lapsed leases). */
  sids(): string[] {
    return [...this.#seats.keys()];
  }

  /** Holders in all. */
  get size(): number {
    let n = 0;
    for (const holders of this.#seats.values()) n += holders.size;
    return n;
  }

  /**
   * A call of `holderId` on seat `sid` is on its way, to be registered (wait)
   * once its renewal is committed. The edge may close the connection before
   * that and let go of a holder not registered yet: the function returned says
   * whether the connection is still there (call it once, when the call goes
   * on or gives up). A call that went on anyway would register a holder no
   * connection stands for, and a claim moving the seat would wait
   * LET_GO_WAIT_MS for it to let go.
   */
  arriving(sid: string, holderId: string): () => boolean {
    const key = arrivalKey(sid, holderId);
    const arriving = this.#arriving.get(key) ?? { calls: 0, gone: false };
    arriving.calls += 1;
    this.#arriving.set(key, arriving);
    return () => {
      arriving.calls -= 1;
      if (arriving.calls === 0 && this.#arriving.get(key) === arriving) this.#arriving.delete(key);
      return !arriving.gone;
    };
  }

  /**
   * Register `holder` of seat `sid` (generation `gen`) for one round: the
   * answer comes after `waitMs` (`held` until `expiresAt`) or when the seat ends.
   */
  wait(sid: string, holderId: string, gen: number, waitMs: number, expiresAt: number): Promise<HoldAnswer> {
    let holders = this.#seats.get(sid);
    if (holders === undefined) {
      holders = new Map();
      this.#seats.set(sid, holders);
    }
    const previous = holders.get(holderId);
    if (previous !== undefined) {
      // The same connection's next round: its earlier call is over.
      if (previous.round !== null) clearTimeout(previous.round);
      previous.answer({ kind: "held", expiresAt });
    }
    let letGo!: () => void;
    const gone = previous?.gone ?? new Promise<void>((resolve) => (letGo = resolve));
    return new Promise<HoldAnswer>((resolve) => {
      const holder: Holder = {
        gen,
        answer: resolve,
        round: null,
        gone,
        letGo: previous?.letGo ?? letGo,
        ended: false,
      };
      holder.round = setTimeout(() => {
        resolve({ kind: "held", expiresAt });
        // A holder that does not call again within another round is gone (its edge stopped).
        holder.round = setTimeout(() => this.#forget(sid, holderId, holder), waitMs + FORGET_GRACE_MS);
      }, waitMs);
      holders.set(holderId, holder);
    });
  }

  /**
   * End the holders of `sid` (those below generation `belowGen` when given):
   * their calls answer `ended` now. Resolves when all of them have let go,
   * or after `timeoutMs`.
   */
  end(sid: string, reason: SeatEnd, belowGen = Infinity, timeoutMs = LET_GO_WAIT_MS): Promise<void> {
    const holders = this.#seats.get(sid);
    if (holders === undefined) return Promise.resolve();
    const waiting: Promise<void>[] = [];
    for (const holder of holders.values()) {
      if (holder.gen >= belowGen) continue;
      if (!holder.ended) {
        holder.ended = true;
        if (holder.round !== null) clearTimeout(holder.round);
        holder.round = null;
        holder.answer({ kind: "ended", reason });
      }
      waiting.push(holder.gone);
    }
    if (waiting.length === 0) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    return Promise.race([Promise.all(waiting).then(() => undefined), timeout]).finally(() => {
      clearTimeout(timer);
      // Ended holders that never said so (their edge is gone) are not kept.
      for (const [id, holder] of holders) if (holder.ended) this.#forget(sid, id, holder);
    });
  }

  #forget(sid: string, holderId: string, holder: Holder): void {
    const holders = this.#seats.get(sid);
    if (holders?.get(holderId) !== holder) return;
    if (holder.round !== null) clearTimeout(holder.round);
    holders.delete(holderId);
    if (holders.size === 0) this.#seats.delete(sid);
  }

  /** The edge closed `holderId`'s connection: forget it (and its call on its way, if any). */
  letGo(sid: string, holderId: string): void {
    const arriving = this.#arriving.get(arrivalKey(sid, holderId));
    if (arriving !== undefined) arriving.gone = true;
    const holder = this.#seats.get(sid)?.get(holderId);
    if (holder === undefined) return;
    if (!holder.ended) holder.answer({ kind: "ended", reason: "left" });
    holder.letGo();
    this.#forget(sid, holderId, holder);
  }
}

function arrivalKey(sid: string, holderId: string): string {
  return `${sid}\n${holderId}`;
}

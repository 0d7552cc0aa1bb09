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
 * One seat, one live connection per key: a live stream (audio, video or
 * server-sent events of no declared length) or a WebSocket is what an origin
 * counts as a listener, so a seat holds at most one under each `live` key
 * (the edge's: one for all of a room's media mounts, else the path of an
 * event stream or a socket's endpoint; edge/live-paths.ts `liveKeyOf`). A newer one replaces the older
 * (`replaced`: cut, the seat itself goes on), and its first call is answered
 * only once the older has let go (or after LET_GO_WAIT_MS), as a moving claim
 * is; of several arriving at once only the newest is held.
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

/**
 * What a holder's call answers: keep holding until `expiresAt` (call again
 * before), or cut: the seat ended, or (`replaced`) a newer live connection of
 * the seat took its place while the seat goes on.
 */
export type HoldAnswer =
  { kind: "held"; expiresAt: number } | { kind: "ended"; reason: SeatEnd } | { kind: "replaced" };

const REPLACED: HoldAnswer = Object.freeze({ kind: "replaced" });

interface Holder {
  gen: number;
  /** A live connection's key (one per seat and key: edge/live-paths.ts `liveKeyOf`), or null. */
  live: string | null;
  /** What it was cut with (its seat ended, or it was replaced), once it was. */
  cutWith: HoldAnswer | null;
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
  /** Holders' calls not yet registered, by seat and holder (seatKey). */
  readonly #arriving = new Map<string, Arriving>();
  /** Seat and live key (seatKey) → the newest live connection on its way in (its turn). */
  readonly #liveTurns = new Map<string, number>();
  #turns = 0;

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
    const key = seatKey(sid, holderId);
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
   * A live connection `holderId` of seat `sid` (generation `gen`) on `key`
   * (edge/live-paths.ts `liveKeyOf`) asks to be held. One already held here is its own (`own`:
   * null, or what it was cut with between two of its calls). A new one takes
   * the newest turn of the seat's key, and the seat's other live connections
   * on that key of its generation or older are replaced (their calls answer
   * `replaced` now); `handover` settles once they have let go, or after
   * `timeoutMs`. Then `isNewestLive` says whether it is still the newest:
   * register it (`wait`) in the same turn of the event loop, or answer it
   * `replaced`.
   */
  askLive(
    sid: string,
    holderId: string,
    gen: number,
    key: string,
    timeoutMs = LET_GO_WAIT_MS,
  ): { own: HoldAnswer | null } | { turn: number; handover: Promise<void> } {
    const holders = this.#seats.get(sid);
    const own = holders?.get(holderId);
    if (own !== undefined && own.live !== null) return { own: own.cutWith };
    const turn = ++this.#turns;
    this.#liveTurns.set(seatKey(sid, key), turn);
    const older: Promise<void>[] = [];
    for (const [id, holder] of holders ?? []) {
      if (id === holderId || holder.live !== key || holder.gen > gen) continue;
      this.#cut(holder, REPLACED);
      older.push(holder.gone);
    }
    if (older.length === 0) return { turn, handover: Promise.resolve() };
    const handover = settledOrLate(Promise.all(older), timeoutMs).then(() => {
      // Replaced connections that never said so (their edge is gone) are not kept.
      for (const [id, holder] of this.#seats.get(sid) ?? [])
        if (holder.ended && holder.live === key) this.#forget(sid, id, holder);
    });
    return { turn, handover };
  }

  /** Is `turn` (askLive) still the newest live connection of `sid` on `key`? If so it is taken: register it now. */
  isNewestLive(sid: string, key: string, turn: number): boolean {
    const at = seatKey(sid, key);
    if (this.#liveTurns.get(at) !== turn) return false;
    this.#liveTurns.delete(at);
    return true;
  }

  /**
   * Register `holder` of seat `sid` (generation `gen`) for one round: the
   * answer comes after `waitMs` (`held` until `expiresAt`) or when the seat
   * ends. `live`: a live connection's key (registered after `askLive`).
   */
  wait(
    sid: string,
    holderId: string,
    gen: number,
    waitMs: number,
    expiresAt: number,
    live: string | null = null,
  ): Promise<HoldAnswer> {
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
        live: live ?? previous?.live ?? null,
        cutWith: null,
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
      this.#cut(holder, { kind: "ended", reason });
      waiting.push(holder.gone);
    }
    if (waiting.length === 0) return Promise.resolve();
    return settledOrLate(Promise.all(waiting), timeoutMs).finally(() => {
      // Ended holders that never said so (their edge is gone) are not kept.
      for (const [id, holder] of holders) if (holder.ended) this.#forget(sid, id, holder);
    });
  }

  /** Answer a holder's pending call with `answer`, once: it is to be cut. */
  #cut(holder: Holder, answer: HoldAnswer): void {
    if (holder.ended) return;
    holder.ended = true;
    holder.cutWith = answer;
    if (holder.round !== null) clearTimeout(holder.round);
    holder.round = null;
    holder.answer(answer);
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
    const arriving = this.#arriving.get(seatKey(sid, holderId));
    if (arriving !== undefined) arriving.gone = true;
    const holder = this.#seats.get(sid)?.get(holderId);
    if (holder === undefined) return;
    if (!holder.ended) holder.answer({ kind: "ended", reason: "left" });
    holder.letGo();
    this.#forget(sid, holderId, holder);
  }
}

/** Resolves when `work` has, or after `ms`, whichever comes first (its timer cleared). */
function settledOrLate(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([work.then(() => undefined), late]).finally(() => clearTimeout(timer));
}

/** A key of one seat's: a holder's arriving call (its id), the newest live connection on a path (the path). */
function seatKey(sid: string, key: string): string {
  return `${sid}\n${key}`;
}

/**
 * A mass leave, for scenarios that have one (mass-leave): every listener
 * seated at `atSecond` leaves within `overSeconds`, a waiting crowd refills
 * the room, and every listener who left keeps presenting its old pass at the
 * edge, about once a second, until the pass expires (hostile: a real client
 * is told its seat ended and drops the pass).
 *
 * The edge honours a presented pass the way src/http/guarded.ts does,
 * from the view cached in the isolate the request lands on (read from one
 * shard once a second, and the shard's copy is at most about a sync round
 * old), with the real functions where they are pure (vouchesForPasses,
 * passTrustMs):
 * - the view lists the pass's lease id (isRevoked; `listed` in shell.ts,
 *   which also checks the revoked passes the shard added): refused;
 * - this isolate already learnt from the seat's shard that the seat ended
 *   (endedHere, view-cache.ts; `EndedSeats`): refused, no call;
 * - the view does not vouch for passes (older than PASS_VIEW_MAX_AGE_MS, see
 *   vouchesForPasses), the isolate has none, or the pass is too old to be
 *   honoured from a view (RoomDesk.wantsRenewal: older than passTrustMs,
 *   pass-trust.ts, i.e. `exp` − now < passTtl − passTrustMs): the seat's shard
 *   is asked (a renewal, which knows the truth: a seat
 *   given back is gone), and waits while the shard syncs. Gone: refused, and
 *   this isolate remembers it until the pass's `exp` (noteEnded). Renewed:
 *   served. (Unavailable — the shard cannot be reached — is answered 503
 *   and never served; the simulated edge always reaches its shards.)
 * - otherwise: served at the origin.
 * A pass past its `exp` (whole seconds, as signed) is refused by the token
 * check; the listener then has nothing left to present and stops.
 *
 * Which isolate: the edge isolates are locations of `isolatesPerLocation`
 * each (run.ts assumes ~300 × 4); a listener's requests all reach its own
 * location (anycast), each landing on one of its isolates at random. So a
 * left pass costs its shard at most one renewal per isolate of its location
 * once it is older than passTrustMs (a listener spread over every isolate
 * would cost about one per request: `isolatesPerLocation` = isolates).
 *
 * A seat given back is freed when the coordinator confirms its revocation
 * (CONFIRM_AFTER_MS after listing it), or else at its lease's new expiry,
 * `releaseAt` (lease.ts): passTrustMs plus CLOCK_SKEW_MS after the lease's
 * last renewal, once its passes are all too old to be honoured from any
 * view. Seated listeners renew every passTrustMs (world.ts: a listener's
 * requests renew its pass on the way once it is that old), so a left pass
 * has between passTtl − passTrustMs and all of its lifetime left when its
 * holder leaves, and its seat is held for 1 s to passTrustMs + 1 s after
 * the leave unless confirmed sooner.
 *
 * Not modelled, to stay hostile: the leave's own isolate adding the
 * revocation to its view (expireView), and views that joins bring back
 * (rememberView). Also not modelled: clock skew (every machine reads the
 * same simulated clock, so CLOCK_SKEW_MS in CONFIRM_AFTER_MS and in
 * releaseAt is pure margin here).
 *
 * What is measured:
 * - left passes served after their seat was freed (by the coordinator's
 *   confirmation, or at release): must be 0;
 * - the distinct seats served at the origin in each second (calendar
 *   seconds): every listener seated and not left at some moment of the
 *   second — taken to be served, the worst case for this count: its pass is
 *   valid and its seat its own, so the edge serves it from a view or after a
 *   renewal — plus every left listener whose pass was served in that second
 *   and who had left before it began. Must never exceed the capacity;
 * - the refill: from the first leave until the listeners seated and not
 *   left are back at capacity (and at 99 % of it);
 * - the renewals left passes cost their shards.
 *
 * Cohorts: one simulated listener stands for `cohort` listeners who behave
 * alike (same shard, same moments, same isolate). Every count here is in
 * simulated listeners and multiplied back by the cohort in the report, so a
 * left pass served after its seat was freed counts for the whole cohort, and
 * the distinct seats compare with the capacity in simulated listeners
 * (capacity ÷ cohort). The room's revocation list and a shard's report are
 * limited to MAX_VIEW_REVOKED ÷ cohort entries in the simulation (see
 * world.ts), so a cohort never lists, and has confirmed, more than the real
 * room would; an isolate remembers MAX_ENDED ÷ cohort ended seats.
 */
import { EndedSeats, MAX_ENDED } from "../src/edge/view-cache.ts";
import { NEVER } from "./listeners.ts";

export interface MassLeaveModel {
  /** Every listener seated at this second leaves within the next `overSeconds`, each at a uniform random moment. */
  atSecond: number;
  overSeconds: number;
  /** A left listener presents its pass again after this long (±20 %), until the pass expires. */
  retryMs: number;
  /** Edge isolates per location: a listener's requests land on one of its location's, at random. */
  isolatesPerLocation: number;
}

/** Why a left pass was not served, or where it was. */
export interface LeftPassCounts {
  /** Presentations of left passes (each one edge request). */
  requests: number;
  /** Refused from the isolate's view: it lists the lease id. */
  refusedByView: number;
  /** Refused by the isolate without a call: its shard told this isolate before that the seat ended (endedHere). */
  refusedInIsolate: number;
  /** Sent to the seat's shard because the view did not vouch for passes (too old, or none). */
  askedShardStaleView: number;
  /** Sent to the seat's shard because the pass was older than passTrustMs (wantsRenewal: the edge renews it). */
  askedShardToRenew: number;
  /** Refused by the shard (the seat was given back). */
  refusedByShard: number;
  /** Served at the origin while the seat was still held for it (allowed: nobody else has it). */
  servedWhileHeld: number;
  /** Served at the origin after its seat was freed: must be 0. */
  servedAfterFree: number;
}

/** One left pass served after its seat was freed (the first few are kept, for the failure message). */
export interface LeftPassViolation {
  listener: number;
  leftAtMs: number;
  freedAtMs: number;
  servedAtMs: number;
  /** How old the revocations of the view that served it were (ms), or null when the shard served it. */
  viewAgeMs: number | null;
}

export class MassLeave {
  readonly model: MassLeaveModel;
  /** Capacity in simulated listeners. */
  readonly capacity: number;
  /** Per listener: its lease id (while it has one). */
  readonly sids: string[];
  /** Per listener: when its pass stops verifying (ms, the signed `exp` in whole seconds), or NEVER. */
  readonly passEnd: Int32Array;
  readonly leftAt: Int32Array;
  readonly freedAt: Int32Array;
  /** Per listener: the last second it was counted among the distinct seats served as a left listener. */
  readonly #counted: Int32Array;
  readonly counts: LeftPassCounts = {
    requests: 0,
    refusedByView: 0,
    refusedInIsolate: 0,
    askedShardStaleView: 0,
    askedShardToRenew: 0,
    refusedByShard: 0,
    servedWhileHeld: 0,
    servedAfterFree: 0,
  };
  readonly violations: LeftPassViolation[] = [];

  /** Renewals of left passes their shards ran (each one Durable Object request, among the heartbeats). */
  shardRenewals = 0;
  /** Most renewals one left listener's passes cost its shard. */
  maxShardRenewalsPerLeaver = 0;
  /** Per listener: renewals its left pass cost its shard. */
  readonly #renewalsOf: Uint16Array;
  /** Per isolate: the ended seats it learnt of from their shards (view-cache.ts EndedSeats), made when first needed. */
  readonly #ended: (EndedSeats<number> | null)[];
  /** Per listener: the isolate whose renewal of its left pass is under way (to note the answer there). */
  readonly #asking: Int32Array;
  readonly #isolates: number;
  readonly #locations: number;
  readonly #maxEnded: number;
  /** Listeners who left in the mass leave. */
  leavers = 0;
  lastLeaveMs: number | null = null;
  /** Seated and not left, now and at the start of the second being counted. */
  listening = 0;
  #listeningAtStart = 0;
  #admittedThisSecond = 0;
  #leftServedThisSecond = 0;
  #second = 0;
  peakDistinct = 0;
  peakDistinctAtSecond = 0;
  /** Left listeners served in the second of the peak (they are part of it). */
  peakDistinctLeftServed = 0;
  /** Most left listeners served in one second (those who had left before it), when, and the distinct seats then. */
  peakLeftServed = 0;
  peakLeftServedAtSecond = 0;
  peakLeftServedDistinct = 0;
  /** The oldest view (age of its revocations, ms) a left pass was served from. */
  maxServedViewAgeMs = 0;
  /** When the listeners seated and not left were back at capacity (and at 99 % of it) after the first leave. */
  refilledAtMs: number | null = null;
  refilled99AtMs: number | null = null;
  /** Fewest seated and not left after the mass leave began. */
  lowestListening = Infinity;
  lowestListeningAtMs = 0;
  /** Most revocations the coordinator listed at once (simulated listeners), and when. */
  peakListed = 0;
  peakListedAtMs = 0;

  /**
   * `capacity` in simulated listeners; `isolates` at the edge; `cohort`:
   * listeners one simulated listener stands for.
   */
  constructor(model: MassLeaveModel, listeners: number, capacity: number, isolates = 1, cohort = 1) {
    this.model = model;
    this.capacity = capacity;
    this.#isolates = isolates;
    this.#locations = Math.max(1, Math.floor(isolates / Math.max(1, model.isolatesPerLocation)));
    this.#maxEnded = Math.max(1, Math.floor(MAX_ENDED / cohort));
    this.#ended = new Array<null>(isolates).fill(null);
    this.#asking = new Int32Array(listeners).fill(-1);
    this.#renewalsOf = new Uint16Array(listeners);
    this.sids = new Array<string>(listeners);
    this.passEnd = new Int32Array(listeners).fill(NEVER);
    this.leftAt = new Int32Array(listeners).fill(NEVER);
    this.freedAt = new Int32Array(listeners).fill(NEVER);
    this.#counted = new Int32Array(listeners).fill(-1);
  }

  get startMs(): number {
    return this.model.atSecond * 1000;
  }

  /** Start of second `sec`: count the second before. */
  second(sec: number): void {
    if (sec > 0) this.#close();
    this.#second = sec;
    this.#listeningAtStart = this.listening;
  }

  /** At the end of the run: count the last second. */
  finish(): void {
    this.#close();
  }

  #close(): void {
    const distinct = this.#listeningAtStart + this.#admittedThisSecond + this.#leftServedThisSecond;
    if (distinct > this.peakDistinct) {
      this.peakDistinct = distinct;
      this.peakDistinctAtSecond = this.#second;
      this.peakDistinctLeftServed = this.#leftServedThisSecond;
    }
    if (this.#leftServedThisSecond > this.peakLeftServed) {
      this.peakLeftServed = this.#leftServedThisSecond;
      this.peakLeftServedAtSecond = this.#second;
      this.peakLeftServedDistinct = distinct;
    }
    this.#admittedThisSecond = 0;
    this.#leftServedThisSecond = 0;
  }

  /** Listener `id` got a seat (lease `sid`) at `t`, with a pass valid until `expiresAt` (ms since the start). */
  admitted(id: number, sid: string, expiresAt: number, t: number): void {
    this.sids[id] = sid;
    this.passEnd[id] = passEndOf(expiresAt);
    this.listening += 1;
    this.#admittedThisSecond += 1;
    if (t < this.startMs) return;
    if (this.refilled99AtMs === null && this.listening >= 0.99 * this.capacity) this.refilled99AtMs = t;
    if (this.refilledAtMs === null && this.listening >= this.capacity) this.refilledAtMs = t;
  }

  /** Its pass was renewed (at the shard): valid until `expiresAt` (ms since the start). */
  renewed(id: number, expiresAt: number): void {
    this.passEnd[id] = passEndOf(expiresAt);
  }

  /** Listener `id` gave its seat back at `t` (`mass`: in the mass leave). */
  left(id: number, t: number, mass: boolean): void {
    this.leftAt[id] = t;
    this.#fewer(t);
    if (!mass) return;
    this.leavers += 1;
    this.lastLeaveMs = Math.max(this.lastLeaveMs ?? t, t);
  }

  /** Listener `id` lost its seat (its lease lapsed). */
  lost(t: number): void {
    this.#fewer(t);
  }

  #fewer(t: number): void {
    this.listening -= 1;
    if (t >= this.startMs && this.listening < this.lowestListening) {
      this.lowestListening = this.listening;
      this.lowestListeningAtMs = t;
    }
  }

  /** The seat that listener `id` gave back was freed at `t`. */
  freed(id: number, t: number): void {
    this.freedAt[id] = t;
  }

  /** Does listener `id`'s pass still verify at `t`? */
  passValid(id: number, t: number): boolean {
    return t < this.passEnd[id]!;
  }

  /**
   * The isolate listener `id`'s request lands on (`r`: a uniform draw in
   * [0, 1)): one of its location's, the location fixed per listener.
   */
  isolateOf(id: number, r: number): number {
    const per = Math.min(this.model.isolatesPerLocation, this.#isolates);
    const location = (Math.imul(id + 1, 0x9e3779b1) >>> 0) % this.#locations;
    return (location * per + Math.floor(r * per)) % this.#isolates;
  }

  /** Has `isolate` learnt from its shard that listener `id`'s seat ended (endedHere)? */
  endedHere(isolate: number, id: number, t: number): boolean {
    return this.#ended[isolate]?.has(id, t) ?? false;
  }

  /** `isolate` asks listener `id`'s shard to renew its left pass. */
  asking(id: number, isolate: number): void {
    this.#asking[id] = isolate;
  }

  /** The shard answered a renewal of listener `id`'s left pass: gone (the isolate that asked remembers it) or renewed. */
  shardAnswered(id: number, gone: boolean): void {
    this.shardRenewals += 1;
    const n = (this.#renewalsOf[id] = Math.min(0xffff, this.#renewalsOf[id]! + 1));
    this.maxShardRenewalsPerLeaver = Math.max(this.maxShardRenewalsPerLeaver, n);
    const isolate = this.#asking[id]!;
    this.#asking[id] = -1;
    if (!gone) return;
    this.counts.refusedByShard += 1;
    if (isolate < 0) return;
    let memory = this.#ended[isolate];
    if (memory == null) memory = this.#ended[isolate] = new EndedSeats<number>(this.#maxEnded);
    memory.note(id, this.passEnd[id]!);
  }

  /** The room's revocation list had `listed` entries at `t`. */
  listedNow(listed: number, t: number): void {
    if (listed > this.peakListed) {
      this.peakListed = listed;
      this.peakListedAtMs = t;
    }
  }

  /** A left pass of listener `id` was served at the origin at `t` (`viewAgeMs`: from a view that old; null: by its shard). */
  served(id: number, t: number, viewAgeMs: number | null): void {
    const sec = Math.floor(t / 1000);
    if (this.leftAt[id]! < sec * 1000 && this.#counted[id] !== sec) {
      this.#counted[id] = sec;
      this.#leftServedThisSecond += 1;
    }
    if (viewAgeMs !== null) this.maxServedViewAgeMs = Math.max(this.maxServedViewAgeMs, viewAgeMs);
    const freed = this.freedAt[id]!;
    if (freed === NEVER || freed > t) {
      this.counts.servedWhileHeld += 1;
      return;
    }
    this.counts.servedAfterFree += 1;
    if (this.violations.length < 10) {
      this.violations.push({ listener: id, leftAtMs: this.leftAt[id]!, freedAtMs: freed, servedAtMs: t, viewAgeMs });
    }
  }

  /** Why the run must fail: a left pass served after its seat was freed, or more seats served than there are. */
  failures(cohort: number): string[] {
    const out: string[] = [];
    if (this.counts.servedAfterFree > 0) {
      const v = this.violations[0]!;
      out.push(
        `${(this.counts.servedAfterFree * cohort).toLocaleString("en-US")} left passes were served after their seat ` +
          `was freed (first: listener ${v.listener} left at ${v.leftAtMs} ms, its seat was freed at ${v.freedAtMs} ms, ` +
          `its pass served at ${v.servedAtMs} ms ` +
          (v.viewAgeMs === null ? "by its shard" : `from a view whose revocations were ${v.viewAgeMs} ms old`) +
          ")",
      );
    }
    if (this.peakDistinct > this.capacity) {
      out.push(
        `${(this.peakDistinct * cohort).toLocaleString("en-US")} distinct seats were served at the origin in ` +
          `second ${this.peakDistinctAtSecond}, above the capacity of ${(this.capacity * cohort).toLocaleString("en-US")}`,
      );
    }
    return out;
  }
}

/** When a pass for a lease expiring at `expiresAt` (ms since the start, a whole second) stops verifying: its `exp`, in whole seconds. */
export function passEndOf(expiresAt: number): number {
  return Math.floor(expiresAt / 1000) * 1000;
}

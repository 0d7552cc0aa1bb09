/**
 * The coordinator of a sharded room: one per room, it decides how many seats
 * each shard may hold and whom each shard may call, so that the strict cap,
 * the admission rate and first-in-first-out (to one second) hold across
 * every shard.
 *
 * Shards sync with it about once a second: a shard sends a report (what it
 * holds, its cursor, its arrivals per second) and gets back an order (its new
 * allowance, how far it may call, the room's mode, and the room-wide view the
 * edge answers waiting polls from). A sync is atomic at the shard, so the
 * order applies to exactly the state that was reported.
 *
 * Strict cap, by construction: the coordinator counts for every shard the
 * larger of the allowance it last ordered and the allowance the shard last
 * confirmed, and never lets their sum exceed `capacity`. A shard never holds
 * more than its allowance (live + reserved <= capacity of its ledger), and an
 * allowance only grows through an order, so the room never holds more seats
 * than `capacity` — whatever order is lost, and whichever shard restarts.
 *
 * Rate: tokens refill at `admitPerMinute` like a single room's bucket. Every
 * seat a shard could fill (its reservations and unused allowance) earmarks a
 * token; admissions reported by shards spend them. So admissions in any
 * 60 s window stay within `admitPerMinute + burst`.
 *
 * Order: arrivals are counted per second on each shard. The coordinator
 * walks those seconds oldest first across all shards and hands each shard
 * exactly its share, so nobody is called while someone who arrived more
 * than a second earlier still waits (except on a shard that is lost, whose
 * listeners are called when it is back).
 *
 * Pure: every call takes `now`; state lives in memory and is written through
 * the injected store.
 */
import { CLOCK_SKEW_MS } from "./ledger.ts";
import { type ArrivalBin, uncalledIn } from "./arrivals.ts";
import {
  type AdmissionLimits,
  type Branding,
  calls as modeCalls,
  type ListenerRules,
  modeAt,
  type Protection,
} from "./config.ts";

/** What the coordinator runs with: the room's limits and, for the edge, its shard count and listener rules. */
export type CoordinatorConfig = AdmissionLimits & {
  shards?: number;
  shuffleSeed?: number | null;
} & Partial<ListenerRules> &
  Partial<Branding> &
  Partial<Protection>;
import { activeRatePerSecond, emptyFlow, type Flow, ratePerSecond, record } from "./flow.ts";
import { current, effectiveLimits, healthy, observe, type OriginHealth, type OriginSignal } from "./health.ts";
import { type Bucket, burstOf, refill } from "./rate.ts";
import type { Draw } from "./shuffle.ts";
import { addWaits, noWaits } from "./waits.ts";
import { type Pace, paceWindow, roundStart, SYNC_INTERVAL_MS } from "./rounds.ts";

export { CLOCK_SKEW_MS, SYNC_INTERVAL_MS };
/** A shard silent for this long no longer holds back the order of others. */
export const LOST_AFTER_MS = 5 * SYNC_INTERVAL_MS;
/** Fewest seats a shard may admit at once on its own while nobody waits anywhere. */
export const SPARE_FLOOR = 4;
/** Most seconds of arrivals the view carries one by one. */
export const MAX_VIEW_SECONDS = 3_600;
/** Most revoked passes the view carries. */
export const MAX_VIEW_REVOKED = 2_000;
/**
 * An edge honours a pass only from a view whose revocations were current at
 * most this long ago (`GlobalView.asOf`); with an older view it asks the
 * seat's shard instead (see app.tsx).
 */
export const PASS_VIEW_MAX_AGE_MS = 3_000;
/**
 * A revocation published this long ago is in every view an edge may still
 * honour a pass from: its seat can be reused.
 */
export const CONFIRM_AFTER_MS = PASS_VIEW_MAX_AGE_MS + CLOCK_SKEW_MS;

/** A pass that can no longer be honoured: its lease id and the latest `exp` any of its passes has (ms). */
export interface RevokedPass {
  sid: string;
  until: number;
  /** Its seat moved to another device of the ticket (kept when confirmed), rather than given back (freed). */
  moved?: boolean;
}

/**
 * A revocation in the room's list: listed from `at` (coordinator time) until
 * every pass of it has expired. Its seat is freed CONFIRM_AFTER_MS after `at`.
 */
export interface Publication extends RevokedPass {
  shard: number;
  at: number;
}

/** What a shard tells the coordinator. */
export interface ShardReport {
  shard: number;
  /** Version of the last order this shard applied (0: none yet). */
  appliedVersion: number;
  /** The allowance in force at the shard. */
  capacity: number;
  live: number;
  reserved: number;
  /** Last sequence number called on this shard. */
  cursor: number;
  /** Last sequence number handed out on this shard. */
  tail: number;
  admittedTotal: number;
  left: number;
  expired: number;
  abandoned: number;
  /** Arrival bins from the last acknowledged `completeBefore` on (full counts). */
  bins: ArrivalBin[];
  /** Every arrival before this second is in the bins reported so far. */
  completeBefore: number;
  /** Ended leases still holding their seat, longest ended first: to be listed, then confirmed. */
  ending: RevokedPass[];
  /** How many there are (the list above may be cut short). */
  endingCount?: number;
  /** The prequeue's random order, once drawn at the start (absent or null: none). */
  draw?: Draw | null;
  /** How long its admitted listeners waited (waits.ts), and arrivals it counted as offered the recording. */
  waits?: number[];
  overflowed?: number;
  /** Arrivals that took their place with a solved challenge (under-attack mode). */
  solved?: number;
}

/** What the coordinator tells a shard. */
export interface ShardOrder {
  version: number;
  /** The shard's allowance: live + reserved may not exceed it. */
  capacity: number;
  /** Grant a new lease only while live leases are below this (at most the allowance). */
  liveLimit: number;
  /** Call no further than this sequence number; null: as far as the allowance allows. */
  callThrough: number | null;
  /** Spread the calls up to `callThrough` over this window (null: call them at once). */
  pace: Pace | null;
  /**
   * With `callThrough` null (a spare allowance): seat arrivals freely only
   * until this time, the end of the round (the shard's next sync renews it
   * while nobody waits elsewhere); null: no calls beyond `callThrough`.
   */
  openUntil: number | null;
  /** The start (ms), and this shard's seed for the prequeue's draw at the start (null: arrival order). */
  startsAt: number | null;
  shuffleSeed: number | null;
  mode: AdmissionLimits["mode"];
  view: GlobalView;
  /** Ended leases of this shard whose passes no edge can still honour: free their seats. */
  confirmed: string[];
}

/** The room-wide picture an edge answers waiting polls from. */
export interface GlobalView {
  mode: AdmissionLimits["mode"];
  capacity: number;
  admitPerMinute: number;
  /** Shards new arrivals are spread over. */
  shards: number;
  /** What listeners are told, and when they are offered the recording (see ListenerRules). */
  maxWaitSeconds: number | null;
  maxQueue: number | null;
  /** The start (ms), or null. */
  startsAt: number | null;
  recordingUrl: string | null;
  /** How the waiting room looks (operator text: shown as text, never markup). */
  branding: Branding;
  /** Under-attack mode: the proof of work asked of new arrivals (0: none). */
  challengeBits: number;
  /** Per shard: sequence numbers up to this one have been called, or are being called (see `paces`). */
  cursors: Record<number, number>;
  /** Shards calling a batch paced over a window: the cursor at `now` is `pacedThrough(cursors[shard], pace, now)`. */
  paces: Record<number, Pace>;
  /** Shards whose prequeue was drawn in a random order at the start: a sequence number's place is `rankOf(seq, draw)`. */
  draws?: Record<number, Draw>;
  /** Listeners not yet called, per second of arrival, from `binStart`. */
  binStart: number;
  remaining: number[];
  /** Arrivals and calls per second lately: over the last minute, or since they started if later. */
  arrivalsPerSecond: number;
  flowPerSecond: number;
  live: number;
  /** Lease ids whose passes must be refused: every revocation published up to `asOf` whose passes are unexpired. */
  revoked: string[];
  /** When the per-second counts were taken (ms). */
  at: number;
  /** When the coordinator answered with this view: the revocations are complete as of then (ms). */
  asOf: number;
}

export interface ShardRecord {
  shard: number;
  /** The allowance the shard last confirmed having. */
  confirmed: number;
  /** The allowance last ordered. */
  sent: number;
  sentVersion: number;
  /** Sequence numbers the shard has called or been ordered to call. */
  through: number;
  /** How the calls of its last order are spread over time (absent or null: at once). */
  pace?: Pace | null;
  live: number;
  reserved: number;
  cursor: number;
  tail: number;
  admittedTotal: number;
  left: number;
  expired: number;
  abandoned: number;
  completeBefore: number;
  lastSync: number;
  /** Arrivals per second on this shard between its last two syncs. */
  arrivalRate: number;
  /** Ended leases still holding their seat (revocation not yet confirmed), as last reported. */
  ending?: number;
  draw?: Draw | null;
  waits?: number[];
  overflowed?: number;
  solved?: number;
}

/** What edges saw of new arrivals in under-attack mode (reported in batches, see arrival-tally.ts). */
export interface EdgeArrivals {
  /** Challenges handed out. */
  challenged: number;
  /** Solutions refused: wrong, expired, forged, for another room, or used before. */
  failed: number;
  /** Joins refused by the per-client limit. */
  limited: number;
}

export function noEdgeArrivals(): EdgeArrivals {
  return { challenged: 0, failed: 0, limited: 0 };
}

export interface CoordinatorCore {
  version: number;
  bucket: Bucket;
  calls: Flow;
  arrivals: Flow;
  peakLive: number;
  peakAt: number | null;
  /** The origin's health (absent in records written before it was kept: healthy). */
  health?: OriginHealth;
  /** Arrivals as edges saw them in under-attack mode (absent: none reported yet). */
  edge?: EdgeArrivals;
}

/** Storage for the coordinator: write-through of its in-memory state. */
export interface CoordinatorStore {
  loadCore(): CoordinatorCore | null;
  saveCore(core: CoordinatorCore): void;
  loadShards(): ShardRecord[];
  saveShard(record: ShardRecord): void;
  /** All stored bins, any order. */
  loadBins(): { shard: number; bins: ArrivalBin[] }[];
  /** Insert or replace these bins of a shard. */
  saveBins(shard: number, bins: ArrivalBin[]): void;
  /** Delete a shard's bins whose every arrival is called. */
  dropCalledBins(shard: number, through: number): void;
  /** The published revocations (see Publication). */
  loadPublications(): Publication[];
  addPublications(publications: Publication[]): void;
  /** Forget publications whose passes have all expired (`until` at or before `before`). */
  dropPublications(before: number): void;
}

/** Room-wide totals for stats. */
export interface RoomTotals {
  live: number;
  reserved: number;
  waiting: number;
  joined: number;
  admittedTotal: number;
  left: number;
  expired: number;
  abandoned: number;
  /** Seats whose lease ended (given back, or moving to another device) and that wait for their revocation to be confirmed. */
  ending: number;
  /** Revocations in the room's list now. */
  revocationsListed: number;
  peakLive: number;
  peakAt: number | null;
  allowance: number;
  shards: number;
  activeShards: number;
  flowPerSecond: number;
  arrivalsPerSecond: number;
  /** The limits in force (below the configured ones while the origin struggles). */
  effectiveCapacity: number;
  effectiveAdmitPerMinute: number;
  /** The origin's health factor (1: healthy) and distress reports received. */
  originFactor: number;
  originDistress: number;
  /** Waits of admitted listeners (waits.ts), all shards. */
  waits: number[];
  overflowed: number;
  /** Arrivals that took a place with a solved challenge (exact), and what edges reported of the rest. */
  solved: number;
  edge: EdgeArrivals;
}

function initialCore(now: number, admitPerMinute: number): CoordinatorCore {
  return {
    version: 0,
    bucket: { tokens: burstOf(admitPerMinute), at: now },
    calls: emptyFlow(now),
    arrivals: emptyFlow(now),
    peakLive: 0,
    peakAt: null,
  };
}

function newRecord(shard: number, now: number): ShardRecord {
  return {
    shard,
    confirmed: 0,
    sent: 0,
    sentVersion: 0,
    through: 0,
    live: 0,
    reserved: 0,
    cursor: 0,
    tail: 0,
    admittedTotal: 0,
    left: 0,
    expired: 0,
    abandoned: 0,
    completeBefore: Math.floor(now / 1000),
    lastSync: now,
    arrivalRate: 0,
  };
}

export class Coordinator {
  readonly #store: CoordinatorStore;
  #config: CoordinatorConfig;
  #core: CoordinatorCore;
  readonly #shards = new Map<number, ShardRecord>();
  /** Per shard, its uncalled arrival bins, oldest first. */
  readonly #bins = new Map<number, ArrivalBin[]>();
  /** The same bins by second, then shard. */
  readonly #bySecond = new Map<number, Map<number, ArrivalBin>>();
  /** Listeners not yet called (or ordered to be), per second, all shards. */
  readonly #uncalled = new Map<number, number>();
  /** Seconds that may have uncalled listeners, ascending (stale entries skipped, then compacted). */
  #seconds: number[] = [];
  #view: GlobalView | null = null;
  /** Cursors, audience or revocations changed since the view was built. */
  #stale = false;
  /** The room's revocation list, in publication order (at most MAX_VIEW_REVOKED). */
  readonly #published = new Map<string, Publication>();
  /** The earliest `until` among publications (prune when passed). */
  #nextUnpublish = Infinity;

  constructor(store: CoordinatorStore, config: CoordinatorConfig, now: number) {
    this.#store = store;
    this.#config = config;
    this.#core = store.loadCore() ?? initialCore(now, config.admitPerMinute);
    for (const r of store.loadShards()) this.#shards.set(r.shard, r);
    for (const p of store.loadPublications().sort((a, b) => a.at - b.at)) {
      this.#published.set(p.sid, p);
      this.#nextUnpublish = Math.min(this.#nextUnpublish, p.until);
    }
    for (const { shard, bins } of store.loadBins()) {
      const sorted = [...bins].sort((a, b) => a.bin - b.bin);
      this.#bins.set(shard, sorted);
      const through = this.#shards.get(shard)?.through ?? 0;
      for (const b of sorted) {
        this.#index(shard, b);
        this.#addUncalled(b.bin, uncalledIn(b, through));
      }
    }
  }

  get config(): CoordinatorConfig {
    return this.#config;
  }

  /** The limits the room runs with at `now`: the config's, lowered while the origin struggles. */
  limits(now: number): CoordinatorConfig {
    return effectiveLimits(this.#config, this.#core.health ?? healthy(now), now);
  }

  /** The mode in force: `hold` before the start. */
  #modeAt(now: number): AdmissionLimits["mode"] {
    return modeAt(this.#config.mode, this.#startsAt(), now);
  }

  #startsAt(): number | null {
    const starts = this.#config.startsAt;
    return typeof starts === "string" ? Date.parse(starts) : null;
  }

  /** Each shard draws its prequeue with a seed of its own, derived from the room's recorded one. */
  #shuffleSeed(shard: number): number | null {
    const seed = this.#config.shuffleSeed;
    if (this.#config.shuffleAtStart !== true || typeof seed !== "number") return null;
    return (seed + Math.imul(shard, 0x9e3779b9)) >>> 0;
  }

  /** The origin's health as of `now`. */
  health(now: number): OriginHealth {
    return current(this.#core.health ?? healthy(now), now);
  }

  /** An edge's report of the origin's answers; distress lowers the limits (see health.ts). */
  reportOrigin(signal: OriginSignal, now: number): OriginHealth {
    const before = this.#core.health ?? healthy(now);
    let live = 0;
    for (const r of this.#shards.values()) live += r.live;
    // Cut only while the limits still let anyone in: below the audience, a
    // cut stops nothing more and only slows the way back.
    const after = observe(before, signal, now, this.limits(now).capacity > live);
    if (after.factor !== before.factor || after.distress !== before.distress) {
      this.#core.health = after;
      this.#store.saveCore(this.#core);
      this.#view = null;
    }
    return this.health(now);
  }

  /** An edge's batch of what it saw of new arrivals in under-attack mode; adds to the room's running totals. */
  reportArrivals(seen: EdgeArrivals): EdgeArrivals {
    const total = this.#core.edge ?? noEdgeArrivals();
    const add = (n: number) => (Number.isSafeInteger(n) && n > 0 ? n : 0);
    this.#core.edge = {
      challenged: total.challenged + add(seen.challenged),
      failed: total.failed + add(seen.failed),
      limited: total.limited + add(seen.limited),
    };
    this.#store.saveCore(this.#core);
    return { ...this.#core.edge };
  }

  /** New room config: takes effect at each shard's next sync. Lowering capacity evicts nobody. */
  setConfig(config: CoordinatorConfig): void {
    this.#config = config;
    this.#view = null;
  }

  /**
   * List a shard's ended leases in the room's revocations (while there is
   * room) and say which of them are confirmed: listed long enough ago that
   * every view an edge may honour a pass from carries them. Confirmed seats
   * are freed at the shard; the rest stay taken (at worst until their
   * passes expire), so no pass is honoured once its seat can be reused.
   */
  #publish(report: ShardReport, now: number): { sids: string[]; freed: number } {
    this.#unpublishExpired(now);
    const fresh: Publication[] = [];
    const confirmed: string[] = [];
    let freed = 0;
    for (const r of report.ending ?? []) {
      let p = this.#published.get(r.sid);
      if (p === undefined) {
        // The list's room goes to ids it can free early: one released (`until`) before it
        // could be confirmed gains nothing from it.
        if (this.#published.size >= MAX_VIEW_REVOKED || r.until <= now + CONFIRM_AFTER_MS) continue;
        p = { sid: r.sid, until: r.until, shard: report.shard, at: now };
        this.#published.set(p.sid, p);
        this.#nextUnpublish = Math.min(this.#nextUnpublish, p.until);
        fresh.push(p);
      } else if (p.shard === report.shard && p.at + CONFIRM_AFTER_MS <= now) {
        confirmed.push(p.sid);
        if (r.moved !== true) freed += 1;
      }
    }
    if (fresh.length > 0) {
      this.#store.addPublications(fresh);
      this.#stale = true;
    }
    return { sids: confirmed, freed };
  }

  /** Publications whose passes have all expired (on every clock) leave the list. */
  #unpublishExpired(now: number): void {
    if (this.#nextUnpublish + CLOCK_SKEW_MS > now) return;
    let next = Infinity;
    for (const [sid, p] of this.#published) {
      if (p.until + CLOCK_SKEW_MS <= now) this.#published.delete(sid);
      else next = Math.min(next, p.until);
    }
    this.#nextUnpublish = next;
    this.#store.dropPublications(now - CLOCK_SKEW_MS);
    this.#stale = true;
  }

  /** Revocations listed now (tests, stats). */
  publishedCount(): number {
    return this.#published.size;
  }

  /** Take a shard's report and answer with its order. */
  sync(reported: ShardReport, now: number): ShardOrder {
    let report = reported;
    const rec = this.#shards.get(report.shard) ?? newRecord(report.shard, now);
    this.#shards.set(report.shard, rec);
    // Seats confirmed now are free once the shard applies this order (atomically with
    // the report): plan with them free, rather than a round later.
    const confirmed = this.#publish(report, now);
    if (confirmed.sids.length > 0) {
      const ending = (report.endingCount ?? report.ending.length) - confirmed.sids.length;
      report = { ...report, live: Math.max(0, report.live - confirmed.freed), endingCount: Math.max(0, ending) };
    }
    this.#absorb(rec, report, now);
    // The limits in force: the configured ones, lowered while the origin
    // struggles, as of the round's start (every sync of a round alike).
    const limits = this.limits(roundStart(now));

    // Calls of the last order still being paced stay ordered and keep their
    // seats and tokens (as far as the allowance in force and the room still
    // hold them); any other listener ordered but not called (no seat came
    // free) is walked again.
    const mode = this.#modeAt(now);
    const open = modeCalls(mode);
    const others = this.#othersAccounted(report.shard);
    const seated = report.live + report.reserved;
    const pacing = open && rec.pace !== undefined && rec.pace !== null && now < rec.pace.end;
    const room = Math.min(report.capacity, limits.capacity - others.seats) - seated;
    const pending = pacing ? Math.max(0, Math.min(rec.through - rec.cursor, room)) : 0;
    const held = seated + pending;
    const avail = Math.max(0, limits.capacity - others.seats - held);
    // With several shards active, every sync of a round sees the tokens of the
    // round's start, walks the same seconds and paces its calls over the same
    // window (see rounds.ts), so shards that sync later in the round do not
    // call further than earlier ones. A lone shard needs none of that.
    const rounds = this.#activeCount(now, report.shard) > 1;
    this.#core.bucket = refill(this.#core.bucket, limits.admitPerMinute, rounds ? roundStart(now) : now);
    const tokens = Math.max(0, Math.floor(this.#core.bucket.tokens - others.earmarked - report.reserved - pending));

    // Seats others could take now exclude those this shard has freed but not
    // yet given back (they are released only once the shard confirms).
    const shared = Math.max(0, limits.capacity - others.seats - Math.max(report.capacity, held));
    const plan = open
      ? this.#plan(
          {
            shared: Math.min(shared, avail),
            own: avail - Math.min(shared, avail),
            tokens,
            // Tokens earmarked for seats this shard has not given back yet stay
            // earmarked for other shards until it confirms, like the seats.
            othersTokens: Math.max(0, tokens - Math.max(0, report.capacity - held)),
          },
          report.shard,
          now,
          rounds,
        )
      : this.#plan({ shared: 0, own: 0, tokens: 0, othersTokens: 0 }, report.shard, now, rounds);
    const calls = plan.mine;
    let spare = 0;
    const quiet = rec.arrivalRate === 0 && report.tail === report.cursor;
    // Spare comes only out of what the plan left over (seats it gave to
    // other shards' listeners stay theirs until those shards sync).
    if (plan.othersWaiting === 0 && plan.left > 0 && !quiet) {
      // Nobody waits elsewhere: let this shard seat its own arrivals at once,
      // about two seconds' worth, and no more than its share of what is free.
      // Shards that have not reported their newest arrivals may need seats too:
      // share over every shard of the room, not only the busy ones.
      const among = Math.max(1, this.#config.shards ?? 1, this.#shards.size);
      const share = Math.floor(plan.left / among);
      const demand = Math.ceil(2 * rec.arrivalRate);
      spare = Math.min(plan.left, share, Math.max(SPARE_FLOOR, demand));
    }

    const target = held + calls + spare;
    // Seats this shard may fill with new leases: below what the room can still
    // hold, so a lowered capacity stops claims of seats reserved earlier.
    const liveLimit = Math.max(0, limits.capacity - others.seats);
    this.#core.version += 1;
    rec.sent = target;
    rec.sentVersion = this.#core.version;
    const through = rec.cursor + pending + calls;
    this.#setThrough(rec, through);
    rec.pace = rounds && through > rec.cursor && spare === 0 ? { from: rec.cursor, ...paceWindow(now) } : null;
    if (calls > 0) this.#core.calls = record(this.#core.calls, now, calls);

    this.#store.saveShard(rec);
    this.#store.saveCore(this.#core);
    this.#stale = true;
    return {
      version: rec.sentVersion,
      capacity: target,
      liveLimit,
      callThrough: spare > 0 ? null : rec.through,
      pace: rec.pace,
      openUntil: spare > 0 ? paceWindow(now).end : null,
      startsAt: this.#startsAt(),
      shuffleSeed: this.#shuffleSeed(report.shard),
      mode,
      view: this.view(now),
      confirmed: confirmed.sids,
    };
  }

  /** The room-wide view (recomputed at most once per change). */
  view(now: number): GlobalView {
    // The per-second counts are rebuilt at most once per sync interval; the
    // cursors, the audience and the revocations are always current.
    if (this.#view === null || now - this.#view.at >= SYNC_INTERVAL_MS) {
      const limits = this.limits(now);
      const seconds = this.#liveSeconds();
      const binStart = seconds.length > 0 ? seconds[0]! : Math.floor(now / 1000);
      // Dense from the oldest second waiting, at most MAX_VIEW_SECONDS long: later
      // seconds (a prequeue filed under a start that was since moved or cleared)
      // count in the last one, so the view stays small whatever the spread.
      const span = seconds.length > 0 ? Math.min(MAX_VIEW_SECONDS, seconds[seconds.length - 1]! - binStart + 1) : 0;
      const remaining: number[] = new Array<number>(span).fill(0);
      for (const second of seconds)
        remaining[Math.min(second - binStart, span - 1)]! += this.#uncalled.get(second) ?? 0;
      this.#view = {
        mode: this.#modeAt(now),
        capacity: limits.capacity,
        admitPerMinute: limits.admitPerMinute,
        shards: this.#config.shards ?? 1,
        maxWaitSeconds: this.#config.maxWaitSeconds ?? null,
        maxQueue: this.#config.maxQueue ?? null,
        startsAt: this.#startsAt(),
        recordingUrl: this.#config.recordingUrl ?? null,
        branding: {
          title: this.#config.title ?? null,
          logoUrl: this.#config.logoUrl ?? null,
          accentColor: this.#config.accentColor ?? null,
          message: this.#config.message ?? null,
        },
        challengeBits: this.#config.challengeBits ?? 0,
        ...this.#current(now),
        binStart,
        remaining,
        arrivalsPerSecond: activeRatePerSecond(this.#core.arrivals, now),
        flowPerSecond: activeRatePerSecond(this.#core.calls, now),
        at: now,
        asOf: now,
      };
      this.#stale = false;
    } else if (this.#stale) {
      this.#view = { ...this.#view, ...this.#current(now), asOf: now };
      this.#stale = false;
    } else if (this.#view.asOf !== now) {
      // Nothing changed: the same list, now known current as of now.
      this.#view = { ...this.#view, asOf: now };
    }
    return this.#view;
  }

  /** The parts of the view that change with every sync. */
  #current(now: number): Pick<GlobalView, "cursors" | "paces" | "draws" | "live" | "revoked"> {
    const cursors: Record<number, number> = {};
    const paces: Record<number, Pace> = {};
    const draws: Record<number, Draw> = {};
    let live = 0;
    this.#unpublishExpired(now);
    const revoked = [...this.#published.keys()];
    for (const r of this.#shards.values()) {
      cursors[r.shard] = r.through;
      if (r.pace !== undefined && r.pace !== null && r.pace.end > now && r.through > r.pace.from)
        paces[r.shard] = r.pace;
      if (r.draw !== undefined && r.draw !== null && r.through < r.draw.to) draws[r.shard] = r.draw;
      live += r.live;
    }
    return { cursors, paces, draws, live, revoked };
  }

  /** Room-wide totals, as of each shard's last report. */
  totals(now: number): RoomTotals {
    const limits = this.limits(now);
    const health = this.health(now);
    const t: RoomTotals = {
      live: 0,
      reserved: 0,
      waiting: 0,
      joined: 0,
      admittedTotal: 0,
      left: 0,
      expired: 0,
      abandoned: 0,
      ending: 0,
      revocationsListed: this.#published.size,
      peakLive: this.#core.peakLive,
      peakAt: this.#core.peakAt,
      allowance: 0,
      shards: this.#shards.size,
      activeShards: this.#activeCount(now),
      flowPerSecond: ratePerSecond(this.#core.calls, now),
      arrivalsPerSecond: ratePerSecond(this.#core.arrivals, now),
      effectiveCapacity: limits.capacity,
      effectiveAdmitPerMinute: limits.admitPerMinute,
      originFactor: health.factor,
      originDistress: health.distress,
      waits: noWaits(),
      overflowed: 0,
      solved: 0,
      edge: { ...(this.#core.edge ?? noEdgeArrivals()) },
    };
    for (const r of this.#shards.values()) {
      t.live += r.live;
      t.reserved += r.reserved;
      t.waiting += r.tail - r.cursor;
      t.joined += r.tail;
      t.admittedTotal += r.admittedTotal;
      t.left += r.left;
      t.ending += r.ending ?? 0;
      t.expired += r.expired;
      t.abandoned += r.abandoned;
      t.allowance += Math.max(r.confirmed, r.sent);
      t.waits = addWaits(t.waits, r.waits);
      t.overflowed += r.overflowed ?? 0;
      t.solved += r.solved ?? 0;
    }
    return t;
  }

  /** Indices of the shards that have synced, ascending. */
  shardIndices(): number[] {
    return [...this.#shards.keys()].sort((a, b) => a - b);
  }

  /** Seats the coordinator counts as given out, all shards (never above capacity unless it was lowered). */
  accountedSeats(): number {
    let n = 0;
    for (const r of this.#shards.values()) n += Math.max(r.confirmed, r.sent);
    return n;
  }

  #absorb(rec: ShardRecord, report: ShardReport, now: number): void {
    // Admissions since the last report spend their earmarked tokens.
    const admitted = Math.max(0, report.admittedTotal - rec.admittedTotal);
    if (admitted > 0) {
      this.#core.bucket = refill(this.#core.bucket, this.limits(now).admitPerMinute, roundStart(now));
      this.#core.bucket = { tokens: this.#core.bucket.tokens - admitted, at: this.#core.bucket.at };
    }
    const joined = Math.max(0, report.tail - rec.tail);
    if (joined > 0) this.#core.arrivals = record(this.#core.arrivals, now, joined);
    rec.arrivalRate = (joined * 1000) / Math.max(1000, now - rec.lastSync);

    rec.confirmed = report.capacity;
    if (report.appliedVersion === rec.sentVersion) rec.sent = report.capacity;
    // An order that never arrived: the shard calls only as far as it was told before.
    const through = report.appliedVersion === rec.sentVersion ? Math.max(rec.through, report.cursor) : report.cursor;
    rec.live = report.live;
    rec.reserved = report.reserved;
    rec.tail = report.tail;
    rec.admittedTotal = report.admittedTotal;
    rec.left = report.left;
    rec.expired = report.expired;
    rec.abandoned = report.abandoned;
    rec.completeBefore = Math.max(rec.completeBefore, report.completeBefore);
    rec.lastSync = now;
    rec.ending = report.endingCount ?? report.ending?.length ?? 0;
    rec.draw = report.draw ?? null;
    rec.waits = report.waits ?? rec.waits;
    rec.overflowed = report.overflowed ?? rec.overflowed;
    rec.solved = report.solved ?? rec.solved;
    rec.cursor = report.cursor;

    // Through first: a lost order may have marked bins called that are not.
    this.#setThrough(rec, through);
    if (report.bins.length > 0) this.#mergeBins(rec, report.bins);

    let live = 0;
    for (const r of this.#shards.values()) live += r.live;
    if (live > this.#core.peakLive) {
      this.#core.peakLive = live;
      this.#core.peakAt = now;
    }
  }

  #mergeBins(rec: ShardRecord, incoming: ArrivalBin[]): void {
    const bins = this.#bins.get(rec.shard) ?? [];
    const changed: ArrivalBin[] = [];
    for (const b of incoming) {
      const i = bins.findIndex((x) => x.bin === b.bin);
      if (i >= 0 && bins[i]!.count === b.count && bins[i]!.firstSeq === b.firstSeq) continue;
      const before = i >= 0 ? uncalledIn(bins[i]!, rec.through) : 0;
      const after = uncalledIn(b, rec.through);
      // Bins the shard has called through are done; others are kept even when
      // ordered, in case the order is walked again.
      if (i < 0 && uncalledIn(b, Math.min(rec.through, rec.cursor)) === 0) continue;
      const copy = { ...b };
      if (i >= 0) bins[i] = copy;
      else bins.push(copy);
      this.#index(rec.shard, copy);
      this.#addUncalled(b.bin, after - before);
      changed.push(b);
    }
    bins.sort((a, b) => a.bin - b.bin);
    this.#bins.set(rec.shard, bins);
    if (changed.length > 0) this.#store.saveBins(rec.shard, changed);
  }

  /** Move a shard's called-through mark, keeping the per-second uncalled totals right. */
  #setThrough(rec: ShardRecord, through: number): void {
    const old = rec.through;
    rec.through = through;
    if (through === old) return;
    const bins = this.#bins.get(rec.shard) ?? [];
    for (const b of bins) {
      const delta = uncalledIn(b, through) - uncalledIn(b, old);
      if (delta !== 0) this.#addUncalled(b.bin, delta);
    }
    // A bin goes once the shard has called all of it; until then an order
    // that is walked again (the shard could not call it) finds it.
    const done = Math.min(through, rec.cursor);
    const kept = bins.filter((b) => uncalledIn(b, done) > 0);
    if (kept.length !== bins.length) {
      for (const b of bins) if (uncalledIn(b, done) === 0) this.#unindex(rec.shard, b.bin);
      this.#bins.set(rec.shard, kept);
      this.#store.dropCalledBins(rec.shard, done);
    }
  }

  #index(shard: number, b: ArrivalBin): void {
    let m = this.#bySecond.get(b.bin);
    if (m === undefined) {
      m = new Map();
      this.#bySecond.set(b.bin, m);
    }
    m.set(shard, b);
  }

  #unindex(shard: number, second: number): void {
    const m = this.#bySecond.get(second);
    m?.delete(shard);
    if (m?.size === 0) this.#bySecond.delete(second);
  }

  #addUncalled(second: number, delta: number): void {
    if (delta === 0) return;
    const before = this.#uncalled.get(second) ?? 0;
    const n = before + delta;
    if (n <= 0) {
      // Its bins stay indexed until their shards have called them (see #setThrough).
      this.#uncalled.delete(second);
      return;
    }
    this.#uncalled.set(second, n);
    if (before === 0) {
      const last = this.#seconds[this.#seconds.length - 1];
      if (last === undefined || last < second) this.#seconds.push(second);
      else if (!this.#seconds.includes(second)) {
        this.#seconds.push(second);
        this.#seconds.sort((a, b) => a - b);
      }
    }
  }

  /** Seconds with uncalled listeners, ascending; drops stale entries. */
  #liveSeconds(): number[] {
    let start = 0;
    while (start < this.#seconds.length && !this.#uncalled.has(this.#seconds[start]!)) start++;
    if (start > 0) this.#seconds = this.#seconds.slice(start);
    if (this.#seconds.length > 2 * this.#uncalled.size + 64) {
      this.#seconds = this.#seconds.filter((x) => this.#uncalled.has(x));
    }
    return this.#seconds.filter((x) => this.#uncalled.has(x));
  }

  #othersAccounted(shard: number): { seats: number; earmarked: number } {
    let seats = 0;
    let earmarked = 0;
    for (const r of this.#shards.values()) {
      if (r.shard === shard) continue;
      const accounted = Math.max(r.confirmed, r.sent);
      seats += accounted;
      earmarked += r.reserved + Math.max(0, accounted - r.live - r.reserved);
    }
    return { seats, earmarked };
  }

  #isActive(r: ShardRecord, now: number): boolean {
    const idle = r.tail === r.cursor && r.live + r.reserved === 0 && Math.max(r.confirmed, r.sent) === 0;
    return !idle && now - r.lastSync < LOST_AFTER_MS;
  }

  /** Active shards (`self` counts as active). */
  #activeCount(now: number, self = -1): number {
    let n = 0;
    for (const r of this.#shards.values()) if (r.shard === self || this.#isActive(r, now)) n++;
    return n;
  }

  /**
   * Share calls out oldest second first, across all active shards, and
   * return this shard's part. Only seconds every active shard has fully
   * reported are called. Within one second, shards take turns in an order
   * that rotates with the second. `shared` seats may go to anyone, `own`
   * seats (freed here, not yet given back) only to this shard; the walk stops
   * at the first listener it cannot serve, so nobody younger is called ahead
   * of it. `othersWaiting` counts listeners of other active shards left
   * waiting; `left` is what no listener in line needed.
   */
  #plan(
    pools: { shared: number; own: number; tokens: number; othersTokens: number },
    self: number,
    now: number,
    rounds: boolean,
  ): { mine: number; othersWaiting: number; left: number } {
    // In rounds, only seconds that every shard had reported by the round's
    // start, so every sync of a round walks the same seconds.
    let completeBefore = rounds ? Math.floor(roundStart(now) / 1000) - 1 : Infinity;
    let othersWaiting = 0;
    const active = new Set<number>();
    for (const r of this.#shards.values()) {
      if (!this.#isActive(r, now)) continue;
      active.add(r.shard);
      completeBefore = Math.min(completeBefore, r.completeBefore);
      if (r.shard !== self) othersWaiting += Math.max(0, r.tail - r.through);
    }
    let { shared, own, tokens, othersTokens } = pools;
    let mine = 0;
    walk: for (const second of this.#seconds) {
      if (tokens === 0 || second >= completeBefore) break;
      const entries = this.#bySecond.get(second);
      if (entries === undefined) continue;
      const waiting: { shard: number; n: number }[] = [];
      for (const [shard, b] of entries) {
        if (!active.has(shard)) continue;
        const n = uncalledIn(b, this.#shards.get(shard)?.through ?? 0);
        if (n > 0) waiting.push({ shard, n });
      }
      const turn = (shard: number) => (((shard - second) % 7919) + 7919) % 7919;
      waiting.sort((x, y) => turn(x.shard) - turn(y.shard));
      const partial = this.#shareOut(waiting, self, { shared, own, tokens });
      for (const w of partial ?? waiting) {
        let take: number;
        if (w.shard === self) {
          take = Math.min(w.n, own + shared, tokens);
          const fromOwn = Math.min(take, own);
          own -= fromOwn;
          shared -= take - fromOwn;
          mine += take;
        } else {
          take = Math.min(w.n, shared, tokens, othersTokens);
          othersTokens -= take;
          shared -= take;
          othersWaiting -= take;
        }
        tokens -= take;
        othersTokens = Math.min(othersTokens, tokens);
        if (partial === null && take < w.n) break walk;
      }
      if (partial !== null) break;
    }
    return { mine, othersWaiting: Math.max(0, othersWaiting), left: Math.min(own + shared, tokens) };
  }

  /**
   * A second the pools cannot serve whole is shared out in proportion to
   * each shard's waiting listeners (the rounding remainder in turn order), so
   * every shard works through that second at the same pace: shards that sync
   * later still find their earliest arrivals of the second next in line, and
   * nobody called elsewhere arrived much later than they did. Null when the
   * pools serve the whole second.
   */
  #shareOut(
    waiting: { shard: number; n: number }[],
    self: number,
    pools: { shared: number; own: number; tokens: number },
  ): { shard: number; n: number }[] | null {
    let total = 0;
    let selfWaiting = 0;
    for (const w of waiting) {
      total += w.n;
      if (w.shard === self) selfWaiting = w.n;
    }
    const budget = Math.min(pools.tokens, pools.shared + Math.min(pools.own, selfWaiting));
    if (budget >= total) return null;
    let given = 0;
    const shares = waiting.map((w) => {
      const n = Math.floor((budget * w.n) / total);
      given += n;
      return { shard: w.shard, n };
    });
    for (let i = 0; given < budget && i < shares.length; i++) {
      if (shares[i]!.n < waiting[i]!.n) {
        shares[i]!.n += 1;
        given += 1;
      }
    }
    return shares;
  }
}

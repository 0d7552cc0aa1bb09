/**
 * The coordinator of a sharded room: one per room, it decides how many seats
 * each shard may hold and whom each shard may call, so that the strict cap,
 * the admission rate and first-in-first-out (to one second) hold across
 * every shard.
 *
 * Shards sync with it about once a second: a shard sends a report (what it
 * holds, its cursor, its arrivals per second) and gets back an order (its new
 * allowance, how far it may call, the room's mode, and the room-wide view the
 * edge answers waiting polls from; see protocol.ts). A sync is atomic at the
 * shard, so the order applies to exactly the state that was reported.
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
 * exactly its share (plan.ts), so nobody is called while someone who arrived
 * more than a second earlier still waits (except on a shard that is lost,
 * whose listeners are called when it is back).
 *
 * Strict `maxQueue`, the same way: each general-line shard gets a queue
 * allowance (the waiting places it may hold; see queue-allowance.ts), and the
 * coordinator counts for every shard the largest of the allowance ordered,
 * the one confirmed and the listeners it last reported waiting, never
 * ordering past `maxQueue` in all. A shard gives a waiting place only below
 * its allowance, so the room never has more than `maxQueue` waiting because
 * of places given under it, whatever the burst and however it is spread.
 *
 * Seats of ended leases are freed only once their revocation is confirmed
 * (revocations.ts). Pure: every call takes `now`; state lives in memory and
 * is written through the injected store (coordinator-state.ts).
 */
import { ArrivalIndex } from "./arrival-index.ts";
import {
  arrivalEnd,
  arrivalPoint,
  callAtOnce,
  expectedUntil,
  lastArrivedBefore,
  type LineReach,
  lineReach,
  oldestLeftBehind,
  oldestWaiting,
  paceByArrival,
} from "./arrival-pace.ts";
import {
  type AdmissionLimits,
  type Branding,
  calls as modeCalls,
  type ListenerRules,
  modeAt,
  type OriginChoice,
  type Protection,
} from "./config.ts";
import {
  type CoordinatorStore,
  type CoordinatorCore,
  initialCore,
  newRecord,
  type ShardRecord,
} from "./coordinator-state.ts";
import { activeRatePerSecond, emptyFlow as emptyFlowAt, type Flow, record, ratePerSecond } from "./flow.ts";
import { uncalledIn } from "./arrivals.ts";
import {
  holdsAgainst,
  type Lanes,
  type LaneSettings,
  type LineState,
  type PlannedLane,
  sharePart,
  slotOf,
  unusedReserve,
} from "./lanes.ts";
import { current, effectiveLimits, healthy, observe, type OriginHealth, type OriginSignal } from "./health.ts";
import { isActive, planCalls, uncalledElsewhere } from "./plan.ts";
import {
  type EdgeArrivals,
  type GlobalView,
  isListablePath,
  type LaneView,
  MAX_ROOM_LIVE_PATHS,
  MAX_VIEW_SECONDS,
  noEdgeArrivals,
  type ShardOrder,
  type ShardReport,
} from "./protocol.ts";
import { queueAccounted, queueGrant } from "./queue-allowance.ts";
import { refill } from "./rate.ts";
import { RevocationList } from "./revocations.ts";
import { type SeatSupply, sumReturns } from "./returns.ts";
import { type Pace, paceWindow, roundStart, SYNC_INTERVAL_MS } from "./rounds.ts";
import type { Draw } from "./shuffle.ts";
import { type LineTotals, type RoomTotals, sumShards } from "./totals.ts";
import type { IdentityConfig } from "./identity-config.ts";

/** What the coordinator runs with: the room's limits and, for the edge, its shard count and listener rules. */
export type CoordinatorConfig = AdmissionLimits & {
  shards?: number;
  shuffleSeed?: number | null;
  /** Lanes (lanes.ts) and the slot each lane's shards are numbered from (kept for the room's life). */
  lanes?: Lanes | null;
  laneSlots?: Record<string, number>;
  inviteOnly?: boolean;
  identity?: IdentityConfig | null;
} & Partial<ListenerRules> &
  Partial<Branding> &
  Partial<Protection> &
  Partial<OriginChoice>;

/** Fewest seats a shard may admit at once on its own while nobody waits anywhere. */
export const SPARE_FLOOR = 4;

export class Coordinator {
  readonly #store: CoordinatorStore;
  #config: CoordinatorConfig;
  #core: CoordinatorCore;
  readonly #shards = new Map<number, ShardRecord>();
  /** Every shard's uncalled arrivals, by second. */
  readonly #arrivals: ArrivalIndex;
  #view: GlobalView | null = null;
  /** Cursors, audience or revocations changed since the view was built. */
  #stale = false;
  /** The room's revocation list. */
  readonly #revocations: RevocationList;
  /**
   * Share lanes' balances against the general line, by slot (PlannedLane.owed).
   * Memory only: a restart starts them at 0, which costs a few seats of fairness, never a seat of the cap.
   */
  readonly #owed = new Map<number, number>();
  /**
   * Shards whose last order was a spare allowance: they seat their own
   * arrivals as those come, so their uncalled listeners as last reported do
   * not hold back another's spare (see uncalledElsewhere). Memory only: after
   * a restart no shard is in it, which withholds a spare a round longer,
   * never a seat of the cap.
   */
  readonly #spared = new Set<number>();
  /**
   * Seats freed at each shard by the revocations its last order confirmed
   * (until its next report). They earmark no token: if the shard applied the
   * order its allowance no longer holds them, and if the order was lost they
   * are still taken by the leases it did not free. Memory only: after a
   * restart they earmark tokens until the shard's next report, which costs
   * calls a round later, never a token of the rate.
   */
  readonly #freedByOrder = new Map<number, number>();
  /**
   * How far each line's paced batches reached in this round and the one
   * before, by slot (arrival-pace.ts `lineReach`). Memory only: after a
   * restart the first syncs of a round pace to their own batches, as if the
   * line had just started.
   */
  readonly #reach = new Map<number, LineReach>();
  /**
   * Calls the walk of a shard's line counted for each shard in this round,
   * by shard (the most any sync of the round counted): the shard may take
   * them when it syncs whatever other lines hold back by then. Without this
   * a shard syncing later in a round could find what its line's walk had
   * counted for its oldest listeners gone to another line (the general line
   * borrowing a lent reserve the lane may not), and its younger listeners on
   * shards that synced earlier were called first. Never past the seats
   * free: a promise only lifts the holds of other lines, never the cap.
   * Memory only: a restart drops them, which costs a seat's order for a
   * round, never a seat of the cap.
   */
  readonly #promised = new Map<number, { round: number; calls: number }>();

  constructor(store: CoordinatorStore, config: CoordinatorConfig, now: number) {
    this.#store = store;
    this.#config = config;
    this.#core = store.loadCore() ?? initialCore(now, config.admitPerMinute);
    for (const r of store.loadShards()) this.#shards.set(r.shard, r);
    this.#revocations = new RevocationList(store);
    this.#arrivals = new ArrivalIndex(store, (shard) => this.#shards.get(shard)?.through ?? 0);
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

  /**
   * An edge saw `path` answered with a live stream (`media`, or server-sent
   * events): from the next view on, every edge holds a request on it as its
   * seat's live connection before the origin is asked, not only the edges
   * that saw it stream. False when it was listed so already (or is no path a
   * view lists); a path listed with the other kind takes this one.
   */
  noteLivePath(path: string, media: boolean): boolean {
    const known = this.#core.livePaths ?? [];
    if (!isListablePath(path) || typeof media !== "boolean") return false;
    if (known.some((p) => p.path === path && p.media === media)) return false;
    const others = known.filter((p) => p.path !== path);
    this.#core.livePaths = [...others, { path, media }].slice(-MAX_ROOM_LIVE_PATHS);
    this.#store.saveCore(this.#core);
    this.#stale = true;
    return true;
  }

  /** New room config: takes effect at each shard's next sync. Lowering capacity evicts nobody. */
  setConfig(config: CoordinatorConfig): void {
    this.#config = config;
    this.#view = null;
  }

  /** Revocations listed now (tests, stats). */
  publishedCount(): number {
    return this.#revocations.size;
  }

  /** Take a shard's report and answer with its order. */
  sync(reported: ShardReport, now: number): ShardOrder {
    let report = reported;
    const rec = this.#shards.get(report.shard) ?? newRecord(report.shard, now);
    this.#shards.set(report.shard, rec);
    // Seats confirmed now are free once the shard applies this order (atomically with
    // the report): plan with them free, rather than a round later.
    const confirmed = this.#revocations.publish(report, now);
    if (confirmed.changed) this.#stale = true;
    if (confirmed.sids.length > 0) {
      const ending = (report.endingCount ?? report.ending.length) - confirmed.sids.length;
      report = { ...report, live: Math.max(0, report.live - confirmed.freed), endingCount: Math.max(0, ending) };
    }
    this.#absorb(rec, report, now);
    if (confirmed.freed > 0) this.#freedByOrder.set(report.shard, confirmed.freed);
    else this.#freedByOrder.delete(report.shard);
    // The limits in force: the configured ones, lowered while the origin
    // struggles, as of the round's start (every sync of a round alike).
    const limits = this.limits(roundStart(now));

    // The shard's line: the general one (slot 0) or a lane's. Lanes are not
    // held back by the prequeue, only by `hold` mode.
    const slot = slotOf(report.shard);
    const lanes = this.#plannedLanes(now);
    const lane = lanes.find((l) => l.slot === slot) ?? null;

    // Calls of the last order still being paced stay ordered and keep their
    // seats and tokens (as far as the allowance in force and the room still
    // hold them); any other listener ordered but not called (no seat came
    // free) is walked again.
    const mode = slot === 0 ? this.#modeAt(now) : this.#config.mode;
    const open = modeCalls(mode);
    const others = this.#othersAccounted(report.shard);
    const seated = report.live + report.reserved;
    const pacing = open && rec.pace !== undefined && rec.pace !== null && now < rec.pace.end;
    const room = Math.min(report.capacity, limits.capacity - others.seats) - seated;
    const pending = pacing ? Math.max(0, Math.min(rec.through - rec.cursor, room)) : 0;
    const held = seated + pending;
    // What other lines keep (their reserves, their priority listeners waiting), and this lane's cap.
    const free = Math.max(0, limits.capacity - others.seats - held);
    const holds = holdsAgainst(slot, lanes, free);
    const round = roundStart(now);
    const promise = this.#promised.get(report.shard);
    const promisedHere = promise !== undefined && promise.round === round ? Math.min(promise.calls, free) : 0;
    this.#promised.delete(report.shard);
    let avail = Math.max(0, free - holds, promisedHere);
    let capShared = Infinity;
    if (lane !== null && lane.settings.cap !== null) {
      const lineOthers = this.#lineAccounted(slot, report.shard);
      avail = Math.min(avail, Math.max(0, lane.settings.cap - lineOthers - held));
      capShared = Math.max(0, lane.settings.cap - lineOthers - Math.max(report.capacity, held));
    }
    // While the general line waits too, a share lane takes only its part of what is free (its reserve aside):
    // without this a share lane syncing before the general line (or freeing seats of its own) took them all.
    if (lane !== null && lane.settings.share !== null && lane.owed !== undefined) {
      avail = Math.min(avail, Math.max(unusedReserve(lane), sharePart(lane.settings.share, avail, lane.owed)));
    }
    // With several shards active, every sync of a round sees the tokens of the
    // round's start, walks the same seconds and paces its calls over the same
    // window (see rounds.ts), so shards that sync later in the round do not
    // call further than earlier ones. A lone shard needs none of that.
    const rounds = this.#activeCount(now, report.shard) > 1;
    this.#core.bucket = refill(this.#core.bucket, limits.admitPerMinute, rounds ? roundStart(now) : now);
    let tokens = Math.max(0, Math.floor(this.#core.bucket.tokens - others.earmarked - report.reserved - pending));
    // A lane's reserved seats are taken at once, whatever the rate (the rate's documented burst).
    if (lane !== null) tokens = Math.max(tokens, this.#reservePerShard(lane.settings));

    // Seats others could take now exclude those this shard has freed but not
    // yet given back (they are released only once the shard confirms), under
    // the room's capacity and under a lane's cap alike: counted for the other
    // shards of the lane, they had the walk order this shard listeners a
    // second or more newer than those the others were left with.
    const shared = Math.min(
      capShared,
      Math.max(0, limits.capacity - others.seats - Math.max(report.capacity, held) - holds),
    );
    const pools = open
      ? {
          shared: Math.min(shared, avail),
          own: avail - Math.min(shared, avail),
          tokens,
          // Tokens earmarked for seats this shard has not given back yet stay
          // earmarked for other shards until it confirms, like the seats
          // (but for those this order frees by confirming revocations, see #freedByOrder).
          othersTokens: Math.max(0, tokens - Math.max(0, report.capacity - confirmed.freed - held)),
        }
      : { shared: 0, own: 0, tokens: 0, othersTokens: 0 };
    // Each line is walked on its own: first in first out within it.
    const line = this.#lineShards(slot);
    const plan = planCalls(line, this.#arrivals, pools, report.shard, now, rounds);
    if (rounds) this.#promise(plan.promised, round);
    const calls = rounds ? this.#withinASecond(rec, line, pending, plan.mine, now) : plan.mine;
    let spare = 0;
    const quiet = rec.arrivalRate === 0 && report.tail === report.cursor && (report.asking ?? 0) === 0;
    // Spare comes only out of what the plan left over (seats it gave to
    // other shards' listeners stay theirs until those shards sync). The walk
    // counts the listeners it hands to other shards as served, but they are
    // called only once those shards sync, paced over the round after: seating
    // arrivals here at once meanwhile passed them by up to two seconds (at low
    // load the first shard to sync in each round did). So nobody may be left
    // uncalled, as far as the coordinator knows, on a shard that calls by the
    // walk (a shard on a spare allowance seats its own arrivals as they come).
    const nobodyElsewhere = plan.othersWaiting === 0 && uncalledElsewhere(line, report.shard, this.#spared, now) === 0;
    if (nobodyElsewhere && plan.left > 0 && !quiet) {
      // Nobody waits elsewhere: let this shard seat its own arrivals at once,
      // about two seconds' worth, and no more than its share of what is free.
      // Shards that have not reported their newest arrivals may need seats too:
      // share over every shard of the room, not only the busy ones.
      const lineShards = slot === 0 ? (this.#config.shards ?? 1) : (lane?.settings.shards ?? 1);
      const among = Math.max(1, lineShards, line.size);
      const share = Math.floor(plan.left / among);
      const demand = Math.ceil(2 * rec.arrivalRate);
      spare = Math.min(plan.left, share, Math.max(SPARE_FLOOR, demand));
    }
    if (lane !== null && open && nobodyElsewhere) {
      // A lane's reserve is at its shards ahead of its listeners, so they are seated as they
      // arrive — while nobody of the lane waits on its other shards: then first in first out
      // comes first, and a shard's arrivals wait a sync (a lane of one shard never does). A lane that lends its reserve keeps only a few seats ahead (the rest stay free
      // for the general line to borrow): a burst beyond them waits a sync.
      const reserve = this.#reservePerShard(lane.settings);
      const kept = lane.settings.lend
        ? Math.min(reserve, Math.max(SPARE_FLOOR, Math.ceil(2 * rec.arrivalRate)))
        : reserve;
      const ahead = Math.max(0, kept - held - calls);
      spare = Math.max(spare, Math.min(plan.left, ahead));
    }

    this.#noteShares(slot, lanes, calls + spare);
    if (open && spare > 0) this.#spared.add(report.shard);
    else this.#spared.delete(report.shard);
    const queue =
      slot === 0
        ? queueGrant(rec, this.#lineShards(0).values(), this.#config.maxQueue ?? null, this.#config.shards ?? 1, quiet)
        : quiet
          ? 0
          : null;

    const target = held + calls + spare;
    // Seats this shard may fill with new leases: below what the room can still
    // hold, so a lowered capacity stops claims of seats reserved earlier.
    const liveLimit = Math.max(0, limits.capacity - others.seats);
    this.#core.version += 1;
    rec.sent = target;
    rec.queueSent = queue;
    rec.sentVersion = this.#core.version;
    const through = rec.cursor + pending + calls;
    this.#setThrough(rec, through);
    rec.pace = rounds && through > rec.cursor && spare === 0 ? this.#paceOf(rec, line, plan.othersWaiting, now) : null;
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
      // The prequeue and its draw are the general line's.
      startsAt: slot === 0 ? this.#startsAt() : null,
      shuffleSeed: slot === 0 ? this.#shuffleSeed(report.shard) : null,
      mode,
      view: this.view(now),
      confirmed: confirmed.sids,
      queue,
    };
  }

  /** Waiting places the coordinator counts as given out, general line (null: no limit; tests, stats). */
  accountedQueue(): number | null {
    return queueAccounted(this.#lineShards(0).values());
  }

  /** The room-wide view (recomputed at most once per change). */
  view(now: number): GlobalView {
    // The per-second counts are rebuilt at most once per sync interval; the
    // cursors, the audience and the revocations are always current.
    if (this.#view === null || now - this.#view.at >= SYNC_INTERVAL_MS) {
      const limits = this.limits(now);
      const seconds = this.#arrivals.liveSeconds();
      const binStart = seconds.length > 0 ? seconds[0]! : Math.floor(now / 1000);
      // Dense from the oldest second waiting, at most MAX_VIEW_SECONDS long: later
      // seconds (a prequeue filed under a start that was since moved or cleared)
      // count in the last one, so the view stays small whatever the spread.
      const span = seconds.length > 0 ? Math.min(MAX_VIEW_SECONDS, seconds[seconds.length - 1]! - binStart + 1) : 0;
      const remaining: number[] = new Array<number>(span).fill(0);
      const general = this.#hasLaneShards() ? this.#lineShards(0) : null;
      for (const second of seconds)
        remaining[Math.min(second - binStart, span - 1)]! +=
          general === null ? this.#arrivals.uncalledAt(second) : this.#uncalledIn(general, second);
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
        origin: this.#config.origin ?? "proxy",
        originRoom: this.#config.originRoom ?? null,
        liveMounts: this.#config.liveMounts ?? null,
        inviteOnly: this.#config.inviteOnly ?? false,
        identity: this.#config.identity ?? null,
        ...this.#current(now),
        binStart,
        remaining,
        arrivalsPerSecond: activeRatePerSecond(this.#core.arrivals, now),
        flowPerSecond: activeRatePerSecond(this.#core.calls, now),
        supply: this.#supply(now),
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

  /** How seats come free in the room (returns.ts), for the estimate. */
  #supply(now: number): SeatSupply {
    let reserved = 0;
    for (const r of this.#shards.values()) reserved += r.reserved;
    const rate = (flow: Flow | undefined) => (flow === undefined ? 0 : ratePerSecond(flow, now));
    return {
      reserved,
      ...sumReturns(
        Array.from(this.#shards.values(), (r) => r.returns),
        now,
      ),
      leavesPerSecond: rate(this.#core.leaves),
      releaseMs: this.#core.releaseMs ?? 0,
      lapsesPerSecond: rate(this.#core.lapses),
    };
  }

  /** The parts of the view that change with every sync. */
  #current(now: number): Pick<GlobalView, "cursors" | "paces" | "draws" | "live" | "revoked" | "lanes" | "livePaths"> {
    const cursors: Record<number, number> = {};
    const paces: Record<number, Pace> = {};
    const draws: Record<number, Draw> = {};
    let live = 0;
    // The view is being rebuilt from here, so what the pruning changed is in it.
    this.#revocations.unpublishExpired(now);
    const revoked = this.#revocations.sids();
    for (const r of this.#shards.values()) {
      cursors[r.shard] = r.through;
      if (r.pace !== undefined && r.pace !== null && r.pace.end > now && r.through > r.pace.from)
        paces[r.shard] = r.pace;
      if (r.draw !== undefined && r.draw !== null && r.through < r.draw.to) draws[r.shard] = r.draw;
      live += r.live;
    }
    const livePaths = this.#core.livePaths ?? [];
    return { cursors, paces, draws, live, revoked, lanes: this.#laneViews(now), livePaths };
  }

  /** Listeners of these shards not yet called, of one second. */
  #uncalledIn(line: ReadonlyMap<number, ShardRecord>, second: number): number {
    let n = 0;
    for (const [shard, b] of this.#arrivals.binsAt(second) ?? []) {
      const r = line.get(shard);
      if (r !== undefined) n += uncalledIn(b, r.through);
    }
    return n;
  }

  /** The lanes as edges see them. */
  #laneViews(now: number): Record<string, LaneView> {
    const views: Record<string, LaneView> = {};
    for (const lane of this.#plannedLanes(now)) {
      const flow = this.#core.laneFlows?.[lane.slot];
      views[lane.name] = {
        slot: lane.slot,
        shards: lane.settings.shards,
        strict: lane.settings.share === null,
        reserved: lane.settings.reserved,
        cap: lane.settings.cap,
        waiting: lane.state.waiting,
        live: lane.state.live,
        flowPerSecond: flow === undefined ? 0 : activeRatePerSecond(flow, now),
      };
    }
    return views;
  }

  /** Room-wide totals, as of each shard's last report. */
  totals(now: number): RoomTotals {
    const limits = this.limits(now);
    const health = this.health(now);
    return {
      ...sumShards(this.#shards.values()),
      revocationsListed: this.#revocations.size,
      peakLive: this.#core.peakLive,
      peakAt: this.#core.peakAt,
      shards: this.#shards.size,
      activeShards: this.#activeCount(now),
      flowPerSecond: ratePerSecond(this.#core.calls, now),
      arrivalsPerSecond: ratePerSecond(this.#core.arrivals, now),
      effectiveCapacity: limits.capacity,
      effectiveAdmitPerMinute: limits.admitPerMinute,
      originFactor: health.factor,
      originDistress: health.distress,
      edge: { ...(this.#core.edge ?? noEdgeArrivals()) },
      lines: this.#lineTotals(now),
    };
  }

  /** Per line: the general one, then each lane in rank order (a lane's shards that synced, summed). */
  #lineTotals(now: number): LineTotals[] {
    const lanes = this.#plannedLanes(now);
    const bySlot = new Map<number, ShardRecord[]>();
    for (const r of this.#shards.values()) {
      const slot = slotOf(r.shard);
      bySlot.set(slot, [...(bySlot.get(slot) ?? []), r]);
    }
    const flowOf = (slot: number) => {
      const flow = slot === 0 ? null : this.#core.laneFlows?.[slot];
      return flow === undefined || flow === null ? null : ratePerSecond(flow, now);
    };
    const line = (name: string, slot: number, settings: LaneSettings | null): LineTotals => {
      const sums = sumShards(bySlot.get(slot) ?? []);
      return {
        lane: name,
        live: sums.live,
        waiting: sums.waiting,
        admittedTotal: sums.admittedTotal,
        waits: sums.waits,
        reserved: settings?.reserved ?? 0,
        cap: settings?.cap ?? null,
        strict: settings === null ? null : settings.share === null,
        share: settings?.share ?? null,
        admissionsPerSecond: flowOf(slot),
      };
    };
    return [line("general", 0, null), ...lanes.map((l) => line(l.name, l.slot, l.settings))];
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
    const slot = slotOf(rec.shard);
    if (admitted > 0 && slot !== 0) {
      const flows = { ...(this.#core.laneFlows ?? {}) };
      flows[slot] = record(flows[slot] ?? emptyFlowAt(now), now, admitted);
      this.#core.laneFlows = flows;
    }
    if (admitted > 0) {
      this.#core.bucket = refill(this.#core.bucket, this.limits(now).admitPerMinute, roundStart(now));
      this.#core.bucket = { tokens: this.#core.bucket.tokens - admitted, at: this.#core.bucket.at };
    }
    // Seats given back, and lapsed, since the last report: how fast seats will come free.
    const leaves = Math.max(0, report.left - rec.left);
    const lapses = Math.max(0, report.expired - rec.expired) + Math.max(0, report.abandoned - rec.abandoned);
    if (leaves > 0) this.#core.leaves = record(this.#core.leaves ?? emptyFlowAt(now), now, leaves);
    if (lapses > 0) this.#core.lapses = record(this.#core.lapses ?? emptyFlowAt(now), now, lapses);
    if (report.releaseMs !== undefined) this.#core.releaseMs = report.releaseMs;
    rec.returns = report.returns;
    const joined = Math.max(0, report.tail - rec.tail);
    if (joined > 0) this.#core.arrivals = record(this.#core.arrivals, now, joined);
    rec.arrivalRate = (joined * 1000) / Math.max(1000, now - rec.lastSync);

    rec.confirmed = report.capacity;
    if (report.appliedVersion === rec.sentVersion) rec.sent = report.capacity;
    // A report without it comes from a shard that gives places without limit.
    const queue = report.queue === undefined ? null : report.queue;
    rec.queueConfirmed = queue;
    if (report.appliedVersion === rec.sentVersion) rec.queueSent = queue;
    rec.asking = report.asking ?? 0;
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
    if (report.bins.length > 0) this.#arrivals.merge(rec.shard, report.bins, rec.through, rec.cursor);

    let live = 0;
    for (const r of this.#shards.values()) live += r.live;
    if (live > this.#core.peakLive) {
      this.#core.peakLive = live;
      this.#core.peakAt = now;
    }
  }

  /** Move a shard's called-through mark, keeping the per-second uncalled totals right. */
  #setThrough(rec: ShardRecord, through: number): void {
    const old = rec.through;
    rec.through = through;
    this.#arrivals.moveThrough(rec.shard, old, through, rec.cursor);
  }

  /**
   * The walk's `calls` for a shard, cut so that none of them arrived a second
   * or more after a listener that a shard of its line already ordered this
   * round leaves waiting. The walk shares out what is free at each sync, and
   * seats given back earlier in the round free up as their shards sync, so
   * shards that sync later in a round can reach further; the seats not taken
   * stay free for the next round, which starts with the oldest.
   */
  #withinASecond(
    rec: ShardRecord,
    line: ReadonlyMap<number, ShardRecord>,
    pending: number,
    calls: number,
    now: number,
  ): number {
    if (calls === 0) return 0;
    const binsOf = (shard: number) => this.#arrivals.binsOf(shard);
    const behind = oldestLeftBehind(line, binsOf, rec.shard, now);
    if (behind === null) return calls;
    const from = rec.cursor + pending;
    return Math.min(calls, lastArrivedBefore(binsOf(rec.shard), from, behind + 1) - from);
  }

  /**
   * Note what a walk counted for other shards of the line in this round (the
   * most counted stays). A promise of a round gone by is ignored when read;
   * there is at most one per shard, so none needs sweeping.
   */
  #promise(counted: ReadonlyMap<number, number>, round: number): void {
    for (const [shard, calls] of counted) {
      const before = this.#promised.get(shard);
      const kept = before !== undefined && before.round === round ? before.calls : 0;
      this.#promised.set(shard, { round, calls: Math.max(kept, calls) });
    }
  }

  /**
   * How a shard calls the batch it was just ordered (through `rec.through`):
   * by arrival, in step with every shard of its line (arrival-pace.ts), or at
   * once when pacing protects nobody.
   */
  #paceOf(rec: ShardRecord, line: ReadonlyMap<number, ShardRecord>, othersWaiting: number, now: number): Pace | null {
    const binsOf = (shard: number) => this.#arrivals.binsOf(shard);
    const oldest = oldestWaiting(line, binsOf, rec.shard, rec.cursor, now);
    const bins = binsOf(rec.shard);
    if (callAtOnce(bins, rec.through, oldest, othersWaiting === 0 && rec.through >= rec.tail)) return null;
    // The window runs as far as the windows the line's shards were already ordered this round
    // (theirs, not their batches: a batch that seats found later in the round made longer runs
    // past its window too), and at least as far past the line's oldest waiting listener as the
    // round before reached, so a shard calls a listener when the others call theirs who arrived
    // at the same moment. Each over its own batch, one whose batch ended later was ahead of the
    // others in arrival throughout the round; the first to sync in a round, over its own batch
    // only, called its last listeners as the window closed, after later shards called younger ones.
    const round = roundStart(now);
    const slot = slotOf(rec.shard);
    const first = arrivalPoint(bins, rec.cursor + 1);
    const reach = first === null ? undefined : lineReach(this.#reach.get(slot), now, oldest ?? first);
    let until: number | null = null;
    for (const r of line.values()) {
      if (r.shard === rec.shard || r.pace === undefined || r.pace === null || r.pace.end <= round) continue;
      const end = r.pace.arrival?.until ?? arrivalEnd(binsOf(r.shard), r.through);
      if (end !== null && (until === null || end > until)) until = end;
    }
    const end = arrivalEnd(bins, rec.through);
    // The first to sync in the round: its own batch, or as far as the round before reached.
    const expected = reach === undefined ? null : expectedUntil(reach);
    if (expected !== null) until = Math.max(expected, until ?? end ?? expected);
    if (reach !== undefined) {
      if (end !== null) reach.reach = Math.max(reach.reach, end);
      this.#reach.set(slot, reach);
    }
    return paceByArrival(bins, rec.cursor, rec.through, oldest, paceWindow(now), until);
  }

  /** The shards of one line (slot 0: the general line), for the walk. */
  #lineShards(slot: number): ReadonlyMap<number, ShardRecord> {
    if (slot === 0 && !this.#hasLaneShards()) return this.#shards;
    const line = new Map<number, ShardRecord>();
    for (const [index, r] of this.#shards) if (slotOf(index) === slot) line.set(index, r);
    return line;
  }

  #hasLaneShards(): boolean {
    for (const index of this.#shards.keys()) if (slotOf(index) !== 0) return true;
    return false;
  }

  /** Seats given out to a line's shards other than `except`. */
  #lineAccounted(slot: number, except = -1): number {
    let n = 0;
    for (const r of this.#shards.values()) {
      if (r.shard !== except && slotOf(r.shard) === slot) n += Math.max(r.confirmed, r.sent);
    }
    return n;
  }

  /** A line's state now: seats given out to its shards, listeners waiting on its active ones. */
  #lineState(slot: number, now: number): LineState {
    let accounted = 0;
    let waiting = 0;
    let live = 0;
    for (const r of this.#shards.values()) {
      if (slotOf(r.shard) !== slot) continue;
      accounted += Math.max(r.confirmed, r.sent);
      live += r.live;
      if (isActive(r, now)) waiting += Math.max(0, r.tail - r.through);
    }
    return { accounted, waiting, live };
  }

  /** The room's lanes as the planner sees them, in rank order. */
  #plannedLanes(now: number): PlannedLane[] {
    const lanes = this.#config.lanes ?? {};
    const slots = this.#config.laneSlots ?? {};
    const planned: PlannedLane[] = [];
    let generalWaiting: number | null = null;
    for (const [name, settings] of Object.entries(lanes)) {
      const slot = slots[name];
      if (slot === undefined || slot <= 0) continue;
      const lane: PlannedLane = { name, slot, rank: planned.length, settings, state: this.#lineState(slot, now) };
      if (settings.share !== null) {
        // A balance is kept only while both lines wait; either running dry settles it.
        generalWaiting ??= this.#lineState(0, now).waiting;
        if (lane.state.waiting > 0 && generalWaiting > 0) lane.owed = this.#owed.get(slot) ?? 0;
        else this.#owed.delete(slot);
      }
      planned.push(lane);
    }
    return planned;
  }

  /**
   * Share lanes' balances after a sync of line `slot` handed out `taken` seats:
   * the general line's seats earn each waiting share lane `share / (1 - share)`
   * of a seat each (no more than it has waiting); a share lane's own, beyond
   * its unused reserve, are paid from its balance.
   */
  #noteShares(slot: number, lanes: readonly PlannedLane[], taken: number): void {
    if (taken <= 0) return;
    for (const lane of lanes) {
      const share = lane.settings.share;
      if (share === null || lane.owed === undefined) continue;
      if (slot === 0) {
        this.#owed.set(lane.slot, Math.min(lane.state.waiting, lane.owed + (taken * share) / (1 - share)));
      } else if (lane.slot === slot) {
        this.#owed.set(lane.slot, lane.owed - Math.max(0, taken - unusedReserve(lane)));
      }
    }
  }

  /** A lane's reserve as each of its shards holds it ahead of arrivals. */
  #reservePerShard(settings: LaneSettings): number {
    return Math.ceil(settings.reserved / Math.max(1, settings.shards));
  }

  #othersAccounted(shard: number): { seats: number; earmarked: number } {
    let seats = 0;
    let earmarked = 0;
    for (const r of this.#shards.values()) {
      if (r.shard === shard) continue;
      const accounted = Math.max(r.confirmed, r.sent);
      seats += accounted;
      // Seats its last order freed by confirming revocations count as seats
      // (were the order lost, their leases still hold them) but earmark no
      // token: no new listener can take them before the shard reports again.
      const fillable = Math.max(r.sent, r.confirmed - (this.#freedByOrder.get(r.shard) ?? 0));
      earmarked += r.reserved + Math.max(0, fillable - r.live - r.reserved);
    }
    return { seats, earmarked };
  }

  /** Active shards (`self` counts as active). */
  #activeCount(now: number, self = -1): number {
    let n = 0;
    for (const r of this.#shards.values()) if (r.shard === self || isActive(r, now)) n++;
    return n;
  }
}

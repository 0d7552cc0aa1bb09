/**
 * RoomCoordinator: the Durable Object that coordinates one room's shards.
 *
 * A thin shell around the pure Coordinator: it owns the room's config (the
 * deployment defaults overlaid with the room's overrides), answers shard
 * syncs with orders, and serves the admin API. Each call runs in one
 * synchronous SQLite transaction, so a sync's report and order are stored
 * together or not at all.
 */
import { DurableObject } from "cloudflare:workers";
import {
  configProblems,
  defaultsFromVars,
  effectiveConfig,
  type FieldError,
  type RoomConfig,
  type RoomConfigPatch,
} from "../policy/config.ts";
import { assignSlots, GENERAL } from "../policy/lanes.ts";
import type { LineTotals } from "../policy/totals.ts";
import { Coordinator } from "../policy/coordinator.ts";
import type { EdgeArrivals, GlobalView, ShardOrder, ShardReport } from "../policy/protocol.ts";
import type { OriginHealth, OriginSignal } from "../policy/health.ts";
import { seedFrom } from "../policy/shuffle.ts";
import { waitQuantile } from "../policy/waits.ts";
import { clock } from "../policy/clock.ts";
import { countObjectRequest, objectRequests, type ObjectRequestKind } from "./request-counts.ts";
import type { AuditEntry, ConfigState, LaneStats, RoomStats, Sample } from "../contract/schemas.ts";
import { migrateCoordinator, SqlCoordinatorStore } from "./coordinator-store.ts";

/** The dashboard's charts: a sample every 10 s, kept for an hour. */
const SAMPLE_EVERY_MS = 10_000;
const HISTORY_MS = 3_600_000;
import { writeAnalytics } from "./analytics.ts";
import { DIRECTORY_NAME } from "./room-directory.ts";

/**
 * New arrivals under a proof-of-work challenge, so ops can tell a crowd
 * (most challenges solved) from an attack (challenges handed out in the
 * thousands and never solved, or solutions forged). `solved` and
 * `unchallenged` are exact (counted by the shards that seated them); the
 * rest is reported by edges in batches (at most every 5 s per isolate).
 */
export interface ChallengeStats {
  /** The difficulty in force (0: under-attack mode off). */
  bits: number;
  /** Challenges handed out. */
  issued: number;
  /** Arrivals that took a place with a solved challenge. */
  solved: number;
  /** Solutions refused: wrong, expired, forged, for another room, or used before. */
  failed: number;
  /** Joins refused by the per-client limit. */
  limited: number;
  /** Arrivals that took a place without a challenge (mode off when they came). */
  unchallenged: number;
}

/** Each line's numbers for stats: general first, then the lanes in rank order. */
function laneStats(lines: readonly LineTotals[]): LaneStats[] {
  return lines.map((l) => ({
    lane: l.lane,
    live: l.live,
    queued: l.waiting,
    admittedTotal: l.admittedTotal,
    waitP50Seconds: waitQuantile(l.waits, 0.5),
    waitP90Seconds: waitQuantile(l.waits, 0.9),
    reserved: l.reserved,
    cap: l.cap,
    strict: l.strict,
    share: l.share,
    admissionsPerMinute: l.admissionsPerSecond === null ? null : Math.round(l.admissionsPerSecond * 600) / 10,
  }));
}

/** The lanes' live and queued for a sample (general left out: it is the room's less these); undefined without lanes. */
function laneSample(lines: readonly LineTotals[]): Sample["lanes"] {
  const lanes = lines.filter((l) => l.lane !== GENERAL);
  if (lanes.length === 0) return undefined;
  return Object.fromEntries(lanes.map((l) => [l.lane, { live: l.live, queued: l.waiting }]));
}

/** The room's admission and arrival rates a minute, to a tenth (samples and stats say the same). */
function perMinute(t: { flowPerSecond: number; arrivalsPerSecond: number }) {
  return {
    admissionsPerMinute: Math.round(t.flowPerSecond * 600) / 10,
    arrivalsPerMinute: Math.round(t.arrivalsPerSecond * 600) / 10,
  };
}

export class RoomCoordinator extends DurableObject<Env> {
  #store!: SqlCoordinatorStore;
  #coordinator!: Coordinator;
  #defaults!: RoomConfig;
  #overrides: RoomConfigPatch = {};
  #initError: unknown = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        migrateCoordinator(ctx.storage.sql);
        this.#store = new SqlCoordinatorStore(ctx.storage.sql);
        this.#defaults = defaultsFromVars(env);
        this.#overrides = this.#store.getMeta<RoomConfigPatch>("overrides") ?? {};
        this.#coordinator = new Coordinator(this.#store, this.#coordinatorConfig(), clock.now());
      } catch (err) {
        // Keep the input gate usable: remember the failure and report it per call.
        this.#initError = err;
      }
    });
  }

  #config(): RoomConfig {
    return effectiveConfig(this.#defaults, this.#overrides);
  }

  /** The config plus the recorded shuffle seed, drawn (with the injected randomness) when first needed. */
  #coordinatorConfig(): RoomConfig & { shuffleSeed: number | null; laneSlots: Record<string, number> } {
    const config = this.#config();
    let seed = this.#store.getMeta<number>("shuffleSeed");
    if (config.shuffleAtStart && seed === null) {
      seed = seedFrom(clock.random);
      this.#store.setMeta("shuffleSeed", seed);
    }
    // A lane keeps its shards' numbers for the room's life: tickets carry them.
    const known = this.#store.getMeta<Record<string, number>>("laneSlots") ?? {};
    const laneSlots = assignSlots(known, config.lanes);
    if (Object.keys(laneSlots).length !== Object.keys(known).length) this.#store.setMeta("laneSlots", laneSlots);
    return { ...config, shuffleSeed: seed, laneSlots };
  }

  #run<T>(kind: ObjectRequestKind, room: string, op: (now: number) => T): T {
    if (this.#initError !== null) throw this.#initError;
    const now = clock.now();
    return this.ctx.storage.transactionSync(() => {
      countObjectRequest(this.#store, kind);
      if (this.#store.getMeta<string>("room") === null) {
        this.#store.setMeta("room", room);
        // Known from now on to the room directory (ops list rooms there).
        this.ctx.waitUntil(this.env.ROOM_DIRECTORY.getByName(DIRECTORY_NAME).add(room, now));
      }
      return op(now);
    });
  }

  /** A shard's sync: its report in, its order out. */
  async sync(room: string, report: ShardReport): Promise<ShardOrder> {
    return this.#run("sync", room, (now) => {
      const order = this.#coordinator.sync(report, now);
      this.#sample(now);
      return order;
    });
  }

  /** At most every SAMPLE_EVERY_MS while the room is busy (or watched): its numbers, for the last hour's charts. */
  #sample(now: number): void {
    const last = this.#store.lastSampleAt();
    if (last !== null && now - last < SAMPLE_EVERY_MS) return;
    const t = this.#coordinator.totals(now);
    const config = this.#config();
    const sample: Sample = {
      at: new Date(now).toISOString(),
      live: t.live,
      capacity: config.capacity,
      effectiveCapacity: t.effectiveCapacity,
      queued: t.waiting,
      overflowed: t.overflowed,
      ...perMinute(t),
      originFactor: Math.round(t.originFactor * 1000) / 1000,
    };
    const lanes = laneSample(t.lines);
    if (lanes !== undefined) sample.lanes = lanes;
    this.#store.addSample(now, sample, HISTORY_MS);
    const room = this.#store.getMeta<string>("room");
    if (room !== null) writeAnalytics(this.env as Env & { ANALYTICS?: AnalyticsEngineDataset }, room, sample);
  }

  /** The room's samples over the last hour, oldest first. */
  async history(room: string): Promise<{ room: string; everySeconds: number; samples: Sample[] }> {
    return this.#run("admin", room, (now) => {
      this.#sample(now);
      return { room, everySeconds: SAMPLE_EVERY_MS / 1000, samples: this.#store.samples(now - HISTORY_MS) };
    });
  }

  /** The room-wide view (admin and tests; edges read it from shards). */
  async view(room: string): Promise<GlobalView> {
    return this.#run("view", room, (now) => this.#coordinator.view(now));
  }

  /** An edge's batch of what it saw of new arrivals in under-attack mode (see src/edge/arrival-tally.ts). */
  async reportArrivals(room: string, seen: EdgeArrivals): Promise<EdgeArrivals> {
    return this.#run("arrivals", room, () => this.#coordinator.reportArrivals(seen));
  }

  /** An edge saw `path` of the room answered with a live stream (`media`, or events): every edge's next view lists it (edge/live-paths.ts). */
  async noteLivePath(room: string, path: string, media: boolean): Promise<boolean> {
    return this.#run("live", room, () => this.#coordinator.noteLivePath(path, media));
  }

  /** An edge's report of how the origin answered (see src/policy/health.ts). */
  async reportOrigin(room: string, signal: OriginSignal): Promise<OriginHealth> {
    return this.#run("origin", room, (now) => this.#coordinator.reportOrigin(signal, now));
  }

  async getConfig(room: string): Promise<ConfigState> {
    return this.#run("admin", room, () => this.#state(room));
  }

  /**
   * Apply a validated patch, all of it or nothing, and record who changed
   * what; shards see it at their next sync. A patch whose config could not
   * run as asked (configProblems) changes nothing: its problems come back.
   */
  async patchConfig(
    room: string,
    patch: RoomConfigPatch,
    by = "admin",
  ): Promise<ConfigState | { room: string; errors: FieldError[] }> {
    return this.#run("admin", room, (now) => {
      const before = this.#config();
      const overrides = { ...this.#overrides, ...patch };
      const after = effectiveConfig(this.#defaults, overrides);
      const errors = configProblems(after);
      if (errors.length > 0) return { room, errors };
      const changes: AuditEntry["changes"] = {};
      for (const key of Object.keys(patch) as (keyof RoomConfig)[]) {
        // Lanes and identity settings are objects: compared by value.
        if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
          changes[key] = { from: before[key], to: after[key] };
        }
      }
      if (Object.keys(changes).length > 0) this.#store.addAudit(now, by, changes);
      this.#store.setMeta("overrides", overrides);
      this.#overrides = overrides;
      this.#coordinator.setConfig(this.#coordinatorConfig());
      return this.#state(room);
    });
  }

  #state(room: string): ConfigState {
    const shuffleSeed = this.#store.getMeta<number>("shuffleSeed");
    return { room, config: this.#config(), overrides: { ...this.#overrides }, shuffleSeed };
  }

  /** The latest config changes, oldest first. */
  async audit(room: string, limit: number): Promise<{ room: string; entries: AuditEntry[] }> {
    return this.#run("admin", room, () => ({ room, entries: this.#store.audit(limit) }));
  }

  async stats(room: string): Promise<RoomStats> {
    return this.#run("admin", room, (now) => {
      const t = this.#coordinator.totals(now);
      const config = this.#config();
      const beforeStart = config.startsAt !== null && now < Date.parse(config.startsAt);
      return {
        room,
        active: t.live,
        capacity: config.capacity,
        admitPerMinute: config.admitPerMinute,
        effectiveCapacity: t.effectiveCapacity,
        effectiveAdmitPerMinute: t.effectiveAdmitPerMinute,
        origin: { factor: Math.round(t.originFactor * 1000) / 1000, distress: t.originDistress },
        mode: config.mode,
        queued: beforeStart ? 0 : t.waiting,
        prequeued: beforeStart ? t.waiting : 0,
        overflowed: t.overflowed,
        uniqueListeners: t.joined,
        waitP50Seconds: waitQuantile(t.waits, 0.5),
        waitP90Seconds: waitQuantile(t.waits, 0.9),
        called: t.reserved,
        joined: t.joined,
        admittedTotal: t.admittedTotal,
        peakConcurrent: t.peakLive,
        peakAt: t.peakAt === null ? null : new Date(t.peakAt).toISOString(),
        left: t.left,
        leaving: t.ending,
        revocationsListed: t.revocationsListed,
        expired: t.expired,
        abandoned: t.abandoned,
        ...perMinute(t),
        shards: config.shards,
        activeShards: t.activeShards,
        allowance: t.allowance,
        shardIndices: this.#coordinator.shardIndices(),
        doCalls: objectRequests(this.#store),
        lanes: laneStats(t.lines),
        challenge: {
          bits: config.challengeBits,
          issued: t.edge.challenged,
          solved: t.solved,
          failed: t.edge.failed,
          limited: t.edge.limited,
          unchallenged: Math.max(0, t.joined - t.solved),
        },
      };
    });
  }
}

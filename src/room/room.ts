/**
 * Room: the Durable Object that owns one room's admission state.
 *
 * A thin shell around the pure Ledger: it loads state from SQLite at start,
 * runs each RPC inside a synchronous SQLite transaction (all of an
 * operation's writes land, or none do), and keeps one alarm set to the
 * ledger's next wake-up (lease expiry, reservation expiry, rate refill).
 */
import { DurableObject } from "cloudflare:workers";
import {
  defaultsFromVars,
  effectiveConfig,
  type RoomConfig,
  type RoomConfigPatch,
  timingsFromVars,
} from "../admission/config.ts";
import { type ClaimOutcome, type JoinOutcome, Ledger, type RenewOutcome, type RoomView } from "../admission/ledger.ts";
import { clock } from "../clock.ts";
import { migrate, SqlLedgerStore } from "./sql-store.ts";

export interface RoomStats {
  room: string;
  active: number;
  capacity: number;
  admitPerMinute: number;
  mode: RoomConfig["mode"];
  queued: number;
  called: number;
  admittedTotal: number;
  peakConcurrent: number;
  peakAt: string | null;
  left: number;
  expired: number;
  abandoned: number;
  joined: number;
  admissionsPerMinute: number;
  /** Calls this room's Durable Object has served, by kind (this call included). */
  doCalls: CallCounts;
}

export type CallKind = "join" | "claim" | "renew" | "leave" | "view" | "admin" | "alarm";
export type CallCounts = Partial<Record<CallKind, number>>;

export interface ConfigState {
  room: string;
  config: RoomConfig;
  /** Fields set for this room; the rest are the deployment defaults. */
  overrides: RoomConfigPatch;
}

export class Room extends DurableObject<Env> {
  #store!: SqlLedgerStore;
  #ledger!: Ledger;
  #defaults!: RoomConfig;
  #overrides: RoomConfigPatch = {};
  #alarmAt: number | null = null;
  #initError: unknown = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      try {
        this.#init();
        this.#alarmAt = await ctx.storage.getAlarm();
      } catch (err) {
        // Keep the input gate usable: remember the failure and report it per call.
        this.#initError = err;
      }
    });
  }

  #init(): void {
    const sql = this.ctx.storage.sql;
    migrate(sql);
    this.#store = new SqlLedgerStore(sql);
    this.#defaults = defaultsFromVars(this.env);
    this.#overrides = this.#store.getMeta<RoomConfigPatch>("overrides") ?? {};
    const config = effectiveConfig(this.#defaults, this.#overrides);
    this.#ledger = new Ledger(
      this.#store,
      config,
      timingsFromVars(this.env),
      { newId: () => crypto.randomUUID() },
      clock.now(),
    );
  }

  /** Run one ledger operation atomically, then keep the alarm in step. */
  async #run<T>(kind: CallKind, op: (now: number) => T): Promise<T> {
    if (this.#initError !== null) throw this.#initError;
    const now = clock.now();
    let result: T;
    try {
      result = this.ctx.storage.transactionSync(() => {
        const calls = this.#store.getMeta<CallCounts>("calls") ?? {};
        calls[kind] = (calls[kind] ?? 0) + 1;
        this.#store.setMeta("calls", calls);
        return op(now);
      });
    } catch (err) {
      this.#ledger.reload(now);
      throw err;
    }
    await this.#schedule(now);
    return result;
  }

  async #schedule(now: number): Promise<void> {
    const wake = this.#ledger.nextWake(now);
    if (wake === this.#alarmAt) return;
    if (wake === null) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(wake);
    this.#alarmAt = wake;
  }

  #remember(room: string): void {
    if (this.#store.getMeta<string>("room") === null) this.#store.setMeta("room", room);
  }

  #room(): string {
    return this.#store.getMeta<string>("room") ?? "";
  }

  /** Take a place in line; admitted at once when a seat is free and nobody is ahead. */
  async join(room: string, sub: string): Promise<JoinOutcome & { view: RoomView }> {
    return this.#run("join", (now) => {
      this.#remember(room);
      const outcome = this.#ledger.join(sub, now);
      return { ...outcome, view: this.#ledger.view(now) };
    });
  }

  /** Claim the seat this listener was called for (idempotent). */
  async claim(sub: string, seq: number): Promise<{ claim: ClaimOutcome; view: RoomView }> {
    return this.#run("claim", (now) => ({ claim: this.#ledger.claim(sub, seq, now), view: this.#ledger.view(now) }));
  }

  async renew(sid: string, sub: string): Promise<RenewOutcome> {
    return this.#run("renew", (now) => this.#ledger.renew(sid, sub, now));
  }

  async leave(sid: string, sub: string): Promise<boolean> {
    return this.#run("leave", (now) => this.#ledger.leave(sid, sub, now));
  }

  /** The numbers the edge caches for waiting polls. */
  async view(): Promise<RoomView> {
    return this.#run("view", (now) => {
      this.#ledger.settle(now);
      return this.#ledger.view(now);
    });
  }

  async getConfig(room: string): Promise<ConfigState> {
    return this.#run("admin", () => ({ room, config: this.#ledger.config, overrides: { ...this.#overrides } }));
  }

  /** Apply a validated patch; all of it or nothing. */
  async patchConfig(room: string, patch: RoomConfigPatch): Promise<ConfigState> {
    return this.#run("admin", (now) => {
      this.#remember(room);
      const overrides = { ...this.#overrides, ...patch };
      this.#store.setMeta("overrides", overrides);
      this.#ledger.setConfig(effectiveConfig(this.#defaults, overrides), now);
      this.#overrides = overrides;
      return { room, config: this.#ledger.config, overrides: { ...overrides } };
    });
  }

  async stats(room: string): Promise<RoomStats> {
    return this.#run("admin", (now) => {
      this.#ledger.settle(now);
      const c = this.#ledger.counters;
      const view = this.#ledger.view(now);
      return {
        room: this.#room() || room,
        active: c.live,
        capacity: view.capacity,
        admitPerMinute: view.admitPerMinute,
        mode: view.mode,
        queued: c.tail - c.cursor,
        called: c.reserved,
        admittedTotal: c.admittedTotal,
        peakConcurrent: c.peakLive,
        peakAt: c.peakAt === null ? null : new Date(c.peakAt).toISOString(),
        left: c.left,
        expired: c.expired,
        abandoned: c.abandoned,
        joined: c.tail,
        admissionsPerMinute: Math.round(view.flowPerSecond * 60 * 10) / 10,
        doCalls: this.#store.getMeta<CallCounts>("calls") ?? {},
      };
    });
  }

  /** Expire leases and reservations that are due, call the next listeners. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    await this.#run("alarm", (now) => this.#ledger.settle(now));
  }
}

/**
 * What every origin that enforces the seat itself (direct mode) shares at a
 * shard: the ledger steps its checks take, the one-at-a-time run, the
 * listing round, and the health that stats and logs show.
 *
 * An origin's checks (icecast-seats.ts, janus-seats.ts, livekit-seats.ts)
 * do two things whenever they run:
 * - take back what an ended seat still holds at the origin (drop the
 *   connection, remove the credential), and let the seat go only once the
 *   origin confirms it (`OriginLedger.gone`): never is a seat reused while
 *   the origin may still serve its old holder;
 * - once a round, read the origin's own list of who it serves: a live seat
 *   listed is renewed (no heartbeat needed), one whose listener has gone
 *   ends as a leave.
 * When the origin cannot be reached (or refuses the credentials), live seats
 * are renewed and ended ones stay taken: the failure is counted and logged,
 * and the origin's count stays at or under the capacity.
 */
import type { Lease } from "../policy/lease.ts";

/** The ledger steps the checks need (each one atomic at the shard). */
export interface OriginLedger {
  /** Leases holding something at the origin (a connection or a credential), live or ended. */
  leases(): Lease[];
  /** The origin lists this seat's listener: renew the live lease. */
  renewListed(sid: string, client: string): void;
  /** The origin holds nothing more of this seat: a live seat ends as a leave; an ended one lets go. */
  gone(sid: string, client: string): void;
  /** The listener has gone but its credential may still work: the live seat ends, keeping it to take back. */
  ended(sid: string, client: string): void;
}

/** What an origin's admin API did lately at a shard, for stats and logs (no credential in it). */
export interface OriginHealth {
  failures: number;
  lastFailure: { kind: string; message: string; at: number } | null;
  /** Connections dropped or credentials taken back. */
  kills: number;
  lastListAt: number | null;
}

export interface OriginChecksOptions {
  room: string;
  /** How often the origin's list is read (ms). */
  roundMs: number;
  now(): number;
}

/** The origin's checks of one shard's seats; subclasses say how to take back and how to list. */
export abstract class OriginChecks {
  protected readonly options: OriginChecksOptions;
  /** The origin's name in logs. */
  protected abstract readonly label: string;
  /** This origin's prefix of a lease's `originClient` (empty: unprefixed, Icecast's client ids). */
  abstract readonly prefix: string;
  #lastList = 0;
  #running: Promise<void> | null = null;
  #again = false;
  #loggedAt = 0;
  readonly health: OriginHealth = { failures: 0, lastFailure: null, kills: 0, lastListAt: null };

  constructor(options: OriginChecksOptions) {
    this.options = options;
  }

  /**
   * Take back what ended seats hold, and read the origin's list when a round
   * is due. Runs one at a time; asked again while running, it runs once more after.
   */
  run(ledger: OriginLedger): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          await this.check(ledger);
        } while (this.#again);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** Run once more after this run (a seat just ended: take back what it holds now). */
  protected again(): void {
    this.#again = true;
  }

  /** One run over the seats (subclasses). */
  protected abstract check(ledger: OriginLedger): Promise<void>;

  /** Is a listing due now? If so, the round starts now. */
  protected listDue(): boolean {
    const now = this.options.now();
    if (now - this.#lastList < this.options.roundMs) return false;
    this.#lastList = now;
    return true;
  }

  /** Never free early: every live seat is kept while the origin cannot say who it serves. */
  protected keepLive(ledger: OriginLedger, leases: Lease[]): void {
    for (const l of leases) if (l.leftAt === null) ledger.renewListed(l.sid, l.originClient!);
  }

  /**
   * A credential origin's list is in (`present`: the credentials it serves
   * now, by the part of `originClient` after the prefix): a live seat listed
   * is renewed and noted as joined (`seen`); one that had joined and is gone
   * ends, and its credential is taken back on the run after.
   */
  protected judgeListed(ledger: OriginLedger, present: ReadonlySet<string>, seen: Set<string>): void {
    this.health.lastListAt = this.options.now();
    for (const l of ledger.leases()) {
      if (l.leftAt !== null) continue;
      const credential = l.originClient!.slice(this.prefix.length);
      if (present.has(credential)) {
        seen.add(credential);
        ledger.renewListed(l.sid, l.originClient!);
      } else if (seen.has(credential)) {
        ledger.ended(l.sid, l.originClient!);
        this.again();
      }
    }
  }

  protected failed(kind: string, message: string): void {
    const now = this.options.now();
    const before = this.health.lastFailure;
    this.health.failures += 1;
    this.health.lastFailure = { kind, message: `${this.label}: ${message}`, at: now };
    // Logged when it changes, and at most once a round while it lasts.
    if (before === null || before.kind !== kind || now - this.#loggedAt >= this.options.roundMs) {
      this.#loggedAt = now;
      console.warn(`${this.label} failed`, this.options.room, kind, message);
    }
  }
}

/** The health of several origins' checks at one shard, added up (null: none has run). */
export function addHealth(all: readonly OriginHealth[]): OriginHealth | null {
  if (all.length === 0) return null;
  const failures = all.map((h) => h.lastFailure).filter((f) => f !== null);
  const lists = all.map((h) => h.lastListAt).filter((t) => t !== null);
  return {
    failures: all.reduce((n, h) => n + h.failures, 0),
    kills: all.reduce((n, h) => n + h.kills, 0),
    lastFailure: failures.sort((a, b) => b.at - a.at)[0] ?? null,
    lastListAt: lists.length === 0 ? null : Math.max(...lists),
  };
}

/**
 * The room's revocation list, kept by the coordinator: the lease ids whose
 * passes every edge must refuse, and the moment each ended seat may be reused.
 *
 * A shard reports its leases that have ended but still hold their seat. The
 * coordinator lists each one (while the list has room) in the view that every
 * order carries, and so every edge. Once listed for CONFIRM_AFTER_MS, the
 * revocation is in every view an edge may still honour a pass from: it is
 * confirmed, and the shard frees the seat. A lease the list has no room for
 * keeps its seat until its passes are too old to be honoured at all
 * (`releaseAt`, lease.ts). A listing leaves once every pass of it has expired,
 * on every clock.
 */
import { CLOCK_SKEW_MS, CONFIRM_AFTER_MS } from "./pass-trust.ts";
import type { RevokedPass, ShardReport } from "./protocol.ts";

/** Most revoked passes the view carries. */
export const MAX_VIEW_REVOKED = 2_000;

/**
 * A revocation in the room's list: listed from `at` (coordinator time) until
 * every pass of it has expired. Its seat is freed CONFIRM_AFTER_MS after `at`.
 */
export interface Publication extends RevokedPass {
  shard: number;
  at: number;
}

/** Where the list is kept (part of the coordinator's store). */
export interface PublicationStore {
  /** The published revocations (see Publication). */
  loadPublications(): Publication[];
  addPublications(publications: Publication[]): void;
  /** Forget publications whose passes have all expired (`until` at or before `before`). */
  dropPublications(before: number): void;
}

/** What publishing a shard's ended leases gives back to the coordinator. */
export interface Confirmation {
  /** Lease ids of the shard whose revocation is confirmed: their seats are freed (or handed on, if moved). */
  sids: string[];
  /** How many of them free a seat (those not moved to another device). */
  freed: number;
  /** The list changed (entries added or dropped): the view must be rebuilt. */
  changed: boolean;
}

export class RevocationList {
  readonly #store: PublicationStore;
  /** The list, in publication order (at most MAX_VIEW_REVOKED). */
  readonly #published = new Map<string, Publication>();
  /** The earliest `until` among publications (prune when passed). */
  #nextUnpublish = Infinity;

  constructor(store: PublicationStore) {
    this.#store = store;
    for (const p of store.loadPublications().sort((a, b) => a.at - b.at)) {
      this.#published.set(p.sid, p);
      this.#nextUnpublish = Math.min(this.#nextUnpublish, p.until);
    }
  }

  /** Revocations listed now. */
  get size(): number {
    return this.#published.size;
  }

  /** The lease ids listed now, in publication order. */
  sids(): string[] {
    return [...this.#published.keys()];
  }

  /**
   * List a shard's ended leases in the room's revocations (while there is
   * room) and say which of them are confirmed: listed long enough ago that
   * every view an edge may honour a pass from carries them. Confirmed seats
   * are freed at the shard; the rest stay taken (at worst until their
   * passes expire), so no pass is honoured once its seat can be reused.
   */
  publish(report: ShardReport, now: number): Confirmation {
    let changed = this.unpublishExpired(now);
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
      changed = true;
    }
    return { sids: confirmed, freed, changed };
  }

  /**
   * Publications whose passes have all expired (on every clock) leave the
   * list. True when it was due for a look (the list may have changed).
   */
  unpublishExpired(now: number): boolean {
    if (this.#nextUnpublish + CLOCK_SKEW_MS > now) return false;
    let next = Infinity;
    for (const [sid, p] of this.#published) {
      if (p.until + CLOCK_SKEW_MS <= now) this.#published.delete(sid);
      else next = Math.min(next, p.until);
    }
    this.#nextUnpublish = next;
    this.#store.dropPublications(now - CLOCK_SKEW_MS);
    return true;
  }
}

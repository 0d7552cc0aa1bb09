/**
 * Per-isolate cache of each room's view (cursor, capacity, mode), so waiting
 * polls are answered from the signed ticket and a view at most 1 s old
 * instead of a Durable Object call each. Concurrent misses share one fetch.
 */
import type { GlobalView as RoomView } from "../admission/coordinator.ts";
import { EDGE_VIEW_TTL_MS } from "../admission/ledger.ts";

export const VIEW_TTL_MS = EDGE_VIEW_TTL_MS;
const MAX_ROOMS = 1_000;

interface Entry {
  view: RoomView | null;
  fetchedAt: number;
  pending: Promise<RoomView> | null;
}

const entries = new Map<string, Entry>();

/** The room's view, fetched with `load` when the cached one is older than the TTL. */
export async function cachedView(
  room: string,
  now: number,
  load: (previous: RoomView | null) => Promise<RoomView>,
): Promise<RoomView> {
  let entry = entries.get(room);
  if (entry?.view && now - entry.fetchedAt < VIEW_TTL_MS) return entry.view;
  if (entry?.pending) return entry.pending;
  if (entry === undefined) {
    if (entries.size >= MAX_ROOMS) {
      const oldest = entries.keys().next().value;
      if (oldest !== undefined) entries.delete(oldest);
    }
    entry = { view: null, fetchedAt: 0, pending: null };
    entries.set(room, entry);
  }
  const e = entry;
  e.pending = load(e.view).then(
    (view) => {
      e.view = view;
      e.fetchedAt = now;
      e.pending = null;
      return view;
    },
    (err: unknown) => {
      e.pending = null;
      throw err;
    },
  );
  return e.pending;
}

/** Replace the cached view with a fresher one learnt from a Durable Object answer. */
export function rememberView(room: string, view: RoomView, now: number): void {
  const entry = entries.get(room);
  if (entry === undefined) entries.set(room, { view, fetchedAt: now, pending: null });
  else if (entry.pending === null && (entry.view === null || view.at >= entry.view.at)) {
    entry.view = view;
    entry.fetchedAt = now;
  }
}

/** Forget every cached view (tests; after an admin change in this isolate). */
export function forgetViews(room?: string): void {
  if (room === undefined) entries.clear();
  else entries.delete(room);
}

const revokedSets = new WeakMap<RoomView, Set<string>>();

/** Has this lease's pass been revoked (its listener left), as far as the view knows? */
export function isRevoked(view: RoomView, sid: string): boolean {
  if (view.revoked.length === 0) return false;
  let set = revokedSets.get(view);
  if (set === undefined) {
    set = new Set(view.revoked);
    revokedSets.set(view, set);
  }
  return set.has(sid);
}

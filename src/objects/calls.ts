/**
 * Durable Object calls counted by kind, so the numbers behind "DO calls per
 * waiting poll" are measured rather than assumed. Each object keeps its own
 * counts in its SQLite meta table.
 */

export type CallKind =
  | "join"
  | "claim"
  | "renew"
  | "hold"
  | "leave"
  | "view"
  | "sync"
  | "admin"
  | "alarm"
  | "origin"
  | "overflow"
  | "arrivals";
export type CallCounts = Partial<Record<CallKind, number>>;

interface MetaStore {
  getMeta<T>(key: string): T | null;
  setMeta(key: string, value: unknown): void;
}

/** Count one call of `kind` (inside the call's transaction). */
export function countCall(store: MetaStore, kind: CallKind): void {
  const calls = store.getMeta<CallCounts>("calls") ?? {};
  calls[kind] = (calls[kind] ?? 0) + 1;
  store.setMeta("calls", calls);
}

/** The sum of several objects' counts. */
export function addCounts(...all: CallCounts[]): CallCounts {
  const out: CallCounts = {};
  for (const counts of all) {
    for (const [k, n] of Object.entries(counts) as [CallKind, number][]) out[k] = (out[k] ?? 0) + n;
  }
  return out;
}

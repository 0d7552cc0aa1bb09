/**
 * Requests to the Durable Objects, counted by kind, so the numbers behind
 * "Durable Object calls per waiting poll" are measured rather than assumed.
 * Each object keeps its own counts in its SQLite meta table; the admin
 * stats add them up as `doCalls`.
 *
 * "Request" here is Cloudflare's billing unit: a method call on an object or
 * an alarm it runs. It is not a listener's "call" (its turn to take a seat,
 * in the ledger) nor an HTTP request at the edge.
 */

export type ObjectRequestKind =
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
  | "arrivals"
  | "live";
export type ObjectRequestCounts = Partial<Record<ObjectRequestKind, number>>;

interface MetaStore {
  getMeta<T>(key: string): T | null;
  setMeta(key: string, value: unknown): void;
}

/** The meta key the counts are kept under (the name they first had: a new one would start deployed counts at 0). */
const META_KEY = "calls";

/** This object's counts so far. */
export function objectRequests(store: MetaStore): ObjectRequestCounts {
  return store.getMeta<ObjectRequestCounts>(META_KEY) ?? {};
}

/** Count one request of `kind` (inside the request's transaction). */
export function countObjectRequest(store: MetaStore, kind: ObjectRequestKind): void {
  const counts = objectRequests(store);
  counts[kind] = (counts[kind] ?? 0) + 1;
  store.setMeta(META_KEY, counts);
}

/** The sum of several objects' counts. */
export function addObjectRequests(...all: ObjectRequestCounts[]): ObjectRequestCounts {
  const out: ObjectRequestCounts = {};
  for (const counts of all) {
    for (const [k, n] of Object.entries(counts) as [ObjectRequestKind, number][]) out[k] = (out[k] ?? 0) + n;
  }
  return out;
}

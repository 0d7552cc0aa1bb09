/**
 * Which room ids a deployment serves (the `ROOMS` var), decided at the edge
 * before any Durable Object hears of the id.
 *
 * - `*`: any valid id becomes a room on its first join (the local demo).
 * - `ops` (the deployed default): only rooms ops created (configured with
 *   the admin API, so listed by the room directory), plus any listed below.
 * - `ops,<id>,<id>…` or `<id>,<id>…`: those ids as well (an allow-list;
 *   without `ops`, only they).
 *
 * An id that is not served answers 404 and costs no room at all: no
 * coordinator, no shard, no directory entry, so junk ids cannot grow the
 * metrics either. The directory's list is cached per isolate and read again
 * at most every ROOMS_REFRESH_MS (a room ops just created is served
 * everywhere within that), so a flood of made-up ids costs one directory read
 * per isolate per interval, not one per request.
 */

/** How long an isolate answers from its copy of the directory's list. */
export const ROOMS_REFRESH_MS = 2_000;

export type RoomsPolicy = { any: true } | { any: false; byOps: boolean; listed: ReadonlySet<string> };

/** Parse the `ROOMS` var; unset or blank is `*` (a Worker configured before the var existed keeps working). */
export function parseRooms(raw: string | undefined): RoomsPolicy {
  const parts = (raw ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0 || parts.includes("*")) return { any: true };
  const byOps = parts.includes("ops");
  const listed = new Set(parts.filter((p) => p !== "ops"));
  for (const id of listed) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new Error(`ROOMS: "${id}" is not a room id (or * or ops)`);
  }
  return { any: false, byOps, listed };
}

/** The directory's rooms as one isolate last read them. */
export class KnownRooms {
  #rooms: ReadonlySet<string> | null = null;
  #readAt = -Infinity;

  /**
   * Is `room` served? Reads the directory with `load` when the copy is older
   * than ROOMS_REFRESH_MS and the room is not in it. A request never awaits
   * another request's read (workerd refuses one request's I/O in another
   * under load): while the copy is stale, each such request reads for
   * itself, so a room ops just created is never refused for want of a read
   * under way. Throws what `load` throws.
   */
  async serves(policy: RoomsPolicy, room: string, now: number, load: () => Promise<string[]>): Promise<boolean> {
    const known = this.servesNow(policy, room, now);
    if (known !== null) return known;
    const rooms = new Set(await load());
    if (now >= this.#readAt) {
      this.#rooms = rooms;
      this.#readAt = now;
    }
    return rooms.has(room);
  }

  /** What `serves` answers without reading the list of rooms; null when it would read it. */
  servesNow(policy: RoomsPolicy, room: string, now: number): boolean | null {
    // Most deployments list no room (ROOMS = "ops" or "*"): no look-up in an empty set a request.
    if (policy.any || (policy.listed.size !== 0 && policy.listed.has(room))) return true;
    if (!policy.byOps) return false;
    if (this.#rooms?.has(room) === true) return true;
    if (this.#rooms !== null && now - this.#readAt < ROOMS_REFRESH_MS) return false;
    return null;
  }
}

/** This isolate's copy. */
export const knownRooms = new KnownRooms();

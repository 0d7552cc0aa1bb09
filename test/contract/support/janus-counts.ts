/**
 * Janus's own counts, sampled in the background: the strict cap is judged
 * by what Janus holds (its Admin API session list, and the participants of
 * an AudioBridge room or the viewers of a Streaming mountpoint when one is
 * named), never by what Spillway says.
 * `peak` is the most it ever held; `samples` and `longestGapMs` say how
 * densely it looked (a peak read from a handful of samples proves little).
 *
 * Each sample asks for the sessions first and the participants after, so a
 * participant listed whose session was missing from that same sample's
 * session list belonged to a session Janus had already destroyed. Janus
 * (1.1.2) takes a session off its list at once, and from then on relays
 * nothing to its handles (each is marked stopped); but AudioBridge hears of
 * it later, on the handle's own event-loop thread, and only then drops the
 * participant. Under load that lags by tens of milliseconds, and a client
 * cycling sessions fast leaves several such participants listed at once.
 * `peak("served")` counts only participants whose session Janus still
 * listed; `longestTeardownMs` says how long AudioBridge lagged behind. A
 * detached handle is the same: off its session's list of handles at once,
 * its participant dropped a moment later. For the sessions named in
 * `watched`, each sample also lists their handles, and a participant whose
 * handle is no longer listed is not counted as served either.
 *
 * The Streaming plugin keeps no such lag: it drops a viewer while Janus
 * destroys the session, before the destroy is answered (Janus 1.1.2: four
 * viewers' sessions destroyed at once, five times over, and the
 * mountpoint's next `info` counted none each time). So its count is read as
 * it is: `peak("viewers")`.
 */
import type { RunningJanus } from "./janus.ts";
import { pause } from "./held.ts";

/** Where a participant the test joined is: its session, and its handle when the test knows it. */
export interface JoinedAt {
  session: number;
  handle?: number;
}

interface JanusSample {
  at: number;
  sessions: ReadonlySet<number>;
  /** The handles of the watched sessions still listed, as `session/handle`. */
  handles: ReadonlySet<string>;
  participants: readonly number[];
  /** Each listed participant's display name (the tests name each kind of listener apart). */
  displays: readonly string[];
  /** The participants whose session (and, in a watched session, handle) Janus still listed; all whose place is not known. */
  served: number;
  /** The Streaming mountpoint's own count of its viewers (0 when no mountpoint is sampled). */
  viewers: number;
}

/** What a count is of: Janus's sessions, a room's participants (or those still served), a mountpoint's viewers. */
type Counted = "sessions" | "participants" | "served" | "viewers";

/** What is sampled besides the sessions: an AudioBridge room's participants, or a Streaming mountpoint's viewers. */
export type Sampled = number | { mountpoint: number };

/** Whose presence picks samples: participants by display name, or sessions by id. */
type Who = RegExp | ReadonlySet<number>;

export interface JanusCounts {
  /**
   * The most Janus held in the samples taken at or after `since` (ms since
   * the epoch; all when left out): its sessions, the room's participants,
   * those of them whose session it still listed, or the mountpoint's viewers.
   */
  peak(what: Counted, since?: number): number;
  /**
   * The most Janus held in the samples that list a participant whose display
   * name matches `who` (0 when none did): e.g. every participant in the
   * room, lingering ones included, whenever a newly seated listener is in it.
   * `who` may instead be sessions (read when asked): the samples that list
   * one of them (a Streaming viewer has no name).
   */
  peakWhile(what: Counted, who: Who): number;
  /** How many samples list a participant whose display name matches `who` (or one of the sessions `who`). */
  samplesWith(who: Who): number;
  readonly samples: number;
  longestGapMs(): number;
  /**
   * The longest Janus kept listing a participant after the first sample
   * without its session or handle (ms, to the samples' resolution); 0 when it never did.
   */
  longestTeardownMs(): number;
  stop(): Promise<void>;
}

/**
 * Start sampling now, every `intervalMs`; `room`: also count that
 * AudioBridge room's participants (a number) or that Streaming mountpoint's
 * viewers (`{ mountpoint }`). `joined` says where each participant the
 * test joined is (read when each sample is taken, so it may grow while
 * sampling); `watched`: sessions whose handles each sample lists too.
 */
export function sampleJanus(
  janus: RunningJanus,
  intervalMs: number,
  room?: Sampled,
  joined: ReadonlyMap<number, JoinedAt> = new Map(),
  watched: readonly number[] = [],
): JanusCounts {
  const samples: JanusSample[] = [];
  let running = true;
  // A participant Janus relays to: its session listed, and its handle too where the sample looked.
  const isServed = (p: number, sessions: ReadonlySet<number>, handles: ReadonlySet<string>): boolean => {
    const where = joined.get(p);
    if (where === undefined) return true;
    if (!sessions.has(where.session)) return false;
    return (
      where.handle === undefined || !watched.includes(where.session) || handles.has(`${where.session}/${where.handle}`)
    );
  };
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      try {
        // In this order: a session or handle gone from these lists was gone before the participants were asked for.
        const sessions = new Set(await janus.sessions());
        const handles = new Set<string>();
        for (const session of watched) {
          if (!sessions.has(session)) continue;
          for (const h of await janus.handles(session)) handles.add(`${session}/${h}`);
        }
        const listed = typeof room === "number" ? await janus.participants(room) : [];
        const viewers = typeof room === "object" ? await janus.viewers(room.mountpoint) : 0;
        const participants = listed.map((p) => Number(p.id));
        const displays = listed.map((p) => (typeof p.display === "string" ? p.display : ""));
        const served = participants.filter((p) => isServed(p, sessions, handles)).length;
        samples.push({ at, sessions, handles, participants, displays, served, viewers });
      } catch {
        // Janus busy: the gap shows in longestGapMs().
      }
      await pause(intervalMs);
    }
  })();
  const count = (s: JanusSample, what: Counted): number => {
    if (what === "sessions") return s.sessions.size;
    if (what === "participants") return s.participants.length;
    return what === "served" ? s.served : s.viewers;
  };
  // The samples that list a participant whose display name matches `who`, or one of the sessions `who`.
  const listing = (who: Who) =>
    samples.filter((s) =>
      who instanceof RegExp ? s.displays.some((d) => who.test(d)) : [...who].some((id) => s.sessions.has(id)),
    );
  return {
    peak: (what, since = 0) => Math.max(0, ...samples.filter((s) => s.at >= since).map((s) => count(s, what))),
    peakWhile: (what, who) => Math.max(0, ...listing(who).map((s) => count(s, what))),
    samplesWith: (who) => listing(who).length,
    get samples() {
      return samples.length;
    },
    longestGapMs: () => {
      let gap = 0;
      for (let i = 1; i < samples.length; i += 1) gap = Math.max(gap, samples[i]!.at - samples[i - 1]!.at);
      return gap;
    },
    longestTeardownMs: () => {
      // When each participant was first seen listed without its session, and last seen listed at all.
      const firstStale = new Map<number, number>();
      let longest = 0;
      for (const s of samples) {
        for (const p of s.participants) {
          if (isServed(p, s.sessions, s.handles)) continue;
          const since = firstStale.get(p) ?? s.at;
          firstStale.set(p, since);
          longest = Math.max(longest, s.at - since);
        }
      }
      return longest;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

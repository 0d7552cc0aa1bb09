/**
 * Janus's own counts, sampled in the background: the strict cap is judged
 * by what Janus holds (its Admin API session list, and the participants of
 * an AudioBridge room when one is named), never by what Spillway says.
 * `peak` is the most it ever held; `samples` and `longestGapMs` say how
 * densely it looked (a peak read from a handful of samples proves little).
 */
import type { RunningJanus } from "./janus.ts";
import { pause } from "./held.ts";

interface JanusSample {
  at: number;
  sessions: number;
  participants: number;
}

export interface JanusCounts {
  /** The most Janus held in the samples taken at or after `since` (ms since the epoch; all when left out). */
  peak(what: "sessions" | "participants", since?: number): number;
  readonly samples: number;
  longestGapMs(): number;
  stop(): Promise<void>;
}

/** Start sampling now, every `intervalMs`; `room`: also count that AudioBridge room's participants. */
export function sampleJanus(janus: RunningJanus, intervalMs: number, room?: number): JanusCounts {
  const samples: JanusSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      try {
        const [sessions, participants] = await Promise.all([
          janus.sessions(),
          room === undefined ? Promise.resolve([]) : janus.participants(room),
        ]);
        samples.push({ at, sessions: sessions.length, participants: participants.length });
      } catch {
        // Janus busy: the gap shows in longestGapMs().
      }
      await pause(intervalMs);
    }
  })();
  return {
    peak: (what, since = 0) => Math.max(0, ...samples.filter((s) => s.at >= since).map((s) => s[what])),
    get samples() {
      return samples.length;
    },
    longestGapMs: () => {
      let gap = 0;
      for (let i = 1; i < samples.length; i += 1) gap = Math.max(gap, samples[i]!.at - samples[i - 1]!.at);
      return gap;
    },
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/**
 * Icecast's own listener count, sampled in the background: the strict cap is
 * judged by what the origin counts, never by what Spillway says.
 *
 * `sampleListeners(icecast)` reads `/status-json.xsl` every `intervalMs`
 * (150 ms by default) for as long as it runs and keeps every sample of every
 * mount, so a test can ask for the most listeners Icecast ever counted on its
 * mount since any moment (`peak(mount, since)`), and how densely it looked
 * (`samples`, `longestGapMs`): a peak read from a handful of samples proves
 * little.
 */
import type { RunningIcecast } from "./icecast.ts";

interface Sample {
  /** When the read started (ms since the epoch). */
  at: number;
  listeners: number;
}

export interface ListenerSampler {
  readonly intervalMs: number;
  /** The most listeners Icecast counted on `mount` since `since` (ms; default: ever); 0 without samples. */
  peak(mount: string, since?: number): number;
  /** The most listeners Icecast counted on `mounts` together, in one read, since `since`. */
  peakTotal(mounts: readonly string[], since?: number): number;
  /** When that peak was first sampled (ms), or null without samples. */
  peakAt(mount: string, since?: number): number | null;
  /**
   * The samples of `mount` since `since` that counted more than `limit`:
   * how many, and when the first and the last of them were read (null when none).
   */
  above(
    mount: string,
    limit: number,
    since?: number,
  ): { samples: number; firstAt: number | null; lastAt: number | null };
  /** The latest count of `mount` (0 when no source feeds it). */
  latest(mount: string): number;
  /** Reads of status-json since `since` that answered. */
  samples(since?: number): number;
  /** The longest time between two answered reads since `since` (ms). */
  longestGapMs(since?: number): number;
  /** Reads that failed (Icecast did not answer), in all. */
  readonly failures: number;
  /** Stop sampling; resolves once the read in flight is done. */
  stop(): Promise<void>;
}

/** Start sampling Icecast's listener counts now. */
export function sampleListeners(icecast: RunningIcecast, intervalMs = 150): ListenerSampler {
  /** Every answered read, oldest first. */
  const reads: number[] = [];
  /** mount → its samples, oldest first (a mount with no source is sampled as 0). */
  const byMount = new Map<string, Sample[]>();
  let failures = 0;
  let stopped = false;
  let wake: (() => void) | undefined;

  const record = (at: number, counts: Map<string, number>) => {
    reads.push(at);
    for (const mount of new Set([...byMount.keys(), ...counts.keys()])) {
      let list = byMount.get(mount);
      if (list === undefined) byMount.set(mount, (list = []));
      list.push({ at, listeners: counts.get(mount) ?? 0 });
    }
  };

  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      try {
        const { sources } = await icecast.stats();
        record(at, new Map(sources.map((s) => [s.mount, s.listeners])));
      } catch {
        failures++;
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - at)));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  const since = (mount: string, from: number) => (byMount.get(mount) ?? []).filter((s) => s.at >= from);

  return {
    intervalMs,
    peak: (mount, from = 0) => since(mount, from).reduce((max, s) => Math.max(max, s.listeners), 0),
    peakTotal(mounts, from = 0) {
      const totals = new Map<number, number>();
      for (const mount of mounts)
        for (const s of since(mount, from)) totals.set(s.at, (totals.get(s.at) ?? 0) + s.listeners);
      return Math.max(0, ...totals.values());
    },
    peakAt(mount, from = 0) {
      const list = since(mount, from);
      if (list.length === 0) return null;
      let best = list[0]!;
      for (const s of list) if (s.listeners > best.listeners) best = s;
      return best.at;
    },
    above(mount, limit, from = 0) {
      const over = since(mount, from).filter((s) => s.listeners > limit);
      return { samples: over.length, firstAt: over[0]?.at ?? null, lastAt: over.at(-1)?.at ?? null };
    },
    latest: (mount) => byMount.get(mount)?.at(-1)?.listeners ?? 0,
    samples: (from = 0) => reads.filter((at) => at >= from).length,
    longestGapMs(from = 0) {
      const list = reads.filter((at) => at >= from);
      let gap = 0;
      for (let i = 1; i < list.length; i++) gap = Math.max(gap, list[i]! - list[i - 1]!);
      return gap;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}

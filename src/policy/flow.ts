/**
 * How fast the queue moves: listeners called to a seat over the last minute,
 * kept as six 10-second bins. While seats are free, the estimate of wait
 * times is built on this measured flow rather than on the configured rate;
 * once the room is full, on the seats coming free (returns.ts).
 */

export const BIN_MS = 10_000;
export const BINS = 6;

export interface Flow {
  /** Start (ms) of the newest bin. */
  binStart: number;
  /** Calls per bin, newest first. */
  bins: number[];
}

export function emptyFlow(now: number): Flow {
  return { binStart: binOf(now), bins: new Array<number>(BINS).fill(0) };
}

function binOf(t: number): number {
  return Math.floor(t / BIN_MS) * BIN_MS;
}

/** The flow rolled forward to `now` (old bins drop out). */
export function roll(flow: Flow, now: number): Flow {
  const start = binOf(now);
  const shift = Math.floor((start - flow.binStart) / BIN_MS);
  if (shift <= 0) return flow;
  const bins = new Array<number>(Math.min(shift, BINS)).fill(0).concat(flow.bins).slice(0, BINS);
  return { binStart: start, bins };
}

/** The flow with `n` calls recorded at `now`. */
export function record(flow: Flow, now: number, n: number): Flow {
  const rolled = roll(flow, now);
  const bins = rolled.bins.slice();
  bins[0] = (bins[0] ?? 0) + n;
  return { binStart: rolled.binStart, bins };
}

/** Calls per second over the last minute (the current bin counted by its elapsed part). */
export function ratePerSecond(flow: Flow, now: number): number {
  const rolled = roll(flow, now);
  const total = rolled.bins.reduce((a, b) => a + b, 0);
  const spanMs = (BINS - 1) * BIN_MS + Math.max(1_000, now - rolled.binStart);
  return (total * 1000) / spanMs;
}

/**
 * Calls per second since the oldest bin of the last minute that has any:
 * the rate as the queue has flowed lately, not diluted by quiet time before
 * it started to flow (at the start of an event the last minute is mostly
 * silence, and `ratePerSecond` would understate the flow several times
 * over). Once calls have gone on for a minute it equals `ratePerSecond`.
 */
export function activeRatePerSecond(flow: Flow, now: number): number {
  const rolled = roll(flow, now);
  let total = 0;
  let oldest = -1;
  for (let i = 0; i < rolled.bins.length; i++) {
    const n = rolled.bins[i]!;
    if (n > 0) {
      total += n;
      oldest = i;
    }
  }
  if (oldest < 0) return 0;
  const spanMs = oldest * BIN_MS + Math.max(1_000, now - rolled.binStart);
  return (total * 1000) / spanMs;
}

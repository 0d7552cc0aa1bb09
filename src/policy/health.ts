/**
 * The origin's health, and the limits it allows: additive increase,
 * multiplicative decrease (AIMD).
 *
 * The edge watches the answers of the origin it proxies to. A 503 or 429,
 * or a `Spillway-Load` header at or above DISTRESS_LOAD, is distress. The
 * coordinator keeps one factor per room: distress halves it (at most once
 * per CUT_COOLDOWN_MS, so one burst of errors counts once), and every
 * GROW_EVERY_MS without distress it grows back by GROW_STEP. The room then
 * runs with `capacity × factor` seats and `admitPerMinute × factor`
 * admissions a minute: never above what ops configured, never below
 * FLOOR of it. A lower effective capacity evicts nobody; it stops
 * admissions until the audience has drained below it, like any lowering.
 *
 * Pure.
 */
import type { AdmissionLimits } from "./config.ts";

/** Distress multiplies the factor by this. */
export const CUT = 0.5;
/** The factor never falls below this. */
export const FLOOR = 0.1;
/** Without distress for this long, the factor grows by GROW_STEP. */
export const GROW_EVERY_MS = 10_000;
export const GROW_STEP = 0.05;
/** Distress within this long of the last cut does not cut again. */
export const CUT_COOLDOWN_MS = 5_000;
/** A `Spillway-Load` at or above this is distress. */
export const DISTRESS_LOAD = 0.9;

export interface OriginHealth {
  /** The share of the configured limits the room runs with, FLOOR..1. */
  factor: number;
  /** The last cut (ms), or null. */
  cutAt: number | null;
  /** When the factor last changed or was last brought up to date (ms). */
  at: number;
  /** Distress signals received in all. */
  distress: number;
}

/** What an edge saw of the origin since its last report. */
export interface OriginSignal {
  /** Proxied answers that were 503 or 429. */
  overloaded: number;
  /** Proxied answers in all. */
  answers: number;
  /** The highest `Spillway-Load` seen (0..1), or null. */
  load: number | null;
}

export function healthy(now: number): OriginHealth {
  return { factor: 1, cutAt: null, at: now, distress: 0 };
}

/** The factor grown back for the quiet time since it last changed. */
export function current(h: OriginHealth, now: number): OriginHealth {
  if (h.factor >= 1) return h.at === now ? h : { ...h, at: Math.max(h.at, now) };
  const steps = Math.floor(Math.max(0, now - h.at) / GROW_EVERY_MS);
  if (steps === 0) return h;
  const factor = Math.min(1, h.factor + steps * GROW_STEP);
  return { ...h, factor, at: h.at + steps * GROW_EVERY_MS };
}

/** Does this signal say the origin is struggling? */
export function isDistress(signal: OriginSignal): boolean {
  return signal.overloaded > 0 || (signal.load !== null && signal.load >= DISTRESS_LOAD);
}

/**
 * Take an edge's report. `mayCut` false: the limits already stop every
 * admission (the audience is above them and can only shrink as listeners
 * leave), so a cut would only slow the recovery: the distress holds the
 * factor where it is instead.
 */
export function observe(h: OriginHealth, signal: OriginSignal, now: number, mayCut = true): OriginHealth {
  const up = current(h, now);
  if (!isDistress(signal)) return up;
  const distress = up.distress + 1;
  if (!mayCut || (up.cutAt !== null && now - up.cutAt < CUT_COOLDOWN_MS)) return { ...up, distress, at: now };
  return { factor: Math.max(FLOOR, up.factor * CUT), cutAt: now, at: now, distress };
}

/** The limits the room runs with under this health: never above the configured ones. */
export function effectiveLimits<T extends AdmissionLimits>(limits: T, h: OriginHealth, now: number): T {
  const { factor } = current(h, now);
  if (factor >= 1) return limits;
  return {
    ...limits,
    capacity: Math.floor(limits.capacity * factor),
    admitPerMinute: Math.max(1, Math.floor(limits.admitPerMinute * factor)),
  };
}

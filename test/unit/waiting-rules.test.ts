/**
 * The waiting page's rules (src/pages/waiting/rules.ts): the estimate's range,
 * when a new place is announced, the progress share; and the page script's
 * JavaScript copies of the rules and the formatting, which must give the
 * same answers as the server's, or the page would change its words the
 * moment its script ran.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fill,
  formatClock,
  formatEta,
  formatNumber,
  formatPercent,
  formatRelative,
  formatStart,
} from "../../src/pages/waiting/format.ts";
import { CATALOGS, LANGS } from "../../src/pages/waiting/i18n/index.ts";
import { clientText } from "../../src/pages/waiting/i18n/types.ts";
import { etaRange, progressShare, shouldAnnounce } from "../../src/pages/waiting/rules.ts";
import { FORMAT_JS, PAGE_SCRIPT, RULES_JS } from "../../src/pages/waiting/script.ts";

/** The script's functions, evaluated as the browser would (plain JavaScript, no module scope). */
interface ScriptLib {
  etaRange: typeof etaRange;
  shouldAnnounce: typeof shouldAnnounce;
  progressShare: typeof progressShare;
  fill: typeof fill;
  formatNumber: typeof formatNumber;
  formatPercent: typeof formatPercent;
  formatEta: (t: unknown, locale: string, seconds: number | null) => string;
  formatClock: typeof formatClock;
  formatRelative: typeof formatRelative;
  formatStart: typeof formatStart;
}
const lib = new Function(
  `"use strict";${RULES_JS}${FORMAT_JS}; return { etaRange, shouldAnnounce, progressShare, fill, formatNumber, formatPercent, formatEta, formatClock, formatRelative, formatStart };`,
)() as ScriptLib;

const MIN = 60;
const HOUR = 3600;

describe("etaRange: an honest range around the estimate", () => {
  it("says unknown without an estimate, and less than a minute under 60 s", () => {
    expect(etaRange(null)).toEqual({ kind: "unknown" });
    expect(etaRange(Number.NaN)).toEqual({ kind: "unknown" });
    expect(etaRange(-1)).toEqual({ kind: "unknown" });
    expect(etaRange(0)).toEqual({ kind: "soon" });
    expect(etaRange(59)).toEqual({ kind: "soon" });
  });

  it("spans 80 % to 125 % of the estimate, rounded outwards to whole minutes, then fives, then hours", () => {
    expect(etaRange(60)).toEqual({ kind: "range", unit: "minute", low: 1, high: 2 });
    expect(etaRange(5 * MIN)).toEqual({ kind: "range", unit: "minute", low: 4, high: 7 });
    expect(etaRange(10 * MIN)).toEqual({ kind: "range", unit: "minute", low: 8, high: 13 });
    expect(etaRange(40 * MIN)).toEqual({ kind: "range", unit: "minute", low: 30, high: 50 });
    expect(etaRange(90 * MIN)).toEqual({ kind: "range", unit: "minute", low: 70, high: 115 });
    expect(etaRange(3 * HOUR)).toEqual({ kind: "range", unit: "hour", low: 2, high: 4 });
  });

  it("always contains the estimate, and its ends always differ", () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 7 * 24 * HOUR }), (seconds) => {
        const r = etaRange(seconds);
        if (r.kind !== "range") return false;
        const unit = r.unit === "hour" ? HOUR : MIN;
        return r.low * unit <= seconds && seconds <= r.high * unit && r.low < r.high && r.low >= 1;
      }),
    );
  });
});

describe("shouldAnnounce: a new place is said only when it matters", () => {
  const at = 1_000_000;

  it("says every step forward within the first five places, at once", () => {
    expect(shouldAnnounce({ position: 6, at }, 5, at + 1)).toBe(true);
    expect(shouldAnnounce({ position: 2, at }, 1, at + 1)).toBe(true);
  });

  it("never says a place that did not move forward", () => {
    expect(shouldAnnounce({ position: 3, at }, 3, at + 120_000)).toBe(false);
    expect(shouldAnnounce({ position: 3, at }, 4, at + 120_000)).toBe(false);
  });

  it("further back, waits a minute and needs a round number crossed or a fall of 20 %", () => {
    // Crossing 20 within the minute: not yet.
    expect(shouldAnnounce({ position: 23, at }, 19, at + 59_999)).toBe(false);
    expect(shouldAnnounce({ position: 23, at }, 19, at + 60_000)).toBe(true);
    // No round number crossed, less than 20 % down.
    expect(shouldAnnounce({ position: 29, at }, 25, at + 120_000)).toBe(false);
    // Landing on a round number counts as crossing it.
    expect(shouldAnnounce({ position: 21, at }, 20, at + 60_000)).toBe(true);
    // Hundreds between 100 and 1,000; thousands beyond.
    expect(shouldAnnounce({ position: 450, at }, 420, at + 60_000)).toBe(false);
    expect(shouldAnnounce({ position: 450, at }, 399, at + 60_000)).toBe(true);
    expect(shouldAnnounce({ position: 12_500, at }, 12_100, at + 60_000)).toBe(false);
    expect(shouldAnnounce({ position: 12_500, at }, 11_990, at + 60_000)).toBe(true);
    // A fall of 20 % is news even without a round number.
    expect(shouldAnnounce({ position: 190, at }, 152, at + 60_000)).toBe(true);
    expect(shouldAnnounce({ position: 190, at }, 153, at + 60_000)).toBe(false);
    expect(shouldAnnounce({ position: 1_990, at }, 1_592, at + 60_000)).toBe(true);
  });
});

describe("progressShare", () => {
  it("is the share of the first place's line passed, never negative", () => {
    expect(progressShare(10, 10)).toBe(0);
    expect(progressShare(10, 1)).toBeCloseTo(0.9);
    expect(progressShare(4, 2)).toBe(0.5);
    expect(progressShare(4, 9)).toBe(0);
    expect(progressShare(0, 1)).toBe(0);
  });
});

describe("the page script's copies agree with the server", () => {
  it("gives the same ranges, announcements and progress", () => {
    fc.assert(
      fc.property(fc.option(fc.integer({ min: -5, max: 30 * 24 * HOUR })), (seconds) => {
        expect(lib.etaRange(seconds)).toEqual(etaRange(seconds));
      }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        (last, position, elapsed) => {
          const before = { position: last, at: 0 };
          expect(lib.shouldAnnounce(before, position, elapsed)).toBe(shouldAnnounce(before, position, elapsed));
          expect(lib.progressShare(last, position)).toBe(progressShare(last, position));
        },
      ),
    );
  });

  it("formats numbers, estimates, clocks, relative times and start times the same, in every language", () => {
    const samples = [null, 0, 45, 59.6, 60, 299, 300, 1_234, 2_400, 3_580, 7_000, 50_000, 200_000];
    for (const lang of LANGS) {
      const t = CATALOGS[lang];
      for (const s of samples) {
        expect(lib.formatEta(clientText(t), lang, s)).toBe(formatEta(t, lang, s));
        if (s !== null) {
          expect(lib.formatNumber(lang, s)).toBe(formatNumber(lang, s));
          expect(lib.formatClock(lang, s)).toBe(formatClock(lang, s));
          expect(lib.formatRelative(lang, s)).toBe(formatRelative(lang, s));
          expect(lib.formatPercent(lang, s / 50_000)).toBe(formatPercent(lang, s / 50_000));
        }
      }
      expect(lib.formatStart(lang, "2026-11-22T19:00:00Z", "UTC")).toBe(
        formatStart(lang, "2026-11-22T19:00:00Z", "UTC"),
      );
      expect(lib.fill(t.announce, { position: "3", eta: "x" })).toBe(fill(t.announce, { position: "3", eta: "x" }));
    }
  });

  it("is one valid script that uses no markup sink", () => {
    expect(() => new Function(PAGE_SCRIPT)).not.toThrow();
    expect(PAGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});

describe("formatting", () => {
  it("writes ranges with the language's unit and plural, and clocks with the locale's digits", () => {
    expect(formatEta(CATALOGS.en, "en", 300)).toBe("about 4–7 minutes");
    expect(formatEta(CATALOGS.fr, "fr", 3 * HOUR)).toMatch(/^environ 2–4\sheures$/u);
    expect(formatEta(CATALOGS.es, "es", 30)).toBe("menos de un minuto");
    expect(formatEta(CATALOGS.he, "he", null)).toBe(CATALOGS.he.eta.unknown);
    expect(formatClock("en", 3_723)).toBe("1:02:03");
    expect(formatClock("en", 65)).toBe("1:05");
    expect(formatRelative("fr", 300)).toBe("dans 5 minutes");
    // The unit is chosen after rounding: never "in 60 minutes" or "in 60 seconds".
    expect(formatRelative("en", 3_580)).toBe("in 1 hour");
    expect(formatRelative("en", 59.6)).toBe("in 1 minute");
    expect(formatRelative("en", 47.6 * 3600)).toBe("in 2 days");
    expect(formatNumber("fr", 1234)).toMatch(/^1\s234$/u);
  });

  it("leaves unknown placeholders empty and never reads inherited properties", () => {
    expect(fill("a{x}b{constructor}c", { x: "1" })).toBe("a1bc");
  });
});

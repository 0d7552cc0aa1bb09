/**
 * The waiting page's rules (src/pages/waiting/rules.ts): the estimate's range,
 * when a new place is announced, the progress share; and the page's bundled
 * script (WAITING_SCRIPT, built from src/pages/waiting/browser/page.ts), run
 * against a stand-in page, which must say what the server's functions say,
 * or the page would change its words the moment its script ran.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  fill,
  formatClock,
  formatEta,
  formatNumber,
  formatPercent,
  formatRelative,
  formatStart,
} from "../../src/pages/waiting/format.ts";
import { WAITING_SCRIPT } from "../../src/pages/generated/scripts.ts";
import { type Catalog, CATALOGS, LANGS } from "../../src/pages/waiting/i18n/index.ts";
import { clientText } from "../../src/pages/waiting/i18n/types.ts";
import { type Announced, etaRange, progressShare, shouldAnnounce } from "../../src/pages/waiting/rules.ts";
import { pageScript, useFakeClock } from "../support/page-script.ts";

/** An element of the stand-in page, with what the script reads and writes. */
class StandIn {
  textContent = "";
  hidden = true;
  value = 0;
  offsetWidth = 0;
  classList = { add: () => undefined, remove: () => undefined };
  focus(): void {}
}

/** The ids the script writes to. */
const IDS = ["current", "position", "ahead", "eta", "next", "progress", "progress-text", "progress-box"];
const MORE_IDS = ["announce", "countdown", "opens", "offer", "admitted", "admitted-title"];

/** The bundled script, compiled once, run as the browser would, with these globals. */
const runScript = pageScript(WAITING_SCRIPT, ["document", "fetch", "location", "sessionStorage"]);

const ROOM = "r1";

/**
 * The page in `state`, rendered for `lang` (the locale is the language), its
 * script running; `first` is the first place this tab saw (in sessionStorage),
 * `answers` the status polls' answers in turn.
 */
function openPage(
  lang: string,
  t: Catalog,
  state: string,
  data: Record<string, string>,
  options: { first?: number; answers?: unknown[] } = {},
) {
  const el = new Map(IDS.concat(MORE_IDS).map((id) => [id, new StandIn()]));
  const root = {
    dataset: {
      text: JSON.stringify(clientText(t)),
      locale: lang,
      room: ROOM,
      target: `/rooms/${ROOM}/`,
      title: "Room",
      state,
      poll: "5",
      ...data,
    },
  };
  const document = {
    hidden: false,
    title: "",
    getElementById: (id: string) => (id === "spillway" ? root : (el.get(id) ?? null)),
    addEventListener: () => undefined,
  };
  const stored = new Map<string, string>();
  if (options.first !== undefined) stored.set(`spillway:first:${ROOM}`, String(options.first));
  const sessionStorage = {
    getItem: (key: string) => stored.get(key) ?? null,
    setItem: (key: string, value: string) => stored.set(key, value),
    removeItem: (key: string) => stored.delete(key),
  };
  const answers = [...(options.answers ?? [])];
  const fetch = () => {
    const next = answers.shift();
    if (next === undefined) return new Promise(() => undefined);
    return Promise.resolve(new Response(JSON.stringify(next), { status: 200 }));
  };
  const location = { replace: vi.fn(), reload: vi.fn() };
  runScript({ document, fetch, location, sessionStorage });
  return { text: (id: string) => el.get(id)!.textContent, el: (id: string) => el.get(id)!, location };
}

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

describe("the page's script says what the server's functions say", () => {
  const samples = [null, 0, 45, 59.6, 60, 299, 300, 1_234, 2_400, 3_580, 7_000, 50_000, 200_000];

  useFakeClock();

  it("writes the place, the people ahead, the estimate and the progress the same, in every language", () => {
    const FIRST = 60_000;
    for (const lang of LANGS) {
      const t = CATALOGS[lang];
      for (const [i, s] of samples.entries()) {
        const position = 1 + Math.round(s ?? 0);
        const ahead = i % 2 === 0 ? "" : String(position - 1);
        const page = openPage(
          lang,
          t,
          "queued",
          { position: String(position), ahead, eta: s === null ? "" : String(s) },
          {
            first: FIRST,
          },
        );
        expect(page.text("eta"), `${lang} ${s}`).toBe(formatEta(t, lang, s));
        expect(page.text("position")).toBe(formatNumber(lang, position));
        expect(page.text("ahead")).toBe(formatNumber(lang, position - 1));
        const share = progressShare(FIRST, position);
        expect(page.text("progress-text")).toBe(fill(t.queued.progress, { percent: formatPercent(lang, share) }));
        expect(page.el("progress").value).toBe(Math.round(share * 100));
        expect(page.el("next").hidden).toBe(position !== 1);
      }
    }
  });

  it("counts down to the start and says when the room opens the same, in every language", () => {
    const startsAt = "2026-11-22T19:00:00Z";
    for (const lang of LANGS) {
      const t = CATALOGS[lang];
      for (const s of samples) {
        if (s === null) continue;
        const page = openPage(lang, t, "prequeue", { eta: String(s), starts: startsAt });
        expect(page.text("countdown"), `${lang} ${s}`).toBe(formatClock(lang, Math.round(s)));
        expect(page.text("opens")).toBe(
          fill(t.prequeue.opensAt, { relative: formatRelative(lang, s), time: formatStart(lang, startsAt) }),
        );
      }
    }
  });

  it("offers to keep the place with the same estimate, in every language", () => {
    for (const lang of LANGS) {
      const t = CATALOGS[lang];
      for (const s of samples) {
        const page = openPage(lang, t, "overflow", { eta: s === null ? "" : String(s), canKeep: "1" });
        expect(page.text("offer"), `${lang} ${s}`).toBe(fill(t.overflow.canKeep, { eta: formatEta(t, lang, s) }));
      }
    }
  });

  it("announces a new place exactly when shouldAnnounce says so", async () => {
    const t = CATALOGS.en;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20_000 }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 90 })), { maxLength: 8 }),
        async (start, moves) => {
          // Each answer says where the listener stands and when to ask next.
          const answers = moves.map(([position, after]) => ({
            room: ROOM,
            state: "queued",
            position,
            ahead: position - 1,
            etaSeconds: 600,
            pollAfterSeconds: after,
          }));
          const opened = Date.now();
          const page = openPage("en", t, "queued", { position: String(start), eta: "600" }, { answers });
          let last: Announced = { position: start, at: opened };
          let said = "";
          let at = opened + 5_000;
          for (const [position, after] of moves) {
            await vi.advanceTimersByTimeAsync(at - Date.now());
            if (shouldAnnounce(last, position, at)) {
              last = { position, at };
              const text = fill(t.announce, { position: formatNumber("en", position), eta: formatEta(t, "en", 600) });
              said = position === 1 ? `${t.next} ${text}` : text;
            }
            expect(page.text("announce")).toBe(said);
            at += after * 1000;
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("is one valid script that uses no markup sink", () => {
    expect(() => new Function(WAITING_SCRIPT)).not.toThrow();
    expect(WAITING_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
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

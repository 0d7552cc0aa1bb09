/**
 * The listeners' waiting room in a real browser (Debian's Chromium through
 * playwright-core) against `npm start`: a listener sees its place, sees it
 * fall, hears it through the live region and walks into the demo room when
 * seats free up; Arabic and Hebrew pages are right to left; a room title
 * with markup stays text and runs nothing; the page refreshes itself without
 * JavaScript; axe-core finds no serious or critical violation in any state,
 * light or dark; and screenshots are written (with UPDATE_DOC_SCREENSHOTS=1,
 * the English and Arabic ones also to docs/screenshots, for the docs).
 */
import { copyFile, mkdir, rm } from "node:fs/promises";
import { join as joinPath } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousViolations } from "./support/axe.ts";
import { browserSkipReason } from "./support/browser.ts";
import { adminCall, join, type StatusJson } from "./support/http.ts";
import { listenerBrowser } from "./support/listener-browser.ts";
import { PROJECT_ROOT } from "./support/worker.ts";

/**
 * The browser globals the callbacks run inside the page use. This project's
 * types have no DOM library (the Worker has none), so they are declared here,
 * for this module only, as far as these tests need them.
 */
interface PageElement {
  id: string;
  textContent: string | null;
}
interface PageStyle {
  direction: string;
  borderLeftWidth: string;
  borderRightWidth: string;
  outlineStyle: string;
}
declare const document: {
  documentElement: { lang: string; dir: string };
  body: PageElement;
  activeElement: PageElement | null;
  scripts: { length: number };
  images: { length: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
  addEventListener(type: string, listener: (event: { target: unknown }) => void, capture: boolean): void;
  dispatchEvent(event: unknown): boolean;
};
declare const window: object;
declare const Event: new (type: string) => unknown;
declare function getComputedStyle(element: PageElement): PageStyle;

const ADMIN_TOKEN = `adm-${crypto.randomUUID()}`;
const SCREENSHOT_DIR = joinPath(PROJECT_ROOT, "test/contract/screenshots/waiting-room");
const DOCS_SCREENSHOT_DIR = joinPath(PROJECT_ROOT, "docs/screenshots");
/** Refresh the committed screenshots of the docs only when asked to (tests never change tracked files otherwise). */
const UPDATE_DOCS = process.env["UPDATE_DOC_SCREENSHOTS"] === "1";
/** Set by an init script when the page moves focus to the "it's your turn" heading. */
const FOCUS_KEY = "test:admitted-focus";

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`waiting room browser test ${skipReason}`);

const { pageErrors, dialogs, w, uniqueRoom, patch, listener, ...harness } = listenerBrowser({
  adminToken: ADMIN_TOKEN,
  pageTimeout: 10_000,
  // Script errors and CSP refusals in one list, dialogs in another (a test checks that its page opened none).
  dialogs: "apart",
});

/** `n` formatted as the page's script formats it for `locale`. */
function localNumber(page: Page, locale: string, n: number): Promise<string> {
  return page.evaluate(([l, v]) => new Intl.NumberFormat(l as string).format(v as number), [locale, n] as const);
}

async function screenshot(page: Page, name: string): Promise<string> {
  const path = joinPath(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

describe.skipIf(skipReason !== null)("the waiting room in Chromium", () => {
  beforeAll(async () => {
    await harness.start();
    await rm(SCREENSHOT_DIR, { recursive: true, force: true });
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    if (UPDATE_DOCS) await mkdir(DOCS_SCREENSHOT_DIR, { recursive: true });
  });

  afterAll(() => harness.stop());

  it("shows a queued listener its place, lets it fall, announces it, and walks into the room when seats free up", async () => {
    const room = uniqueRoom("wr-line");
    await patch(room, {
      capacity: 1,
      title: "Town hall: the 2027 budget",
      message: "We start with questions from the line.\nThank you for waiting!",
      accentColor: "#0f766e",
    });
    const seated = (await join(w().url, room)).json;
    expect(seated.state).toBe("admitted");
    const ahead: StatusJson[] = [];
    for (let i = 0; i < 2; i++) ahead.push((await join(w().url, room)).json);
    expect(ahead.map((s) => s.position)).toEqual([1, 2]);

    // Third in line, in English; an Arabic listener comes in fourth.
    const english = await listener();
    await english.context().addInitScript(
      ([key]) =>
        document.addEventListener(
          "focusin",
          (e) => {
            const el = e.target as PageElement | null;
            if (el?.id === "admitted-title") sessionStorage.setItem(key!, el.textContent ?? "");
          },
          true,
        ),
      [FOCUS_KEY],
    );
    await english.goto(`${w().url}/rooms/${room}/`);
    expect(await english.locator("#position").textContent()).toBe("3");
    expect(await english.locator("#ahead").textContent()).toBe("2");
    const arabic = await listener({ locale: "ar" });
    await arabic.goto(`${w().url}/rooms/${room}/`);
    expect(await arabic.locator("html").getAttribute("lang")).toBe("ar");
    expect(await arabic.locator("#position").textContent()).toBe(await localNumber(arabic, "ar", 4));

    // The seated listener's seat is freed (as an origin's "participant left" webhook would): the line moves.
    const released = await adminCall<{ released: boolean }>(w().url, ADMIN_TOKEN, "POST", `/rooms/${room}/release`, {
      pass: seated.pass,
    });
    expect(released.json.released).toBe(true);
    await english.locator("#position", { hasText: /^2$/ }).waitFor({ timeout: 20_000 });
    await arabic.locator("#position", { hasText: await localNumber(arabic, "ar", 3) }).waitFor({ timeout: 10_000 });
    // Near the front every step is said, once, through the polite live region.
    expect(await english.locator("#announce").textContent()).toMatch(/^You’re now number 2 in line\. Estimated wait: /);
    expect(await english.locator("#announce").getAttribute("aria-live")).toBe("polite");
    // Progress since this tab joined: from third to second is a third of the way.
    await english.locator("#progress-text", { hasText: "33% of the way to the front" }).waitFor();
    expect(await english.locator("#progress").getAttribute("value")).toBe("33");
    // Someone was called in the last minute, so the estimate is a range.
    await english.locator("#eta", { hasText: /^(about \d+–\d+ minutes|less than a minute)$/ }).waitFor();
    await arabic.locator("#progress-box").waitFor();

    for (const [page, name] of [
      [english, "en"],
      [arabic, "ar"],
    ] as const) {
      const shot = await screenshot(page, `queued-${name}`);
      if (UPDATE_DOCS) await copyFile(shot, joinPath(DOCS_SCREENSHOT_DIR, `waiting-${name}.png`));
    }

    // Two more seats: the one ahead and this listener are called; the page says so, focuses it, and walks in.
    await patch(room, { capacity: 3 });
    await english.locator("p.live", { hasText: "LIVE" }).waitFor({ timeout: 20_000 });
    expect(new URL(english.url()).pathname).toBe(`/rooms/${room}/`);
    const focused = await english.evaluate((key) => sessionStorage.getItem(key), FOCUS_KEY);
    expect(focused).toBe("It’s your turn");
    // The first place seen is forgotten once in: a later visit starts its progress afresh.
    expect(await english.evaluate((r) => sessionStorage.getItem(`spillway:first:${r}`), room)).toBeNull();
    // The Arabic listener is now at the front.
    await arabic.locator("#position", { hasText: await localNumber(arabic, "ar", 1) }).waitFor({ timeout: 10_000 });
    expect(await arabic.locator("#next").isVisible()).toBe(true);
  });

  it("writes Arabic and Hebrew right to left, mirrored", async () => {
    const room = uniqueRoom("wr-rtl");
    await patch(room, { capacity: 0, message: "Bienvenue" });
    const cases = [
      { options: { locale: "ar" }, path: "/", lang: "ar" },
      { options: { locale: "fr" }, path: "/?lang=he", lang: "he" },
    ];
    for (const c of cases) {
      const page = await listener(c.options);
      await page.goto(`${w().url}/rooms/${room}${c.path}`);
      const seen = await page.evaluate(() => {
        const message = getComputedStyle(document.querySelector(".message")!);
        return {
          lang: document.documentElement.lang,
          dir: document.documentElement.dir,
          direction: getComputedStyle(document.body).direction,
          // The message's rule is on its inline start: the right in a right-to-left page.
          ruleRight: message.borderRightWidth,
          ruleLeft: message.borderLeftWidth,
        };
      });
      expect(seen).toEqual({ lang: c.lang, dir: "rtl", direction: "rtl", ruleRight: "4px", ruleLeft: "0px" });
      await page.close();
    }
  });

  it("renders markup in the room's title and message as text, and runs none of it", async () => {
    const room = uniqueRoom("wr-xss");
    const title = `<img src=x onerror="alert('title')"><script>alert(1)</script>`;
    const message = `"><script>window.pwned = true; alert(2)</script><b>bold</b>`;
    await patch(room, { capacity: 0, title, message });
    const page = await listener();
    await page.goto(`${w().url}/rooms/${room}/`);
    expect(await page.locator("h1").textContent()).toBe(title);
    expect(await page.locator(".message p").textContent()).toBe(message);
    expect(await page.title()).toBe(`You’re in line · ${title}`);
    const dom = await page.evaluate(() => ({
      scripts: document.scripts.length,
      images: document.images.length,
      bold: document.querySelectorAll("main b").length,
      pwned: "pwned" in window,
    }));
    expect(dom).toEqual({ scripts: 1, images: 0, bold: 0, pwned: false });
    // A poll later, still nothing ran (the script writes text only).
    await page.waitForResponse((res) => res.url().includes(`/_spillway/rooms/${room}/status`));
    await page.waitForTimeout(200);
    expect(await page.locator("h1").textContent()).toBe(title);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it("refreshes itself without JavaScript, and shows the new place", async () => {
    const room = uniqueRoom("wr-nojs");
    await patch(room, { capacity: 0 });
    expect((await join(w().url, room)).json.position).toBe(1);
    const page = await listener({ javaScriptEnabled: false });
    let loads = 0;
    page.on("load", () => (loads += 1));
    await page.goto(`${w().url}/rooms/${room}/`);
    expect(await page.locator("#position").textContent()).toBe("2");
    // The script did not run: what only it shows stays hidden.
    expect(await page.locator("#progress-box").isHidden()).toBe(true);

    // The one ahead is called: the next refresh (every 2 s this near the front) shows place 1.
    await patch(room, { capacity: 1 });
    await expect.poll(() => page.locator("#position").textContent(), { timeout: 15_000, interval: 250 }).toBe("1");
    expect(loads).toBeGreaterThanOrEqual(2);
    await page.close();
  });

  it("stops polling while the tab is hidden, and asks again as soon as it is shown", async () => {
    const room = uniqueRoom("wr-hidden");
    await patch(room, { capacity: 0 });
    const page = await listener();
    const polls: number[] = [];
    page.on("request", (req) => {
      if (req.url().includes(`/_spillway/rooms/${room}/status`)) polls.push(Date.now());
    });
    await page.goto(`${w().url}/rooms/${room}/`);
    /** What the browser does when the tab goes to the background, or comes back. */
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => h });
        document.dispatchEvent(new Event("visibilitychange"));
      }, hidden);

    await setHidden(true);
    const before = polls.length;
    // First in line polls every 2 s (±20 % from the server, ±10 % here, so at most 2.64 s): more than that passes without one.
    await page.waitForTimeout(3_500);
    expect(polls.length).toBe(before);
    const shown = Date.now();
    const next = page.waitForRequest((req) => req.url().includes("/status"), { timeout: 1_000 });
    await setHidden(false);
    await next;
    expect(polls.at(-1)! - shown).toBeLessThan(1_000);
    await page.close();
  });

  describe("accessibility (axe-core, CSP bypassed for the audit only)", () => {
    const pages = [
      { state: "queued", patch: { capacity: 0 } },
      { state: "prequeue", patch: { startsAt: new Date(Date.now() + 3_600_000).toISOString() } },
      { state: "overflow", patch: { capacity: 0, mode: "overflow" } },
      { state: "closed", patch: { mode: "closed", recordingUrl: "https://recordings.example/town-hall" } },
    ] as const;

    for (const { state, patch: body } of pages) {
      it(`finds no serious or critical violation on the ${state} page, in English and Arabic, light and dark`, async () => {
        const room = uniqueRoom(`wr-axe-${state}`);
        await patch(room, { ...body, title: "Town hall", message: "Thank you for waiting!", accentColor: "#ffcc00" });
        for (const locale of ["en", "ar"]) {
          const page = await listener({ locale, bypassCSP: true });
          await page.goto(`${w().url}/rooms/${room}/`);
          expect(await page.locator("main").getAttribute("data-state")).toBe(state);
          for (const colorScheme of ["light", "dark"] as const) {
            await page.emulateMedia({ colorScheme, reducedMotion: "reduce" });
            expect(await seriousViolations(page), `${state} ${locale} ${colorScheme}`).toEqual([]);
          }
          await page.emulateMedia({ colorScheme: "light" });
          // The moving line's screenshots come from the first test; this one has no estimate yet.
          await screenshot(page, state === "queued" ? `queued-no-estimate-${locale}` : `${state}-${locale}`);
          await page.close();
        }
      });
    }

    it("can be used with the keyboard alone: the keep-my-place link is reached by Tab and shows its focus", async () => {
      const room = uniqueRoom("wr-keys");
      await patch(room, { capacity: 0, mode: "overflow" });
      const page = await listener();
      await page.goto(`${w().url}/rooms/${room}/?lang=fr`);
      let focused = "";
      for (let i = 0; i < 10 && focused !== "keep"; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => document.activeElement?.id ?? "");
      }
      expect(focused).toBe("keep");
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      expect(outline).toBe("solid");
      await page.keyboard.press("Enter");
      await page.locator("main[data-state='queued']").waitFor();
      // The language chosen with ?lang= came along.
      expect(new URL(page.url()).search).toBe("?lang=fr&keep=1");
      expect(await page.locator("html").getAttribute("lang")).toBe("fr");
      await page.close();
    });
  });

  it("ran without a script error, a CSP refusal or a dialog", () => {
    expect(pageErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});

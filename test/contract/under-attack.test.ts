/**
 * Under-attack mode in a real browser (Debian's Chromium through
 * playwright-core) against `npm start`: with `challengeBits` set, a listener
 * who opens the room first gets the challenge page, whose worker solves the
 * proof of work; the page presents the solution to the join, holds a ticket
 * and goes on as a normal waiting listener (or into the demo room when a seat
 * is free), with no script error or CSP refusal; the challenge page is
 * right to left in Arabic, and axe-core finds no serious or critical
 * violation on it, in English and Arabic; without JavaScript it says that
 * JavaScript is needed while the room is protected.
 */
import type { Page, Request, Route } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriousViolations } from "./support/axe.ts";
import { browserSkipReason } from "./support/browser.ts";
import { listenerBrowser } from "./support/listener-browser.ts";

const ADMIN_TOKEN = `adm-${crypto.randomUUID()}`;
/** Small enough to solve in a blink (about a thousand hashes), large enough to need the worker. */
const BITS = 10;

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`under-attack browser test ${skipReason}`);

const { pageErrors, w, uniqueRoom, patch, listener, ...harness } = listenerBrowser({
  adminToken: ADMIN_TOKEN,
  pageTimeout: 15_000,
  // Script errors, CSP refusals and dialogs, from every page the tests open, in one list.
  dialogs: "errors",
});

/** The joins a page sends with a solution, and how they were answered. */
function watchJoins(
  page: Page,
  room: string,
): { solutions: { challenge: string; solution: string; status: number }[] } {
  const seen = { solutions: [] as { challenge: string; solution: string; status: number }[] };
  page.on("response", (res) => {
    const req = res.request();
    if (req.method() !== "POST" || !req.url().includes(`/_spillway/rooms/${room}/join`)) return;
    const headers = req.headers();
    const solution = headers["spillway-solution"];
    if (solution === undefined) return;
    seen.solutions.push({ challenge: headers["spillway-challenge"] ?? "", solution, status: res.status() });
  });
  return seen;
}

/** Requests matching `pattern` are held until released (then they go on, as do any later ones). */
async function hold(page: Page, pattern: string): Promise<{ arrived: Promise<Request>; release(): Promise<void> }> {
  const held: Route[] = [];
  let arrive: (req: Request) => void = () => undefined;
  const arrived = new Promise<Request>((resolve) => (arrive = resolve));
  let released = false;
  const handler = (route: Route) => {
    if (released) return route.continue();
    held.push(route);
    arrive(route.request());
  };
  await page.route(pattern, handler);
  return {
    arrived,
    async release() {
      released = true;
      for (const route of held.splice(0)) await route.continue();
      await page.unroute(pattern, handler);
    },
  };
}

/** The room's ticket cookie in this browser, if any. */
async function ticketCookie(page: Page, room: string): Promise<string | undefined> {
  const cookies = await page.context().cookies(w().url);
  return cookies.find((c) => c.name.endsWith(`spillway-ticket-${room}`))?.value;
}

describe.skipIf(skipReason !== null)("under-attack mode in Chromium", () => {
  beforeAll(() => harness.start());
  afterAll(() => harness.stop());

  it("solves the challenge in a worker, takes a place in line with the solution, and waits as usual", async () => {
    const room = uniqueRoom("ua-line");
    await patch(room, { capacity: 0, challengeBits: BITS, title: "Town hall" });
    const page = await listener();
    const joins = watchJoins(page, room);
    const workerScripts: string[] = [];
    page.on("response", (res) => {
      if (res.url().includes("/_spillway/challenge-worker.js")) workerScripts.push(res.headers()["content-type"] ?? "");
    });

    const first = await page.goto(`${w().url}/rooms/${room}/`);
    // The first answer is the challenge page itself (its CSP lets a worker from this origin run); it goes on by itself.
    expect(first!.status()).toBe(200);
    expect(first!.headers()["content-security-policy"]).toContain("worker-src 'self'");
    expect(first!.headers()["cache-control"]).toBe("no-store");
    await page.locator("main[data-state='queued']").waitFor();
    expect(new URL(page.url()).pathname).toBe(`/rooms/${room}/`);
    expect(await page.locator("#position").textContent()).toBe("1");

    // One solution, presented with the two headers, accepted; a ticket is held.
    expect(joins.solutions).toHaveLength(1);
    expect(joins.solutions[0]!.status).toBe(200);
    expect(joins.solutions[0]!.solution).toMatch(/^\d+$/);
    expect(workerScripts).toHaveLength(1);
    expect(workerScripts[0]).toMatch(/^text\/javascript\b/);
    expect(await ticketCookie(page, room)).toBeDefined();

    // Reloading goes on as the same listener in line: no second challenge, the same place.
    await page.reload();
    expect(await page.locator("main").getAttribute("data-state")).toBe("queued");
    expect(await page.locator("#position").textContent()).toBe("1");
    expect(joins.solutions).toHaveLength(1);
    await page.close();
  });

  it("walks into the demo room when a seat is free", async () => {
    const room = uniqueRoom("ua-seat");
    await patch(room, { capacity: 5, challengeBits: BITS });
    const page = await listener({ locale: "fr" });
    const joins = watchJoins(page, room);
    await page.goto(`${w().url}/rooms/${room}/`);
    await page.locator("p.live", { hasText: "LIVE" }).waitFor();
    expect(joins.solutions.map((j) => j.status)).toEqual([200]);
    await page.close();
  });

  it("has no serious or critical accessibility violation while it checks, in English and Arabic (right to left)", async () => {
    const room = uniqueRoom("ua-axe");
    await patch(room, {
      capacity: 0,
      challengeBits: BITS,
      title: "Town hall",
      message: "Thank you for waiting!",
      accentColor: "#ffcc00",
    });
    for (const locale of ["en", "ar"]) {
      const page = await listener({ locale, bypassCSP: true });
      // Hold the worker's script, then the solution on its way, so the page stays on each step for the audit.
      const workerHeld = await hold(page, "**/_spillway/challenge-worker.js*");
      const joinHeld = await hold(page, `**/_spillway/rooms/${room}/join*`);
      await page.goto(`${w().url}/rooms/${room}/`);
      expect(await page.locator("main").getAttribute("data-state")).toBe("challenge");
      expect(await page.locator("html").getAttribute("lang")).toBe(locale);
      expect(await page.locator("html").getAttribute("dir")).toBe(locale === "ar" ? "rtl" : "ltr");
      await workerHeld.arrived;
      // Checking: the progress bar is shown, with its label.
      expect(await page.locator("#pow-box").isVisible()).toBe(true);
      for (const colorScheme of ["light", "dark"] as const) {
        await page.emulateMedia({ colorScheme, reducedMotion: "reduce" });
        expect(await seriousViolations(page), `challenge ${locale} ${colorScheme}`).toEqual([]);
      }
      await page.emulateMedia({ colorScheme: "light" });
      await workerHeld.release();
      const request = await joinHeld.arrived;
      expect(request.headers()["spillway-solution"]).toMatch(/^\d+$/);
      expect(request.headers()["spillway-challenge"]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      // Solved: the page says it is joining, through its polite live region, and the bar is full.
      expect(await page.locator("#announce").getAttribute("aria-live")).toBe("polite");
      await page.locator("#announce", { hasText: /\S/ }).waitFor();
      expect(await page.locator("#pow-progress").getAttribute("max")).toBe("100");
      expect(await page.locator("#pow-progress").evaluate((el) => (el as unknown as { value: number }).value)).toBe(
        100,
      );
      expect(await seriousViolations(page), `challenge solved ${locale}`).toEqual([]);
      // Let it through: the page reaches the line.
      await joinHeld.release();
      await page.locator("main[data-state='queued']").waitFor();
      await page.close();
    }
  });

  it("says that JavaScript is needed without it, and takes no place", async () => {
    const room = uniqueRoom("ua-nojs");
    await patch(room, { capacity: 0, challengeBits: BITS });
    for (const [locale, dir] of [
      ["en", "ltr"],
      ["he", "rtl"],
    ] as const) {
      const page = await listener({ javaScriptEnabled: false, locale });
      await page.goto(`${w().url}/rooms/${room}/`);
      expect(await page.locator("main").getAttribute("data-state")).toBe("challenge");
      expect(await page.locator("html").getAttribute("dir")).toBe(dir);
      const notice = page.locator("#noscript");
      expect(await notice.isVisible()).toBe(true);
      expect(await notice.textContent()).toMatch(
        locale === "en" ? /^JavaScript is needed to join the line/ : /JavaScript/,
      );
      // What only the script shows stays hidden, and nothing was joined.
      expect(await page.locator("#pow-box").isHidden()).toBe(true);
      expect(await ticketCookie(page, room)).toBeUndefined();
      await page.close();
    }
  });

  it("ran without a script error, a CSP refusal or a dialog", () => {
    expect(pageErrors).toEqual([]);
  });
});

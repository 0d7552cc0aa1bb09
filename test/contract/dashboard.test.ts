/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core)
 * against `npm start`: sign in by typing the token, pick a room with
 * listeners, see numbers and charts drawn from its history, change capacity
 * through the confirmation step, and see the change in the stats and the
 * audit trail under the token's name. The token never reaches the URL or
 * the page's markup; a wrong token and a read-only token get plain answers;
 * the page's CSP blocks none of its own script or style.
 */
import { statSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join as joinPath } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import { adminCall, join, type StatsJson } from "./support/http.ts";
import { PROJECT_ROOT, type RunningWorker, startWorker } from "./support/worker.ts";

const ROOM = "dash-contract";
const ADMIN_TOKEN = `adm-${crypto.randomUUID()}`;
const READER = `reader-${crypto.randomUUID()}`;
const SCREENSHOT_DIR = joinPath(PROJECT_ROOT, "test/contract/screenshots");
const SCREENSHOT = joinPath(SCREENSHOT_DIR, "dashboard.png");
const LISTENERS = 5;
const CAPACITY = 3;
/** How long a step waits for the page (its script runs late on a loaded machine). */
const PAGE_WAIT_MS = 10_000;

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`dashboard browser test ${skipReason}`);

interface AuditJson {
  entries: { at: string; by: string; changes: Record<string, { from: unknown; to: unknown }> }[];
}

let worker: RunningWorker | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
/** What the page logged as an error, and scripts that threw. */
const pageErrors: string[] = [];

function w(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker;
}
function p(): Page {
  if (page === undefined) throw new Error("the browser did not start");
  return page;
}

interface ConfigJson {
  config: Record<string, unknown>;
  overrides: Record<string, unknown>;
}

async function roomConfig(): Promise<ConfigJson> {
  const reply = await adminCall<ConfigJson & { shuffleSeed: unknown }>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}`);
  expect(reply.status).toBe(200);
  return { config: reply.json.config, overrides: reply.json.overrides };
}

async function stats(): Promise<StatsJson> {
  const reply = await adminCall<StatsJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/stats`);
  expect(reply.status).toBe(200);
  return reply.json;
}

/** Poll the history until the room has at least `n` samples (one is taken every 10 s while watched). */
async function samplesAtLeast(n: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const reply = await adminCall<{ samples: unknown[] }>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/history`);
    if (reply.json.samples.length >= n || Date.now() > until) return reply.json.samples.length;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The number of points of each line of a chart. */
function pointsPerLine(chartId: string): Promise<number[]> {
  return p()
    .locator(`#${chartId} polyline`)
    .evaluateAll((lines) =>
      lines.map((l) => (l.getAttribute("points") ?? "").trim().split(/\s+/).filter(Boolean).length),
    );
}

async function signIn(token: string): Promise<void> {
  const input = p().locator("#token");
  await input.click();
  await input.pressSequentially(token);
  await p().keyboard.press("Enter");
}

describe.skipIf(skipReason !== null)("the dashboard in Chromium", () => {
  beforeAll(async () => {
    const started = startWorker({
      adminToken: ADMIN_TOKEN,
      vars: { ADMIN_TOKENS: JSON.stringify([{ name: "wallboard", token: READER, access: "read" }]) },
    });
    const launched = launchChromium();
    [worker, browser] = await Promise.all([started, launched]);
    // Only this test's own screenshot: other browser tests write theirs alongside.
    await rm(joinPath(SCREENSHOT_DIR, "dashboard.png"), { force: true });
    await mkdir(SCREENSHOT_DIR, { recursive: true });

    // A room with listeners: CAPACITY live, the rest in line, and at least one history sample.
    expect((await adminCall(w().url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, { capacity: CAPACITY })).status).toBe(200);
    for (let i = 0; i < LISTENERS; i++) expect((await join(w().url, ROOM)).status).toBe(200);
    expect(await samplesAtLeast(1, 5_000)).toBeGreaterThanOrEqual(1);

    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(PAGE_WAIT_MS);
    page.on("pageerror", (err) => pageErrors.push(`pageerror: ${err.message}`));
    page.on("console", (msg) => {
      // Chromium logs each refused fetch (the 401, 403 and 400 these tests provoke); everything else counts.
      if (msg.type() === "error" && !/the server responded with a status of 40[013]/.test(msg.text())) {
        pageErrors.push(msg.text());
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
  });

  it("refuses a wrong token plainly, then signs in with the typed token, which stays out of the URL and the page", async () => {
    await p().goto(`${w().url}/_spillway/admin/`);
    // The token field has the focus: the page can be used from the keyboard at once. Waited for as long
    // as the page's other waits (a loaded machine runs its script late), not the poll's default second.
    await expect.poll(() => p().locator("#token:focus").count(), { timeout: PAGE_WAIT_MS }).toBe(1);

    await signIn(`wrong-${crypto.randomUUID()}`);
    await p().locator("#signin-error", { hasText: "not accepted (401" }).waitFor();
    expect(await p().locator("#app").isHidden()).toBe(true);

    await p().locator("#token").fill("");
    await signIn(ADMIN_TOKEN);
    await p().locator(`#room option[value="${ROOM}"]`).waitFor({ state: "attached" });
    expect(await p().locator("#signin-panel").isHidden()).toBe(true);
    // The only room there is opens without being chosen.
    expect(
      await p()
        .locator("#room option")
        .evaluateAll((o) => o.map((e) => e.getAttribute("value"))),
    ).toEqual(["", ROOM]);
    await p().locator("#room-view").waitFor();
    expect(await p().locator("#room").inputValue()).toBe(ROOM);
    await p()
      .locator("#now-capacity", { hasText: `now: ${CAPACITY} (set for this room)` })
      .waitFor();

    expect(p().url()).not.toContain(ADMIN_TOKEN);
    expect(p().url()).toBe(`${w().url}/_spillway/admin/`);
    expect(await p().content()).not.toContain(ADMIN_TOKEN);
    // Kept in this tab's session storage only: no local storage, no cookie, not left in the field.
    const kept = await p().evaluate(() => ({ session: Object.values(sessionStorage), local: localStorage.length }));
    expect({ session: kept.session.sort(), local: kept.local }).toEqual({
      session: [ADMIN_TOKEN, ROOM].sort(),
      local: 0,
    });
    expect(await p().context().cookies()).toEqual([]);
    expect(await p().locator("#token").inputValue()).toBe("");
  });

  it("shows the room's numbers and draws its history in every chart", async () => {
    await p().locator("#room").selectOption(ROOM);
    await p()
      .locator("#stat-capacity", { hasText: String(CAPACITY) })
      .waitFor();
    expect(await p().locator("#stat-mode").textContent()).toBe("open");
    const live = await stats();
    expect(Number(await p().locator("#stat-effective").textContent())).toBe(live.effectiveCapacity);
    expect(await p().locator("#stat-active").textContent()).toMatch(/^\d+$/);
    expect(await p().locator("#stat-origin").textContent()).toBe("1.00");

    const charts = { "chart-live": 3, "chart-queue": 2, "chart-rate": 2, "chart-origin": 1 };
    for (const [id, lines] of Object.entries(charts)) {
      await expect.poll(() => pointsPerLine(id), { timeout: PAGE_WAIT_MS }).toHaveLength(lines);
      expect(await p().locator(`#${id}-d`).textContent()).toMatch(/sample/);
    }
    expect(await p().locator("#chart-live polyline.s-cap title").textContent()).toBe("Capacity");
  });

  it("changes capacity only after the confirmation, and the change shows in stats and the audit under the token's name", async () => {
    // Cancelled with the keyboard: nothing is sent.
    await p().locator("#f-capacity").fill("1");
    await p().locator("#review").click();
    await p().locator("#confirm").waitFor();
    await p().keyboard.press("Escape");
    await p().locator("#controls-msg", { hasText: "Nothing was changed" }).waitFor();
    expect((await stats()).capacity).toBe(CAPACITY);

    await p().locator("#f-capacity").fill("2");
    await p().locator("#review").click();
    await p()
      .locator("#confirm-list li", { hasText: `capacity ${CAPACITY} → 2` })
      .waitFor();
    expect(await p().locator("#confirm-room").textContent()).toBe(ROOM);
    await p().locator("#confirm-apply").click();
    await p()
      .locator("#controls-msg", { hasText: `Applied: capacity ${CAPACITY} → 2` })
      .waitFor();

    expect((await stats()).capacity).toBe(2);
    const audit = await adminCall<AuditJson>(w().url, READER, "GET", `/rooms/${ROOM}/audit`);
    expect(audit.json.entries.at(-1)).toMatchObject({ by: "admin", changes: { capacity: { from: CAPACITY, to: 2 } } });
    await p()
      .locator("#audit tr", { hasText: `capacity ${CAPACITY} → 2` })
      .first()
      .waitFor();
    expect(await p().locator("#audit tr").first().textContent()).toContain("admin");
    await p().locator("#stat-capacity", { hasText: "2" }).waitFor();
  });

  it("shows a refused value's error next to its field and changes nothing", async () => {
    await p().locator("#f-capacity").fill("-1");
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#err-capacity", { hasText: "must be 0 or more" }).waitFor();
    expect(await p().locator("#f-capacity").getAttribute("aria-invalid")).toBe("true");
    expect(await p().locator("#controls-msg").textContent()).toContain("Nothing was changed");
    expect((await stats()).capacity).toBe(2);
    await p().locator("#revert").click();
    expect(await p().locator("#f-capacity").inputValue()).toBe("2");
  });

  it("sets nullable fields, a start time and a colour, and clears them back to null", async () => {
    await p().locator("#now-maxQueue", { hasText: "(default)" }).waitFor();
    await p().locator("#f-maxQueue").fill("50");
    await p().locator("#f-startsAt").fill("2030-01-02T03:04");
    await p().locator("#f-accentColor").fill("#123456");
    expect(await p().locator("#none-accentColor").isChecked()).toBe(false);
    await p().locator("#f-title").fill("Town hall");
    await p().locator("#f-shuffleAtStart").check();
    // The local time typed, as the browser reads it, in UTC.
    const startsAt = await p().evaluate(() => new Date("2030-01-02T03:04").toISOString().replace(/\.000Z$/, "Z"));
    await p().locator("#review").click();
    await p().locator("#confirm-list li", { hasText: "maxQueue none → 50" }).waitFor();
    expect(await p().locator("#confirm-list").textContent()).toContain(`startsAt none → ${startsAt}`);
    await p().locator("#confirm-apply").click();
    await p().locator("#controls-msg", { hasText: "Applied: " }).waitFor();
    let state = await roomConfig();
    expect(state.config).toMatchObject({
      maxQueue: 50,
      startsAt,
      accentColor: "#123456",
      title: "Town hall",
      shuffleAtStart: true,
    });
    await p().locator("#now-maxQueue", { hasText: "now: 50 (set for this room)" }).waitFor();
    await p().locator("#now-title", { hasText: "now: Town hall (set for this room)" }).waitFor();
    expect(await p().locator("#numbers-title").textContent()).toBe("Now");
    await p().locator("#audit tr", { hasText: "maxQueue none → 50" }).first().waitFor();

    // Empty is null; the colour's "none" box clears it.
    await p().locator("#f-maxQueue").fill("");
    await p().locator("#f-startsAt").fill("");
    await p().locator("#none-accentColor").check();
    await p().locator("#f-shuffleAtStart").uncheck();
    await p().locator("#review").click();
    await p().locator("#confirm-list li", { hasText: "maxQueue 50 → none" }).waitFor();
    await p().locator("#confirm-apply").click();
    await p().locator("#controls-msg", { hasText: "Applied: " }).waitFor();
    state = await roomConfig();
    expect(state.config).toMatchObject({
      maxQueue: null,
      startsAt: null,
      accentColor: null,
      title: "Town hall",
      shuffleAtStart: false,
    });
    expect(state.overrides).toMatchObject({ maxQueue: null, startsAt: null, accentColor: null });
    await p().locator("#now-maxQueue", { hasText: "now: none (set for this room)" }).waitFor();
    await p()
      .locator("#audit tr", { hasText: "startsAt " + startsAt + " → none" })
      .first()
      .waitFor();
  });

  it("shows the Worker's message next to the field it refused, and changes nothing", async () => {
    const before = await roomConfig();
    const trail = await adminCall<AuditJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/audit`);
    await p().locator("#f-logoUrl").fill("http://logo.example/logo.png");
    await p().locator("#f-shards").fill("2");
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#err-logoUrl", { hasText: "logoUrl must be an https URL" }).waitFor();
    expect(await p().locator("#f-logoUrl").getAttribute("aria-invalid")).toBe("true");
    expect(await p().locator("#f-logoUrl").getAttribute("aria-describedby")).toContain("err-logoUrl");
    // Only that field is marked; the whole change was refused.
    expect(await p().locator("#f-shards").getAttribute("aria-invalid")).toBeNull();
    expect(await p().locator("#err-shards").textContent()).toBe("");
    expect(await p().locator("#controls-msg").textContent()).toContain("Nothing was changed");
    expect(await roomConfig()).toEqual(before);
    const after = await adminCall<AuditJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/audit`);
    expect(after.json.entries).toHaveLength(trail.json.entries.length);
    await p().locator("#revert").click();
    expect(await p().locator("#f-logoUrl").inputValue()).toBe("");
    expect(await p().locator("#f-logoUrl").getAttribute("aria-invalid")).toBeNull();
  });

  it("sets lanes as JSON and invite-only as a checkbox, shows each line in the lanes table, and refuses what cannot run next to the lanes field", async () => {
    const trail = await adminCall<AuditJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/audit`);
    // No lanes yet: the general line alone, and a note that says so.
    await p().locator("#lanes tr th", { hasText: "general" }).waitFor();
    expect(await p().locator("#lanes tr").count()).toBe(1);
    expect(await p().locator("#lanes-note").isHidden()).toBe(false);

    // Not JSON: said under the field, and nothing is sent.
    await p().locator("#f-lanes").fill("{stage: {reserved: 1}}");
    await p().locator("#review").click();
    await p().locator("#err-lanes", { hasText: "lanes is not valid JSON" }).waitFor();
    expect(await p().locator("#confirm").isVisible()).toBe(false);
    expect(await p().locator("#f-lanes").getAttribute("aria-invalid")).toBe("true");

    // More seats reserved than the room has (2): the Worker refuses it on the lanes field.
    await p().locator("#f-lanes").fill('{"stage": {"reserved": 5}}');
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#err-lanes", { hasText: "must not exceed capacity (2)" }).waitFor();
    expect(await p().locator("#controls-msg").textContent()).toContain("Nothing was changed");
    // A setting inside a lane: its path, under the lanes field.
    await p().locator("#f-lanes").fill('{"stage": {"reserved": -1}}');
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#err-lanes", { hasText: "lanes.stage.reserved must be at least 0" }).waitFor();
    expect((await roomConfig()).config).toMatchObject({ lanes: null, inviteOnly: false });

    await p().locator("#f-lanes").fill('{"stage": {"reserved": 1, "cap": 2}}');
    await p().locator("#f-inviteOnly").check();
    await p().locator("#review").click();
    await p().locator("#confirm-list li", { hasText: 'lanes none → {"stage":{"reserved":1,"cap":2}}' }).waitFor();
    await p().locator("#confirm-list li", { hasText: "inviteOnly false → true" }).waitFor();
    await p().locator("#confirm-apply").click();
    await p().locator("#controls-msg", { hasText: "Applied: " }).waitFor();
    const stage = { reserved: 1, cap: 2, share: null, lend: true, shards: 1 };
    expect((await roomConfig()).config).toMatchObject({ lanes: { stage }, inviteOnly: true });

    // The table: general, then stage with its reserve and cap; the audit shows the lanes as JSON.
    await p().locator("#lanes tr th", { hasText: "stage" }).waitFor();
    const cells = await p()
      .locator("#lanes tr")
      .evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    expect(cells.map((row) => row[0])).toEqual(["general", "stage"]);
    expect(cells[1]!.slice(1, 6)).toEqual(["0", "1", "2", "0", "0"]);
    expect(cells[1]![7]).toBe("strict");
    expect(await p().locator("#lanes-note").isHidden()).toBe(true);
    await p()
      .locator("#audit tr", { hasText: `lanes none → ${JSON.stringify({ stage })}` })
      .first()
      .waitFor();
    await p().locator("#audit tr", { hasText: "inviteOnly false → true" }).first().waitFor();
    // The field holds the lanes in force, defaults filled in, as JSON to edit.
    expect(JSON.parse(await p().locator("#f-lanes").inputValue())).toEqual({ stage });

    // Back to no lanes: empty is none.
    await p().locator("#f-lanes").fill("");
    await p().locator("#f-inviteOnly").uncheck();
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#controls-msg", { hasText: "Applied: " }).waitFor();
    expect((await roomConfig()).config).toMatchObject({ lanes: null, inviteOnly: false });
    const after = await adminCall<AuditJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${ROOM}/audit`);
    // The two changes applied, and nothing for the refused ones.
    expect(after.json.entries).toHaveLength(trail.json.entries.length + 2);
  });

  it("draws lines across several samples, and the screenshot shows it", async () => {
    // A second sample comes 10 s after the first while the page watches the room.
    await expect
      .poll(async () => Math.min(...(await pointsPerLine("chart-live"))), { timeout: 20_000, interval: 500 })
      .toBeGreaterThanOrEqual(2);
    for (const id of ["chart-queue", "chart-rate", "chart-origin"]) {
      expect(Math.min(...(await pointsPerLine(id)))).toBeGreaterThanOrEqual(2);
    }
    await p().screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it("signs out, forgetting the token; a read-only token sees a change refused with a plain message", async () => {
    await p().locator("#signout").click();
    await p().locator("#signin-panel").waitFor();
    expect(await p().evaluate(() => sessionStorage.length)).toBe(0);

    await signIn(READER);
    await p().locator(`#room option[value="${ROOM}"]`).waitFor({ state: "attached" });
    await p().locator("#room").selectOption(ROOM);
    await p().locator("#stat-capacity", { hasText: "2" }).waitFor();
    await p().locator("#now-capacity", { hasText: "now: 2" }).waitFor();
    expect(await p().locator("#f-capacity").inputValue()).toBe("2");
    await p().locator("#f-capacity").fill("1");
    await p().locator("#review").click();
    await p().locator("#confirm-apply").click();
    await p().locator("#controls-msg", { hasText: "may read but not change anything (403" }).waitFor();
    expect(await p().locator("#f-capacity").isDisabled()).toBe(true);
    expect((await stats()).capacity).toBe(2);
    expect(await p().content()).not.toContain(READER);
  });

  it("ran without a script error or a CSP refusal", () => {
    expect(pageErrors).toEqual([]);
  });
});

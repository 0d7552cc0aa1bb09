/**
 * The demo room's live sound in a real browser (Debian's Chromium through
 * playwright-core, allowed to play without a click) against `npm start`
 * with the built-in demo origin: a listener let in through the waiting page
 * hears `<audio id="live">` play the endless `live.wav` stream through
 * Spillway's guarded path; when the seat ends elsewhere — ops release it,
 * another device leaves with the pass, or the ticket is claimed on another
 * device — Spillway ends the stream cleanly (the answer finishes, the audio
 * ends without a media error), and once the buffered sound has played out
 * the page asks its heartbeat and says why in `#seat` (`left` or `moved`),
 * with the sound stopped. The page's own periodic heartbeat comes only every
 * 20 s (PASS_TTL_SECONDS 60), so it is the end of the sound that makes the
 * page ask. Screenshots of the playing page and of the explanation are
 * written to the system's temporary directory (never into the repository).
 */
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join as joinPath } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import { adminCall, bearer, send, type StatsJson, type StatusJson } from "./support/http.ts";
import { PHONE_VIEWPORT } from "./support/listener-browser.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

/**
 * The browser globals the callbacks run inside the page use (this project's
 * types have no DOM library), as far as these tests need them.
 */
interface PageAudio {
  currentTime: number;
  paused: boolean;
  error: { code: number } | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  getElementById(id: string): unknown;
  addEventListener(type: string, listener: (event: { type: string }) => void, capture: boolean): void;
};
declare const window: { liveAudioEvents?: { at: number; type: string }[] };

const ADMIN_TOKEN = `adm-${crypto.randomUUID()}`;
/** The default lease: the page's periodic heartbeat comes every 20 s, after the cut has been explained. */
const PASS_TTL_SECONDS = 60;
/** From the seat's end to the page's explanation, at most: the stream's start-up burst (~7 s) plays out first. */
const EXPLAINED_WITHIN_MS = 20_000;
/** From the sound's end to the page's heartbeat asking about it, at most. */
const ASKED_WITHIN_MS = 2_000;
/** The one console error an ended seat causes: the page's heartbeat answered 409 seat_ended. */
const SEAT_ENDED_HEARTBEAT = "Failed to load resource: the server responded with a status of 409 (Conflict)";
const SCREENSHOT_DIR = joinPath(tmpdir(), "spillway-live-audio");
/** Media events that make the page ask whether its seat still holds, and the rest worth a look. */
const MEDIA_EVENTS = ["playing", "waiting", "stalled", "error", "ended", "abort", "emptied"];

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`live audio browser test ${skipReason}`);

let worker: RunningWorker | undefined;
let browser: Browser | undefined;
const contexts: BrowserContext[] = [];

function w(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker;
}

/** What a listener's page did, as seen from outside. */
interface Watched {
  page: Page;
  room: string;
  /** Script errors, console errors, failed requests: anything here fails the test. */
  errors: string[];
  /** The heartbeat's 409 once the seat has ended (the page's expected question), with when it came. */
  seatEndedBeats: number[];
  /** Requests for the heartbeat, when sent (ms since the epoch). */
  beats: number[];
  /** When the live stream's answer ended (the browser read it to its end), if it did. */
  streamFinishedAt: number | undefined;
  /** Set by the test when it ends the seat: from then on the heartbeat's 409 is expected. */
  cutAt: number | undefined;
}

/** A listener in its own context, with a phone-sized window, whose page is watched. */
async function listener(room: string): Promise<Watched> {
  if (browser === undefined) throw new Error("the browser did not start");
  const context = await browser.newContext({ viewport: PHONE_VIEWPORT, locale: "en-US" });
  contexts.push(context);
  // The audio element's media events (which do not bubble) are caught on their way down, with when they came.
  await context.addInitScript((types) => {
    const seen: { at: number; type: string }[] = [];
    window.liveAudioEvents = seen;
    for (const type of types) document.addEventListener(type, (e) => seen.push({ at: Date.now(), type: e.type }), true);
  }, MEDIA_EVENTS);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const watched: Watched = {
    page,
    room,
    errors: [],
    seatEndedBeats: [],
    beats: [],
    streamFinishedAt: undefined,
    cutAt: undefined,
  };
  const heartbeatUrl = `${w().url}/_spillway/rooms/${room}/heartbeat`;
  const streamUrl = `${w().url}/rooms/${room}/live.wav`;
  page.on("pageerror", (err) => watched.errors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    const from = msg.location().url;
    // The demo room's page has no icon, so Chromium asks for /favicon.ico (a 404): not the page's doing.
    if (msg.type() !== "error" || from.endsWith("/favicon.ico")) return;
    // Once the seat has ended, the page's heartbeat is answered 409 (seat_ended), and Chromium logs that answer.
    if (watched.cutAt !== undefined && from === heartbeatUrl && msg.text() === SEAT_ENDED_HEARTBEAT) {
      watched.seatEndedBeats.push(Date.now());
      return;
    }
    watched.errors.push(`console: ${msg.text()} (from ${from})`);
  });
  page.on("request", (req) => {
    if (req.url() === heartbeatUrl) watched.beats.push(Date.now());
  });
  // A cut ends the live stream's chunked answer cleanly: its request finishes, it never fails.
  page.on("requestfinished", (req) => {
    if (req.url() === streamUrl) watched.streamFinishedAt = Date.now();
  });
  page.on("requestfailed", (req) => watched.errors.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  return watched;
}

/** A room of one seat (the listener is its first). */
async function oneSeatRoom(prefix: string): Promise<string> {
  const room = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const reply = await adminCall(w().url, ADMIN_TOKEN, "PATCH", `/rooms/${room}`, { capacity: 1 });
  expect(reply.status, reply.text).toBe(200);
  return room;
}

async function activeListeners(room: string): Promise<number> {
  const reply = await adminCall<StatsJson>(w().url, ADMIN_TOKEN, "GET", `/rooms/${room}/stats`);
  expect(reply.status, reply.text).toBe(200);
  return reply.json.active;
}

/** A seat given back is freed once its revoked pass can no longer be accepted anywhere (5 s after the leave). */
async function seatFreed(room: string): Promise<void> {
  await expect.poll(() => activeListeners(room), { timeout: 10_000, interval: 500 }).toBe(0);
}

function audio(page: Page) {
  return page.evaluate(() => {
    const a = document.getElementById("live") as PageAudio;
    return { currentTime: a.currentTime, paused: a.paused, error: a.error?.code ?? null, src: a.getAttribute("src") };
  });
}

/** Open the room, walk through the waiting page into the demo room, and wait until its sound plays. */
async function admittedAndPlaying(listen: Watched): Promise<void> {
  const { page, room } = listen;
  await page.goto(`${w().url}/rooms/${room}/`);
  await page.locator("main#room p.live").waitFor();
  expect(new URL(page.url()).pathname).toBe(`/rooms/${room}/`);
  expect(await page.locator("h1").textContent()).toBe(room);
  expect(await page.locator("#live").getAttribute("data-src")).toBe(`/rooms/${room}/live.wav`);
  expect(await activeListeners(room)).toBe(1);
  // Played without a click (the browser allows it here): the sound is under way within a few seconds.
  await expect
    .poll(async () => (await audio(page)).currentTime, { timeout: 10_000, interval: 200 })
    .toBeGreaterThan(0.2);
}

/** The listener's token of this kind, from its browser's cookies (no __Host- prefix on 127.0.0.1). */
async function cookie(listen: Watched, kind: "pass" | "ticket"): Promise<string> {
  const cookies = await listen.page.context().cookies(w().url);
  const found = cookies.find((c) => c.name === `spillway-${kind}-${listen.room}`);
  expect(found, `the ${kind} cookie among ${cookies.map((c) => c.name).join(", ")}`).toBeDefined();
  return found!.value;
}

/**
 * After the seat ended at `listen.cutAt`: the page says so, with `reason`,
 * and its sound is stopped. Returns how long the page took, in milliseconds.
 */
async function cutExplained(listen: Watched, reason: "left" | "moved"): Promise<number> {
  const { page } = listen;
  const cutAt = listen.cutAt!;
  const seat = page.locator("#seat");
  await page.locator("#seat[data-state='ended']").waitFor({ timeout: EXPLAINED_WITHIN_MS });
  const explainedAfter = Date.now() - cutAt;
  expect(await seat.getAttribute("data-reason")).toBe(reason);
  expect(await seat.textContent()).toMatch(/^Your seat has ended\. .+ Reload to join again\.$/);

  // The sound is stopped: paused, its source gone, its time no longer moving; Play cannot start it again.
  const first = await audio(page);
  await page.waitForTimeout(1_500);
  const later = await audio(page);
  expect(first).toMatchObject({ paused: true, src: null, error: null });
  expect(later.currentTime).toBe(first.currentTime);
  expect(await page.locator("#play").isDisabled()).toBe(true);
  // Its Leave no longer works either: the seat may be another device's now.
  expect(await page.locator("#leave").isDisabled()).toBe(true);

  // Spillway ended the stream's answer cleanly, and the audio ended without a media error;
  // then (and not the periodic heartbeat, due only later) the page asked, and heard 409 seat_ended.
  expect(listen.streamFinishedAt, "the live stream's answer ended").toBeGreaterThan(cutAt);
  const events = (await page.evaluate(() => window.liveAudioEvents)) ?? [];
  const trouble = events.find((e) => ["ended", "stalled", "error"].includes(e.type) && e.at >= cutAt);
  expect(trouble, JSON.stringify(events)).toMatchObject({ type: "ended" });
  expect(events.filter((e) => e.type === "error")).toEqual([]);
  // The first heartbeat since the cut is the page's question about its ended sound, asked at once
  // (the periodic one, every 20 s, would also end the seat, but late: it must not be what explains it).
  const asked = listen.beats.filter((at) => at >= cutAt)[0]! - trouble!.at;
  expect(asked).toBeGreaterThanOrEqual(0);
  expect(asked).toBeLessThan(ASKED_WITHIN_MS);
  expect(cutAt + explainedAfter - trouble!.at).toBeLessThan(ASKED_WITHIN_MS + 1_000);
  expect(listen.seatEndedBeats).toHaveLength(1);
  expect(listen.errors).toEqual([]);
  console.info(
    `live audio (${reason}): stream answer ended ${listen.streamFinishedAt! - cutAt} ms after the seat ended, ` +
      `the audio ran out ${trouble!.at - cutAt} ms after, the page explained it ${explainedAfter} ms after`,
  );
  return explainedAfter;
}

describe.skipIf(skipReason !== null)("the demo room's live sound in Chromium", () => {
  beforeAll(async () => {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    [worker, browser] = await Promise.all([
      startWorker({ adminToken: ADMIN_TOKEN, vars: { PASS_TTL_SECONDS: String(PASS_TTL_SECONDS) } }),
      launchChromium(["--autoplay-policy=no-user-gesture-required"]),
    ]);
  });

  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => undefined);
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
  });

  it("plays the room live, and when ops release the seat, stops and says the seat was left", async () => {
    const listen = await listener(await oneSeatRoom("live-release"));
    const { page, room } = listen;
    await admittedAndPlaying(listen);

    // It plays: about as much sound as wall time goes by, never paused, and nothing went wrong.
    const before = await audio(page);
    const startedAt = Date.now();
    await page.waitForTimeout(4_000);
    const after = await audio(page);
    const wall = (Date.now() - startedAt) / 1000;
    expect(after.currentTime - before.currentTime).toBeGreaterThanOrEqual(wall - 1);
    expect(after).toMatchObject({ paused: false, error: null, src: `/rooms/${room}/live.wav` });
    expect(await page.locator("#seat").getAttribute("data-state")).toBe("held");
    expect(listen.errors).toEqual([]);
    await page.screenshot({ path: joinPath(SCREENSHOT_DIR, "playing.png"), fullPage: true });

    // Ops release the seat, with the pass the browser holds.
    const pass = await cookie(listen, "pass");
    listen.cutAt = Date.now();
    const released = await adminCall<{ released: boolean }>(w().url, ADMIN_TOKEN, "POST", `/rooms/${room}/release`, {
      pass,
    });
    expect(released.status, released.text).toBe(200);
    expect(released.json.released).toBe(true);

    await cutExplained(listen, "left");
    await seatFreed(room);
    await page.screenshot({ path: joinPath(SCREENSHOT_DIR, "ended-left.png"), fullPage: true });
  });

  it("stops and says the seat was left when another device leaves with the pass", async () => {
    const listen = await listener(await oneSeatRoom("live-leave"));
    await admittedAndPlaying(listen);

    const pass = await cookie(listen, "pass");
    listen.cutAt = Date.now();
    const left = await send<{ left: boolean; released: boolean }>(`${w().url}/_spillway/rooms/${listen.room}/leave`, {
      method: "POST",
      headers: { ...bearer(pass), accept: "application/json" },
    });
    expect(left.status, left.text).toBe(200);
    expect(left.json).toMatchObject({ left: true, released: true });

    await cutExplained(listen, "left");
    await seatFreed(listen.room);
  });

  it("stops and says the seat moved when its ticket is claimed on another device", async () => {
    const listen = await listener(await oneSeatRoom("live-moved"));
    await admittedAndPlaying(listen);

    // Another device presents the same ticket: it takes the seat over — once this device's pass
    // is refused everywhere, under a lease id of its own.
    const ticket = await cookie(listen, "ticket");
    listen.cutAt = Date.now();
    const claim = () =>
      send<StatusJson>(`${w().url}/_spillway/rooms/${listen.room}/status`, {
        headers: { ...bearer(ticket), accept: "application/json" },
      });
    const claimed = await claim();
    expect(claimed.status, claimed.text).toBe(200);
    expect(claimed.json).toMatchObject({ state: "queued", position: 1 });

    await cutExplained(listen, "moved");
    let pass: string | undefined;
    for (let tries = 0; tries < 30 && pass === undefined; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      pass = (await claim()).json.pass;
    }
    expect(pass, "the other device gets the seat").toBeDefined();
    // The seat is the other device's now: still one listener.
    expect(await activeListeners(listen.room)).toBe(1);
    await listen.page.screenshot({ path: joinPath(SCREENSHOT_DIR, "ended-moved.png"), fullPage: true });
  });
});

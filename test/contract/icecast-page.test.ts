/**
 * The waiting page's direct state end to end in an icecast-hook room: real
 * Chromium opens the room path of a running Spillway, is admitted, and gets
 * the direct page itself (no redirect, no proxy) under a CSP whose
 * `media-src` is Icecast's origin alone; the page plays `connect.url` from
 * a real Icecast, whose hook admits the seat. When ops release the seat,
 * Spillway drops the connection (killclient) and the page says the live
 * audio ended on this device, without reloading.
 */
import { randomBytes } from "node:crypto";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { en } from "../../src/pages/waiting/i18n/en.ts";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import { waitFor } from "./support/direct-page.ts";
import { startIcecastHookWorker } from "./support/direct.ts";
import {
  requireDebian,
  type RunningIcecast,
  type RunningSource,
  startIcecast,
  startSource,
} from "./support/icecast.ts";
import { urlAuthXml } from "./support/icecast-auth.ts";
import { adminCall } from "./support/http.ts";
import { freePort, type RunningWorker } from "./support/worker.ts";

const ROOM = "page";
const MOUNT = `/rooms/${ROOM}/stream.mp3`;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
const HOOK_KEY = randomBytes(16).toString("hex");

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`Icecast direct-page browser test ${skipReason}`);

let icecast: RunningIcecast | undefined;
let source: RunningSource | undefined;
let worker: RunningWorker | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason !== null) return;
  await requireDebian(["icecast2", "ffmpeg"]);
  const port = await freePort();
  const hook = `http://127.0.0.1:${port}/_spillway/origins/icecast/listener?key=${HOOK_KEY}`;
  icecast = await startIcecast({ mountXml: { [MOUNT]: urlAuthXml({ listenerAdd: hook, listenerRemove: hook }) } });
  source = await startSource(icecast, MOUNT);
  worker = await startIcecastHookWorker(icecast, {
    adminToken: ADMIN_TOKEN,
    port,
    hookKey: HOOK_KEY,
    rooms: [ROOM],
    capacity: 1,
  });
  browser = await launchChromium(["--autoplay-policy=no-user-gesture-required"]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await source?.stop().catch(() => undefined);
  await worker?.stop();
  await icecast?.stop();
});

describe.skipIf(skipReason !== null)("the direct page in an icecast-hook room", () => {
  it("plays Icecast straight from the room path's page, and says so when the seat's connection is dropped", async () => {
    const page = await browser!.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(err.message));
    page.on("console", (msg) => /Content Security Policy/i.test(msg.text()) && problems.push(msg.text()));
    const response = await page.goto(`${worker!.url}/rooms/${ROOM}/`);
    // Admitted on arrival: the direct page at once, no redirect to the same URL, nothing proxied.
    expect(response!.status()).toBe(200);
    expect(response!.request().redirectedFrom()).toBeNull();
    const csp = response!.headers()["content-security-policy"] ?? "";
    expect(csp).toContain(`media-src ${new URL(icecast!.url).origin}`);
    expect(csp).toContain("connect-src 'self';");
    expect(await page.getAttribute("#spillway", "data-direct")).toBe("icecast-hook");

    await waitFor(
      "the stream playing",
      async () => {
        const at = (await page.evaluate(`document.querySelector("audio")?.currentTime ?? 0`)) as number;
        return at > 1 ? true : undefined;
      },
      30_000,
    );
    expect(await page.textContent("#direct-status")).toBe(en.direct.playing);
    expect(await icecast!.listeners(MOUNT)).toBe(1);

    // Ops release the seat: Spillway drops the connection, the page stops and says why, once.
    const cookies = await page.context().cookies();
    const pass = cookies.find((c) => c.name.includes("pass"))?.value;
    expect(pass).toBeDefined();
    const released = await adminCall<{ released: boolean }>(
      worker!.url,
      ADMIN_TOKEN,
      "POST",
      `/rooms/${ROOM}/release`,
      {
        pass,
      },
    );
    expect(released.json.released).toBe(true);
    const said = await waitFor(
      "the ended message",
      async () => {
        const text = (await page.textContent("#direct-status")) ?? "";
        return text.startsWith(en.direct.ended) && text !== en.direct.ended ? text : undefined;
      },
      45_000,
    );
    expect([en.direct.endedSeat, en.direct.endedClosed, en.direct.endedKept]).toContain(
      said.slice(en.direct.ended.length + 1),
    );
    expect(await page.locator("audio").count()).toBe(0);
    expect(page.url()).toBe(`${worker!.url}/rooms/${ROOM}/`);
    expect(problems).toEqual([]);
    await page.close();
  });
});

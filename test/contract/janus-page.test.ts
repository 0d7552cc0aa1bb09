/**
 * The waiting page's direct state in a janus room, in real Chromium against
 * a real Janus: the page (served as Spillway renders it, its status endpoint
 * faked by ./support/direct-page.ts) reads `connect`, joins the AudioBridge
 * room receive-only with its own Janus client
 * (src/pages/waiting/browser/janus-listener.ts) and plays the mix; when the
 * token is revoked (as Spillway does when the seat ends) the audio stops,
 * the page says the live audio ended on this device, and asks the status
 * once for why — without reloading.
 *
 * A Streaming mountpoint (watched, answering Janus's offer) is checked end
 * to end, through Spillway's own flow, in ./janus-listener.test.ts.
 *
 * Chromium runs with mDNS host candidates off (Janus must reach the
 * addresses it is offered) and autoplay allowed (nobody clicks in a test);
 * it is never asked for a microphone.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin } from "../../src/origins/janus.ts";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import {
  admittedWith,
  type DirectPageDriver,
  type DirectPageServer,
  openDirectPage,
  serveDirectPage,
  waitFor,
} from "./support/direct-page.ts";
import { requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";

const AUDIOBRIDGE = "janus.plugin.audiobridge";
const ROOM = 6160;

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`Janus direct-page browser test ${skipReason}`);

let janus: RunningJanus | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  if (skipReason !== null) return;
  await requireJanus();
  janus = await startJanus({ room: ROOM });
  browser = await launchChromium([
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
  ]);
});

afterAll(async () => {
  await browser?.close();
  await janus?.stop();
});

/** Janus's own count of RTP packets sent on the handles `token` attached (handle_info, first stream). */
async function sentWithToken(admin: JanusAdmin, token: string): Promise<number> {
  let sent = 0;
  for (const session of await admin.sessionsWithToken(token)) {
    for (const handle of await admin.listHandles(session)) {
      const info = await admin.handleInfo(session, handle);
      const webrtc = info.raw.webrtc as { media?: Record<string, { stats?: { out?: { packets?: number } } }> };
      sent += webrtc?.media?.["0"]?.stats?.out?.packets ?? 0;
    }
  }
  return sent;
}

/** Status as Spillway answers once the event is over (why the seat ended). */
const CLOSED = {
  state: "closed",
  position: null,
  ahead: null,
  etaSeconds: null,
  pollAfterSeconds: 60,
  startsAt: null,
  recordingUrl: null,
};

/**
 * RTP still flowing; then the seat ends (the status says `closed`, the token
 * is revoked): the page says so, receives nothing more, asked the status once
 * for why, never reloaded, and the CSP refused nothing.
 */
async function expectEndsOnRevoke(
  admin: JanusAdmin,
  token: string,
  served: DirectPageServer,
  listener: DirectPageDriver,
): Promise<void> {
  const before = (await listener.received()).packets;
  await waitFor("more RTP", async () => ((await listener.received()).packets > before ? true : undefined), 10_000);
  served.setStatus({ room: "ended", ...CLOSED });
  const pollsBefore = served.polls;
  expect((await admin.revokeToken(token)).removed).toBe(true);
  const said = await waitFor(
    "the ended message",
    async () => {
      const text = await listener.statusText();
      return text.includes(listener.text.endedClosed) ? text : undefined;
    },
    45_000,
  );
  expect(said).toBe(`${listener.text.ended} ${listener.text.endedClosed}`);
  const stopped = (await listener.received()).packets;
  await new Promise((r) => setTimeout(r, 1_500));
  expect((await listener.received()).packets).toBe(stopped);
  expect(await listener.page.locator("#player audio").count()).toBe(0);
  expect(served.polls - pollsBefore).toBe(1);
  expect(listener.navigations).toBe(1);
  expect(listener.problems).toEqual([]);
}

describe.skipIf(skipReason !== null)("the direct page in a janus room", () => {
  it("plays the AudioBridge mix with the token from `connect`, and stops with a message once it is revoked", async () => {
    const server = janus!;
    const admin = new JanusAdmin({ url: server.adminUrl, adminSecret: server.adminSecret, timeoutMs: 5_000 });
    const token = `seat-page-${Date.now()}`;
    await admin.addToken(token, [AUDIOBRIDGE]);
    const room = "janus-page";
    const served = await serveDirectPage({
      room,
      kind: "janus",
      sources: { connect: new URL(server.url).origin },
      status: admittedWith(room, { kind: "janus", url: server.url, token, plugin: AUDIOBRIDGE, room: ROOM }),
    });
    try {
      expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
      const listener = await openDirectPage(browser!, served);
      expect(served.csp).toContain(`connect-src 'self' ${new URL(server.url).origin}`);

      // RTP arrives: 50 packets a second (20 ms Opus frames of the mix, silence included).
      const flowing = await waitFor(
        "RTP at the page",
        async () => {
          const now = await listener.received();
          return now.packets >= 50 ? now : undefined;
        },
        30_000,
      );
      expect(flowing).toMatchObject({ codec: "audio/opus", ice: expect.stringMatching(/connected|completed/) });
      await waitFor(
        "the playing message",
        async () => ((await listener.statusText()) === listener.text.playing ? true : undefined),
        15_000,
      );
      expect(await sentWithToken(admin, token)).toBeGreaterThanOrEqual(50);
      expect(await server.participants(ROOM)).toEqual([expect.objectContaining({ muted: true, setup: true })]);
      await expectEndsOnRevoke(admin, token, served, listener);
      expect(await server.participants(ROOM)).toEqual([]);
      await listener.page.close();
    } finally {
      await served.stop();
    }
  });
});

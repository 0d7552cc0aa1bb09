/**
 * A real WebRTC listener on a real Janus: Chromium joins the AudioBridge room
 * with a token added by src/origins/janus.ts, receives the room's mix as RTP
 * (seen by the page's getStats and by Janus's own handle_info), and stops
 * receiving as soon as the client revokes the token.
 *
 * Signalling goes through the test's own Janus API client (HTTP long-poll);
 * the page only holds the RTCPeerConnection, receive-only: a listener with no
 * microphone. Chromium is started with mDNS host candidates off, so that
 * Janus can reach the addresses it is offered.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin } from "../../src/origins/janus.ts";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import { JanusApi, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";

const AUDIOBRIDGE = "janus.plugin.audiobridge";
const ROOM = 5150;

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`Janus WebRTC browser test ${skipReason}`);

let janus: RunningJanus | undefined;
let browser: Browser | undefined;

/** In the page: a receive-only audio PeerConnection; resolves with its offer once ICE gathering is complete. */
const MAKE_OFFER = `(async () => {
  const pc = new RTCPeerConnection();
  window.listenerPc = pc;
  pc.addTransceiver("audio", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") done();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
    setTimeout(done, 5000);
  });
  return pc.localDescription.sdp;
})()`;

/** In the page: the audio RTP packets received so far and the PeerConnection's states. */
const RECEIVED = `(async () => {
  const pc = window.listenerPc;
  let packets = 0;
  let codec = "";
  const report = await pc.getStats();
  report.forEach((entry) => {
    if (entry.type === "inbound-rtp" && entry.kind === "audio") {
      packets = entry.packetsReceived;
      codec = report.get(entry.codecId)?.mimeType ?? "";
    }
  });
  return { packets, codec, ice: pc.iceConnectionState };
})()`;

interface Received {
  packets: number;
  codec: string;
  ice: string;
}

const received = (page: Page) => page.evaluate(RECEIVED) as Promise<Received>;

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Janus's own count of RTP packets it sent on a handle's first (audio) stream. */
function sentPackets(info: Record<string, unknown>): number {
  const webrtc = info.webrtc as { media?: Record<string, { stats?: { out?: { packets?: number } } }> } | undefined;
  return webrtc?.media?.["0"]?.stats?.out?.packets ?? 0;
}

beforeAll(async () => {
  if (skipReason !== null) return;
  await requireJanus();
  janus = await startJanus({ room: ROOM });
  // Plain host candidates instead of <uuid>.local names, which Janus would have to resolve.
  browser = await launchChromium(["--disable-features=WebRtcHideLocalIpsWithMdns"]);
});

afterAll(async () => {
  await browser?.close();
  await janus?.stop();
});

describe.skipIf(skipReason !== null)("a WebRTC listener on Janus, admitted and revoked by token", () => {
  it("receives the room's audio over RTP with a token, and nothing more once the token is revoked", async () => {
    const server = janus!;
    const admin = new JanusAdmin({ url: server.adminUrl, adminSecret: server.adminSecret, timeoutMs: 3_000 });
    const token = "seat-webrtc";
    await admin.addToken(token, [AUDIOBRIDGE]);

    const api = new JanusApi(server.url, token);
    const sessionId = await api.create();
    const handleId = await api.attach(AUDIOBRIDGE);
    const participantId = await api.joinMuted(handleId, ROOM, "webrtc-listener");

    const page = await browser!.newPage();
    const offer = (await page.evaluate(MAKE_OFFER)) as string;
    expect(offer).toMatch(/a=candidate:/);
    const ack = await api.request(
      { janus: "message", body: { request: "configure", muted: true }, jsep: { type: "offer", sdp: offer } },
      [sessionId, handleId],
    );
    expect(ack.janus).toBe("ack");
    const answer = await waitFor(
      "Janus's answer",
      async () => {
        for (const event of (await api.poll()).events) {
          const jsep = event.jsep as { type?: string; sdp?: string } | undefined;
          if (jsep?.type === "answer" && typeof jsep.sdp === "string") return jsep.sdp;
        }
        return undefined;
      },
      10_000,
    );
    await page.evaluate(`window.listenerPc.setRemoteDescription({ type: "answer", sdp: ${JSON.stringify(answer)} })`);

    // The mix comes at 50 packets a second (20 ms Opus frames), silence included.
    const flowing = await waitFor(
      "RTP at the page",
      async () => {
        const now = await received(page);
        return now.packets >= 50 ? now : undefined;
      },
      10_000,
    );
    expect(flowing).toMatchObject({ codec: "audio/opus", ice: expect.stringMatching(/connected|completed/) });
    const info = await admin.handleInfo(sessionId, handleId);
    expect(info.token).toBe(token);
    expect(sentPackets(info.raw)).toBeGreaterThanOrEqual(50);
    expect(await server.participants(ROOM)).toEqual([
      expect.objectContaining({ id: participantId, setup: true, muted: true }),
    ]);

    // Still flowing just before the revocation...
    const before = (await received(page)).packets;
    await new Promise((r) => setTimeout(r, 300));
    expect((await received(page)).packets).toBeGreaterThan(before);

    // ...revoked: the token is gone, the session destroyed, and the packets stop (well within 2 s).
    const revokedAt = Date.now();
    expect(await admin.revokeToken(token)).toEqual({ removed: true, destroyed: [sessionId] });
    expect(await server.sessions()).toEqual([]);
    expect(await server.participants(ROOM)).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    const after = (await received(page)).packets;
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await received(page)).packets).toBe(after);
    expect(Date.now() - revokedAt).toBeLessThan(2_500);
    await page.close();
  });
});

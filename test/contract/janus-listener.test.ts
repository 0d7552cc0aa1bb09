/**
 * The whole listener flow of a janus room for real, nothing faked: a running
 * Spillway (`npm start`, `origin: janus`, JANUS_PLUGIN `streaming`, capacity
 * 1), a real Janus whose Streaming mountpoint ffmpeg feeds a 440 Hz sine as
 * Opus RTP, and real Chromium listeners that only navigate to
 * `/rooms/<room>/` as browsers do.
 *
 * - Listener A walks in (join, admitted, the page's direct state), its page
 *   joins Janus with the token Spillway's status gave it and hears the tone.
 *   Janus's own Admin API says exactly one session exists, and its handle
 *   was attached with A's token.
 * - Listener B (its own browser context: its own cookies) waits in line on
 *   the queued page: no PeerConnection, no audio, and Janus still counts one.
 * - Ops release A's seat (admin `release` with A's pass, read from A's
 *   cookies): within a few seconds Janus no longer has A's session, A's page
 *   receives nothing more and says the audio ended; then B's own poll walks
 *   it in, its page joins Janus with a token of its own and hears the tone;
 *   Janus again counts exactly one.
 * - All along, Janus's session list and the mountpoint's own count of its
 *   viewers are sampled every ~150 ms: neither ever held more than the
 *   capacity.
 *
 * "Hears the tone" is judged from the page's getStats: the inbound audio
 * RTP's `totalAudioEnergy` (the energy of the decoded samples Chromium
 * played out) grows and `audioLevel` is above zero, which silence (Opus
 * DTX or comfort noise) would not give; packets and bytes grow besides, and
 * Janus's own handle_info counts RTP it sent on the listener's handle. The
 * Streaming plugin is used rather than AudioBridge because its audio is
 * ffmpeg's tone itself, not a mix of muted listeners (silence).
 *
 * Each step after the release is timed from the release and printed (a line
 * starting "janus-listener:"), so a slow step shows even when it passes.
 */
import { randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin } from "../../src/origins/janus.ts";
import { catalog } from "../../src/pages/waiting/i18n/index.ts";
import { browserSkipReason, launchChromium } from "./support/browser.ts";
import { RECORD_PEER_CONNECTIONS, waitFor } from "./support/direct-page.ts";
import { type JanusCounts, sampleJanus } from "./support/janus-counts.ts";
import { toneMountpoint } from "./support/opus-tone.ts";
import { adminCall } from "./support/http.ts";
import { janusVars, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

const ROOM = `janus-listen-${randomBytes(3).toString("hex")}`;
const MOUNTPOINT = 8181;
const CAPACITY = 1;
const ADMIN_TOKEN = randomBytes(16).toString("hex");
/** The pass cookie on a loopback host (no `__Host-` prefix there: src/edge/credentials.ts). */
const PASS_COOKIE = `spillway-pass-${ROOM}`;
const TEXT = catalog("en").direct;
/**
 * How long a seat's end may take to reach Janus and the page ("within a few
 * seconds"). Janus drops the session within a few hundred milliseconds; the
 * page learns it from the DTLS close Janus then sends (janus-listener.ts
 * watches the receiver's DTLS transport), in about as long.
 */
const ENDS_WITHIN_MS = 5_000;

const skipReason = browserSkipReason();
if (skipReason !== null) console.warn(`Janus listener flow browser test ${skipReason}`);

let janus: RunningJanus | undefined;
let admin: JanusAdmin | undefined;
let worker: RunningWorker | undefined;
let browser: Browser | undefined;
let source: { stop(): Promise<void> } | undefined;
const contexts: BrowserContext[] = [];

/** Janus's session count and the mountpoint's viewers, sampled in the background for the whole flow. */
let counts: JanusCounts | undefined;

/** What a page's PeerConnections received: audio RTP and the decoded audio's energy (a closed one keeps its last). */
interface Heard {
  pcs: number;
  packets: number;
  bytes: number;
  energy: number;
  level: number;
  ice: string;
}

const HEARD = `(async () => {
  const last = (window.__spillwayLast ??= new Map());
  const sum = { pcs: 0, packets: 0, bytes: 0, energy: 0, level: 0, ice: "none" };
  for (const pc of window.__spillwayPcs ?? []) {
    sum.pcs += 1;
    sum.ice = pc.iceConnectionState;
    let seen = last.get(pc) ?? { packets: 0, bytes: 0, energy: 0, level: 0 };
    if (pc.signalingState !== "closed") {
      try {
        const report = await pc.getStats();
        report.forEach((e) => {
          if (e.type === "inbound-rtp" && e.kind === "audio") {
            seen = {
              packets: e.packetsReceived ?? 0,
              bytes: e.bytesReceived ?? 0,
              energy: e.totalAudioEnergy ?? 0,
              level: e.audioLevel ?? 0,
            };
          }
        });
        last.set(pc, seen);
      } catch {
        // Closed meanwhile: its last numbers stand.
      }
    }
    sum.packets += seen.packets;
    sum.bytes += seen.bytes;
    sum.energy += seen.energy;
    sum.level = Math.max(sum.level, seen.level);
  }
  return sum;
})()`;

/** A listener: its own browser context (cookies), its page, the `connect` its status answers carried. */
interface Listener {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Tokens of every `connect` the page's status answers carried, in order. */
  tokens: string[];
  /** Page errors and CSP refusals. */
  problems: string[];
  heard(): Promise<Heard>;
  statusText(): Promise<string>;
}

async function listener(name: string): Promise<Listener> {
  const context = await browser!.newContext({ locale: "en-US" });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const tokens: string[] = [];
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) problems.push(`csp: ${msg.text()}`);
  });
  page.on("response", (res) => {
    if (!new URL(res.url()).pathname.endsWith(`/rooms/${ROOM}/status`)) return;
    res.json().then(
      (body: { connect?: { token?: unknown } }) => {
        const token = body.connect?.token;
        if (typeof token === "string" && !tokens.includes(token)) tokens.push(token);
      },
      () => undefined,
    );
  });
  await page.addInitScript(RECORD_PEER_CONNECTIONS);
  return {
    name,
    context,
    page,
    tokens,
    problems,
    heard: () => page.evaluate(HEARD) as Promise<Heard>,
    statusText: async () => (await page.locator("#direct-status").textContent({ timeout: 2_000 })) ?? "",
  };
}

/** The page's audio grows in packets, bytes and decoded energy, with a level above zero: the tone, not silence. */
async function hearsTheTone(l: Listener, timeoutMs: number): Promise<Heard> {
  const first = await waitFor(
    `${l.name}: audio RTP at the page`,
    async () => {
      const now = await l.heard();
      return now.packets >= 50 ? now : undefined;
    },
    timeoutMs,
  );
  const later = await waitFor(
    `${l.name}: the tone's energy growing`,
    async () => {
      const now = await l.heard();
      return now.packets > first.packets + 25 && now.energy > first.energy && now.level > 0 ? now : undefined;
    },
    15_000,
  );
  expect(later.bytes).toBeGreaterThan(first.bytes);
  expect(later.ice).toMatch(/connected|completed/);
  return later;
}

/** Watch the page's status line (every 100 ms) until it says the audio ended and why, or `deadline` passes. */
async function endedWithin(l: Listener, deadline: number): Promise<{ at: number; text: string } | undefined> {
  while (Date.now() <= deadline) {
    const text = await l.statusText().catch(() => "");
    // "Ended" comes first, then (after one status request) why: the whole message.
    if (text.startsWith(TEXT.ended) && text !== TEXT.ended) return { at: Date.now(), text };
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Janus's sessions and, for each, the tokens its handles were attached with and the RTP Janus sent on them. */
async function janusView(): Promise<{ session: number; tokens: string[]; sent: number }[]> {
  const out: { session: number; tokens: string[]; sent: number }[] = [];
  for (const session of await admin!.listSessions()) {
    const tokens: string[] = [];
    let sent = 0;
    for (const handle of await admin!.listHandles(session)) {
      const info = await admin!.handleInfo(session, handle);
      if (info.token !== undefined) tokens.push(info.token);
      const webrtc = info.raw.webrtc as { media?: Record<string, { stats?: { out?: { packets?: number } } }> };
      // Keyed by mid ("a" for the mountpoint's audio here); every stream counts.
      for (const media of Object.values(webrtc?.media ?? {})) sent += media.stats?.out?.packets ?? 0;
    }
    out.push({ session, tokens, sent });
  }
  return out;
}

/** Exactly one session on Janus, attached with `token`, sending it RTP; the mountpoint counts one viewer. */
async function onlyListenerIs(token: string): Promise<number> {
  const view = await janusView();
  expect(view).toHaveLength(1);
  expect(await janus!.viewers(MOUNTPOINT)).toBe(1);
  expect(view[0]!.tokens).toEqual([token]);
  expect(view[0]!.sent).toBeGreaterThanOrEqual(50);
  return view[0]!.session;
}

beforeAll(async () => {
  if (skipReason !== null) return;
  await requireJanus();
  janus = await startJanus();
  admin = new JanusAdmin({ url: janus.adminUrl, adminSecret: janus.adminSecret, timeoutMs: 5_000 });
  source = await toneMountpoint(admin, MOUNTPOINT, "spillway-contract-tone");
  [worker, browser] = await Promise.all([
    startWorker({
      adminToken: ADMIN_TOKEN,
      vars: {
        ROOMS: "*",
        ...janusVars(janus, "streaming"),
      },
    }),
    launchChromium(["--disable-features=WebRtcHideLocalIpsWithMdns", "--autoplay-policy=no-user-gesture-required"]),
  ]);
  const patched = await adminCall(worker.url, ADMIN_TOKEN, "PATCH", `/rooms/${ROOM}`, {
    origin: "janus",
    originRoom: String(MOUNTPOINT),
    capacity: CAPACITY,
  });
  expect(patched.status, patched.text).toBe(200);
  counts = sampleJanus(janus, 150, { mountpoint: MOUNTPOINT });
}, 90_000);

afterAll(async () => {
  await counts?.stop();
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await worker?.stop();
  await source?.stop();
  await janus?.stop();
});

let a: Listener | undefined;
let b: Listener | undefined;
let aSession = 0;
let releasedAt = 0;
/** When A's page first said its audio ended, watched from the release on. */
let aEnded: Promise<{ at: number; text: string } | undefined> = Promise.resolve(undefined);
/** How long each step after the release took, printed at the end. */
const timings: string[] = [];

describe.skipIf(skipReason !== null)("a janus room's listeners, for real (Spillway, Janus, Chromium)", () => {
  it("walks A in: the direct page joins Janus with Spillway's token and hears the tone; Janus has one session", async () => {
    a = await listener("A");
    await a.page.goto(`${worker!.url}/rooms/${ROOM}/`);
    // Admitted at once (capacity 1, nobody else): the page's direct state, no walk-in detour.
    await a.page.locator("#direct-status").waitFor({ state: "attached" });
    await hearsTheTone(a, 30_000);
    await waitFor(
      "A's playing message",
      async () => ((await a!.statusText()) === TEXT.playing ? true : undefined),
      15_000,
    );
    expect(a.tokens).toHaveLength(1);
    aSession = await onlyListenerIs(a.tokens[0]!);
    expect((await a.context.cookies(worker!.url)).map((c) => c.name)).toContain(PASS_COOKIE);
  });

  it("keeps B (other cookies) in line on the queued page: no audio, and Janus still counts one", async () => {
    b = await listener("B");
    await b.page.goto(`${worker!.url}/rooms/${ROOM}/`);
    expect(await b.page.locator("#position").textContent()).toBe("1");
    expect(await b.page.locator("#direct-status").count()).toBe(0);
    expect((await b.context.cookies(worker!.url)).map((c) => c.name)).not.toContain(PASS_COOKIE);
    // A few of B's polls (every ~2 s at the front) go by: still in line, nothing reaches Janus.
    const until = Date.now() + 5_000;
    while (Date.now() < until) {
      expect(await b.page.locator("#position").textContent()).toBe("1");
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await b.heard()).toMatchObject({ pcs: 0, packets: 0 });
    expect(b.tokens).toEqual([]);
    expect(await onlyListenerIs(a!.tokens[0]!)).toBe(aSession);
    // A still hears it meanwhile.
    const before = (await a!.heard()).packets;
    await waitFor("A's RTP still growing", async () => ((await a!.heard()).packets > before ? true : undefined), 5_000);
  });

  it("drops A's session on Janus and stops A's audio within seconds when ops release its seat", async () => {
    const pass = (await a!.context.cookies(worker!.url)).find((c) => c.name === PASS_COOKIE)?.value;
    expect(pass).toBeDefined();
    releasedAt = Date.now();
    const path = `/rooms/${ROOM}/release`;
    const released = await adminCall<{ released: boolean }>(worker!.url, ADMIN_TOKEN, "POST", path, { pass });
    expect(released.json.released, released.text).toBe(true);
    aEnded = endedWithin(a!, releasedAt + ENDS_WITHIN_MS);

    await waitFor(
      "Janus destroys A's session",
      async () => ((await janus!.sessions()).includes(aSession) ? undefined : true),
      ENDS_WITHIN_MS,
    );
    timings.push(`Janus dropped A in ${Date.now() - releasedAt} ms`);
    // A's token is gone from Janus too: nothing can open a new session with it.
    expect((await admin!.listTokens()).map((t) => t.token)).not.toContain(a!.tokens[0]);
    // Nothing more reaches A's page (a packet in flight may still land in the first second).
    await new Promise((r) => setTimeout(r, 1_000));
    const stopped = (await a!.heard()).packets;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await a!.heard()).packets).toBe(stopped);
  });

  it("tells A, within seconds of the release, that its live audio ended", async () => {
    const said = await aEnded;
    const after = said === undefined ? undefined : said.at - releasedAt;
    timings.push(
      after === undefined
        ? `A's page had not said it ended ${ENDS_WITHIN_MS} ms after the release`
        : `A's page said "${said!.text}" ${after} ms after the release`,
    );
    const text = said?.text ?? `(no ended message; the status line says "${await a!.statusText()}")`;
    // Why, from the status the page then asks for: the seat is gone. Janus's drop can outrun the release to the
    // edge's view of the room (the pass is honoured until the view lists its revocation): the page asks again
    // twice, 1.5 s apart, before it believes "still yours"; on a very slow machine it may still say so, and its
    // "listen again" then finds the seat gone.
    const why = [TEXT.endedSeat, TEXT.endedClosed, TEXT.endedKept].map(literal).join("|");
    expect(text, `A's ended message within ${ENDS_WITHIN_MS} ms of the release`).toMatch(
      new RegExp(`^${literal(TEXT.ended)} (${why})$`),
    );
    expect(await a!.page.locator("#player audio").count()).toBe(0);
  });

  it("then walks B in by its own poll: its page joins Janus with its own token and hears the tone", async () => {
    await b!.page.locator("#direct-status").waitFor({ state: "attached", timeout: 30_000 });
    await hearsTheTone(b!, 30_000);
    timings.push(`B heard the tone ${Date.now() - releasedAt} ms after the release`);
    expect(b!.tokens).toHaveLength(1);
    expect(b!.tokens[0]).not.toBe(a!.tokens[0]);
    const bSession = await onlyListenerIs(b!.tokens[0]!);
    expect(bSession).not.toBe(aSession);
    // A's page never asked for (or got) another seat.
    expect(a!.tokens).toHaveLength(1);
    expect((await janus!.sessions()).length).toBe(1);
  }, 60_000);

  it("never let Janus hold more sessions or viewers than the capacity, and the pages broke no rule", async () => {
    await counts!.stop();
    const peak = counts!.peak("sessions");
    expect(peak).toBeLessThanOrEqual(CAPACITY);
    expect(peak).toBe(CAPACITY);
    // The Streaming plugin's own count of the mountpoint's listeners, whatever the sessions say.
    const viewers = counts!.peak("viewers");
    expect(viewers).toBeLessThanOrEqual(CAPACITY);
    expect(viewers).toBe(CAPACITY);
    expect(counts!.samples).toBeGreaterThan(50);
    expect(counts!.longestGapMs()).toBeLessThan(2_000);
    expect([...a!.problems, ...b!.problems]).toEqual([]);
    console.info(
      `janus-listener: ${timings.join("; ")}; peak ${peak} session(s), ${viewers} viewer(s) in ${counts!.samples} samples`,
    );
  });
});

/** `text` as a literal in a RegExp. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

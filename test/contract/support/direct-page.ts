/**
 * The waiting page's direct state, served on its own for browser tests: the
 * very page Spillway renders for a listener admitted in a direct room (the
 * same JSX, script and CSP as src/http/direct.ts answers), on a loopback HTTP
 * server, with the status endpoint it polls answering whatever the test sets.
 * This lets a test drive the page against a real media server (Janus,
 * Icecast) without the server side of that mode, and check what the page
 * does when the status changes.
 *
 * - `serveDirectPage()` starts the server; `setStatus()` changes the next
 *   answers of `GET /_spillway/rooms/<room>/status`; `polls` counts them.
 * - `openDirectPage()` opens it in a Chromium page with every
 *   RTCPeerConnection the page makes recorded (an init script, which the
 *   page's CSP does not govern), so that `received()` can read the audio
 *   RTP it got from getStats; CSP violations and page errors are collected.
 */
import { createServer, type Server } from "node:http";
import type { Browser, Page } from "playwright-core";
import { admittedStatus } from "../../../src/contract/status.ts";
import type { DirectSources } from "../../../src/pages/csp.ts";
import { newNonce } from "../../../src/pages/csp.ts";
import { catalog, type Lang } from "../../../src/pages/waiting/i18n/index.ts";
import { type DirectKind, WaitingPage, waitingPageHeaders } from "../../../src/pages/waiting/page.tsx";
import { freePort } from "./worker.ts";

export interface DirectPageOptions {
  room: string;
  kind: DirectKind;
  /** The one media origin the page's CSP opens (as src/http/direct.ts `directSources` gives it). */
  sources: DirectSources;
  /** The status endpoint's first answer (usually admitted, with `connect`). */
  status: Record<string, unknown>;
  lang?: Lang;
}

export interface DirectPageServer {
  /** The page's URL: http://127.0.0.1:<port>/rooms/<room>/ */
  readonly url: string;
  /** The CSP the page was served with. */
  readonly csp: string;
  /** Status requests answered so far. */
  readonly polls: number;
  setStatus(status: Record<string, unknown>): void;
  stop(): Promise<void>;
}

/** The admitted status of a direct room with `connect` (pass fields included, as Spillway sends them). */
export function admittedWith(room: string, connect: Record<string, unknown>): Record<string, unknown> {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const status = admittedStatus(room, "pass-not-used-here", exp, 60_000, { startsAt: null, recordingUrl: null });
  return { ...status, connect: { ...connect, expiresAt: new Date(exp * 1000).toISOString() } };
}

/** Serve the direct page of `options.room` and its status endpoint on 127.0.0.1. */
export async function serveDirectPage(options: DirectPageOptions): Promise<DirectPageServer> {
  const lang = options.lang ?? "en";
  const target = `/rooms/${options.room}/`;
  const statusPath = `/_spillway/rooms/${encodeURIComponent(options.room)}/status`;
  let status = options.status;
  let polls = 0;
  let csp = "";
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
      if (path === target) {
        const nonce = newNonce();
        const headers = waitingPageHeaders(nonce, options.sources);
        csp = headers["content-security-policy"]!;
        const html = await WaitingPage({
          status: admittedWith(options.room, {}) as never,
          target,
          keep: false,
          branding: undefined,
          language: { lang, locale: lang },
          nonce,
          direct: { kind: options.kind, sources: options.sources },
        }).toString();
        res.writeHead(200, { ...headers, "content-type": "text/html; charset=utf-8" });
        res.end(html);
      } else if (path === statusPath) {
        polls += 1;
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(JSON.stringify(status));
      } else {
        res.writeHead(404).end();
      }
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${port}${target}`,
    get csp() {
      return csp;
    },
    get polls() {
      return polls;
    },
    setStatus(next) {
      status = next;
    },
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** What the page's PeerConnections received so far: audio RTP packets and the ICE state of the last one. */
export interface Received {
  packets: number;
  codec: string;
  ice: string;
}

export interface DirectPageDriver {
  page: Page;
  received(): Promise<Received>;
  /** The status line's text (the live region the page writes). */
  statusText(): Promise<string>;
  /** Navigations of the main frame (1: the page never reloaded or left). */
  readonly navigations: number;
  /** CSP violations and uncaught errors the page reported. */
  readonly problems: string[];
  /** The catalog the page speaks, for its expected messages. */
  readonly text: ReturnType<typeof catalog>["direct"];
}

/** Every RTCPeerConnection the page makes, kept on `window.__spillwayPcs` for getStats (runs before the page's script). */
export const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  const made = [];
  window.__spillwayPcs = made;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); made.push(this); }
  };
})();`;

/** Audio RTP packets received by every PeerConnection the page made (a closed one counts what it last reported). */
const RECEIVED = `(async () => {
  const last = (window.__spillwayLast ??= new Map());
  let packets = 0;
  let codec = "";
  let ice = "none";
  for (const pc of window.__spillwayPcs ?? []) {
    ice = pc.iceConnectionState;
    let count = last.get(pc) ?? 0;
    if (pc.signalingState !== "closed") {
      try {
        const report = await pc.getStats();
        report.forEach((entry) => {
          if (entry.type === "inbound-rtp" && entry.kind === "audio") {
            count = entry.packetsReceived;
            codec = report.get(entry.codecId)?.mimeType ?? codec;
          }
        });
        last.set(pc, count);
      } catch {
        // Closed meanwhile: its last count stands.
      }
    }
    packets += count;
  }
  return { packets, codec, ice };
})()`;

/** Open the served direct page in `browser` and return a driver for it. */
export async function openDirectPage(browser: Browser, server: DirectPageServer, lang: Lang = "en") {
  const page = await browser.newPage();
  const problems: string[] = [];
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) problems.push(`csp: ${msg.text()}`);
  });
  await page.addInitScript(RECORD_PEER_CONNECTIONS);
  await page.goto(server.url);
  const driver: DirectPageDriver = {
    page,
    received: () => page.evaluate(RECEIVED) as Promise<Received>,
    statusText: async () => (await page.textContent("#direct-status")) ?? "",
    get navigations() {
      return navigations;
    },
    problems,
    text: catalog(lang).direct,
  };
  return driver;
}

/** Ask `probe` every 200 ms until it returns a value, or fail after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

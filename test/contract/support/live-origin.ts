/**
 * A stand-in live-audio origin that counts its own listeners, the way a real
 * one does: every open stream and every open WebSocket is one listener, and
 * the most ever open at once is kept (`peak`). Tests judge the strict cap by
 * this count, never by Spillway's.
 *
 * - `GET /rooms/<room>/stream`: an endless paced answer with no length (a
 *   chunk every STREAM_TICK_MS), like an Icecast mount.
 * - `GET /rooms/<room>/bye`: answers with `Spillway-Command: release`.
 * - `GET /rooms/<room>/packed`: a gzipped answer with its (compressed) length.
 * - `GET /rooms/<room>/slow`: an answer of known length (SLOW_LENGTH) that
 *   sends its first half and then nothing more; one listener until it closes.
 *   `…/slow.m3u8` is the same typed as an HLS playlist: a document, no
 *   listener; it waits for `finishPlaylists()` to send its second half.
 * - WebSocket on `/rooms/<room>/socket`: answers each message with
 *   `echo:<message>` (binary echoed as is), and records how each closed.
 * - anything else: a small JSON answer of known length.
 *
 * `spans` is the exact record behind the count: each stream and socket, its
 * `Spillway-Pass` and when the origin opened and closed it, so an overlap no
 * sample would catch still shows (`peakOf`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { gzipSync } from "node:zlib";
import { type WebSocket, WebSocketServer } from "ws";

export const STREAM_TICK_MS = 100;
/** What `…/packed` answers, gzipped. */
export const PACKED_TEXT = "#EXTM3U\n".repeat(2_000);
const CHUNK = Buffer.alloc(1_000, 0x55);
/** The declared length of `…/slow`, which never sends its second half. */
const SLOW_LENGTH = 2 * CHUNK.length;

export interface ClosedSocket {
  code: number;
  reason: string;
}

/** One listener as the origin served it: from its open to its close (null while open). */
export interface Span {
  kind: "stream" | "socket";
  path: string;
  pass: string;
  openedAt: number;
  closedAt: number | null;
}

/** The most of these spans open at one instant (a close at the same millisecond as an open comes first). */
export function peakOf(spans: readonly Span[]): number {
  return atPeak(spans).length;
}

/** The spans open at the first instant the most of them were (peakOf): for a failure's message. */
export function atPeak(spans: readonly Span[]): Span[] {
  const edges = spans.flatMap((s) => [
    { at: s.openedAt, step: 1 },
    { at: s.closedAt ?? Infinity, step: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.step - b.step);
  let open = 0;
  let peak = 0;
  let when = 0;
  for (const e of edges) if ((open += e.step) > peak) [peak, when] = [open, e.at];
  return spans.filter((s) => s.openedAt <= when && (s.closedAt ?? Infinity) > when);
}

export interface LiveOrigin {
  readonly url: string;
  /** Listeners connected now (streams + sockets), as the origin counts them. */
  listeners(): number;
  /** The most listeners connected at once since the start (or the last reset). */
  readonly peak: number;
  resetPeak(): void;
  /** The `Spillway-Pass` header of every stream and socket opened, in order. */
  readonly passes: string[];
  /** Every stream and socket the origin served, in the order opened. */
  readonly spans: Span[];
  /** How each socket closed, as the origin saw it. */
  readonly closedSockets: ClosedSocket[];
  /** Handshakes that reached the origin (with or without a pass). */
  readonly handshakes: number;
  /** Send the second half of every `…/slow.m3u8` still waiting for it; how many there were. */
  finishPlaylists(): number;
  close(): Promise<void>;
}

export async function startLiveOrigin(): Promise<LiveOrigin> {
  const streams = new Set<ServerResponse>();
  const playlists = new Set<ServerResponse>();
  const sockets = new Set<WebSocket>();
  const passes: string[] = [];
  const closedSockets: ClosedSocket[] = [];
  const spans: Span[] = [];
  const state = { peak: 0, handshakes: 0 };
  const opened = (kind: Span["kind"], path: string, pass: string): Span => {
    const span: Span = { kind, path, pass, openedAt: Date.now(), closedAt: null };
    spans.push(span);
    return span;
  };
  const count = () => streams.size + sockets.size;
  const note = () => (state.peak = Math.max(state.peak, count()));

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (/^\/rooms\/[^/]+\/stream$/.test(path)) {
      passes.push(String(req.headers["spillway-pass"] ?? ""));
      res.writeHead(200, { "content-type": "audio/mpeg", "cache-control": "no-store" });
      streams.add(res);
      note();
      const span = opened("stream", path, String(req.headers["spillway-pass"] ?? ""));
      const tick = setInterval(() => res.write(CHUNK), STREAM_TICK_MS);
      res.write(CHUNK);
      const end = () => {
        clearInterval(tick);
        streams.delete(res);
        span.closedAt ??= Date.now();
      };
      res.on("close", end);
      req.on("close", end);
      return;
    }
    if (/^\/rooms\/[^/]+\/slow\.m3u8$/.test(path)) {
      // A playlist whose second half comes when the test says so (a stalled origin, a document).
      res.writeHead(200, { "content-type": "application/vnd.apple.mpegurl", "content-length": String(SLOW_LENGTH) });
      res.write(CHUNK);
      playlists.add(res);
      res.on("close", () => playlists.delete(res));
      return;
    }
    if (/^\/rooms\/[^/]+\/slow$/.test(path)) {
      // A short answer of declared length whose end never comes (a stalled origin).
      passes.push(String(req.headers["spillway-pass"] ?? ""));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(SLOW_LENGTH) });
      streams.add(res);
      note();
      res.write(CHUNK);
      const end = () => streams.delete(res);
      res.on("close", end);
      req.on("close", end);
      return;
    }
    if (/^\/rooms\/[^/]+\/packed$/.test(path)) {
      // A compressed answer of known (compressed) length, as origins send pages and playlists.
      const packed = gzipSync(Buffer.from(PACKED_TEXT));
      res.writeHead(200, {
        "content-type": "text/plain",
        "content-encoding": "gzip",
        "content-length": String(packed.length),
      });
      res.end(packed);
      return;
    }
    if (/^\/rooms\/[^/]+\/bye$/.test(path)) {
      res.writeHead(200, { "content-type": "text/plain", "spillway-command": "release", "content-length": "3" });
      res.end("bye");
      return;
    }
    const body = JSON.stringify({ path });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    state.handshakes += 1;
    wss.handleUpgrade(req, socket, head, (ws) => {
      passes.push(String(req.headers["spillway-pass"] ?? ""));
      sockets.add(ws);
      note();
      const span = opened("socket", (req.url ?? "/").split("?")[0]!, String(req.headers["spillway-pass"] ?? ""));
      ws.on("message", (data, isBinary) => ws.send(isBinary ? data : `echo:${String(data)}`, { binary: isBinary }));
      ws.on("close", (code, reason) => {
        span.closedAt ??= Date.now();
        sockets.delete(ws);
        closedSockets.push({ code, reason: reason.toString("utf8") });
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    listeners: count,
    get peak() {
      return state.peak;
    },
    resetPeak: () => (state.peak = count()),
    passes,
    spans,
    closedSockets,
    get handshakes() {
      return state.handshakes;
    },
    finishPlaylists: () => {
      const waiting = [...playlists];
      for (const res of waiting) res.end(CHUNK);
      playlists.clear();
      return waiting.length;
    },
    close: async () => {
      for (const ws of sockets) ws.terminate();
      for (const res of [...streams, ...playlists]) res.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

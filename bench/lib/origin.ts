/**
 * A tiny room origin for the proxied-pass case: answers every request with a
 * short HLS playlist and counts what it served (and whether the pass arrived).
 * `…/stream.mp3` is an endless paced answer instead (the held-stream case),
 * whose open streams it counts.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { PLAYLIST, PLAYLIST_HEADERS } from "./playlist.ts";

const STREAM_CHUNK = Buffer.alloc(1_000, 0xff);

export interface BenchOrigin {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Requests answered so far, and how many of them carried a `Spillway-Pass`. */
  counts(): { served: number; withPass: number };
  /** Endless streams open now. */
  streaming(): number;
  close(): Promise<void>;
}

export async function startOrigin(): Promise<BenchOrigin> {
  let served = 0;
  let withPass = 0;
  let streaming = 0;
  const server = createServer((req, res) => {
    served += 1;
    if (req.headers["spillway-pass"] !== undefined) withPass += 1;
    req.resume();
    if ((req.url ?? "").endsWith("/stream.mp3")) {
      // 8 kB/s in 1 kB chunks, like a 64 kbit/s live MP3 mount.
      res.writeHead(200, { "content-type": "audio/mpeg", "cache-control": "no-store" });
      streaming += 1;
      const tick = setInterval(() => res.write(STREAM_CHUNK), 125);
      res.once("close", () => {
        clearInterval(tick);
        streaming -= 1;
      });
      return;
    }
    res.writeHead(200, PLAYLIST_HEADERS);
    res.end(PLAYLIST);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ served, withPass }),
    streaming: () => streaming,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

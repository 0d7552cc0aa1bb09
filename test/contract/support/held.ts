/**
 * Listeners that hold connections open through Spillway, as players and apps
 * do: a long HTTP answer read as it comes, or a WebSocket.
 */
import { request } from "node:http";
import { WebSocket } from "ws";

export interface HeldStream {
  /** The answer's status. */
  readonly status: number;
  /** Bytes received so far. */
  bytes(): number;
  /** Settles when the answer ends or breaks (the connection is gone). */
  readonly ended: Promise<void>;
  isEnded(): boolean;
  /** The first bytes received (up to 256 kB). */
  head(): Buffer;
  close(): void;
}

/** Open a GET and keep reading it. Resolves once the status line is in. */
export function holdStream(url: string, headers: Record<string, string> = {}): Promise<HeldStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let received = 0;
      let done = false;
      const first: Buffer[] = [];
      let firstLength = 0;
      let finish!: () => void;
      const ended = new Promise<void>((r) => (finish = r));
      const stop = () => {
        done = true;
        finish();
      };
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (firstLength < 256_000) {
          first.push(chunk);
          firstLength += chunk.length;
        }
      });
      res.on("end", stop);
      res.on("close", stop);
      res.on("error", stop);
      resolve({
        status: res.statusCode ?? 0,
        bytes: () => received,
        ended,
        isEnded: () => done,
        head: () => Buffer.concat(first),
        close: () => {
          req.destroy();
          stop();
        },
      });
    });
    req.on("error", reject);
    req.end();
  });
}

export interface HeldSocket {
  readonly socket: WebSocket;
  /** Text messages received, in order. */
  readonly messages: string[];
  /** The close code and reason, once closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  /** Send a text message and wait for the next one to come back. */
  ask(text: string): Promise<string>;
}

/** How long a held socket's question may wait for its echo. */
const ASK_WITHIN_MS = 5_000;

/** Open a WebSocket with headers (a pass as `Authorization: Bearer`). Rejects when the handshake is refused. */
export function holdSocket(url: string, headers: Record<string, string> = {}): Promise<HeldSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: string[] = [];
    let isClosed = false;
    const waiters: ((m: string) => void)[] = [];
    socket.on("message", (data) => {
      const text = String(data);
      messages.push(text);
      waiters.shift()?.(text);
    });
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      socket.on("close", (code, reason) => {
        isClosed = true;
        r({ code, reason: reason.toString("utf8") });
      }),
    );
    socket.once("unexpected-response", (_req, res) => reject(new Error(`handshake refused: ${res.statusCode}`)));
    socket.once("error", reject);
    socket.once("open", () =>
      resolve({
        socket,
        messages,
        closed,
        isClosed: () => isClosed,
        ask: (text) =>
          new Promise<string>((answer, fail) => {
            // A socket cut before it answers fails the question at once, saying how it was closed.
            const timer = setTimeout(
              () => fail(new Error(`no answer to "${text}" within ${ASK_WITHIN_MS} ms`)),
              ASK_WITHIN_MS,
            );
            void closed.then(({ code, reason }) => {
              clearTimeout(timer);
              fail(new Error(`closed (${code} ${reason}) before answering "${text}"`));
            });
            waiters.push((m) => {
              clearTimeout(timer);
              answer(m);
            });
            socket.send(text);
          }),
      }),
    );
  });
}

/** Resolve when `check` holds, polling every 50 ms; reject after `ms` with `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Wait `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

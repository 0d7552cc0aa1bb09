/**
 * A stand-in room origin: records every request it receives and answers
 * with JSON describing what it saw, with the status and headers a test sets
 * (200 and none by default).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RecordingOrigin {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: SeenRequest[];
  /** What it answers from now on. */
  answer: { status: number; headers: Record<string, string> };
  close(): Promise<void>;
}

export async function startOrigin(): Promise<RecordingOrigin> {
  const requests: SeenRequest[] = [];
  const answer = { status: 200, headers: {} as Record<string, string> };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const seen: SeenRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: { ...req.headers },
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      const body = JSON.stringify({ origin: "recording", ...seen });
      res.writeHead(origin.answer.status, {
        ...origin.answer.headers,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin: RecordingOrigin = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    answer,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
  return origin;
}

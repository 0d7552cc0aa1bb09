/**
 * A real Icecast whose mount admits listeners by URL authentication, and a
 * stand-in for the hook it calls, for contract tests of the direct mode
 * (Icecast enforces the seat by asking Spillway about every listener).
 *
 * - `urlAuthXml()` is the `<authentication type="url">` block of a mount,
 *   exactly as docs/origins/icecast-hook.md gives it.
 * - `startHookServer(handle)` runs a node:http server on 127.0.0.1 that hands
 *   each POST to `handle` as the form plus the path, and writes back the
 *   `Response` it returns: so the hook's logic is the real Workers-side code
 *   (src/origins/icecast.ts), only the transport is Node's. Every call is
 *   kept, with when it arrived.
 * - `startHookedIcecast()` starts Icecast (support/icecast.ts) with that
 *   block on one mount; the admin user and password are on the result.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type IcecastOptions, type RunningIcecast, startIcecast, waitAwake } from "./icecast.ts";

export interface UrlAuthOptions {
  /** Where Icecast POSTs `action=listener_add` (required: without it Icecast admits everyone). */
  listenerAdd: string;
  /** Where Icecast POSTs `action=listener_remove` (default: none). */
  listenerRemove?: string;
  /** Icecast's `auth_header` option (default: its own, `icecast-auth-user: 1`). */
  authHeader?: string;
}

function xmlAttr(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}

/** The `<authentication type="url">` block of a mount. */
export function urlAuthXml(options: UrlAuthOptions): string {
  const option = (name: string, value: string) => `<option name="${name}" value="${xmlAttr(value)}"/>`;
  const lines = [option("listener_add", options.listenerAdd)];
  if (options.listenerRemove !== undefined) lines.push(option("listener_remove", options.listenerRemove));
  if (options.authHeader !== undefined) lines.push(option("auth_header", options.authHeader));
  return `<authentication type="url">${lines.join("")}</authentication>`;
}

/** Start Icecast with URL authentication on `mount` (plus any other harness options). */
export function startHookedIcecast(
  mount: string,
  auth: UrlAuthOptions,
  options: IcecastOptions = {},
): Promise<RunningIcecast> {
  return startIcecast({ ...options, mountXml: { ...options.mountXml, [mount]: urlAuthXml(auth) } });
}

/** One POST the hook received. */
export interface HookCall {
  /** When it arrived (ms since the epoch). */
  at: number;
  path: string;
  form: URLSearchParams;
  /** The status the hook answered. */
  status: number;
}

export interface HookServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Every call so far, oldest first. */
  readonly calls: readonly HookCall[];
  /** Wait for a call matching `match` (also one already received); resolves with it. */
  waitForCall(match: (call: HookCall) => boolean, timeoutMs?: number): Promise<HookCall>;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function writeAnswer(res: ServerResponse, answer: Response): Promise<void> {
  const headers: Record<string, string> = {};
  answer.headers.forEach((value, name) => (headers[name] = value));
  res.writeHead(answer.status, headers);
  res.end(Buffer.from(await answer.arrayBuffer()));
}

/** A hook on 127.0.0.1 whose answers come from `handle`. */
export async function startHookServer(
  handle: (form: URLSearchParams, path: string) => Response | Promise<Response>,
): Promise<HookServer> {
  const calls: HookCall[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        const form = new URLSearchParams(await readBody(req));
        const path = new URL(req.url ?? "/", "http://hook").pathname;
        const answer = req.method === "POST" ? await handle(form, path) : new Response(null, { status: 405 });
        calls.push({ at: Date.now(), path, form, status: answer.status });
        for (const wake of waiters) wake();
        await writeAnswer(res, answer);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    waitForCall(match, timeoutMs = 5_000) {
      return waitAwake(
        waiters,
        timeoutMs,
        () => `the hook got no matching call within ${timeoutMs} ms (${calls.length} calls)`,
        () => {
          const found = calls.find(match);
          return found === undefined ? null : { done: found };
        },
      );
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

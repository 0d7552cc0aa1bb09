/**
 * The harness the browser contract tests share: Spillway started with
 * `npm start` and Chromium launched side by side, rooms set up through the
 * admin API, and listeners, each in its own browser context (cookies,
 * session storage) with a phone-sized window, whose script errors, console
 * errors (CSP refusals among them) and dialogs are recorded for a final
 * check. Each test file makes its own with `listenerBrowser`, starts it in
 * `beforeAll` and stops it in `afterAll`.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { expect } from "vitest";
import { launchChromium } from "./browser.ts";
import { adminCall } from "./http.ts";
import { type RunningWorker, startWorker } from "./worker.ts";

/** A phone's window. */
export const PHONE_VIEWPORT = { width: 420, height: 800 } as const;

export interface ListenerBrowserOptions {
  /** The admin token Spillway is started with (and `patch` calls with). */
  adminToken: string;
  /** Each page's default timeout for waits and navigations, in milliseconds. */
  pageTimeout: number;
  /**
   * Where a dialog's message is recorded (every dialog is dismissed):
   * `"errors"` into `pageErrors`, as `dialog: <message>`; `"apart"` into
   * `dialogs`, as it is.
   */
  dialogs: "errors" | "apart";
}

export interface ListenerBrowser {
  /** Script errors and CSP refusals (and dialogs, when so recorded), from every page the tests open. */
  readonly pageErrors: string[];
  /** Dialogs' messages, when recorded apart; otherwise always empty. */
  readonly dialogs: string[];
  /** Start Spillway and Chromium, together. */
  start: () => Promise<void>;
  /** Close every listener's context, the browser, and stop Spillway. */
  stop: () => Promise<void>;
  /** The running Worker (throws when it did not start). */
  w: () => RunningWorker;
  /** A room name no other test uses. */
  uniqueRoom: (prefix: string) => string;
  /** Change a room's settings through the admin API; anything but 200 fails the test. */
  patch: (room: string, body: Record<string, unknown>) => Promise<void>;
  /** A listener's browser: its own context, a phone-sized window, in American English unless told otherwise. */
  listener: (options?: BrowserContextOptions) => Promise<Page>;
}

export function listenerBrowser(options: ListenerBrowserOptions): ListenerBrowser {
  let worker: RunningWorker | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const dialogs: string[] = [];

  const w = (): RunningWorker => {
    if (worker === undefined) throw new Error("the Worker did not start");
    return worker;
  };

  return {
    pageErrors,
    dialogs,
    w,

    async start() {
      [worker, browser] = await Promise.all([startWorker({ adminToken: options.adminToken }), launchChromium()]);
    },

    async stop() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser?.close();
      await worker?.stop();
    },

    uniqueRoom(prefix) {
      return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
    },

    async patch(room, body) {
      const reply = await adminCall(w().url, options.adminToken, "PATCH", `/rooms/${room}`, body);
      expect(reply.status, reply.text).toBe(200);
    },

    async listener(contextOptions = {}) {
      if (browser === undefined) throw new Error("the browser did not start");
      const context = await browser.newContext({ viewport: PHONE_VIEWPORT, locale: "en-US", ...contextOptions });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(options.pageTimeout);
      page.on("pageerror", (err) => pageErrors.push(`pageerror: ${err.message}`));
      page.on("console", (msg) => {
        // The demo room's page has no icon, so Chromium asks for /favicon.ico (a 404): not the page's doing.
        if (msg.type() !== "error" || msg.location().url.endsWith("/favicon.ico")) return;
        pageErrors.push(`${msg.text()} (on ${page.url()}, from ${msg.location().url})`);
      });
      page.on("dialog", (dialog) => {
        if (options.dialogs === "errors") pageErrors.push(`dialog: ${dialog.message()}`);
        else dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      return page;
    },
  };
}

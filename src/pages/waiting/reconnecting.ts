/**
 * A browser's page while the room's state cannot be reached and there is
 * nothing better to show (see docs/failure-policy.md): a short note in the
 * listener's language that reloads itself after `Retry-After`. No script, so
 * its policy allows nothing at all.
 */
import type { Context } from "hono";
import { html } from "hono/html";
import { OWN_ANSWER_CSP } from "../csp.ts";
import { catalog } from "./i18n/index.ts";
import type { LanguageChoice } from "./language.ts";

export interface ReconnectingProps {
  /** Seconds until the page reloads (the answer's Retry-After). */
  seconds: number;
  /** A listener in line (its place is kept), or a new arrival (no place now). */
  waiting: boolean;
  language: LanguageChoice;
  /** Headers of the failure policy (Spillway-Policy, Retry-After, no-store). */
  headers: Record<string, string>;
}

export function reconnectingPage(c: Context, p: ReconnectingProps): Response | Promise<Response> {
  const t = catalog(p.language.lang);
  const duration = new Intl.NumberFormat(p.language.locale, { style: "unit", unit: "second", unitDisplay: "long" });
  const retry = t.reconnecting.retryIn.replace("{seconds}", duration.format(p.seconds));
  const body = html`<!doctype html>
    <html lang="${p.language.lang}" dir="${t.dir}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="refresh" content="${p.seconds}" />
        <title>${t.reconnecting.heading}</title>
      </head>
      <body>
        <main>
          <h1>${t.reconnecting.heading}</h1>
          <p>${p.waiting ? t.reconnecting.waiting : t.reconnecting.arriving}</p>
          <p role="status">${retry}</p>
        </main>
      </body>
    </html>`;
  return c.html(body, p.waiting ? 200 : 503, {
    ...p.headers,
    "content-security-policy": OWN_ANSWER_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
}

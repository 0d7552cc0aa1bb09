/**
 * The waiting page as the Worker serves it: the language it speaks (from
 * Accept-Language with its quality values, or `?lang=`), right to left for
 * Arabic and Hebrew, every state in every language, under 30 KB, operator
 * text shown as text, the no-JavaScript refresh, its headers; and the status
 * JSON for apps, which no language preference changes.
 */
import { describe, expect, it } from "vitest";
import { pageBranding, textOn } from "../../src/pages/waiting/branding.ts";
import { CATALOGS, type Lang, LANGS } from "../../src/pages/waiting/i18n/index.ts";
import { acceptedLanguages, chooseLanguage } from "../../src/pages/waiting/language.ts";
import { WAITING_SCRIPT } from "../../src/pages/generated/scripts.ts";
import { call, join, patchRoom, roomName, type Status, useManualClock } from "./helpers.ts";
import { escaped, expectNoncedCsp } from "./page-checks.ts";

useManualClock();

/** The budget for the page's HTML, CSS and script together. */
const MAX_PAGE_BYTES = 30 * 1024;
const RTL: readonly Lang[] = ["ar", "he"];

type PageState = "prequeue" | "queued" | "overflow" | "closed";
const STATES: readonly PageState[] = ["prequeue", "queued", "overflow", "closed"];

async function page(path: string, headers: Record<string, string> = {}): Promise<{ res: Response; html: string }> {
  const res = await call(path, { headers: { accept: "text/html", ...headers } });
  return { res, html: await res.text() };
}

/** The `<html>` element's language and direction. */
function htmlAttrs(html: string): { lang: string | undefined; dir: string | undefined } {
  const tag = /<html\b[^>]*>/.exec(html)?.[0] ?? "";
  return { lang: /\blang="([^"]*)"/.exec(tag)?.[1], dir: /\bdir="([^"]*)"/.exec(tag)?.[1] };
}

/** A room whose next arrival sees `state`. */
async function roomIn(state: PageState, patch: Record<string, unknown> = {}): Promise<string> {
  const room = roomName(`wp-${state}`);
  const base: Record<PageState, Record<string, unknown>> = {
    prequeue: { startsAt: new Date(Date.now() + 3_600_000).toISOString() },
    queued: { capacity: 0 },
    overflow: { capacity: 0, mode: "overflow" },
    closed: { mode: "closed", recordingUrl: "https://rec.example/talk" },
  };
  await patchRoom(room, { ...base[state], ...patch });
  return room;
}

describe("choosing the language", () => {
  it("reads Accept-Language by quality, drops q=0 and malformed weights, and maps regional tags", () => {
    expect(acceptedLanguages("de;q=1, fr;q=0.4, es;q=0.8")).toEqual(["de", "es", "fr"]);
    expect(acceptedLanguages("fr;q=0, en;q=0.5, he;q=2")).toEqual(["en"]);
    expect(acceptedLanguages(undefined)).toEqual([]);
    expect(chooseLanguage(undefined, "de-DE, es-MX;q=0.9, en;q=0.8")).toEqual({ lang: "es", locale: "es-MX" });
    expect(chooseLanguage(undefined, "iw")).toMatchObject({ lang: "he" });
    expect(chooseLanguage(undefined, "de, *;q=0.1")).toMatchObject({ lang: "en" });
    expect(chooseLanguage(undefined, "")).toMatchObject({ lang: "en" });
    expect(chooseLanguage("ar", "fr")).toEqual({ lang: "ar", locale: "ar" });
    expect(chooseLanguage("fr-CA", "en")).toEqual({ lang: "fr", locale: "fr" });
    expect(chooseLanguage("klingon", "fr")).toEqual({ lang: "fr", locale: "fr" });
  });

  it("serves the page in the preferred language the page has, honouring quality values", async () => {
    const room = await roomIn("queued");
    const cases: [string, Lang][] = [
      ["fr-CA,fr;q=0.9,en;q=0.8", "fr"],
      ["de;q=1, fr;q=0.4, es;q=0.8", "es"],
      ["en;q=0.2, ar;q=0.9", "ar"],
      ["he-IL", "he"],
      ["fr;q=0, es;q=0.1", "es"],
      ["de, ja", "en"],
    ];
    for (const [header, lang] of cases) {
      const { html } = await page(`/rooms/${room}/`, { "accept-language": header });
      expect(htmlAttrs(html).lang, header).toBe(lang);
      expect(html).toContain(escaped(CATALOGS[lang].heading.queued));
    }
  });

  it("lets ?lang= override Accept-Language, ignores an unknown one, and keeps it on the page's own links", async () => {
    const room = await roomIn("overflow");
    const { html } = await page(`/rooms/${room}/listen?lang=es`, { "accept-language": "fr" });
    expect(htmlAttrs(html).lang).toBe("es");
    expect(html).toContain(escaped(CATALOGS.es.overflow.keep));
    // The keep-my-place link carries the language along.
    expect(html).toMatch(new RegExp(`<a class="button" id="keep" href="/rooms/${room}/listen\\?lang=es&amp;keep=1"`));
    // Each language link switches the language and nothing else.
    expect(html).toContain(`href="/rooms/${room}/listen?lang=he"`);

    const unknown = await page(`/rooms/${room}/?lang=xx-<b>`, { "accept-language": "fr" });
    expect(htmlAttrs(unknown.html).lang).toBe("fr");
    expect(unknown.html).not.toContain("<b>");
  });

  it("writes Arabic and Hebrew right to left, everything else left to right", async () => {
    const room = await roomIn("queued");
    for (const lang of LANGS) {
      const { html } = await page(`/rooms/${room}/?lang=${lang}`);
      expect(htmlAttrs(html)).toEqual({ lang, dir: RTL.includes(lang) ? "rtl" : "ltr" });
    }
  });
});

describe("every state in every language", () => {
  it.each(STATES)("renders %s in each language, under 30 KB, with the no-JavaScript refresh", async (state) => {
    const room = await roomIn(state);
    for (const lang of LANGS) {
      const t = CATALOGS[lang];
      const { res, html } = await page(`/rooms/${room}/?lang=${lang}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain(`data-state="${state}"`);
      expect(html).toContain(`<h2 id="state-title">${escaped(t.heading[state])}</h2>`);
      expect(new TextEncoder().encode(html).byteLength).toBeLessThan(MAX_PAGE_BYTES);
      // Without JavaScript the page reloads itself when the next poll is due.
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(html).toContain(`<noscript><meta http-equiv="refresh" content="${retryAfter}"/></noscript>`);
      // The polite live region is there, empty until a place worth saying.
      expect(html).toContain('<p id="announce" class="sr-only" aria-live="polite" aria-atomic="true"></p>');
    }
  });

  it("shows the place, the people ahead and a ranged estimate in the listener's numbers", async () => {
    const room = await roomIn("queued");
    for (let i = 0; i < 3; i++) await join(room);
    const { html } = await page(`/rooms/${room}/?lang=en`);
    expect(html).toContain('<dd id="position" class="big">4</dd>');
    expect(html).toContain('<dd id="ahead">3</dd>');
    // A room admitting nobody has no estimate, and says so.
    expect(html).toContain(`<dd id="eta">${escaped(CATALOGS.en.eta.unknown)}</dd>`);
  });

  it("offers the recording link once posted, in overflow and closed", async () => {
    const room = await roomIn("overflow", { recordingUrl: "https://rec.example/late" });
    const { html } = await page(`/rooms/${room}/?lang=fr`);
    expect(html).toContain(`<a class="button" href="https://rec.example/late">${escaped(CATALOGS.fr.recording)}</a>`);
    const closed = await page(`/rooms/${await roomIn("closed")}/?lang=he`);
    expect(closed.html).toContain(`href="https://rec.example/talk"`);
    expect(closed.html).toContain(escaped(CATALOGS.he.recording));
  });

  it("counts down to the start in prequeue, in UTC until the script knows the listener's zone", async () => {
    const room = roomName("wp-start");
    await patchRoom(room, { startsAt: new Date(Date.now() + 3_725_000).toISOString() });
    const { html } = await page(`/rooms/${room}/?lang=en`);
    expect(html).toMatch(/<bdi id="countdown">1:02:0\d<\/bdi>/);
    expect(html).toMatch(/The room opens in 1 hour, at [^<]+UTC\./);
  });
});

describe("branding", () => {
  it("shows the title, logo, accent and message, with text on the accent chosen by luminance", async () => {
    const room = await roomIn("queued", {
      title: "Town hall",
      logoUrl: "https://cdn.example/logo.png",
      accentColor: "#FFCC00",
      message: "We start at 8.\nBring questions.",
    });
    const { html } = await page(`/rooms/${room}/?lang=en`);
    expect(html).toContain('<h1 dir="auto">Town hall</h1>');
    expect(html).toContain('<img src="https://cdn.example/logo.png" alt="Town hall logo" width="48" height="48"/>');
    expect(html).toContain(":root{--accent:#ffcc00;--on-accent:#000000}");
    expect(html).toContain('<p dir="auto">We start at 8.\nBring questions.</p>');
    expect(html).toContain("<title>You’re in line · Town hall</title>");
    expect(textOn("#1f4fd1")).toBe("#ffffff");
    expect(textOn("#ffcc00")).toBe("#000000");
  });

  it("falls back to the room id for a title, and to the default accent", async () => {
    const room = await roomIn("queued");
    const { html } = await page(`/rooms/${room}/`);
    expect(html).toContain(`<h1 dir="auto">${room}</h1>`);
    expect(html).not.toContain("<img");
    expect(html).not.toContain(":root{--accent:#");
  });

  it("renders a title and a message with markup as escaped text, never as live tags", async () => {
    const title = "<script>alert(1)</script>";
    const message = `<img src=x onerror="alert(2)"> <b>bold</b> </style><script>alert(3)</script>`;
    const room = await roomIn("queued", { title, message });
    for (const lang of LANGS) {
      const { html } = await page(`/rooms/${room}/?lang=${lang}`);
      expect(html).toContain(`<h1 dir="auto">${escaped(title)}</h1>`);
      expect(html).toContain(`<p dir="auto">${escaped(message)}</p>`);
      expect(html).not.toContain("<script>alert");
      expect(html).not.toContain("<img src=x");
      expect(html).not.toContain("<b>bold");
      // One script element only: the page's own, under its nonce.
      expect(html.match(/<script\b/g)).toHaveLength(1);
      expect(html.match(/<style\b/g)).toHaveLength(1);
    }
  });

  it("checks the accent and logo again at render: a bad value is dropped, never written into CSS", () => {
    const b = pageBranding("room-1", {
      title: "  ",
      accentColor: "red;}</style><script>alert(1)</script>",
      logoUrl: "javascript:alert(1)",
      message: null,
    });
    expect(b).toEqual({ title: "room-1", logoUrl: null, accent: null, message: null });
    expect(pageBranding("r", undefined).title).toBe("r");
    expect(pageBranding("r", { logoUrl: "http://plain.example/x.png" }).logoUrl).toBeNull();
  });
});

describe("headers", () => {
  it("is personal and never cached, and runs only its own nonced script and style", async () => {
    const room = await roomIn("queued");
    const { res, html } = await page(`/rooms/${room}/`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    const { csp, nonce } = expectNoncedCsp(res, html);
    // The bundled script, whole, under this response's nonce.
    expect(html).toContain(`<script nonce="${nonce}">${WAITING_SCRIPT}</script>`);
    // A fresh nonce per response.
    const again = await page(`/rooms/${room}/`);
    expect(again.res.headers.get("content-security-policy")).not.toBe(csp);
  });
});

describe("the status JSON for apps", () => {
  /** A status answer without what differs from call to call (the jittered poll interval). */
  function stable(body: Status): Omit<Status, "pollAfterSeconds"> {
    const { pollAfterSeconds, ...rest } = body;
    expect(pollAfterSeconds).toBeGreaterThan(0);
    return rest;
  }

  it("is the same whatever language the listener prefers", async () => {
    const room = await roomIn("queued");
    const ticket = (await join(room)).body.ticket!;
    const answers: Status[] = [];
    for (const al of [undefined, "ar", "he;q=1, fr;q=0.5", "fr"]) {
      for (const query of ["", "?lang=es"]) {
        const headers: Record<string, string> = { authorization: `Bearer ${ticket}`, accept: "application/json" };
        if (al !== undefined) headers["accept-language"] = al;
        const res = await call(`/_spillway/rooms/${room}/status${query}`, { headers });
        expect(res.status).toBe(200);
        expect(res.headers.get("content-language")).toBeNull();
        answers.push(await res.json<Status>());
        // The guarded path answers JSON to an app, also language-neutral.
        const guarded = await call(`/rooms/${room}/${query}`, { headers });
        expect(guarded.headers.get("content-type")).toMatch(/^application\/json\b/);
        answers.push(await guarded.json<Status>());
      }
    }
    const first = stable(answers[0]!);
    expect(first).toMatchObject({ room, state: "queued", position: 1, ahead: 0 });
    for (const a of answers) expect(stable(a)).toEqual(first);
  });

  it("answers overflow and closed with the same fields in any language", async () => {
    for (const state of ["overflow", "closed"] as const) {
      const room = await roomIn(state);
      const plain = await join(room);
      const arabic = await join(room, { "accept-language": "ar" });
      expect(Object.keys(arabic.body).sort()).toEqual(Object.keys(plain.body).sort());
      expect(arabic.body.state).toBe(state);
      expect(arabic.body.offer).toEqual(plain.body.offer);
      expect(arabic.body.recordingUrl).toBe(plain.body.recordingUrl);
    }
  });
});

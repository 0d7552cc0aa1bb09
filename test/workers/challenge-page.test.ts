/**
 * The challenge page (under-attack mode) and its solving worker, rendered
 * through `challengePage` and `challengeWorkerResponse` mounted in a tiny
 * Hono app: every language, right to left for Arabic and Hebrew, the
 * challenge embedded as data (a real signed challenge), operator text as
 * text, the CSP with the nonce and `worker-src 'self'`, never cached, the
 * no-JavaScript message, the worker's script and headers; and that the
 * worker's solver finds the nonce `solves` in src/policy/pow.ts accepts.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Branding } from "../../src/policy/config.ts";
import { type ChallengeOffer, POW_ALGORITHM, solve, solves } from "../../src/policy/pow.ts";
import { issueChallenge } from "../../src/tokens/challenge.ts";
import { keyRing } from "../../src/tokens/keys.ts";
import { challengePage, joinUrl } from "../../src/pages/challenge/page.tsx";
import {
  CHALLENGE_WORKER_PATH,
  CHALLENGE_WORKER_URL,
  challengeWorkerResponse,
} from "../../src/pages/challenge/worker.ts";
import { CHALLENGE_SCRIPT, CHALLENGE_WORKER_JS, SOLVER_JS } from "../../src/pages/generated/scripts.ts";
import { CATALOGS, type Lang, LANGS } from "../../src/pages/waiting/i18n/index.ts";
import { chooseLanguage } from "../../src/pages/waiting/language.ts";
import { escaped, expectNoncedCsp } from "./page-checks.ts";

const MAX_PAGE_BYTES = 30 * 1024;
const RTL: readonly Lang[] = ["ar", "he"];

/** A challenge signed as the Worker signs them. */
async function offer(room: string, bits = 8): Promise<ChallengeOffer> {
  const id = crypto.randomUUID();
  const now = Date.now();
  const { token, exp } = await issueChallenge(await keyRing(env), { issuer: "spillway", room, sub: id, bits, now });
  return { token, id, bits, algorithm: POW_ALGORITHM, expiresAt: new Date(exp * 1000).toISOString() };
}

/** The page and the worker as the app would mount them, with the branding and challenge a test chooses. */
function tinyApp(challenge: ChallengeOffer, branding?: Partial<Branding>): Hono {
  const app = new Hono();
  app.get(CHALLENGE_WORKER_PATH, () => challengeWorkerResponse());
  app.get("/rooms/:room/*", (c) => {
    const url = new URL(c.req.url);
    return challengePage(c, {
      room: c.req.param("room"),
      challenge,
      target: url.pathname + url.search,
      branding,
      language: chooseLanguage(c.req.query("lang"), c.req.header("accept-language")),
    });
  });
  return app;
}

async function page(app: Hono, path: string, headers: Record<string, string> = {}) {
  const res = await app.request(path, { headers });
  return { res, html: await res.text() };
}

function htmlAttrs(html: string): { lang: string | undefined; dir: string | undefined } {
  const tag = /<html\b[^>]*>/.exec(html)?.[0] ?? "";
  return { lang: /\blang="([^"]*)"/.exec(tag)?.[1], dir: /\bdir="([^"]*)"/.exec(tag)?.[1] };
}

/** An attribute of `<main>`, unescaped as a browser would read it. */
function mainAttr(html: string, name: string): string | undefined {
  const tag = /<main\b[^>]*>/.exec(html)?.[0] ?? "";
  const value = new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
  return value
    ?.replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

describe("the challenge page", () => {
  it("renders in every language, right to left for Arabic and Hebrew, under 30 KB", async () => {
    const room = "attack-1";
    const app = tinyApp(await offer(room));
    for (const lang of LANGS) {
      const c = CATALOGS[lang].challenge;
      const { res, html } = await page(app, `/rooms/${room}/?lang=${lang}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(htmlAttrs(html)).toEqual({ lang, dir: RTL.includes(lang) ? "rtl" : "ltr" });
      expect(html).toContain('data-state="challenge"');
      expect(html).toContain(`<h2 id="state-title">${escaped(c.heading)}</h2>`);
      expect(html).toContain(`<p>${escaped(c.intro)}</p>`);
      expect(html).toContain(`<title>${escaped(c.heading)} · ${room}</title>`);
      // Without JavaScript the page says why it cannot go on.
      expect(html).toContain(`<noscript><p id="noscript" class="next">${escaped(c.noscript)}</p></noscript>`);
      // The progress is shown by the script, and the live region starts empty.
      expect(html).toMatch(/<div id="pow-box" hidden="">/);
      expect(html).toContain(`<label for="pow-progress">${escaped(c.progressLabel)}</label>`);
      expect(html).toContain('<p id="announce" class="next" role="status" aria-live="polite" aria-atomic="true"></p>');
      // The script gets the messages it says later.
      expect(JSON.parse(mainAttr(html, "data-text")!)).toEqual({
        still: c.still,
        done: c.done,
        retry: c.retry,
        busy: c.busy,
        unsupported: c.unsupported,
      });
      expect(new TextEncoder().encode(html).byteLength).toBeLessThan(MAX_PAGE_BYTES);
    }
  });

  it("follows Accept-Language like the waiting page, and keeps ?lang= on its language links", async () => {
    const app = tinyApp(await offer("attack-2"));
    const { html } = await page(app, "/rooms/attack-2/listen", { "accept-language": "de, he;q=0.9, en;q=0.5" });
    expect(htmlAttrs(html)).toEqual({ lang: "he", dir: "rtl" });
    expect(html).toContain('href="/rooms/attack-2/listen?lang=fr"');
  });

  it("embeds the challenge as data the script reads back exactly, with where to join and the worker's URL", async () => {
    const room = "attack-3";
    const challenge = await offer(room, 12);
    const app = tinyApp(challenge);
    const { html } = await page(app, `/rooms/${room}/talk?keep=1&lang=es`);
    expect(JSON.parse(mainAttr(html, "data-challenge")!)).toEqual(challenge);
    expect(mainAttr(html, "data-target")).toBe(`/rooms/${room}/talk?keep=1&lang=es`);
    expect(mainAttr(html, "data-join")).toBe(`/_spillway/rooms/${room}/join?keep=1`);
    expect(mainAttr(html, "data-worker")).toBe(CHALLENGE_WORKER_URL);
    expect(CHALLENGE_WORKER_URL.startsWith(`${CHALLENGE_WORKER_PATH}?v=`)).toBe(true);
    expect(joinUrl(room, `/rooms/${room}/`)).toBe(`/_spillway/rooms/${room}/join`);
  });

  it("shows branding as text, never markup, and runs only its own script", async () => {
    const title = `"><script>alert(1)</script>`;
    const message = `<img src=x onerror="alert(2)"> </style><script>alert(3)</script>`;
    const app = tinyApp(await offer("attack-4"), {
      title,
      message,
      accentColor: "red;}</style><script>alert(4)</script>",
      logoUrl: "javascript:alert(5)",
    });
    for (const lang of LANGS) {
      const { html } = await page(app, `/rooms/attack-4/?lang=${lang}`);
      expect(html).toContain(`<h1 dir="auto">${escaped(title)}</h1>`);
      expect(html).toContain(`<p dir="auto">${escaped(message)}</p>`);
      expect(html).not.toContain("<script>alert");
      expect(html).not.toContain("<img");
      expect(html).not.toContain("javascript:");
      expect(html).not.toContain(":root{--accent:");
      expect(html.match(/<script\b/g)).toHaveLength(1);
      expect(html.match(/<style\b/g)).toHaveLength(1);
    }
  });

  it("is never cached, and its CSP allows its nonced script and style and a worker from this origin only", async () => {
    const app = tinyApp(await offer("attack-5"));
    const { res, html } = await page(app, "/rooms/attack-5/");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const { csp, nonce } = expectNoncedCsp(res, html);
    // The bundled script, whole, under this response's nonce.
    expect(html).toContain(`<script nonce="${nonce}">${CHALLENGE_SCRIPT}</script>`);
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const again = await page(app, "/rooms/attack-5/");
    expect(again.res.headers.get("content-security-policy")).not.toBe(csp);
  });
});

describe("the solving worker", () => {
  it("is served as JavaScript, cached for an hour, under a CSP that allows it nothing", async () => {
    const app = tinyApp(await offer("attack-6"));
    const res = await app.request(CHALLENGE_WORKER_URL);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript\b/);
    expect(res.headers.get("cache-control")).toBe("public, max-age=3600");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toBe(CHALLENGE_WORKER_JS);
  });

  it("finds the smallest nonce that solves a real challenge, which the server's check accepts", async () => {
    const challenge = await offer("attack-7", 8);
    const { solveRange } = new Function(`${SOLVER_JS}; return spillwaySolver;`)() as {
      solveRange: (
        id: string,
        bits: number,
        from: number,
        count: number,
      ) => Promise<{ nonce: string | null; tries: number }>;
    };
    let found: string | null = null;
    for (let from = 0; found === null && from < 1 << 16; from += 256) {
      found = (await solveRange(challenge.id, challenge.bits, from, 256)).nonce;
    }
    expect(found).not.toBeNull();
    expect(await solves(challenge.id, found!, challenge.bits)).toBe(true);
    expect(found).toBe(await solve(challenge.id, challenge.bits));
  });
});

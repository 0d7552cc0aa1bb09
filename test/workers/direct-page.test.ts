/**
 * The guarded room path in a direct room: a browser admitted in an
 * icecast-hook (or janus, livekit) room gets the waiting page in its direct
 * state — never a proxied answer, never a redirect to itself — under a CSP
 * that opens exactly the one media origin its mode needs; an app asking JSON
 * gets the admitted status with `connect`; a proxy room is unchanged. The
 * page's script is driven in real Chromium with a real Janus in
 * test/contract/janus-page.test.ts.
 */
import { describe, expect, it } from "vitest";
import { callWith, patchRoom, roomName, type Status, useManualClock } from "./helpers.ts";
import { expectNoncedCsp } from "./page-checks.ts";

useManualClock();
const VARS = {
  ORIGIN_URL: "http://icecast.test:8000/",
  JANUS_URL: "https://janus.test:8089/janus",
  LIVEKIT_URL: "wss://livekit.test",
} as Partial<Env>;
const HTML = { accept: "text/html" };
const JSON_ACCEPT = { accept: "application/json" };

/** The cookies a response sets, as a browser would send them back (name=value pairs). */
function cookiesOf(res: Response, jar: Map<string, string> = new Map()): Map<string, string> {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const at = pair!.indexOf("=");
    const name = pair!.slice(0, at).trim();
    const value = pair!.slice(at + 1).trim();
    if (value === "" || /max-age=0/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
  return jar;
}

const cookieHeader = (jar: Map<string, string>) => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

/** A browser's first visit to the room path, then its visit back with the cookies it got (the pass among them). */
async function admittedBrowser(room: string, vars: Partial<Env> = VARS) {
  const first = await callWith(vars, `/rooms/${room}/`, { headers: HTML });
  const jar = cookiesOf(first);
  expect(
    [...jar.keys()].some((name) => name.includes("pass")),
    "a pass cookie",
  ).toBe(true);
  const firstHtml = await first.text();
  const again = await callWith(vars, `/rooms/${room}/`, { headers: { ...HTML, cookie: cookieHeader(jar) } });
  return { first, firstHtml, again, againHtml: await again.text(), jar };
}

/** The CSP's directives by name. */
function directives(csp: string): Map<string, string> {
  return new Map(
    csp.split(";").map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name!, values.join(" ")];
    }),
  );
}

function expectDirectPage(res: Response, html: string, kind: string): Map<string, string> {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(html).toContain(`data-direct="${kind}"`);
  expect(html).toContain(`data-state="admitted"`);
  expect(html).toContain(`id="direct-status"`);
  // The page never carries the pass or any credential in its markup.
  expect(html).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
  return directives(expectNoncedCsp(res, html).csp);
}

describe("the direct page", () => {
  it("is what an admitted browser gets in an icecast-hook room, first and on every visit back, with media-src to Icecast alone", async () => {
    const room = roomName("dp-ice");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const { first, firstHtml, again, againHtml } = await admittedBrowser(room);
    // Admitted on arrival: the direct page at once, not a redirect to the same URL.
    for (const [res, html] of [
      [first, firstHtml],
      [again, againHtml],
    ] as const) {
      expect(res.headers.get("location")).toBeNull();
      const csp = expectDirectPage(res, html, "icecast-hook");
      expect(csp.get("media-src")).toBe("http://icecast.test:8000");
      expect(csp.get("connect-src")).toBe("'self'");
      expect(csp.get("default-src")).toBe("'none'");
    }
  });

  it("lets a janus room's page fetch from the Janus API's origin only, and play no media URL", async () => {
    const room = roomName("dp-janus");
    await patchRoom(room, { origin: "janus", capacity: 2 });
    const { again, againHtml } = await admittedBrowser(room);
    const csp = expectDirectPage(again, againHtml, "janus");
    expect(csp.get("connect-src")).toBe("'self' https://janus.test:8089");
    expect(csp.has("media-src")).toBe(false);
  });

  it("opens nothing more for a livekit room (no client in the page), nor when the origin's URL is not set", async () => {
    const room = roomName("dp-lk");
    await patchRoom(room, { origin: "livekit", capacity: 2 });
    const visit = await admittedBrowser(room);
    const lk = expectDirectPage(visit.again, visit.againHtml, "livekit");
    expect(lk.get("connect-src")).toBe("'self'");
    expect(lk.has("media-src")).toBe(false);
    const bare = roomName("dp-bare");
    await patchRoom(bare, { origin: "janus", capacity: 2 });
    const { again, againHtml } = await admittedBrowser(bare, { ...VARS, JANUS_URL: "" } as Partial<Env>);
    expect(expectDirectPage(again, againHtml, "janus").get("connect-src")).toBe("'self'");
  });

  it("leaves an app asking JSON with the status JSON: admitted, with where to connect", async () => {
    const room = roomName("dp-json");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const arrival = await callWith(VARS, `/rooms/${room}/`, { headers: JSON_ACCEPT });
    expect(arrival.headers.get("content-type")).toMatch(/^application\/json/);
    const body = await arrival.json<Status>();
    expect(body.state).toBe("admitted");
    expect(body.connect).toMatchObject({ kind: "icecast" });
    // Back on the room path with the pass (cookies): still JSON, never proxied.
    const jar = cookiesOf(arrival);
    const back = await callWith(VARS, `/rooms/${room}/stream.mp3`, {
      headers: { ...JSON_ACCEPT, cookie: cookieHeader(jar) },
    });
    expect(back.status).toBe(200);
    expect(back.headers.get("content-type")).toMatch(/^application\/json/);
    const again = await back.json<Status>();
    expect(again.state).toBe("admitted");
    expect(again.connect?.url).toMatch(new RegExp(`^http://icecast\\.test:8000/rooms/${room}/stream\\.mp3\\?pass=`));
  });
});

describe("a proxy room", () => {
  it("is unchanged: the admitted browser is sent to the same URL, then proxied, under the plain CSP", async () => {
    const room = roomName("dp-proxy");
    await patchRoom(room, { capacity: 2 });
    // The built-in demo origin (no ORIGIN_URL).
    const vars = { ORIGIN_URL: "", JANUS_URL: "https://janus.test:8089/janus" } as Partial<Env>;
    const first = await callWith(vars, `/rooms/${room}/`, { headers: HTML });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe(`/rooms/${room}/`);
    const jar = cookiesOf(first);
    const again = await callWith(vars, `/rooms/${room}/`, { headers: { ...HTML, cookie: cookieHeader(jar) } });
    const html = await again.text();
    expect(again.status).toBe(200);
    expect(html).not.toContain("data-direct");
    expect(html).not.toContain(`id="direct-status"`);
    // A page in line in a proxy room opens nothing beyond its own origin.
    const waiting = roomName("dp-proxy-wait");
    await patchRoom(waiting, { capacity: 0 });
    const line = await callWith(vars, `/rooms/${waiting}/`, { headers: HTML });
    const csp = directives(expectNoncedCsp(line, await line.text()).csp);
    expect(csp.get("connect-src")).toBe("'self'");
    expect(csp.has("media-src")).toBe(false);
  });
});

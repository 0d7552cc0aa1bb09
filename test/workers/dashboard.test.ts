/**
 * The dashboard's page at /_spillway/admin/: served without a token because
 * it is an empty shell (no token, no room data in it), under headers that
 * keep it uncached, unframed and limited to its own nonced script and style;
 * and opening it opens nothing else: every other admin path still needs a
 * token.
 */
import { describe, expect, it } from "vitest";
import { DASHBOARD_SCRIPT } from "../../src/pages/generated/scripts.ts";
import { MODES, ORIGINS, RoomConfigPatchSchema } from "../../src/policy/config.ts";
import { ADMIN, call, type ErrorJson, join, patchRoom, roomName } from "./helpers.ts";

const PAGE_PATHS = ["/_spillway/admin/", "/_spillway/admin"];
/** Every admin token the Workers tests configure (vitest.config.ts). */
const TOKENS = ["test-admin-token", "test-token-ops-alice", "test-token-read-only"];
/**
 * The size the page is meant to stay under, HTML, CSS and script together
 * (the script is bundled unminified). 40 KB until the lanes table and
 * controls came (about 6 KB).
 */
const MAX_PAGE_BYTES = 48 * 1024;

async function page(path: string, init?: RequestInit): Promise<{ res: Response; html: string }> {
  const res = await call(path, init);
  return { res, html: await res.text() };
}

/** The nonce the CSP allows for scripts (and the same one for styles). */
function cspNonce(csp: string): string {
  const script = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp);
  const style = /style-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp);
  expect(script, csp).not.toBeNull();
  expect(style?.[1]).toBe(script![1]);
  return script![1]!;
}

describe("the dashboard page", () => {
  it("answers 200 HTML without a token, on both paths, small", async () => {
    for (const path of PAGE_PATHS) {
      const { res, html } = await page(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain('<form id="signin"');
      expect(html).toMatch(/<input id="token" type="password"/);
      expect(new TextEncoder().encode(html).byteLength).toBeLessThan(MAX_PAGE_BYTES);
    }
  });

  it("holds no token and no room data, even when asked with a token", async () => {
    const room = roomName("dash-secret");
    await patchRoom(room, { capacity: 4321, recordingUrl: "https://rec.example/dash-secret-recording" });
    await join(room);
    for (const auth of [undefined, ADMIN]) {
      const { res, html } = await page("/_spillway/admin/", {
        headers: auth === undefined ? {} : { authorization: auth },
      });
      expect(res.status).toBe(200);
      for (const token of TOKENS) expect(html).not.toContain(token);
      expect(html).not.toContain(room);
      expect(html).not.toContain("dash-secret");
      expect(html).not.toContain("4321");
    }
  });

  it("is never cached, never framed, and may run only its own nonced script and style", async () => {
    const { res, html } = await page("/_spillway/admin/");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const csp = res.headers.get("content-security-policy") ?? "";
    const directives = csp.split(";").map((d) => d.trim());
    for (const d of ["default-src 'none'", "connect-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'"]) {
      expect(directives, csp).toContain(d);
    }
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");

    // Every inline script and style carries this response's nonce; nothing inline escapes the CSP.
    const nonce = cspNonce(csp);
    const scripts = [...html.matchAll(/<script([^>]*)>/g)];
    const styles = [...html.matchAll(/<style([^>]*)>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    expect(styles.length).toBeGreaterThan(0);
    for (const [, attrs] of [...scripts, ...styles]) expect(attrs).toBe(` nonce="${nonce}"`);
    // The bundled script, whole, under that nonce.
    expect(html).toContain(`<script nonce="${nonce}">${DASHBOARD_SCRIPT}</script>`);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    // Nothing loaded from anywhere: no external script, style, image or frame (the icon is an empty data: URL).
    expect(html).not.toMatch(/<(?:img|iframe|object|embed)\b/);
    expect(html).not.toMatch(/\ssrc=/);
    for (const [, href] of html.matchAll(/<link[^>]*href="([^"]*)"/g)) expect(href).toMatch(/^data:/);

    // A fresh nonce per response.
    const again = await page("/_spillway/admin/");
    expect(cspNonce(again.res.headers.get("content-security-policy") ?? "")).not.toBe(nonce);
  });

  it("has charts with accessible names for live against capacity, the line, admissions and the origin", async () => {
    const { html } = await page("/_spillway/admin/");
    for (const id of ["chart-live", "chart-queue", "chart-rate", "chart-origin"]) {
      expect(html).toMatch(new RegExp(`<svg id="${id}"[^>]*role="img"[^>]*aria-labelledby="${id}-t ${id}-d"`));
      expect(html).toMatch(new RegExp(`<title id="${id}-t">[^<]+</title>`));
    }
  });
});

describe("the dashboard's controls", () => {
  /** Every field a PATCH takes, read from the schema: a field added there without a control fails here. */
  const FIELDS = Object.keys(RoomConfigPatchSchema.entries);

  it("has a labelled control for every field of the config, tied to its value and its error", async () => {
    const { html } = await page("/_spillway/admin/");
    expect(FIELDS.length).toBeGreaterThanOrEqual(16);
    for (const field of FIELDS) {
      const control = new RegExp(`<(input|select|textarea) id="f-${field}"[^>]*>`).exec(html);
      expect(control, field).not.toBeNull();
      const described = / aria-describedby="([^"]*)"/.exec(control![0])?.[1]?.split(" ") ?? [];
      expect(described, field).toEqual(expect.arrayContaining([`now-${field}`, `err-${field}`]));
      expect(html, field).toContain(`<label for="f-${field}">`);
      expect(html, field).toContain(`id="now-${field}"`);
      expect(html, field).toContain(`<p class="err" id="err-${field}"></p>`);
    }
    // Ids are unique: a field's value line never lands in another element (say a heading named like it).
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    // No control for a field the API would refuse.
    for (const [, field] of html.matchAll(/ id="f-([A-Za-z]+)"/g)) expect(FIELDS).toContain(field);
  });

  it("offers the right kind of input for each field, grouped under legends", async () => {
    const { html } = await page("/_spillway/admin/");
    const kinds: Record<string, RegExp> = {
      capacity: /<input id="f-capacity" type="number" min="0"/,
      admitPerMinute: /<input id="f-admitPerMinute" type="number" min="1"/,
      shards: /<input id="f-shards" type="number" min="1"/,
      maxWaitSeconds: /<input id="f-maxWaitSeconds" type="number" min="1"/,
      maxQueue: /<input id="f-maxQueue" type="number" min="0"/,
      startsAt: /<input id="f-startsAt" type="datetime-local"/,
      shuffleAtStart: /<input id="f-shuffleAtStart" type="checkbox"/,
      recordingUrl: /<input id="f-recordingUrl" type="url"/,
      logoUrl: /<input id="f-logoUrl" type="url"/,
      accentColor: /<input id="f-accentColor" type="color"/,
      message: /<textarea id="f-message"/,
      challengeBits: /<input id="f-challengeBits" type="number" min="0"/,
      title: /<input id="f-title" type="text"/,
      originRoom: /<input id="f-originRoom" type="text"/,
      lanes: /<textarea id="f-lanes" rows="6" spellcheck="false"/,
      identity: /<textarea id="f-identity" rows="6" spellcheck="false"/,
      inviteOnly: /<input id="f-inviteOnly" type="checkbox"/,
    };
    for (const [field, pattern] of Object.entries(kinds)) expect(html, field).toMatch(pattern);
    // A colour can be cleared back to none.
    expect(html).toMatch(/<input id="none-accentColor" type="checkbox"/);
    for (const [field, values] of [
      ["mode", MODES],
      ["origin", ORIGINS],
    ] as const) {
      const select = new RegExp(`<select id="f-${field}"[^>]*>(.*?)</select>`, "s").exec(html);
      expect(select, field).not.toBeNull();
      expect([...select![1]!.matchAll(/<option value="([^"]*)">/g)].map((m) => m[1])).toEqual([...values]);
    }
    for (const legend of ["Admission", "Waiting", "Branding", "Protection", "Origin", "Lanes"]) {
      expect(html).toContain(`<legend>${legend}</legend>`);
    }
    // The lane settings together, in their own group.
    const group = /<fieldset id="group-lanes">(.*?)<\/fieldset>/s.exec(html)?.[1] ?? "";
    expect([...group.matchAll(/ id="f-([A-Za-z]+)"/g)].map((m) => m[1])).toEqual(["lanes", "identity", "inviteOnly"]);
  });

  it("has a lanes table with a column for each line's live, reserved, cap, queued, admitted and waits", async () => {
    const { html } = await page("/_spillway/admin/");
    const head = /<section aria-labelledby="lanes-title">.*?<thead>(.*?)<\/thead>.*?<tbody id="lanes"><\/tbody>/s.exec(
      html,
    );
    expect(head).not.toBeNull();
    expect([...head![1]!.matchAll(/<th scope="col"[^>]*>([^<]+)<\/th>/g)].map((m) => m[1])).toEqual([
      "Line",
      "Live",
      "Reserved",
      "Cap",
      "Queued",
      "Admitted",
      "Wait p50 / p90",
      "Priority",
      "Admissions / min",
    ]);
  });
});

describe("every other admin path still needs a token", () => {
  const room = "dash-guarded";
  const guarded: [string, string, unknown?][] = [
    ["GET", "/_spillway/admin/rooms"],
    ["GET", `/_spillway/admin/rooms/${room}`],
    ["PATCH", `/_spillway/admin/rooms/${room}`, { capacity: 5 }],
    ["GET", `/_spillway/admin/rooms/${room}/stats`],
    ["GET", `/_spillway/admin/rooms/${room}/history`],
    ["GET", `/_spillway/admin/rooms/${room}/audit`],
    ["POST", `/_spillway/admin/rooms/${room}/release`, { pass: "x.y.z" }],
    ["GET", "/_spillway/admin/metrics"],
    // Near the page, but not the page.
    ["GET", "/_spillway/admin//"],
    ["GET", "/_spillway/admin/index.html"],
    ["GET", "/_spillway/admin/dashboard"],
    ["GET", "/_spillway/admin/nothing-here"],
    // The page's paths with a method that is not a read.
    ["POST", "/_spillway/admin/", { capacity: 5 }],
    ["PATCH", "/_spillway/admin", { capacity: 5 }],
    ["PUT", "/_spillway/admin/"],
    ["DELETE", "/_spillway/admin/"],
  ];

  it("answers 401 and no data without a token, or with a wrong one", async () => {
    for (const [method, path, body] of guarded) {
      for (const auth of [null, "Bearer nope", ADMIN + "x"]) {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (auth !== null) headers["authorization"] = auth;
        const res = await call(path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        expect(res.status, `${method} ${path} with ${auth}`).toBe(401);
        expect((await res.json<ErrorJson>()).error.code).toBe("unauthorized");
        expect(res.headers.get("cache-control")).toBe("no-store");
      }
    }
  });

  it("still answers the API to a valid token", async () => {
    const res = await call("/_spillway/admin/rooms", { headers: { authorization: ADMIN } });
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty("rooms");
  });
});

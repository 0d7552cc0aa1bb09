/**
 * Fuzzing the HTTP layer with fast-check (seeded, so a run is repeatable):
 *
 * - any method, path, credentials, headers and body: never a 5xx, and every
 *   4xx is the JSON error shape;
 * - forged tokens on the listener endpoints that need one: always a 4xx, and
 *   the room's numbers do not move;
 * - an admin PATCH with an invalid body (the project's own schema decides
 *   what is invalid): 400 or 413, and the config and audit stay as they were.
 */
import { env, exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePatch, RoomConfigPatchSchema } from "../../src/policy/config.ts";
import type { RoomStats } from "../../src/contract/schemas.ts";
import {
  ADMIN,
  advance,
  BASE,
  b64url,
  call,
  type ErrorJson,
  getConfig,
  join,
  patchRoom,
  roomName,
  stats,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

/** Fixed seeds: a failure reproduces; change one to explore further. */
const SEED = 20_261_122;
const RUNS = 250;

const ADMIN_TOKEN = env.ADMIN_TOKEN;
const READ_ONLY = (
  JSON.parse((env as Env & { ADMIN_TOKENS?: string }).ADMIN_TOKENS ?? "[]") as { token: string; access: string }[]
).find((tk) => tk.access === "read")!.token;

const TYPS = ["spillway-ticket+jwt", "spillway-pass+jwt", "spillway-overflow+jwt", "spillway-challenge+jwt"];

/** Printable ASCII (what a header value can carry without surprises), up to `max` characters. */
function ascii(max = 40): fc.Arbitrary<string> {
  return fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: max });
}

/** A long run of one character: around the 8 KiB header and 16 KiB body limits. */
const huge = fc
  .tuple(fc.constantFrom("x", "A", "=", "."), fc.integer({ min: 7_000, max: 20_000 }))
  .map(([c, n]) => c.repeat(n));

/** JSON text of an object with exactly these keys, `__proto__` included (an object literal would not keep it). */
function objectText(pairs: readonly (readonly [string, unknown])[]): string {
  return `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? "null"}`).join(",")}}`;
}

const b64urlBytes = (bytes: Uint8Array): string => {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

/** An attacker's HMAC key: signatures that look right and never are. */
const attackerKey = crypto.subtle.importKey(
  "raw",
  new TextEncoder().encode("an attacker's key, not Spillway's"),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign"],
);

interface Forged {
  header: string;
  payload: string;
  signature: "none" | "attacker" | "bytes";
  bytes: Uint8Array;
  tamper: "none" | "pad" | "plus" | "extra-segment" | "drop-segment";
}

/**
 * A forged token: a header and claims of any shape, aimed at the real kinds
 * (their `typ`, the room, the real `kid` and `iss`, times around now) often
 * enough to reach every verifier, then unsigned, signed with an attacker's
 * key, or given random bytes.
 */
function forgedArb(room: string, kid: string, nowSec: number): fc.Arbitrary<Forged> {
  const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), ascii(), fc.integer(), fc.double(), fc.constant(null));
  const time = fc.oneof(
    fc.integer({ min: -100_000, max: 100_000 }).map((d) => nowSec + d),
    anyValue,
    fc.constant(Number.MAX_SAFE_INTEGER),
  );
  const header = fc.record(
    {
      alg: fc.oneof(
        fc.constantFrom("none", "None", "NONE", "HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "PS256", ""),
        anyValue,
      ),
      typ: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPS) }, { weight: 1, arbitrary: anyValue }),
      kid: fc.oneof(fc.constant(kid), fc.constantFrom("__proto__", "constructor", "../../etc/passwd", ""), anyValue),
      crit: fc.oneof(fc.array(ascii(8), { maxLength: 2 }), anyValue),
      jku: ascii(),
      b64: fc.boolean(),
    },
    { requiredKeys: ["alg", "typ"] },
  );
  const claims = fc.record(
    {
      iss: fc.oneof(fc.constant(env.TOKEN_ISSUER || "spillway"), anyValue),
      aud: fc.oneof(fc.constant(room), fc.constant([room]), fc.constant(`${room}x`), anyValue),
      sub: fc.oneof(fc.uuid(), anyValue),
      iat: time,
      exp: time,
      nbf: time,
      seq: fc.oneof(fc.integer({ min: -2, max: 10 }), anyValue),
      shard: fc.oneof(fc.integer({ min: -2, max: 3 }), anyValue),
      at: time,
      sid: fc.oneof(fc.uuid(), anyValue),
      gen: fc.oneof(fc.nat(3), anyValue),
      reason: fc.oneof(fc.constantFrom("mode", "max_wait", "max_queue"), anyValue),
      bits: fc.oneof(fc.nat(32), anyValue),
    },
    { requiredKeys: [] },
  );
  // Now and then a `__proto__` member too.
  const withProto = (obj: fc.Arbitrary<Record<string, unknown>>) =>
    fc
      .tuple(obj, fc.option(fc.dictionary(ascii(5), anyValue, { maxKeys: 2 }), { freq: 4 }))
      .map(([o, proto]) =>
        objectText(proto === null ? Object.entries(o) : [...Object.entries(o), ["__proto__", proto]]),
      );
  // Object-shaped most of the time; now and then any JSON, or bytes that are not UTF-8.
  const segment = (obj: fc.Arbitrary<Record<string, unknown>>) =>
    fc.oneof(
      { weight: 6, arbitrary: withProto(obj).map((text) => b64url.encode(text)) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 2 }).map((j) => b64url.encode(j)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map(b64urlBytes) },
      { weight: 1, arbitrary: ascii(30) },
    );
  return fc.record({
    header: segment(header),
    payload: segment(claims),
    signature: fc.constantFrom("none", "attacker", "bytes"),
    bytes: fc.uint8Array({ minLength: 0, maxLength: 80 }),
    tamper: fc.constantFrom("none", "none", "none", "pad", "plus", "extra-segment", "drop-segment"),
  });
}

async function forge(f: Forged): Promise<string> {
  const input = `${f.header}.${f.payload}`;
  let sig = "";
  if (f.signature === "bytes") sig = b64urlBytes(f.bytes);
  if (f.signature === "attacker") {
    sig = b64urlBytes(
      new Uint8Array(await crypto.subtle.sign("HMAC", await attackerKey, new TextEncoder().encode(input))),
    );
  }
  const token = `${input}.${sig}`;
  switch (f.tamper) {
    case "none":
      return token;
    case "pad":
      return `${f.header}=.${f.payload}==.${sig}`;
    case "plus":
      return `${input}.+/${sig}`;
    case "extra-segment":
      return `${token}.${f.payload}`;
    case "drop-segment":
      return input;
  }
}

function isErrorShape(body: unknown): body is ErrorJson {
  if (typeof body !== "object" || body === null) return false;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === "string" && code !== "" && typeof message === "string" && message !== "";
}

interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

async function send(path: string, init: RequestInit): Promise<Answer> {
  const res = await exports.default.fetch(BASE + path, { redirect: "manual", ...init });
  return { status: res.status, contentType: res.headers.get("content-type"), text: await res.text() };
}

/** A refusal: the 4xx it should be, as JSON with the error shape. */
function expectJsonError(a: Answer, what: string): ErrorJson {
  const shown = `${what} → ${a.status} ${a.contentType} ${a.text.slice(0, 200)}`;
  expect(a.contentType, shown).toMatch(/^application\/json\b/);
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    throw new Error(`not JSON: ${shown}`);
  }
  expect(isErrorShape(body), shown).toBe(true);
  return body as ErrorJson;
}

/** Real tokens of a room, for confusion and tampering. */
async function realTokens(room: string): Promise<string[]> {
  const seated = (await join(room)).body;
  return [seated.ticket!, seated.pass!].filter((tk) => typeof tk === "string");
}

const passKid = (JSON.parse(env.PASS_KEYS) as { kid: string }[])[0]!.kid;

/** The numbers a hostile request must not move (see hostile-corpus.test.ts for why these calls are left out). */
function roomState(s: RoomStats) {
  const { admin: _admin, sync: _sync, alarm: _alarm, ...calls } = s.doCalls;
  return { ...s, doCalls: calls };
}

describe("HTTP fuzzing", () => {
  it("answers anything without a 5xx, and every 4xx with the JSON error shape", async () => {
    const room = roomName("fuzz");
    const other = roomName("fuzz-other");
    const real = [...(await realTokens(room)), ...(await realTokens(other))];
    const nowSec = Math.floor(t.clock.now() / 1000);

    const token = fc.oneof(
      { weight: 4, arbitrary: forgedArb(room, passKid, nowSec).map((f) => ({ forged: f })) },
      { weight: 1, arbitrary: fc.constantFrom(...real).map((r) => ({ text: r })) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(...real), fc.nat(), fc.constantFrom("A", "_", "=", ".", "+"))
          .map(([r, i, c]) => ({ text: `${r.slice(0, i % r.length)}${c}${r.slice((i % r.length) + 1)}` })),
      },
      { weight: 1, arbitrary: ascii(60).map((s) => ({ text: s })) },
    );
    const segment = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          "join",
          "status",
          "heartbeat",
          "leave",
          "release",
          "stats",
          "audit",
          "history",
          "rooms",
          "admin",
          "metrics",
          "jwks.json",
          "openapi.json",
          "",
          ".",
          "..",
          "%2e%2e",
          "%2F",
          "%00",
          "a".repeat(65),
        ),
      },
      { weight: 2, arbitrary: ascii(12).map(encodeURIComponent) },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 6 }).map(encodeURIComponent) },
      { weight: 1, arbitrary: ascii(12) },
    );
    const roomSeg = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(room, other) }, { weight: 1, arbitrary: segment });
    const rest = fc.array(segment, { maxLength: 3 }).map((s) => s.map((x) => `/${x}`).join(""));
    const query = fc.oneof(
      { weight: 3, arbitrary: fc.constant("") },
      {
        weight: 1,
        arbitrary: fc
          .array(
            fc.tuple(fc.constantFrom("keep", "lang", "limit", "room", "ticket", "pass", "token", "x"), ascii(20)),
            {
              minLength: 1,
              maxLength: 3,
            },
          )
          .map((pairs) => `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`),
      },
    );
    const anyMethod = fc.constantFrom("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS", "HEAD");
    // Mostly the real routes with their own methods, the rest anything.
    const route = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            fc.constantFrom(["POST", "join"], ["GET", "status"], ["POST", "heartbeat"], ["POST", "leave"]),
            roomSeg,
          )
          .map(([[method, action], r]) => ({ method, path: `/_spillway/rooms/${r}/${action}` })),
      },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              ["GET", ""],
              ["PATCH", ""],
              ["GET", "/stats"],
              ["GET", "/audit"],
              ["GET", "/history"],
              ["POST", "/release"],
            ),
            roomSeg,
          )
          .map(([[method, action], r]) => ({ method, path: `/_spillway/admin/rooms/${r}${action}` })),
      },
      {
        weight: 3,
        arbitrary: fc.tuple(anyMethod, roomSeg, rest).map(([method, r, x]) => ({ method, path: `/rooms/${r}${x}` })),
      },
      {
        weight: 3,
        arbitrary: fc
          .tuple(
            anyMethod,
            fc.oneof(
              fc.tuple(roomSeg, segment, rest).map(([r, a, x]) => `/_spillway/rooms/${r}/${a}${x}`),
              fc.tuple(roomSeg, rest).map(([r, x]) => `/_spillway/admin/rooms/${r}${x}`),
              rest.map((x) => `/_spillway/admin${x}`),
              rest.map((x) => `/_spillway${x}`),
              rest.map((x) => x || "/"),
            ),
          )
          .map(([method, path]) => ({ method, path })),
      },
    );
    const cookieName = fc.constantFrom(
      `spillway-ticket-${room}`,
      `spillway-pass-${room}`,
      `spillway-overflow-${room}`,
      `__Host-spillway-pass-${room}`,
      `spillway-ticket-${other}`,
      "session",
    );
    const cookieValue = fc.oneof(
      token,
      ascii(30).map((s) => ({ text: s.replace(/;/g, "") })),
    );
    const request = fc.record(
      {
        route,
        query,
        authorization: fc.oneof(
          { weight: 8, arbitrary: token.map((tk) => ({ bearer: tk })) },
          { weight: 1, arbitrary: fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, `Bearer ${READ_ONLY}`, ADMIN) },
          { weight: 1, arbitrary: fc.constantFrom("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer  x  y") },
          { weight: 1, arbitrary: ascii(60) },
          { weight: 1, arbitrary: huge.map((h) => `Bearer ${h}`) },
        ),
        cookie: fc.oneof(
          { weight: 8, arbitrary: fc.array(fc.tuple(cookieName, cookieValue), { minLength: 1, maxLength: 3 }) },
          { weight: 1, arbitrary: ascii(60) },
          { weight: 1, arbitrary: huge.map((h) => `c=${h}`) },
        ),
        accept: fc.oneof(fc.constantFrom("application/json", "text/html", "*/*"), ascii(40)),
        contentType: fc.oneof(
          fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
          ascii(40),
        ),
        acceptLanguage: fc.oneof(fc.constantFrom("ar", "he;q=0.9, fr", "*", "zz-ZZ"), ascii(40)),
        body: fc.oneof(
          fc.json({ maxDepth: 3 }),
          fc.string({ maxLength: 80 }),
          fc.string({ unit: "binary", maxLength: 40 }),
          fc
            .array(
              fc.tuple(
                fc.constantFrom("__proto__", "constructor", "prototype", "capacity", "mode", "pass", "toString"),
                fc.jsonValue({ maxDepth: 2 }),
              ),
              { maxLength: 4 },
            )
            .map(objectText),
          huge.map((h) => `{"title":"${h}${h}"}`),
        ),
      },
      { requiredKeys: ["route", "query"] },
    );

    const text = async (v: { forged: Forged } | { text: string }) => ("forged" in v ? forge(v.forged) : v.text);

    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers = new Headers();
        if (r.authorization !== undefined) {
          const a = r.authorization;
          headers.set("authorization", typeof a === "string" ? a : `Bearer ${await text(a.bearer)}`);
        }
        if (r.cookie !== undefined) {
          const c = r.cookie;
          const pairs =
            typeof c === "string"
              ? c
              : (await Promise.all(c.map(async ([n, v]) => `${n}=${await text(v)}`))).join("; ");
          headers.set("cookie", pairs);
        }
        if (r.accept !== undefined) headers.set("accept", r.accept);
        if (r.contentType !== undefined) headers.set("content-type", r.contentType);
        if (r.acceptLanguage !== undefined) headers.set("accept-language", r.acceptLanguage);
        const { method } = r.route;
        const path = r.route.path + r.query;
        const body = method === "GET" || method === "HEAD" ? undefined : r.body;
        const a = await send(path, { method, headers, body });
        const what = `${method} ${path.slice(0, 200)}`;
        expect(a.status, `${what} → ${a.status} ${a.text.slice(0, 200)}`).toBeLessThan(500);
        // A HEAD answer has no body to check.
        if (a.status >= 400 && method !== "HEAD") expectJsonError(a, what);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 20_000);

  it("refuses every forged token on status, heartbeat and leave with a 4xx, and nothing moves", async () => {
    const room = roomName("fuzz-tok");
    await patchRoom(room, { capacity: 1 });
    const seated = (await join(room)).body;
    const queued = (await join(room)).body;
    expect([seated.state, queued.state]).toEqual(["admitted", "queued"]);
    await stats(room);
    const before = roomState(await stats(room));
    const nowSec = Math.floor(t.clock.now() / 1000);

    const endpoint = fc.constantFrom(
      { method: "GET", path: `/_spillway/rooms/${room}/status` },
      { method: "POST", path: `/_spillway/rooms/${room}/heartbeat` },
      { method: "POST", path: `/_spillway/rooms/${room}/leave` },
    );
    const where = fc.constantFrom("bearer", "ticket-cookie", "pass-cookie", "overflow-cookie");
    await fc.assert(
      fc.asyncProperty(forgedArb(room, passKid, nowSec), endpoint, where, async (f, e, w) => {
        const token = await forge(f);
        const headers: Record<string, string> =
          w === "bearer"
            ? { authorization: `Bearer ${token}` }
            : { cookie: `spillway-${w.replace("-cookie", "")}-${room}=${token}` };
        const a = await send(e.path, { method: e.method, headers });
        const what = `${e.method} ${e.path} with a forged token (${w}): ${token.slice(0, 200)}`;
        expect(a.status, `${what} → ${a.status} ${a.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(a.status, `${what} → ${a.status}`).toBeLessThan(500);
        expectJsonError(a, what);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
    expect(roomState(await stats(room))).toEqual(before);
  }, 20_000);

  it("changes nothing on an admin PATCH with an invalid body", async () => {
    const room = roomName("fuzz-adm");
    await patchRoom(room, { capacity: 7, mode: "hold", title: "Fuzz" });
    const config = await getConfig(room);
    const auditOf = async () =>
      (await call(`/_spillway/admin/rooms/${room}/audit`, { headers: { authorization: ADMIN } })).json();
    const audit = await auditOf();

    const fields = Object.keys(RoomConfigPatchSchema.entries);
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 0, 1, 1.5, 1e308, "10", "", " ", null, true, [], {}, "open", "OPEN", "https://example.com/"),
      fc.constantFrom("2026-11-22T19:00:00Z", "2026-13-01T00:00:00Z", "#1f4fd1", "#fff", "javascript:alert(1)"),
      fc.integer(),
      fc.double(),
      ascii(30),
    );
    const key = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...fields) },
      { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "prototype", "toString", "Capacity") },
      { weight: 1, arbitrary: ascii(10) },
    );
    const pairs = fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 5 });
    const body = fc.oneof(
      { weight: 6, arbitrary: pairs.map(objectText) },
      { weight: 1, arbitrary: fc.tuple(pairs, fc.nat()).map(([p, n]) => objectText(p).slice(0, n % 40)) },
      { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
      { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
      { weight: 1, arbitrary: huge.map((h) => objectText([["title", h + h]])) },
    );
    const invalid = body.filter((text) => !isValidPatch(text));

    await fc.assert(
      fc.asyncProperty(invalid, async (text) => {
        const a = await send(`/_spillway/admin/rooms/${room}`, {
          method: "PATCH",
          headers: { authorization: ADMIN, "content-type": "application/json" },
          body: text,
        });
        const what = `PATCH ${text.slice(0, 200)}`;
        const error = expectJsonError(a, what);
        const expected = new TextEncoder().encode(text).byteLength > MAX_BODY ? 413 : 400;
        expect(a.status, what).toBe(expected);
        expect(error.error.code, what).toBe(expected === 413 ? "body_too_large" : "invalid_body");
        expect(await getConfig(room), what).toEqual(config);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
    expect(await auditOf()).toEqual(audit);
  }, 20_000);

  it("keeps a room answering without a 5xx after any admin PATCH it accepts", async () => {
    // ISO 8601 date-times in the forms the schema allows: either separator, fractions, every offset form.
    // Instants from a day ago to decades ahead: a shuffled prequeue counts in the second before `startsAt`,
    // so a far start that is then moved or cleared must not stop the room (the view's span is capped).
    const zones: [string, number][] = [
      ["Z", 0],
      ["+00:00", 0],
      ["-05:00", -300],
      ["+0530", 330],
      ["+05", 300],
      [" +05:30", 330],
      [" -0800", -480],
      [" -08", -480],
    ];
    const startsAt = fc
      .record({
        offsetMs: fc.oneof(
          fc.integer({ min: -24 * 3_600_000, max: 6 * 3_600_000 }),
          fc.integer({ min: 0, max: 70 * 365 * 24 * 3_600_000 }),
        ),
        sep: fc.constantFrom("T", " "),
        fraction: fc.constantFrom("none", "ms", "ns"),
        zone: fc.constantFrom(...zones),
      })
      .map(({ offsetMs, sep, fraction, zone: [zone, minutes] }) => {
        // The instant's wall-clock time in that zone, then the zone.
        const local = new Date(t.clock.now() + offsetMs + minutes * 60_000).toISOString();
        const [date, time] = [local.slice(0, 10), local.slice(11, 19)];
        const frac =
          fraction === "none" ? "" : fraction === "ms" ? local.slice(19, 23) : `${local.slice(19, 23)}000000`;
        return `${date}${sep}${time}${frac}${zone}`;
      });
    const patch = fc
      .record(
        {
          capacity: fc.nat(5),
          admitPerMinute: fc.integer({ min: 1, max: 1000 }),
          mode: fc.constantFrom("open", "hold", "overflow", "closed"),
          shards: fc.integer({ min: 1, max: 3 }),
          maxWaitSeconds: fc.option(fc.integer({ min: 1, max: 604_800 })),
          maxQueue: fc.option(fc.nat(3)),
          startsAt: fc.option(startsAt),
          shuffleAtStart: fc.boolean(),
          recordingUrl: fc.option(fc.webUrl()),
          title: fc.option(fc.string({ minLength: 1, maxLength: 20 })),
          message: fc.option(fc.string({ minLength: 1, maxLength: 40 })),
          accentColor: fc.option(fc.constantFrom("#1f4fd1", "#000000", "#FFFFFF")),
        },
        { requiredKeys: [] },
      )
      .filter((p) => parsePatch(p).ok);

    await fc.assert(
      // A few patches in a row on a room of their own: a counterexample is the whole story.
      fc.asyncProperty(fc.array(patch, { minLength: 1, maxLength: 3 }), async (patches) => {
        const room = roomName("fuzz-ok");
        for (const [i, p] of patches.entries()) {
          const what = `after PATCH ${i + 1} of ${JSON.stringify(patches)}`;
          const patched = await send(`/_spillway/admin/rooms/${room}`, {
            method: "PATCH",
            headers: { authorization: ADMIN, "content-type": "application/json" },
            body: JSON.stringify(p),
          });
          expect(patched.status, `${what}: ${patched.text.slice(0, 200)}`).toBe(200);
          // Past the shards' sync interval and the edge's view cache: the patch is in force for what follows.
          advance(t.clock, 2_000);
          for (let n = 0; n < 2; n++) {
            const joined = await send(`/_spillway/rooms/${room}/join`, { method: "POST" });
            expect(joined.status, `${what}, join → ${joined.text.slice(0, 200)}`).toBeLessThan(500);
            const ticket = joined.status === 200 ? (JSON.parse(joined.text) as { ticket?: string }).ticket : undefined;
            if (ticket === undefined) continue;
            const polled = await send(`/_spillway/rooms/${room}/status`, {
              headers: { authorization: `Bearer ${ticket}` },
            });
            expect(polled.status, `${what}, status → ${polled.text.slice(0, 200)}`).toBeLessThan(500);
          }
          for (const accept of ["application/json", "text/html"]) {
            const page = await send(`/rooms/${room}/live`, { headers: { accept } });
            expect(page.status, `${what}, guarded (${accept}) → ${page.text.slice(0, 200)}`).toBeLessThan(500);
          }
        }
      }),
      { seed: SEED + 3, numRuns: 80 },
    );
  }, 30_000);
});

/** The admin body limit (admin.ts). */
const MAX_BODY = 16 * 1024;

/**
 * Would the Worker accept this PATCH body? As it reads it: within the size
 * limit, the text as the request carries it (UTF-8, so a lone surrogate
 * becomes U+FFFD), a leading byte-order mark dropped, then JSON and the
 * project's own schema.
 */
function isValidPatch(text: string): boolean {
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_BODY) return false;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return false;
  }
  return parsePatch(parsed).ok;
}

/**
 * Proxy mode over HTTP: what an origin behind Spillway receives, what never
 * reaches it, and that it can verify a pass with the published JWKS alone,
 * using a JOSE implementation other than the one that signed it.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { connect } from "node:net";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, type ErrorJson, join, send, type StatusJson } from "./support/http.ts";
import { type RecordingOrigin, type SeenRequest, startOrigin } from "./support/origin.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

/** A public JWK as node:crypto takes it, plus its kid. */
type Jwk = Extract<Parameters<typeof createPublicKey>[0], { format: "jwk" }>["key"] & { kid?: string };

const ROOM = "proxied-room";
const OTHER_ROOM = "another-room";

let origin: RecordingOrigin | undefined;
let worker: RunningWorker | undefined;

function base(): string {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker.url;
}

function seen(): SeenRequest[] {
  if (origin === undefined) throw new Error("the origin did not start");
  return origin.requests;
}

/** Cookie names and values from a Cookie header. */
function cookiePairs(header: string | string[] | undefined): [string, string][] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join("; ") : header;
  return text
    .split(";")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const at = p.indexOf("=");
      return at < 0 ? [p, ""] : [p.slice(0, at), p.slice(at + 1)];
    });
}

function isSpillwayCookieName(name: string): boolean {
  return name.startsWith("spillway-") || name.startsWith("__Host-spillway-");
}

async function admitted(room: string): Promise<{ pass: string; ticket: string }> {
  const res = await join(base(), room);
  expect(res.status).toBe(200);
  expect(res.json.state).toBe("admitted");
  expect(typeof res.json.pass).toBe("string");
  expect(typeof res.json.ticket).toBe("string");
  return { pass: res.json.pass!, ticket: res.json.ticket! };
}

async function jwks(): Promise<Jwk[]> {
  const res = await send<{ keys: Jwk[] }>(`${base()}/_spillway/jwks.json`);
  expect(res.status).toBe(200);
  expect(Array.isArray(res.json.keys)).toBe(true);
  return res.json.keys;
}

function publicKeyFor(keys: Jwk[], token: string): KeyObject {
  const decoded = jwt.decode(token, { complete: true });
  if (decoded === null) throw new Error("the token does not decode");
  const kid = decoded.header.kid;
  expect(typeof kid).toBe("string");
  const jwk = keys.find((k) => k.kid === kid);
  if (jwk === undefined) throw new Error(`no JWKS key has kid ${kid}`);
  return createPublicKey({ key: jwk, format: "jwk" });
}

/**
 * A GET sent as raw HTTP/1.1 (a client may put any header on the wire,
 * hop-by-hop ones included), its body chunked and empty: the status line
 * of the answer.
 */
async function rawGet(path: string, lines: string[]): Promise<string> {
  const url = new URL(base());
  return new Promise<string>((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      const head = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, ...lines, "Transfer-Encoding: chunked"];
      socket.write([...head, "", "0", "", ""].join("\r\n"));
    });
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      got += chunk;
      if (got.includes("\r\n\r\n")) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf("\r\n")));
      }
    });
    socket.on("error", reject);
    socket.setTimeout(10_000, () => reject(new Error(`no answer to ${path}`)));
  });
}

beforeAll(async () => {
  origin = await startOrigin();
  worker = await startWorker({ adminToken: `proxy-${crypto.randomUUID()}`, originUrl: origin.url });
});

afterAll(async () => {
  await worker?.stop();
  await origin?.close();
});

describe("an admitted request goes to the origin", () => {
  it("with a bearer pass: same path and query, the pass in Spillway-Pass, no Authorization", async () => {
    const { pass } = await admitted(ROOM);
    const before = seen().length;

    const res = await send(`${base()}/rooms/${ROOM}/live.m3u8?x=1`, { headers: bearer(pass) });

    expect(res.status).toBe(200);
    expect(seen()).toHaveLength(before + 1);
    const got = seen().at(-1)!;
    expect(got.method).toBe("GET");
    expect(got.url).toBe(`/rooms/${ROOM}/live.m3u8?x=1`);
    expect(got.headers["spillway-pass"]).toBe(pass);
    expect(got.headers.authorization).toBeUndefined();
    expect(cookiePairs(got.headers.cookie).filter(([n]) => isSpillwayCookieName(n))).toEqual([]);
    // The listener gets the origin's answer.
    expect(res.json).toMatchObject({ origin: "recording", url: `/rooms/${ROOM}/live.m3u8?x=1` });
  });

  it("with the pass as a cookie: Spillway's cookies removed, other cookies and Authorization kept", async () => {
    const { pass, ticket } = await admitted(ROOM);
    const before = seen().length;

    const cookie = [
      `spillway-ticket-${ROOM}=${ticket}`,
      "theme=dark",
      `spillway-pass-${ROOM}=${pass}`,
      `__Host-spillway-ticket-${OTHER_ROOM}=${ticket}`,
      "session=abc123",
    ].join("; ");
    const res = await send(`${base()}/rooms/${ROOM}/live.m3u8?x=1`, {
      headers: { cookie, authorization: "Basic dXNlcjpwYXNz" },
    });

    expect(res.status).toBe(200);
    expect(seen()).toHaveLength(before + 1);
    const got = seen().at(-1)!;
    expect(got.url).toBe(`/rooms/${ROOM}/live.m3u8?x=1`);
    expect(got.headers["spillway-pass"]).toBe(pass);
    expect(cookiePairs(got.headers.cookie)).toEqual([
      ["theme", "dark"],
      ["session", "abc123"],
    ]);
    // An Authorization that is not the pass belongs to the origin.
    expect(got.headers.authorization).toBe("Basic dXNlcjpwYXNz");
  });
});

describe("hop-by-hop headers", () => {
  it("never reach the origin, with the pass as the bearer or as a cookie; the listener's others do", async () => {
    const { pass } = await admitted(ROOM);
    const hops = [
      "Connection: keep-alive, TE, Upgrade",
      "Upgrade: h2c",
      "Keep-Alive: timeout=5",
      "TE: trailers",
      "Trailer: X-Checksum",
      "Proxy-Connection: keep-alive",
      "X-Listener: kept",
    ];
    for (const credential of [`Authorization: Bearer ${pass}`, `Cookie: theme=dark; spillway-pass-${ROOM}=${pass}`]) {
      const before = seen().length;
      expect(await rawGet(`/rooms/${ROOM}/live.m3u8`, [credential, ...hops])).toBe("HTTP/1.1 200 OK");
      expect(seen()).toHaveLength(before + 1);
      const got = seen().at(-1)!.headers;
      expect(got["spillway-pass"]).toBe(pass);
      for (const hop of [
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
      ]) {
        // Node's own client connection header aside: the origin's server sees what its client sent.
        if (hop === "connection") expect(got.connection ?? "keep-alive").toMatch(/^(?:keep-alive|close)$/i);
        else expect([hop, got[hop]]).toEqual([hop, undefined]);
      }
      expect(got["x-listener"]).toBe("kept");
    }
  });
});

describe("a request without a pass never reaches the origin", () => {
  it("with nothing: the listener is answered by Spillway", async () => {
    const before = seen().length;

    const asJson = await send<StatusJson>(`${base()}/rooms/${ROOM}/live.m3u8?x=1`, {
      headers: { accept: "application/json" },
    });
    expect(asJson.status).toBe(200);
    expect(asJson.json.room).toBe(ROOM);
    expect(["queued", "admitted"]).toContain(asJson.json.state);
    expect(typeof asJson.json.ticket).toBe("string");

    const asBrowser = await send(`${base()}/rooms/${ROOM}/live.m3u8?x=1`);
    expect([200, 303]).toContain(asBrowser.status);
    expect(asBrowser.text).not.toContain('"origin":"recording"');

    expect(seen()).toHaveLength(before);
  });

  it("with a ticket only (bearer or cookie)", async () => {
    const { ticket } = await admitted(ROOM);
    const before = seen().length;

    const asBearer = await send<StatusJson>(`${base()}/rooms/${ROOM}/live.m3u8?x=1`, {
      headers: { ...bearer(ticket), accept: "application/json" },
    });
    expect(asBearer.status).toBe(200);
    expect(asBearer.json.room).toBe(ROOM);
    expect(asBearer.text).not.toContain('"origin":"recording"');

    const asCookie = await send(`${base()}/rooms/${ROOM}/live.m3u8?x=1`, {
      headers: { cookie: `spillway-ticket-${ROOM}=${ticket}` },
    });
    expect([200, 303]).toContain(asCookie.status);
    expect(asCookie.text).not.toContain('"origin":"recording"');

    expect(seen()).toHaveLength(before);
  });

  it("with a ticket where the pass belongs, or a pass of another room", async () => {
    const { ticket } = await admitted(ROOM);
    const other = await admitted(OTHER_ROOM);
    const before = seen().length;

    const ticketAsPassCookie = await send<ErrorJson>(`${base()}/rooms/${ROOM}/live.m3u8`, {
      headers: { cookie: `spillway-pass-${ROOM}=${ticket}`, accept: "application/json" },
    });
    expect(ticketAsPassCookie.status).toBe(401);
    expect(ticketAsPassCookie.json.error.code).toBe("invalid_token");

    const foreignPass = await send<ErrorJson>(`${base()}/rooms/${ROOM}/live.m3u8`, {
      headers: bearer(other.pass),
    });
    expect(foreignPass.status).toBe(401);
    expect(foreignPass.json.error.code).toBe("invalid_token");

    const foreignPassCookie = await send<ErrorJson>(`${base()}/rooms/${ROOM}/live.m3u8`, {
      headers: { cookie: `spillway-pass-${ROOM}=${other.pass}`, accept: "application/json" },
    });
    expect(foreignPassCookie.status).toBe(401);
    expect(foreignPassCookie.json.error.code).toBe("invalid_token");

    expect(seen()).toHaveLength(before);
  });
});

describe("the pass verifies with the JWKS alone (jsonwebtoken, not jose)", () => {
  it("verifies for its room and issuer, with ES256", async () => {
    const { pass } = await admitted(ROOM);
    const keys = await jwks();
    const key = publicKeyFor(keys, pass);

    const claims = jwt.verify(pass, key, { algorithms: ["ES256"], audience: ROOM, issuer: "spillway" });

    expect(typeof claims).toBe("object");
    const c = claims as jwt.JwtPayload;
    expect(c.aud).toBe(ROOM);
    expect(c.iss).toBe("spillway");
    expect(typeof c.sub).toBe("string");
    expect(typeof c["sid"]).toBe("string");
    expect(c.exp!).toBeGreaterThan(c.iat!);
    const header = jwt.decode(pass, { complete: true })!.header;
    expect(header.alg).toBe("ES256");
    expect(typeof header.typ).toBe("string");
  });

  it("verifies the pass the origin received in Spillway-Pass", async () => {
    const { pass } = await admitted(ROOM);
    const res = await send(`${base()}/rooms/${ROOM}/verify-me`, { headers: bearer(pass) });
    expect(res.status).toBe(200);
    const forwarded = seen().at(-1)!.headers["spillway-pass"];
    expect(typeof forwarded).toBe("string");
    const token = forwarded as string;
    const claims = jwt.verify(token, publicKeyFor(await jwks(), token), {
      algorithms: ["ES256"],
      audience: ROOM,
      issuer: "spillway",
    }) as jwt.JwtPayload;
    expect(claims.aud).toBe(ROOM);
  });

  it("rejects the pass for another audience", async () => {
    const { pass } = await admitted(ROOM);
    const key = publicKeyFor(await jwks(), pass);
    expect(() => jwt.verify(pass, key, { algorithms: ["ES256"], audience: OTHER_ROOM, issuer: "spillway" })).toThrow(
      /audience/,
    );
    expect(() => jwt.verify(pass, key, { algorithms: ["ES256"], audience: ROOM, issuer: "someone-else" })).toThrow(
      /issuer/,
    );
  });

  it("does not verify a ticket with any JWKS key", async () => {
    const { ticket } = await admitted(ROOM);
    const keys = await jwks();
    expect(keys.length).toBeGreaterThan(0);
    for (const jwk of keys) {
      const key = createPublicKey({ key: jwk, format: "jwk" });
      expect(() => jwt.verify(ticket, key, { algorithms: ["ES256"], audience: ROOM, issuer: "spillway" })).toThrow();
      expect(() => jwt.verify(ticket, key, { audience: ROOM, issuer: "spillway" })).toThrow();
    }
  });
});

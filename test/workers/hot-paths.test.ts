/**
 * The hot paths (src/http/hot-paths.ts) answer exactly what the routed app
 * answers, and leave to the app everything off their common case.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/http/app.tsx";
import { hotPath } from "../../src/http/hot-paths.ts";
import { cookieName } from "../../src/edge/credentials.ts";
import { REPEAT_CLAIM_MS } from "../../src/edge/repeat-claims.ts";
import {
  advance,
  BASE,
  bearer,
  join,
  leave,
  letRevocationsThrough,
  patchRoom,
  roomName,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

/** The answer read in full (a proxied body holds its seat until read), once the work left after it is done. */
async function read(res: Response, ctx: ExecutionContext): Promise<Response> {
  const body = res.body === null ? null : await res.arrayBuffer();
  await waitOnExecutionContext(ctx);
  return new Response(body, res);
}

/** The routed app's answer, as if there were no hot path. */
async function routed(path: string, headers?: Record<string, string>): Promise<Response> {
  const ctx = createExecutionContext();
  return read(await app.fetch(new Request(BASE + path, { headers }), env, ctx), ctx);
}

/** The hot path's answer, or null when it leaves the request to the app. */
async function hot(path: string, headers?: Record<string, string>): Promise<Response | null> {
  const ctx = createExecutionContext();
  const res = await hotPath(new Request(BASE + path, { headers }), env, ctx, app);
  return res === null ? null : read(res, ctx);
}

/** The hot path's answer as it made it (its body unread, nothing waited for). */
async function unread(path: string, headers?: Record<string, string>): Promise<Response | null> {
  const ctx = createExecutionContext();
  return await hotPath(new Request(BASE + path, { headers }), env, ctx, app);
}

/** Status, headers and body, to compare two answers. */
async function whole(res: Response) {
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

describe("hot paths", () => {
  it("answer the JWKS and the OpenAPI document as the app does", async () => {
    for (const path of ["/_spillway/jwks.json", "/_spillway/openapi.json"]) {
      const fast = await hot(path);
      expect(fast, path).not.toBeNull();
      expect(await whole(fast!)).toEqual(await whole(await routed(path)));
    }
  });

  it("answer the public documents whatever credentials come along, as the app does (they read none)", async () => {
    const huge = { cookie: `a=${"x".repeat(9000)}`, authorization: `Bearer ${"y".repeat(9000)}` };
    for (const path of ["/_spillway/jwks.json", "/_spillway/openapi.json"]) {
      const fast = await hot(path, huge);
      expect(fast, path).not.toBeNull();
      const app = await whole(await routed(path, huge));
      expect(app.status, path).toBe(200);
      expect(await whole(fast!)).toEqual(app);
    }
    // Anywhere a credential is read, an oversized one is still refused.
    const refused = await routed("/_spillway/rooms/hot-huge/status", huge);
    expect(refused.status).toBe(431);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("headers_too_large");
  });

  it("answer the JWKS at once, with no promise, once the keys are imported; keys that fail leave it to the app", async () => {
    await hot("/_spillway/jwks.json");
    const ctx = createExecutionContext();
    const now = hotPath(new Request(BASE + "/_spillway/jwks.json"), env, ctx, app);
    expect(now).toBeInstanceOf(Response);
    expect(await whole(now as Response)).toEqual(await whole(await routed("/_spillway/jwks.json")));

    const broken = { ...env, PASS_KEYS: "not json" };
    const later = hotPath(new Request(BASE + "/_spillway/jwks.json"), broken, ctx, app);
    expect(later).toBeInstanceOf(Promise);
    expect(await later).toBeNull();
    // The good keys are imported again and answered as before.
    expect(await hot("/_spillway/jwks.json")).not.toBeNull();
  });

  it("answer an app's waiting poll as the app does, headers and all", async () => {
    const room = roomName("hot-poll");
    await patchRoom(room, { capacity: 1 });
    await join(room);
    const waiting = (await join(room)).body;
    expect(waiting.state).toBe("queued");
    const path = `/_spillway/rooms/${room}/status`;
    const fast = await hot(path, bearer(waiting.ticket!));
    expect(fast).not.toBeNull();
    const a = await whole(fast!);
    const b = await whole(await routed(path, bearer(waiting.ticket!)));
    expect(a).toEqual(b);
    expect(JSON.parse(a.body)).toMatchObject({ state: "queued", position: 1 });
    expect(a.headers["retry-after"]).toMatch(/^\d+$/);
    // Each answer has headers of its own: changing one answer's changes no other.
    const again = (await unread(path, bearer(waiting.ticket!)))!;
    again.headers.set("x-content-type-options", "changed");
    again.headers.delete("content-security-policy");
    expect(await whole((await hot(path, bearer(waiting.ticket!)))!)).toEqual(a);
    const jwks = (await unread("/_spillway/jwks.json"))!;
    jwks.headers.delete("cache-control");
    expect((await hot("/_spillway/jwks.json"))!.headers.get("cache-control")).toBe("public, max-age=300");
    expect(a.headers["content-security-policy"]).toContain("frame-ancestors");
  });

  it("answer a waiting poll at once, with no promise, once its ticket, room and view are known here", async () => {
    const room = roomName("hot-poll-now");
    await patchRoom(room, { capacity: 1 });
    await join(room);
    const waiting = (await join(room)).body;
    const path = `/_spillway/rooms/${room}/status`;
    const ask = () => {
      const ctx = createExecutionContext();
      return hotPath(new Request(BASE + path, { headers: bearer(waiting.ticket!) }), env, ctx, app);
    };
    // The first poll verifies the ticket and reads the view: it waits.
    const first = ask();
    expect(first).toBeInstanceOf(Promise);
    const firstAnswer = await whole((await first)!);
    const now = ask();
    expect(now).toBeInstanceOf(Response);
    const answer = await whole(now as Response);
    expect(answer).toEqual(firstAnswer);
    expect(answer).toEqual(await whole(await routed(path, bearer(waiting.ticket!))));
    expect(JSON.parse(answer.body)).toMatchObject({ state: "queued", position: 1 });
    // Without a view in hand (this isolate forgot it), the poll reads one again: it waits.
    advance(t.clock, 10);
    expect(ask()).toBeInstanceOf(Promise);
    // Another ticket, not verified here yet, is verified first.
    const other = (await join(room)).body;
    const ctx = createExecutionContext();
    const unverified = hotPath(new Request(BASE + path, { headers: bearer(other.ticket!) }), env, ctx, app);
    expect(unverified).toBeInstanceOf(Promise);
    expect(JSON.parse((await whole((await unverified)!)).body)).toMatchObject({ state: "queued", position: 2 });
  });

  it("hand an answer that carries a token on to the app, which sets its cookie", async () => {
    const room = roomName("hot-admit");
    await patchRoom(room, { capacity: 1 });
    const first = (await join(room)).body;
    expect(first.state).toBe("admitted");
    // The ticket alone is another device: its claim moves the seat, then the seat is its own.
    const path = `/_spillway/rooms/${room}/status`;
    expect(await (await hot(path, bearer(first.ticket!)))!.json()).toMatchObject({ state: "queued" });
    await letRevocationsThrough(t.clock, room);
    advance(t.clock, REPEAT_CLAIM_MS);
    const fast = await hot(path, bearer(first.ticket!));
    expect(fast).not.toBeNull();
    const body = await fast!.json<{ state: string; pass?: string }>();
    expect(body.state).toBe("admitted");
    expect(body.pass).toBeTruthy();
    expect(fast!.headers.getSetCookie().join()).toContain(`${cookieName("pass", room, false)}=${body.pass}`);
    expect(fast!.headers.get("content-security-policy")).not.toBeNull();
  });

  it("leave to the app a poll with a cookie, a refused ticket, an oversized header or another method", async () => {
    const room = roomName("hot-off");
    await patchRoom(room, { capacity: 1 });
    await join(room);
    const waiting = (await join(room)).body;
    const path = `/_spillway/rooms/${room}/status`;
    expect(await hot(path, { ...bearer(waiting.ticket!), cookie: "theme=dark" })).toBeNull();
    expect(await hot(path, bearer(`${waiting.ticket!.slice(0, -4)}AAAA`))).toBeNull();
    expect(await hot(path)).toBeNull();
    expect(await hot(path, { ...bearer(waiting.ticket!), cookie: `a=${"x".repeat(9000)}` })).toBeNull();
    const ctx = createExecutionContext();
    const post = new Request(BASE + "/_spillway/jwks.json", { method: "POST" });
    expect(await hotPath(post, env, ctx, app)).toBeNull();
  });

  it("never take a bearer for one it remembers that ends the same way (same length, same signature)", async () => {
    const room = roomName("hot-lookalike");
    await patchRoom(room, { capacity: 1 });
    await join(room);
    const waiting = (await join(room)).body;
    const ticket = waiting.ticket!;
    const path = `/_spillway/rooms/${room}/status`;
    expect(await hot(path, bearer(ticket))).not.toBeNull();
    // The same length and the same last characters (the whole signature), another claim in the middle.
    const [head, payload, signature] = ticket.split(".") as [string, string, string];
    const at = Math.floor(payload.length / 2);
    const swapped = payload[at] === "A" ? "B" : "A";
    const lookalike = `${head}.${payload.slice(0, at)}${swapped}${payload.slice(at + 1)}.${signature}`;
    expect(lookalike).toHaveLength(ticket.length);
    expect(lookalike).not.toBe(ticket);
    expect(await hot(path, bearer(lookalike))).toBeNull();
    expect((await routed(path, bearer(lookalike))).status).toBe(401);
    // Each took the other's place where they are remembered: the real one is still answered, the other still not.
    expect(JSON.parse(await (await hot(path, bearer(ticket)))!.text())).toMatchObject({ state: "queued", position: 1 });
    expect(await hot(path, bearer(lookalike))).toBeNull();
  });

  it("send an app's request with a pass to the origin as the app does, and leave the rest to the app", async () => {
    const room = roomName("hot-pass");
    const seated = (await join(room)).body;
    expect(seated.state).toBe("admitted");
    const path = `/rooms/${room}/notes/today`;
    const fast = await hot(path, bearer(seated.pass!));
    expect(fast).not.toBeNull();
    const a = await whole(fast!);
    const b = await whole(await routed(path, bearer(seated.pass!)));
    expect(a).toEqual(b);
    expect(a.status).toBe(200);
    expect(a.body).toContain(room);

    expect(await hot(path, { ...bearer(seated.pass!), cookie: "theme=dark" })).toBeNull();
    expect(await hot(`${path}?pass=${seated.pass!}`, bearer(seated.pass!))).toBeNull();
    expect(await hot(path, { ...bearer(seated.pass!), accept: "application/json" })).toBeNull();
    expect(await hot(path, { ...bearer(seated.pass!), upgrade: "websocket" })).toBeNull();
    expect(await hot(`/rooms/${room}/a%2F..%2Fb`, bearer(seated.pass!))).toBeNull();
    expect(await hot(path, bearer(seated.ticket!))).toBeNull();
    // A pass old enough to renew goes by its shard, through the app.
    advance(t.clock, PASS_TTL_MS / 2 + 1_000);
    expect(await hot(path, bearer(seated.pass!))).toBeNull();
  });

  it("leave to the app, never throw, when the deployment's settings cannot be read", async () => {
    const room = roomName("hot-bad-settings");
    await patchRoom(room, { capacity: 1 });
    const seated = (await join(room)).body;
    const waiting = (await join(room)).body;
    const pass = { path: `/rooms/${room}/notes/today`, token: seated.pass! };
    const poll = { path: `/_spillway/rooms/${room}/status`, token: waiting.ticket! };
    // Known here first: the pass verified, the ticket too, a view in hand.
    for (const { path, token } of [pass, poll, pass, poll]) expect((await hot(path, bearer(token)))?.status).toBe(200);
    const broken = { ...env, ORIGIN_URL: "ftp://origin.invalid/" };
    for (const { path, token } of [pass, poll]) {
      const ctx = createExecutionContext();
      const ask = () => hotPath(new Request(BASE + path, { headers: bearer(token) }), broken, ctx, app);
      expect(ask).not.toThrow();
      expect(await ask()).toBeNull();
    }
  });

  it("never send a pass whose seat ended, once the pass and the room's view are known here too", async () => {
    const room = roomName("hot-pass-ended");
    const seated = (await join(room)).body;
    const path = `/rooms/${room}/notes/today`;
    // The first verifies the pass and reads the view; the next finds both in hand.
    for (let i = 0; i < 3; i++) expect((await hot(path, bearer(seated.pass!)))?.status).toBe(200);
    expect((await leave(room, seated.pass!)).status).toBe(200);
    // Refused by the first, which reads the view again, and by the next, with the view in hand.
    for (let i = 0; i < 3; i++) expect(await hot(path, bearer(seated.pass!))).toBeNull();
    const refused = await routed(path, bearer(seated.pass!));
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("seat_ended");
    // Still so once the room's view lists the revocation.
    await letRevocationsThrough(t.clock, room);
    for (let i = 0; i < 3; i++) expect(await hot(path, bearer(seated.pass!))).toBeNull();
  });
});

import { env } from "cloudflare:workers";
import { base64url, SignJWT } from "jose";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { keyRing } from "../../src/tokens/keys.ts";
import { issueOverflow, verifyOverflow } from "../../src/tokens/overflow.ts";
import {
  b64url,
  bearer,
  call,
  callWith,
  type ErrorJson,
  headerOf,
  heartbeat,
  join,
  leave,
  passClaims,
  patchRoom,
  roomName,
  stats,
  type Status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

// The Worker logs every failed attempt to reach the origin; none may happen here.
let warn: MockInstance<typeof console.warn>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn");
});
afterEach(() => {
  const originAttempts = warn.mock.calls.filter((args) => String(args[0]).includes("origin"));
  warn.mockRestore();
  expect(originAttempts).toEqual([]);
});

/** Vars under which a request that reached the origin would answer 502. */
const UNREACHABLE = { ORIGIN_URL: "http://127.0.0.1:9" };

/** A guarded request through a Worker whose origin cannot be reached. */
function guarded(room: string, headers: Record<string, string>, path = "x"): Promise<Response> {
  return callWith(UNREACHABLE, `/rooms/${room}/${path}`, { headers: { accept: "application/json", ...headers } });
}

async function expectRefused(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
  const body = await res.json<ErrorJson>();
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
}

/** The three parts of a compact JWS. */
function parts(token: string): [string, string, string] {
  const [h, p, s] = token.split(".");
  return [h!, p!, s!];
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(new TextDecoder().decode(b64url.decode(parts(token)[1]))) as Record<string, unknown>;
}

/** One admitted listener and one waiting in a room of one seat. */
async function seatedAndWaiting(room: string) {
  await patchRoom(room, { capacity: 1 });
  const seated = (await join(room)).body;
  const waiting = (await join(room)).body;
  expect(seated.state).toBe("admitted");
  expect(waiting.state).toBe("queued");
  return { seated, waiting };
}

describe("tokens", () => {
  it("never lets a ticket serve as a pass, nor reach the origin", async () => {
    const room = roomName("tok-kind");
    const { seated, waiting } = await seatedAndWaiting(room);

    // A waiting ticket on the guarded path only tells where the listener stands.
    const asBearer = await guarded(room, bearer(waiting.ticket!));
    expect(asBearer.status).not.toBe(502);
    expect(asBearer.status).toBeLessThan(500);
    const body = await asBearer.json<Status>();
    expect(body).toMatchObject({ room, state: "queued", position: 1 });
    expect(body.pass).toBeUndefined();

    // Heartbeat and leave want a pass: a ticket is not one.
    await expectRefused(await heartbeat(room, waiting.ticket!), 401, "pass_required");
    await expectRefused(await leave(room, waiting.ticket!), 401, "pass_required");
    await expectRefused(await leave(room, seated.ticket!), 401, "pass_required");

    // A ticket in the pass cookie is refused too.
    const cookieHeartbeat = await call(`/_spillway/rooms/${room}/heartbeat`, {
      method: "POST",
      headers: { cookie: `spillway-pass-${room}=${waiting.ticket}` },
    });
    await expectRefused(cookieHeartbeat, 401, "invalid_token");

    // A pass minted with the ticket key (HS256 with the pass typ) is refused.
    const claims = passClaims(seated.pass!);
    const forged = await new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: "HS256", typ: "spillway-pass+jwt", kid: headerOf(seated.pass!).kid! })
      .setIssuer("spillway")
      .setAudience(room)
      .setSubject(passClaims(waiting.ticket!).sub)
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .sign(base64url.decode(env.TICKET_KEY));
    await expectRefused(await guarded(room, bearer(forged)), 401, "invalid_token");
    await expectRefused(await heartbeat(room, forged), 401, "invalid_token");

    // Nothing changed: one seat held, one listener waiting.
    const s = await stats(room);
    expect(s).toMatchObject({ active: 1, queued: 1, joined: 2, admittedTotal: 1, left: 0 });
  });

  it("refuses a pass of one room in another, on heartbeat, leave and the guarded path", async () => {
    const roomA = roomName("tok-a");
    const roomB = roomName("tok-b");
    const a = (await join(roomA)).body;
    const b = (await join(roomB)).body;
    expect(a.state).toBe("admitted");

    await expectRefused(await heartbeat(roomB, a.pass!), 401, "invalid_token");
    await expectRefused(await leave(roomB, a.pass!), 401, "invalid_token");
    const res = await guarded(roomB, bearer(a.pass!));
    expect(res.status).not.toBe(502);
    await expectRefused(res, 401, "invalid_token");

    // A ticket of room A is no ticket in room B either.
    await expectRefused(
      await call(`/_spillway/rooms/${roomB}/status`, { headers: bearer(a.ticket!) }),
      401,
      "invalid_token",
    );

    expect((await stats(roomB)).active).toBe(1);
    expect((await stats(roomA)).active).toBe(1);
    const ownRoom = await heartbeat(roomB, b.pass!);
    expect(ownRoom.status).toBe(200);
  });

  it("refuses alg none tokens", async () => {
    const room = roomName("tok-none");
    const { seated } = await seatedAndWaiting(room);
    const unsigned = (typ: string, payload: Record<string, unknown>) =>
      `${b64url.encode(JSON.stringify({ alg: "none", typ }))}.${b64url.encode(JSON.stringify(payload))}.`;

    const nonePass = unsigned("spillway-pass+jwt", payloadOf(seated.pass!));
    await expectRefused(await heartbeat(room, nonePass), 401, "invalid_token");
    await expectRefused(await leave(room, nonePass), 401, "invalid_token");
    const res = await guarded(room, bearer(nonePass));
    expect(res.status).not.toBe(502);
    await expectRefused(res, 401, "invalid_token");

    const noneTicket = unsigned("spillway-ticket+jwt", { ...payloadOf(seated.ticket!), sub: "someone-else" });
    await expectRefused(
      await call(`/_spillway/rooms/${room}/status`, { headers: bearer(noneTicket) }),
      401,
      "invalid_token",
    );
    await expectRefused(
      await call(`/_spillway/rooms/${room}/join`, { method: "POST", headers: bearer(noneTicket) }),
      401,
      "invalid_token",
    );
    expect(await stats(room)).toMatchObject({ active: 1, joined: 2, left: 0 });
  });

  it("refuses tampered tokens", async () => {
    const room = roomName("tok-tamper");
    const { seated, waiting } = await seatedAndWaiting(room);

    // One character of the payload changed.
    const [h, p, s] = parts(seated.pass!);
    const i = Math.floor(p.length / 2);
    const flipped = `${h}.${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}.${s}`;
    await expectRefused(await heartbeat(room, flipped), 401, "invalid_token");
    const res = await guarded(room, bearer(flipped));
    expect(res.status).not.toBe(502);
    await expectRefused(res, 401, "invalid_token");

    // A well-formed payload naming someone else, with the original signature.
    const other = { ...payloadOf(seated.pass!), sub: passClaims(waiting.ticket!).sub };
    const swapped = `${h}.${b64url.encode(JSON.stringify(other))}.${s}`;
    await expectRefused(await heartbeat(room, swapped), 401, "invalid_token");

    // A ticket rewritten to jump the line.
    const [th, , ts] = parts(waiting.ticket!);
    const jumped = `${th}.${b64url.encode(JSON.stringify({ ...payloadOf(waiting.ticket!), seq: 1 }))}.${ts}`;
    await expectRefused(
      await call(`/_spillway/rooms/${room}/status`, { headers: bearer(jumped) }),
      401,
      "invalid_token",
    );

    // A signature that is not one.
    await expectRefused(await heartbeat(room, `${h}.${p}.${s.slice(0, -4)}AAAA`), 401, "invalid_token");
    await expectRefused(await heartbeat(room, "not.a.token"), 401, "pass_required");
    expect(await stats(room)).toMatchObject({ active: 1, queued: 1, left: 0 });
  });

  it("refuses forged cookies on the guarded path without taking a new place", async () => {
    const room = roomName("tok-cookie");
    const { seated, waiting } = await seatedAndWaiting(room);
    const before = await stats(room);

    const [h, , s] = parts(waiting.ticket!);
    const forgedTicket = `${h}.${b64url.encode(JSON.stringify({ ...payloadOf(waiting.ticket!), seq: 1 }))}.${s}`;
    const [ph, pp] = parts(seated.pass!);
    const forgedPass = `${ph}.${pp}.${"A".repeat(86)}`;
    for (const cookie of [`spillway-ticket-${room}=${forgedTicket}`, `spillway-pass-${room}=${forgedPass}`]) {
      const res = await guarded(room, { cookie, accept: "text/html" });
      await expectRefused(res, 401, "invalid_token");
      const cleared = res.headers.getSetCookie().find((c) => c.startsWith(cookie.split("=")[0]!));
      expect(cleared).toMatch(/Max-Age=0/i);
    }
    expect(await stats(room)).toMatchObject({ joined: before.joined, active: before.active, queued: before.queued });
  });

  it("answers 401 token_expired to an expired pass and an expired ticket", async () => {
    const room = roomName("tok-exp");
    const { seated, waiting } = await seatedAndWaiting(room);
    const exp = passClaims(seated.pass!).exp;

    t.clock.set(exp * 1000 + 1_000);
    await expectRefused(await heartbeat(room, seated.pass!), 401, "token_expired");
    const res = await guarded(room, bearer(seated.pass!));
    expect(res.status).not.toBe(502);
    await expectRefused(res, 401, "token_expired");

    const ticketExp = passClaims(waiting.ticket!).exp;
    t.clock.set(ticketExp * 1000 + 1_000);
    await expectRefused(
      await call(`/_spillway/rooms/${room}/status`, { headers: bearer(waiting.ticket!) }),
      401,
      "token_expired",
    );
  });

  it("answers 431 to an oversized Authorization or Cookie header", async () => {
    const room = roomName("tok-big");
    const huge = "x".repeat(9 * 1024);
    await expectRefused(
      await call(`/_spillway/rooms/${room}/join`, { method: "POST", headers: { authorization: `Bearer ${huge}` } }),
      431,
      "headers_too_large",
    );
    const res = await guarded(room, { authorization: `Bearer ${huge}` });
    expect(res.status).not.toBe(502);
    await expectRefused(res, 431, "headers_too_large");
    await expectRefused(await call(`/rooms/${room}/`, { headers: { cookie: `a=${huge}` } }), 431, "headers_too_large");
    await expectRefused(
      await call(`/_spillway/admin/rooms/${room}`, { headers: { authorization: `Bearer ${huge}` } }),
      431,
      "headers_too_large",
    );
    // Nobody joined.
    expect((await stats(room)).joined).toBe(0);
  });

  it("signs passes that verify against the published JWKS with plain WebCrypto", async () => {
    const room = roomName("tok-jwks");
    const { seated } = await seatedAndWaiting(room);

    const res = await call("/_spillway/jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
    const jwks = await res.json<{ keys: (JsonWebKey & { kid?: string })[] }>();
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).not.toHaveProperty("d");
      expect(key).toMatchObject({ kty: "EC", crv: "P-256" });
    }

    const [h, p, s] = parts(seated.pass!);
    const header = JSON.parse(new TextDecoder().decode(b64url.decode(h))) as { alg: string; kid: string };
    expect(header.alg).toBe("ES256");
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    expect(jwk).toBeDefined();
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk!.kty, crv: jwk!.crv, x: jwk!.x, y: jwk!.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const algorithm = { name: "ECDSA", hash: "SHA-256" };
    const signingInput = new TextEncoder().encode(`${h}.${p}`);
    const signature = b64url.decode(s);
    expect(signature.byteLength).toBe(64);
    expect(await crypto.subtle.verify(algorithm, key, signature, signingInput)).toBe(true);

    const otherInput = new TextEncoder().encode(
      `${h}.${b64url.encode(JSON.stringify({ ...payloadOf(seated.pass!), sid: "x" }))}`,
    );
    expect(await crypto.subtle.verify(algorithm, key, signature, otherInput)).toBe(false);

    // A ticket is not signed by any pass key.
    const [th, tp, ts] = parts(seated.ticket!);
    expect(await crypto.subtle.verify(algorithm, key, b64url.decode(ts), new TextEncoder().encode(`${th}.${tp}`))).toBe(
      false,
    );
  });

  it("puts the contract's claims and typ headers in tickets and passes", async () => {
    const room = roomName("tok-claims");
    const { seated, waiting } = await seatedAndWaiting(room);
    const now = Math.floor(t.clock.now() / 1000);

    const ticketHeader = headerOf(waiting.ticket!);
    expect(ticketHeader).toMatchObject({ typ: "spillway-ticket+jwt", alg: "HS256" });
    const ticket = payloadOf(waiting.ticket!);
    expect(ticket).toMatchObject({ iss: "spillway", aud: room, iat: now, seq: 2 });
    expect(typeof ticket.sub).toBe("string");
    expect(ticket.exp).toBe(now + Number(env.TICKET_TTL_SECONDS));

    const passHeader = headerOf(seated.pass!);
    expect(passHeader).toMatchObject({ typ: "spillway-pass+jwt", alg: "ES256" });
    expect(typeof passHeader.kid).toBe("string");
    const pass = passClaims(seated.pass!);
    expect(pass).toMatchObject({ iss: "spillway", aud: room, iat: now });
    expect(pass.exp).toBe(now + Number(env.PASS_TTL_SECONDS));
    expect(pass.sid).toMatch(/^[0-9a-f-]{36}$/);
    // The pass belongs to the listener the ticket names.
    expect(pass.sub).toBe(payloadOf(seated.ticket!).sub);
    expect(pass.sub).not.toBe(ticket.sub);
  });

  it("verifies overflow tokens inside workerd as jose did: forged, other keys', other kinds' and lapsed ones refused", async () => {
    const room = roomName("tok-overflow");
    const keys = await keyRing(env);
    const now = t.clock.now();
    const opts = { issuer: "spillway", room, now };
    const sub = crypto.randomUUID();
    const genuine = await issueOverflow(keys, { ...opts, sub, reason: "mode", ttlMs: 3_600_000 });
    const iat = Math.floor(now / 1000);
    expect(await verifyOverflow(keys, genuine, opts)).toEqual({
      ok: true,
      claims: { room, sub, reason: "mode", iat, exp: iat + 3_600 },
    });

    const claims = payloadOf(genuine);
    const header = { alg: "HS256", typ: "spillway-overflow+jwt" };
    const forge = (h: unknown, p: unknown, secret = env.OVERFLOW_KEY) =>
      new SignJWT(p as Record<string, unknown>).setProtectedHeader(h as { alg: string }).sign(base64url.decode(secret));
    const reasonOf = async (token: string) => {
      const v = await verifyOverflow(keys, token, opts);
      return v.ok ? "ok" : v.reason;
    };
    const [h, p, s] = parts(genuine);
    expect(await reasonOf(await forge(header, claims))).toBe("ok");
    expect(await reasonOf(`${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`)).toBe(
      "bad_signature",
    );
    expect(await reasonOf(`${h}.${b64url.encode(JSON.stringify({ ...claims, reason: "max_wait" }))}.${s}`)).toBe(
      "bad_signature",
    );
    expect(await reasonOf(await forge(header, claims, env.TICKET_KEY))).toBe("bad_signature");
    expect(await reasonOf(await forge({ alg: "HS256", typ: "spillway-ticket+jwt" }, claims))).toBe("wrong_kind");
    expect(await reasonOf(`${b64url.encode(JSON.stringify({ alg: "none", typ: header.typ }))}.${p}.`)).toBe(
      "wrong_kind",
    );
    expect(await reasonOf(await forge(header, { ...claims, exp: iat }))).toBe("expired");
    expect(await reasonOf(await forge(header, { ...claims, aud: "another-room" }))).toBe("wrong_room");
    expect(await reasonOf(await forge(header, { ...claims, reason: "bored" }))).toBe("bad_claims");
    expect(await reasonOf(`${h}.${p}`)).toBe("malformed");
  });
});

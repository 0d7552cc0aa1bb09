/**
 * Queue tickets as workerd checks them (src/tokens/hs256.ts): forged and
 * out-of-date tickets refused over HTTP with the contract's codes, the
 * verifier's reasons inside the runtime, and the waiting poll's answer.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyRing } from "../../src/tokens/keys.ts";
import { verifyTicket } from "../../src/tokens/ticket.ts";
import {
  b64url,
  bearer,
  call,
  type ErrorJson,
  join,
  patchRoom,
  roomName,
  type Status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

const TICKET_TYP = "spillway-ticket+jwt";
const json = (value: unknown) => b64url.encode(JSON.stringify(value));

/** A token with these header and payload, MACed with the ticket key (`hash` picks the HMAC). */
async function forge(header: unknown, payload: unknown, hash = "SHA-256"): Promise<string> {
  const key = await crypto.subtle.importKey("raw", b64url.decode(env.TICKET_KEY), { name: "HMAC", hash }, false, [
    "sign",
  ]);
  const input = `${json(header)}.${json(payload)}`;
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
  let bin = "";
  for (const b of mac) bin += String.fromCharCode(b);
  return `${input}.${btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** The claims of a real waiting ticket of `room`, to forge variants of. */
async function waitingTicket(room: string): Promise<{ ticket: string; claims: Record<string, unknown> }> {
  await patchRoom(room, { capacity: 1 });
  await join(room);
  const ticket = (await join(room)).body.ticket!;
  const claims = JSON.parse(new TextDecoder().decode(b64url.decode(ticket.split(".")[1]!))) as Record<string, unknown>;
  return { ticket, claims };
}

/** A status poll with the token as a bearer, or in the ticket cookie (where any token goes to the ticket verifier). */
function poll(room: string, token: string, via: "bearer" | "cookie"): Promise<Response> {
  const headers = via === "bearer" ? bearer(token) : { cookie: `spillway-ticket-${room}=${token}` };
  return call(`/_spillway/rooms/${room}/status`, { headers });
}

async function expectCode(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect((await res.json<ErrorJson>()).error.code).toBe(code);
}

describe("ticket verification in workerd", () => {
  it("refuses forged and out-of-date tickets on the status poll", async () => {
    const room = roomName("tv-http");
    const { ticket, claims } = await waitingTicket(room);
    const now = Math.floor(t.clock.now() / 1000);
    const header = { alg: "HS256", typ: TICKET_TYP };
    const [h, p, s] = ticket.split(".") as [string, string, string];

    const refused: [string, string][] = [
      [`${json({ alg: "none", typ: TICKET_TYP })}.${p}.`, "invalid_token"],
      [await forge({ alg: "none", typ: TICKET_TYP }, claims), "invalid_token"],
      [await forge({ alg: "HS512", typ: TICKET_TYP }, claims, "SHA-512"), "invalid_token"],
      [`${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`, "invalid_token"],
      [`${h}.${json({ ...claims, seq: 1 })}.${s}`, "invalid_token"],
      [await forge(header, { ...claims, exp: now - 1 }), "token_expired"],
      [await forge(header, { ...claims, nbf: now + 60 }), "invalid_token"],
      [await forge(header, { ...claims, iss: "someone-else" }), "invalid_token"],
      [await forge(header, { ...claims, aud: "another-room" }), "invalid_token"],
      [await forge(header, { ...claims, seq: 0 }), "invalid_token"],
      [`${h}.${p}.${s}!`, "invalid_token"],
    ];
    for (const [token, code] of refused) {
      for (const via of ["bearer", "cookie"] as const) await expectCode(await poll(room, token, via), 401, code);
    }

    // Another typ, or a shape that is no JWS, makes a bearer no ticket; in the ticket cookie it is refused.
    const passTyp = await forge({ alg: "HS256", typ: "spillway-pass+jwt" }, claims);
    await expectCode(await poll(room, passTyp, "bearer"), 401, "ticket_required");
    await expectCode(await poll(room, passTyp, "cookie"), 401, "invalid_token");
    for (const segments of [`${h}.${p}`, `${h}.${p}.${s}.${s}`]) {
      await expectCode(await poll(room, segments, "bearer"), 401, "ticket_required");
      await expectCode(await poll(room, segments, "cookie"), 401, "invalid_token");
    }

    // The genuine ticket still waits; one forged with the right key and claims is as good as it.
    for (const token of [ticket, await forge(header, claims)]) {
      const res = await poll(room, token, "bearer");
      expect(res.status).toBe(200);
      expect((await res.json<Status>()).state).toBe("queued");
    }
  });

  it("gives the verifier's reasons inside the runtime", async () => {
    const room = roomName("tv-reasons");
    const { claims } = await waitingTicket(room);
    const keys = await keyRing(env);
    const opts = { issuer: "spillway", room, now: t.clock.now() };
    const now = Math.floor(t.clock.now() / 1000);
    const header = { alg: "HS256", typ: TICKET_TYP };
    const reasonOf = async (token: string) => {
      const v = await verifyTicket(keys, token, opts);
      return v.ok ? "ok" : v.reason;
    };
    expect(await reasonOf(await forge(header, claims))).toBe("ok");
    expect(await reasonOf(await forge({ alg: "none", typ: TICKET_TYP }, claims))).toBe("wrong_kind");
    expect(await reasonOf(await forge({ alg: "HS384", typ: TICKET_TYP }, claims, "SHA-384"))).toBe("wrong_kind");
    expect(await reasonOf(await forge({ alg: "HS256", typ: "spillway-pass+jwt" }, claims))).toBe("wrong_kind");
    expect(await reasonOf(await forge(header, { ...claims, exp: now }))).toBe("expired");
    expect(await reasonOf(await forge(header, { ...claims, nbf: now + 1 }))).toBe("bad_claims");
    expect(await reasonOf(await forge(header, { ...claims, iss: "x" }))).toBe("wrong_issuer");
    expect(await reasonOf(await forge(header, { ...claims, aud: "x" }))).toBe("wrong_room");
    expect(await reasonOf(await forge({ ...header, crit: ["b64"], b64: true }, claims))).toBe("malformed");
    const [h, p, s] = (await forge(header, claims)).split(".") as [string, string, string];
    expect(await reasonOf(`${h}.${p}.${"A".repeat(s.length)}`)).toBe("bad_signature");
    expect(await reasonOf(`${h}.${p}`)).toBe("malformed");
    expect(await reasonOf(`${h}.${p}.${s}.x`)).toBe("malformed");
    expect(await reasonOf(`${h}.${p}é.${s}`)).toBe("malformed");
    expect(await reasonOf(`${h}.${p}.${s}!`)).toBe("malformed");
  });

  it("answers a waiting poll as the guarded path answers it in JSON", async () => {
    const room = roomName("tv-shape");
    const { ticket } = await waitingTicket(room);
    const polled = await poll(room, ticket, "bearer");
    const guarded = await call(`/rooms/${room}/`, { headers: { ...bearer(ticket), accept: "application/json" } });
    const shapes = [];
    for (const res of [polled, guarded]) {
      expect(res.status).toBe(200);
      const body = await res.json<Status>();
      expect(body.state).toBe("queued");
      expect(res.headers.get("retry-after")).toBe(String(body.pollAfterSeconds));
      expect(res.headers.get("set-cookie")).toBeNull();
      shapes.push({
        headers: [...res.headers.keys()],
        contentType: res.headers.get("content-type"),
        cacheControl: res.headers.get("cache-control"),
        fields: Object.keys(body),
        position: body.position,
      });
    }
    expect(shapes[0]).toEqual(shapes[1]);
    expect(shapes[0]).toMatchObject({ contentType: "application/json", cacheControl: "no-store", position: 1 });
  });
});

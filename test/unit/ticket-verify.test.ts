/**
 * The ticket verifier (src/tokens/hs256.ts through verifyTicket) against
 * jose's jwtVerify, which it replaced: every forged, tampered, malformed or
 * out-of-date ticket is refused, for the same reason jose gives, and a valid
 * one gives the same claims.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newKeySet } from "../../src/cli/keys.ts";
import { readCompactJws } from "../../src/tokens/compact-jws.ts";
import { TICKET_TYP, type TokenRefusal } from "../../src/tokens/claims.ts";
import { keyRing, type KeyRing } from "../../src/tokens/keys.ts";
import { issueTicket, verifyTicket } from "../../src/tokens/ticket.ts";
import {
  b64url,
  joseTicket,
  jsonSegment,
  macSegments,
  type MacKey,
  signJws,
  without,
} from "../support/jose-reference.ts";

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const NOW_S = NOW / 1000;
const ROOM = "demo";
const OPTS = { issuer: "spillway", room: ROOM, now: NOW };

let keys: KeyRing;
/** The raw ticket key, to sign tokens with any header or payload. */
let rawKey: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const set = await newKeySet();
  keys = await keyRing(set);
  rawKey = new Uint8Array(Buffer.from(set.TICKET_KEY, "base64url"));
});

/** A token with these encoded header and payload segments, signed with the ticket key (or `key`). */
function signSegments(header: string, payload: string, key: MacKey = rawKey, hash?: string): Promise<string> {
  return macSegments(header, payload, key, hash);
}

const HEADER = { alg: "HS256", typ: TICKET_TYP };

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    shard: 0,
    seq: 7,
    at: NOW - 5_000,
    iss: "spillway",
    aud: ROOM,
    sub: "listener-1",
    iat: NOW_S - 5,
    exp: NOW_S + 3_600,
    ...overrides,
  };
}

function sign(header: unknown = HEADER, payload: unknown = claims()): Promise<string> {
  return signJws(header, payload, rawKey);
}

/** The verifier this one replaced: jose's jwtVerify with the same options and the same claim checks. */
const joseVerify = (token: string) => joseTicket(keys, token, OPTS);

async function verdict(token: string) {
  const ours = await verifyTicket(keys, token, OPTS);
  return ours.ok ? { ok: true as const, claims: ours.claims } : { ok: false as const, reason: ours.reason };
}

/** Refused for `reason`, as jose refuses it; also when handed the token already read for the kind peek. */
async function expectRefused(token: string, reason: TokenRefusal): Promise<void> {
  expect(await verdict(token)).toEqual({ ok: false, reason });
  expect(await joseVerify(token)).toEqual({ ok: false, reason });
  const read = readCompactJws(token);
  if (read !== null) expect(await verifyTicket(keys, read, OPTS)).toEqual({ ok: false, reason });
}

describe("verifyTicket", () => {
  it("accepts a ticket Spillway issued, with the claims jose reads", async () => {
    const token = await issueTicket(keys, {
      issuer: "spillway",
      room: ROOM,
      sub: "listener-1",
      shard: 3,
      seq: 42,
      at: NOW - 1_234,
      now: NOW - 10_000,
      ttlMs: 21_600_000,
    });
    const expected = {
      room: ROOM,
      sub: "listener-1",
      shard: 3,
      seq: 42,
      at: NOW - 1_234,
      iat: NOW_S - 10,
      exp: NOW_S - 10 + 21_600,
    };
    expect(await verdict(token)).toEqual({ ok: true, claims: expected });
    expect(await joseVerify(token)).toEqual({ ok: true, claims: expected });
    expect(await verifyTicket(keys, readCompactJws(token)!, OPTS)).toEqual({ ok: true, claims: expected });
  });

  it("refuses alg none, unsigned or signed, as the wrong kind", async () => {
    const none = { alg: "none", typ: TICKET_TYP };
    await expectRefused(`${jsonSegment(none)}.${jsonSegment(claims())}.`, "wrong_kind");
    await expectRefused(await sign(none), "wrong_kind");
    await expectRefused(await sign({ alg: "None", typ: TICKET_TYP }), "wrong_kind");
  });

  it("refuses every algorithm but HS256, even with a valid MAC under the ticket key", async () => {
    for (const [alg, hash] of [
      ["HS384", "SHA-384"],
      ["HS512", "SHA-512"],
    ] as const) {
      const header = jsonSegment({ alg, typ: TICKET_TYP });
      await expectRefused(await signSegments(header, jsonSegment(claims()), rawKey, hash), "wrong_kind");
    }
    await expectRefused(await sign({ alg: "ES256", typ: TICKET_TYP }), "wrong_kind");
    await expectRefused(await sign({ alg: "hs256", typ: TICKET_TYP }), "wrong_kind");
  });

  it("refuses a header without a usable alg as malformed", async () => {
    await expectRefused(await sign({ typ: TICKET_TYP }), "malformed");
    await expectRefused(await sign({ alg: "", typ: TICKET_TYP }), "malformed");
    await expectRefused(await sign({ alg: ["HS256"], typ: TICKET_TYP }), "malformed");
  });

  it("refuses tampered signatures and payloads, and other keys' MACs", async () => {
    const token = await sign();
    const [h, p, s] = token.split(".") as [string, string, string];
    const last = s.length - 2; // not the final char, whose low bits base64url ignores
    const flipped = `${s.slice(0, last)}${s[last] === "A" ? "B" : "A"}${s.slice(last + 1)}`;
    await expectRefused(`${h}.${p}.${flipped}`, "bad_signature");
    await expectRefused(`${h}.${p}.${s.slice(0, 20)}`, "bad_signature");
    await expectRefused(`${h}.${p}.`, "bad_signature");
    await expectRefused(`${h}.${jsonSegment(claims({ seq: 1 }))}.${s}`, "bad_signature");
    await expectRefused(`${jsonSegment({ ...HEADER, kid: "x" })}.${p}.${s}`, "bad_signature");
    const otherKey = crypto.getRandomValues(new Uint8Array(32));
    await expectRefused(await signSegments(h, p, otherKey), "bad_signature");
  });

  it("refuses expired tickets (exp at or before now) and keeps the lapse distinct", async () => {
    await expectRefused(await sign(HEADER, claims({ exp: NOW_S - 1 })), "expired");
    await expectRefused(await sign(HEADER, claims({ exp: NOW_S })), "expired");
    expect((await verdict(await sign(HEADER, claims({ exp: NOW_S + 1 })))).ok).toBe(true);
  });

  it("refuses a ticket not valid yet (nbf after now), and takes one valid from now", async () => {
    await expectRefused(await sign(HEADER, claims({ nbf: NOW_S + 1 })), "bad_claims");
    await expectRefused(await sign(HEADER, claims({ nbf: String(NOW_S) })), "bad_claims");
    expect((await verdict(await sign(HEADER, claims({ nbf: NOW_S })))).ok).toBe(true);
  });

  it("refuses the wrong typ as the wrong kind, comparing typ as jose does", async () => {
    await expectRefused(await sign({ alg: "HS256", typ: "spillway-pass+jwt" }), "wrong_kind");
    await expectRefused(await sign({ alg: "HS256", typ: "JWT" }), "wrong_kind");
    await expectRefused(await sign({ alg: "HS256" }), "wrong_kind");
    await expectRefused(await sign({ alg: "HS256", typ: 1 }), "wrong_kind");
    for (const typ of ["SPILLWAY-TICKET+JWT", "application/spillway-ticket+jwt"]) {
      expect((await verdict(await sign({ alg: "HS256", typ }))).ok).toBe(true);
      expect((await joseVerify(await sign({ alg: "HS256", typ }))).ok).toBe(true);
    }
  });

  it("refuses another issuer, another room, and tickets missing either", async () => {
    await expectRefused(await sign(HEADER, claims({ iss: "someone-else" })), "wrong_issuer");
    await expectRefused(await sign(HEADER, without(claims(), "iss")), "wrong_issuer");
    await expectRefused(await sign(HEADER, claims({ aud: "another-room" })), "wrong_room");
    await expectRefused(await sign(HEADER, claims({ aud: ["another-room"] })), "wrong_room");
    await expectRefused(await sign(HEADER, claims({ aud: 7 })), "wrong_room");
    await expectRefused(await sign(HEADER, without(claims(), "aud")), "wrong_room");
    expect((await verdict(await sign(HEADER, claims({ aud: ["x", ROOM] })))).ok).toBe(true);
  });

  it("refuses missing or ill-typed claims", async () => {
    for (const claim of ["sub", "iat", "exp", "seq", "shard", "at"]) {
      await expectRefused(await sign(HEADER, without(claims(), claim)), "bad_claims");
    }
    for (const bad of [
      { seq: 0 },
      { seq: 1.5 },
      { seq: "7" },
      { shard: -1 },
      { at: null },
      { sub: 5 },
      { iat: "now" },
      { exp: "later" },
    ]) {
      await expectRefused(await sign(HEADER, claims(bad)), "bad_claims");
    }
  });

  it("checks claims in jose's order: the room before the lapse, the signature before all", async () => {
    await expectRefused(await sign(HEADER, claims({ aud: "another-room", exp: NOW_S - 1 })), "wrong_room");
    await expectRefused(await sign(HEADER, claims({ iss: "x", aud: "y" })), "wrong_issuer");
    await expectRefused(await sign({ alg: "HS256", typ: "JWT" }, claims({ exp: NOW_S - 1 })), "wrong_kind");
    const expired = (await sign(HEADER, claims({ exp: NOW_S - 1 }))).split(".");
    await expectRefused(`${expired[0]}.${expired[1]}.${"A".repeat(43)}`, "bad_signature");
  });

  it("refuses malformed segments", async () => {
    const [h, p, s] = (await sign()).split(".") as [string, string, string];
    await expectRefused(`${h}.${p}`, "malformed");
    await expectRefused(`${h}.${p}.${s}.x`, "malformed");
    await expectRefused(`${h}.${p}.${s}.x.y`, "malformed");
    await expectRefused("", "malformed");
    await expectRefused("..", "malformed");
    await expectRefused(`.${p}.${s}`, "malformed");
    await expectRefused(`${h}.${p}.${s.slice(0, -1)}+`, "malformed");
    await expectRefused(`${h}.${p}.${s}!`, "malformed");
    await expectRefused(`${h}.${p}.${s}AA`, "malformed"); // 4n + 1 characters
    await expectRefused(`${h}.${p}é.${s}`, "malformed");
    await expectRefused(`${jsonSegment(["HS256"])}.${p}.${s}`, "malformed");
    await expectRefused(`${b64url("not json")}.${p}.${s}`, "malformed");
    await expectRefused(`${b64url(new Uint8Array([0x7b, 0xff, 0x7d]))}.${p}.${s}`, "malformed");
    await expectRefused(`${h}.${p}.${s}`.padEnd(5_000, "A"), "malformed");
  });

  it("refuses payloads that are not strictly UTF-8 JSON objects, even when signed", async () => {
    const h = jsonSegment(HEADER);
    await expectRefused(await signSegments(h, b64url("not json")), "malformed");
    await expectRefused(await signSegments(h, jsonSegment([claims()])), "malformed");
    await expectRefused(await signSegments(h, jsonSegment(null)), "malformed");
    await expectRefused(await signSegments(h, b64url(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]))), "malformed");
    await expectRefused(await signSegments(h, "a+b/"), "malformed");
  });

  it("refuses a crit header (stricter than jose, which takes crit b64)", async () => {
    const token = await sign({ ...HEADER, crit: ["b64"], b64: true });
    expect(await verdict(token)).toEqual({ ok: false, reason: "malformed" });
    expect((await joseVerify(token)).ok).toBe(true);
    await expectRefused(await sign({ ...HEADER, crit: ["exp"] }), "malformed");
  });

  it("decides as jose does for random headers, claims and corruptions", async () => {
    const header = fc.record(
      {
        alg: fc.constantFrom("HS256", "HS256", "HS512", "none", "ES256", "", 5),
        typ: fc.constantFrom(TICKET_TYP, TICKET_TYP, "Spillway-Ticket+JWT", "spillway-pass+jwt", "JWT", 1),
        kid: fc.string(),
        b64: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    const around = (s: number) => fc.oneof(fc.integer({ min: s - 3, max: s + 3 }), fc.double({ noNaN: true }));
    const claimSet = fc.record(
      {
        iss: fc.constantFrom("spillway", "spillway", "other", 1),
        aud: fc.constantFrom<unknown>(ROOM, ROOM, "x", [ROOM], ["x"], [], null),
        sub: fc.oneof(fc.string(), fc.constant(1)),
        iat: fc.oneof(around(NOW_S), fc.constant("1")),
        exp: fc.oneof(around(NOW_S), fc.constant(NOW_S + 100), fc.constant("1")),
        nbf: fc.oneof(around(NOW_S), fc.constant("1")),
        seq: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constant(1.5)),
        shard: fc.integer({ min: -1, max: 3 }),
        at: fc.oneof(fc.nat(), fc.constant(-1)),
      },
      { requiredKeys: [] },
    );
    const corruption = fc.oneof(
      fc.constant((t: string) => t),
      fc.constant((t: string) => t),
      fc.tuple(fc.nat(), fc.constantFrom("A", "-", "_", ".", "+", "=", "é", " ")).map(
        ([i, ch]) =>
          (t: string) =>
            t.slice(0, i % (t.length + 1)) + ch + t.slice((i % (t.length + 1)) + 1),
      ),
      fc.nat().map((i) => (t: string) => t.slice(0, i % (t.length + 1))),
    );
    await fc.assert(
      fc.asyncProperty(header, claimSet, corruption, async (h, c, corrupt) => {
        const token = corrupt(await sign(h, c));
        expect(await verdict(token)).toEqual(await joseVerify(token));
      }),
      { numRuns: 300 },
    );
  });
});

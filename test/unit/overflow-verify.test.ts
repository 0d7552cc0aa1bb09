/**
 * The overflow token's verifier (src/tokens/hs256.ts through verifyOverflow)
 * against jose's jwtVerify, which verified overflow tokens before: forged,
 * tampered, other keys', other kinds' and out-of-date tokens are refused for
 * the reason jose gives, and a token issued by Spillway gives the same claims.
 */
import fc from "fast-check";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { newKeySet } from "../../src/cli/keys.ts";
import { OVERFLOW_REASONS } from "../../src/policy/overflow.ts";
import { OVERFLOW_TYP, TICKET_TYP, type TokenRefusal } from "../../src/tokens/claims.ts";
import { keyRing, type KeyRing } from "../../src/tokens/keys.ts";
import { issueOverflow, verifyOverflow } from "../../src/tokens/overflow.ts";
import { issueTicket } from "../../src/tokens/ticket.ts";
import { joseOverflow, jsonSegment, type MacKey, signJws, without } from "../support/jose-reference.ts";

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const NOW_S = NOW / 1000;
const ROOM = "demo";
const OPTS = { issuer: "spillway", room: ROOM, now: NOW };
const SUB = "0b7e8a52-3c1d-4f6a-9e2b-7d4c5a6b8f90";

let keys: KeyRing;
/** The raw overflow and ticket keys, to sign tokens with any header or payload. */
let overflowKey: Uint8Array<ArrayBuffer>;
let ticketKey: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  const set = await newKeySet();
  keys = await keyRing(set);
  overflowKey = new Uint8Array(Buffer.from(set.OVERFLOW_KEY, "base64url"));
  ticketKey = new Uint8Array(Buffer.from(set.TICKET_KEY, "base64url"));
});

const HEADER = { alg: "HS256", typ: OVERFLOW_TYP };

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    reason: "max_wait",
    iss: "spillway",
    aud: ROOM,
    sub: SUB,
    iat: NOW_S - 60,
    exp: NOW_S + 3_600,
    ...overrides,
  };
}

/** A token with this header and payload, MACed with the overflow key (or `key`). */
function sign(header: unknown = HEADER, payload: unknown = claims(), key: MacKey = overflowKey): Promise<string> {
  return signJws(header, payload, key);
}

/** The verifier this one replaced: jose's jwtVerify with the same options and the same claim checks. */
const joseVerify = (token: string) => joseOverflow(keys, token, OPTS);

async function verdict(token: string) {
  const ours = await verifyOverflow(keys, token, OPTS);
  return ours.ok ? { ok: true as const, claims: ours.claims } : { ok: false as const, reason: ours.reason };
}

async function expectRefused(token: string, reason: TokenRefusal): Promise<void> {
  expect(await verdict(token)).toEqual({ ok: false, reason });
  expect(await joseVerify(token)).toEqual({ ok: false, reason });
}

describe("verifyOverflow", () => {
  it("accepts an overflow token Spillway issued, with the claims jose reads", async () => {
    for (const reason of OVERFLOW_REASONS) {
      const token = await issueOverflow(keys, { ...OPTS, sub: SUB, reason, now: NOW - 60_000, ttlMs: 86_400_000 });
      const expected = { room: ROOM, sub: SUB, reason, iat: NOW_S - 60, exp: NOW_S - 60 + 86_400 };
      expect(await verdict(token)).toEqual({ ok: true, claims: expected });
      expect(await joseVerify(token)).toEqual({ ok: true, claims: expected });
    }
  });

  it("accepts a token signed as jose signed them before (the same wire format)", async () => {
    const token = await new SignJWT({ reason: "mode" })
      .setProtectedHeader({ alg: "HS256", typ: OVERFLOW_TYP })
      .setIssuer("spillway")
      .setAudience(ROOM)
      .setSubject(SUB)
      .setIssuedAt(NOW_S - 10)
      .setExpirationTime(NOW_S + 10)
      .sign(keys.overflow);
    expect(await verdict(token)).toEqual({
      ok: true,
      claims: { room: ROOM, sub: SUB, reason: "mode", iat: NOW_S - 10, exp: NOW_S + 10 },
    });
  });

  it("refuses a forged or tampered signature", async () => {
    const token = await sign();
    const [h, p, s] = token.split(".") as [string, string, string];
    const last = s.length - 2; // not the final char, whose low bits base64url ignores
    await expectRefused(
      `${h}.${p}.${s.slice(0, last)}${s[last] === "A" ? "B" : "A"}${s.slice(last + 1)}`,
      "bad_signature",
    );
    await expectRefused(`${h}.${p}.${"A".repeat(s.length)}`, "bad_signature");
    await expectRefused(`${h}.${p}.`, "bad_signature");
    await expectRefused(`${h}.${jsonSegment(claims({ reason: "mode" }))}.${s}`, "bad_signature");
  });

  it("refuses a token MACed with another key: the ticket key, or any other", async () => {
    await expectRefused(await sign(HEADER, claims(), ticketKey), "bad_signature");
    await expectRefused(await sign(HEADER, claims(), crypto.getRandomValues(new Uint8Array(32))), "bad_signature");
  });

  it("refuses another kind: a ticket, the wrong typ, alg none or another algorithm", async () => {
    const ticket = await issueTicket(keys, { ...OPTS, sub: SUB, shard: 0, seq: 1, at: NOW, now: NOW, ttlMs: 60_000 });
    await expectRefused(ticket, "bad_signature");
    await expectRefused(await sign({ alg: "HS256", typ: TICKET_TYP }, claims(), ticketKey), "bad_signature");
    await expectRefused(await sign({ alg: "HS256", typ: TICKET_TYP }), "wrong_kind");
    await expectRefused(await sign({ alg: "HS256", typ: "JWT" }), "wrong_kind");
    await expectRefused(await sign({ alg: "HS256" }), "wrong_kind");
    await expectRefused(`${jsonSegment({ alg: "none", typ: OVERFLOW_TYP })}.${jsonSegment(claims())}.`, "wrong_kind");
    await expectRefused(await sign({ alg: "HS512", typ: OVERFLOW_TYP }), "wrong_kind");
    expect((await verdict(await sign({ alg: "HS256", typ: OVERFLOW_TYP.toUpperCase() }))).ok).toBe(true);
  });

  it("refuses an expired token (exp at or before now), and one not valid yet", async () => {
    await expectRefused(await sign(HEADER, claims({ exp: NOW_S - 1 })), "expired");
    await expectRefused(await sign(HEADER, claims({ exp: NOW_S })), "expired");
    expect((await verdict(await sign(HEADER, claims({ exp: NOW_S + 1 })))).ok).toBe(true);
    await expectRefused(await sign(HEADER, claims({ nbf: NOW_S + 1 })), "bad_claims");
  });

  it("refuses another room or issuer, and missing or ill-typed claims", async () => {
    await expectRefused(await sign(HEADER, claims({ aud: "another-room" })), "wrong_room");
    await expectRefused(await sign(HEADER, claims({ iss: "someone-else" })), "wrong_issuer");
    for (const claim of ["sub", "iat", "exp", "reason"]) {
      await expectRefused(await sign(HEADER, without(claims(), claim)), "bad_claims");
    }
    for (const bad of [{ reason: "bored" }, { reason: 1 }, { sub: 5 }, { iat: "now" }, { exp: "later" }]) {
      await expectRefused(await sign(HEADER, claims(bad)), "bad_claims");
    }
  });

  it("refuses malformed tokens", async () => {
    const [h, p, s] = (await sign()).split(".") as [string, string, string];
    for (const token of ["", "..", `${h}.${p}`, `${h}.${p}.${s}.x.y`, `${h}.${p}.${s}!`, `${h}.${p}é.${s}`]) {
      await expectRefused(token, "malformed");
    }
    await expectRefused(`${h}.${p}.${s}`.padEnd(5_000, "A"), "malformed");
  });

  it("decides as jose does for random headers, claims and corruptions", async () => {
    const header = fc.record(
      {
        alg: fc.constantFrom("HS256", "HS256", "HS512", "none", ""),
        typ: fc.constantFrom(OVERFLOW_TYP, OVERFLOW_TYP, TICKET_TYP, "JWT", 1),
      },
      { requiredKeys: [] },
    );
    const around = (s: number) => fc.oneof(fc.integer({ min: s - 3, max: s + 3 }), fc.constant("1"));
    const claimSet = fc.record(
      {
        iss: fc.constantFrom("spillway", "spillway", "other"),
        aud: fc.constantFrom<unknown>(ROOM, ROOM, "x", [ROOM], []),
        sub: fc.oneof(fc.string(), fc.constant(1)),
        iat: around(NOW_S),
        exp: fc.oneof(around(NOW_S), fc.constant(NOW_S + 100)),
        nbf: around(NOW_S),
        reason: fc.constantFrom<unknown>(...OVERFLOW_REASONS, "other", null),
      },
      { requiredKeys: [] },
    );
    const corruption = fc.oneof(
      fc.constant((t: string) => t),
      fc.constant((t: string) => t),
      fc.tuple(fc.nat(), fc.constantFrom("A", "-", "_", ".", "+", "é")).map(
        ([i, ch]) =>
          (t: string) =>
            t.slice(0, i % (t.length + 1)) + ch + t.slice((i % (t.length + 1)) + 1),
      ),
    );
    await fc.assert(
      fc.asyncProperty(header, claimSet, corruption, async (h, c, corrupt) => {
        const token = corrupt(await sign(h, c));
        expect(await verdict(token)).toEqual(await joseVerify(token));
      }),
      { numRuns: 200 },
    );
  });
});

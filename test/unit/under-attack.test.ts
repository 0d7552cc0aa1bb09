/**
 * Under-attack mode, the parts that need no Worker: the proof-of-work check,
 * the challenge token, the gate an arrival passes at the edge, the tally of
 * what edges saw and the per-client join limit.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { newKeySet } from "../../src/cli/keys.ts";
import { isNonce, leadingZeroBits, MAX_CHALLENGE_BITS, solve, solves } from "../../src/policy/pow.ts";
import type { EdgeArrivals } from "../../src/policy/protocol.ts";
import { ArrivalTally } from "../../src/edge/arrival-tally.ts";
import { REPORT_EVERY_MS } from "../../src/edge/room-tally.ts";
import { BindingLimiter, clientKey, WindowLimiter } from "../../src/edge/join-limit.ts";
import { CHALLENGE_HEADER, gateArrival, type GateInput, SOLUTION_HEADER } from "../../src/edge/under-attack.ts";
import { issueChallenge, verifyChallenge } from "../../src/tokens/challenge.ts";
import { issueTicket } from "../../src/tokens/ticket.ts";
import { keyRing, type KeyRing } from "../../src/tokens/keys.ts";

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const ROOM = "demo";
const OPTS = { issuer: "spillway", room: ROOM, now: NOW };

let keys: KeyRing;
let otherKeys: KeyRing;

beforeAll(async () => {
  keys = await keyRing(await newKeySet());
  otherKeys = await keyRing(await newKeySet());
});

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

describe("proof of work", () => {
  it("counts leading zero bits", () => {
    expect(leadingZeroBits(new Uint8Array([0xff]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array([0x01]))).toBe(7);
    expect(leadingZeroBits(new Uint8Array([0x00, 0x80]))).toBe(8);
    expect(leadingZeroBits(new Uint8Array([0x00, 0x00, 0x10]))).toBe(19);
    expect(leadingZeroBits(new Uint8Array([0, 0]))).toBe(16);
  });

  it("accepts exactly the nonces whose hash has enough leading zeros", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uuid(), fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 12 }), async (id, n, bits) => {
        const nonce = String(n);
        const zeros = leadingZeroBits(await sha256(`${id}:${nonce}`));
        expect(await solves(id, nonce, bits)).toBe(zeros >= bits);
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it("finds a solution that checks, and refuses malformed nonces", async () => {
    const id = "0b6a4c1e-3f3e-4f59-9d1b-5c2a9e0e7d11";
    const nonce = await solve(id, 10);
    expect(nonce).not.toBeNull();
    expect(await solves(id, nonce!, 10)).toBe(true);
    expect(leadingZeroBits(await sha256(`${id}:${nonce}`))).toBeGreaterThanOrEqual(10);
    for (const bad of ["", "-1", "1e3", " 12", "12 ", "0x1f", "9".repeat(33), "١٢"]) {
      expect(isNonce(bad), bad).toBe(false);
      expect(await solves(id, bad, 0), bad).toBe(false);
    }
  });
});

describe("challenge tokens", () => {
  it("verify for their room until they expire, with their difficulty", async () => {
    const sub = crypto.randomUUID();
    const { token, exp } = await issueChallenge(keys, { ...OPTS, sub, bits: 12 });
    const ok = await verifyChallenge(keys, token, OPTS);
    expect(ok).toEqual({ ok: true, claims: { room: ROOM, sub, bits: 12, iat: NOW / 1000, exp } });
    expect(await verifyChallenge(keys, token, { ...OPTS, room: "other" })).toEqual({ ok: false, reason: "wrong_room" });
    expect(await verifyChallenge(keys, token, { ...OPTS, now: exp * 1000 })).toEqual({ ok: false, reason: "expired" });
    expect(await verifyChallenge(otherKeys, token, OPTS)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("are their own kind: a ticket is not a challenge, nor a challenge a ticket", async () => {
    const ticket = await issueTicket(keys, {
      ...OPTS,
      sub: crypto.randomUUID(),
      shard: 0,
      seq: 1,
      at: NOW,
      ttlMs: 60_000,
    });
    const asChallenge = await verifyChallenge(keys, ticket, OPTS);
    expect(asChallenge.ok).toBe(false);
    const { token } = await issueChallenge(keys, { ...OPTS, sub: crypto.randomUUID(), bits: 1 });
    const { verifyTicket } = await import("../../src/tokens/ticket.ts");
    expect((await verifyTicket(keys, token, OPTS)).ok).toBe(false);
  });

  it("refuse a difficulty out of range or an id that is not a UUID", async () => {
    const high = await issueChallenge(keys, { ...OPTS, sub: crypto.randomUUID(), bits: MAX_CHALLENGE_BITS + 1 });
    expect(await verifyChallenge(keys, high.token, OPTS)).toEqual({ ok: false, reason: "bad_claims" });
    const odd = await issueChallenge(keys, { ...OPTS, sub: "not-a-uuid", bits: 4 });
    expect(await verifyChallenge(keys, odd.token, OPTS)).toEqual({ ok: false, reason: "bad_claims" });
  });
});

describe("the arrival gate", () => {
  function input(headers: Record<string, string>, over: Partial<GateInput> = {}) {
    const reports: EdgeArrivals[] = [];
    const gate: GateInput = {
      room: ROOM,
      issuer: "spillway",
      keys,
      now: NOW,
      bits: 8,
      headers: new Headers(headers),
      limiter: new WindowLimiter(100),
      report: (batch) => reports.push(batch),
      ...over,
    };
    return { gate, reports };
  }

  it("lets everyone through when the room asks for no work", async () => {
    expect(await gateArrival(input({}, { bits: 0 }).gate)).toEqual({ kind: "open" });
  });

  it("hands out a challenge, and takes a correct solution once signed and solved", async () => {
    const first = await gateArrival(input({}).gate);
    expect(first.kind).toBe("challenge");
    if (first.kind !== "challenge") return;
    expect(first.code).toBe("challenge_required");
    expect(first.challenge.bits).toBe(8);
    expect(first.challenge.algorithm).toBe("SHA-256");
    const nonce = (await solve(first.challenge.id, 8))!;
    const solved = await gateArrival(
      input({ [CHALLENGE_HEADER]: first.challenge.token, [SOLUTION_HEADER]: nonce }).gate,
    );
    expect(solved).toEqual({ kind: "solved", sub: first.challenge.id, until: Date.parse(first.challenge.expiresAt) });
  });

  it("refuses a wrong nonce, a forged or expired challenge, and one easier than the room now asks", async () => {
    const { challenge } = (await gateArrival(input({}).gate)) as { challenge: { token: string; id: string } };
    const nonce = (await solve(challenge.id, 8))!;
    let wrong = 0;
    while (await solves(challenge.id, String(wrong), 8)) wrong++;
    const forged = (await issueChallenge(otherKeys, { ...OPTS, sub: challenge.id, bits: 8 })).token;
    const cases: [string, Record<string, string>, Partial<GateInput>][] = [
      ["wrong nonce", { [CHALLENGE_HEADER]: challenge.token, [SOLUTION_HEADER]: String(wrong) }, {}],
      ["no nonce", { [CHALLENGE_HEADER]: challenge.token }, {}],
      ["no challenge", { [SOLUTION_HEADER]: nonce }, {}],
      ["forged", { [CHALLENGE_HEADER]: forged, [SOLUTION_HEADER]: nonce }, {}],
      ["expired", { [CHALLENGE_HEADER]: challenge.token, [SOLUTION_HEADER]: nonce }, { now: NOW + 10 * 60_000 }],
      ["other room", { [CHALLENGE_HEADER]: challenge.token, [SOLUTION_HEADER]: nonce }, { room: "other" }],
      ["too easy now", { [CHALLENGE_HEADER]: challenge.token, [SOLUTION_HEADER]: nonce }, { bits: 9 }],
    ];
    for (const [name, headers, over] of cases) {
      const out = await gateArrival(input(headers, over).gate);
      expect(out.kind, name).toBe("challenge");
      if (out.kind === "challenge") expect(out.code, name).toBe("challenge_failed");
    }
  });

  it("limits the joins of one client, and not those of another", async () => {
    const limiter = new WindowLimiter(2);
    const { challenge } = (await gateArrival(input({}).gate)) as { challenge: { token: string; id: string } };
    const nonce = (await solve(challenge.id, 8))!;
    const from = (ip: string) => ({
      [CHALLENGE_HEADER]: challenge.token,
      [SOLUTION_HEADER]: nonce,
      "cf-connecting-ip": ip,
    });
    const kinds: string[] = [];
    for (let i = 0; i < 3; i++) kinds.push((await gateArrival(input(from("192.0.2.1"), { limiter }).gate)).kind);
    kinds.push((await gateArrival(input(from("192.0.2.2"), { limiter }).gate)).kind);
    expect(kinds).toEqual(["solved", "solved", "limited", "solved"]);
  });
});

describe("the arrival tally", () => {
  it("reports the first event at once and the rest in one batch after the interval", () => {
    const tally = new ArrivalTally();
    expect(tally.add("a", "challenged", 0)).toEqual({ challenged: 1, failed: 0, limited: 0 });
    expect(tally.add("a", "challenged", 1_000)).toBeNull();
    expect(tally.add("a", "failed", 2_000)).toBeNull();
    expect(tally.add("b", "limited", 2_000)).toEqual({ challenged: 0, failed: 0, limited: 1 });
    expect(tally.add("a", "limited", REPORT_EVERY_MS)).toEqual({ challenged: 1, failed: 1, limited: 1 });
    expect(tally.add("a", "challenged", REPORT_EVERY_MS + 1)).toBeNull();
  });

  it("loses no event: the batches add up to everything counted", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom("challenged", "failed", "limited") as fc.Arbitrary<keyof EdgeArrivals>,
            fc.nat(2_000),
          ),
          {
            maxLength: 200,
          },
        ),
        (events) => {
          const tally = new ArrivalTally();
          const reported = { challenged: 0, failed: 0, limited: 0 };
          const counted = { challenged: 0, failed: 0, limited: 0 };
          let now = 0;
          for (const [event, gap] of events) {
            now += gap;
            counted[event] += 1;
            const batch = tally.add("r", event, now);
            if (batch !== null)
              for (const k of Object.keys(reported) as (keyof EdgeArrivals)[]) reported[k] += batch[k];
          }
          // What is not reported yet goes with the first event after the interval.
          const flush = tally.add("r", "challenged", now + REPORT_EVERY_MS);
          counted.challenged += 1;
          for (const k of Object.keys(reported) as (keyof EdgeArrivals)[]) reported[k] += flush![k];
          expect(reported).toEqual(counted);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });
});

describe("join limits", () => {
  it("count per window and start again in the next", async () => {
    const limiter = new WindowLimiter(3, 60_000);
    const answers: boolean[] = [];
    for (let i = 0; i < 4; i++) answers.push(await limiter.allow("k", 1_000));
    answers.push(await limiter.allow("k", 61_000));
    expect(answers).toEqual([true, true, true, false, true]);
    expect(limiter.retryAfterSeconds).toBe(60);
  });

  it("use the binding when there is one, and let joins through if it fails", async () => {
    const keysSeen: string[] = [];
    const binding = {
      limit: async ({ key }: { key: string }) => {
        keysSeen.push(key);
        return { success: keysSeen.length <= 1 };
      },
    } as unknown as RateLimit;
    const limiter = new BindingLimiter(binding);
    expect(await limiter.allow("demo|192.0.2.1")).toBe(true);
    expect(await limiter.allow("demo|192.0.2.1")).toBe(false);
    expect(keysSeen).toEqual(["demo|192.0.2.1", "demo|192.0.2.1"]);
    const broken = new BindingLimiter({ limit: () => Promise.reject(new Error("down")) } as unknown as RateLimit);
    expect(await broken.allow("x")).toBe(true);
  });

  it("key a client by room and address", () => {
    expect(clientKey("demo", new Headers({ "cf-connecting-ip": "2001:db8::1" }))).toBe("demo|2001:db8::1");
    expect(clientKey("demo", new Headers())).toBe("demo|unknown");
  });
});

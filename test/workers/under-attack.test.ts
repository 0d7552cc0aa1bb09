/**
 * Under-attack mode end to end: with `challengeBits` set, no ticket is
 * issued without a solved proof-of-work challenge; a solution works once,
 * only for its room, only until it expires; a client's joins are limited;
 * and the room's stats tell arrivals that solved the challenge from those
 * that did not.
 */
import { describe, expect, it } from "vitest";
import { solve, solves } from "../../src/policy/pow.ts";
import { openApiDocument } from "../../src/contract/openapi.ts";
import { CHALLENGE_HEADER, SOLUTION_HEADER } from "../../src/edge/under-attack.ts";
import { schemaErrors } from "../openapi-check.ts";
import {
  advance,
  call,
  callWith,
  type ErrorJson,
  join,
  patchRoom,
  roomName,
  shardStub,
  stats,
  status,
  useManualClock,
} from "./helpers.ts";

const time = useManualClock();

interface Challenge {
  token: string;
  id: string;
  bits: number;
  algorithm: string;
  expiresAt: string;
}

type ChallengeError = ErrorJson & { error: { challenge?: Challenge } };

async function askChallenge(room: string, headers: Record<string, string> = {}): Promise<Challenge> {
  const res = await callWith({}, `/_spillway/rooms/${room}/join`, { method: "POST", headers });
  expect(res.status).toBe(401);
  const body = await res.json<ChallengeError>();
  expect(body.error.code).toBe("challenge_required");
  return body.error.challenge!;
}

function solvedJoin(room: string, challenge: Challenge, nonce: string, more: Record<string, string> = {}) {
  return callWith({}, `/_spillway/rooms/${room}/join`, {
    method: "POST",
    headers: { [CHALLENGE_HEADER]: challenge.token, [SOLUTION_HEADER]: nonce, ...more },
  });
}

describe("under-attack mode", () => {
  it("asks every new arrival for a proof of work before a ticket, and takes no place until it is solved", async () => {
    const room = roomName("attack-ask");
    await patchRoom(room, { capacity: 5, challengeBits: 8 });

    const res = await callWith({}, `/_spillway/rooms/${room}/join`, { method: "POST" });
    expect(res.status).toBe(401);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual([]);
    const body = await res.json<ChallengeError>();
    expect(body.error.code).toBe("challenge_required");
    const challenge = body.error.challenge!;
    expect(challenge).toMatchObject({ bits: 8, algorithm: "SHA-256" });
    expect(Date.parse(challenge.expiresAt)).toBeGreaterThan(time.clock.now());
    expect((await stats(room)).joined).toBe(0);
    // As the OpenAPI document describes join's 401.
    const doc = openApiDocument();
    const documented = doc.paths["/_spillway/rooms/{room}/join"]!.post!.responses["401"] as {
      content: Record<string, { schema: object }>;
    };
    expect(schemaErrors(doc, documented.content["application/json"]!.schema, body)).toEqual([]);

    // An app asking for JSON on the guarded path gets the same answer.
    const guarded = await callWith({}, `/rooms/${room}/`, { headers: { accept: "application/json" } });
    expect(guarded.status).toBe(401);
    expect((await guarded.json<ChallengeError>()).error.challenge?.bits).toBe(8);

    const nonce = (await solve(challenge.id, 8))!;
    const joined = await solvedJoin(room, challenge, nonce);
    expect(joined.status).toBe(200);
    const admitted = await joined.json<{ state: string; ticket: string; pass?: string }>();
    expect(admitted.state).toBe("admitted");
    expect(admitted.ticket).toBeTruthy();
    const s = await stats(room);
    expect(s.joined).toBe(1);
    expect(s.challenge).toMatchObject({ bits: 8, solved: 1, unchallenged: 0 });
  });

  it("takes a solution once: the same one again is refused and takes no second place", async () => {
    const room = roomName("attack-once");
    await patchRoom(room, { capacity: 0, challengeBits: 6 });
    const challenge = await askChallenge(room);
    const nonce = (await solve(challenge.id, 6))!;
    expect((await solvedJoin(room, challenge, nonce)).status).toBe(200);

    const again = await solvedJoin(room, challenge, nonce);
    expect(again.status).toBe(409);
    const body = await again.json<ChallengeError>();
    expect(body.error.code).toBe("challenge_used");
    expect(body.error.challenge?.bits).toBe(6);
    const s = await stats(room);
    expect(s.joined).toBe(1);
    expect(s.queued).toBe(1);
  });

  it("refuses wrong, expired, other-room and too-easy solutions with a new challenge, and changes nothing", async () => {
    const room = roomName("attack-refuse");
    const other = roomName("attack-other");
    await patchRoom(room, { capacity: 5, challengeBits: 8 });
    await patchRoom(other, { capacity: 5, challengeBits: 8 });
    const challenge = await askChallenge(room);
    const nonce = (await solve(challenge.id, 8))!;
    let wrong = 0;
    while (await solves(challenge.id, String(wrong), 8)) wrong++;

    const refused = async (r: string, c: Challenge, n: string) => {
      const res = await solvedJoin(r, c, n);
      expect(res.status).toBe(401);
      const body = await res.json<ChallengeError>();
      expect(body.error.code).toBe("challenge_failed");
      expect(body.error.challenge?.token).not.toBe(c.token);
      expect(res.headers.getSetCookie()).toEqual([]);
    };
    await refused(room, challenge, String(wrong));
    await refused(room, challenge, "not-a-number");
    await refused(other, challenge, nonce);
    await refused(room, { ...challenge, token: challenge.token.slice(0, -2) + "AA" }, nonce);

    // Ops raise the difficulty: a solution at the old one no longer does.
    await patchRoom(room, { challengeBits: 9 });
    advance(time.clock, 2_000); // every edge sees a change within 2 s
    await refused(room, challenge, nonce);
    await patchRoom(room, { challengeBits: 8 });
    advance(time.clock, 2_000);

    // Past its expiry the challenge is refused.
    advance(time.clock, Date.parse(challenge.expiresAt) - time.clock.now() + 1_000);
    await refused(room, challenge, nonce);

    expect((await stats(room)).joined).toBe(0);
    expect((await stats(other)).joined).toBe(0);
  });

  it("leaves listeners who already hold a ticket alone", async () => {
    const room = roomName("attack-holders");
    await patchRoom(room, { capacity: 0 });
    const waiting = (await join(room)).body;
    await patchRoom(room, { challengeBits: 10 });
    advance(time.clock, 2_000);
    const polled = await status(room, waiting.ticket!);
    expect(polled.res.status).toBe(200);
    expect(polled.body.state).toBe("queued");
  });

  it("counts the challenges handed out and refused apart from those solved", async () => {
    const room = roomName("attack-stats");
    await patchRoom(room, { capacity: 5, challengeBits: 6 });
    // A flood that never solves: three challenges handed out, two forged answers.
    const first = await askChallenge(room);
    await askChallenge(room);
    await askChallenge(room);
    for (let i = 0; i < 2; i++) await solvedJoin(room, first, "x");
    // One real listener.
    const real = await askChallenge(room);
    expect((await solvedJoin(room, real, (await solve(real.id, 6))!)).status).toBe(200);
    // Edges report in batches: the next event after the interval brings the rest.
    advance(time.clock, 5_000);
    await askChallenge(room);

    const s = await stats(room);
    // Handed out: 4 asked + 2 renewed with the refusals + 1 after the interval.
    expect(s.challenge).toEqual({ bits: 6, issued: 7, solved: 1, failed: 2, limited: 0, unchallenged: 0 });
  });

  it("limits the places one client address may take", async () => {
    const room = roomName("attack-limit");
    await patchRoom(room, { capacity: 5, challengeBits: 4 });
    const from = { "cf-connecting-ip": "198.51.100.7" };
    const answers: number[] = [];
    // JOIN_LIMITER allows 20 a minute per client (wrangler.toml); every attempt counts. Its minutes are the
    // runtime's own (real time, not the test's clock): on a slow machine the attempts may span two of them,
    // so the limit shows as the first refusal coming no sooner than the 21st attempt, and within two minutes' worth.
    while (answers.length < 41 && !answers.includes(429)) {
      const c = await askChallenge(room, from);
      answers.push((await solvedJoin(room, c, (await solve(c.id, 4))!, from)).status);
    }
    const firstRefused = answers.indexOf(429);
    expect(firstRefused).toBeGreaterThanOrEqual(20);
    expect(firstRefused).toBeLessThanOrEqual(40);
    expect(answers.slice(0, firstRefused).every((s) => s === 200)).toBe(true);
    const c = await askChallenge(room, from);
    const limited = await solvedJoin(room, c, (await solve(c.id, 4))!, from);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await limited.json<ErrorJson>()).error.code).toBe("too_many_joins");
    // Another address is not held back.
    const elsewhere = await askChallenge(room, { "cf-connecting-ip": "198.51.100.8" });
    const ok = await solvedJoin(room, elsewhere, (await solve(elsewhere.id, 4))!, {
      "cf-connecting-ip": "198.51.100.8",
    });
    expect(ok.status).toBe(200);
    expect((await stats(room)).joined).toBe(21);
  });

  it("is off again at 0: arrivals join with no challenge", async () => {
    const room = roomName("attack-off");
    await patchRoom(room, { capacity: 5, challengeBits: 8 });
    await askChallenge(room);
    await patchRoom(room, { challengeBits: 0 });
    advance(time.clock, 2_000); // every edge sees a change within 2 s
    const { res, body } = await join(room);
    expect(res.status).toBe(200);
    expect(body.state).toBe("admitted");
    expect((await stats(room)).challenge).toMatchObject({ bits: 0, solved: 0, unchallenged: 1 });
  });

  it("spends a challenge id once at the shard even when two joins race", async () => {
    const room = roomName("attack-race");
    await patchRoom(room, { capacity: 5 });
    const id = crypto.randomUUID();
    const until = time.clock.now() + 60_000;
    const [a, b] = await Promise.all([
      shardStub(room).joinSolved(room, 0, id, until),
      shardStub(room).joinSolved(room, 0, id, until),
    ]);
    expect([a, b].filter((x) => x === null)).toHaveLength(1);
    expect((await stats(room)).joined).toBe(1);
  });

  it("serves the challenge worker script", async () => {
    const res = await call("/_spillway/challenge-worker.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/javascript/);
  });
});

/**
 * Thousands leave at once, more than the room's revocation list holds: the
 * origin — a stand-in that counts the passes reaching it, while every pass
 * in hand is tried each round — never serves more distinct seats than the
 * capacity, no left pass is served once its seat has gone to someone else,
 * and the room refills: seats whose revocation was listed within seconds,
 * the rest once their passes are too old to be honoured without asking
 * their shard.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { MAX_VIEW_REVOKED } from "../../src/policy/revocations.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "../../src/policy/pass-trust.ts";
import {
  advance,
  bearer,
  call,
  callWith,
  leave,
  passClaims,
  patchRoom,
  roomName,
  stats,
  type Status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

/** More leaves than the revocation list holds, over several shards. */
const CAPACITY = MAX_VIEW_REVOKED + 100;
const SHARDS = 4;

interface Listener {
  ticket: string;
  pass?: string;
  sid?: string;
}

/** Run `task` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) out.push(...(await Promise.all(items.slice(i, i + width).map(task))));
  return out;
}

async function joinOne(room: string): Promise<Listener> {
  const res = await call(`/_spillway/rooms/${room}/join`, { method: "POST" });
  expect(res.status).toBe(200);
  const body = await res.json<Status>();
  return {
    ticket: body.ticket!,
    pass: body.pass,
    sid: body.pass === undefined ? undefined : passClaims(body.pass).sid,
  };
}

/**
 * A round: every shard syncs (as its alarm has it do each second; a manual
 * clock fires no alarms, stats makes each shard report), then waiting
 * listeners poll once and the called claim.
 */
async function pollWaiting(room: string, listeners: Listener[]): Promise<void> {
  await stats(room);
  const waiting = listeners.filter((l) => l.pass === undefined);
  await inBatches(waiting, 100, async (l) => {
    const res = await call(`/_spillway/rooms/${room}/status`, { headers: { authorization: `Bearer ${l.ticket}` } });
    const body = await res.json<Status>();
    if (body.pass !== undefined) {
      l.pass = body.pass;
      l.sid = passClaims(body.pass).sid;
    }
  });
}

const ORIGIN = { ORIGIN_URL: "http://origin.test" };

/**
 * The seats (lease ids) the origin serves now, as the origin counts them: a
 * stand-in origin notes the pass of every request that reaches it, while
 * every pass in hand tries the guarded path.
 */
async function servedSeats(room: string, passes: string[]): Promise<Set<string>> {
  const served = new Set<string>();
  const statuses = new Set<number>();
  const origin = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const pass = new Request(input as RequestInfo, init).headers.get("spillway-pass");
    if (pass !== null) served.add(passClaims(pass).sid);
    return new Response("ok", { headers: { "content-length": "2" } });
  });
  try {
    await inBatches(passes, 100, async (pass) => {
      const res = await callWith(ORIGIN, `/rooms/${room}/live`, { headers: bearer(pass) });
      await res.arrayBuffer();
      statuses.add(res.status);
    });
  } finally {
    origin.mockRestore();
  }
  // Every request here runs in this test's one request context, which holds at most 10,000 timers:
  // thousands of proxied answers, checks after checks, fit only because each answer's hold timer
  // (HOLD_AFTER_MS) is cleared once it is in (a timer left to lapse would fail them with 500s).
  // Every pass was served (200) or refused (409); none failed, as a fault would also keep it from the origin.
  expect([...statuses].filter((status) => status !== 200 && status !== 409)).toEqual([]);
  return served;
}

describe("a mass leave", () => {
  it("never lets the origin serve more seats than capacity, nor a left pass once its seat is reused", async () => {
    const room = roomName("mass-leave");
    await patchRoom(room, { capacity: CAPACITY, shards: SHARDS, admitPerMinute: 100 * CAPACITY });

    // Fill the room.
    const first = await inBatches(
      Array.from({ length: CAPACITY }, () => room),
      100,
      joinOne,
    );
    for (let round = 0; round < 30 && first.some((l) => l.pass === undefined); round++) {
      advance(t.clock, 1_100);
      await pollWaiting(room, first);
    }
    expect(first.every((l) => l.pass !== undefined)).toBe(true);
    expect((await stats(room)).active).toBe(CAPACITY);
    const seatedAt = t.clock.now();

    // A crowd waits; everyone seated leaves at once, and keeps presenting its pass.
    const crowd = await inBatches(
      Array.from({ length: CAPACITY }, () => room),
      100,
      joinOne,
    );
    expect(crowd.every((l) => l.pass === undefined)).toBe(true);
    await inBatches(first, 100, async (l) => expect((await leave(room, l.pass!)).status).toBe(200));
    const leftSids = new Set(first.map((l) => l.sid!));

    const check = async (label: string) => {
      await pollWaiting(room, crowd);
      const newSeats = crowd.filter((l) => l.pass !== undefined).length;
      const served = await servedSeats(room, [
        ...first.map((l) => l.pass!),
        ...crowd.filter((l) => l.pass !== undefined).map((l) => l.pass!),
      ]);
      const leftServed = [...served].filter((sid) => leftSids.has(sid)).length;
      // The origin's count: never above capacity, whoever holds the passes.
      expect(served.size, label).toBeLessThanOrEqual(CAPACITY);
      // A left pass is served only while its seat has not gone to a newcomer.
      expect(leftServed + newSeats, label).toBeLessThanOrEqual(CAPACITY);
      return { newSeats, leftServed };
    };

    // The seconds after the leave: listed revocations are confirmed and those seats refill.
    let soon = { newSeats: 0, leftServed: 0 };
    for (let round = 0; round < 8; round++) {
      advance(t.clock, 1_100);
      soon = await check(`${round * 1.1 + 1.1} s after the leave`);
    }
    // Every listed revocation freed its seat; the rest wait for their passes to expire.
    expect(soon.newSeats).toBeGreaterThanOrEqual(MAX_VIEW_REVOKED - 100);
    expect(soon.newSeats).toBeLessThan(CAPACITY);

    // The seats the full list could not take come back once every old pass is too old to be
    // honoured from a view (edges then ask the seats' shards): a third of a pass lifetime after
    // the leases' last renewal, and a second for clocks that disagree.
    const release = seatedAt + passTrustMs(PASS_TTL_MS) + CLOCK_SKEW_MS;
    advance(t.clock, release - t.clock.now() - 1_500);
    expect((await check("just before the last seats are released")).newSeats).toBeLessThan(CAPACITY);
    let late = { newSeats: 0, leftServed: 0 };
    // (Calls across shards are paced over a round or two.)
    for (let round = 0; round < 6 && late.newSeats < CAPACITY; round++) {
      advance(t.clock, 1_100);
      late = await check(`${round * 1.1 - 0.4} s after the last release`);
    }
    expect(late).toEqual({ newSeats: CAPACITY, leftServed: 0 });
    expect(t.clock.now()).toBeLessThan(seatedAt + PASS_TTL_MS);
    expect((await stats(room)).active).toBe(CAPACITY);
  }, 240_000);
});

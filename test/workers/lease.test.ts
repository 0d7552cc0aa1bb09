import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bearer,
  call,
  type ErrorJson,
  heartbeat,
  join,
  leave,
  passClaims,
  patchRoom,
  roomName,
  shardStub,
  stats,
  type Status,
  status,
  useManualClock,
  letRevocationsThrough,
  advance,
  statusHolding,
} from "./helpers.ts";
import { VIEW_TTL_MS } from "../../src/edge/view-cache.ts";
import { cookieName } from "../../src/edge/credentials.ts";

const t = useManualClock();

const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

/** The counters the Room last wrote to its storage (no settling on the way). */
async function storedCounters(
  room: string,
): Promise<{ live: number; expired: number; reserved: number; left: number }> {
  return runInDurableObject(shardStub(room), (_instance, state) => {
    const row = state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'counters'").one();
    return JSON.parse(row.value) as { live: number; expired: number; reserved: number; left: number };
  });
}

/** A room of one seat: the first listener holds it, the second waits at the front. */
async function oneSeatTwoListeners(room: string) {
  await patchRoom(room, { capacity: 1 });
  const holder = (await join(room)).body;
  const waiter = (await join(room)).body;
  expect(holder.state).toBe("admitted");
  expect(waiter).toMatchObject({ state: "queued", position: 1 });
  return { holder, waiter };
}

describe("leases", () => {
  it("ends the seat of a listener who stops heartbeating once the pass lifetime is over, and calls the next", async () => {
    expect(PASS_TTL_MS).toBe(60_000);
    const room = roomName("lease-expire");
    const { holder, waiter } = await oneSeatTwoListeners(room);
    expect((await stats(room)).active).toBe(1);

    // Just before the end of the lifetime, the alarm ends nothing.
    t.clock.advance(PASS_TTL_MS - 1_000);
    await runDurableObjectAlarm(shardStub(room));
    expect((await storedCounters(room)).live).toBe(1);

    t.clock.advance(2_000);
    expect(await runDurableObjectAlarm(shardStub(room))).toBe(true);
    // The alarm itself expired the lease and called the waiting listener.
    const stored = await storedCounters(room);
    expect(stored).toMatchObject({ live: 0, expired: 1, reserved: 1 });

    const s = await stats(room);
    expect(s.active).toBe(0);
    expect(s.expired).toBe(1);
    expect(s.called).toBe(1);

    const next = await status(room, waiter.ticket!);
    expect(next.body.state).toBe("admitted");
    const pass = passClaims(next.body.pass!);
    expect(pass.sid).not.toBe(passClaims(holder.pass!).sid);
    expect((await stats(room)).active).toBe(1);
  });

  it("renews the pass on heartbeat: same sid, later exp, and the seat outlives the first pass", async () => {
    const room = roomName("lease-renew");
    const { holder, waiter } = await oneSeatTwoListeners(room);
    const first = passClaims(holder.pass!);

    t.clock.advance(20_000);
    const res = await heartbeat(room, holder.pass!);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
    const body = await res.json<Status>();
    expect(body.state).toBe("admitted");
    const renewed = passClaims(body.pass!);
    expect(renewed.sid).toBe(first.sid);
    expect(renewed.sub).toBe(first.sub);
    expect(renewed.exp).toBeGreaterThan(first.exp);
    expect(renewed.exp - first.exp).toBeGreaterThanOrEqual(19);
    expect(body.passExpiresAt).toBe(new Date(renewed.exp * 1000).toISOString());

    // Past the first pass's expiry: the renewed lease still holds the seat.
    t.clock.advance(PASS_TTL_MS - 20_000 + 5_000);
    await runDurableObjectAlarm(shardStub(room));
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.expired).toBe(0);
    const again = await heartbeat(room, body.pass!);
    expect(again.status).toBe(200);
    expect(passClaims((await again.json<Status>()).pass!).sid).toBe(first.sid);
    expect((await status(room, waiter.ticket!)).body.state).toBe("queued");
  });

  it("answers 409 seat_ended to a heartbeat after the listener left, and 401 token_expired once the pass expired", async () => {
    const room = roomName("lease-ended");
    const { holder } = await oneSeatTwoListeners(room);

    expect((await leave(room, holder.pass!)).status).toBe(200);
    const afterLeave = await heartbeat(room, holder.pass!);
    expect(afterLeave.status).toBe(409);
    expect((await afterLeave.json<ErrorJson>()).error.code).toBe("seat_ended");

    // A listener whose seat expired presents an expired pass.
    const room2 = roomName("lease-ended-exp");
    const other = await oneSeatTwoListeners(room2);
    t.clock.advance(PASS_TTL_MS + 1_000);
    await runDurableObjectAlarm(shardStub(room2));
    const afterExpiry = await heartbeat(room2, other.holder.pass!);
    expect(afterExpiry.status).toBe(401);
    expect((await afterExpiry.json<ErrorJson>()).error.code).toBe("token_expired");
    // The seat was not given back to the expired listener: it went to the next in line.
    const s2 = await stats(room2);
    expect(s2.active).toBe(0);
    expect(s2.called).toBe(1);
  });

  it("ends the seat of a listener who is called but never claims, so the queue does not freeze", async () => {
    const room = roomName("lease-abandon");
    await patchRoom(room, { capacity: 1 });
    const holder = (await join(room)).body;
    const ghost = (await join(room)).body;
    const third = (await join(room)).body;
    expect(third).toMatchObject({ state: "queued", position: 2 });

    // The holder leaves; the ghost is called but never polls.
    await leave(room, holder.pass!);
    await letRevocationsThrough(t.clock, room);
    await runDurableObjectAlarm(shardStub(room));
    expect((await stats(room)).called).toBe(1);

    // After the claim window the reservation lapses and the third is called.
    t.clock.advance(Number(env.CLAIM_WINDOW_SECONDS) * 1000 + 1_000);
    expect(await runDurableObjectAlarm(shardStub(room))).toBe(true);
    const s = await stats(room);
    expect(s.abandoned).toBe(1);
    // The latecomer finds its seat given to the next in line and waits rather than taking it.
    const late = await status(room, ghost.ticket!);
    expect(late.body.state).toBe("queued");
    expect(late.body.pass).toBeUndefined();
    expect((await status(room, third.ticket!)).body.state).toBe("admitted");
    expect((await stats(room)).active).toBe(1);
  });

  it("makes leave idempotent: a second leave releases nothing and the seat is freed once", async () => {
    const room = roomName("lease-leave");
    const { holder, waiter } = await oneSeatTwoListeners(room);

    const first = await leave(room, holder.pass!);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ room, left: true, released: true });
    const second = await leave(room, holder.pass!);
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ room, left: true, released: false });

    await letRevocationsThrough(t.clock, room);
    await runDurableObjectAlarm(shardStub(room));
    const third = await leave(room, holder.pass!);
    expect(third.status).toBe(200);
    expect(await third.json()).toMatchObject({ released: false });

    const s = await stats(room);
    expect(s.left).toBe(1);
    expect(s.active).toBe(0);
    expect(s.called).toBe(1);

    const next = await status(room, waiter.ticket!);
    expect(next.body.state).toBe("admitted");
    const after = await stats(room);
    expect(after.active).toBe(1);
    expect(after.admittedTotal).toBe(2);
  });

  it("refuses a given-back pass on the guarded path and does not let its ticket claim again", async () => {
    const room = roomName("lease-revoked");
    const { holder } = await oneSeatTwoListeners(room);
    const before = await call(`/rooms/${room}/live`, {
      headers: { ...bearer(holder.pass!), accept: "application/json" },
    });
    expect(before.status).toBe(200);
    expect(await before.json()).toMatchObject({ live: true });

    await leave(room, holder.pass!);
    const after = await call(`/rooms/${room}/live`, {
      headers: { ...bearer(holder.pass!), accept: "application/json" },
    });
    expect(after.status).toBe(409);
    expect((await after.json<ErrorJson>()).error.code).toBe("seat_ended");

    const reclaim = await call(`/_spillway/rooms/${room}/status`, { headers: bearer(holder.ticket!) });
    expect(reclaim.status).toBe(409);
    expect((await reclaim.json<ErrorJson>()).error.code).toBe("seat_ended");
  });
});

describe("one ticket, one listener", () => {
  it("moves the seat to a second device: the first device's pass is refused, and the second gets the seat once no edge can honour the first", async () => {
    const room = roomName("two-devices");
    await patchRoom(room, { capacity: 1 });
    const first = (await join(room)).body;
    expect(first.state).toBe("admitted");
    const firstSid = passClaims(first.pass!).sid;

    // The same ticket on another device: the seat moves there, but not at once.
    const second = (await status(room, first.ticket!)).body;
    expect(second).toMatchObject({ state: "queued", position: 1 });
    expect(second.pass).toBeUndefined();
    // The first device's pass no longer renews, and past the edge's cached view it is refused.
    const beat = await heartbeat(room, first.pass!);
    expect(beat.status).toBe(409);
    expect((await beat.json<ErrorJson>()).error).toMatchObject({ code: "seat_ended", reason: "moved" });
    advance(t.clock, VIEW_TTL_MS + 100);
    const refused = await call(`/rooms/${room}/live`, {
      headers: { ...bearer(first.pass!), accept: "application/json" },
    });
    expect(refused.status).toBe(409);
    expect((await refused.json<ErrorJson>()).error.code).toBe("seat_ended");
    // Asking again changes nothing: still moving.
    expect((await status(room, first.ticket!)).body.state).toBe("queued");

    await letRevocationsThrough(t.clock, room);
    const moved = (await status(room, first.ticket!)).body;
    expect(moved.state).toBe("admitted");
    const secondSid = passClaims(moved.pass!).sid;
    expect(secondSid).not.toBe(firstSid);
    expect((await heartbeat(room, moved.pass!)).status).toBe(200);
    expect((await heartbeat(room, first.pass!)).status).toBe(409);

    // The first device, a browser, comes back with its cookies: it does not take the seat back
    // (two devices would pass it to and fro); to it the ticket is spent, and it queues anew.
    advance(t.clock, VIEW_TTL_MS + 100);
    const back = await call(`/rooms/${room}/`, {
      headers: {
        accept: "application/json",
        cookie: `${cookieName("pass", room, false)}=${first.pass}; ${cookieName("ticket", room, false)}=${first.ticket}`,
      },
    });
    const answer = await back.json<Status>();
    expect(answer).toMatchObject({ state: "queued", position: 1 });
    expect(answer.ticket).not.toBe(first.ticket);
    expect((await heartbeat(room, moved.pass!)).status).toBe(200);
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.admittedTotal).toBe(1);
  });

  it("keeps the seat on the device that polls again with its pass, however often", async () => {
    const room = roomName("same-device");
    await patchRoom(room, { capacity: 1 });
    const first = (await join(room)).body;
    const sid = passClaims(first.pass!).sid;
    const again = await Promise.all(Array.from({ length: 10 }, () => statusHolding(room, first.ticket!, first.pass!)));
    for (const { body } of again) {
      expect(body.state).toBe("admitted");
      expect(passClaims(body.pass!).sid).toBe(sid);
    }
    expect((await heartbeat(room, first.pass!)).status).toBe(200);
  });

  it("serves at most one of five devices rotating one ticket, at every moment", async () => {
    const room = roomName("five-devices");
    await patchRoom(room, { capacity: 1 });
    const joined = (await join(room)).body;
    const ticket = joined.ticket!;
    const passes: (string | undefined)[] = [joined.pass, undefined, undefined, undefined, undefined];
    const servedOn = new Set<number>();
    for (let round = 0; round < 5 * 8; round++) {
      const turn = Math.floor(round / 8);
      // The device whose turn it is claims with the ticket (its pass along once it has one).
      const mine = passes[turn];
      const polled = mine === undefined ? await status(room, ticket) : await statusHolding(room, ticket, mine);
      if (polled.body.pass !== undefined) passes[turn] = polled.body.pass;
      // Every device keeps its pass alive and uses it.
      const served: number[] = [];
      for (let d = 0; d < passes.length; d++) {
        const pass = passes[d];
        if (pass === undefined) continue;
        const beat = await heartbeat(room, pass);
        if (beat.status === 200) passes[d] = (await beat.json<Status>()).pass;
        const res = await call(`/rooms/${room}/live`, {
          headers: { ...bearer(passes[d]!), accept: "application/json" },
        });
        await res.body?.cancel();
        if (res.status === 200) served.push(d);
      }
      expect(served.length, `round ${round}: devices ${served.join(", ")} served`).toBeLessThanOrEqual(1);
      for (const d of served) servedOn.add(d);
      advance(t.clock, 1_100);
    }
    // The seat did move along: every device had it in its turn.
    expect([...servedOn].sort()).toEqual([0, 1, 2, 3, 4]);
    expect((await stats(room)).active).toBe(1);
  });
});

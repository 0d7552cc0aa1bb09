/**
 * Repeat claims answered at the edge (src/edge/repeat-claims.ts): once a
 * ticket's turn has come, a device polling its status as fast as it can
 * costs its shard one claim per couple of seconds while the answer stands,
 * and the answer changes as soon as the room does. The device that holds the
 * seat gets the same pass again; another device waits for the pause to end;
 * a seat given back is never given again.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REPEAT_CLAIM_MS } from "../../src/edge/repeat-claims.ts";
import { passTrustMs } from "../../src/policy/pass-trust.ts";
import {
  ADMIN,
  advance,
  call,
  heartbeat,
  join,
  leave,
  letRevocationsThrough,
  passClaims,
  patchRoom,
  roomName,
  stats,
  status,
  statusHolding,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

/** Claims the room's shards have served so far. */
async function claims(room: string): Promise<number> {
  return (await stats(room)).doCalls.claim ?? 0;
}

/** A listener seated at once in a room of one seat: its ticket and pass. */
async function seated(prefix: string): Promise<{ room: string; ticket: string; pass: string }> {
  const room = roomName(prefix);
  await patchRoom(room, { capacity: 1 });
  const first = (await join(room)).body;
  expect(first.state).toBe("admitted");
  return { room, ticket: first.ticket!, pass: first.pass! };
}

/** ops release of the seat `pass` names (an origin's "participant left"). */
function release(room: string, pass: string): Promise<Response> {
  return call(`/_spillway/admin/rooms/${room}/release`, {
    method: "POST",
    headers: { authorization: ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ pass }),
  });
}

describe("a called ticket polled as fast as it can be", () => {
  it("costs one claim while the seat is moving, then claims again once the pause is over", async () => {
    const { room, ticket } = await seated("repeat-claims");
    const before = await claims(room);

    // Another device polls with the ticket alone: its first claim moves the seat; the rest wait.
    for (let i = 0; i < 20; i++) {
      const { body } = await status(room, ticket);
      expect(body.state).toBe("queued");
    }
    expect((await claims(room)) - before).toBe(1);

    // After the pause, one more claim; once the move is confirmed the seat is this device's.
    advance(t.clock, REPEAT_CLAIM_MS);
    expect((await status(room, ticket)).body.state).toBe("queued");
    expect((await claims(room)) - before).toBe(2);
    await letRevocationsThrough(t.clock, room);
    advance(t.clock, REPEAT_CLAIM_MS);
    const seatedNow = (await status(room, ticket)).body;
    expect(seatedNow.state).toBe("admitted");
    expect(seatedNow.pass).toBeTruthy();
  });

  it("from the device that holds the seat costs one claim, and gets the same pass each time", async () => {
    const { room, ticket, pass } = await seated("repeat-seat");
    const before = await claims(room);
    const given = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { res, body } = await statusHolding(room, ticket, pass);
      expect(body.state).toBe("admitted");
      given.add(body.pass!);
      // The cookie set is the pass in the body.
      expect(res.headers.get("set-cookie") ?? "").toContain(body.pass!);
    }
    expect((await claims(room)) - before).toBe(1);
    expect(given.size).toBe(1);
    const again = passClaims([...given][0]!);
    expect(again.sid).toBe(passClaims(pass).sid);
    expect(again.exp).toBe(passClaims(pass).exp);
    const after = await stats(room);
    expect(after.active).toBe(1);
    expect(after.peakConcurrent).toBe(1);
    expect(after.admittedTotal).toBe(1);

    // Once the pause is over, the shard is asked again.
    advance(t.clock, REPEAT_CLAIM_MS);
    expect((await statusHolding(room, ticket, pass)).body.state).toBe("admitted");
    expect((await claims(room)) - before).toBe(2);
  });

  it.each([
    ["a leave from that device", (room: string, pass: string) => leave(room, pass)],
    ["an ops release", release],
  ])("never gives a seat again after %s: the next poll asks the shard", async (_, giveBack) => {
    const { room, ticket, pass } = await seated("repeat-left");
    const remembered = (await statusHolding(room, ticket, pass)).body.pass!;
    expect((await statusHolding(room, ticket, pass)).body.pass).toBe(remembered);
    const before = await claims(room);

    expect((await giveBack(room, remembered)).status).toBe(200);
    const { res, body } = await statusHolding(room, ticket, remembered);
    expect(body.state).toBeUndefined();
    expect(res.status).toBe(409);
    expect((await claims(room)) - before).toBe(1);
  });

  it("asks the shard again once the pass it carried is due for renewal, and after a renewal", async () => {
    const { room, ticket, pass } = await seated("repeat-renew");
    const ttlMs = Number(env.PASS_TTL_SECONDS) * 1000;
    const expiresAt = passClaims(pass).exp * 1000;
    // Just young enough to be given again: more than half its life left.
    advance(t.clock, expiresAt - passTrustMs(ttlMs) - 600 - t.clock.now());
    await statusHolding(room, ticket, pass);
    const before = await claims(room);
    expect((await statusHolding(room, ticket, pass)).body.state).toBe("admitted");
    expect((await claims(room)) - before).toBe(0);
    // Half its life gone: its shard answers each time until it is renewed.
    t.clock.advance(600);
    expect((await statusHolding(room, ticket, pass)).body.state).toBe("admitted");
    expect((await statusHolding(room, ticket, pass)).body.state).toBe("admitted");
    expect((await claims(room)) - before).toBe(2);

    const renewed = await heartbeat(room, pass);
    expect(renewed.status).toBe(200);
    const newPass = (await renewed.json<{ pass: string }>()).pass;
    const next = (await statusHolding(room, ticket, newPass)).body;
    expect(passClaims(next.pass!).exp).toBe(passClaims(newPass).exp);
    expect((await statusHolding(room, ticket, newPass)).body.pass).toBe(next.pass);
    expect((await claims(room)) - before).toBe(3);
  });

  it("from another device costs one claim per pause, and never moves the seat within it", async () => {
    const { room, ticket, pass } = await seated("repeat-other");
    const held = (await statusHolding(room, ticket, pass)).body.pass!;
    const before = await claims(room);

    // Another device (the ticket alone) within the pause: try again shortly, no claim, the seat stays.
    for (let i = 0; i < 20; i++) {
      const { body } = await status(room, ticket);
      expect(body.state).toBe("queued");
      expect(body.position).toBe(1);
      expect(body.pollAfterSeconds).toBeLessThanOrEqual(Math.ceil(REPEAT_CLAIM_MS / 1000));
    }
    expect((await claims(room)) - before).toBe(0);
    expect((await statusHolding(room, ticket, held)).body.pass).toBe(held);

    // After the pause: 20 more polls, one claim (it moves the seat), and the seat counted once.
    advance(t.clock, REPEAT_CLAIM_MS);
    for (let i = 0; i < 20; i++) expect((await status(room, ticket)).body.state).toBe("queued");
    expect((await claims(room)) - before).toBe(1);
    // The device it moved from is told to try again shortly too, then that its seat is gone.
    expect((await statusHolding(room, ticket, held)).body.state).toBe("queued");
    expect((await claims(room)) - before).toBe(1);
    await letRevocationsThrough(t.clock, room);
    expect((await statusHolding(room, ticket, held)).res.status).toBe(409);
    advance(t.clock, REPEAT_CLAIM_MS);
    const moved = (await status(room, ticket)).body;
    expect(moved.state).toBe("admitted");
    expect(passClaims(moved.pass!).sid).not.toBe(passClaims(held).sid);
    const after = await stats(room);
    expect(after.active).toBe(1);
    expect(after.peakConcurrent).toBe(1);
  });
});

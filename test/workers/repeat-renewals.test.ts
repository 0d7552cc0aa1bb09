/**
 * Repeat renewals answered at the edge (src/edge/repeat-renewals.ts): a pass
 * presented for renewal as fast as it can be — heartbeats sent in a loop, or
 * a player that keeps fetching with a pass past half its life — costs its
 * seat's shard one renewal per couple of seconds, and each request gets the
 * pass that renewal signed. A seat given back is never renewed again, and a
 * seat that ended is told so with its reason. A leave repeated costs its
 * shard nothing more once the seat was given back through the isolate.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { REPEAT_RENEWAL_MS } from "../../src/edge/repeat-renewals.ts";
import { passTrustMs } from "../../src/policy/pass-trust.ts";
import {
  advance,
  bearer,
  call,
  type ErrorJson,
  heartbeat,
  join,
  leave,
  passClaims,
  patchRoom,
  roomName,
  stats,
  status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

/** Renewals the room's shards have served so far. */
async function renewals(room: string): Promise<number> {
  return (await stats(room)).doCalls.renew ?? 0;
}

/** A listener seated at once: its ticket and pass. */
async function seated(prefix: string, capacity = 5): Promise<{ room: string; ticket: string; pass: string }> {
  const room = roomName(prefix);
  await patchRoom(room, { capacity });
  const first = (await join(room)).body;
  expect(first.state).toBe("admitted");
  return { room, ticket: first.ticket!, pass: first.pass! };
}

/** The pass a heartbeat answered with (200 expected). */
async function renewedBy(room: string, pass: string): Promise<string> {
  const res = await heartbeat(room, pass);
  expect(res.status).toBe(200);
  return (await res.json<{ pass: string }>()).pass;
}

describe("a pass presented for renewal as fast as it can be", () => {
  it("by heartbeats costs one renewal per pause, each answered with the pass it signed", async () => {
    const { room, pass } = await seated("renew-beats");
    advance(t.clock, 1_000);
    const before = await renewals(room);
    const given = new Set<string>();
    for (let i = 0; i < 20; i++) given.add(await renewedBy(room, pass));
    expect((await renewals(room)) - before).toBe(1);
    expect(given.size).toBe(1);
    const first = passClaims([...given][0]!);
    expect(first.sid).toBe(passClaims(pass).sid);
    expect(first.exp).toBeGreaterThan(passClaims(pass).exp);
    // The renewed pass presented in turn: the same answer, still no call.
    expect(await renewedBy(room, [...given][0]!)).toBe([...given][0]);
    expect((await renewals(room)) - before).toBe(1);

    // Once the pause is over the shard is asked again, and its lease runs on from now.
    advance(t.clock, REPEAT_RENEWAL_MS);
    const next = passClaims(await renewedBy(room, pass));
    expect((await renewals(room)) - before).toBe(2);
    expect(next.exp).toBe(first.exp + REPEAT_RENEWAL_MS / 1000);
    const after = await stats(room);
    expect(after.active).toBe(1);
    expect(after.admittedTotal).toBe(1);
  });

  it("at once costs one renewal: the others wait for its answer instead of calling too", async () => {
    const { room, pass } = await seated("renew-burst");
    const before = await renewals(room);
    const answers = await Promise.all(Array.from({ length: 8 }, () => renewedBy(room, pass)));
    expect(new Set(answers).size).toBe(1);
    expect((await renewals(room)) - before).toBe(1);
  });

  it("to the origin, past half its life, renews once per pause and hands each request the renewed pass", async () => {
    const { room, pass } = await seated("renew-origin");
    // Half its life gone: each request with it renews on the way.
    advance(t.clock, passClaims(pass).exp * 1000 - passTrustMs(PASS_TTL_MS) + 100 - t.clock.now());
    const before = await renewals(room);
    const cookies = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await call(`/rooms/${room}/notes/today`, { headers: bearer(pass) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const cookie = /spillway-pass-[^=]+=([^;]+)/.exec(res.headers.get("set-cookie") ?? "");
      expect(cookie).not.toBeNull();
      cookies.add(cookie![1]!);
    }
    expect((await renewals(room)) - before).toBe(1);
    expect(cookies.size).toBe(1);
    const renewed = passClaims([...cookies][0]!);
    expect(renewed.sid).toBe(passClaims(pass).sid);
    expect(renewed.exp).toBeGreaterThan(passClaims(pass).exp);

    advance(t.clock, REPEAT_RENEWAL_MS);
    const res = await call(`/rooms/${room}/notes/today`, { headers: bearer(pass) });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect((await renewals(room)) - before).toBe(2);
  });

  it("never renews a seat given back, within the pause too", async () => {
    const { room, pass } = await seated("renew-left");
    const renewed = await renewedBy(room, pass);
    expect((await leave(room, renewed)).status).toBe(200);
    const before = await renewals(room);
    for (const presented of [pass, renewed, pass]) {
      const res = await heartbeat(room, presented);
      expect(res.status).toBe(409);
      expect((await res.json<ErrorJson>()).error.code).toBe("seat_ended");
    }
    // The shard said so once; the rest were told so here.
    expect((await renewals(room)) - before).toBe(1);
  });

  it("tells a device whose seat moved so, with the reason, at one renewal per pause", async () => {
    const { room, ticket, pass } = await seated("renew-moved", 1);
    // The same ticket on another device: the seat moves there.
    expect((await status(room, ticket)).body.state).toBe("queued");
    const before = await renewals(room);
    for (let i = 0; i < 10; i++) {
      const res = await heartbeat(room, pass);
      expect(res.status).toBe(409);
      expect((await res.json<ErrorJson>()).error).toMatchObject({ code: "seat_ended", reason: "moved" });
    }
    expect((await renewals(room)) - before).toBe(1);
  });
});

describe("a leave repeated as fast as it can be", () => {
  /** Leaves the room's shards have served so far. */
  const leaves = async (room: string) => (await stats(room)).doCalls.leave ?? 0;

  it("is one call to the shard: it released the seat, the rest had nothing to release", async () => {
    const { room, pass } = await seated("leave-again");
    const before = await leaves(room);
    const released: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await leave(room, pass);
      expect(res.status).toBe(200);
      const body = await res.json<{ left: boolean; released: boolean }>();
      expect(body.left).toBe(true);
      released.push(body.released);
    }
    expect(released).toEqual([true, ...Array.from({ length: 9 }, () => false)]);
    expect((await leaves(room)) - before).toBe(1);
    // The seat is gone for good: its pass renews nothing.
    expect((await heartbeat(room, pass)).status).toBe(409);
  });

  it("reads the room's view again after the first leave only", async () => {
    const { room, pass } = await seated("leave-view", 1);
    const waiting = (await join(room)).body;
    expect(waiting.state).toBe("queued");
    const views = async () => (await stats(room)).doCalls.view ?? 0;
    const poll = async () => expect((await status(room, waiting.ticket!)).res.status).toBe(200);
    await poll();
    const before = await views();
    // The first leave: this isolate's view is read again at the next request that needs it.
    expect((await leave(room, pass)).status).toBe(200);
    await poll();
    const afterFirst = await views();
    expect(afterFirst - before).toBe(1);
    // A repeat: the view lists the seat already, and is not read again for it.
    expect((await leave(room, pass)).status).toBe(200);
    await poll();
    expect((await views()) - afterFirst).toBe(0);
  });

  it("of one seat leaves another seat's leave to its shard", async () => {
    const { room, pass } = await seated("leave-other");
    const other = (await join(room)).body;
    expect(other.state).toBe("admitted");
    const before = await leaves(room);
    expect((await leave(room, pass)).status).toBe(200);
    expect((await leave(room, other.pass!)).status).toBe(200);
    expect((await leaves(room)) - before).toBe(2);
    expect((await heartbeat(room, other.pass!)).status).toBe(409);
  });
});

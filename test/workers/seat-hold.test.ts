/**
 * The shard's side of held connections (RoomShard.hold / letGo), inside
 * workerd: a round renews the lease, a leave or a newer device answers the
 * pending round at once with why, a claim that moves the seat waits for the
 * older device's connection to let go, and a lease that lapsed ends its
 * holders when the alarm runs.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HoldAnswer } from "../../src/objects/seat-holds.ts";
import {
  advance,
  type ErrorJson,
  heartbeat,
  join,
  leave,
  passClaims,
  patchRoom,
  roomName,
  shardStub,
  status,
  useManualClock,
  letRevocationsThrough,
} from "./helpers.ts";

const t = useManualClock();
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

/** An admitted listener of a fresh one-seat room, with its pass's claims. */
async function seated(prefix: string) {
  const room = roomName(prefix);
  await patchRoom(room, { capacity: 1 });
  const body = (await join(room)).body;
  expect(body.state).toBe("admitted");
  const claims = passClaims(body.pass!);
  return { room, body, claims, shard: shardStub(room, claims.shard) };
}

function holdOf(
  s: Awaited<ReturnType<typeof seated>>,
  holder: string,
  waitMs: number,
  gen = s.claims.gen,
  live: string | null = null,
) {
  const { room, claims } = s;
  return s.shard.hold(room, claims.shard, claims.sid, claims.sub, gen, holder, waitMs, live) as Promise<HoldAnswer>;
}

/** The path of the live connections here. */
const MOUNT = "/rooms/live/stream.mp3";

/** Until the shard holds `n` connections (a call registers once its renewal is committed). */
async function registered(s: Awaited<ReturnType<typeof seated>>, n: number): Promise<void> {
  for (let i = 0; i < 100 && (await s.shard.holders()) !== n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(await s.shard.holders()).toBe(n);
}

describe("RoomShard.hold", () => {
  it("renews the lease: a held seat outlives its pass lifetime without a heartbeat", async () => {
    const s = await seated("hold-renew");
    for (let i = 0; i < 3; i++) {
      advance(t.clock, PASS_TTL_MS - 5_000);
      const answer = await holdOf(s, "conn", 0);
      expect(answer).toEqual({ kind: "held", expiresAt: t.clock.now() + PASS_TTL_MS });
    }
    // Past the first pass's lifetime three times over, the seat is still this listener's.
    expect((await join(s.room)).body.state).toBe("queued");
  });

  it("a held seat can be given back with a pass past its exp (the hostile corpus: a forged one cannot)", async () => {
    const s = await seated("hold-late-leave");
    advance(t.clock, PASS_TTL_MS - 5_000);
    expect((await holdOf(s, "conn", 0)).kind).toBe("held");
    advance(t.clock, 10_000);
    // The pass has expired; the seat, renewed by its stream, has not.
    expect(s.claims.exp * 1000).toBeLessThan(t.clock.now());
    expect((await heartbeat(s.room, s.body.pass!)).status).toBe(401);
    const round = holdOf(s, "conn", 60_000);
    const res = await leave(s.room, s.body.pass!);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ released: true });
    expect(await round).toEqual({ kind: "ended", reason: "left" });
  });

  it("answers a pending round at once when the seat is given back", async () => {
    const s = await seated("hold-leave");
    const round = holdOf(s, "conn", 60_000);
    expect((await leave(s.room, s.body.pass!)).status).toBe(200);
    expect(await round).toEqual({ kind: "ended", reason: "left" });
    expect(await holdOf(s, "conn", 0)).toEqual({ kind: "ended", reason: "left" });
  });

  it("a claim from another device ends the older device's round at once; the claim that takes the moved seat answers once it let go", async () => {
    const s = await seated("hold-moved");
    const round = holdOf(s, "phone", 60_000);
    const order: string[] = [];
    let letGo: () => Promise<void> = async () => undefined;
    const ended = round.then((answer) => {
      order.push(`phone:${answer.kind === "ended" ? answer.reason : answer.kind}`);
      letGo = async () => {
        order.push("phone let go");
        await s.shard.letGo(s.room, s.claims.shard, s.claims.sid, "phone");
      };
    });
    // The laptop claims with the ticket: the phone's round ends now; the seat is the laptop's later.
    const moving = await status(s.room, s.body.ticket!);
    expect(moving.body.state).toBe("queued");
    await ended;
    expect(order).toEqual(["phone:moved"]);
    // (Another connection of the phone's pass: refused. The phone's own stays open for now.)
    expect(await holdOf(s, "tablet", 0)).toEqual({ kind: "ended", reason: "moved" });

    await letRevocationsThrough(t.clock, s.room);
    // The phone's connection is still open: the claim taking the seat waits for it.
    const taking = status(s.room, s.body.ticket!).then((answer) => {
      order.push("claim answered");
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await letGo();
    const moved = await taking;
    expect(order).toEqual(["phone:moved", "phone let go", "claim answered"]);
    expect(moved.body.state).toBe("admitted");
    const newer = passClaims(moved.body.pass!);
    expect(newer.sid).not.toBe(s.claims.sid);
    expect(newer.gen).toBe(s.claims.gen + 1);
    expect(
      await shardStub(s.room).hold(s.room, newer.shard, newer.sid, newer.sub, newer.gen, "laptop", 0),
    ).toMatchObject({
      kind: "held",
    });
  });

  it("one seat, one live connection: a newer one replaces the older, and is held once the older let go", async () => {
    const s = await seated("hold-live");
    const stream = holdOf(s, "stream", 60_000, s.claims.gen, MOUNT);
    const segment = holdOf(s, "segment", 60_000);
    await registered(s, 2);
    const order: string[] = [];
    const replaced = stream.then((answer) => order.push(`stream:${answer.kind}`));
    const newer = holdOf(s, "reconnect", 0, s.claims.gen, MOUNT).then((answer) => {
      order.push(`reconnect:${answer.kind}`);
      return answer;
    });
    await replaced;
    // Calling again before it let go, the replaced one is told so.
    expect(await holdOf(s, "stream", 60_000, s.claims.gen, MOUNT)).toEqual({ kind: "replaced" });
    // The newer connection is answered (and so goes to the origin) only once the older one let go.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual(["stream:replaced"]);
    order.push("stream let go");
    await s.shard.letGo(s.room, s.claims.shard, s.claims.sid, "stream");
    expect(await newer).toMatchObject({ kind: "held" });
    expect(order).toEqual(["stream:replaced", "stream let go", "reconnect:held"]);
    // The newer one and the answer of known length are held (it was left alone); the seat goes on.
    expect(await s.shard.holders()).toBe(2);
    expect((await join(s.room)).body.state).toBe("queued");
    expect((await leave(s.room, s.body.pass!)).status).toBe(200);
    expect(await segment).toEqual({ kind: "ended", reason: "left" });
  });

  it("of live connections asking at once only the newest is held; the others are `replaced` before any is", async () => {
    const s = await seated("hold-live-burst");
    const asks = ["a", "b", "c"].map((id) => holdOf(s, id, 0, s.claims.gen, MOUNT));
    const answers = await Promise.all(asks);
    // Whichever way their calls interleave, only the last to ask stands (each earlier one was replaced
    // before it was held, or once a newer one asked; none of them waits for one that never was).
    expect(answers.filter((a) => a.kind === "held")).toHaveLength(1);
    expect(answers.at(-1)).toMatchObject({ kind: "held" });
    expect(answers.slice(0, -1)).toEqual([{ kind: "replaced" }, { kind: "replaced" }]);
  });

  it("ends the holders of a lease that lapsed when the alarm runs", async () => {
    const s = await seated("hold-lapse");
    expect((await holdOf(s, "conn", 0)).kind).toBe("held");
    const round = holdOf(s, "conn", 60_000);
    advance(t.clock, PASS_TTL_MS + 1);
    expect(await runDurableObjectAlarm(s.shard)).toBe(true);
    expect(await round).toEqual({ kind: "ended", reason: "lapsed" });
    expect(await s.shard.holders()).toBe(0);
  });

  it("a heartbeat of an older generation says the seat moved", async () => {
    const s = await seated("hold-reason");
    await status(s.room, s.body.ticket!);
    const res = await heartbeat(s.room, s.body.pass!);
    expect(res.status).toBe(409);
    expect((await res.json<ErrorJson & { error: { reason?: string } }>()).error).toMatchObject({
      code: "seat_ended",
      reason: "moved",
    });
  });
});

/**
 * When the room is full: modes, the prequeue and a fair start, overflow by
 * maxQueue and maxWaitSeconds, the recording link, a smaller live audience,
 * and an origin that says it is struggling.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { rankOf } from "../../src/policy/shuffle.ts";
import {
  advance,
  bearer,
  call,
  callWith,
  getConfig,
  heartbeat,
  join,
  leave,
  patchRoom,
  roomName,
  stats,
  type Status,
  useManualClock,
  letRevocationsThrough,
} from "./helpers.ts";

const t = useManualClock();

/** Time passes without dropping the isolate's cached view: edges see changes as they would live. */
function wait(ms: number): void {
  t.clock.advance(ms);
}

async function poll(room: string, token: string, query = ""): Promise<Status> {
  const res = await call(`/_spillway/rooms/${room}/status${query}`, { headers: bearer(token) });
  expect(res.status).toBe(200);
  return res.json<Status>();
}

async function joinWith(room: string, query: string): Promise<Status> {
  const res = await call(`/_spillway/rooms/${room}/join${query}`, { method: "POST" });
  expect(res.status).toBe(200);
  return res.json<Status>();
}

describe("modes", () => {
  it("goes open → hold → overflow → closed → open, each seen by the next poll within 2 s", async () => {
    const room = roomName("modes");
    await patchRoom(room, { capacity: 1 });
    const a = (await join(room)).body;
    expect(a.state).toBe("admitted");
    const b = (await join(room)).body;
    expect(b.state).toBe("queued");

    // hold: nobody is admitted, even when a seat frees up.
    await patchRoom(room, { mode: "hold" });
    wait(2_000);
    expect((await leave(room, a.pass!)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    expect((await poll(room, b.ticket!)).state).toBe("queued");
    expect((await join(room)).body.state).toBe("queued");

    // overflow: those in line go on; new arrivals are offered the recording.
    await patchRoom(room, { mode: "overflow" });
    wait(2_000);
    const late = (await join(room)).body;
    expect(late.state).toBe("overflow");
    expect(late.offer).toEqual({ reason: "mode", canKeepPlace: true });
    expect(late.ticket).toBeUndefined();
    expect(late.overflowToken).toBeTypeOf("string");
    wait(2_000);
    expect((await poll(room, b.ticket!)).state).toBe("admitted");

    // closed: every poll says so, with the recording once it is set.
    await patchRoom(room, { mode: "closed", recordingUrl: "https://example.com/recording" });
    wait(2_000);
    for (const token of [b.ticket!, late.overflowToken!]) {
      const s = await poll(room, token);
      expect(s.state).toBe("closed");
      expect(s.recordingUrl).toBe("https://example.com/recording");
    }
    expect((await join(room)).body.state).toBe("closed");

    // open again: arrivals join.
    await patchRoom(room, { mode: "open" });
    wait(2_000);
    expect(["queued", "admitted"]).toContain((await join(room)).body.state);
  });
});

describe("every mode transition", () => {
  const MODES = ["open", "hold", "overflow", "closed"] as const;
  /** What a new arrival gets in each mode, in a room with free seats. */
  const ARRIVAL: Record<(typeof MODES)[number], string> = {
    open: "admitted",
    hold: "queued",
    overflow: "overflow",
    closed: "closed",
  };
  const pairs = MODES.flatMap((from) => MODES.filter((to) => to !== from).map((to) => [from, to] as const));

  it.each(pairs)("%s → %s: the next arrival and the next poll see the new mode within 2 s", async (from, to) => {
    const room = roomName(`${from}-${to}`);
    await patchRoom(room, { capacity: 100, mode: from });
    wait(2_000);
    expect((await join(room)).body.state).toBe(ARRIVAL[from]);
    // Someone waiting in line (a hold room's arrival) polls across the change.
    await patchRoom(room, { mode: "hold" });
    wait(2_000);
    const inLine = (await join(room)).body;
    await patchRoom(room, { mode: from });
    wait(2_000);
    await patchRoom(room, { mode: to });
    wait(2_000);
    expect((await join(room)).body.state).toBe(ARRIVAL[to]);
    const polled = (await poll(room, inLine.ticket!)).state;
    // Those in line are admitted in open and overflow, wait in hold, and are told in closed.
    expect(polled).toBe({ open: "admitted", hold: "queued", overflow: "admitted", closed: "closed" }[to]);
  });
});

describe("prequeue and a fair start", () => {
  it("answers prequeue with startsAt before the start, and admits in arrival order at it", async () => {
    const room = roomName("preq");
    const startsAt = new Date(t.clock.now() + 60_000).toISOString();
    await patchRoom(room, { capacity: 10, startsAt });
    const early = [];
    for (let k = 0; k < 3; k++) {
      const s = (await join(room)).body;
      expect(s.state).toBe("prequeue");
      expect(s.startsAt).toBe(startsAt);
      expect(s.etaSeconds).toBeLessThanOrEqual(60);
      early.push(s);
      wait(1_000);
    }
    expect((await poll(room, early[0]!.ticket!)).state).toBe("prequeue");
    advance(t.clock, 60_000);
    for (const s of early) expect((await poll(room, s.ticket!)).state).toBe("admitted");
  });

  it("with shuffleAtStart, admits the prequeue in the order its recorded seed draws, later arrivals behind", async () => {
    const room = roomName("shuffle");
    const startsAt = new Date(t.clock.now() + 60_000).toISOString();
    const state = await patchRoom(room, { capacity: 1, startsAt, shuffleAtStart: true });
    expect(state.shuffleSeed).toBeTypeOf("number");
    const tickets: { ticket: string; seq: number }[] = [];
    for (let k = 0; k < 6; k++) {
      const s = (await join(room)).body;
      const seq = (JSON.parse(atob(s.ticket!.split(".")[1]!)) as { seq: number }).seq;
      tickets.push({ ticket: s.ticket!, seq });
    }
    advance(t.clock, 61_000);
    const later = (await join(room)).body;
    expect(later.state).toBe("queued");

    // One seat: admit one at a time, each leaving before the next.
    const order: number[] = [];
    for (let round = 0; round < 40 && order.length < tickets.length; round++) {
      for (const l of tickets) {
        if (order.includes(l.seq)) continue;
        const s = await poll(room, l.ticket);
        if (s.state === "admitted") {
          order.push(l.seq);
          expect((await leave(room, s.pass!)).status).toBe(200);
        }
      }
      await letRevocationsThrough(t.clock, room);
    }
    expect(order.length).toBe(6);
    // The draw, redone from the recorded seed (one shard: shard 0's seed is the room's).
    const seed = (await getConfig(room)).shuffleSeed!;
    const draw = { seed, from: 0, to: 6 };
    const expected = [...tickets].sort((x, y) => rankOf(x.seq, draw) - rankOf(y.seq, draw)).map((l) => l.seq);
    expect(order).toEqual(expected);
    expect(order).not.toEqual([1, 2, 3, 4, 5, 6]);
    // The later arrival was not admitted before the prequeue.
    expect((await poll(room, later.ticket!)).state).toBe("admitted");
  });
});

describe("overflow", () => {
  it("offers the recording with no place beyond maxQueue, and the link once ops post it", async () => {
    const room = roomName("maxq");
    await patchRoom(room, { capacity: 1, maxQueue: 1 });
    expect((await join(room)).body.state).toBe("admitted");
    expect((await join(room)).body.state).toBe("queued");
    wait(1_100);
    const over = (await join(room)).body;
    expect(over.state).toBe("overflow");
    expect(over.offer).toEqual({ reason: "max_queue", canKeepPlace: false });
    expect(over.recordingUrl).toBeNull();
    // Keeping a place is refused: the queue is full.
    expect((await joinWith(room, "?keep=1")).state).toBe("overflow");
    const before = await stats(room);
    expect(before.joined).toBe(2);

    await patchRoom(room, { recordingUrl: "https://example.com/r1" });
    wait(2_000);
    const later = await poll(room, over.overflowToken!);
    expect(later.state).toBe("overflow");
    expect(later.recordingUrl).toBe("https://example.com/r1");
    expect((await stats(room)).joined).toBe(2);
  });

  it("offers it when the wait would exceed maxWaitSeconds, and lets the listener keep a place instead", async () => {
    const room = roomName("maxw");
    await patchRoom(room, { capacity: 1, maxWaitSeconds: 60 });
    const seated = (await join(room)).body;
    expect(seated.state).toBe("admitted");
    wait(1_100);
    // The room is full and admits nobody: no end to the wait in sight.
    const offered = (await join(room)).body;
    expect(offered.state).toBe("overflow");
    expect(offered.offer).toEqual({ reason: "max_wait", canKeepPlace: true });
    const kept = await joinWith(room, "?keep=1");
    expect(kept.state).toBe("queued");
    expect(kept.ticket).toBeTypeOf("string");
    // In line, its polls offer the recording again, unless it says it keeps its place.
    expect((await poll(room, kept.ticket!)).state).toBe("overflow");
    expect((await poll(room, kept.ticket!, "?keep=1")).state).toBe("queued");
    // A seat frees up: the one who kept its place is admitted.
    expect((await leave(room, seated.pass!)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    expect((await poll(room, kept.ticket!, "?keep=1")).state).toBe("admitted");
  });
});

describe("a smaller live audience", () => {
  it("lowering capacity evicts nobody: passes keep renewing, and nobody new is admitted until the audience drains", async () => {
    const room = roomName("shrink");
    await patchRoom(room, { capacity: 3 });
    const seated = [];
    for (let k = 0; k < 3; k++) seated.push((await join(room)).body);
    expect(seated.every((s) => s.state === "admitted")).toBe(true);
    const waiting = (await join(room)).body;
    expect(waiting.state).toBe("queued");

    await patchRoom(room, { capacity: 1 });
    advance(t.clock, 2_000);
    for (const s of seated) expect((await heartbeat(room, s.pass!)).status).toBe(200);
    expect((await stats(room)).active).toBe(3);

    // Two leave: still at the new capacity, nobody new comes in.
    expect((await leave(room, seated[0]!.pass!)).status).toBe(200);
    expect((await leave(room, seated[1]!.pass!)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    expect((await poll(room, waiting.ticket!)).state).toBe("queued");
    // The last one leaves: the room is below capacity, the next is admitted.
    expect((await leave(room, seated[2]!.pass!)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    expect((await poll(room, waiting.ticket!)).state).toBe("admitted");
  });
});

describe("an origin that says it is struggling", () => {
  afterEach(() => vi.restoreAllMocks());

  it("lowers the effective admission rate and capacity on 503s, and recovers once the origin is healthy", async () => {
    const room = roomName("melt");
    await patchRoom(room, { capacity: 100, admitPerMinute: 600 });
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");
    const ORIGIN = { ORIGIN_URL: "http://origin.test" };
    let answer = 503;
    const fetchSpy = vi
      .spyOn(globalThis, "fetch")
      .mockImplementation(async () => new Response("busy", { status: answer }));

    const res = await callWith(ORIGIN, `/rooms/${room}/stream`, { headers: bearer(listener.pass!) });
    expect(res.status).toBe(503);
    expect(fetchSpy).toHaveBeenCalled();
    const cut = await stats(room);
    expect(cut.admitPerMinute).toBe(600);
    expect(cut.effectiveAdmitPerMinute).toBeLessThan(600);
    expect(cut.effectiveCapacity).toBeLessThan(100);
    expect(cut.origin.distress).toBe(1);

    // Healthy answers report nothing; with no distress the limits grow back to the configured ones.
    answer = 200;
    const ok = await callWith(ORIGIN, `/rooms/${room}/stream`, { headers: bearer(listener.pass!) });
    expect(ok.status).toBe(200);
    expect((await stats(room)).effectiveAdmitPerMinute).toBe(cut.effectiveAdmitPerMinute);
    advance(t.clock, 120_000);
    const back = await stats(room);
    expect(back.effectiveAdmitPerMinute).toBe(600);
    expect(back.effectiveCapacity).toBe(100);
  });

  it("frees the seat when the origin answers Spillway-Command: release, and hides Spillway's headers", async () => {
    const room = roomName("release");
    await patchRoom(room, { capacity: 1 });
    const listener = (await join(room)).body;
    vi.spyOn(globalThis, "fetch").mockImplementation(
      async () => new Response("bye", { headers: { "spillway-command": "release", "spillway-load": "0.2" } }),
    );
    const res = await callWith({ ORIGIN_URL: "http://origin.test" }, `/rooms/${room}/stream`, {
      headers: bearer(listener.pass!),
    });
    expect(res.status).toBe(200);
    expect(res.headers.has("spillway-command")).toBe(false);
    expect(res.headers.has("spillway-load")).toBe(false);
    // The seat is given back as a leave would: the pass no longer renews.
    expect((await heartbeat(room, listener.pass!)).status).toBe(409);
    expect((await stats(room)).left).toBe(1);
  });
});

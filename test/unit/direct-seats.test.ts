/**
 * The origins' checks at a shard (src/objects/janus-seats.ts,
 * livekit-seats.ts) over a real ledger, with an origin that fails or
 * refuses: a seat is never let go while the origin may still hold its
 * credential, live seats are kept while the origin cannot say who it
 * serves, and the failure is counted with a message free of the secret.
 * The happy paths run against a real Janus and a LiveKit stand-in in
 * test/contract/{janus,livekit}-direct.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin } from "../../src/origins/janus.ts";
import {
  DROPPED_TRIES,
  JanusSeats,
  janusSeatsFor,
  newJanusToken,
  ONE_SESSION_EVERY_MS,
  seatOfJanusToken,
  TAKE_BACK_AT_ONCE,
} from "../../src/objects/janus-seats.ts";
import { liveKitIdentity, LiveKitSeats, liveKitSeatsFor, seatOfIdentity } from "../../src/objects/livekit-seats.ts";
import type { OriginLedger } from "../../src/objects/origin-checks.ts";
import type { Timings } from "../../src/policy/config.ts";
import { Ledger } from "../../src/policy/ledger.ts";
import { MemoryLedgerStore } from "../../src/policy/memory-store.ts";
import { type LiveKitStandIn, startLiveKitStandIn } from "./livekit-stand-in.ts";

/** Half a minute before the real clock: LiveKit's stand-in checks admin tokens (a minute's life) against it. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 30_000;
const PASS_TTL = 6_000;
const timings: Timings = { passTtlMs: PASS_TTL, claimWindowMs: 30_000, ticketTtlMs: 6 * 3_600_000 };
const SECRET = "janus-admin-secret-for-tests";

function world(capacity = 2) {
  let now = T0;
  let ids = 0;
  const ledger = new Ledger(
    new MemoryLedgerStore(),
    { capacity, admitPerMinute: 600, mode: "open" },
    timings,
    { newId: () => `sid-${++ids}` },
    T0,
  );
  const steps: OriginLedger = {
    leases: () => ledger.originLeases(100),
    renewListed: (sid, client) => void ledger.renewListed(sid, client, now),
    gone: (sid, client) => void ledger.originGone(sid, client, now),
    ended: (sid, client) => void ledger.originEnded(sid, client, now),
  };
  const seat = (sub: string, client: string) => {
    const out = ledger.join(sub, now);
    if (out.claim.kind !== "admitted") throw new Error("not admitted");
    const kind = client.slice(0, client.indexOf(":"));
    ledger.issueOrigin(out.claim.lease.sid, sub, 0, kind, client, now);
    return out.claim.lease.sid;
  };
  return {
    ledger,
    steps,
    seat,
    clock: () => now,
    advance: (ms: number) => (now += ms),
  };
}

/**
 * The checks of room `r`'s seats in AudioBridge room 1234, listed every
 * `roundMs`; `pause` is told each wait between listings of the room's participants.
 */
function janusSeats(
  admin: JanusAdmin,
  roundMs: number,
  now: () => number,
  pause: (ms: number) => void = () => {},
): JanusSeats {
  return new JanusSeats({
    room: "r",
    admin,
    plugin: "janus.plugin.audiobridge",
    janusRoom: "1234",
    roomSecret: null,
    roundMs,
    now,
    pause: async (ms) => pause(ms),
  });
}

/**
 * A Janus of sessions, each with a first handle (its id + 1) attached with a
 * token at a time (µs on Janus's clock) and any more handles put in `more`,
 * answering the Admin API calls the checks make; what was destroyed and
 * detached, in order, and the tokens removed.
 *
 * AudioBridge room 1234: a session put in `joined` has its first handle in
 * it as that participant. When the session is destroyed, AudioBridge goes on
 * listing the participant for `lingers` more listings (default none), as the
 * real one does while it drops it on the handle's thread. `roomGone`: the
 * room no longer exists (AudioBridge's error 485). `mostAtOnce`: the most
 * Admin API calls ever on the way at once.
 */
function stubJanus() {
  const sessions = new Map<number, { token: string; created: number }>();
  const more = new Map<number, { id: number; token: string; created: number }[]>();
  const joined = new Map<number, number>();
  const lingers = new Map<number, number>();
  const lingering = new Map<number, number>();
  const destroyed: number[] = [];
  const detached: [number, number][] = [];
  const removed: string[] = [];
  const stub = { roomGone: false, listings: 0, onWay: 0, mostAtOnce: 0 };
  const fail = (code: number, reason: string) =>
    new Response(JSON.stringify({ janus: "error", error: { code, reason } }));
  const janus = (async (input: RequestInfo | URL, init?: RequestInit) => {
    // Every call is on the way until the others made in the same turn have started too.
    stub.onWay += 1;
    stub.mostAtOnce = Math.max(stub.mostAtOnce, stub.onWay);
    await Promise.resolve();
    stub.onWay -= 1;
    return answer(input, init);
  }) as typeof fetch;
  const answer = (_input: RequestInfo | URL, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as {
      janus: string;
      transaction: string;
      token?: string;
      request?: { request: string };
    };
    const path = new URL(String(_input)).pathname
      .split("/")
      .filter((p) => /^\d+$/.test(p))
      .map(Number);
    const ok = (extra: Record<string, unknown> = {}) =>
      new Response(JSON.stringify({ janus: "success", transaction: body.transaction, ...extra }));
    if (body.janus === "list_sessions") return ok({ sessions: [...sessions.keys()] });
    if (body.janus === "remove_token") {
      removed.push(body.token!);
      return ok();
    }
    if (body.janus === "message_plugin" && body.request?.request === "listparticipants") {
      stub.listings += 1;
      if (stub.roomGone) return ok({ response: { error_code: 485, error: "No such room (1234)" } });
      const listed = [...joined].filter(([session]) => sessions.has(session)).map(([, p]) => p);
      for (const [p, left] of lingering) {
        listed.push(p);
        if (left <= 1) lingering.delete(p);
        else lingering.set(p, left - 1);
      }
      return ok({ response: { audiobridge: "participants", room: 1234, participants: listed.map((id) => ({ id })) } });
    }
    if (body.janus === "message_plugin") return ok({ response: { audiobridge: "success" } });
    const [session, handle] = [path[0]!, path[1]];
    // The session's handles: its first (unless detached) and the others, by id.
    const handles = () => {
      const s = sessions.get(session);
      if (s === undefined) return undefined;
      const first = detached.some(([d, h]) => d === session && h === session + 1) ? [] : [{ id: session + 1, ...s }];
      return [...first, ...(more.get(session) ?? [])];
    };
    if (body.janus === "list_handles") {
      const all = handles();
      return all === undefined ? fail(458, "No such session") : ok({ handles: all.map((h) => h.id) });
    }
    if (body.janus === "handle_info" || body.janus === "detach_handle") {
      const all = handles();
      if (all === undefined) return fail(458, "No such session");
      const h = all.find((x) => x.id === handle);
      if (h === undefined) return fail(459, "No such handle");
      if (body.janus === "handle_info") {
        const participant = h.id === session + 1 ? joined.get(session) : undefined;
        const state =
          participant === undefined ? {} : { plugin_specific: { state: "inroom", room: 1234, id: participant } };
        return ok({ info: { token: h.token, created: h.created, plugin: "janus.plugin.audiobridge", ...state } });
      }
      detached.push([session, h.id]);
      more.set(
        session,
        (more.get(session) ?? []).filter((x) => x.id !== h.id),
      );
      return ok();
    }
    if (body.janus === "destroy_session") {
      if (!sessions.has(session)) return fail(458, "No such session");
      destroyed.push(session);
      sessions.delete(session);
      const participant = joined.get(session);
      if (participant !== undefined && (lingers.get(session) ?? 0) > 0)
        lingering.set(participant, lingers.get(session)!);
      joined.delete(session);
      return ok();
    }
    return ok();
  };
  const admin = new JanusAdmin({ url: "http://janus.test/admin", adminSecret: SECRET, fetch: janus });
  return { sessions, more, joined, lingers, destroyed, detached, removed, stub, admin };
}

/** The seats of a world still held at the origin (live, or ended and waiting to be let go), in order. */
const held = (w: ReturnType<typeof world>) =>
  w.ledger
    .originLeases(100)
    .map((l) => l.sid)
    .sort();

/**
 * Seats a and b of a new world, each with its session in a stub Janus (100
 * and 200) and that session's participant in AudioBridge room 1234 (7001 and
 * 7002), listed once; rounds of a default pass lifetime. `pauses`: each wait
 * between listings of the room's participants.
 */
async function twoInRoom() {
  const w = world();
  const janus = stubJanus();
  const pauses: number[] = [];
  const seats = janusSeats(janus.admin, 27_000, w.clock, (ms) => pauses.push(ms));
  const a = w.seat("a", "janus:tok-a");
  const b = w.seat("b", "janus:tok-b");
  janus.sessions.set(100, { token: "tok-a", created: 1_000 });
  janus.sessions.set(200, { token: "tok-b", created: 2_000 });
  janus.joined.set(100, 7_001);
  janus.joined.set(200, 7_002);
  await seats.run(w.steps);
  return { ...janus, w, seats, a, b, pauses };
}

/** Seats a and b of a new world, each with its session in a stub Janus (100 and 200), listed once; rounds of `roundMs`. */
async function twoSeated(roundMs: number) {
  const w = world();
  const janus = stubJanus();
  const seats = janusSeats(janus.admin, roundMs, w.clock);
  const a = w.seat("a", "janus:tok-a");
  w.seat("b", "janus:tok-b");
  janus.sessions.set(100, { token: "tok-a", created: 1_000 });
  janus.sessions.set(200, { token: "tok-b", created: 2_000 });
  await seats.run(w.steps);
  return { ...janus, w, seats, a };
}

describe("Janus's checks", () => {
  it("keep every seat when the Admin API cannot be reached, and say so without the secret", async () => {
    const w = world();
    const refusing = (async () => {
      throw new TypeError(`connect ECONNREFUSED (sent ${SECRET})`);
    }) as typeof fetch;
    const admin = new JanusAdmin({ url: "http://127.0.0.1:9/admin", adminSecret: SECRET, fetch: refusing });
    const seats = janusSeats(admin, 1_000, w.clock);
    const live = w.seat("a", "janus:tok-a");
    const left = w.seat("b", "janus:tok-b");
    expect(await seats.add("tok-a")).toMatchObject({ ok: false, kind: "unreachable" });
    w.ledger.leave(left, "b", w.clock());
    // Rounds shorter than a pass, for ten pass lifetimes.
    for (let i = 0; i < 30; i += 1) {
      w.advance(PASS_TTL / 3);
      await seats.run(w.steps);
      w.ledger.settle(w.clock());
    }
    // Both seats are still taken: the live one renewed, the left one waiting for its token to be removed.
    expect(w.ledger.counters.live).toBe(2);
    expect(w.ledger.lease(live)).toMatchObject({ leftAt: null });
    expect(w.ledger.lease(left)).toMatchObject({ originClient: "janus:tok-b" });
    expect(seats.health.failures).toBeGreaterThanOrEqual(5);
    expect(seats.health.lastFailure).toMatchObject({ kind: "unreachable" });
    expect(JSON.stringify(seats.health)).not.toContain(SECRET);
  });

  it("keep one session a seat: a token's older sessions go within ONE_SESSION_EVERY_MS, not a round later", async () => {
    // A default pass lifetime's round (27 s): far longer than the one-session check.
    const { w, seats, a, sessions, destroyed } = await twoSeated(27_000);
    expect(destroyed).toEqual([]);

    // Seat a's token opens a second and a third session (a second device, then a third).
    sessions.set(300, { token: "tok-a", created: 3_000 });
    sessions.set(400, { token: "tok-a", created: 4_000 });
    w.advance(ONE_SESSION_EVERY_MS - 1);
    await seats.run(w.steps);
    expect(destroyed).toEqual([]);
    w.advance(1);
    await seats.run(w.steps);
    // Its older ones go, its newest stays; b's session is left alone, and both seats are still taken.
    expect(destroyed.sort()).toEqual([100, 300]);
    expect([...sessions.keys()].sort()).toEqual([200, 400]);
    expect(seats.health.kills).toBe(2);
    expect(w.ledger.lease(a)).toMatchObject({ leftAt: null });
    expect(w.ledger.counters.live).toBe(2);
  });

  it("keep one session a seat the moment Janus tells of an attach: the newest by Janus's clock, whatever the order told", async () => {
    // A default pass lifetime's round: only an event can act before ONE_SESSION_EVERY_MS.
    const { w, seats, sessions, destroyed } = await twoSeated(27_000);
    // A second session of a's token attaches: the older goes at once, with no time passing.
    sessions.set(300, { token: "tok-a", created: 3_000 });
    expect(await seats.attached("tok-a", 300, 301)).toBe(1);
    expect(destroyed).toEqual([100]);
    // Two more, told out of order: the later-told but older one is the one destroyed.
    sessions.set(500, { token: "tok-a", created: 5_000 });
    sessions.set(400, { token: "tok-a", created: 4_000 });
    expect(await seats.attached("tok-a", 500, 501)).toBe(1);
    expect(await seats.attached("tok-a", 400, 401)).toBe(1);
    expect(destroyed).toEqual([100, 300, 400]);
    expect([...sessions.keys()].sort()).toEqual([200, 500]);
    // An event whose token is not the handle's (Janus's word wins), or a session already gone: nothing.
    expect(await seats.attached("tok-b", 500, 501)).toBe(0);
    expect(await seats.attached("tok-a", 999, 1000)).toBe(0);
    expect(destroyed).toEqual([100, 300, 400]);
    expect(seats.health).toMatchObject({ kills: 3, failures: 0 });
    // The listing after it agrees: nothing more to destroy.
    w.advance(ONE_SESSION_EVERY_MS);
    await seats.run(w.steps);
    expect(destroyed).toEqual([100, 300, 400]);
  });

  it("keep one handle in a seat's session the moment Janus tells of an attach: the newest of the seat's token", async () => {
    const { w, seats, a, more, destroyed, detached } = await twoSeated(27_000);
    // Seat a's session attaches a second handle (a second participant on one seat): its first goes at once.
    more.set(100, [{ id: 150, token: "tok-a", created: 1_500 }]);
    expect(await seats.attached("tok-a", 100, 150)).toBe(1);
    expect(detached).toEqual([[100, 101]]);
    // Then one with seat b's token in a's session, and an older one of a's told late: both go, the newest stays.
    more.set(100, [
      ...more.get(100)!,
      { id: 160, token: "tok-b", created: 1_600 },
      { id: 170, token: "tok-a", created: 1_300 },
    ]);
    expect(await seats.attached("tok-a", 100, 170)).toBe(2);
    expect(detached).toEqual([
      [100, 101],
      [100, 160],
      [100, 170],
    ]);
    expect(more.get(100)!.map((h) => h.id)).toEqual([150]);
    // No session was destroyed for it, and the seat is still the listener's.
    expect(destroyed).toEqual([]);
    expect(seats.health).toMatchObject({ kills: 3, failures: 0 });
    expect(w.ledger.lease(a)).toMatchObject({ leftAt: null });
    // A session holding one handle costs the event one listing of its handles, and nothing is detached.
    expect(await seats.attached("tok-b", 200, 201)).toBe(0);
    expect(detached).toHaveLength(3);
  });

  it("keep one handle in a seat's session without events: the next round detaches the others", async () => {
    const w = world();
    const { sessions, more, destroyed, detached, admin } = stubJanus();
    // Rounds shorter than a pass (6 s), as a round renews the seats it lists.
    const seats = janusSeats(admin, 3_000, w.clock);
    const b = w.seat("b", "janus:tok-b");
    sessions.set(200, { token: "tok-b", created: 2_000 });
    // Another token's session outside this shard's seats: never looked inside.
    sessions.set(300, { token: "speaker", created: 3_000 });
    more.set(300, [{ id: 350, token: "speaker", created: 3_500 }]);
    await seats.run(w.steps);
    more.set(200, [{ id: 250, token: "tok-b", created: 2_500 }]);
    // Nothing looks inside a session before the round is due.
    w.advance(2_999);
    await seats.run(w.steps);
    expect(detached).toEqual([]);
    w.advance(1);
    await seats.run(w.steps);
    expect(detached).toEqual([[200, 201]]);
    expect(destroyed).toEqual([]);
    expect(seats.health).toMatchObject({ kills: 1, failures: 0 });
    // The seat is renewed by that round's listing as before.
    expect(w.ledger.lease(b)).toMatchObject({ leftAt: null });
    expect(w.ledger.counters.live).toBe(1);
  });

  it("take back a mass leave's tokens together, and let each seat go only once AudioBridge no longer lists its participant", async () => {
    const w = world(20);
    const { sessions, joined, lingers, destroyed, removed, stub, admin } = stubJanus();
    const pauses: number[] = [];
    const seats = janusSeats(admin, 27_000, w.clock, (ms) => pauses.push(ms));
    const sids: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      sids.push(w.seat(`l${i}`, `janus:tok-${i}`));
      const session = 1_000 + i * 10;
      sessions.set(session, { token: `tok-${i}`, created: session });
      joined.set(session, 50_000 + i);
    }
    // A listener outside this shard's seats (a speaker, say) is in the room too, and stays.
    sessions.set(9_000, { token: "speaker", created: 9_000 });
    joined.set(9_000, 59_000);
    await seats.run(w.steps);
    // Everyone leaves; AudioBridge drops two of the participants only some listings after their sessions go.
    for (let i = 0; i < 20; i += 1) w.ledger.leave(sids[i]!, `l${i}`, w.clock());
    lingers.set(1_030, 3);
    lingers.set(1_170, 5);
    stub.mostAtOnce = 0;
    stub.listings = 0;
    await seats.run(w.steps);
    // Taken back several at a time, never more than TAKE_BACK_AT_ONCE calls on the way.
    expect(stub.mostAtOnce).toBe(TAKE_BACK_AT_ONCE);
    expect(removed.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `tok-${i}`).sort());
    expect(destroyed.sort()).toEqual(Array.from({ length: 20 }, (_, i) => 1_000 + i * 10).sort());
    // The room was listed until the slower of the two was dropped (its fifth listing after), waiting between.
    expect(stub.listings).toBe(6);
    expect(pauses).toHaveLength(5);
    // Every seat let go by the origin (and freed once its passes are known revoked), the speaker untouched, nothing failed.
    expect(w.ledger.originLeases(100)).toEqual([]);
    w.ledger.confirmRevoked(sids, w.clock());
    expect(w.ledger.counters.live).toBe(0);
    expect([...sessions.keys()]).toEqual([9_000]);
    expect(seats.health).toMatchObject({ kills: 20, failures: 0 });
  });

  it("keep an ended seat while AudioBridge still lists its participant, say so, and let it go at a later run once dropped", async () => {
    const { w, lingers, destroyed, stub, seats, a, b, pauses } = await twoInRoom();
    w.ledger.leave(a, "a", w.clock());
    // Longer than one run waits: DROPPED_TRIES listings, and two more.
    lingers.set(100, DROPPED_TRIES + 2);
    stub.listings = 0;
    await seats.run(w.steps);
    expect(destroyed).toEqual([100]);
    expect(stub.listings).toBe(DROPPED_TRIES);
    expect(pauses).toHaveLength(DROPPED_TRIES - 1);
    // The seat is still taken (the next listener would find Janus counting its participant); b is untouched.
    w.ledger.confirmRevoked([a], w.clock());
    expect(held(w)).toEqual([a, b]);
    expect(w.ledger.counters.live).toBe(2);
    expect(seats.health.lastFailure).toMatchObject({
      kind: "teardown",
      message: expect.stringMatching(/1 participant/),
    });
    // The next run finds it listed twice more, then gone: the seat goes, and the session is not destroyed twice.
    stub.listings = 0;
    w.advance(1_000);
    await seats.run(w.steps);
    expect(stub.listings).toBe(3);
    expect(held(w)).toEqual([b]);
    expect(w.ledger.counters.live).toBe(1);
    expect(w.ledger.lease(b)).toMatchObject({ leftAt: null });
    expect(destroyed).toEqual([100]);
    expect(seats.health.kills).toBe(1);
  });

  it("wait for ended seats' participants only: one let go some other way is not waited for again", async () => {
    const { w, lingers, stub, seats, a, b } = await twoInRoom();
    // a leaves and AudioBridge keeps listing its participant long after: the seat stays taken.
    w.ledger.leave(a, "a", w.clock());
    lingers.set(100, 10 * DROPPED_TRIES);
    await seats.run(w.steps);
    expect(held(w)).toEqual([a, b]);
    // Its seat is let go some other way (as an operator's reset would); then b leaves.
    w.ledger.originGone(a, "janus:tok-a", w.clock());
    w.ledger.leave(b, "b", w.clock());
    stub.listings = 0;
    await seats.run(w.steps);
    // One listing shows b's participant gone: a's, still listed, is not waited for.
    expect(stub.listings).toBe(1);
    expect(held(w)).toEqual([]);
  });

  it("let an ended seat go when its AudioBridge room no longer exists (nobody is listed in it)", async () => {
    const { w, destroyed, stub, seats, a, b } = await twoInRoom();
    w.ledger.leave(a, "a", w.clock());
    stub.roomGone = true;
    await seats.run(w.steps);
    expect(destroyed).toEqual([100]);
    expect(held(w)).toEqual([b]);
    expect(seats.health.failures).toBe(0);
  });

  it("name the seat in a token, and read it back; anything else names none", () => {
    const token = newJanusToken("room_1-A", 12, "0b0f8a4e-1111-4222-8333-444455556666");
    expect(seatOfJanusToken(token)).toEqual({
      room: "room_1-A",
      shard: 12,
      sid: "0b0f8a4e-1111-4222-8333-444455556666",
    });
    expect(newJanusToken("r", 0, "s")).not.toBe(newJanusToken("r", 0, "s"));
    for (const other of ["made-up", "r.0.s", `${token}x`, `r.0.s.${"a".repeat(42)}`, token.replace(".12.", ".x.")]) {
      expect(seatOfJanusToken(other)).toBeNull();
    }
  });

  it("are not configured without the Admin API's URL and secret, or with an unknown plugin", async () => {
    const w = world();
    for (const env of [{}, { JANUS_ADMIN_URL: "http://127.0.0.1:7088/admin" }, { JANUS_ADMIN_SECRET: SECRET }]) {
      const seats = janusSeatsFor(env, "r", "1234", w.clock);
      expect(await seats.add("t")).toMatchObject({ ok: false, kind: "not_configured" });
    }
    const wrongPlugin = janusSeatsFor(
      { JANUS_ADMIN_URL: "http://127.0.0.1:7088/admin", JANUS_ADMIN_SECRET: SECRET, JANUS_PLUGIN: "videoroom" },
      "r",
      "1234",
      w.clock,
    );
    expect(await wrongPlugin.add("t")).toMatchObject({ ok: false, message: expect.stringMatching(/JANUS_PLUGIN/) });
  });
});

describe("LiveKit's checks", () => {
  const KEY = "APIunit";
  const LK_SECRET = "livekit-secret-for-unit-tests-0123456789";
  let standIn: LiveKitStandIn;
  beforeAll(async () => {
    standIn = await startLiveKitStandIn(KEY, LK_SECRET);
  });
  afterAll(async () => standIn.close());

  const checks = (w: ReturnType<typeof world>, apiSecret: string) =>
    new LiveKitSeats({
      room: "r",
      liveKitRoom: "lk",
      server: { url: standIn.url, apiKey: KEY, apiSecret },
      tokenTtlMs: PASS_TTL / 2,
      roundMs: 1_000,
      now: w.clock,
    });

  it("name a seat by an identity a webhook maps back to its room, shard and seat", () => {
    const id = liveKitIdentity("town-hall", 3, "0b0f8a4e-1111-4222-8333-444455556666");
    expect(seatOfIdentity(id)).toEqual({ room: "town-hall", shard: 3, sid: "0b0f8a4e-1111-4222-8333-444455556666" });
    for (const other of ["speaker-1", "a:b", "r:x:s", "r:1:", `${"r".repeat(65)}:0:s`]) {
      expect(seatOfIdentity(other)).toBeNull();
    }
  });

  it("mint tokens no longer than half a pass and never past the lease; none without the key pair", async () => {
    const w = world();
    const seats = checks(w, LK_SECRET);
    const sid = w.seat("a", "livekit:r:0:x");
    const lease = w.ledger.lease(sid)!;
    const minted = await seats.mint("r:0:x", lease);
    expect(minted).toMatchObject({ ok: true, expiresAt: T0 + PASS_TTL / 2 });
    w.advance(PASS_TTL - 1_500);
    expect(await seats.mint("r:0:x", lease)).toMatchObject({ ok: true, expiresAt: T0 + PASS_TTL - 1_000 });
    const bare = liveKitSeatsFor({ LIVEKIT_URL: standIn.url }, "r", "lk", w.clock);
    expect(await bare.mint("r:0:x", lease)).toMatchObject({ ok: false, kind: "not_configured" });
  });

  it("keep the seats while LiveKit refuses Spillway's key, and let an ended one go only after its tokens", async () => {
    const w = world();
    const wrong = checks(w, "not-the-secret");
    const sid = w.seat("a", "livekit:r:0:a");
    standIn.rooms.set("lk", new Map([["r:0:a", "PA_1"]]));
    w.ledger.leave(sid, "a", w.clock());
    for (let i = 0; i < 3; i += 1) {
      w.advance(PASS_TTL);
      w.ledger.settle(w.clock());
      await wrong.run(w.steps);
    }
    expect(w.ledger.counters.live).toBe(1);
    expect(wrong.health.lastFailure).toMatchObject({ kind: "unauthorized" });
    expect(JSON.stringify(wrong.health)).not.toContain("not-the-secret");
    expect(standIn.rooms.get("lk")?.has("r:0:a")).toBe(true);

    // With the right key: removed, and the seat let go (its last token expired long ago).
    const right = checks(w, LK_SECRET);
    await right.run(w.steps);
    w.ledger.settle(w.clock());
    expect(standIn.rooms.get("lk")?.has("r:0:a")).toBe(false);
    expect(w.ledger.counters.live).toBe(0);
  });

  it("wait out a just-ended seat's token before letting it go", async () => {
    const w = world();
    const seats = checks(w, LK_SECRET);
    const sid = w.seat("a", "livekit:r:0:b");
    w.ledger.leave(sid, "a", w.clock());
    w.ledger.confirmRevoked([sid], w.clock() + 5_000);
    w.advance(1_000);
    await seats.run(w.steps);
    expect(w.ledger.counters.live).toBe(1);
    w.advance(PASS_TTL / 2 + 1_000);
    await seats.run(w.steps);
    w.ledger.settle(w.clock());
    expect(w.ledger.counters.live).toBe(0);
  });
});

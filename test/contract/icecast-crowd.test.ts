/**
 * Crowds at a real Icecast (Debian's icecast2, fed live MP3 by ffmpeg):
 * the strict cap as the origin counts it when many listeners do the same
 * thing at once, and when their clients misbehave. Each room has its own
 * mount, `/rooms/<room>/stream.mp3`, reached through Spillway and the
 * releasing front (test/contract/support/icecast.ts).
 *
 * Two counts judge every scenario, both the origin's side:
 * - Icecast's own listener count, read every 150 ms (listener-count.ts);
 * - the front's exact record of the streams it passed to Icecast, each
 *   counted from its first byte to its close, so no overlap between two
 *   samples can hide: at no instant more streams on the mount than the
 *   capacity, nor more than one of any seat (the `sid` of the Spillway-Pass
 *   it carried).
 *
 * The scenarios: every seated listener leaves at once, while their old
 * devices keep reconnecting, and the room refills from the line; every
 * seat moves to a newer device at once, the older devices reconnecting
 * too; seated listeners that present their passes in every way a hostile
 * client can (duplicate cookies, cookie and bearer at once, a forged
 * Spillway-Pass header, a ticket in the pass's cookie); and a room with two
 * mounts, where a seat's streams on both count as one.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  EVERY_MS,
  hostileWays,
  passCookie,
  passWhenCalled,
  renewing,
  seatedIn,
  untilStopped,
  waitingIn,
} from "./support/crowd.ts";
import { eventually, pause } from "./support/held.ts";
import { adminCall, bearer, claimsOf, leaveWith, statusJson } from "./support/http.ts";
import {
  CUT_WITHIN_MS,
  DROP_WITHIN_MS,
  mountOf,
  playsMp3,
  SAMPLE_GAP_LIMIT_MS,
  useLiveStage,
} from "./support/icecast-stage.ts";
import { listen, startSource, type StreamListener } from "./support/icecast.ts";

/** Short passes, so that a held stream outlives several of them within a test. */
const PASS_TTL_SECONDS = 4;

const ROOMS = ["crowd-leave", "crowd-move", "crowd-cookies", "crowd-mounts", "crowd-named", "crowd-unnamed"];

/** Icecast with a show on each room's mount (on before the tests: Icecast has a burst to send at once), the front, Spillway. */
const started = useLiveStage({
  rooms: ROOMS,
  adminToken: `crowd-${crypto.randomUUID()}`,
  passTtlSeconds: PASS_TTL_SECONDS,
});
const ice = () => started().icecast;
const spillway = () => started().worker;
const counts = () => started().sampler;
const origin = () => started().front;

/** One scenario's room, its listeners and what the origin counted. */
interface Crowd {
  title: string;
  room: string;
  /** Its main mount. */
  mount: string;
  /** Every mount of the room: the cap holds for them together. */
  mounts: string[];
  capacity: number;
  startedAt: number;
  /** Every stream opened, so that each is closed after the test. */
  streams: StreamListener[];
  /** Background loops to stop after the test. */
  stops: (() => Promise<void>)[];
  notes: Record<string, string | number>;
  judged?: { icecast: number; front: number; perSeat: number; samples: number; gapMs: number };
}

const crowds: Crowd[] = [];
let current: Crowd | undefined;

async function crowdRoom(title: string, room: string, capacity: number): Promise<Crowd> {
  const mount = mountOf(room);
  expect(await ice().listeners(mount), "nobody listens before the test").toBe(0);
  const w = spillway();
  // Admissions fast enough that a refill is not held back by the rate (invariant 2 is tested elsewhere).
  const res = await adminCall(w.url, w.adminToken, "PATCH", `/rooms/${room}`, { capacity, admitPerMinute: 6000 });
  expect(res.status).toBe(200);
  const crowd: Crowd = {
    title,
    room,
    mount,
    mounts: [mount],
    capacity,
    startedAt: Date.now(),
    streams: [],
    stops: [],
    notes: {},
  };
  crowds.push(crowd);
  current = crowd;
  return crowd;
}

/** The room's second mount, `low.mp3`, with a 32 kbit/s show on it until the scenario ends; its path. */
async function lowMount(c: Crowd): Promise<string> {
  const low = `/rooms/${c.room}/low.mp3`;
  const show = await startSource(ice(), low, { bitrate: "32k" });
  c.stops.push(() => show.stop());
  c.mounts.push(low);
  return low;
}

/** Open the room's stream through Spillway with these headers, and keep reading it. */
async function tune(c: Crowd, headers: Record<string, string>, mount = c.mount): Promise<StreamListener> {
  const listener = await listen(`${spillway().url}${mount}`, { headers, keepBytes: 32_000 });
  c.streams.push(listener);
  return listener;
}

type Tuned = StreamListener;

function statusOf(c: Crowd, ticket: string) {
  return statusJson(spillway().url, c.room, ticket);
}

/** A seat's player renewing its pass while the test runs (support/crowd.ts). */
const heartbeating = (c: Crowd, first: string) => renewing(c.stops, spillway().url, c.room, first);

/** Each of `seats` tuned in with its pass presented as `present` says: all play, and Icecast counts them all. */
async function allPlaying(
  c: Crowd,
  seats: { pass: string }[],
  present: (pass: string) => Record<string, string>,
): Promise<Tuned[]> {
  const streams = await Promise.all(seats.map((l) => tune(c, present(l.pass))));
  for (const s of streams) await playsMp3(s);
  await ice().waitForListeners(c.mount, seats.length, DROP_WITHIN_MS);
  return streams;
}

/**
 * A player that polls its ticket every EVERY_MS and tunes in with its pass
 * the moment it gets one: resolves with the playing stream.
 */
function player(c: Crowd, ticket: string, what: string): Promise<Tuned> {
  return (async () => {
    const stream = await tune(c, bearer(await passWhenCalled(spillway().url, c.room, ticket, what)));
    await playsMp3(stream, 16_000);
    return stream;
  })();
}

/**
 * An old device that will not let go: from now on, it opens the stream
 * with `pass` every EVERY_MS (whatever it opens it holds), and records when
 * it asked and what it was answered.
 */
function reconnecting(c: Crowd, pass: string): { tries: { askedAt: number; status: number }[] } {
  const tries: { askedAt: number; status: number }[] = [];
  untilStopped(c.stops, async () => {
    const askedAt = Date.now();
    try {
      const attempt = await tune(c, bearer(pass));
      tries.push({ askedAt, status: attempt.status });
      if (attempt.status !== 200) attempt.close();
    } catch {
      tries.push({ askedAt, status: -1 });
    }
    await pause(EVERY_MS);
  });
  return { tries };
}

/**
 * The strict cap as the origin counts it since the scenario began: Icecast's
 * own count never above the capacity, and at no instant more streams passed
 * to Icecast than the capacity, nor two of one seat, nor one without a seat.
 */
function capHeld(c: Crowd): void {
  const judged = judgedNow(c);
  expect(judged.samples, "the sampler read Icecast's count").toBeGreaterThan(0);
  expect(judged.gapMs, "the sampler read Icecast's count without long gaps").toBeLessThan(SAMPLE_GAP_LIMIT_MS);
  expect(judged.icecast, `Icecast counted ${judged.icecast} on ${c.mounts.join(" and ")}`).toBeLessThanOrEqual(
    c.capacity,
  );
  expect(judged.front, `${judged.front} streams reached Icecast at once`).toBeLessThanOrEqual(c.capacity);
  expect(judged.perSeat, `${judged.perSeat} streams of one seat reached Icecast at once`).toBe(1);
  // Every stream that reached Icecast carried a pass of a seat Spillway gave (it sets Spillway-Pass itself).
  for (const sid of origin().seatsSeen(c.mounts, c.startedAt)) expect(sid).toMatch(/^(?!forged-seat$)[\w-]+$/);
}

/** What the origin counted since the scenario began (kept on the crowd, for the log). */
function judgedNow(c: Crowd): NonNullable<Crowd["judged"]> {
  c.judged = {
    icecast: counts().peakTotal(c.mounts, c.startedAt),
    front: origin().peakStreams(c.mounts, c.startedAt),
    perSeat: origin().peakStreams(c.mounts, c.startedAt, true),
    samples: counts().samples(c.startedAt),
    gapMs: counts().longestGapMs(c.startedAt),
  };
  return c.judged;
}

/** Each of these streams is cut by Spillway within CUT_WITHIN_MS; the slowest cut's time. */
async function allCut(streams: Tuned[], what: string): Promise<number> {
  const start = Date.now();
  await eventually(() => streams.every((s) => s.isEnded()), CUT_WITHIN_MS, what);
  return Date.now() - start;
}

afterEach(async () => {
  const c = current;
  current = undefined;
  if (c === undefined) return;
  for (const stop of c.stops) await stop();
  if (c.judged === undefined) c.notes.failed = "yes";
  for (const s of c.streams) s.close();
  for (const mount of c.mounts) await ice().waitForListeners(mount, 0, DROP_WITHIN_MS);
});

afterAll(async () => {
  const lines = crowds.map((c) => {
    const j = c.judged;
    const seen =
      j === undefined ? "not judged" : `Icecast max ${j.icecast}, at the front max ${j.front} (per seat ${j.perSeat})`;
    const notes = Object.entries(c.notes).map(([k, v]) => `${k}=${v}`);
    return `  ${c.title.padEnd(30)} capacity ${c.capacity}  ${seen}  ${notes.join(" ")}`;
  });
  console.log(`The origin's own counts, per crowd:\n${lines.join("\n")}`);
});

describe("crowds at a real Icecast", () => {
  it("everyone seated leaves at once while their old devices reconnect: the line refills the room, never past the cap", async () => {
    const c = await crowdRoom("everyone leaves at once", "crowd-leave", 6);
    const first = await seatedIn(spillway().url, c.room, 6);
    const streams = await allPlaying(c, first, (pass) => bearer(pass));
    const line = await waitingIn(spillway().url, c.room, 6);
    const players = line.map((ticket, i) => player(c, ticket, `listener ${i + 1} in line is seated after the leaves`));

    // Every seated listener gives its seat back from another device at the same moment; each one's
    // first device, meanwhile, keeps opening the stream with the pass it holds.
    const leftAt = Date.now();
    const leaving = Promise.all(first.map((l) => leaveWith(spillway().url, c.room, l.pass)));
    const oldDevices = first.map((l) => reconnecting(c, l.pass));
    const left = await leaving;
    const answeredAt = Date.now();
    for (const l of left) expect(l.json.released).toBe(true);
    c.notes.leavesMs = answeredAt - leftAt;

    c.notes.cutMs = await allCut(streams, "every stream of a seat given back is cut");
    const refilled = await Promise.all(players);
    c.notes.refilledMs = Date.now() - answeredAt;
    await ice().waitForListeners(c.mount, 6, DROP_WITHIN_MS);
    // The old devices go on trying a while longer, with the room full again.
    await pause(2_000);
    for (const stop of c.stops.splice(0)) await stop();

    // Whatever an old device opened before its leave was answered was cut; nothing after it got in.
    const tries = oldDevices.flatMap((l) => l.tries);
    const after = tries.filter((t) => t.askedAt > answeredAt);
    expect(after.length, "the old devices kept trying after the leaves").toBeGreaterThan(6);
    for (const t of after) expect([401, 409]).toContain(t.status);
    c.notes.oldDeviceTries = `${tries.length} (${after.length} after the leaves: ${[...new Set(after.map((t) => t.status))].join("/")})`;
    for (const s of c.streams.filter((s) => !refilled.includes(s))) {
      await eventually(() => s.isEnded(), CUT_WITHIN_MS, "every stream of an old device is cut");
    }
    for (const s of refilled) expect(s.isEnded()).toBe(false);
    expect(await ice().listeners(c.mount)).toBe(6);
    capHeld(c);
  }, 90_000);

  it("every seat moves to a newer device at once while the older devices reconnect: nobody else gets in, never two of a seat", async () => {
    const c = await crowdRoom("every seat moves at once", "crowd-move", 5);
    const first = await seatedIn(spillway().url, c.room, 5);
    const laptops = await allPlaying(c, first, (pass) => bearer(pass));
    const outsiders = await waitingIn(spillway().url, c.room, 3);

    // Each ticket is claimed on a newer device at the same moment; the older devices keep opening
    // the stream with their older passes.
    const claimedAt = Date.now();
    const moving = await Promise.all(first.map((l) => statusOf(c, l.ticket)));
    const answeredAt = Date.now();
    const older = first.map((l) => reconnecting(c, l.pass));
    for (const m of moving) expect(m.json).toMatchObject({ state: "queued", position: 1 });
    c.notes.claimsMs = answeredAt - claimedAt;

    c.notes.cutMs = await allCut(laptops, "every older device's stream is cut");
    const phones = await Promise.all(
      first.map((l, i) => player(c, l.ticket, `the newer device of seat ${i + 1} gets it`)),
    );
    c.notes.movedMs = Date.now() - answeredAt;
    await ice().waitForListeners(c.mount, 5, DROP_WITHIN_MS);
    await pause(2_000);
    for (const stop of c.stops.splice(0)) await stop();

    const tries = older.flatMap((o) => o.tries);
    expect(tries.length, "the older devices kept trying").toBeGreaterThan(5);
    for (const t of tries) expect([401, 409]).toContain(t.status);
    c.notes.olderDeviceTries = `${tries.length}: ${[...new Set(tries.map((t) => t.status))].join("/")}`;
    for (const p of phones) expect(p.isEnded()).toBe(false);
    // The seats stayed their listeners': those in line still wait.
    for (const ticket of outsiders) expect((await statusOf(c, ticket)).json.state).toBe("queued");
    expect(await ice().listeners(c.mount)).toBe(5);
    capHeld(c);
  }, 90_000);

  it("seated listeners presenting their passes every way a hostile client can: one stream a seat, never past the cap", async () => {
    const c = await crowdRoom("hostile cookies and headers", "crowd-cookies", 3);
    const cookie = (token: string) => passCookie(c.room, token);
    const first = await seatedIn(spillway().url, c.room, 3);
    // Each seat's player renews its pass as it plays, from the start: the test's passes live 4 s,
    // and seating, the line and the first streams can take longer than that on a busy machine.
    const players = first.map((l) => heartbeating(c, l.pass));
    const inLine = await waitingIn(spillway().url, c.room, 2);
    const originals = await allPlaying(c, players, (pass) => ({ cookie: cookie(pass) }));
    // Each seat, at once, with its newest pass: the pass's cookie twice; the cookie and the bearer;
    // the pass in the cookie with a pass of a seat nobody has forged into Spillway-Pass; then a
    // ticket in the pass's cookie.
    const ways = hostileWays(c.room);
    const opened = await Promise.all(
      players.map(async (p) => {
        const out: Tuned[] = [];
        for (const way of ways) {
          out.push(await tune(c, way(p.pass)));
          await pause(100);
        }
        out.push(await tune(c, { cookie: `${cookie(inLine[0]!)}; theme=dark` }));
        return out;
      }),
    );
    c.notes.statuses = opened.map((o) => o.map((s) => s.status).join("/")).join(" ");

    for (const [i, o] of opened.entries()) {
      // Each way of presenting the seat's pass opens the stream, and cuts the seat's older one.
      for (const s of o.slice(0, 3)) expect(s.headers["content-type"], `seat ${i + 1}`).toBe("audio/mpeg");
      const newest = o[2]!;
      await playsMp3(newest);
      for (const older of [originals[i]!, o[0]!, o[1]!]) {
        await eventually(() => older.isEnded(), CUT_WITHIN_MS, `an older stream of seat ${i + 1} is cut`);
      }
      expect(newest.isEnded()).toBe(false);
      // A ticket where the pass belongs is refused by Spillway, and never reaches Icecast.
      expect(o[3]!.status).toBe(401);
    }
    // Icecast heard only of the room's seats: Spillway's own Spillway-Pass, never the forged one.
    const sids = new Set(first.map((l) => claimsOf(l.pass).sid as string));
    expect(origin().seatsSeen(c.mount, c.startedAt)).toEqual(sids);
    await pause(1_500);
    for (const ticket of inLine) expect((await statusOf(c, ticket)).json.state).toBe("queued");
    expect(await ice().listeners(c.mount)).toBe(3);
    capHeld(c);
  }, 90_000);

  it("one seat, one live stream across the room's mounts: switching or holding two bitrates never adds to Icecast's count", async () => {
    const c = await crowdRoom("two mounts of one room", "crowd-mounts", 3);
    const low = await lowMount(c);
    // Each seat's player renews its pass as it plays (the test's passes live 4 s).
    const [a, b, cc] = (await seatedIn(spillway().url, c.room, 3)).map((seat) => heartbeating(c, seat.pass));
    const inLine = await waitingIn(spillway().url, c.room, 1);
    // A and B on the main mount; C is the first to play the low one (the room learns it streams).
    const onMain = await allPlaying(c, [a!, b!], (pass) => bearer(pass));
    const third = await tune(c, bearer(cc!.pass), low);
    await playsMp3(third, 8_000);
    await ice().waitForListeners(low, 1, DROP_WITHIN_MS);

    // A switches to the low mount as a player does; B opens it too and keeps the main one open.
    const aLow = await tune(c, bearer(a!.pass), low);
    onMain[0]!.close();
    const bLow = await tune(c, bearer(b!.pass), low);
    for (const s of [aLow, bLow]) await playsMp3(s, 8_000);
    await eventually(() => onMain[1]!.isEnded(), CUT_WITHIN_MS, "B's stream on the main mount is cut");

    // A flips between the mounts, each a quarter second after the last, never closing one.
    const flips: Tuned[] = [];
    for (const mount of [c.mount, low, c.mount, low]) {
      flips.push(await tune(c, bearer(a!.pass), mount));
      await pause(250);
    }
    const newest = flips.at(-1)!;
    await playsMp3(newest, 8_000);
    for (const older of [aLow, ...flips.slice(0, -1)]) {
      if (older.status === 200) await eventually(() => older.isEnded(), CUT_WITHIN_MS, "A's older stream is cut");
      else expect(older.status).toBe(409);
    }
    c.notes.flipStatuses = flips.map((f) => f.status).join("/");
    await ice().waitForListeners(low, 3, DROP_WITHIN_MS);
    expect(await ice().listeners(c.mount)).toBe(0);
    for (const s of [third, bLow, newest]) expect(s.isEnded()).toBe(false);
    expect((await statusOf(c, inLine[0]!)).json.state).toBe("queued");
    capHeld(c);
  }, 90_000);

  it("a room that names its mounts: a seat's first stream ever on its second mount cuts the first before Icecast hears of it", async () => {
    const c = await crowdRoom("mounts named in the config", "crowd-named", 2);
    const named = await adminCall(spillway().url, spillway().adminToken, "PATCH", `/rooms/${c.room}`, {
      liveMounts: ["stream.mp3", "low.mp3"],
    });
    expect(named.status).toBe(200);
    const low = await lowMount(c);
    const [a, b] = (await seatedIn(spillway().url, c.room, 2)).map((seat) => heartbeating(c, seat.pass));
    const onMain = await allPlaying(c, [a!, b!], (pass) => bearer(pass));
    // Nobody has played the low mount in this room: both seats open it now, keeping the main one open.
    const lows: Tuned[] = [];
    for (const seat of [a!, b!]) {
      lows.push(await tune(c, bearer(seat.pass), low));
      await pause(250);
    }
    for (const s of lows) await playsMp3(s, 8_000);
    await eventually(
      () => onMain.every((s) => s.isEnded()),
      CUT_WITHIN_MS,
      "each seat's stream on the main mount is cut",
    );
    await ice().waitForListeners(low, 2, DROP_WITHIN_MS);
    expect(await ice().listeners(c.mount)).toBe(0);
    for (const s of lows) expect(s.isEnded()).toBe(false);
    capHeld(c);
  }, 90_000);

  it("a room that names no mounts: a seat's first stream ever on a mount plays on, and its older stream is the one cut", async () => {
    const c = await crowdRoom("an unnamed mount's first stream", "crowd-unnamed", 1);
    const low = await lowMount(c);
    const [a] = (await seatedIn(spillway().url, c.room, 1)).map((seat) => heartbeating(c, seat.pass));
    const [onMain] = await allPlaying(c, [a!], (pass) => bearer(pass));
    // Nobody has played the low mount: the origin answers before anyone knows it is live.
    const onLow = await tune(c, bearer(a!.pass), low);
    await playsMp3(onLow, 8_000);
    await eventually(() => onMain!.isEnded(), CUT_WITHIN_MS, "the seat's older stream, on the main mount, is cut");
    // The newer stream holds the seat past several rounds of it (the test's passes live 4 s).
    const received = onLow.received();
    await pause(3 * PASS_TTL_SECONDS * 1000);
    expect(onLow.isEnded()).toBe(false);
    expect(onLow.received()).toBeGreaterThan(received + 20_000);
    expect(await ice().listeners(low)).toBe(1);
    expect(await ice().listeners(c.mount)).toBe(0);
    // The origin served both for a moment: the window a room closes by naming its mounts (above).
    c.notes.overlap = `${judgedNow(c).perSeat} streams of the seat at once`;
  }, 90_000);
});

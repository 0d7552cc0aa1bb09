/**
 * Spillway in front of a real Icecast (Debian's icecast2, fed live MP3 by
 * ffmpeg): what its listeners hear, and what Icecast itself counts. Each
 * room has its own mount, `/rooms/<room>/stream.mp3`, which is both the
 * guarded path and the Icecast mount; Spillway's origin is the releasing
 * front (test/contract/support/icecast.ts), which streams everything to
 * Icecast and answers `/rooms/<room>/bye` with `Spillway-Command: release`.
 *
 * Throughout every test a sampler reads Icecast's own listener count
 * (status-json) every 150 ms; each test asserts that the most Icecast ever
 * counted on its mount stayed within the room's capacity, and the counts are
 * printed at the end. Every scenario rests on the seat/stream tie
 * (src/edge/seat-tie.ts): without it a held stream would neither keep its
 * seat past one pass lifetime (someone waiting would be let in next to it)
 * nor be cut when its seat ends.
 *
 * A held stream renews its seat, not its listener's pass: a leave or an ops
 * release with a pass past its `exp` still gives the seat back (the last
 * test). The newer-device scenario (d) holds Icecast to one listener because
 * a moving claim waits for Icecast to count the older connection out
 * (ORIGIN_NOTICE_MS in src/edge/seat-tie.ts).
 */
import { rm } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { eventually, pause } from "./support/held.ts";
import { adminCall, bearer, claimsOf, join, leaveWith, send, type StatsJson, statusJson } from "./support/http.ts";
import { renewing } from "./support/crowd.ts";
import { listen, type StreamListener } from "./support/icecast.ts";
import {
  CUT_WITHIN_MS,
  DROP_WITHIN_MS,
  mountOf,
  playsMp3,
  SAMPLE_GAP_LIMIT_MS,
  useLiveStage,
} from "./support/icecast-stage.ts";
import { freePort, type RunningWorker, startWorker, tempDir } from "./support/worker.ts";

/** Short leases, so that several lifetimes pass within a test. */
const PASS_TTL_SECONDS = 4;
const LIFETIME_MS = PASS_TTL_SECONDS * 1000;
/**
 * The restart test's lease: Spillway is down for 3–5 s on a quiet machine
 * (stop ≈ 1 s, start ≈ 3 s) and 6–12 s in a full test run on a busy one,
 * and a seat must outlive that to still be its listener's: nothing can renew
 * it while Spillway is down, and a round renews it only every half lifetime,
 * so a seat may go down with little more than half its lease left.
 */
const RESTART_PASS_TTL_SECONDS = 30;
/** About how long until a seat given back or moved can be reused (its revocation listed, then confirmed). */
const CONFIRM_MS = 6_000;

/** Every room these tests use; each has its own mount, `/rooms/<room>/stream.mp3`. */
const ROOMS = [
  "live",
  "live-held",
  "live-leave",
  "live-moved",
  "live-bye",
  "live-ops",
  "live-shrink",
  "live-late",
  "live-restart",
  "live-twice",
  "live-again",
];

/** Icecast with a show on each room's mount (on before the tests: Icecast has a burst to send at once), the front, Spillway. */
const started = useLiveStage({
  rooms: ROOMS,
  adminToken: `icecast-${crypto.randomUUID()}`,
  passTtlSeconds: PASS_TTL_SECONDS,
});
const ice = () => started().icecast;
const spillway = () => started().worker;
const counts = () => started().sampler;

// ---------------------------------------------------------------------------
// One live room per test: its mount, its show, its listeners, its peak.

/** A listener connected through Spillway, as a player holds it. */
type Tuned = StreamListener;

interface Scenario {
  title: string;
  room: string;
  mount: string;
  capacity: number;
  worker: RunningWorker;
  startedAt: number;
  listeners: Tuned[];
  /** Background loops (a player's heartbeat) to stop after the test. */
  stops: (() => Promise<void>)[];
  /** Filled by capHeld: what the sampler saw. */
  peak?: number;
  samples?: number;
  gapMs?: number;
  /** Timings and facts worth reporting. */
  notes: Record<string, string | number>;
}

const scenarios: Scenario[] = [];
let current: Scenario | undefined;

/** Configure `room` (capacity, fast admissions) and start judging the peak on its mount (its show is on). */
async function liveRoom(title: string, room: string, capacity: number, w = spillway()): Promise<Scenario> {
  const mount = mountOf(room);
  expect(started().shows.has(room), `${room} has a show`).toBe(true);
  expect(await ice().listeners(mount), "nobody listens before the test").toBe(0);
  const res = await adminCall(w.url, w.adminToken, "PATCH", `/rooms/${room}`, { capacity, admitPerMinute: 600 });
  expect(res.status).toBe(200);
  const scenario: Scenario = {
    title,
    room,
    mount,
    capacity,
    worker: w,
    startedAt: Date.now(),
    listeners: [],
    stops: [],
    notes: {},
  };
  scenarios.push(scenario);
  current = scenario;
  return scenario;
}

function streamUrl(s: Scenario, w = s.worker): string {
  return `${w.url}${s.mount}`;
}

/** Open the room's stream through Spillway with `pass`, and keep reading it. */
async function tune(s: Scenario, pass: string, w = s.worker): Promise<Tuned> {
  const listener = await listen(streamUrl(s, w), { headers: bearer(pass), keepBytes: 64_000 });
  s.listeners.push(listener);
  return listener;
}

/**
 * An ended seat's pass opens no stream: 409 `seat_ended`, or 401
 * `token_expired` once the pass itself has expired. (An accepted one would
 * be counted by Icecast, and by the sampler.)
 */
async function expectRefused(s: Scenario, pass: string): Promise<void> {
  const expiresAt = (claimsOf(pass).exp as number) * 1000;
  const askedAt = Date.now();
  const attempt = await tune(s, pass);
  const answeredAt = Date.now();
  attempt.close();
  // A pass that expired while the request was on its way may be judged either way; each is a refusal.
  const allowed = expiresAt <= askedAt ? [401] : expiresAt > answeredAt ? [409] : [401, 409];
  expect(allowed).toContain(attempt.status);
}

/** `playsMp3`, and Icecast counts this listener as the mount's only one. */
async function playsAlone(s: Scenario, listener: Tuned): Promise<Tuned> {
  await playsMp3(listener);
  await ice().waitForListeners(s.mount, 1, 5_000);
  return listener;
}

/** A listener tuned in with `pass` that plays as the mount's only one (`playsAlone`). */
async function tunedAlone(s: Scenario, pass: string): Promise<Tuned> {
  return playsAlone(s, await tune(s, pass));
}

/**
 * The strict cap as Icecast counts it: the most listeners it ever counted on
 * the room's mount since `since` is at most `capacity`. Recorded for the report.
 */
function capHeld(s: Scenario, capacity = s.capacity, since = s.startedAt): number {
  const peak = counts().peak(s.mount, since);
  const samples = counts().samples(since);
  const gapMs = counts().longestGapMs(since);
  if (since === s.startedAt) Object.assign(s, { peak, samples, gapMs });
  const over = counts().above(s.mount, capacity, since);
  if (over.samples > 0) {
    // Say when, against the test's own clock, for the report.
    s.notes.overCapacity = `${over.samples} samples, ${over.firstAt! - s.startedAt}–${over.lastAt! - s.startedAt} ms`;
  }
  expect(samples, "the sampler read Icecast's count").toBeGreaterThan(0);
  expect(gapMs, "the sampler read Icecast's count without long gaps").toBeLessThan(SAMPLE_GAP_LIMIT_MS);
  expect(peak, `Icecast counted ${peak} listeners on ${s.mount} (capacity ${capacity})`).toBeLessThanOrEqual(capacity);
  return peak;
}

/** The next listener of a room with a free seat, admitted (at its join, or its next poll: see seat-tie.test.ts). */
async function admitted(s: Scenario, w = s.worker): Promise<{ pass: string; ticket: string }> {
  const res = await join(w.url, s.room);
  expect(res.status).toBe(200);
  if (res.json.state === "queued") {
    expect(res.json.position).toBe(1);
    const turn = await admittedLater(s, res.json.ticket!, 3_000, "the first in line of a room with a free seat", w);
    return { pass: turn.pass, ticket: res.json.ticket! };
  }
  expect(res.json.state).toBe("admitted");
  return { pass: res.json.pass!, ticket: res.json.ticket! };
}

async function queued(s: Scenario, w = s.worker): Promise<string> {
  const res = await join(w.url, s.room);
  expect(res.status).toBe(200);
  expect(res.json.state).toBe("queued");
  return res.json.ticket!;
}

function statusOf(s: Scenario, ticket: string, w = s.worker) {
  return statusJson(w.url, s.room, ticket);
}

async function stats(s: Scenario, w = s.worker): Promise<StatsJson> {
  const res = await adminCall<StatsJson>(w.url, w.adminToken, "GET", `/rooms/${s.room}/stats`);
  expect(res.status).toBe(200);
  return res.json;
}

/** Poll a waiting ticket until its turn comes; its pass, and how long it took. */
async function admittedLater(s: Scenario, ticket: string, withinMs: number, what: string, w = s.worker) {
  const start = Date.now();
  let pass: string | undefined;
  await eventually(
    async () => {
      pass = (await statusOf(s, ticket, w)).json.pass;
      return pass !== undefined;
    },
    withinMs,
    what,
  );
  return { pass: pass!, ms: Date.now() - start };
}

/** How long until `check` holds (ms). */
async function timed(check: () => boolean, withinMs: number, what: string): Promise<number> {
  const start = Date.now();
  await eventually(check, withinMs, what);
  return Date.now() - start;
}

/**
 * Hold for `ms`, checking every second that each stream keeps flowing (not
 * ended, more bytes), that Icecast counts `listeners`, and that every waiting
 * ticket is still waiting (each poll would claim the seat if it were free).
 */
async function holdFor(
  s: Scenario,
  ms: number,
  streams: Tuned[],
  waiting: string[],
  listeners: number,
  w = s.worker,
): Promise<void> {
  const until = Date.now() + ms;
  let last = streams.map((l) => l.received());
  while (Date.now() < until) {
    await pause(1_000);
    for (const l of streams) expect(l.isEnded(), "a held stream was cut").toBe(false);
    const now = streams.map((l) => l.received());
    now.forEach((n, i) => expect(n, "a held stream stopped flowing").toBeGreaterThan(last[i]!));
    last = now;
    expect(await ice().listeners(s.mount)).toBe(listeners);
    for (const ticket of waiting) expect((await statusOf(s, ticket, w)).json.state).toBe("queued");
  }
}

afterEach(async () => {
  const s = current;
  current = undefined;
  if (s === undefined) return;
  if (s.peak === undefined) {
    // The test failed before judging its peak: still report what Icecast counted.
    s.peak = counts().peak(s.mount, s.startedAt);
    s.samples = counts().samples(s.startedAt);
    s.gapMs = counts().longestGapMs(s.startedAt);
    s.notes.failed = "yes";
  }
  for (const stop of s.stops) await stop();
  for (const l of s.listeners) l.close();
  // The next test on this Icecast starts with nobody listening here.
  await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
});

afterAll(async () => {
  const lines = scenarios.map((s) => {
    const notes = Object.entries(s.notes).map(([k, v]) => `${k}=${v}`);
    return (
      `  ${s.title.padEnd(34)} capacity ${s.capacity}  Icecast max ${s.peak}  ` +
      `(${s.samples} samples, longest gap ${s.gapMs} ms)  ${notes.join(" ")}`
    );
  });
  console.log(`Icecast's own listener counts, per scenario:\n${lines.join("\n")}`);
});

describe("Spillway in front of a real Icecast", () => {
  it("a. delivers real MP3 audio from Icecast, and goes on delivering it past a lease lifetime", async () => {
    const s = await liveRoom("a. audio arrives", "live", 1);
    const a = await admitted(s);
    const listener = await tunedAlone(s, a.pass);

    // No heartbeat: the stream itself keeps the seat, and the audio keeps coming (64 kbit/s ≈ 8 kB/s).
    const before = listener.received();
    await pause(LIFETIME_MS + 1_000);
    expect(listener.isEnded()).toBe(false);
    expect(listener.received() - before).toBeGreaterThan(20_000);
    expect((await stats(s)).active).toBe(1);
    expect(await ice().listeners(s.mount)).toBe(1);
    s.notes.bytes = listener.received();
    capHeld(s);
  });

  it("b. keeps held streams seated without heartbeats; the next listener waits until the stream closes", async () => {
    const s = await liveRoom("b. held without heartbeats", "live-held", 1);
    const a = await admitted(s);
    const first = await tunedAlone(s, a.pass);
    const next = await queued(s);

    // Three lease lifetimes and more, with no heartbeat: A is never cut, B never admitted.
    await holdFor(s, 3 * LIFETIME_MS + 500, [first], [next], 1);
    expect((await stats(s)).active).toBe(1);

    first.close();
    s.notes.droppedMs = await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    // The lease, last renewed by the stream, lapses; then B's turn comes.
    const turn = await admittedLater(s, next, 3 * LIFETIME_MS, "the waiting listener is admitted after A closed");
    s.notes.admittedAfterCloseMs = turn.ms;
    await tunedAlone(s, turn.pass);
    capHeld(s);
  });

  it("c. cuts the stream when the seat is given back from another device; the next listener then plays", async () => {
    const s = await liveRoom("c. leave from another device", "live-leave", 1);
    const a = await admitted(s);
    const phone = await tunedAlone(s, a.pass);
    const next = await queued(s);

    // Another device (no connection of the stream's) leaves with the same pass, while it is
    // valid (past its exp too: see "past its pass's exp" below).
    const left = await leaveWith(s.worker.url, s.room, a.pass);
    expect(left.json.released).toBe(true);
    s.notes.cutMs = await timed(() => phone.isEnded(), CUT_WITHIN_MS, "the stream ends after the leave");
    s.notes.droppedMs = await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    await expectRefused(s, a.pass);

    const turn = await admittedLater(s, next, 3 * LIFETIME_MS, "the next listener gets the seat");
    s.notes.nextAdmittedMs = turn.ms;
    await tunedAlone(s, turn.pass);
    capHeld(s);
  });

  it("d. moves the seat to a newer device: the older device's stream ends, the newer one plays", async () => {
    const s = await liveRoom("d. ticket claimed on a newer device", "live-moved", 1);
    const a = await admitted(s);
    const laptop = await tunedAlone(s, a.pass);
    await holdFor(s, LIFETIME_MS + 500, [laptop], [], 1);

    const claimedAt = Date.now();
    const moving = await statusOf(s, a.ticket);
    s.notes.claimAnsweredAt = Date.now() - s.startedAt;
    s.notes.claimMs = Date.now() - claimedAt;
    // The newer device waits while the older pass is refused everywhere; the older stream is cut now.
    expect(moving.json).toMatchObject({ state: "queued", position: 1 });
    s.notes.cutMs = await timed(() => laptop.isEnded(), CUT_WITHIN_MS, "the older device's stream ends");
    const turn = await admittedLater(s, a.ticket, 3 * CONFIRM_MS, "the newer device gets the seat");
    s.notes.movedAfterMs = Date.now() - claimedAt;
    const pass = turn.pass;
    expect(claimsOf(pass).sid).not.toBe(claimsOf(a.pass).sid);
    expect(claimsOf(pass).gen).toBeGreaterThan(claimsOf(a.pass).gen as number);
    // By the time the newer device has its pass, Icecast has counted the older one out.
    expect(await ice().listeners(s.mount)).toBe(0);

    const phone = await tune(s, pass);
    s.notes.newerStreamAt = Date.now() - s.startedAt;
    await playsMp3(phone);
    await ice().waitForListeners(s.mount, 1, DROP_WITHIN_MS);
    await expectRefused(s, a.pass);
    // The newer device keeps it across a lifetime.
    await holdFor(s, LIFETIME_MS, [phone], [], 1);
    capHeld(s);
  });

  it("e. cuts the stream when the origin answers Spillway-Command: release for its pass", async () => {
    const s = await liveRoom("e. origin says release", "live-bye", 1);
    const a = await admitted(s);
    // The player renews its pass as it plays (the test's passes live 4 s).
    const player = renewing(s.stops, s.worker.url, s.room, a.pass);
    const listener = await tunedAlone(s, a.pass);
    await player.stop();

    // Within the pass's lifetime: a request with an expired pass is refused by Spillway and
    // never reaches the origin (so the origin cannot answer it with a release).
    expect(claimsOf(player.pass).exp as number).toBeGreaterThan(Date.now() / 1000);
    const bye = await send(`${s.worker.url}/rooms/${s.room}/bye`, { headers: bearer(player.pass) });
    expect(bye.status).toBe(200);
    expect(bye.headers.get("spillway-command")).toBeNull();
    expect(started().front.releases).toContain(`/rooms/${s.room}/bye`);
    s.notes.cutMs = await timed(() => listener.isEnded(), CUT_WITHIN_MS, "the stream ends after the release");
    s.notes.droppedMs = await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    await expectRefused(s, player.pass);
    capHeld(s);
  });

  it("f. cuts the stream when ops release the seat", async () => {
    const s = await liveRoom("f. ops release", "live-ops", 1);
    const a = await admitted(s);
    const listener = await tunedAlone(s, a.pass);
    // While the pass is valid (past its exp too: see "past its pass's exp" below).
    const res = await adminCall<{ released: boolean }>(
      s.worker.url,
      s.worker.adminToken,
      "POST",
      `/rooms/${s.room}/release`,
      { pass: a.pass },
    );
    expect(res.json.released).toBe(true);
    s.notes.cutMs = await timed(() => listener.isEnded(), CUT_WITHIN_MS, "the stream ends after the release");
    s.notes.droppedMs = await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    await expectRefused(s, a.pass);
    capHeld(s);
  });

  it("g. lowering capacity while streams play cuts nobody and lets nobody new in", async () => {
    const s = await liveRoom("g. capacity 2 → 1", "live-shrink", 2);
    const a = await admitted(s);
    const b = await admitted(s);
    const streams = [await tune(s, a.pass), await tune(s, b.pass)];
    for (const l of streams) await playsMp3(l);
    await ice().waitForListeners(s.mount, 2, 5_000);

    const patched = await adminCall(s.worker.url, s.worker.adminToken, "PATCH", `/rooms/${s.room}`, { capacity: 1 });
    expect(patched.status).toBe(200);
    const c = await queued(s);

    // Two lifetimes: both keep playing (nobody evicted), C keeps waiting.
    await holdFor(s, 2 * LIFETIME_MS, streams, [c], 2);

    // One closes: the room is at its new capacity, so still nobody new.
    streams[0]!.close();
    await ice().waitForListeners(s.mount, 1, DROP_WITHIN_MS);
    const atOne = Date.now();
    await holdFor(s, LIFETIME_MS + 1_500, [streams[1]!], [c], 1);
    expect(await stats(s)).toMatchObject({ active: 1, capacity: 1 });
    s.notes.maxAfterOneClosed = capHeld(s, 1, atOne);
    capHeld(s);
  });

  it("i. one seat, one live stream: a second stream of the seat cuts the first, and a loop of them never adds to Icecast's count", async () => {
    const s = await liveRoom("i. the same pass, streams again", "live-twice", 1);
    const a = await admitted(s);
    // The player renews its pass as it plays (the test's passes live 4 s).
    const player = renewing(s.stops, s.worker.url, s.room, a.pass);
    const first = await tunedAlone(s, a.pass);

    // The same seat opens the mount again (a player reconnecting, or a client after more streams):
    // the newer connection plays, the older one is cut before Icecast hears of the newer.
    const askedAt = Date.now();
    const second = await tune(s, player.pass);
    s.notes.secondAnsweredMs = Date.now() - askedAt;
    expect(first.isEnded(), "the older stream is cut before the newer one is answered").toBe(true);
    await playsAlone(s, second);

    // A client that keeps opening the mount with one pass, each before the last is answered:
    // only the newest plays, and Icecast never counts more than the room's one seat.
    const pass = player.pass;
    const loop = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        await pause(i * 250);
        return tune(s, pass);
      }),
    );
    const newest = loop[loop.length - 1]!;
    await playsMp3(newest);
    await eventually(() => second.isEnded(), CUT_WITHIN_MS, "the second stream is cut");
    for (const earlier of loop.slice(0, -1)) {
      // Refused before the origin heard of it (409), or cut once a newer one came.
      if (earlier.status === 200) await timed(() => earlier.isEnded(), CUT_WITHIN_MS, "an older stream is cut");
      else expect(earlier.status).toBe(409);
    }
    s.notes.loopStatuses = loop.map((l) => l.status).join("/");
    await holdFor(s, LIFETIME_MS, [newest], [], 1);
    // The seat is still the listener's: nobody waiting was let in, and the pass still opens the mount.
    expect((await stats(s)).active).toBe(1);
    capHeld(s);
  });

  it("j. a player that hangs up and reconnects at once, again and again: Icecast never counts the old stream beside the new", async () => {
    const s = await liveRoom("j. hang up, reconnect at once", "live-again", 1);
    const a = await admitted(s);
    // The player renews its pass as it plays (the test's passes live 4 s).
    const player = renewing(s.stops, s.worker.url, s.room, a.pass);
    let playing = await tunedAlone(s, a.pass);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      // As a player does when its connection stalls: drop it and open the mount again at once.
      playing.close();
      const askedAt = Date.now();
      playing = await tune(s, player.pass);
      waits.push(Date.now() - askedAt);
      expect(playing.status, "the reconnect plays").toBe(200);
      await playsMp3(playing);
    }
    s.notes.reconnectAnsweredMs = waits.join("/");
    await holdFor(s, 1_500, [playing], [], 1);
    capHeld(s);
  });

  /*
   * A known gap, characterised here rather than hidden: the tie renews a held
   * stream's seat but not its listener's pass, and giving a seat back still
   * requires a pass that has not expired. So once a listener has streamed
   * past one pass lifetime without heartbeats (which the tie says it need
   * not send), its seat cannot be given back by any of the three ways while
   * the stream plays on. This test asserts today's behaviour and will fail
   * once that is fixed: then turn it into the scenarios c, e and f run past
   * a pass lifetime.
   */
  it("past its pass's exp, a held stream's seat can still be given back (leave, ops release), and the stream is cut", async () => {
    const s = await liveRoom("give back, pass expired", "live-late", 1);
    const a = await admitted(s);
    const listener = await tunedAlone(s, a.pass);
    // No heartbeat, as the tie allows: the pass expires, the seat does not.
    await holdFor(s, LIFETIME_MS + 500, [listener], [], 1);
    expect(claimsOf(a.pass).exp as number).toBeLessThan(Date.now() / 1000);

    // Leave from another device with the expired pass: the seat is given back and the stream cut.
    const left = await leaveWith(s.worker.url, s.room, a.pass);
    s.notes.leave = `${left.status} ${JSON.stringify(left.json)}`;
    expect(left.status).toBe(200);
    expect(left.json.released).toBe(true);
    s.notes.cutMs = await timed(() => listener.isEnded(), CUT_WITHIN_MS, "the stream ends after the leave");
    await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    // Ops releasing it again changes nothing: the seat is already given back.
    const again = await adminCall(s.worker.url, s.worker.adminToken, "POST", `/rooms/${s.room}/release`, {
      pass: a.pass,
    });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ room: s.room, released: false });
    capHeld(s);
  });
});

describe("Spillway restarted while streams play", () => {
  const ADMIN = `icecast-restart-${crypto.randomUUID()}`;
  let persistTo = "";
  let restarted: RunningWorker | undefined;

  afterAll(async () => {
    try {
      await restarted?.stop();
    } finally {
      if (persistTo !== "") await rm(persistTo, { recursive: true, force: true });
    }
  });

  it("h. keeps the seat across a restart: the listener reconnects and plays, the next one still waits", async () => {
    const port = await freePort();
    persistTo = await tempDir("spillway-icecast-restart-");
    const start = () =>
      startWorker({
        adminToken: ADMIN,
        originUrl: ice().url,
        port,
        persistTo,
        vars: { PASS_TTL_SECONDS: String(RESTART_PASS_TTL_SECONDS) },
      });
    restarted = await start();
    const s = await liveRoom("h. Spillway restart", "live-restart", 1, restarted);
    const a = await admitted(s);
    const before = await tunedAlone(s, a.pass);
    const next = await queued(s);

    // Spillway goes away: the stream through it breaks, and Icecast counts nobody.
    const downAt = Date.now();
    await restarted.stop();
    restarted = undefined;
    await eventually(() => before.isEnded(), CUT_WITHIN_MS, "the stream breaks with Spillway");
    s.notes.droppedMs = await ice().waitForListeners(s.mount, 0, DROP_WITHIN_MS);
    // No stream may reach Icecast while Spillway is down: the earlier one is gone.
    restarted = await start();
    s.notes.downMs = Date.now() - downAt;
    expect(restarted.url).toBe(`http://127.0.0.1:${port}`);

    // A reconnects as an app does: with its pass while it is valid, else its ticket's new pass.
    let again = await tune(s, a.pass);
    s.notes.reconnectedWith = "pass";
    if (again.status === 401) {
      again.close();
      const claimed = await statusOf(s, a.ticket);
      expect(claimed.json.state, `the ticket's claim after ${s.notes.downMs} ms down: ${claimed.text}`).toBe(
        "admitted",
      );
      again = await tune(s, claimed.json.pass!);
      s.notes.reconnectedWith = "ticket";
    }
    const reconnectedAt = Date.now();
    await playsAlone(s, again);
    expect((await statusOf(s, next)).json.state).toBe("queued");

    // Past every lease the seat had before the restart or got by the reconnect itself:
    // only the stream's own hold keeps it, and the next listener still waits.
    const holdMs = reconnectedAt + RESTART_PASS_TTL_SECONDS * 1000 + 2_500 - Date.now();
    await holdFor(s, holdMs, [again], [next], 1);
    expect(await stats(s)).toMatchObject({ active: 1, queued: 1 });
    capHeld(s);
  }, 90_000);
});

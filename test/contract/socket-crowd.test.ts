/**
 * Crowds at a WebSocket origin (support/live-origin.ts: a `ws` server for
 * which every open socket is a listener): the strict cap as that origin
 * counts it when many listeners do the same thing at once, and when their
 * clients misbehave. Each room's sockets are on `/rooms/<room>/socket`,
 * reached through Spillway.
 *
 * Judged by the origin's exact record of every socket it served, from its
 * open to its close (`spans`), so no overlap can hide between two samples:
 * at no instant more of the room's sockets than the capacity, nor two of one
 * seat (the `sid` of the Spillway-Pass each carried), nor one without a
 * seat's pass.
 *
 * The scenarios: every seated listener leaves at once while their old
 * devices keep reopening the socket, and the room refills from the line;
 * every seat moves to a newer device at once, the older devices reopening
 * too; and seated listeners presenting their passes every way a hostile
 * client can (duplicate cookies, cookie and bearer at once, a forged
 * Spillway-Pass header, a burst of sockets with one pass, a ticket in the
 * pass's cookie).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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
import { adminCall, bearer, claimsOf, leaveWith, statusJson } from "./support/http.ts";
import { eventually, type HeldSocket, holdSocket, pause } from "./support/held.ts";
import { atPeak, type LiveOrigin, peakOf, type Span, startLiveOrigin } from "./support/live-origin.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

/**
 * Short passes, so that a held socket outlives several of them within a test;
 * not shorter, because a held seat's renewal may answer a quarter of a pass's
 * life late before its socket is cut as lapsed (1.5 s here): a 4 s pass left
 * 1 s, and one loaded run stalled longer and cut a seated listener.
 */
const PASS_TTL_SECONDS = 6;
/** How soon a seat's end must close its socket. */
const CUT_WITHIN_MS = 3_000;

let origin: LiveOrigin | undefined;
let worker: RunningWorker | undefined;
const sp = () => worker!;

beforeAll(async () => {
  origin = await startLiveOrigin();
  worker = await startWorker({
    adminToken: `sockets-${crypto.randomUUID()}`,
    originUrl: origin.url,
    vars: { PASS_TTL_SECONDS: String(PASS_TTL_SECONDS) },
  });
});

afterAll(async () => {
  await worker?.stop();
  await origin?.close();
});

/** One scenario's room, its sockets and what the origin counted. */
interface Crowd {
  room: string;
  capacity: number;
  /** Every socket opened, so that each is closed after the test. */
  sockets: HeldSocket[];
  /** Background loops to stop after the test. */
  stops: (() => Promise<void>)[];
}

let current: Crowd | undefined;

async function crowdRoom(room: string, capacity: number): Promise<Crowd> {
  // Admissions fast enough that a refill is not held back by the rate (invariant 2 is tested elsewhere).
  const res = await adminCall(sp().url, sp().adminToken, "PATCH", `/rooms/${room}`, { capacity, admitPerMinute: 6000 });
  expect(res.status).toBe(200);
  current = { room, capacity, sockets: [], stops: [] };
  return current;
}

/** Open the room's socket through Spillway with these headers: the socket, or the handshake's refusal status. */
async function openSocket(c: Crowd, headers: Record<string, string>): Promise<HeldSocket | number> {
  const url = `${sp().url.replace("http", "ws")}/rooms/${c.room}/socket`;
  try {
    const socket = await holdSocket(url, headers);
    c.sockets.push(socket);
    return socket;
  } catch (err) {
    const refused = /handshake refused: (\d+)/.exec(String(err));
    if (refused === null) throw err;
    return Number(refused[1]);
  }
}

/** A socket that opened and echoes (a seat's listener playing). */
async function talking(c: Crowd, headers: Record<string, string>): Promise<HeldSocket> {
  const socket = await openSocket(c, headers);
  if (typeof socket === "number") throw new Error(`the socket was refused: ${socket}`);
  expect(await socket.ask("hello")).toBe("echo:hello");
  return socket;
}

/** A client that polls its ticket every EVERY_MS and opens the socket the moment it has a pass. */
async function player(c: Crowd, ticket: string, what: string): Promise<HeldSocket> {
  return talking(c, bearer(await passWhenCalled(sp().url, c.room, ticket, what)));
}

/**
 * An old device that will not let go: from now on it opens the socket with
 * `pass` every EVERY_MS (whatever opens, it keeps), recording when it asked
 * and the handshake's status (101 when it opened).
 */
function reopening(c: Crowd, pass: string): { askedAt: number; status: number }[] {
  const tries: { askedAt: number; status: number }[] = [];
  untilStopped(c.stops, async () => {
    const askedAt = Date.now();
    const socket = await openSocket(c, bearer(pass));
    tries.push({ askedAt, status: typeof socket === "number" ? socket : 101 });
    await pause(EVERY_MS);
  });
  return tries;
}

/** Each of these sockets is closed by Spillway within CUT_WITHIN_MS, with this code and reason. */
async function allClosed(sockets: HeldSocket[], code: number, reason: string): Promise<void> {
  await eventually(() => sockets.every((s) => s.isClosed()), CUT_WITHIN_MS, `every socket closed (${reason})`);
  for (const s of sockets) expect(await s.closed).toEqual({ code, reason });
}

/**
 * The strict cap as the origin counts it, over everything it served in
 * the room: never more sockets at once than the capacity, never two of one
 * seat, and each with a pass Spillway gave. For the log: the most at once,
 * and the shortest time from one of a seat's sockets closing at the origin
 * to its next one opening there.
 */
function capHeld(c: Crowd): { most: number; spans: number; closest: number } {
  const spans = origin!.spans.filter((s) => s.path === `/rooms/${c.room}/socket`);
  const most = peakOf(spans);
  const t0 = spans[0]?.openedAt ?? 0;
  const open = atPeak(spans).map(
    (s) => `seat ${String(claimsOf(s.pass).sid).slice(0, 8)} ${s.openedAt - t0}–${(s.closedAt ?? NaN) - t0} ms`,
  );
  expect(most, `${most} sockets of the room open at once at the origin: ${open.join(", ")}`).toBeLessThanOrEqual(
    c.capacity,
  );
  const bySeat = new Map<string, Span[]>();
  for (const s of spans) {
    const sid = String(claimsOf(s.pass).sid);
    expect(sid).toMatch(/^(?!forged-seat$)[\w-]+$/);
    bySeat.set(sid, [...(bySeat.get(sid) ?? []), s]);
  }
  let closest = Infinity;
  for (const [sid, seat] of bySeat) {
    expect(peakOf(seat), `sockets of seat ${sid} at once`).toBe(1);
    // How long after one of a seat's sockets closed at the origin its next one opened there.
    for (const [i, s] of seat.slice(1).entries()) closest = Math.min(closest, s.openedAt - seat[i]!.closedAt!);
  }
  return { most, spans: spans.length, closest };
}

afterEach(async () => {
  const c = current;
  current = undefined;
  if (c === undefined) return;
  for (const stop of c.stops) await stop();
  for (const s of c.sockets) s.socket.close(1000, "done");
});

describe("crowds at a WebSocket origin", () => {
  it("everyone seated leaves at once while their old devices reopen: the line refills the room, never past the cap", async () => {
    const c = await crowdRoom("sockets-leave", 5);
    const first = await seatedIn(sp().url, c.room, 5);
    const sockets = await Promise.all(first.map((l) => talking(c, bearer(l.pass))));
    const line = await waitingIn(sp().url, c.room, 5);
    const players = line.map((ticket, i) => player(c, ticket, `listener ${i + 1} in line is seated after the leaves`));

    // Every seat is given back from another device at the same moment; each first device keeps reopening.
    const leaving = Promise.all(first.map((l) => leaveWith(sp().url, c.room, l.pass)));
    const tries = first.map((l) => reopening(c, l.pass));
    const left = await leaving;
    const answeredAt = Date.now();
    for (const l of left) expect(l.json.released).toBe(true);
    await allClosed(sockets, 4001, "seat_ended:left");
    const refilled = await Promise.all(players);
    const refilledMs = Date.now() - answeredAt;
    await pause(2_000);
    for (const stop of c.stops.splice(0)) await stop();

    // Whatever an old device opened before its leave was answered was closed; nothing after it got in.
    const after = tries.flat().filter((t) => t.askedAt > answeredAt);
    expect(after.length, "the old devices kept trying after the leaves").toBeGreaterThan(5);
    for (const t of after) expect([401, 409]).toContain(t.status);
    for (const s of c.sockets.filter((s) => !refilled.includes(s))) {
      await eventually(() => s.isClosed(), CUT_WITHIN_MS, "every socket of an old device is closed");
    }
    for (const s of refilled) expect(await s.ask("still")).toBe("echo:still");
    const judged = capHeld(c);
    console.log(
      `sockets, everyone leaves: ${after.length} reopenings after the leaves, all refused; ` +
        `the line seated and talking ${refilledMs} ms after; the origin's most at once ${judged.most} of 5 (${judged.spans} sockets)`,
    );
  }, 90_000);

  it("every seat moves to a newer device at once while the older devices reopen: nobody else gets in, never two of a seat", async () => {
    const c = await crowdRoom("sockets-move", 4);
    const first = await seatedIn(sp().url, c.room, 4);
    const laptops = await Promise.all(first.map((l) => talking(c, bearer(l.pass))));
    const outsiders = await waitingIn(sp().url, c.room, 2);

    const moving = await Promise.all(first.map((l) => statusJson(sp().url, c.room, l.ticket)));
    const answeredAt = Date.now();
    const tries = first.map((l) => reopening(c, l.pass));
    for (const m of moving) expect(m.json).toMatchObject({ state: "queued", position: 1 });
    await allClosed(laptops, 4002, "seat_ended:moved");
    const phones = await Promise.all(first.map((l, i) => player(c, l.ticket, `the newer device of seat ${i + 1}`)));
    const movedMs = Date.now() - answeredAt;
    await pause(2_000);
    for (const stop of c.stops.splice(0)) await stop();

    expect(tries.flat().length, "the older devices kept trying").toBeGreaterThan(4);
    for (const t of tries.flat()) expect([401, 409]).toContain(t.status);
    for (const p of phones) expect(await p.ask("still")).toBe("echo:still");
    // The seats stayed their listeners': those in line still wait.
    for (const ticket of outsiders) expect((await statusJson(sp().url, c.room, ticket)).json.state).toBe("queued");
    const judged = capHeld(c);
    console.log(
      `sockets, every seat moves: ${tries.flat().length} reopenings of the older devices, all refused; ` +
        `the newer devices talking ${movedMs} ms after the claims; the origin's most at once ${judged.most} of 4`,
    );
  }, 90_000);

  it("seated listeners presenting their passes every way a hostile client can: one socket a seat, never past the cap", async () => {
    const c = await crowdRoom("sockets-hostile", 3);
    const cookie = (token: string) => passCookie(c.room, token);
    const first = await seatedIn(sp().url, c.room, 3);
    // Each seat's player renews its pass from the start, as players do (the test's passes live 6 s).
    const players = first.map((l) => renewing(c.stops, sp().url, c.room, l.pass));
    const inLine = await waitingIn(sp().url, c.room, 2);
    // Each seat in turn, with its newest pass: its pass's cookie twice; the cookie and the bearer; the
    // cookie with a forged Spillway-Pass; then five sockets at once with its pass.
    const ways = hostileWays(c.room);
    const newest = await Promise.all(
      players.map(async (p) => {
        let last: HeldSocket | undefined;
        for (const way of ways) {
          const older = last;
          last = await talking(c, way(p.pass));
          if (older !== undefined) {
            const closed = await Promise.race([older.closed, pause(CUT_WITHIN_MS).then(() => "still open")]);
            expect(closed, "the seat's older socket").toEqual({ code: 4004, reason: "connection_replaced" });
          }
        }
        const burst = await Promise.all(Array.from({ length: 5 }, () => openSocket(c, bearer(p.pass))));
        const opened = burst.filter((s): s is HeldSocket => typeof s !== "number");
        for (const s of burst) if (typeof s === "number") expect(s).toBe(409);
        expect(opened.length, "at least one of the burst opened").toBeGreaterThanOrEqual(1);
        return { opened, before: last!, burst: burst.map((b) => (typeof b === "number" ? b : 101)).join("/") };
      }),
    );
    // A ticket in the pass's cookie is no pass.
    expect(await openSocket(c, { cookie: cookie(inLine[0]!) })).toBe(401);
    await pause(1_000);
    for (const [i, seat] of newest.entries()) {
      // Of everything a seat opened, one socket is open now and talks; every older one was closed as replaced.
      const open = [seat.before, ...seat.opened].filter((s) => !s.isClosed());
      expect(open.length, `seat ${i + 1}'s sockets open`).toBe(1);
      expect(await open[0]!.ask("mine")).toBe("echo:mine");
    }
    for (const ticket of inLine) expect((await statusJson(sp().url, c.room, ticket)).json.state).toBe("queued");
    const judged = capHeld(c);
    console.log(
      `sockets, hostile clients: bursts of five answered ${newest.map((n) => n.burst).join(", ")}; ` +
        `the origin's most at once ${judged.most} of 3 (${judged.spans} sockets); ` +
        `a seat's next socket opened ≥ ${judged.closest} ms after its older one closed`,
    );
  }, 90_000);
});

import { describe, expect, it } from "vitest";
import {
  call,
  letRevocationsThrough,
  passClaims,
  patchRoom,
  roomName,
  stats,
  type Status,
  useManualClock,
  statusHolding,
} from "./helpers.ts";

const t = useManualClock();

const CAPACITY = 50;
const LISTENERS = 220;

async function postJoin(room: string): Promise<Status> {
  const res = await call(`/_spillway/rooms/${room}/join`, { method: "POST" });
  expect(res.status).toBe(200);
  return res.json<Status>();
}

async function poll(room: string, ticket: string): Promise<Status> {
  const res = await call(`/_spillway/rooms/${room}/status`, { headers: { authorization: `Bearer ${ticket}` } });
  expect(res.status).toBe(200);
  return res.json<Status>();
}

/** Every pass handed out, keyed by listener: the seats (sids) they name. */
class PassBook {
  readonly sidsBySub = new Map<string, Set<string>>();
  readonly allSids = new Set<string>();

  record(body: Status): void {
    if (body.pass === undefined) return;
    expect(body.state).toBe("admitted");
    const claims = passClaims(body.pass);
    const sids = this.sidsBySub.get(claims.sub) ?? new Set<string>();
    sids.add(claims.sid);
    this.sidsBySub.set(claims.sub, sids);
    this.allSids.add(claims.sid);
  }
}

describe("strict cap", () => {
  it("never hands out more distinct seats than the capacity under concurrent joins and claims", async () => {
    const room = roomName("cap");
    await patchRoom(room, { capacity: CAPACITY });
    const book = new PassBook();

    const joined = await Promise.all(Array.from({ length: LISTENERS }, () => postJoin(room)));
    for (const body of joined) book.record(body);
    const tickets = joined.map((b) => b.ticket!);
    expect(new Set(tickets).size).toBe(LISTENERS);
    expect(book.allSids.size).toBeLessThanOrEqual(CAPACITY);

    for (let round = 0; round < 3; round++) {
      t.clock.advance(1_100);
      const polled = await Promise.all(tickets.map((ticket) => poll(room, ticket)));
      for (const body of polled) book.record(body);
      expect(book.allSids.size).toBeLessThanOrEqual(CAPACITY);
      const s = await stats(room);
      expect(s.active).toBeLessThanOrEqual(CAPACITY);
    }

    // The room filled up: every seat is taken, each by one listener with one sid.
    expect(book.allSids.size).toBe(CAPACITY);
    expect(book.sidsBySub.size).toBe(CAPACITY);
    for (const sids of book.sidsBySub.values()) expect(sids.size).toBe(1);

    const s = await stats(room);
    expect(s.active).toBe(CAPACITY);
    expect(s.peakConcurrent).toBe(CAPACITY);
    expect(s.admittedTotal).toBe(CAPACITY);
    expect(s.joined).toBe(LISTENERS);
    expect(s.queued).toBe(LISTENERS - CAPACITY);
    // Some hundreds of requests in rounds: several seconds on a busy machine.
  }, 30_000);

  it("returns the same seat to an admitted listener who polls again from its device, however often and concurrently", async () => {
    const room = roomName("cap-retry");
    await patchRoom(room, { capacity: 5 });
    const first = await postJoin(room);
    expect(first.state).toBe("admitted");
    const sid = passClaims(first.pass!).sid;

    const retries = await Promise.all(
      Array.from({ length: 30 }, () => statusHolding(room, first.ticket!, first.pass!)),
    );
    for (const { body } of retries) {
      expect(body.state).toBe("admitted");
      expect(passClaims(body.pass!).sid).toBe(sid);
    }
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.admittedTotal).toBe(1);
  });

  it("never gives one ticket a second seat when many other devices claim it at once", async () => {
    const room = roomName("cap-devices");
    await patchRoom(room, { capacity: 5 });
    const first = await postJoin(room);
    // Thirty devices with the ticket alone: the seat moves (to be taken later), and none gets a pass now.
    const others = await Promise.all(Array.from({ length: 30 }, () => poll(room, first.ticket!)));
    for (const body of others) {
      expect(body.state).toBe("queued");
      expect(body.pass).toBeUndefined();
    }
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.admittedTotal).toBe(1);
  });

  it("keeps the cap when seats free up while many waiting listeners claim at once", async () => {
    const room = roomName("cap-churn");
    const capacity = 10;
    await patchRoom(room, { capacity });
    const book = new PassBook();

    const joined = await Promise.all(Array.from({ length: 80 }, () => postJoin(room)));
    for (const body of joined) book.record(body);
    const holders = joined.filter((b) => b.pass !== undefined);
    expect(holders.length).toBe(capacity);

    // Half the audience leaves while everyone else polls concurrently.
    const leaving = holders.slice(0, 5);
    // Those in line poll; once admitted, a device polls with its pass along (as a browser does).
    const waiting = joined.filter((b) => b.pass === undefined).map((b) => ({ ticket: b.ticket!, pass: b.pass }));
    const pollAll = async () => {
      const bodies = await Promise.all(
        waiting.map(async (w) =>
          w.pass === undefined ? poll(room, w.ticket) : (await statusHolding(room, w.ticket, w.pass)).body,
        ),
      );
      bodies.forEach((body, i) => {
        book.record(body);
        if (body.pass !== undefined) waiting[i]!.pass = body.pass;
      });
      return bodies;
    };
    t.clock.advance(1_100);
    const [leavesRes, polled] = await Promise.all([
      Promise.all(
        leaving.map((b) =>
          call(`/_spillway/rooms/${room}/leave`, { method: "POST", headers: { authorization: `Bearer ${b.pass}` } }),
        ),
      ),
      pollAll(),
    ]);
    expect(polled.every((body) => body.pass === undefined)).toBe(true);
    for (const r of leavesRes) expect(await r.json()).toMatchObject({ left: true, released: true });

    // Past the edge view's lifetime and the delay before a given-back seat is reused.
    await letRevocationsThrough(t.clock, room);
    // Concurrent polls answer from the view in hand while one of them fetches the next:
    // the listeners called meanwhile claim on their next poll.
    await pollAll();
    const again = await pollAll();

    // Five left and five came in: 15 seats granted over time, never more than 10 at once.
    expect(book.allSids.size).toBe(capacity + leaving.length);
    expect(again.filter((b) => b.state === "admitted").length).toBe(leaving.length);
    const s = await stats(room);
    expect(s.active).toBe(capacity);
    expect(s.peakConcurrent).toBe(capacity);
    expect(s.left).toBe(leaving.length);
  });
});

import { describe, expect, it } from "vitest";
import { cookieName } from "../../src/edge/credentials.ts";
import {
  call,
  join,
  leave,
  letRevocationsThrough,
  passClaims,
  patchRoom,
  roomName,
  stats,
  status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

/** Past the edge's cached view and the delay before a given-back seat is reused. */

/** Five joins into a room of three seats. */
async function fiveIntoThree(room: string) {
  await patchRoom(room, { capacity: 3 });
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await join(room));
  return answers;
}

describe("queue order and places", () => {
  it("admits three of five into a room of three and queues the other two at positions 1 and 2", async () => {
    const room = roomName("q-five");
    const answers = await fiveIntoThree(room);

    for (const { res, body } of answers) {
      expect(res.status).toBe(200);
      expect(typeof body.ticket).toBe("string");
    }
    const admitted = answers.slice(0, 3).map((a) => a.body);
    for (const body of admitted) {
      expect(body.state).toBe("admitted");
      expect(typeof body.pass).toBe("string");
      expect(passClaims(body.pass!).aud).toBe(room);
    }
    expect(new Set(admitted.map((b) => passClaims(b.pass!).sid)).size).toBe(3);

    const [fourth, fifth] = [answers[3]!.body, answers[4]!.body];
    expect(fourth).toMatchObject({ state: "queued", position: 1, ahead: 0 });
    expect(fifth).toMatchObject({ state: "queued", position: 2, ahead: 1 });
    expect(fourth.pass).toBeUndefined();
    expect(fifth.pass).toBeUndefined();

    const s = await stats(room);
    expect(s.active).toBe(3);
    expect(s.queued).toBe(2);
    expect(s.joined).toBe(5);
  });

  it("gives the freed seat to position 1 after a leave and moves position 2 up", async () => {
    const room = roomName("q-leave");
    const answers = await fiveIntoThree(room);
    const firstPass = answers[0]!.body.pass!;
    const fourthTicket = answers[3]!.body.ticket!;
    const fifthTicket = answers[4]!.body.ticket!;

    const left = await leave(room, firstPass);
    expect(left.status).toBe(200);
    expect(await left.json()).toMatchObject({ room, left: true, released: true });

    await letRevocationsThrough(t.clock, room);

    const next = await status(room, fourthTicket);
    expect(next.res.status).toBe(200);
    expect(next.body.state).toBe("admitted");
    expect(typeof next.body.pass).toBe("string");
    expect(next.body.position).toBeNull();
    const pass = passClaims(next.body.pass!);
    expect(pass.aud).toBe(room);
    expect(pass.sid).not.toBe(passClaims(firstPass).sid);

    const behind = await status(room, fifthTicket);
    expect(behind.body).toMatchObject({ state: "queued", position: 1, ahead: 0 });
    expect(behind.body.pass).toBeUndefined();

    const s = await stats(room);
    expect(s.active).toBe(3);
    expect(s.left).toBe(1);
  });

  it("keeps a waiting listener's place when it joins again with its ticket", async () => {
    const room = roomName("q-rejoin");
    const answers = await fiveIntoThree(room);
    const fifth = answers[4]!.body;
    const before = await stats(room);

    const again = await join(room, { authorization: `Bearer ${fifth.ticket}` });
    expect(again.res.status).toBe(200);
    expect(again.body).toMatchObject({ state: "queued", position: 2, ahead: 1, ticket: fifth.ticket });

    // And again after the line has moved: still one place, now at the front.
    await leave(room, answers[0]!.body.pass!);
    await letRevocationsThrough(t.clock, room);
    await status(room, answers[3]!.body.ticket!);
    const third = await join(room, { authorization: `Bearer ${fifth.ticket}` });
    expect(third.body).toMatchObject({ state: "queued", position: 1, ahead: 0, ticket: fifth.ticket });

    const after = await stats(room);
    expect(after.joined).toBe(before.joined);
    expect(after.queued).toBe(1);
  });

  it("keeps an admitted listener's seat when it joins again with its ticket from its device", async () => {
    const room = roomName("q-rejoin-seat");
    const answers = await fiveIntoThree(room);
    const first = answers[0]!.body;

    // Its device sends the pass along (a browser's cookie): the same seat.
    const again = await join(room, {
      authorization: `Bearer ${first.ticket}`,
      cookie: `${cookieName("pass", room, false)}=${first.pass}`,
    });
    expect(again.body.state).toBe("admitted");
    expect(again.body.ticket).toBe(first.ticket);
    expect(passClaims(again.body.pass!).sid).toBe(passClaims(first.pass!).sid);

    const s = await stats(room);
    expect(s.joined).toBe(5);
    expect(s.active).toBe(3);
    expect(s.admittedTotal).toBe(3);
  });

  it("answers status polls with the contract's JSON fields", async () => {
    const room = roomName("q-shape");
    const answers = await fiveIntoThree(room);

    const queued = await call(`/_spillway/rooms/${room}/status`, {
      headers: { authorization: `Bearer ${answers[4]!.body.ticket}` },
    });
    expect(queued.status).toBe(200);
    expect(queued.headers.get("content-type")).toMatch(/^application\/json\b/);
    expect(queued.headers.get("cache-control")).toBe("no-store");
    expect(Number(queued.headers.get("retry-after"))).toBeGreaterThan(0);
    const q = await queued.json<Record<string, unknown>>();
    for (const field of [
      "room",
      "state",
      "position",
      "ahead",
      "etaSeconds",
      "pollAfterSeconds",
      "startsAt",
      "recordingUrl",
    ]) {
      expect(q).toHaveProperty(field);
    }
    expect(q).toMatchObject({ room, state: "queued", position: 2, ahead: 1, startsAt: null, recordingUrl: null });
    expect(typeof q.pollAfterSeconds).toBe("number");
    expect(q.pollAfterSeconds as number).toBeGreaterThanOrEqual(1);
    expect(q.etaSeconds === null || typeof q.etaSeconds === "number").toBe(true);

    const admitted = await call(`/_spillway/rooms/${room}/status`, {
      headers: {
        authorization: `Bearer ${answers[0]!.body.ticket}`,
        cookie: `${cookieName("pass", room, false)}=${answers[0]!.body.pass}`,
      },
    });
    expect(admitted.headers.get("content-type")).toMatch(/^application\/json\b/);
    const a = await admitted.json<Record<string, unknown>>();
    expect(a).toMatchObject({
      room,
      state: "admitted",
      position: null,
      ahead: null,
      startsAt: null,
      recordingUrl: null,
    });
    expect(typeof a.pass).toBe("string");
    const exp = passClaims(a.pass as string).exp;
    expect(a.passExpiresAt).toBe(new Date(exp * 1000).toISOString());
  });
});

describe("a shuffled prequeue whose far start is cleared", () => {
  it("keeps the room syncing and admitting everyone in line", async () => {
    const room = roomName("q-far-start");
    await patchRoom(room, { mode: "hold" });
    const first = [(await join(room)).body, (await join(room)).body];
    await patchRoom(room, { startsAt: "2096-01-01T00:00:00Z", shuffleAtStart: true });
    t.clock.advance(2_000);
    const prequeued = [(await join(room)).body, (await join(room)).body];
    expect(prequeued.map((b) => b.state)).toEqual(["prequeue", "prequeue"]);
    // Cleared: those who prequeued (filed under the far start's second) are called with the rest.
    // (That the room's view stays small meanwhile is coordinator.test.ts's "view's arrival seconds".)
    await patchRoom(room, { startsAt: null, shuffleAtStart: false, mode: "open", capacity: 5 });
    t.clock.advance(2_000);
    expect((await join(room)).body.state).not.toBe("prequeue");
    t.clock.advance(2_000);
    const polled = await Promise.all([...first, ...prequeued].map((b) => status(room, b.ticket!)));
    expect(polled.map((p) => p.body.state)).toEqual(["admitted", "admitted", "admitted", "admitted"]);
    expect((await stats(room)).active).toBe(5);
  }, 20_000);
});

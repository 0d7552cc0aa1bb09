/**
 * A path that streams live is held before the origin is asked in every
 * isolate of the room, not only in the one that saw it stream: the isolate
 * that notes a new live path tells the room's coordinator, the room's view
 * lists it, and an isolate that reads the view knows it. Another isolate is
 * played here by forgetting what this one noted (as a fresh isolate knows
 * nothing) while the seat's first stream goes on.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { forgetLivePaths, isLivePath, liveKeyOf } from "../../src/edge/live-paths.ts";
import { forgetViews } from "../../src/edge/view-cache.ts";
import { MAX_ROOM_LIVE_PATHS } from "../../src/policy/protocol.ts";
import { SYNC_INTERVAL_MS } from "../../src/policy/rounds.ts";
import { advance, bearer, call, join, patchRoom, roomName, shardStub, stats, useManualClock } from "./helpers.ts";

const t = useManualClock();

afterEach(() => forgetLivePaths());

function coordinatorView(room: string) {
  return env.ROOM_COORDINATOR.getByName(room).view(room);
}

/** Until `check` holds (real time: the report to the coordinator runs after the answer). */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never: ${what}`);
}

/** Keep reading a stream; `ended()` once it ended (cut by Spillway, or by the origin). */
function reading(res: Response): { ended: () => boolean; cancel: () => Promise<void> } {
  const reader = res.body!.getReader();
  let ended = false;
  void (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // Cut with an error: ended all the same.
    }
    ended = true;
  })();
  return { ended: () => ended, cancel: () => reader.cancel().catch(() => undefined) };
}

describe("live paths spread through the room's view", () => {
  it("a path one isolate saw stream is held before the origin by another: the seat's older stream is cut first", async () => {
    const room = roomName("live-spread");
    await patchRoom(room, { capacity: 1 });
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");
    const path = `/rooms/${room}/live.wav`;

    const first = await call(path, { headers: bearer(listener.pass!) });
    expect(first.status).toBe(200);
    const firstStream = reading(first);
    // This isolate noted the path, and told the room's coordinator: its view lists it.
    expect(isLivePath(path)).toBe(true);
    await until(
      async () => (await coordinatorView(room)).livePaths?.some((p) => p.path === path && p.media) === true,
      "the view lists it",
    );
    expect((await stats(room)).doCalls.live).toBe(1);

    // Another isolate: it has not seen the path stream. It learns it from the room's view.
    forgetLivePaths();
    advance(t.clock, SYNC_INTERVAL_MS);
    await shardStub(room).syncNow(room, 0);
    expect(isLivePath(path)).toBe(false);
    const askedAt = { firstEnded: false };
    const second = call(path, { headers: bearer(listener.pass!) }).then((res) => {
      askedAt.firstEnded = firstStream.ended();
      return res;
    });
    const res = await second;
    expect(res.status).toBe(200);
    expect(isLivePath(path)).toBe(true);
    // Held before the origin was asked: the seat's older stream had been cut by the time the newer was answered.
    expect(askedAt.firstEnded).toBe(true);
    const secondStream = reading(res);
    expect(secondStream.ended()).toBe(false);
    // It knew the path from the view: it did not tell the coordinator again.
    expect((await stats(room)).doCalls.live).toBe(1);
    await secondStream.cancel();
  }, 20_000);

  it("a mount the room's config names is live from the room's view on, before any edge saw it stream", async () => {
    const room = roomName("live-named");
    const path = `/rooms/${room}/live.wav`;
    await patchRoom(room, { capacity: 1, liveMounts: ["live.wav", "low/live.aac"] });
    expect(isLivePath(path)).toBe(false);
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");
    // The join's answer brought the room's view: both named mounts are live media paths here now.
    expect((await coordinatorView(room)).liveMounts).toEqual(["live.wav", "low/live.aac"]);
    expect(isLivePath(path)).toBe(true);
    expect(isLivePath(`/rooms/${room}/low/live.aac`)).toBe(true);
    expect(liveKeyOf(path)).toBe(liveKeyOf(`/rooms/${room}/low/live.aac`));

    // Its first stream is held as the seat's live connection before the origin is asked: a second
    // stream of the seat is answered only once the first has been cut.
    const first = reading(await call(path, { headers: bearer(listener.pass!) }));
    const second = await call(path, { headers: bearer(listener.pass!) });
    expect(second.status).toBe(200);
    expect(first.ended()).toBe(true);
    const secondStream = reading(second);
    // Known from the config, the path was never told to the coordinator as newly seen.
    expect((await stats(room)).doCalls.live ?? 0).toBe(0);
    await secondStream.cancel();
  }, 20_000);

  it("the view lists at most MAX_ROOM_LIVE_PATHS, the oldest noted going first, and never anything but a path", async () => {
    const room = roomName("live-bound");
    const coordinator = env.ROOM_COORDINATOR.getByName(room);
    expect(await coordinator.noteLivePath(room, "/rooms/x/a", true)).toBe(true);
    expect(await coordinator.noteLivePath(room, "/rooms/x/a", true)).toBe(false);
    for (const bad of ["rooms/x/a", "/rooms/x/a?pass=1", `/${"a".repeat(600)}`, ""]) {
      expect(await coordinator.noteLivePath(room, bad, true)).toBe(false);
    }
    for (let i = 0; i < MAX_ROOM_LIVE_PATHS; i++) await coordinator.noteLivePath(room, `/rooms/x/${i}`, false);
    const listed = (await coordinatorView(room)).livePaths!.map((p) => p.path);
    expect(listed).toHaveLength(MAX_ROOM_LIVE_PATHS);
    expect(listed).not.toContain("/rooms/x/a");
    expect(listed.at(-1)).toBe(`/rooms/x/${MAX_ROOM_LIVE_PATHS - 1}`);
    forgetViews();
  });
});

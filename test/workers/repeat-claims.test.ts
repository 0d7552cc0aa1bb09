/**
 * Repeat claims answered at the edge (src/edge/repeat-claims.ts): once a
 * ticket's turn has come, a device polling its status as fast as it can
 * costs its shard one claim per couple of seconds while the answer stands,
 * and the answer changes as soon as the room does.
 */
import { describe, expect, it } from "vitest";
import { REPEAT_CLAIM_MS } from "../../src/edge/repeat-claims.ts";
import { advance, join, letRevocationsThrough, patchRoom, roomName, stats, status, useManualClock } from "./helpers.ts";

const t = useManualClock();

/** Claims the room's shards have served so far. */
async function claims(room: string): Promise<number> {
  return (await stats(room)).doCalls.claim ?? 0;
}

describe("a called ticket polled as fast as it can be", () => {
  it("costs one claim while the seat is moving, then claims again once the pause is over", async () => {
    const room = roomName("repeat-claims");
    await patchRoom(room, { capacity: 1 });
    const first = (await join(room)).body;
    expect(first.state).toBe("admitted");
    const before = await claims(room);

    // Another device polls with the ticket alone: its first claim moves the seat; the rest wait.
    for (let i = 0; i < 20; i++) {
      const { body } = await status(room, first.ticket!);
      expect(body.state).toBe("queued");
    }
    expect((await claims(room)) - before).toBe(1);

    // After the pause, one more claim; once the move is confirmed the seat is this device's.
    advance(t.clock, REPEAT_CLAIM_MS);
    expect((await status(room, first.ticket!)).body.state).toBe("queued");
    expect((await claims(room)) - before).toBe(2);
    await letRevocationsThrough(t.clock, room);
    advance(t.clock, REPEAT_CLAIM_MS);
    const seated = (await status(room, first.ticket!)).body;
    expect(seated.state).toBe("admitted");
    expect(seated.pass).toBeTruthy();
  });
});

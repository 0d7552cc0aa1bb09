import { describe, expect, it } from "vitest";
import { join, patchRoom, roomName, stats, status, useManualClock, advance } from "./helpers.ts";

const t = useManualClock();

describe("waiting polls", () => {
  it("are answered from the ticket and the cached view, without a Durable Object call each", async () => {
    const room = roomName("poll-cost");
    await patchRoom(room, { capacity: 1 });
    await join(room);
    const waiting = await Promise.all([join(room), join(room), join(room)]);
    const before = (await stats(room)).doCalls;

    let polls = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) {
        for (const w of waiting) {
          const { body } = await status(room, w.body.ticket!);
          expect(body.state).toBe("queued");
          polls++;
        }
      }
      advance(t.clock, 1_001);
    }

    const after = (await stats(room)).doCalls;
    // One view refresh per second of polling at most; no claims, no joins.
    expect((after.view ?? 0) - (before.view ?? 0)).toBeLessThanOrEqual(3);
    expect(after.claim ?? 0).toBe(before.claim ?? 0);
    expect(after.join).toBe(before.join);
    expect(polls).toBe(180);
  });
});

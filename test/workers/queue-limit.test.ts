/**
 * Strict `maxQueue` in workerd: a burst of concurrent joins, all within a
 * second (faster than any room view), gets exactly the places the line has
 * — one shard or several — and the rest are offered the recording with no
 * place, each join one call to its shard.
 */
import { describe, expect, it } from "vitest";
import { join, patchRoom, roomName, stats, type Status, useManualClock } from "./helpers.ts";

useManualClock();

/** `n` joins at once; their answers' states. */
async function burst(room: string, n: number): Promise<Status[]> {
  const answers = await Promise.all(Array.from({ length: n }, () => join(room)));
  for (const a of answers) expect(a.res.status).toBe(200);
  return answers.map((a) => a.body);
}

function count(answers: Status[], state: Status["state"]): number {
  return answers.filter((a) => a.state === state).length;
}

describe("maxQueue under a burst", () => {
  it("capacity 1, maxQueue 2, five joins at once: one seated, two in line, two offered the recording", async () => {
    const room = roomName("qburst");
    await patchRoom(room, { capacity: 1, maxQueue: 2, recordingUrl: "https://example.com/rec" });
    const answers = await burst(room, 5);
    expect(count(answers, "admitted")).toBe(1);
    expect(count(answers, "queued")).toBe(2);
    const offered = answers.filter((a) => a.state === "overflow");
    expect(offered).toHaveLength(2);
    for (const o of offered) {
      expect(o.offer).toEqual({ reason: "max_queue", canKeepPlace: false });
      expect(o.overflowToken).toBeTypeOf("string");
      expect(o.ticket).toBeUndefined();
      expect(o.recordingUrl).toBe("https://example.com/rec");
    }
    const s = await stats(room);
    expect(s.joined).toBe(3);
    expect(s.overflowed).toBe(2);
  });

  it("four shards, maxQueue 5, forty joins at once: at most five in line, the seats within capacity, the rest offered", async () => {
    const room = roomName("qshards");
    await patchRoom(room, { capacity: 3, maxQueue: 5, shards: 4 });
    const answers = await burst(room, 40);
    const admitted = count(answers, "admitted");
    const queued = count(answers, "queued");
    const offered = answers.filter((a) => a.state === "overflow");
    expect(admitted).toBeLessThanOrEqual(3);
    expect(queued).toBeLessThanOrEqual(5);
    expect(admitted + queued + offered.length).toBe(40);
    for (const o of offered) expect(o.offer).toEqual({ reason: "max_queue", canKeepPlace: false });
    // Not a room that turned everyone away: the line got places.
    expect(queued).toBeGreaterThan(0);
    const s = await stats(room);
    expect(s.queued).toBe(queued);
    expect(s.active).toBeLessThanOrEqual(3);
  });
});

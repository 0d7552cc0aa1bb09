/**
 * The status JSON's room facts: every answer carries the room's start time
 * as ISO text, written fresh whenever the start time differs from the last
 * answer's (it is kept between answers, as a room's start time rarely moves).
 */
import { describe, expect, it } from "vitest";
import { closedStatus, queuedStatus } from "../../src/contract/status.ts";

const AT = Date.UTC(2026, 11, 4, 20, 0, 0);
const random = () => 0.5;

describe("status facts", () => {
  it("gives each answer its own room's start time, whatever the answer before it said", () => {
    const starts = [AT, AT, AT + 90_000, null, AT, null, null, AT - 1];
    for (const startsAt of starts) {
      const body = queuedStatus("r", 3, 10, random, { startsAt, recordingUrl: "https://rec.example/r" });
      expect(body.startsAt).toBe(startsAt === null ? null : new Date(startsAt).toISOString());
      expect(body.recordingUrl).toBe("https://rec.example/r");
    }
  });

  it("writes the start time the same way in every kind of answer", () => {
    const facts = { startsAt: AT + 1, recordingUrl: null };
    const queued = queuedStatus("r", 1, null, random, facts);
    const closed = closedStatus("r", facts);
    expect(queued.startsAt).toBe("2026-12-04T20:00:00.001Z");
    expect(closed.startsAt).toBe(queued.startsAt);
  });
});

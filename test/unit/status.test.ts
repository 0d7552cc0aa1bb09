/**
 * The status JSON's room facts: every answer carries the room's start time
 * as ISO text, written fresh whenever the start time differs from the last
 * answer's (it is kept between answers, as a room's start time rarely moves).
 * And the shape of a waiting poll's answer: `ticket` and `lane` held from
 * the start, so that setting them later changes no object's shape, with the
 * JSON as if they were added at the end.
 */
import { describe, expect, it } from "vitest";
import { closedStatus, prequeueStatus, queuedStatus } from "../../src/contract/status.ts";

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

  it("holds a waiting poll's ticket and lane from the start, left out of the JSON until set, then last in it", () => {
    const facts = { startsAt: AT, recordingUrl: "https://rec.example/r" };
    const waiting = [queuedStatus("r", 3, 10, random, facts), prequeueStatus("r", AT - 60_000, facts)];
    const sentKeys = (body: object) => Object.keys(JSON.parse(JSON.stringify(body)) as object);
    for (const body of waiting) {
      // Own keys from the start: a join or a lane sets them in place, never adding a property.
      const keys = Object.keys(body);
      expect(keys.slice(-2)).toEqual(["ticket", "lane"]);
      expect(body.ticket).toBeUndefined();
      expect(body.lane).toBeUndefined();
      // Sent, the two undefined are left out and the rest keep their order.
      expect(sentKeys(body)).toEqual(keys.slice(0, -2));
      body.lane = "stage";
      expect(sentKeys(body).slice(-1)).toEqual(["lane"]);
      body.ticket = "t.i.cket";
      expect(sentKeys(body)).toEqual(keys);
    }
  });
});

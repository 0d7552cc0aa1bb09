/**
 * The per-room tally an isolate keeps between reports (arrivals in
 * under-attack mode, the origin's distress): how many rooms it keeps.
 */
import { describe, expect, it } from "vitest";
import { ArrivalTally } from "../../src/edge/arrival-tally.ts";
import { OriginTally } from "../../src/edge/origin-signals.ts";
import { MAX_TALLIED_ROOMS, REPORT_EVERY_MS, RoomTally } from "../../src/edge/room-tally.ts";

/** Counts events; reports only once three or more are counted. */
const counting = () =>
  new RoomTally<{ n: number }, null>(
    { empty: () => ({ n: 0 }), count: (t) => void (t.n += 1), worthReporting: (t) => t.n >= 3 },
    3,
  );

describe("a room tally", () => {
  it("keeps at most its bound of rooms, forgetting the room first counted", () => {
    const tally = counting();
    for (const room of ["a", "b", "c"]) tally.add(room, null, 0);
    tally.add("a", null, 1);
    expect(tally.rooms).toBe(3);
    tally.add("d", null, 2);
    expect(tally.rooms).toBe(3);
    // "b" and "c" kept their counts: a third event reports them.
    expect(tally.add("b", null, 3)).toBeNull();
    expect(tally.add("c", null, 3)).toBeNull();
    // "a" (first counted) was forgotten when "d" came, its two events with it...
    expect(tally.add("a", null, 4)).toBeNull();
    expect(tally.add("a", null, 5)).toBeNull();
    // ...and "b" when "a" came back; "c" is still there.
    expect(tally.add("c", null, 6)).toEqual({ n: 3 });
    expect(tally.add("a", null, 7)).toEqual({ n: 3 });
    expect(tally.rooms).toBe(3);
  });

  it("reports a room at most once per interval", () => {
    const tally = counting();
    expect([0, 1, 2].map((at) => tally.add("r", null, at))).toEqual([null, null, { n: 3 }]);
    expect([3, 4, 5, 6].map((at) => tally.add("r", null, at))).toEqual([null, null, null, null]);
    expect(tally.add("r", null, 2 + REPORT_EVERY_MS)).toEqual({ n: 5 });
  });

  it("bounds the arrival and the origin tallies alike", () => {
    const arrivals = new ArrivalTally();
    const origin = new OriginTally();
    for (let i = 0; i <= MAX_TALLIED_ROOMS; i++) {
      arrivals.add(`room-${i}`, "challenged", 0);
      origin.add(`room-${i}`, { overloaded: true, load: null, release: false, signalled: false }, 0);
    }
    expect(arrivals.rooms).toBe(MAX_TALLIED_ROOMS);
    expect(origin.rooms).toBe(MAX_TALLIED_ROOMS);
  });
});

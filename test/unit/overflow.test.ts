import { describe, expect, it } from "vitest";
import type { GlobalView } from "../../src/policy/protocol.ts";
import { estimatePlace, NOTICE_SECONDS } from "../../src/policy/estimate.ts";
import { offerAtArrival, offerInLine, queueLength } from "../../src/policy/overflow.ts";

const S0 = 1_767_225_600;
const NOW = (S0 + 3) * 1000;

/** 600 waiting over three seconds of arrivals; 10 called a second. */
function view(over: Partial<GlobalView> = {}): GlobalView {
  return {
    mode: "open",
    capacity: 1_000,
    admitPerMinute: 600,
    shards: 1,
    maxWaitSeconds: null,
    maxQueue: null,
    startsAt: null,
    recordingUrl: null,
    branding: { title: null, logoUrl: null, accentColor: null, message: null },
    challengeBits: 0,
    cursors: { 0: 0 },
    paces: {},
    binStart: S0,
    remaining: [100, 200, 300],
    arrivalsPerSecond: 0,
    flowPerSecond: 10,
    live: 1_000,
    revoked: [],
    at: NOW,
    asOf: NOW,
    ...over,
  };
}

describe("offers of the recording", () => {
  it("lets an arrival join when no rule says otherwise", () => {
    expect(queueLength(view(), NOW)).toBe(600);
    expect(offerAtArrival(view(), NOW)).toBeNull();
    expect(offerAtArrival(view({ maxWaitSeconds: 3_600, maxQueue: 601 }), NOW)).toBeNull();
  });

  it("offers it to an arrival whose honest wait exceeds maxWaitSeconds, with a place if wanted", () => {
    const offer = offerAtArrival(view({ maxWaitSeconds: 60 }), NOW);
    expect(offer).toEqual({ reason: "max_wait", canKeepPlace: true, etaSeconds: 601 / 10 + NOTICE_SECONDS });
  });

  it("offers it with no place to an arrival beyond maxQueue", () => {
    expect(offerAtArrival(view({ maxQueue: 600 }), NOW)).toMatchObject({ reason: "max_queue", canKeepPlace: false });
  });

  it("offers it to every arrival in overflow mode, with a place while the queue allows", () => {
    expect(offerAtArrival(view({ mode: "overflow" }), NOW)).toMatchObject({ reason: "mode", canKeepPlace: true });
    expect(offerAtArrival(view({ mode: "overflow", maxQueue: 10 }), NOW)).toMatchObject({ canKeepPlace: false });
  });

  it("counts a full room that admits nobody as too long a wait, and sends nobody away while it holds or is closed", () => {
    expect(offerAtArrival(view({ maxWaitSeconds: 1, flowPerSecond: 0 }), NOW)).toMatchObject({
      reason: "max_wait",
      etaSeconds: null,
    });
    expect(offerAtArrival(view({ flowPerSecond: 0 }), NOW)).toBeNull(); // no maxWaitSeconds
    expect(offerAtArrival(view({ maxWaitSeconds: 1, mode: "hold" }), NOW)).toBeNull();
    expect(offerAtArrival(view({ maxWaitSeconds: 1, mode: "closed" }), NOW)).toBeNull();
  });

  it("moves a listener in line to the offer once its estimate exceeds maxWaitSeconds (a smaller audience)", () => {
    const ticket = { shard: 0, seq: 500, at: (S0 + 2) * 1000 + 500 };
    const v = view({ maxWaitSeconds: 30 }); // 499 ahead at 10 a second: about 52 s
    expect(offerInLine(estimatePlace(ticket, v, NOW), v)).toMatchObject({ reason: "max_wait", canKeepPlace: true });
    // Faster flow: the same place is within the limit again.
    const fast = view({ maxWaitSeconds: 30, flowPerSecond: 100 });
    expect(offerInLine(estimatePlace(ticket, fast, NOW), fast)).toBeNull();
    // Called: never offered.
    const called = view({ maxWaitSeconds: 1, cursors: { 0: 500 } });
    expect(offerInLine(estimatePlace(ticket, called, NOW), called)).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { OriginTally, readAnswer, withoutSignals } from "../../src/edge/origin-signals.ts";
import { REPORT_EVERY_MS } from "../../src/edge/room-tally.ts";

const answer = (status: number, headers: Record<string, string> = {}) =>
  readAnswer(new Response("x", { status, headers }));

describe("reading the origin's answers", () => {
  it("reads 503 and 429 as overloaded, an unreachable origin too, and a 200 as fine", () => {
    expect(answer(503).overloaded).toBe(true);
    expect(answer(429).overloaded).toBe(true);
    expect(readAnswer(null).overloaded).toBe(true);
    expect(answer(200)).toEqual({ overloaded: false, load: null, release: false, signalled: false });
    expect(answer(500).overloaded).toBe(false);
  });

  it("reads Spillway-Load within 0..1 and ignores nonsense", () => {
    expect(answer(200, { "spillway-load": "0.95" }).load).toBe(0.95);
    expect(answer(200, { "spillway-load": "7" }).load).toBe(1);
    expect(answer(200, { "spillway-load": "lots" }).load).toBeNull();
    expect(answer(200, { "spillway-load": "" }).load).toBeNull();
  });

  it("reads Spillway-Command: release, and strips both headers before the listener sees them", () => {
    expect(answer(200, { "spillway-command": "Release" }).release).toBe(true);
    expect(answer(200, { "spillway-command": "reboot" }).release).toBe(false);
    const signalled = new Response("x", { headers: { "spillway-load": "0.5", "spillway-command": "release", a: "b" } });
    const out = withoutSignals(signalled, readAnswer(signalled));
    expect(out.headers.has("spillway-load")).toBe(false);
    expect(out.headers.has("spillway-command")).toBe(false);
    expect(out.headers.get("a")).toBe("b");
  });

  it("says whether an answer carried either header, and strips by what it read", () => {
    expect(answer(200, { "spillway-load": "lots" }).signalled).toBe(true);
    expect(answer(200, { "spillway-command": "" }).signalled).toBe(true);
    expect(answer(200, { a: "b" }).signalled).toBe(false);
    expect(readAnswer(null).signalled).toBe(false);
    const loaded = new Response("x", { headers: { "spillway-load": "0.5", a: "b" } });
    const out = withoutSignals(loaded, readAnswer(loaded));
    expect(out.headers.has("spillway-load")).toBe(false);
    expect(out.headers.get("a")).toBe("b");
    const plain = new Response("x", { headers: { a: "b" } });
    expect(withoutSignals(plain, readAnswer(plain))).toBe(plain);
  });
});

describe("an isolate's tally", () => {
  it("reports distress at once, then at most once per interval, with what it saw meanwhile", () => {
    const t = new OriginTally();
    expect(t.add("r", answer(200), 0)).toBeNull(); // healthy answers are never reported
    expect(t.add("r", answer(503), 10)).toEqual({ overloaded: 1, answers: 2, load: null });
    expect(t.add("r", answer(503), 20)).toBeNull();
    expect(t.add("r", answer(200, { "spillway-load": "0.95" }), 30)).toBeNull();
    expect(t.add("r", answer(200), 10 + REPORT_EVERY_MS)).toEqual({ overloaded: 1, answers: 3, load: 0.95 });
    // Rooms are tallied apart.
    expect(t.add("other", answer(429), 40)).toEqual({ overloaded: 1, answers: 1, load: null });
  });
});

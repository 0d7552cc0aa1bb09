import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Coordinator } from "../../src/policy/coordinator.ts";
import {
  CUT_COOLDOWN_MS,
  current,
  DISTRESS_LOAD,
  effectiveLimits,
  FLOOR,
  GROW_EVERY_MS,
  GROW_STEP,
  healthy,
  isDistress,
  observe,
} from "../../src/policy/health.ts";
import { MemoryCoordinatorStore } from "../../src/policy/memory-store.ts";

const T0 = Date.UTC(2026, 0, 1);
const overloaded = { overloaded: 3, answers: 10, load: null };
const fine = { overloaded: 0, answers: 10, load: 0.4 };

describe("origin health (AIMD)", () => {
  it("counts 503/429 answers and a high Spillway-Load as distress, and nothing else", () => {
    expect(isDistress(overloaded)).toBe(true);
    expect(isDistress({ overloaded: 0, answers: 1, load: DISTRESS_LOAD })).toBe(true);
    expect(isDistress(fine)).toBe(false);
    expect(isDistress({ overloaded: 0, answers: 0, load: null })).toBe(false);
  });

  it("halves on distress once per cooldown, never below the floor", () => {
    let h = observe(healthy(T0), overloaded, T0);
    expect(h.factor).toBe(0.5);
    h = observe(h, overloaded, T0 + CUT_COOLDOWN_MS - 1);
    expect(h.factor).toBe(0.5); // the same burst
    for (let k = 1; k <= 10; k++) h = observe(h, overloaded, T0 + k * CUT_COOLDOWN_MS);
    expect(h.factor).toBe(FLOOR);
    expect(h.distress).toBe(12);
  });

  it("grows back by a step for each quiet interval, up to the configured limits", () => {
    const cut = observe(healthy(T0), overloaded, T0);
    expect(current(cut, T0 + GROW_EVERY_MS - 1).factor).toBe(0.5);
    expect(current(cut, T0 + GROW_EVERY_MS).factor).toBeCloseTo(0.5 + GROW_STEP);
    expect(current(cut, T0 + 100 * GROW_EVERY_MS).factor).toBe(1);
    // A healthy report does not reset the growth.
    const later = observe(cut, fine, T0 + 2 * GROW_EVERY_MS);
    expect(later.factor).toBeCloseTo(0.5 + 2 * GROW_STEP);
  });

  it("never raises the limits above the configured ones nor below the floor (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 20_000 }), bad: fc.boolean() }), { maxLength: 60 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (steps, capacity, admitPerMinute) => {
          let h = healthy(T0);
          let now = T0;
          for (const s of steps) {
            now += s.dt;
            h = observe(h, s.bad ? overloaded : fine, now);
            const l = effectiveLimits({ capacity, admitPerMinute, mode: "open" as const }, h, now);
            expect(l.capacity).toBeLessThanOrEqual(capacity);
            expect(l.capacity).toBeGreaterThanOrEqual(Math.floor(capacity * FLOOR));
            expect(l.admitPerMinute).toBeLessThanOrEqual(admitPerMinute);
            expect(l.admitPerMinute).toBeGreaterThanOrEqual(1);
          }
        },
      ),
    );
  });
});

describe("a coordinator whose origin struggles", () => {
  it("lowers the limits in force on distress, keeps the configured ones in its totals, and recovers", () => {
    const c = new Coordinator(new MemoryCoordinatorStore(), { capacity: 100, admitPerMinute: 600, mode: "open" }, T0);
    c.reportOrigin(overloaded, T0 + 1_000);
    expect(c.limits(T0 + 1_000)).toMatchObject({ capacity: 50, admitPerMinute: 300 });
    const t = c.totals(T0 + 1_000);
    expect(t).toMatchObject({
      effectiveCapacity: 50,
      effectiveAdmitPerMinute: 300,
      originFactor: 0.5,
      originDistress: 1,
    });
    expect(c.config.capacity).toBe(100);
    expect(c.view(T0 + 1_000).capacity).toBe(50);
    // Healthy again: back to the configured limits after (1 - 0.5) / GROW_STEP quiet intervals.
    const back = T0 + 1_000 + Math.ceil(0.5 / GROW_STEP) * GROW_EVERY_MS;
    expect(c.limits(back)).toMatchObject({ capacity: 100, admitPerMinute: 600 });
  });

  it("remembers the origin's health across a restart", () => {
    const store = new MemoryCoordinatorStore();
    const c = new Coordinator(store, { capacity: 100, admitPerMinute: 600, mode: "open" }, T0);
    c.reportOrigin(overloaded, T0);
    const again = new Coordinator(store, { capacity: 100, admitPerMinute: 600, mode: "open" }, T0 + 10);
    expect(again.limits(T0 + 10).capacity).toBe(50);
  });
});

describe("cutting while the audience is above the limits", () => {
  it("holds the factor instead of cutting again, and cuts once the audience has drained below the limits", () => {
    let h = observe(healthy(T0), overloaded, T0);
    h = observe(h, overloaded, T0 + CUT_COOLDOWN_MS, false);
    expect(h.factor).toBe(0.5);
    expect(h.distress).toBe(2);
    // Distress keeps the factor from growing back meanwhile.
    h = observe(h, overloaded, T0 + GROW_EVERY_MS + 1, false);
    expect(current(h, T0 + GROW_EVERY_MS + 2).factor).toBe(0.5);
    h = observe(h, overloaded, T0 + 3 * CUT_COOLDOWN_MS, true);
    expect(h.factor).toBe(0.25);
  });
});

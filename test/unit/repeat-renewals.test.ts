import { beforeEach, describe, expect, it } from "vitest";
import {
  awaitRenewal,
  forgetRenewal,
  forgetRepeatRenewals,
  noteRenewal,
  REPEAT_RENEWAL_MS,
  renewalStarted,
  renewalUnderWay,
  repeatRenewal,
  WAIT_STEP_MS,
  WAIT_STEPS,
} from "../../src/edge/repeat-renewals.ts";
import type { SeatAnswer } from "../../src/edge/repeat-claims.ts";
import { admittedAnswer } from "../support/admitted-answer.ts";

const seat = { sid: "seat-1", gen: 0, sub: "listener-a" };
const pass = { token: "pass-token-2", exp: 90 };
const renewed: SeatAnswer = admittedAnswer("r", pass);
const moved = { kind: "seat_ended", reason: "moved" } as const;
const always = () => true;

/** A sleep that runs `each` at every step instead of waiting, and counts the steps. */
function steps(each: (step: number) => void = () => undefined) {
  const slept: number[] = [];
  const sleep = async (ms: number) => {
    slept.push(ms);
    each(slept.length);
  };
  return { sleep, slept };
}

describe("repeat renewals", () => {
  beforeEach(forgetRepeatRenewals);

  it("give the shard's renewal of a seat again, as a copy, for REPEAT_RENEWAL_MS", () => {
    noteRenewal("r", seat, renewed, 1_000);
    const again = repeatRenewal("r", seat, 1_000 + REPEAT_RENEWAL_MS - 1, always) as SeatAnswer;
    expect(again).toEqual(renewed);
    // The caller's changes to its answer stay its own.
    again.status.lane = "stage";
    expect((repeatRenewal("r", seat, 1_001, always) as SeatAnswer).status.lane).toBeUndefined();
    expect(repeatRenewal("r", seat, 1_000 + REPEAT_RENEWAL_MS, always)).toBeNull();
    // Gone with its time: not given even to a request that began earlier.
    expect(repeatRenewal("r", seat, 1_001, always)).toBeNull();
  });

  it("give it to a request that began before the answer came", () => {
    noteRenewal("r", seat, renewed, 5_000);
    expect(repeatRenewal("r", seat, 4_900, always)).toEqual(renewed);
  });

  it("never give it for another device's generation, another listener, seat or room", () => {
    noteRenewal("r", seat, renewed, 1_000);
    expect(repeatRenewal("r", { ...seat, gen: 1 }, 1_001, always)).toBeNull();
    expect(repeatRenewal("r", { ...seat, sub: "listener-b" }, 1_001, always)).toBeNull();
    expect(repeatRenewal("r", { ...seat, sid: "seat-2" }, 1_001, always)).toBeNull();
    expect(repeatRenewal("other", seat, 1_001, always)).toBeNull();
    // Those asked the shard; the seat's own renewal still stands.
    expect(repeatRenewal("r", seat, 1_002, always)).toEqual(renewed);
  });

  it("give a renewal only while its seat stands, and forget it once it does not", () => {
    noteRenewal("r", seat, renewed, 1_000);
    const asked: [string, number][] = [];
    expect(repeatRenewal("r", seat, 1_001, (sid, exp) => (asked.push([sid, exp]), false))).toBeNull();
    expect(asked).toEqual([["seat-1", pass.exp]]);
    expect(repeatRenewal("r", seat, 1_002, always)).toBeNull();
  });

  it("tell a seat that ended so again, with its reason, whether or not anything else stands", () => {
    noteRenewal("r", seat, moved, 1_000);
    expect(repeatRenewal("r", seat, 1_500, () => false)).toEqual(moved);
    expect(repeatRenewal("r", seat, 1_000 + REPEAT_RENEWAL_MS, always)).toBeNull();
  });

  it("forget a seat given back, and remember nothing when told nothing", () => {
    noteRenewal("r", seat, renewed, 1_000);
    forgetRenewal("r", seat.sid);
    expect(repeatRenewal("r", seat, 1_001, always)).toBeNull();
    noteRenewal("r", seat, renewed, 2_000);
    noteRenewal("r", seat, null, 2_100);
    expect(repeatRenewal("r", seat, 2_101, always)).toBeNull();
  });

  it("know a renewal under way until its answer is noted, or for at most five seconds", () => {
    expect(renewalUnderWay("r", seat.sid, 1_000)).toBe(false);
    renewalStarted("r", seat.sid, 1_000);
    expect(renewalUnderWay("r", seat.sid, 1_001)).toBe(true);
    expect(renewalUnderWay("r", "seat-2", 1_001)).toBe(false);
    noteRenewal("r", seat, null, 1_200);
    expect(renewalUnderWay("r", seat.sid, 1_201)).toBe(false);
    renewalStarted("r", seat.sid, 2_000);
    expect(renewalUnderWay("r", seat.sid, 6_999)).toBe(true);
    expect(renewalUnderWay("r", seat.sid, 7_000)).toBe(false);
  });

  it("wait for the renewal under way: its answer as soon as it is noted", async () => {
    renewalStarted("r", seat.sid, 1_000);
    const { sleep, slept } = steps((step) => {
      if (step === 3) noteRenewal("r", seat, renewed, 1_010);
    });
    expect(await awaitRenewal("r", seat, 1_005, always, sleep)).toEqual(renewed);
    expect(slept).toEqual([WAIT_STEP_MS, WAIT_STEP_MS, WAIT_STEP_MS]);
  });

  it("stop waiting once the renewal ends without an answer to give, or after the last look", async () => {
    renewalStarted("r", seat.sid, 1_000);
    const failed = steps((step) => {
      if (step === 2) noteRenewal("r", seat, null, 1_010);
    });
    expect(await awaitRenewal("r", seat, 1_005, always, failed.sleep)).toBeNull();
    expect(failed.slept).toHaveLength(2);

    renewalStarted("r", seat.sid, 2_000);
    const lost = steps();
    expect(await awaitRenewal("r", seat, 2_005, always, lost.sleep)).toBeNull();
    expect(lost.slept).toHaveLength(WAIT_STEPS);
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import {
  type Asking,
  claimFailed,
  claimStarted,
  forgetRepeatClaims,
  forgetSeat,
  markOf,
  noteClaim,
  REPEAT_CLAIM_MS,
  repeatClaim,
  type SeatAnswer,
} from "../../src/edge/repeat-claims.ts";
import type { ClaimOutcome, Lease } from "../../src/policy/lease.ts";
import { admittedAnswer } from "../support/admitted-answer.ts";

const ticket = { shard: 2, seq: 41, sub: "listener-a" };
const full = { kind: "waiting", reason: "full" } as const;
const lease: Lease = { sid: "seat-1", sub: "listener-a", seq: 41, grantedAt: 0, expiresAt: 60_000, leftAt: null };
const admitted: ClaimOutcome = { kind: "admitted", lease, fresh: false };
const pass = { token: "pass-token-1", exp: 60 };
const seatAnswer: SeatAnswer = admittedAnswer("r", pass);

/** A device (`holding`: the seat its pass names) asking at `now`, the view showing `mark`. */
const asking = (now: number, holding?: string, mark = markOf(10, 5)): Asking => ({ holding, mark, now });
const always = () => true;

describe("repeat claims", () => {
  beforeEach(forgetRepeatClaims);

  it("give the shard's last 'not yet' again to the same device while the room stands still, for REPEAT_CLAIM_MS", () => {
    noteClaim("r", ticket, full, asking(1_000), null);
    const again = repeatClaim("r", ticket, asking(1_000 + REPEAT_CLAIM_MS - 1), always);
    expect(again).toEqual({ kind: "again", outcome: full, seat: null });
    expect(repeatClaim("r", ticket, asking(1_000 + REPEAT_CLAIM_MS), always)).toBeNull();
  });

  it("ask the shard again as soon as the view shows a change, or for another ticket or room", () => {
    noteClaim("r", ticket, full, asking(1_000), null);
    expect(repeatClaim("r", { ...ticket, seq: 42 }, asking(1_001), always)).toBeNull();
    expect(repeatClaim("other", ticket, asking(1_001), always)).toBeNull();
    // A seat freed shows in the view: whoever asks, the shard answers.
    expect(repeatClaim("r", ticket, asking(1_001, "seat-9", markOf(9, 5)), always)).toBeNull();
    // Asked again: the entry went with the change.
    expect(repeatClaim("r", ticket, asking(1_002), always)).toBeNull();
  });

  it("never keep a 'not called yet' (the shard calls on its own within a round)", () => {
    noteClaim("r", ticket, { kind: "waiting", reason: "not_called" }, asking(0), null);
    expect(repeatClaim("r", ticket, asking(1), always)).toBeNull();
    expect(repeatClaim("r", ticket, asking(1, "seat-1"), always)).toBeNull();
  });

  it("give the device that holds the seat the same admitted answer, with the very pass the shard's claim carried", () => {
    noteClaim("r", ticket, admitted, asking(1_000, "seat-1"), seatAnswer);
    const again = repeatClaim("r", ticket, asking(2_500, "seat-1", markOf(11, 7)), always);
    expect(again?.kind).toBe("again");
    if (again?.kind !== "again") return;
    expect(again.seat?.newPass).toEqual(pass);
    expect(again.seat?.status.pass).toBe(pass.token);
    // Each answer is its own copy: what a caller adds to it is not given to the next.
    again.seat!.status.lane = "stage";
    const next = repeatClaim("r", ticket, asking(2_600, "seat-1"), always);
    expect(next?.kind === "again" && next.seat?.status.lane).toBeUndefined();
    expect(repeatClaim("r", ticket, asking(1_000 + REPEAT_CLAIM_MS, "seat-1"), always)).toBeNull();
  });

  it("give a seat granted to a device without a pass again once that device sends the seat's pass", () => {
    noteClaim("r", ticket, { ...admitted, fresh: true }, asking(0), seatAnswer);
    expect(repeatClaim("r", ticket, asking(10, "seat-1"), always)?.kind).toBe("again");
    // The same ticket without the pass is another device now.
    expect(repeatClaim("r", ticket, asking(20), always)).toEqual({ kind: "shortly", afterMs: REPEAT_CLAIM_MS - 20 });
  });

  it("tell another device to try again shortly, whatever the first answer was, until the pause is over", () => {
    noteClaim("r", ticket, admitted, asking(1_000, "seat-1"), seatAnswer);
    expect(repeatClaim("r", ticket, asking(1_500), always)).toEqual({ kind: "shortly", afterMs: 1_500 });
    expect(repeatClaim("r", ticket, asking(1_600, "seat-0"), always)).toEqual({ kind: "shortly", afterMs: 1_400 });

    noteClaim("r", ticket, { kind: "waiting", reason: "moving" }, asking(5_000), null);
    expect(repeatClaim("r", ticket, asking(5_100, "seat-1"), always)).toEqual({ kind: "shortly", afterMs: 1_900 });
    noteClaim("r", ticket, { kind: "spent" }, asking(8_000, "seat-1"), null);
    expect(repeatClaim("r", ticket, asking(8_100), always)).toEqual({ kind: "shortly", afterMs: 1_900 });
    expect(repeatClaim("r", ticket, asking(8_200, "seat-1"), always)).toEqual({
      kind: "again",
      outcome: { kind: "spent" },
      seat: null,
    });
    expect(repeatClaim("r", ticket, asking(8_000 + REPEAT_CLAIM_MS), always)).toBeNull();
  });

  it("ask the shard once the seat is known to have ended or its pass is due for renewal", () => {
    const asked: Array<[string, number]> = [];
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), seatAnswer);
    const ended = (sid: string, exp: number) => {
      asked.push([sid, exp]);
      return false;
    };
    expect(repeatClaim("r", ticket, asking(1, "seat-1"), ended)).toBeNull();
    expect(asked).toEqual([["seat-1", pass.exp]]);
    // Forgotten with it: the next claim goes to the shard too.
    expect(repeatClaim("r", ticket, asking(2, "seat-1"), always)).toBeNull();
  });

  it("forget a seat given back or renewed here, and only that one", () => {
    const other = { ...ticket, seq: 50, sub: "listener-b" };
    const otherLease = { ...lease, sid: "seat-2", sub: "listener-b", seq: 50 };
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), seatAnswer);
    noteClaim("r", other, { kind: "admitted", lease: otherLease, fresh: false }, asking(0, "seat-2"), seatAnswer);
    forgetSeat("r", "seat-1");
    forgetSeat("other-room", "seat-2");
    expect(repeatClaim("r", ticket, asking(1, "seat-1"), always)).toBeNull();
    expect(repeatClaim("r", other, asking(1, "seat-2"), always)?.kind).toBe("again");
  });

  it("keep one answer per ticket: a newer claim's answer replaces the seat remembered", () => {
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), seatAnswer);
    // Another device's claim moved the seat.
    noteClaim("r", ticket, { kind: "waiting", reason: "moving" }, asking(100), null);
    expect(repeatClaim("r", ticket, asking(200, "seat-1"), always)?.kind).toBe("shortly");
    forgetSeat("r", "seat-1");
    // The "moving" answer still stands for the device that asked.
    expect(repeatClaim("r", ticket, asking(300), always)?.kind).toBe("again");
  });

  it("never give a seat again without the answer that carried its pass", () => {
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), null);
    expect(repeatClaim("r", ticket, asking(1, "seat-1"), always)).toBeNull();
  });

  it("let one request of an isolate claim a ticket at a time: the others get the answer they had, or try again shortly", () => {
    claimStarted("r", ticket, 0);
    // Nothing remembered yet: a device without a pass waits for the claim under way; one with a
    // pass of the ticket asks too (its seat is kept by its own claims, it is not told to queue).
    expect(repeatClaim("r", ticket, asking(10), always)).toEqual({ kind: "shortly", afterMs: 1_000 });
    expect(repeatClaim("r", ticket, asking(10, "seat-1"), always)).toBeNull();
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), seatAnswer);
    // Its answer noted, the claim is over: past the pause the shard is asked again.
    expect(repeatClaim("r", ticket, asking(REPEAT_CLAIM_MS, "seat-1"), always)).toBeNull();

    noteClaim("r", ticket, admitted, asking(REPEAT_CLAIM_MS, "seat-1"), seatAnswer);
    claimStarted("r", ticket, 2 * REPEAT_CLAIM_MS);
    // While that claim is under way the seat's device still gets its seat, past the pause.
    const late = repeatClaim("r", ticket, asking(2 * REPEAT_CLAIM_MS + 500, "seat-1"), always);
    expect(late?.kind === "again" && late.seat?.newPass).toEqual(pass);
    // Unless the seat is known to have ended: then the device asks its shard (and a device without a pass waits).
    expect(repeatClaim("r", ticket, asking(2 * REPEAT_CLAIM_MS + 600, "seat-1"), () => false)).toBeNull();
    expect(repeatClaim("r", ticket, asking(2 * REPEAT_CLAIM_MS + 650), always)?.kind).toBe("shortly");
    // A claim that got no answer lets the next request claim.
    claimFailed("r", ticket);
    expect(repeatClaim("r", ticket, asking(2 * REPEAT_CLAIM_MS + 700, "seat-1"), always)).toBeNull();
  });

  it("take a claim under way for lost after a while", () => {
    claimStarted("r", ticket, 0);
    expect(repeatClaim("r", ticket, asking(4_999), always)?.kind).toBe("shortly");
    expect(repeatClaim("r", ticket, asking(5_000), always)).toBeNull();
    expect(repeatClaim("r", ticket, asking(5_001), always)).toBeNull();
  });

  it("count a request that began before the claim it meets (requests of an isolate overlap)", () => {
    claimStarted("r", ticket, 1_000);
    expect(repeatClaim("r", ticket, asking(990), always)?.kind).toBe("shortly");
    // The marker stayed: a later request still sees the claim under way.
    expect(repeatClaim("r", ticket, asking(1_010), always)?.kind).toBe("shortly");
    noteClaim("r", ticket, admitted, asking(1_000, "seat-1"), seatAnswer);
    expect(repeatClaim("r", ticket, asking(995, "seat-1"), always)?.kind).toBe("again");
    expect(repeatClaim("r", ticket, asking(995), always)).toEqual({ kind: "shortly", afterMs: REPEAT_CLAIM_MS });
  });

  it("keep an answer past its time for the requests that meet the claim renewing it", () => {
    noteClaim("r", ticket, admitted, asking(0, "seat-1"), seatAnswer);
    // Past the pause: this request claims...
    expect(repeatClaim("r", ticket, asking(REPEAT_CLAIM_MS, "seat-1"), always)).toBeNull();
    claimStarted("r", ticket, REPEAT_CLAIM_MS);
    // ...and the seat's device, asking meanwhile, gets the answer it had.
    expect(repeatClaim("r", ticket, asking(REPEAT_CLAIM_MS + 5, "seat-1"), always)?.kind).toBe("again");
    claimFailed("r", ticket);
    // Not given once no claim is under way, nor long past its time whatever is.
    expect(repeatClaim("r", ticket, asking(REPEAT_CLAIM_MS + 10, "seat-1"), always)).toBeNull();
    claimStarted("r", ticket, 7_000);
    expect(repeatClaim("r", ticket, asking(7_000, "seat-1"), always)).toBeNull();
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import {
  forgetRepeatClaims,
  markOf,
  noteClaim,
  REPEAT_CLAIM_MS,
  standingRefusal,
} from "../../src/edge/repeat-claims.ts";

const ticket = { shard: 2, seq: 41, sub: "listener-a" };
const full = { kind: "waiting", reason: "full" } as const;

describe("repeat claims", () => {
  beforeEach(forgetRepeatClaims);

  it("give the shard's last 'not yet' again while the room stands still, for REPEAT_CLAIM_MS", () => {
    noteClaim("r", ticket, full, markOf(10, 5), 1_000);
    expect(standingRefusal("r", ticket, markOf(10, 5), 1_000 + REPEAT_CLAIM_MS - 1)).toEqual(full);
    expect(standingRefusal("r", ticket, markOf(10, 5), 1_000 + REPEAT_CLAIM_MS)).toBeNull();
  });

  it("ask the shard again as soon as the view shows a change, or for another ticket or room", () => {
    noteClaim("r", ticket, full, markOf(10, 5), 1_000);
    expect(standingRefusal("r", { ...ticket, seq: 42 }, markOf(10, 5), 1_001)).toBeNull();
    expect(standingRefusal("other", ticket, markOf(10, 5), 1_001)).toBeNull();
    expect(standingRefusal("r", ticket, markOf(9, 5), 1_001)).toBeNull();
    // Asked again: the entry went with the change.
    expect(standingRefusal("r", ticket, markOf(10, 5), 1_002)).toBeNull();
  });

  it("never keep a seat, nor a 'not called yet' (the shard calls on its own within a round)", () => {
    noteClaim("r", ticket, { kind: "waiting", reason: "not_called" }, markOf(1, 1), 0);
    expect(standingRefusal("r", ticket, markOf(1, 1), 1)).toBeNull();
    noteClaim("r", ticket, full, markOf(1, 1), 0);
    noteClaim("r", ticket, { kind: "spent" }, markOf(1, 1), 1);
    expect(standingRefusal("r", ticket, markOf(1, 1), 2)).toBeNull();
  });
});

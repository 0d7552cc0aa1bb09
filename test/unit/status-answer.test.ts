/**
 * A plain status answer's headers (src/http/answers.ts `plainStatusJson`):
 * the inits it reuses are kept per Retry-After, and an answer must always
 * carry its own poll's Retry-After, whatever answers came before it.
 */
import { describe, expect, it } from "vitest";
import type { StatusBody } from "../../src/contract/status.ts";
import { plainStatusJson } from "../../src/http/answers.ts";

function status(state: StatusBody["state"], pollAfterSeconds: number): StatusBody {
  return {
    room: "town-hall",
    state,
    position: state === "queued" ? 3 : null,
    ahead: state === "queued" ? 2 : null,
    etaSeconds: state === "queued" ? 40 : null,
    pollAfterSeconds,
    startsAt: null,
    recordingUrl: null,
    ticket: undefined,
    lane: undefined,
  };
}

async function answer(state: StatusBody["state"], pollAfterSeconds: number) {
  const res = plainStatusJson({ kind: "status", status: status(state, pollAfterSeconds) });
  expect(res).not.toBeNull();
  return { res: res!, body: (await res!.json()) as StatusBody };
}

describe("a plain status answer", () => {
  it("says when to poll again as its body does, for every wait, answered again and again", async () => {
    // Past the inits kept (up to 63 s) too, and each twice: a kept init must be the right one.
    for (const round of [1, 2]) {
      for (const seconds of [1, 2, 5, 30, 62, 63, 64, 90, 300]) {
        const { res, body } = await answer("queued", seconds);
        expect(body.pollAfterSeconds, `round ${round}`).toBe(seconds);
        expect(res.headers.get("retry-after"), `${seconds} s, round ${round}`).toBe(String(seconds));
        expect(res.headers.get("cache-control")).toBe("no-store");
        expect(res.headers.get("content-type")).toBe("application/json");
        expect(res.headers.get("content-security-policy")).toContain("frame-ancestors");
      }
    }
  });

  it("has no Retry-After once admitted or closed, and a wait of 0 s is still told", async () => {
    for (const state of ["admitted", "closed"] as const) {
      const { res } = await answer(state, 5);
      expect(res.headers.has("retry-after"), state).toBe(false);
    }
    // Not the init of "no Retry-After", though it would sit in the same place as a number.
    expect((await answer("queued", 0)).res.headers.get("retry-after")).toBe("0");
    expect((await answer("admitted", 0)).res.headers.has("retry-after")).toBe(false);
    expect((await answer("queued", 0)).res.headers.get("retry-after")).toBe("0");
  });

  it("leaves answers that hand out a token or come from the failure policy to the app", () => {
    const plain = { kind: "status" as const, status: status("queued", 5) };
    expect(plainStatusJson({ ...plain, newTicket: "t" })).toBeNull();
    expect(plainStatusJson({ kind: "spent" })).toBeNull();
  });
});

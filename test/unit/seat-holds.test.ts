/**
 * The shard's registry of held connections, on fake timers: a round answers
 * `held` when it is over, a seat that ends answers its holders at once, a
 * newer generation ends only the older ones, and whoever waits for holders to
 * let go waits no longer than it said; a connection let go of while its call
 * was on its way is not registered.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LET_GO_WAIT_MS, SeatHolds } from "../../src/objects/seat-holds.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

async function settledValue<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, Promise.resolve("pending" as const)]);
}

describe("SeatHolds", () => {
  it("answers a round `held` with the lease's expiry once it is over", async () => {
    const holds = new SeatHolds();
    const round = holds.wait("sid-1", "conn-a", 0, 1_000, 42);
    await vi.advanceTimersByTimeAsync(999);
    expect(await settledValue(round)).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(await round).toEqual({ kind: "held", expiresAt: 42 });
  });

  it("ends every holder of a seat at once, with the reason", async () => {
    const holds = new SeatHolds();
    const a = holds.wait("sid-1", "conn-a", 0, 30_000, 1);
    const b = holds.wait("sid-1", "conn-b", 0, 30_000, 1);
    const other = holds.wait("sid-2", "conn-c", 0, 30_000, 1);
    void holds.end("sid-1", "left");
    expect(await a).toEqual({ kind: "ended", reason: "left" });
    expect(await b).toEqual({ kind: "ended", reason: "left" });
    expect(await settledValue(other)).toBe("pending");
  });

  it("a newer generation ends only the older ones", async () => {
    const holds = new SeatHolds();
    const older = holds.wait("sid-1", "phone", 0, 30_000, 1);
    const newer = holds.wait("sid-1", "laptop", 1, 30_000, 1);
    void holds.end("sid-1", "moved", 1);
    expect(await older).toEqual({ kind: "ended", reason: "moved" });
    expect(await settledValue(newer)).toBe("pending");
  });

  it("end() resolves once the ended holders have let go", async () => {
    const holds = new SeatHolds();
    void holds.wait("sid-1", "phone", 0, 30_000, 1);
    let done = false;
    const ending = holds.end("sid-1", "moved", 1).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toBe(false);
    holds.letGo("sid-1", "phone");
    await ending;
    expect(done).toBe(true);
    expect(holds.size).toBe(0);
  });

  it("end() waits no longer than its timeout for a holder that never lets go, and forgets it", async () => {
    const holds = new SeatHolds();
    void holds.wait("sid-1", "phone", 0, 30_000, 1);
    let done = false;
    void holds.end("sid-1", "left").then(() => (done = true));
    await vi.advanceTimersByTimeAsync(LET_GO_WAIT_MS - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    expect(holds.size).toBe(0);
  });

  it("forgets a holder that does not call again after its round", async () => {
    const holds = new SeatHolds();
    void holds.wait("sid-1", "conn-a", 0, 1_000, 1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(holds.size).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(holds.size).toBe(0);
    expect(holds.sids()).toEqual([]);
  });

  it("keeps a holder that calls again each round", async () => {
    const holds = new SeatHolds();
    for (let i = 0; i < 10; i++) {
      const round = holds.wait("sid-1", "conn-a", 0, 1_000, i);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await round).toEqual({ kind: "held", expiresAt: i });
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(holds.size).toBe(1);
  });

  it("tells a call on its way that its connection let go meanwhile, and only that one", async () => {
    const holds = new SeatHolds();
    const closed = holds.arriving("sid-1", "phone");
    const open = holds.arriving("sid-1", "laptop");
    holds.letGo("sid-1", "phone");
    expect(closed()).toBe(false);
    expect(open()).toBe(true);
    // A later call of the same connection starts afresh.
    expect(holds.arriving("sid-1", "phone")()).toBe(true);
  });

  it("a holder let go of while its next call was on its way is not waited for by a moved seat", async () => {
    const holds = new SeatHolds();
    void holds.wait("sid-1", "phone", 0, 30_000, 1);
    const next = holds.arriving("sid-1", "phone");
    holds.letGo("sid-1", "phone");
    expect(next()).toBe(false);
    expect(holds.size).toBe(0);
    let done = false;
    void holds.end("sid-1", "moved", 1).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(true);
  });
});

/**
 * The shard's registry of held connections, on fake timers: a round answers
 * `held` when it is over, a seat that ends answers its holders at once, a
 * newer generation ends only the older ones, and whoever waits for holders to
 * let go waits no longer than it said; a connection let go of while its call
 * was on its way is not registered.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type HoldAnswer, LET_GO_WAIT_MS, SeatHolds } from "../../src/objects/seat-holds.ts";

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

/**
 * A live connection asking to be held, as RoomShard.hold asks: null when it
 * is taken (then registered at once), else what its call answers.
 */
async function takeLive(
  holds: SeatHolds,
  sid: string,
  holder: string,
  gen: number,
  key = MOUNT,
): Promise<HoldAnswer | null> {
  const asked = holds.askLive(sid, holder, gen, key);
  if ("own" in asked) return asked.own;
  await asked.handover;
  return holds.isNewestLive(sid, key, asked.turn) ? null : { kind: "replaced" };
}

/** The path live connections are on unless said otherwise. */
const MOUNT = "/rooms/live/stream.mp3";

describe("SeatHolds: one seat, one live connection", () => {
  /** A live connection of `sid` taken and registered, as RoomShard.hold does: its pending round. */
  async function live(holds: SeatHolds, sid: string, holder: string, gen = 0, key = MOUNT) {
    expect(await takeLive(holds, sid, holder, gen, key)).toBeNull();
    return { round: holds.wait(sid, holder, gen, 30_000, 1, key) };
  }

  it("a newer live connection replaces the older one, and is taken once the older has let go", async () => {
    const holds = new SeatHolds();
    const older = (await live(holds, "sid-1", "stream-a")).round;
    let taken: HoldAnswer | null | undefined;
    const newer = takeLive(holds, "sid-1", "stream-b", 0).then((answer) => (taken = answer));
    expect(await older).toEqual({ kind: "replaced" });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(taken, "not before the older one let go").toBeUndefined();
    holds.letGo("sid-1", "stream-a");
    await newer;
    expect(taken).toBeNull();
    expect(holds.size).toBe(0);
  });

  it("waits no longer than LET_GO_WAIT_MS for an older one that never lets go, and forgets it", async () => {
    const holds = new SeatHolds();
    await live(holds, "sid-1", "stream-a");
    let taken: HoldAnswer | null | undefined;
    void takeLive(holds, "sid-1", "stream-b", 0).then((answer) => (taken = answer));
    await vi.advanceTimersByTimeAsync(LET_GO_WAIT_MS - 1);
    expect(taken).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(taken).toBeNull();
    expect(holds.size).toBe(0);
  });

  it("of several asking at once only the newest is taken", async () => {
    const holds = new SeatHolds();
    await live(holds, "sid-1", "stream-a");
    const asks = ["b", "c", "d"].map((id) => takeLive(holds, "sid-1", `stream-${id}`, 0));
    holds.letGo("sid-1", "stream-a");
    expect(await Promise.all(asks)).toEqual([{ kind: "replaced" }, { kind: "replaced" }, null]);
  });

  it("of several asking before any is held, only the newest is taken", async () => {
    const holds = new SeatHolds();
    const asks = ["a", "b", "c"].map((id) => takeLive(holds, "sid-1", `stream-${id}`, 0));
    expect(await Promise.all(asks)).toEqual([{ kind: "replaced" }, { kind: "replaced" }, null]);
  });

  it("replaces a live connection between two of its rounds too: its next call is refused", async () => {
    const holds = new SeatHolds();
    const round = holds.wait("sid-1", "stream-a", 0, 1_000, 1, MOUNT);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await round).toEqual({ kind: "held", expiresAt: 1 });
    const newer = takeLive(holds, "sid-1", "stream-b", 0);
    expect(await takeLive(holds, "sid-1", "stream-a", 0), "the replaced one calls again").toEqual({ kind: "replaced" });
    holds.letGo("sid-1", "stream-a");
    expect(await newer).toBeNull();
  });

  it("a live connection cut between two of its calls because its seat ended is told so, not `replaced`", async () => {
    const holds = new SeatHolds();
    const round = holds.wait("sid-1", "stream-a", 0, 1_000, 1, MOUNT);
    await vi.advanceTimersByTimeAsync(1_000);
    await round;
    void holds.end("sid-1", "left");
    expect(await takeLive(holds, "sid-1", "stream-a", 0)).toEqual({ kind: "ended", reason: "left" });
  });

  it("a live connection's own next round is its own; answers of known length and other seats are left alone", async () => {
    const holds = new SeatHolds();
    const first = (await live(holds, "sid-1", "stream-a")).round;
    expect(await takeLive(holds, "sid-1", "stream-a", 0)).toBeNull();
    expect(await settledValue(first)).toBe("pending");
    const segment = holds.wait("sid-1", "segment", 0, 30_000, 1);
    const otherSeat = (await live(holds, "sid-2", "stream-c")).round;
    void takeLive(holds, "sid-1", "stream-b", 0);
    expect(await first).toEqual({ kind: "replaced" });
    expect(await settledValue(segment)).toBe("pending");
    expect(await settledValue(otherSeat)).toBe("pending");
  });

  it("a live connection on another path of the seat is left alone (a stream and a chat socket)", async () => {
    const holds = new SeatHolds();
    const chat = (await live(holds, "sid-1", "socket", 0, "/rooms/live/chat")).round;
    const stream = (await live(holds, "sid-1", "stream-a", 0)).round;
    expect(await settledValue(chat)).toBe("pending");
    // A second stream on the mount replaces the first; the chat socket stays.
    void takeLive(holds, "sid-1", "stream-b", 0);
    expect(await stream).toEqual({ kind: "replaced" });
    expect(await settledValue(chat)).toBe("pending");
  });

  it("never replaces a newer generation's live connection", async () => {
    const holds = new SeatHolds();
    const newer = (await live(holds, "sid-1", "laptop", 1)).round;
    expect(await takeLive(holds, "sid-1", "phone", 0)).toBeNull();
    expect(await settledValue(newer)).toBe("pending");
  });
});

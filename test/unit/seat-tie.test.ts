/**
 * The tie between a held connection and its seat, on fake timers: a held
 * stream keeps calling its shard once a round and is never cut while the seat
 * is its own; it is cut at once when the shard says the seat ended, and, when
 * the shard cannot be reached, before the seat could be anyone else's had it
 * ended unseen: its revocation confirmed, or its passes too old to honour.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CONFIRM_AFTER_MS } from "../../src/policy/pass-trust.ts";
import type { SeatEnd } from "../../src/policy/lease.ts";
import {
  answerSlackMs,
  type Cut,
  HOLD_AFTER_MS,
  holdRoundMs,
  isDocumentType,
  ORIGIN_NOTICE_MS,
  ownedUntil,
  SAFETY_MARGIN_MS,
  SeatEnded,
  type SeatKeeper,
  type TieOptions,
  tieAnswer,
  tieStream,
  WHOLE_ANSWER_BYTES,
  watchSeat,
} from "../../src/edge/seat-tie.ts";
import type { HoldAnswer } from "../../src/objects/seat-holds.ts";

const PASS_TTL_MS = 60_000;
const T0 = Date.UTC(2026, 0, 1);

/** A shard stand-in: renews on each call and answers after the round, or ends the seat when told. */
class FakeShard implements SeatKeeper {
  calls: { holder: string; waitMs: number; at: number; live: boolean }[] = [];
  letGoes: string[] = [];
  mode: "up" | "down" | "silent" = "up";
  /** How late each answer comes after its round (a stalled runtime). */
  lateMs = 0;
  #pending: { resolve: (a: HoldAnswer) => void; reject: (e: Error) => void }[] = [];

  hold(holder: string, waitMs: number, live = false): Promise<HoldAnswer> {
    this.calls.push({ holder, waitMs, at: Date.now(), live });
    if (this.mode === "down") return Promise.reject(new Error("unreachable"));
    if (this.mode === "silent") return new Promise(() => undefined);
    const expiresAt = Date.now() + PASS_TTL_MS;
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      setTimeout(() => resolve({ kind: "held", expiresAt }), waitMs + this.lateMs);
    });
  }

  async letGo(holder: string): Promise<void> {
    this.letGoes.push(holder);
  }

  end(reason: SeatEnd): void {
    for (const answer of this.#pending.splice(0)) answer.resolve({ kind: "ended", reason });
  }

  /** A newer live connection of the seat took the place of the pending calls' (the seat goes on). */
  replace(): void {
    for (const answer of this.#pending.splice(0)) answer.resolve({ kind: "replaced" });
  }

  /** The connection to the shard is lost: pending calls fail, whatever the shard was about to say. */
  drop(): void {
    for (const answer of this.#pending.splice(0)) answer.reject(new Error("connection lost"));
  }
}

function options(shard: FakeShard, work: Promise<unknown>[] = []): TieOptions {
  let n = 0;
  return {
    keeper: shard,
    expiresAt: Date.now() + PASS_TTL_MS,
    passTtlMs: PASS_TTL_MS,
    roundMs: holdRoundMs(PASS_TTL_MS),
    slackMs: answerSlackMs(PASS_TTL_MS),
    now: () => Date.now(),
    newId: () => `holder-${++n}`,
    background: (p) => void work.push(p),
  };
}

/** A promise's state without waiting for it. */
async function state<T>(p: Promise<T>): Promise<{ settled: false } | { settled: true; value: T }> {
  const marker = Symbol();
  const v = await Promise.race([p, Promise.resolve(marker)]);
  return v === marker ? { settled: false } : { settled: true, value: v as T };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe("watchSeat", () => {
  it("holds a live stream's seat for as long as it is connected, one call a round", async () => {
    const shard = new FakeShard();
    const open = new Promise<void>(() => undefined);
    const watching = watchSeat(options(shard), "h", true, open);
    await vi.advanceTimersByTimeAsync(10 * PASS_TTL_MS);
    expect(await state(watching)).toEqual({ settled: false });
    // Every call renews before the seat it last saw, less the margin, stops being certainly its own
    // (half a pass lifetime and a second after the renewal: an ended lease is freed no sooner).
    const round = holdRoundMs(PASS_TTL_MS);
    const owned = ownedUntil(PASS_TTL_MS, PASS_TTL_MS);
    expect(owned).toBe(31_000);
    expect(round).toBe(owned - SAFETY_MARGIN_MS - answerSlackMs(PASS_TTL_MS));
    for (let i = 1; i < shard.calls.length; i++) {
      expect(shard.calls[i]!.at - shard.calls[i - 1]!.at).toBeLessThanOrEqual(owned - SAFETY_MARGIN_MS);
    }
    // About 2.2 calls a minute at a 60 s pass lifetime (a round of 27 s).
    const perMinute = shard.calls.length / 10;
    expect(perMinute).toBeGreaterThanOrEqual(2.1);
    expect(perMinute).toBeLessThanOrEqual(2.3);
  });

  it("does not cut an entitled listener whose answers come late, up to the slack", async () => {
    const shard = new FakeShard();
    shard.lateMs = answerSlackMs(PASS_TTL_MS) - 100;
    const watching = watchSeat(options(shard), "h", true, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(10 * PASS_TTL_MS);
    expect(await state(watching)).toEqual({ settled: false });
  });

  it("answers why as soon as the shard ends the seat", async () => {
    const shard = new FakeShard();
    const watching = watchSeat(options(shard), "h", true, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(45_000);
    shard.end("moved");
    await vi.advanceTimersByTimeAsync(0);
    expect(await state(watching)).toEqual({ settled: true, value: "moved" });
  });

  it("cuts a connection whose shard cannot be reached before its seat could be reused, had it ended unseen", async () => {
    const shard = new FakeShard();
    const opts = options(shard);
    const watching = watchSeat(opts, "h", true, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(40_000);
    shard.mode = "down";
    // The last renewal was at 27 s: certainly its own until 58 s, were the seat to end unseen.
    const lastRenewal = shard.calls.at(-1)!.at;
    let cutAt = 0;
    void watching.then(() => (cutAt = Date.now()));
    await vi.advanceTimersByTimeAsync(2 * PASS_TTL_MS);
    expect(await state(watching)).toEqual({ settled: true, value: "lapsed" });
    // The first call that failed: from then on a revocation could be confirmed CONFIRM_AFTER_MS later.
    const failedAt = shard.calls.find((c) => c.at > lastRenewal)!.at;
    const certain = Math.min(ownedUntil(lastRenewal + PASS_TTL_MS, PASS_TTL_MS), failedAt + CONFIRM_AFTER_MS);
    expect(cutAt).toBeLessThanOrEqual(certain - SAFETY_MARGIN_MS);
    expect(cutAt).toBeGreaterThan(certain - SAFETY_MARGIN_MS - 1_000);
  });

  it("after a failed call, is cut within CONFIRM_AFTER_MS unless a call gets through again", async () => {
    const shard = new FakeShard();
    const watching = watchSeat(options(shard), "h", true, new Promise(() => undefined));
    // Mid-round the shard answers nothing more (a lost connection): the pending call fails.
    await vi.advanceTimersByTimeAsync(5_000);
    shard.mode = "down";
    // The seat may have ended just now, its answer lost with the connection.
    shard.drop();
    const downAt = Date.now();
    let cutAt = 0;
    void watching.then(() => (cutAt = Date.now()));
    await vi.advanceTimersByTimeAsync(CONFIRM_AFTER_MS);
    expect(await state(watching)).toEqual({ settled: true, value: "lapsed" });
    expect(cutAt - downAt).toBeLessThanOrEqual(CONFIRM_AFTER_MS - SAFETY_MARGIN_MS);
    expect(cutAt - downAt).toBeGreaterThan(CONFIRM_AFTER_MS - SAFETY_MARGIN_MS - 1_000);
  });

  it("a call that gets through after a failure clears the doubt", async () => {
    const shard = new FakeShard();
    const watching = watchSeat(options(shard), "h", true, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(holdRoundMs(PASS_TTL_MS) + 10);
    shard.mode = "down";
    shard.drop();
    await vi.advanceTimersByTimeAsync(CONFIRM_AFTER_MS - SAFETY_MARGIN_MS - 1_500);
    shard.mode = "up";
    await vi.advanceTimersByTimeAsync(5 * PASS_TTL_MS);
    expect(await state(watching)).toEqual({ settled: false });
  });

  it("cuts a connection whose hold call never answers at the lease's deadline", async () => {
    const shard = new FakeShard();
    shard.mode = "silent";
    const opts = options(shard);
    const watching = watchSeat(opts, "h", true, new Promise(() => undefined));
    // A call that does not fail is taken to have renewed the seat; its answer is due a round and the slack later.
    await vi.advanceTimersByTimeAsync(holdRoundMs(PASS_TTL_MS) + answerSlackMs(PASS_TTL_MS) - 1);
    expect(await state(watching)).toEqual({ settled: false });
    await vi.advanceTimersByTimeAsync(2);
    expect(await state(watching)).toEqual({ settled: true, value: "lapsed" });
  });

  it("costs nothing for an answer of known length that ends within HOLD_AFTER_MS", async () => {
    const shard = new FakeShard();
    let close!: () => void;
    const closed = new Promise<void>((r) => (close = r));
    const watching = watchSeat(options(shard), "h", false, closed);
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS - 100);
    close();
    expect(await watching).toBeNull();
    expect(shard.calls).toEqual([]);
  });

  it("starts holding an answer of known length that is still streaming after HOLD_AFTER_MS", async () => {
    const shard = new FakeShard();
    void watchSeat(options(shard), "h", false, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS + 1);
    expect(shard.calls).toHaveLength(1);
    expect(shard.calls[0]!.at).toBe(T0 + HOLD_AFTER_MS);
    // An answer of known length ends by itself: not the seat's live connection.
    expect(shard.calls[0]!.live).toBe(false);
  });

  it("holds a live connection as one (each round), and is cut `replaced` when a newer one takes its place", async () => {
    const shard = new FakeShard();
    const watching = watchSeat(options(shard), "h", true, new Promise(() => undefined));
    await vi.advanceTimersByTimeAsync(holdRoundMs(PASS_TTL_MS) + 1);
    expect(shard.calls.map((c) => c.live)).toEqual([true, true]);
    shard.replace();
    expect(await watching).toBe("replaced");
  });
});

describe("tieStream", () => {
  /** An endless origin body; `cancelled` settles when the proxy cancels it. */
  function endlessBody() {
    let cancelled!: (reason: unknown) => void;
    const wasCancelled = new Promise<unknown>((r) => (cancelled = r));
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 100));
        controller.enqueue(new Uint8Array([n++ % 256]));
      },
      cancel: (reason) => cancelled(reason),
    });
    return { body, wasCancelled };
  }

  it("cuts the stream when the seat ends: the origin's body is cancelled, the listener's ends, the shard is told", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = endlessBody();
    const cuts: Cut[] = [];
    const out = tieStream(
      new Response(origin.body, { headers: { "content-type": "audio/mpeg" } }),
      options(shard, work),
      (r) => cuts.push(r),
    );
    expect(out.headers.get("content-type")).toBe("audio/mpeg");
    const reader = out.body!.getReader();
    const got: number[] = [];
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return "ended";
        got.push(...value);
      }
    })();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(got.length).toBeGreaterThan(10);
    shard.end("left");
    await vi.advanceTimersByTimeAsync(200);
    expect(await state(reading)).toEqual({ settled: true, value: "ended" });
    expect(await state(origin.wasCancelled)).toMatchObject({ settled: true });
    await Promise.all(work);
    expect(cuts).toEqual(["left"]);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("cut because the seat moved, says goodbye only once the origin has had time to count it out", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = endlessBody();
    const out = tieStream(new Response(origin.body), options(shard, work));
    const reading = out.body!.pipeTo(new WritableStream());
    await vi.advanceTimersByTimeAsync(1_000);
    shard.end("moved");
    await vi.advanceTimersByTimeAsync(200);
    // Cut at once on both sides; the shard (whose claim answers the newer device) hears of it later.
    expect(await state(reading)).toEqual({ settled: true, value: undefined });
    expect(await state(origin.wasCancelled)).toMatchObject({ settled: true });
    expect(shard.letGoes).toEqual([]);
    await vi.advanceTimersByTimeAsync(ORIGIN_NOTICE_MS);
    await Promise.all(work);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("a live stream says so, and when a newer one replaces it is cut at once and says goodbye once the origin counted it out", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = endlessBody();
    const cuts: Cut[] = [];
    let live = 0;
    const opts = { ...options(shard, work), onLive: () => void live++ };
    const out = tieStream(new Response(origin.body, { headers: { "content-type": "audio/mpeg" } }), opts, (r) =>
      cuts.push(r),
    );
    expect(live).toBe(1);
    const reading = out.body!.pipeTo(new WritableStream());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(shard.calls.map((c) => c.live)).toEqual([true]);
    shard.replace();
    await vi.advanceTimersByTimeAsync(200);
    // A live stream ends cleanly for its listener; the origin's side is cancelled.
    expect(await state(reading)).toEqual({ settled: true, value: undefined });
    expect(await state(origin.wasCancelled)).toMatchObject({ settled: true });
    expect(cuts).toEqual(["replaced"]);
    // The newer connection goes to the origin once this one has let go: not before the origin could count it out.
    expect(shard.letGoes).toEqual([]);
    await vi.advanceTimersByTimeAsync(ORIGIN_NOTICE_MS);
    await Promise.all(work);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("a page or JSON sent in chunks is held at once, but is not a live connection (never replaced)", async () => {
    for (const type of ["text/html; charset=utf-8", "application/json", "application/octet-stream", null]) {
      const shard = new FakeShard();
      let live = 0;
      const opts = { ...options(shard), onLive: () => void live++ };
      const headers: Record<string, string> = type === null ? {} : { "content-type": type };
      void tieStream(new Response(endlessBody().body, { headers }), opts);
      await vi.advanceTimersByTimeAsync(10);
      expect(live, String(type)).toBe(0);
      expect(shard.calls.map((c) => c.live)).toEqual([false]);
    }
    for (const type of ["audio/mpeg", "audio/ogg", "application/ogg", "video/webm", "text/event-stream"]) {
      const shard = new FakeShard();
      void tieStream(new Response(endlessBody().body, { headers: { "content-type": type } }), options(shard));
      await vi.advanceTimersByTimeAsync(10);
      expect(
        shard.calls.map((c) => c.live),
        type,
      ).toEqual([true]);
    }
  });

  it("an answer of known length is not live: nothing said, and held (if at all) as not live", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    let live = 0;
    const opts = { ...options(shard, work), onLive: () => void live++ };
    const origin = endlessBody();
    void tieStream(new Response(origin.body, { headers: { "content-length": "10000000" } }), opts);
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS + 10);
    expect(live).toBe(0);
    expect(shard.calls.map((c) => c.live)).toEqual([false]);
  });

  it("lets go of the seat's hold at once when the listener of a stream that is not live goes away, and cancels the origin", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = endlessBody();
    const cuts: Cut[] = [];
    const out = tieStream(new Response(origin.body), options(shard, work), (r) => cuts.push(r));
    await vi.advanceTimersByTimeAsync(1_000);
    await out.body!.cancel("listener went away");
    await vi.advanceTimersByTimeAsync(100);
    expect(await state(origin.wasCancelled)).toMatchObject({ settled: true });
    await Promise.all(work);
    expect(cuts).toEqual([]);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("a live stream whose listener hung up says goodbye only once the origin has had time to count it out", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = endlessBody();
    const cuts: Cut[] = [];
    const live = new Response(origin.body, { headers: { "content-type": "audio/mpeg" } });
    const out = tieStream(live, options(shard, work), (r) => cuts.push(r));
    await vi.advanceTimersByTimeAsync(1_000);
    await out.body!.cancel("the player reconnects");
    await vi.advanceTimersByTimeAsync(100);
    expect(await state(origin.wasCancelled)).toMatchObject({ settled: true });
    // The seat's next live connection waits for this goodbye: the origin still counts this one until it writes.
    expect(shard.letGoes).toEqual([]);
    await vi.advanceTimersByTimeAsync(ORIGIN_NOTICE_MS);
    await Promise.all(work);
    expect(cuts).toEqual([]);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("costs no call at all for a short answer of known length", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const out = tieStream(new Response("#EXTM3U\n", { headers: { "content-length": "8" } }), options(shard, work));
    expect(await out.text()).toBe("#EXTM3U\n");
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS * 2);
    await Promise.all(work);
    expect(shard.calls).toEqual([]);
    expect(shard.letGoes).toEqual([]);
  });

  it("passes an answer without a body as it is", () => {
    const shard = new FakeShard();
    const res = new Response(null, { status: 204 });
    expect(tieStream(res, options(shard))).toBe(res);
  });
});

describe("tieAnswer", () => {
  const ended = (reason: Cut) => new Response(`ended:${reason}`, { status: 409 });

  /**
   * A body of `bytes` bytes, sent in two halves `gapMs` apart. `abort` breaks
   * it off as an aborted origin request does (`aborted` settles with why).
   */
  function slowBody(bytes: number, gapMs: number) {
    let cancelled!: (reason: unknown) => void;
    const aborted = new Promise<unknown>((r) => (cancelled = r));
    let source!: ReadableStreamDefaultController<Uint8Array>;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => void (source = controller),
      async pull(controller) {
        if (sent > 0) await new Promise((r) => setTimeout(r, gapMs));
        const half = Math.ceil(bytes / 2);
        const n = Math.min(half, bytes - sent);
        controller.enqueue(new Uint8Array(n).fill(7));
        sent += n;
        if (sent >= bytes) controller.close();
      },
    });
    const abort = (reason: Error) => {
      cancelled(reason);
      source.error(reason);
    };
    return { body, aborted, abort, headers: { "content-length": String(bytes), "content-type": "audio/aac" } };
  }

  it("reads a short answer of known length whole, with no call and no pipe: the same status, headers and bytes", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = slowBody(1000, 10);
    const out = tieAnswer(
      new Response(origin.body, { status: 206, headers: origin.headers }),
      options(shard, work),
      ended,
    );
    await vi.advanceTimersByTimeAsync(20);
    const res = await out;
    expect(res.status).toBe(206);
    expect(res.headers.get("content-type")).toBe("audio/aac");
    expect(res.headers.get("content-length")).toBe("1000");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes).toHaveLength(1000);
    expect(bytes.every((b) => b === 7)).toBe(true);
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS * 2);
    await Promise.all(work);
    expect(shard.calls).toEqual([]);
    expect(work).toEqual([]);
  });

  it("leaves no timer behind once a short answer is in, even where the runtime has a scheduler to wait on", async () => {
    // The Workers runtime's `scheduler.wait` has nothing to clear: a timer made with it would lapse
    // HOLD_AFTER_MS after every short answer and wake the isolate once more for each.
    const waits: number[] = [];
    vi.stubGlobal("scheduler", {
      wait: (ms: number) => (waits.push(ms), new Promise<void>((resolve) => setTimeout(resolve, ms))),
    });
    try {
      const origin = slowBody(1000, 10);
      const out = tieAnswer(new Response(origin.body, { headers: origin.headers }), options(new FakeShard()), ended);
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(20);
      expect(new Uint8Array(await (await out).arrayBuffer())).toHaveLength(1000);
      await vi.advanceTimersByTimeAsync(0);
      expect(vi.getTimerCount()).toBe(0);
      expect(waits).toEqual([]);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("holds the seat of a short answer still arriving after HOLD_AFTER_MS, and lets go once it is in", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = slowBody(1000, HOLD_AFTER_MS + 1_000);
    const out = tieAnswer(new Response(origin.body, { headers: origin.headers }), options(shard, work), ended);
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS + 10);
    expect(shard.calls).toHaveLength(1);
    // A short answer still arriving is held, but is not the seat's live connection (nothing replaces it).
    expect(shard.calls[0]!.live).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    const res = await out;
    expect(await res.arrayBuffer()).toHaveProperty("byteLength", 1000);
    await Promise.all(work);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("breaks the listener's answer off where the origin's broke off, before HOLD_AFTER_MS or after", async () => {
    for (const afterMs of [5, HOLD_AFTER_MS + 500]) {
      const shard = new FakeShard();
      const work: Promise<unknown>[] = [];
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => void setTimeout(() => controller.error(new Error("origin reset")), afterMs),
      });
      const headers = { "content-length": "1000", "x-origin": "kept" };
      const out = tieAnswer(new Response(body, { status: 206, headers }), options(shard, work), ended);
      await vi.advanceTimersByTimeAsync(afterMs + 10);
      const res = await out;
      expect([res.status, res.headers.get("x-origin")]).toEqual([206, "kept"]);
      await expect(res.arrayBuffer()).rejects.toThrow("origin reset");
      // Broken off before HOLD_AFTER_MS: its timer is cleared, none left to lapse.
      if (afterMs < HOLD_AFTER_MS) expect(vi.getTimerCount()).toBe(0);
      await Promise.all(work);
      // Held only while it was still arriving after HOLD_AFTER_MS, and let go once it broke off.
      expect(shard.letGoes).toEqual(afterMs > HOLD_AFTER_MS ? ["holder-1"] : []);
    }
  });

  it("cancels a short answer at the origin when its seat ends before it is in, and answers `ended`", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = slowBody(1000, 60_000);
    const out = tieAnswer(
      new Response(origin.body, { headers: origin.headers }),
      options(shard, work),
      ended,
      origin.abort,
    );
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS + 10);
    expect(await state(origin.aborted)).toMatchObject({ settled: false });
    shard.end("left");
    await vi.advanceTimersByTimeAsync(10);
    const res = await out;
    expect(res.status).toBe(409);
    expect(await res.text()).toBe("ended:left");
    const why = await origin.aborted;
    expect(why).toBeInstanceOf(SeatEnded);
    expect((why as SeatEnded).reason).toBe("left");
    await Promise.all(work);
    expect(shard.letGoes).toEqual(["holder-1"]);
  });

  it("answers `ended` at once when the seat ends, even if the origin's body goes on arriving", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = slowBody(1000, 60_000);
    // No way to cancel it (nothing aborts the origin's body): the listener is still answered at once.
    const out = tieAnswer(new Response(origin.body, { headers: origin.headers }), options(shard, work), ended);
    await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS + 10);
    shard.end("moved");
    await vi.advanceTimersByTimeAsync(10);
    expect(await state(Promise.resolve(out))).toMatchObject({ settled: true });
    expect(await (await out).text()).toBe("ended:moved");
  });

  it("breaks the listener's body off when the origin's breaks off", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const origin = slowBody(1000, 100);
    const out = tieAnswer(new Response(origin.body, { headers: origin.headers }), options(shard, work), ended);
    origin.abort(new Error("connection reset"));
    await vi.advanceTimersByTimeAsync(10);
    const res = await out;
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow("connection reset");
  });

  it("hands a short document on as the origin sent it: the very answer, its body unread, no timer, no call", async () => {
    for (const type of [
      "application/vnd.apple.mpegurl",
      "audio/x-mpegurl",
      "application/json",
      "text/html; charset=utf-8",
    ]) {
      const shard = new FakeShard();
      const work: Promise<unknown>[] = [];
      // Still arriving long after HOLD_AFTER_MS: a document is no listener, and ends by itself.
      const origin = slowBody(1000, HOLD_AFTER_MS * 3);
      const response = new Response(origin.body, { headers: { ...origin.headers, "content-type": type } });
      const out = tieAnswer(response, options(shard, work), ended, origin.abort);
      expect(out).toBe(response);
      expect(response.bodyUsed).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
      const reading = response.arrayBuffer();
      await vi.advanceTimersByTimeAsync(HOLD_AFTER_MS * 3 + 10);
      expect(await reading).toHaveProperty("byteLength", 1000);
      expect(await state(origin.aborted)).toMatchObject({ settled: false });
      expect([shard.calls, shard.letGoes, work]).toEqual([[], [], []]);
    }
  });

  it("hands a short compressed document on as it is too, and still reads a short segment whole", async () => {
    const packed = new Response("#EXTM3U\n", {
      headers: { "content-type": "application/x-mpegurl", "content-length": "8", "content-encoding": "gzip" },
    });
    expect(tieAnswer(packed, options(new FakeShard()), ended)).toBe(packed);
    const segment = slowBody(1000, 10);
    const response = new Response(segment.body, { headers: segment.headers });
    const out = tieAnswer(response, options(new FakeShard()), ended);
    expect(out).not.toBe(response);
    // Read whole before it goes on: the origin's body is taken, the listener's is a new one.
    expect(response.bodyUsed).toBe(true);
    await vi.advanceTimersByTimeAsync(20);
    expect(await (await out).arrayBuffer()).toHaveProperty("byteLength", 1000);
  });

  it("streams an answer without a length, or longer than WHOLE_ANSWER_BYTES, through the tie as before", async () => {
    const shard = new FakeShard();
    const work: Promise<unknown>[] = [];
    const big = slowBody(WHOLE_ANSWER_BYTES + 1, 10);
    const out = await tieAnswer(new Response(big.body, { headers: big.headers }), options(shard, work), ended);
    // Handed on before the body is in: the listener reads it as it comes.
    const reading = out.arrayBuffer();
    await vi.advanceTimersByTimeAsync(20);
    expect(await reading).toHaveProperty("byteLength", WHOLE_ANSWER_BYTES + 1);
    expect(work).toHaveLength(1);
  });
});

describe("isDocumentType", () => {
  it("takes pages, text, JSON and XML, images and playlists for documents, and anything else for possible media", () => {
    const documents = [
      "text/html; charset=utf-8",
      "text/plain",
      "TEXT/CSS",
      "application/json",
      "application/problem+json",
      "application/xml",
      "application/dash+xml",
      "application/xspf+xml",
      "application/javascript",
      "image/png",
      "application/vnd.apple.mpegurl",
      "application/x-mpegURL",
      "audio/mpegurl",
      "audio/x-mpegurl",
      "audio/x-scpls",
    ];
    const media = [
      null,
      "",
      "audio/aac",
      "audio/mpeg",
      "audio/ogg; codecs=opus",
      "video/mp2t",
      "video/mp4",
      "application/ogg",
      "application/octet-stream",
      "text/event-stream",
      "multipart/x-mixed-replace; boundary=frame",
      "application/jsonl-audio",
    ];
    expect(documents.filter((t) => !isDocumentType(t))).toEqual([]);
    expect(media.filter((t) => isDocumentType(t))).toEqual([]);
  });
});

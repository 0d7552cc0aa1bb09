/**
 * A proxied WebSocket's goodbye to its seat's shard, inside workerd with
 * real socket pairs: the seat's next live connection waits for that goodbye
 * before it goes to the origin, so it is said only once the origin has
 * answered the close (its side of the socket is through, and it counts the
 * listener out), and a moment after (SOCKET_SETTLE_MS). A close Spillway
 * merely sent is not yet a close the origin counted: a newer socket of the
 * seat let through then would be served beside the older one.
 *
 * The origin's end of each pair here is left unaccepted until the test
 * lets it answer: a socket's events wait for its accept().
 */
import { describe, expect, it } from "vitest";
import { ORIGIN_NOTICE_MS, type SeatKeeper, SOCKET_SETTLE_MS, tieSocket } from "../../src/edge/seat-tie.ts";
import type { HoldAnswer } from "../../src/objects/seat-holds.ts";

const PASS_TTL_MS = 60_000;

/** A shard stand-in: each call waits until the test answers it; goodbyes are noted with when they came. */
class Shard implements SeatKeeper {
  readonly letGoes: { holder: string; at: number }[] = [];
  #pending: ((a: HoldAnswer) => void)[] = [];

  hold(): Promise<HoldAnswer> {
    return new Promise((resolve) => this.#pending.push(resolve));
  }

  async letGo(holder: string): Promise<void> {
    this.letGoes.push({ holder, at: Date.now() });
  }

  answer(a: HoldAnswer): void {
    for (const resolve of this.#pending.splice(0)) resolve(a);
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socket tied to a seat: the listener's end (accepted), the origin's end (not yet), the shard, the tie's work. */
function tied() {
  const shard = new Shard();
  const work: Promise<unknown>[] = [];
  const [upstream, originEnd] = Object.values(new WebSocketPair());
  const res = tieSocket(upstream!, {
    keeper: shard,
    expiresAt: Date.now() + PASS_TTL_MS,
    passTtlMs: PASS_TTL_MS,
    roundMs: 27_000,
    slackMs: 2_000,
    now: () => Date.now(),
    newId: () => "holder-1",
    background: (p) => void work.push(p),
  });
  const listener = res.webSocket!;
  const listenerClosed = new Promise<{ code: number; reason: string }>((resolve) =>
    listener.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
  );
  listener.accept();
  /** The origin takes in what was sent to it, and answers a close (with when it did). */
  const originAnswers = (): Promise<{ code: number; at: number }> => {
    const closed = new Promise<{ code: number; at: number }>((resolve) =>
      originEnd!.addEventListener("close", (e) => {
        try {
          originEnd!.close(e.code, "bye");
        } catch {
          // Answered already by the runtime.
        }
        resolve({ code: e.code, at: Date.now() });
      }),
    );
    originEnd!.accept();
    return closed;
  };
  return { shard, work, listener, listenerClosed, originAnswers };
}

describe("a proxied WebSocket's goodbye", () => {
  it("replaced by a newer socket of the seat: both sides closed 4004 at once, the goodbye only once the origin answered", async () => {
    const t = tied();
    t.shard.answer({ kind: "replaced" });
    expect(await t.listenerClosed).toEqual({ code: 4004, reason: "connection_replaced" });
    // The close is on its way to the origin, which has not taken it in: no goodbye yet.
    await pause(300);
    expect(t.shard.letGoes).toEqual([]);
    const answered = await t.originAnswers();
    expect(answered.code).toBe(4004);
    await Promise.all(t.work);
    expect(t.shard.letGoes.map((g) => g.holder)).toEqual(["holder-1"]);
    expect(t.shard.letGoes[0]!.at - answered.at).toBeGreaterThanOrEqual(SOCKET_SETTLE_MS);
  });

  it("a listener that hangs up: the origin's side is closed, and the goodbye waits for its answer as well", async () => {
    const t = tied();
    t.listener.close(1000, "reconnecting");
    await pause(300);
    expect(t.shard.letGoes).toEqual([]);
    const answered = await t.originAnswers();
    expect(answered.code).toBe(1000);
    await Promise.all(t.work);
    expect(t.shard.letGoes[0]!.at - answered.at).toBeGreaterThanOrEqual(SOCKET_SETTLE_MS);
  });

  it("an origin that never answers the close holds the seat's next socket back for ORIGIN_NOTICE_MS, as a cut stream", async () => {
    const t = tied();
    const cutAt = Date.now();
    t.shard.answer({ kind: "ended", reason: "moved" });
    expect(await t.listenerClosed).toEqual({ code: 4002, reason: "seat_ended:moved" });
    await Promise.all(t.work);
    const waited = t.shard.letGoes[0]!.at - cutAt;
    expect(waited).toBeGreaterThanOrEqual(ORIGIN_NOTICE_MS);
    expect(waited).toBeLessThan(ORIGIN_NOTICE_MS + 1_000);
  });
});

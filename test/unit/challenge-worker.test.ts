/**
 * The solving worker's whole source as bundled (CHALLENGE_WORKER_JS, from
 * src/pages/challenge/browser/worker.ts), run as a browser runs a dedicated
 * worker: a `self` that receives the challenge and posts progress and the
 * solution. Its answer must pass `solves` and be the one `solve` in
 * src/policy/pow.ts finds (the smallest solving nonce).
 */
import { describe, expect, it, vi } from "vitest";
import { leadingZeroBits, solve, solves } from "../../src/policy/pow.ts";
import { PROGRESS_EVERY_MS, SOLVE_BATCH } from "../../src/pages/challenge/browser/solver.ts";
import { CHALLENGE_WORKER_JS, SOLVER_JS } from "../../src/pages/generated/scripts.ts";

type Message =
  | { type: "progress"; tries: number }
  | { type: "solved"; nonce: string; tries: number }
  | { type: "error"; message: string };

interface FakeSelf {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: Message): void;
}

/** Start the worker's source with its own `self` (and, when given, a `crypto` in place of the real one). */
function startWorker(crypto?: unknown): { self: FakeSelf; messages: Message[]; done: Promise<Message> } {
  const messages: Message[] = [];
  let finish: (m: Message) => void = () => undefined;
  const done = new Promise<Message>((resolve) => (finish = resolve));
  const self: FakeSelf = {
    onmessage: null,
    postMessage(message) {
      messages.push(message);
      if (message.type !== "progress") finish(message);
    },
  };
  if (crypto === undefined) new Function("self", CHALLENGE_WORKER_JS)(self);
  else new Function("self", "crypto", CHALLENGE_WORKER_JS)(self, crypto);
  return { self, messages, done };
}

describe("the solving worker", () => {
  it("posts a nonce that solves the challenge: the smallest, the same as the server's own solver", async () => {
    for (const bits of [0, 4, 10]) {
      const id = crypto.randomUUID();
      const { self, done } = startWorker();
      self.onmessage!({ data: { id, bits } });
      const answer = await done;
      expect(answer.type).toBe("solved");
      if (answer.type !== "solved") continue;
      expect(await solves(id, answer.nonce, bits)).toBe(true);
      expect(answer.nonce).toBe(await solve(id, bits));
      // Every nonce up to the answer was tried, and no more than the batch it was in.
      expect(answer.tries).toBe(Number(answer.nonce) + 1);
    }
  });

  it("reports progress while it works, in growing whole batches, at most every PROGRESS_EVERY_MS", async () => {
    // A clock that moves 100 ms each time the worker reads it (once per batch).
    let now = 0;
    const clock = vi.spyOn(Date, "now").mockImplementation(() => (now += 100));
    try {
      const id = "7d1c2f4e-0000-4000-8000-000000000000";
      const bits = 12;
      const expected = Number(await solve(id, bits));
      const { self, messages, done } = startWorker();
      self.onmessage!({ data: { id, bits } });
      const answer = await done;
      expect(answer).toMatchObject({ type: "solved", nonce: String(expected) });
      const tries = messages.filter((m) => m.type === "progress").map((m) => m.tries);
      const batches = Math.floor(expected / SOLVE_BATCH);
      // One report every third batch (300 ms ≥ 250 ms), none after the answer.
      expect(tries).toEqual(Array.from({ length: Math.floor(batches / 3) }, (_, i) => (i + 1) * 3 * SOLVE_BATCH));
      expect(PROGRESS_EVERY_MS).toBe(250);
    } finally {
      clock.mockRestore();
    }
  });

  it("says so when this browser has no Web Crypto (outside a secure context)", async () => {
    const { self, done } = startWorker({});
    self.onmessage!({ data: { id: "x", bits: 4 } });
    expect((await done).type).toBe("error");
  });

  it("counts leading zero bits as the server does, in the copy bundled with the solver", () => {
    const { leadingZeroBits: js } = new Function(`${SOLVER_JS}; return spillwaySolver;`)() as {
      leadingZeroBits: typeof leadingZeroBits;
    };
    for (let i = 0; i < 500; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i % 8)));
      bytes.fill(0, 0, i % 5);
      expect(js(bytes)).toBe(leadingZeroBits(bytes));
    }
    expect(js(new Uint8Array(4))).toBe(32);
  });

  it("is one valid script that fetches and imports nothing", () => {
    expect(() => new Function("self", CHALLENGE_WORKER_JS)).not.toThrow();
    expect(CHALLENGE_WORKER_JS).not.toMatch(/importScripts|fetch\(|XMLHttpRequest|eval\(/);
  });
});

/**
 * The challenge page's bundled script (CHALLENGE_SCRIPT, built from
 * src/pages/challenge/browser/page.ts), run against a stand-in
 * page, worker and network with a fake clock: it starts the worker with the
 * challenge, presents the solution with the two headers, walks on on 200,
 * starts again on a refusal (with the challenge it is given, or a fresh one),
 * waits out a 429's Retry-After, backs off on failures, and talks through
 * the live region only at the moments that matter.
 */
import { describe, expect, it, vi } from "vitest";
import { CHALLENGE_BACKOFF_BASE_SECONDS, STILL_AFTER_MS } from "../../src/pages/challenge/browser/timing.ts";
import { CHALLENGE_SCRIPT } from "../../src/pages/generated/scripts.ts";
import { backoffSeconds } from "../../src/pages/waiting/backoff.ts";
import { CATALOGS } from "../../src/pages/waiting/i18n/index.ts";
import { challengeClientText } from "../../src/pages/waiting/i18n/types.ts";
import { pageScript, useFakeClock } from "../support/page-script.ts";

const T = challengeClientText(CATALOGS.en);
const TARGET = "/rooms/r1/?lang=en";
const JOIN = "/_spillway/rooms/r1/join";
const WORKER_URL = "/_spillway/challenge-worker.js?v=1";

interface Challenge {
  token: string;
  id: string;
  bits: number;
  algorithm: "SHA-256";
  expiresAt: string;
}
const challenge = (n: number): Challenge => ({
  token: `token-${n}`,
  id: `id-${n}`,
  bits: 10,
  algorithm: "SHA-256",
  expiresAt: new Date(Date.now() + 300_000).toISOString(),
});

/** The bundled script, compiled once, run as the browser would, with these globals. */
const runScript = pageScript(CHALLENGE_SCRIPT, ["document", "Worker", "fetch", "location"]);

class FakeWorker {
  static all: FakeWorker[] = [];
  job: unknown = null;
  terminated = false;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: { preventDefault(): void }) => void) | null = null;
  constructor(readonly url: string) {
    FakeWorker.all.push(this);
  }
  postMessage(job: unknown) {
    this.job = job;
  }
  terminate() {
    this.terminated = true;
  }
  /** The worker says something to the page. */
  say(data: unknown) {
    this.onmessage!({ data });
  }
}

interface Call {
  url: string;
  init: { method: string; headers: Record<string, string>; credentials: string; cache: string };
}

/** One page with its script running. */
function openPage(first: Challenge | null = challenge(1), withWorker = true, early: (Response | Error)[] = []) {
  FakeWorker.all = [];
  const el = {
    spillway: {
      dataset: {
        target: TARGET,
        join: JOIN,
        worker: WORKER_URL,
        challenge: first === null ? "" : JSON.stringify(first),
        text: JSON.stringify(T),
      },
    },
    announce: { textContent: "" },
    "pow-box": { hidden: true },
    "pow-progress": {
      value: 0 as number | null,
      removeAttribute(name: string) {
        if (name === "value") this.value = null;
      },
    },
  };
  const document = { getElementById: (id: string) => (el as Record<string, unknown>)[id] ?? null };
  const calls: Call[] = [];
  const answers: (Response | Error)[] = [...early];
  const fetch = (url: string, init: Call["init"]) => {
    calls.push({ url, init });
    const next = answers.shift();
    if (next === undefined) return new Promise(() => undefined);
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  const location = { replace: vi.fn() };
  runScript({ document, Worker: withWorker ? FakeWorker : undefined, fetch, location });
  return {
    el,
    calls,
    location,
    /** Answer the next request(s) with these. */
    answer: (...rs: (Response | Error)[]) => answers.push(...rs),
    worker: () => FakeWorker.all.at(-1)!,
    said: () => el.announce.textContent,
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
const ok = () => json(200, { room: "r1", state: "queued", position: 1, ticket: "t" });
const refused = (code: string, status: number, next?: Challenge) =>
  json(status, { error: { code, message: "…", ...(next ? { challenge: next } : {}) } });

/** Let timers run and promises settle. */
const pass = (ms: number) => vi.advanceTimersByTimeAsync(ms);

useFakeClock();

describe("the challenge page's script", () => {
  it("solves in a worker from this origin, presents the solution, and walks on to the page asked for", async () => {
    const p = openPage();
    expect(p.worker().url).toBe(WORKER_URL);
    expect(p.worker().job).toEqual({ id: "id-1", bits: 10 });
    expect(p.el["pow-box"].hidden).toBe(false);
    // Indeterminate until the first report, then the share of browsers that would be done by now.
    expect(p.el["pow-progress"].value).toBeNull();
    p.worker().say({ type: "progress", tries: 1024 });
    expect(p.el["pow-progress"].value).toBe(63);
    p.worker().say({ type: "progress", tries: 1_000_000 });
    expect(p.el["pow-progress"].value).toBe(99);
    // Progress is not news: the live region stays quiet.
    expect(p.said()).toBe("");

    p.answer(ok());
    p.worker().say({ type: "solved", nonce: "417", tries: 418 });
    expect(p.worker().terminated).toBe(true);
    expect(p.said()).toBe(T.done);
    await pass(0);
    expect(p.calls).toHaveLength(1);
    expect(p.calls[0]!.url).toBe(JOIN);
    expect(p.calls[0]!.init).toMatchObject({
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { accept: "application/json", "spillway-challenge": "token-1", "spillway-solution": "417" },
    });
    expect(p.location.replace).toHaveBeenCalledWith(TARGET);
  });

  it("says once that the check is still running, and nothing on progress", async () => {
    const p = openPage();
    await pass(STILL_AFTER_MS - 100);
    expect(p.said()).toBe("");
    await pass(200);
    expect(p.said()).toBe(T.still);
  });

  it("starts again with the challenge a refusal carries, and asks for a fresh one when it carries none", async () => {
    const p = openPage();
    const first = p.worker();
    p.answer(refused("challenge_failed", 401, challenge(2)));
    first.say({ type: "solved", nonce: "1", tries: 2 });
    await pass(0);
    // At once: a new worker with the new challenge.
    expect(FakeWorker.all).toHaveLength(2);
    expect(p.worker().job).toEqual({ id: "id-2", bits: 10 });

    // Used already, and no new challenge: a second refusal in a row waits a backoff, then asks for one.
    p.answer(refused("challenge_used", 409));
    p.worker().say({ type: "solved", nonce: "5", tries: 6 });
    await pass(0);
    expect(p.calls).toHaveLength(2);
    p.answer(refused("challenge_required", 401, challenge(3)));
    await pass(2_000);
    expect(p.calls).toHaveLength(3);
    expect(p.calls[2]!.init.headers).toEqual({ accept: "application/json" });
    expect(FakeWorker.all).toHaveLength(3);
    expect(p.worker().job).toEqual({ id: "id-3", bits: 10 });
    expect(p.location.replace).not.toHaveBeenCalled();

    p.answer(ok());
    p.worker().say({ type: "solved", nonce: "9", tries: 10 });
    await pass(0);
    expect(p.calls[3]!.init.headers["spillway-challenge"]).toBe("token-3");
    expect(p.location.replace).toHaveBeenCalledWith(TARGET);
  });

  it("waits out a 429's Retry-After, then presents the same solution again", async () => {
    const p = openPage();
    p.answer(json(429, { error: { code: "too_many_joins", message: "…" } }, { "retry-after": "3" }));
    p.worker().say({ type: "solved", nonce: "77", tries: 78 });
    await pass(0);
    expect(p.said()).toBe(T.busy);
    // 3 s, plus up to 20 % of it (half of that with this draw).
    await pass(3_250);
    expect(p.calls).toHaveLength(1);
    p.answer(ok());
    await pass(100);
    expect(p.calls).toHaveLength(2);
    expect(p.calls[1]!.init.headers["spillway-solution"]).toBe("77");
    expect(p.location.replace).toHaveBeenCalledWith(TARGET);
  });

  it("backs off exponentially with full jitter on network errors and 5xx", async () => {
    const p = openPage();
    p.answer(new TypeError("offline"), json(503, { error: { code: "unavailable", message: "…" } }), new TypeError("x"));
    p.worker().say({ type: "solved", nonce: "3", tries: 4 });
    await pass(0);
    expect(p.said()).toBe(T.retry);
    // Draws of one half: 1 s, then 2 s, then 4 s.
    const times: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 3; i++) {
      const before = p.calls.length;
      while (p.calls.length === before) await pass(50);
      times.push(Date.now() - start);
    }
    expect(times).toEqual([1_000, 3_000, 7_000]);
    // The same waits as the server's backoffSeconds for the same draws.
    let at = 0;
    expect(times).toEqual(
      [1, 2, 3].map((n) => (at += backoffSeconds(n, CHALLENGE_BACKOFF_BASE_SECONDS, null, () => 0.5) * 1000)),
    );
    expect(new Set(p.calls.map((c) => c.init.headers["spillway-solution"]))).toEqual(new Set(["3"]));
  });

  it("asks for a challenge when none was rendered, and takes the page asked for when the room stopped asking", async () => {
    // No challenge rendered (or unreadable): a join without a solution; it gives a ticket instead.
    const p = openPage(null, true, [ok()]);
    expect(p.calls).toHaveLength(1);
    expect(p.calls[0]!.init.headers).toEqual({ accept: "application/json" });
    await pass(0);
    expect(p.location.replace).toHaveBeenCalledWith(TARGET);
    expect(FakeWorker.all).toHaveLength(0);

    // It answers with a challenge: solving starts.
    const q = openPage(null, true, [refused("challenge_required", 401, challenge(4))]);
    await pass(0);
    expect(q.worker().job).toEqual({ id: "id-4", bits: 10 });
    expect(q.location.replace).not.toHaveBeenCalled();
  });

  it("says plainly when this browser cannot run the check", async () => {
    const noWorker = openPage(challenge(1), false);
    expect(noWorker.said()).toBe(T.unsupported);
    expect(noWorker.el["pow-box"].hidden).toBe(true);

    const p = openPage();
    p.worker().say({ type: "error", message: "no Web Crypto here" });
    expect(p.said()).toBe(T.unsupported);
    expect(p.worker().terminated).toBe(true);

    const q = openPage();
    const prevented = vi.fn();
    q.worker().onerror!({ preventDefault: prevented });
    expect(prevented).toHaveBeenCalled();
    expect(q.said()).toBe(T.unsupported);
    expect(q.calls).toHaveLength(0);
  });

  it("is one valid script that uses no markup sink", () => {
    expect(() => new Function(CHALLENGE_SCRIPT)).not.toThrow();
    expect(CHALLENGE_SCRIPT).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});

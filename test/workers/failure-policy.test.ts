/**
 * The failure policy, with failures injected: the app runs over an env whose
 * ROOM_SHARD and ROOM_COORDINATOR namespaces hand out the real Durable
 * Objects until a fault is switched on, and then stubs whose calls throw
 * errors flagged as Cloudflare flags them (`retryable`, `overloaded`).
 * Listeners join and take seats normally first; then the objects "go away".
 *
 * What must hold (docs/failure-policy.md):
 * - a waiting listener is answered as still waiting (200 queued, Retry-After
 *   jittered, `Spillway-Policy: wait`) and keeps its place for when the
 *   object is back;
 * - a new arrival is refused, 503 `unavailable` (`closed`), or offered the
 *   recording with FAILURE_POLICY=recording (`recording`);
 * - an admitted listener goes on reaching the origin on its pass (`pass`);
 * - an overloaded error is tried once per request, a retryable one at most
 *   three times, a join never twice; no pass is issued while a shard is down.
 */
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { app } from "../../src/http/app.tsx";
import { POLICY_HEADER, RETRY_AFTER_BASE_SECONDS } from "../../src/policy/failure-policy.ts";
import { MAX_RETRIES } from "../../src/edge/durable-call.ts";
import { PASS_VIEW_MAX_AGE_MS, passTrustMs } from "../../src/policy/pass-trust.ts";
import { forgetViews, VIEW_TTL_MS } from "../../src/edge/view-cache.ts";
import {
  ADMIN,
  BASE,
  bearer,
  type ErrorJson,
  getConfig,
  passClaims,
  patchRoom,
  roomName,
  settled,
  stats,
  type Status,
  useManualClock,
  letRevocationsThrough,
  shardStub,
} from "./helpers.ts";

const t = useManualClock();
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

let warn: MockInstance<typeof console.warn>;
let error: MockInstance<typeof console.error>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
  error = vi.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => {
  warn.mockRestore();
  error.mockRestore();
});

/** Past the cached view's TTL and a failed read's hold (1–2 s), without forgetting the last known view. */
const PAST_HOLD_MS = 2 * VIEW_TTL_MS + 100;
/** Past the delay before a given-back seat is reused. */

type Namespace = "shard" | "coordinator";

/** An injected failure: the flags of the error thrown, and the methods that throw it (all when absent). */
interface Fault {
  flags: { retryable?: boolean; overloaded?: boolean };
  methods?: string[];
}

const RETRYABLE: Fault = { flags: { retryable: true } };
const OVERLOADED: Fault = { flags: { overloaded: true, retryable: false } };

/**
 * The real env with both room namespaces wrapped: while a fault is on, their
 * stubs' calls (the faulted methods) throw; every faulted call is counted.
 */
function faultyEnv() {
  const faults: Record<Namespace, Fault | null> = { shard: null, coordinator: null };
  const calls = new Map<string, number>();
  const wrap = <T extends { getByName(name: string): object }>(real: T, which: Namespace): T => {
    const namespace = {
      getByName(name: string) {
        const stub = real.getByName(name) as Record<string | symbol, unknown>;
        return new Proxy(stub, {
          get(target, prop) {
            const fault = faults[which];
            const method = String(prop);
            const faulted = fault !== null && (fault.methods === undefined || fault.methods.includes(method));
            if (!faulted || prop === "then") return target[prop];
            return () => {
              calls.set(`${which}.${method}`, (calls.get(`${which}.${method}`) ?? 0) + 1);
              return Promise.reject(Object.assign(new Error(`injected: ${which}.${method}`), fault.flags));
            };
          },
        });
      },
    };
    return namespace as unknown as T;
  };
  const vars: Env = {
    ...env,
    ROOM_SHARD: wrap(env.ROOM_SHARD, "shard"),
    ROOM_COORDINATOR: wrap(env.ROOM_COORDINATOR, "coordinator"),
  };
  return {
    env: vars,
    /** The same wrapped env with some vars changed. */
    with: (more: Partial<Env>): Env => ({ ...vars, ...more }),
    fail(which: Namespace, fault: Fault) {
      faults[which] = fault;
    },
    heal() {
      faults.shard = null;
      faults.coordinator = null;
    },
    /** Faulted calls of `which.method` since the last reset. */
    count: (key: string) => calls.get(key) ?? 0,
    /** Every faulted call since the last reset. */
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => calls.clear(),
  };
}

/** Call the app over `e` and wait for the work it left running. */
async function fetchApp(e: Env, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(BASE + path, { redirect: "manual", ...init }), e, ctx);
  return settled(res, ctx);
}

const joinVia = (e: Env, room: string, headers?: Record<string, string>) =>
  fetchApp(e, `/_spillway/rooms/${room}/join`, { method: "POST", headers });
const statusVia = (e: Env, room: string, ticket: string) =>
  fetchApp(e, `/_spillway/rooms/${room}/status`, { headers: bearer(ticket) });

/** Retry-After of a failure answer: within the jitter's bounds. */
function expectJitteredRetryAfter(res: Response): number {
  const seconds = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(seconds)).toBe(true);
  expect(seconds).toBeGreaterThanOrEqual(RETRY_AFTER_BASE_SECONDS);
  expect(seconds).toBeLessThanOrEqual(2 * RETRY_AFTER_BASE_SECONDS);
  return seconds;
}

/** A room of one seat: the first listener holds it, the second waits at position 1. */
async function oneSeatTaken(e: Env, room: string) {
  await patchRoom(room, { capacity: 1 });
  const first = await (await joinVia(e, room)).json<Status>();
  expect(first.state).toBe("admitted");
  const second = await (await joinVia(e, room)).json<Status>();
  expect(second).toMatchObject({ state: "queued", position: 1 });
  return { pass: first.pass!, ticket: second.ticket! };
}

/**
 * A browser's "reconnecting" page: it reloads itself after Retry-After, and
 * speaks the listener's language (asked again at `hePath`, in Hebrew: right to left).
 */
async function expectReconnecting(
  page: Response,
  e: Env,
  hePath: string,
  headers: Record<string, string>,
  heText: string,
): Promise<void> {
  const seconds = expectJitteredRetryAfter(page);
  expect(await page.text()).toContain(`<meta http-equiv="refresh" content="${seconds}" />`);
  const he = await (await fetchApp(e, hePath, { headers: { ...headers, accept: "text/html" } })).text();
  expect(he).toContain('<html lang="he" dir="rtl">');
  expect(he).toContain(heText);
}

/** A room whose one seat was taken and given back: the listener waiting behind it (its ticket) is called next. */
async function turnCome(e: Env, room: string): Promise<string> {
  const { pass, ticket } = await oneSeatTaken(e, room);
  await fetchApp(e, `/_spillway/rooms/${room}/leave`, { method: "POST", headers: bearer(pass) });
  await letRevocationsThrough(t.clock, room);
  return ticket;
}

describe("a waiting listener while its shard is down", () => {
  it("is answered as still waiting from the last known view, and is admitted on the same ticket once the shard is back", async () => {
    const f = faultyEnv();
    const room = roomName("fp-wait");
    const { pass, ticket } = await oneSeatTaken(f.env, room);

    f.fail("shard", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);
    for (let i = 0; i < 3; i++) {
      const res = await statusVia(f.env, room, ticket);
      expect(res.status).toBe(200);
      expect(res.headers.get(POLICY_HEADER)).toBe("wait");
      expect(res.headers.get("cache-control")).toBe("no-store");
      const body = await res.json<Status>();
      expect(body).toMatchObject({ room, state: "queued", position: 1, ahead: 0 });
      expect(body.pass).toBeUndefined();
      expect(body.pollAfterSeconds).toBe(expectJitteredRetryAfter(res));
    }

    // Back: the first listener leaves and the same ticket takes the seat.
    f.heal();
    expect(
      (await fetchApp(f.env, `/_spillway/rooms/${room}/leave`, { method: "POST", headers: bearer(pass) })).status,
    ).toBe(200);
    await letRevocationsThrough(t.clock, room);
    const back = await statusVia(f.env, room, ticket);
    expect(back.headers.has(POLICY_HEADER)).toBe(false);
    const body = await back.json<Status>();
    expect(body.state).toBe("admitted");
    expect(passClaims(body.pass!).sub).toBe(passClaims(ticket).sub);
  });

  it("whose turn has come is told it is at the front (eta unknown) when the claim fails, and claims the seat once the shard is back", async () => {
    const f = faultyEnv();
    const room = roomName("fp-front");
    const ticket = await turnCome(f.env, room);

    f.fail("shard", { ...RETRYABLE, methods: ["claim"] });
    const res = await statusVia(f.env, room, ticket);
    expect(res.status).toBe(200);
    expect(res.headers.get(POLICY_HEADER)).toBe("wait");
    const body = await res.json<Status>();
    expect(body).toMatchObject({ state: "queued", position: 1, ahead: 0, etaSeconds: null });
    expect(body.pollAfterSeconds).toBe(expectJitteredRetryAfter(res));
    // Retryable: the claim was tried at most 1 + MAX_RETRIES times in this one request.
    expect(f.count("shard.claim")).toBe(MAX_RETRIES + 1);

    f.heal();
    const back = await (await statusVia(f.env, room, ticket)).json<Status>();
    expect(back.state).toBe("admitted");
    expect(typeof back.pass).toBe("string");
  });

  it("is tried once per request on an overloaded shard, and not at all while the failure is held", async () => {
    const f = faultyEnv();
    const room = roomName("fp-overload");
    const ticket = await turnCome(f.env, room);

    // The claim is overloaded: one attempt, no retry.
    f.fail("shard", { ...OVERLOADED, methods: ["claim"] });
    expect((await statusVia(f.env, room, ticket)).headers.get(POLICY_HEADER)).toBe("wait");
    expect(f.count("shard.claim")).toBe(1);

    // The whole shard is overloaded: the view is read once, then the failure is held.
    f.fail("shard", OVERLOADED);
    f.reset();
    t.clock.advance(PAST_HOLD_MS);
    for (let i = 0; i < 10; i++) {
      const res = await statusVia(f.env, room, ticket);
      expect(res.status).toBe(200);
      expect(res.headers.get(POLICY_HEADER)).toBe("wait");
    }
    expect(f.count("shard.view")).toBe(1);
    expect(f.total()).toBe(1);
  });

  it("before the start is answered from the last known view as still in the prequeue", async () => {
    const f = faultyEnv();
    const room = roomName("fp-pre");
    await patchRoom(room, { startsAt: new Date(t.clock.now() + 3_600_000).toISOString() });
    const early = await (await joinVia(f.env, room)).json<Status>();
    expect(early.state).toBe("prequeue");
    f.fail("shard", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);

    const res = await statusVia(f.env, room, early.ticket!);
    expect(res.status).toBe(200);
    expect(res.headers.get(POLICY_HEADER)).toBe("wait");
    const body = await res.json<Status>();
    expect(body.state).toBe("prequeue");
    expect(body.pollAfterSeconds).toBe(expectJitteredRetryAfter(res));
  });

  it("with no view known at all is still waiting, its place unknown; a browser gets a page that reloads itself", async () => {
    const f = faultyEnv();
    const room = roomName("fp-noview");
    const { ticket } = await oneSeatTaken(f.env, room);
    f.fail("shard", OVERLOADED);
    // As in a new isolate: nothing cached.
    forgetViews();

    const res = await statusVia(f.env, room, ticket);
    expect(res.status).toBe(200);
    expect(res.headers.get(POLICY_HEADER)).toBe("wait");
    expect(await res.json<Status>()).toMatchObject({ state: "queued", position: null, ahead: null, etaSeconds: null });

    const page = await fetchApp(f.env, `/rooms/${room}/live`, { headers: { ...bearer(ticket), accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get(POLICY_HEADER)).toBe("wait");
    expect(page.headers.get("cache-control")).toBe("no-store");
    await expectReconnecting(
      page,
      f.env,
      `/rooms/${room}/live?lang=he`,
      bearer(ticket),
      "אתם עדיין בתור: המקום שלכם שמור.",
    );
  });

  it("on the guarded path gets the waiting page with its place, marked wait", async () => {
    const f = faultyEnv();
    const room = roomName("fp-page");
    const { ticket } = await oneSeatTaken(f.env, room);
    f.fail("shard", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);

    const res = await fetchApp(f.env, `/rooms/${room}/live`, { headers: { ...bearer(ticket), accept: "text/html" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get(POLICY_HEADER)).toBe("wait");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expectJitteredRetryAfter(res);

    const json = await fetchApp(f.env, `/rooms/${room}/live`, {
      headers: { ...bearer(ticket), accept: "application/json" },
    });
    expect(json.headers.get(POLICY_HEADER)).toBe("wait");
    expect(await json.json<Status>()).toMatchObject({ state: "queued", position: 1 });
  });
});

describe("a new arrival while its shard is down", () => {
  it("is refused with 503 unavailable, a jittered Retry-After and policy closed, and takes no place", async () => {
    const f = faultyEnv();
    const room = roomName("fp-closed");
    await patchRoom(room, { capacity: 10 });
    f.fail("shard", RETRYABLE);

    const res = await joinVia(f.env, room);
    expect(res.status).toBe(503);
    expect(res.headers.get(POLICY_HEADER)).toBe("closed");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expectJitteredRetryAfter(res);
    expect((await res.json<ErrorJson>()).error.code).toBe("unavailable");
    expect(res.headers.get("set-cookie")).toBeNull();

    // A browser on the guarded path: a page that reloads itself after Retry-After.
    const page = await fetchApp(f.env, `/rooms/${room}/live`, { headers: { accept: "text/html" } });
    expect(page.status).toBe(503);
    expect(page.headers.get(POLICY_HEADER)).toBe("closed");
    await expectReconnecting(page, f.env, `/rooms/${room}/live?lang=he`, {}, "החדר לא יכול לקבל מאזינים חדשים כרגע.");

    const app = await fetchApp(f.env, `/rooms/${room}/live`, { headers: { accept: "application/json" } });
    expect(app.status).toBe(503);
    expect((await app.json<ErrorJson>()).error.code).toBe("unavailable");

    f.heal();
    expect((await stats(room)).joined).toBe(0);
  });

  it("whose join fails is never retried (a second try could take a second place)", async () => {
    const f = faultyEnv();
    const room = roomName("fp-join");
    await patchRoom(room, { capacity: 10 });
    // The view is read and cached; only the join fails.
    await joinVia(f.env, room);
    f.fail("shard", { ...RETRYABLE, methods: ["join"] });
    const res = await joinVia(f.env, room);
    expect(res.status).toBe(503);
    expect(res.headers.get(POLICY_HEADER)).toBe("closed");
    expect(f.count("shard.join")).toBe(1);
  });

  it("is offered the recording with FAILURE_POLICY=recording when the room has a link, else refused", async () => {
    const f = faultyEnv();
    const recording = f.with({ FAILURE_POLICY: "recording" });
    const room = roomName("fp-rec");
    const link = "https://example.com/recordings/fp";
    await patchRoom(room, { capacity: 10, recordingUrl: link });
    await joinVia(recording, room);
    f.fail("shard", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);

    const res = await joinVia(recording, room);
    expect(res.status).toBe(200);
    expect(res.headers.get(POLICY_HEADER)).toBe("recording");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json<Status>();
    expect(body).toMatchObject({
      state: "overflow",
      recordingUrl: link,
      offer: { reason: "mode", canKeepPlace: false },
    });
    expect(body.pollAfterSeconds).toBe(expectJitteredRetryAfter(res));
    expect(body.ticket).toBeUndefined();
    expect(body.pass).toBeUndefined();
    expect(typeof body.overflowToken).toBe("string");

    // Polling with the overflow token while the shard is still down: the offer stands.
    const again = await statusVia(recording, room, body.overflowToken!);
    expect(again.status).toBe(200);
    expect(again.headers.get(POLICY_HEADER)).toBe("recording");
    expect(await again.json<Status>()).toMatchObject({ state: "overflow", recordingUrl: link });

    // The default policy refuses the same arrival.
    const closed = await joinVia(f.env, room);
    expect(closed.status).toBe(503);
    expect(closed.headers.get(POLICY_HEADER)).toBe("closed");

    // No link known: refused even under the recording policy.
    const bare = roomName("fp-norec");
    f.heal();
    await patchRoom(bare, { capacity: 10 });
    await joinVia(recording, bare);
    f.fail("shard", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);
    const none = await joinVia(recording, bare);
    expect(none.status).toBe(503);
    expect(none.headers.get(POLICY_HEADER)).toBe("closed");
  });
});

describe("an admitted listener while its shard is down", () => {
  it("reaches the origin on its pass while the last known view is recent, and is told to retry (503, policy pass) once nothing can vouch for its seat", async () => {
    const f = faultyEnv();
    const room = roomName("fp-pass");
    await patchRoom(room, { capacity: 10 });
    const listener = await (await joinVia(f.env, room)).json<Status>();
    expect(listener.state).toBe("admitted");

    f.fail("shard", RETRYABLE);
    f.fail("coordinator", RETRYABLE);
    t.clock.advance(PAST_HOLD_MS);
    // The last view is recent enough to still list every revocation: the pass is honoured from it.
    expect(PAST_HOLD_MS).toBeLessThanOrEqual(PASS_VIEW_MAX_AGE_MS);
    const res = await fetchApp(f.env, `/rooms/${room}/live`, { headers: bearer(listener.pass!) });
    expect(res.status).toBe(200);
    expect(res.headers.get(POLICY_HEADER)).toBe("pass");
    expect(res.headers.get("cache-control")).toBe("no-store");

    // Older than that, only the seat's shard could say the seat is still this pass's; it cannot
    // be reached: the answer is to retry, the origin never hears of it, and the pass is kept.
    t.clock.advance(PASS_VIEW_MAX_AGE_MS);
    f.reset();
    const late = await fetchApp(f.env, `/rooms/${room}/live`, {
      headers: { ...bearer(listener.pass!), accept: "application/json" },
    });
    expect(late.status).toBe(503);
    expect(late.headers.get(POLICY_HEADER)).toBe("pass");
    expectJitteredRetryAfter(late);
    expect((await late.json<ErrorJson>()).error.code).toBe("unavailable");
    expect(late.headers.get("set-cookie")).toBeNull();
    expect(f.count("shard.renew")).toBe(MAX_RETRIES + 1);

    // A heartbeat cannot renew: 503 with Retry-After, and the pass is kept for later.
    const beat = await fetchApp(f.env, `/_spillway/rooms/${room}/heartbeat`, {
      method: "POST",
      headers: bearer(listener.pass!),
    });
    expect(beat.status).toBe(503);
    expect(beat.headers.get(POLICY_HEADER)).toBe("pass");
    expect(beat.headers.get("cache-control")).toBe("no-store");
    expectJitteredRetryAfter(beat);
    expect((await beat.json<ErrorJson>()).error.code).toBe("unavailable");

    // A leave cannot get through either: 503, nothing changed.
    const left = await fetchApp(f.env, `/_spillway/rooms/${room}/leave`, {
      method: "POST",
      headers: bearer(listener.pass!),
    });
    expect(left.status).toBe(503);
    expectJitteredRetryAfter(left);
    expect(left.headers.get("set-cookie")).toBeNull();

    // Back: the same seat renews.
    f.heal();
    const renewed = await fetchApp(f.env, `/_spillway/rooms/${room}/heartbeat`, {
      method: "POST",
      headers: bearer(listener.pass!),
    });
    expect(renewed.status).toBe(200);
    const body = await renewed.json<Status>();
    expect(passClaims(body.pass!).sid).toBe(passClaims(listener.pass!).sid);
  });

  it("is not served on a pass past half its life when its shard cannot renew it, however recent the view", async () => {
    const f = faultyEnv();
    const room = roomName("fp-old-pass");
    await patchRoom(room, { capacity: 10 });
    const listener = await (await joinVia(f.env, room)).json<Status>();
    f.fail("shard", { ...RETRYABLE, methods: ["renew"] });
    // Young: honoured from the view, no renewal asked.
    expect((await fetchApp(f.env, `/rooms/${room}/live`, { headers: bearer(listener.pass!) })).status).toBe(200);
    expect(f.count("shard.renew")).toBe(0);
    // Older than half its lifetime, a seat freed without confirmation may be someone else's:
    // only the shard can say, and it cannot now.
    t.clock.advance(passTrustMs(PASS_TTL_MS) + 100);
    forgetViews();
    const old = await fetchApp(f.env, `/rooms/${room}/live`, {
      headers: { ...bearer(listener.pass!), accept: "application/json" },
    });
    expect(old.status).toBe(503);
    expect(old.headers.get(POLICY_HEADER)).toBe("pass");
    expect((await old.json<ErrorJson>()).error.code).toBe("unavailable");
    expect(f.count("shard.renew")).toBeGreaterThan(0);
  });

  it("reaches the origin while the room's view cannot be read: past a recent view, the seat's own shard vouches for it", async () => {
    const f = faultyEnv();
    const room = roomName("fp-coord");
    await patchRoom(room, { capacity: 10 });
    const listener = await (await joinVia(f.env, room)).json<Status>();
    f.fail("shard", { ...RETRYABLE, methods: ["view"] });
    t.clock.advance(PASS_VIEW_MAX_AGE_MS + 1_000);
    const renewals = async () => (await shardStub(room).requestCounts()).renew ?? 0;
    const before = await renewals();
    const res = await fetchApp(f.env, `/rooms/${room}/live`, { headers: bearer(listener.pass!) });
    expect(res.status).toBe(200);
    // The last known view was too old to vouch from: the seat's shard renewed the seat instead.
    expect(await renewals()).toBe(before + 1);
  });

  it("who left before the shard went down stays refused: the last known view remembers the leave", async () => {
    const f = faultyEnv();
    const room = roomName("fp-left");
    await patchRoom(room, { capacity: 10 });
    const listener = await (await joinVia(f.env, room)).json<Status>();
    await fetchApp(f.env, `/rooms/${room}/live`, { headers: bearer(listener.pass!) });
    const left = await fetchApp(f.env, `/_spillway/rooms/${room}/leave`, {
      method: "POST",
      headers: bearer(listener.pass!),
    });
    expect(left.status).toBe(200);

    f.fail("shard", OVERLOADED);
    const res = await fetchApp(f.env, `/rooms/${room}/live`, { headers: bearer(listener.pass!) });
    expect(res.status).toBe(409);
    expect((await res.json<ErrorJson>()).error.code).toBe("seat_ended");
  });
});

describe("the strict cap while a shard is down", () => {
  it("issues no pass: arrivals, waiting listeners and those whose turn came all go without", async () => {
    const f = faultyEnv();
    const room = roomName("fp-cap");
    const ticket = await turnCome(f.env, room);

    f.fail("shard", RETRYABLE);
    const answers: Response[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push(await joinVia(f.env, room));
      answers.push(await statusVia(f.env, room, ticket));
      answers.push(
        await fetchApp(f.env, `/rooms/${room}/live`, { headers: { ...bearer(ticket), accept: "application/json" } }),
      );
      t.clock.advance(PAST_HOLD_MS);
    }
    for (const res of answers) {
      expect(res.headers.get(POLICY_HEADER)).not.toBeNull();
      const text = await res.text();
      expect(text).not.toContain('"pass"');
      expect(res.headers.get("set-cookie") ?? "").not.toMatch(/-pass-/);
    }

    f.heal();
    const s = await stats(room);
    expect(s.active).toBeLessThanOrEqual(1);
    expect(s.joined).toBe(2);
  });
});

describe("admin endpoints while a room's coordinator is down", () => {
  it("answer 503 unavailable with Retry-After, and a change that failed changed nothing", async () => {
    const f = faultyEnv();
    const room = roomName("fp-admin");
    await patchRoom(room, { capacity: 7 });
    f.fail("coordinator", RETRYABLE);

    const read = await fetchApp(f.env, `/_spillway/admin/rooms/${room}`, { headers: { authorization: ADMIN } });
    expect(read.status).toBe(503);
    expect(read.headers.get("cache-control")).toBe("no-store");
    expectJitteredRetryAfter(read);
    expect((await read.json<ErrorJson>()).error.code).toBe("unavailable");
    expect(f.count("coordinator.getConfig")).toBe(MAX_RETRIES + 1);

    const change = await fetchApp(f.env, `/_spillway/admin/rooms/${room}`, {
      method: "PATCH",
      headers: { authorization: ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ capacity: 9 }),
    });
    expect(change.status).toBe(503);
    expectJitteredRetryAfter(change);
    // A change is never retried: it would be applied (and audited) twice.
    expect(f.count("coordinator.patchConfig")).toBe(1);

    f.heal();
    expect((await getConfig(room)).config.capacity).toBe(7);
  });
});

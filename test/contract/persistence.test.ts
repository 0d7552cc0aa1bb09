/**
 * `npm start -- <args>` hands its arguments to `wrangler dev`: the chosen
 * port and address, the admin token given with --var, and --persist-to, so
 * a room's config, queue and seats survive a restart of the Worker.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminCall,
  bearer,
  type ConfigJson,
  type ErrorJson,
  join,
  send,
  type StatsJson,
  type StatusJson,
} from "./support/http.ts";
import { freePort, onFreePort, type RunningWorker, startWorker, tempDir } from "./support/worker.ts";

const ADMIN = "secret-one";
const ROOM = "persisted-room";
const DOWN_ROOM = "origin-down-room";

let port = 0;
let closedPort = 0;
let persistTo = "";
let worker: RunningWorker | undefined;

function running(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker is not running");
  return worker;
}

function start(): Promise<RunningWorker> {
  return startWorker({
    port,
    adminToken: ADMIN,
    // Nothing listens here: the origin is down.
    originUrl: `http://127.0.0.1:${closedPort}`,
    persistTo,
    // Seats outlive a slow restart; the test is about persistence, not expiry.
    vars: { PASS_TTL_SECONDS: "600" },
  });
}

beforeAll(async () => {
  closedPort = await freePort();
  persistTo = await tempDir("spillway-persist-");
  // The port is this test's own (each restart comes back on it): a new one if the first start loses it.
  worker = await onFreePort((free) => {
    port = free;
    return start();
  });
});

afterAll(async () => {
  try {
    await worker?.stop();
  } finally {
    worker = undefined;
    if (persistTo !== "") await rm(persistTo, { recursive: true, force: true });
  }
});

describe("npm start arguments reach wrangler dev", () => {
  it("answers on the chosen --ip and --port", async () => {
    const w = running();
    expect(w.url).toBe(`http://127.0.0.1:${port}`);
    expect(w.output()).toContain(`Ready on http://127.0.0.1:${port}`);
    expect(w.output()).toContain(`http://127.0.0.1:${port}/_spillway/jwks.json`);

    const res = await send<{ keys: unknown[] }>(`http://127.0.0.1:${port}/_spillway/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.json.keys.length).toBeGreaterThan(0);
  });

  it("uses the admin token given with --var and refuses any other", async () => {
    expect(running().output()).toContain(`Admin token:   ${ADMIN}`);

    const ok = await adminCall<ConfigJson>(running().url, ADMIN, "GET", `/rooms/${ROOM}`);
    expect(ok.status).toBe(200);
    expect(ok.json.room).toBe(ROOM);
    expect(typeof ok.json.config.capacity).toBe("number");

    for (const wrong of ["secret-two", "secret-on", `${ADMIN}x`]) {
      const refused = await adminCall<ErrorJson>(running().url, wrong, "GET", `/rooms/${ROOM}`);
      expect(refused.status).toBe(401);
      expect(refused.json.error.code).toBe("unauthorized");
      expect(refused.text).not.toContain("capacity");
    }
  });
});

describe("state survives a restart with the same --persist-to", () => {
  const tickets: string[] = [];
  const passes: string[] = [];

  it("fills a room of capacity 2 with 3 joins", async () => {
    const patched = await adminCall<ConfigJson>(running().url, ADMIN, "PATCH", `/rooms/${ROOM}`, { capacity: 2 });
    expect(patched.status).toBe(200);
    expect(patched.json.config.capacity).toBe(2);

    const states: StatusJson[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await join(running().url, ROOM);
      expect(res.status).toBe(200);
      states.push(res.json);
      tickets.push(res.json.ticket!);
      if (res.json.pass !== undefined) passes.push(res.json.pass);
    }
    expect(states.map((s) => s.state)).toEqual(["admitted", "admitted", "queued"]);
    expect(states[2]!.position).toBe(1);
    expect(states[2]!.ahead).toBe(0);
    expect(passes).toHaveLength(2);

    const stats = await adminCall<StatsJson>(running().url, ADMIN, "GET", `/rooms/${ROOM}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({ active: 2, capacity: 2, queued: 1 });
  });

  it("keeps config, seats and the queue after the Worker is stopped and started again", async () => {
    expect(tickets).toHaveLength(3);
    await running().stop();
    worker = undefined;
    // Really down: nothing answers on the port.
    await expect(fetch(`http://127.0.0.1:${port}/_spillway/jwks.json`)).rejects.toThrow();

    worker = await start();
    const base = running().url;
    expect(base).toBe(`http://127.0.0.1:${port}`);

    const config = await adminCall<ConfigJson>(base, ADMIN, "GET", `/rooms/${ROOM}`);
    expect(config.status).toBe(200);
    expect(config.json.config.capacity).toBe(2);

    const stats = await adminCall<StatsJson>(base, ADMIN, "GET", `/rooms/${ROOM}/stats`);
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({ active: 2, capacity: 2, queued: 1 });

    const waiting = await send<StatusJson>(`${base}/_spillway/rooms/${ROOM}/status`, { headers: bearer(tickets[2]!) });
    expect(waiting.status).toBe(200);
    expect(waiting.json.state).toBe("queued");
    expect(waiting.json.position).toBe(1);
    expect(waiting.json.pass).toBeUndefined();
  });

  it("still knows the seats and the queue's end after the restart", async () => {
    const base = running().url;

    // A seat from before the restart renews (its lease was kept).
    const renewed = await send<StatusJson>(`${base}/_spillway/rooms/${ROOM}/heartbeat`, {
      method: "POST",
      headers: bearer(passes[0]!),
    });
    expect(renewed.status).toBe(200);
    expect(renewed.json.state).toBe("admitted");
    expect(typeof renewed.json.pass).toBe("string");

    // A new arrival queues behind the one who was waiting before.
    const late = await join(base, ROOM);
    expect(late.status).toBe(200);
    expect(late.json.state).toBe("queued");
    expect(late.json.position).toBe(2);

    // The admitted listener's retried join takes no second place.
    const retried = await send<StatusJson>(`${base}/_spillway/rooms/${ROOM}/join`, {
      method: "POST",
      headers: bearer(tickets[0]!),
    });
    expect(retried.status).toBe(200);
    const stats = await adminCall<StatsJson>(base, ADMIN, "GET", `/rooms/${ROOM}/stats`);
    expect(stats.json).toMatchObject({ active: 2, queued: 2 });
  });
});

describe("an origin that is down", () => {
  it("gives an admitted listener 502 with Retry-After and the JSON error shape", async () => {
    const base = running().url;
    const admitted = await join(base, DOWN_ROOM);
    expect(admitted.status).toBe(200);
    expect(admitted.json.state).toBe("admitted");
    const pass = admitted.json.pass!;

    const res = await send<ErrorJson>(`${base}/rooms/${DOWN_ROOM}/live.m3u8`, { headers: bearer(pass) });

    expect(res.status).toBe(502);
    const retryAfter = res.headers.get("retry-after");
    expect(retryAfter).not.toBeNull();
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json.error.code).toBe("origin_unreachable");
    expect(typeof res.json.error.message).toBe("string");
    expect(res.json.error.message.length).toBeGreaterThan(0);

    // The seat stays with its listener.
    const stats = await adminCall<StatsJson>(base, ADMIN, "GET", `/rooms/${DOWN_ROOM}/stats`);
    expect(stats.json.active).toBe(1);
  });
});

/**
 * When the room is full, over HTTP against `npm start`: mode changes reach a
 * fresh edge request within 2 s, overflow and closed listeners get the
 * recording link, and an origin answering 503 lowers the limits in force
 * while admitted listeners keep their seats.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminCall, bearer, join, send, type StatsJson, type StatusJson } from "./support/http.ts";
import { type RecordingOrigin, startOrigin } from "./support/origin.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

let origin: RecordingOrigin | undefined;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  origin = await startOrigin();
  worker = await startWorker({ adminToken: `full-${crypto.randomUUID()}`, originUrl: origin.url });
});

afterAll(async () => {
  await worker?.stop();
  await origin?.close();
});

function w(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker;
}

async function patch(room: string, body: unknown): Promise<void> {
  const res = await adminCall(w().url, w().adminToken, "PATCH", `/rooms/${room}`, body);
  expect(res.status).toBe(200);
}

async function stats(room: string): Promise<StatsJson> {
  const res = await adminCall<StatsJson>(w().url, w().adminToken, "GET", `/rooms/${room}/stats`);
  expect(res.status).toBe(200);
  return res.json;
}

/** Ask until `done` holds or `withinMs` passes; the answer and how long it took. */
async function until<T>(ask: () => Promise<T>, done: (t: T) => boolean, withinMs: number) {
  const start = performance.now();
  for (;;) {
    const value = await ask();
    const ms = performance.now() - start;
    if (done(value) || ms > withinMs) return { value, ms };
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("a full room over HTTP", () => {
  it("applies overflow and closed modes at the edge within 2 s, and hands out the recording link", async () => {
    const room = `full-${crypto.randomUUID().slice(0, 8)}`;
    await patch(room, { capacity: 1 });
    const seated = (await join(w().url, room)).json;
    expect(seated.state).toBe("admitted");
    // Warm this edge's cached view, then change the mode.
    expect((await join(w().url, room)).json.state).toBe("queued");

    await patch(room, { mode: "overflow" });
    const overflow = await until(
      () => join(w().url, room),
      (r) => r.json.state === "overflow",
      3_000,
    );
    expect(overflow.value.json.state).toBe("overflow");
    expect(overflow.ms).toBeLessThan(2_000);
    const token = overflow.value.json.overflowToken!;

    await patch(room, { mode: "closed", recordingUrl: "https://example.com/recording" });
    const poll = () => send<StatusJson>(`${w().url}/_spillway/rooms/${room}/status`, { headers: bearer(token) });
    const closed = await until(poll, (r) => r.json.state === "closed", 3_000);
    expect(closed.value.json).toMatchObject({ state: "closed", recordingUrl: "https://example.com/recording" });
    expect(closed.ms).toBeLessThan(2_000);
  });

  it("lowers the limits in force while the origin answers 503, and leaks no seat", async () => {
    const room = `melt-${crypto.randomUUID().slice(0, 8)}`;
    await patch(room, { capacity: 10, admitPerMinute: 600 });
    const listener = (await join(w().url, room)).json;
    expect(listener.state).toBe("admitted");
    origin!.answer = { status: 503, headers: {} };
    try {
      const res = await send(`${w().url}/rooms/${room}/stream`, { headers: bearer(listener.pass!) });
      expect(res.status).toBe(503);
      const s = await until(
        () => stats(room),
        (x) => x.origin.distress > 0,
        3_000,
      );
      expect(s.value.effectiveAdmitPerMinute).toBeLessThan(600);
      expect(s.value.effectiveCapacity).toBeLessThan(10);
      expect(s.value.admitPerMinute).toBe(600);
      expect(s.value.active).toBe(1);
    } finally {
      origin!.answer = { status: 200, headers: {} };
    }
    // The listener still holds its seat and reaches the origin.
    const ok = await send(`${w().url}/rooms/${room}/stream`, { headers: bearer(listener.pass!) });
    expect(ok.status).toBe(200);
  });
});

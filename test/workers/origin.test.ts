import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import {
  bearer,
  callWith,
  type ErrorJson,
  join,
  passClaims,
  patchRoom,
  roomName,
  shardStub,
  stats,
  type Status,
  status,
  useManualClock,
} from "./helpers.ts";

const t = useManualClock();

let warn: MockInstance<typeof console.warn>;
beforeEach(() => {
  warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => {
  warn.mockRestore();
});

/** How many times the Worker tried the origin and failed. */
const failedOriginAttempts = () =>
  warn.mock.calls.filter((args) => String(args[0]).includes("origin unreachable")).length;

const UNREACHABLE = { ORIGIN_URL: "http://127.0.0.1:9" };
const PASS_TTL_MS = Number(env.PASS_TTL_SECONDS) * 1000;

function viaUnreachable(path: string, init?: RequestInit): Promise<Response> {
  return callWith(UNREACHABLE, path, init);
}

describe("origin unreachable", () => {
  it("answers 502 origin_unreachable with Retry-After to an admitted listener", async () => {
    const room = roomName("org-502");
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");

    for (const accept of ["application/json", "text/html"]) {
      const res = await viaUnreachable(`/rooms/${room}/stream`, { headers: { ...bearer(listener.pass!), accept } });
      expect(res.status).toBe(502);
      expect(res.headers.get("content-type")).toMatch(/^application\/json\b/);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThan(0);
      const body = await res.json<ErrorJson>();
      expect(body.error.code).toBe("origin_unreachable");
    }

    expect(failedOriginAttempts()).toBe(2);

    // The failed proxying took no extra seat.
    const s = await stats(room);
    expect(s.active).toBe(1);
    expect(s.admittedTotal).toBe(1);
  });

  it("leaks no seat: the pass still renews, and the lease still expires when heartbeats stop", async () => {
    const room = roomName("org-leak");
    await patchRoom(room, { capacity: 1 });
    const listener = (await join(room)).body;
    const next = (await join(room)).body;
    expect(next.state).toBe("queued");

    expect((await viaUnreachable(`/rooms/${room}/a`, { headers: bearer(listener.pass!) })).status).toBe(502);

    // The listener's own pass still works for heartbeat.
    t.clock.advance(10_000);
    const hb = await viaUnreachable(`/_spillway/rooms/${room}/heartbeat`, {
      method: "POST",
      headers: bearer(listener.pass!),
    });
    expect(hb.status).toBe(200);
    const renewed = await hb.json<Status>();
    expect(passClaims(renewed.pass!).sid).toBe(passClaims(listener.pass!).sid);

    // A request past half the pass lifetime renews on the way and still fails cleanly.
    t.clock.advance(PASS_TTL_MS / 2 + 1_000);
    const late = await viaUnreachable(`/rooms/${room}/b`, { headers: bearer(renewed.pass!) });
    expect(late.status).toBe(502);
    expect(failedOriginAttempts()).toBe(2);
    expect((await stats(room)).active).toBe(1);

    // No more heartbeats: once the lease ends, the alarm frees the seat for the next listener.
    t.clock.advance(PASS_TTL_MS + 1_000);
    expect(await runDurableObjectAlarm(shardStub(room))).toBe(true);
    const s = await stats(room);
    expect(s.active).toBe(0);
    expect(s.expired).toBe(1);
    expect((await status(room, next.ticket!)).body.state).toBe("admitted");
    expect((await stats(room)).active).toBe(1);
  });
});

/**
 * The demo origin's live stream through the guarded path: an admitted
 * listener gets an endless WAV stream (header, then PCM of the room's
 * sound, as it is generated); nobody without a valid pass gets audio.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  BYTES_PER_SECOND,
  DEFAULT_PACE,
  liveIndex,
  pcm16,
  streamStart,
  WAV_HEADER_BYTES,
  wavHeader,
} from "../../src/demo/demo-audio.ts";
import { demoOrigin } from "../../src/demo/demo.tsx";
import { PASS_HEADER } from "../../src/edge/proxy.ts";
import { keyRing } from "../../src/tokens/keys.ts";
import { BASE, bearer, call, type ErrorJson, join, roomName, type Status, useManualClock } from "./helpers.ts";

const t = useManualClock();

/** Read the body until it has at least `bytes` bytes, then cancel it. */
async function firstBytes(res: Response, bytes: number): Promise<Uint8Array> {
  const reader = res.body!.getReader();
  const out = new Uint8Array(bytes);
  let have = 0;
  while (have < bytes) {
    const { value, done } = await reader.read();
    if (done) break;
    out.set(value.subarray(0, bytes - have), have);
    have += Math.min(value.length, bytes - have);
  }
  await reader.cancel();
  return out.subarray(0, have);
}

describe("the demo room's live stream", () => {
  it("plays to an admitted listener: a WAV header, then PCM as it is generated", async () => {
    const room = roomName("live");
    const listener = (await join(room)).body;
    expect(listener.state).toBe("admitted");

    const res = await call(`/rooms/${room}/live.wav`, { headers: bearer(listener.pass!) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("cache-control")).toBe("no-store");
    // Endless: no length.
    expect(res.headers.get("content-length")).toBeNull();

    // The header and half a second of sound (sent at once: the burst and the lead are more).
    const bytes = await firstBytes(res, WAV_HEADER_BYTES + 16_000);
    expect(bytes.length).toBe(WAV_HEADER_BYTES + 16_000);
    expect(bytes.subarray(0, WAV_HEADER_BYTES)).toEqual(wavHeader());
    const pcm = bytes.subarray(WAV_HEADER_BYTES);
    expect(pcm.some((b) => b !== 0)).toBe(true);
    // The PCM is the piece from some sample on (where the room was when the listener came in).
    const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.length);
    expect(
      Math.max(...Array.from({ length: pcm.length / 2 }, (_, i) => Math.abs(view.getInt16(i * 2, true)))),
    ).toBeGreaterThan(300);
  });

  it("is paced by the clock: the room's last seconds and a lead at once, then as fast as real time", async () => {
    const room = roomName("live-pace");
    const listener = (await join(room)).body;
    const res = await call(`/rooms/${room}/live.wav`, { headers: bearer(listener.pass!) });
    const started = Date.now();
    // The header, the burst, the lead and half a second more: that half second takes real time.
    const atOnce = ((DEFAULT_PACE.burstMs + DEFAULT_PACE.leadMs) * BYTES_PER_SECOND) / 1000;
    const bytes = await firstBytes(res, WAV_HEADER_BYTES + atOnce + BYTES_PER_SECOND / 2);
    const elapsed = Date.now() - started;
    expect(bytes.length).toBe(WAV_HEADER_BYTES + atOnce + BYTES_PER_SECOND / 2);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(5_000);
  });

  it("is played by the room page: an audio element, a Play button, and the seat's message", async () => {
    const room = roomName("live-page");
    const listener = (await join(room)).body;
    const res = await call(`/rooms/${room}/`, { headers: { ...bearer(listener.pass!), accept: "text/html" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`<audio id="live" controls="" preload="none" data-src="/rooms/${room}/live.wav"`);
    expect(html).toContain('<button id="play" type="button">');
    expect(html).toMatch(/<p id="seat"[^>]*>/);
  });

  it("starts a burst before where the room is when the listener comes in, the same bytes as the generator's", async () => {
    const room = roomName("live-same");
    const listener = (await join(room)).body;
    const res = await call(`/rooms/${room}/live.wav`, { headers: bearer(listener.pass!) });
    const pcm = (await firstBytes(res, WAV_HEADER_BYTES + 8_000)).subarray(WAV_HEADER_BYTES);
    expect(pcm).toEqual(pcm16(streamStart(liveIndex(t.clock.now())), pcm.length / 2));
  });

  it("gives no audio to a request without a pass, or with a pass of another room", async () => {
    const room = roomName("live-nopass");
    // Spillway answers a stranger itself (here: a place in the room), never with the origin's audio.
    const stranger = await call(`/rooms/${room}/live.wav`, { headers: { accept: "application/json" } });
    expect(stranger.headers.get("content-type")).toMatch(/^application\/json\b/);
    expect((await stranger.json<Status>()).state).toBe("admitted");

    const elsewhere = (await join(roomName("live-other"))).body;
    const wrongRoom = await call(`/rooms/${room}/live.wav`, { headers: bearer(elsewhere.pass!) });
    expect(wrongRoom.status).toBe(401);
    expect(wrongRoom.headers.get("content-type")).toMatch(/^application\/json\b/);
    expect((await wrongRoom.json<ErrorJson>()).error.code).toBe("invalid_token");
  });

  it("is refused by the demo origin itself without a valid Spillway-Pass", async () => {
    const room = roomName("live-origin");
    const { jwks } = await keyRing(env);
    const opts = { jwks, issuer: env.TOKEN_ISSUER, heartbeatSeconds: 20, now: t.clock.now() };
    const url = `${BASE}/rooms/${room}/live.wav`;

    const none = await demoOrigin(new Request(url), opts);
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).not.toMatch(/^audio\//);

    const elsewhere = (await join(roomName("live-other"))).body;
    const forged = await demoOrigin(new Request(url, { headers: { [PASS_HEADER]: elsewhere.pass! } }), opts);
    expect(forged.status).toBe(403);
    expect(forged.headers.get("content-type")).not.toMatch(/^audio\//);

    const admitted = (await join(room)).body;
    const ok = await demoOrigin(new Request(url, { headers: { [PASS_HEADER]: admitted.pass! } }), opts);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("content-type")).toBe("audio/wav");
    await ok.body!.cancel();
  });
});

/**
 * The whole arc of an event, on a real origin: Icecast (Debian's icecast2)
 * fed live MP3 by ffmpeg, recording the show into its webroot, with Spillway
 * in front of it (ORIGIN_URL is Icecast itself).
 *
 * The live audience fills the room; ops switch it to `overflow` (docs/operations.md,
 * "Runbook for an event": new arrivals are offered the recording instead of
 * a long wait), so later arrivals get `state: "overflow"` with an overflow
 * token and no recording yet; the show ends (ffmpeg stops, Icecast closes
 * the dump file); ops post the recording (`recordingUrl`, Icecast's URL of
 * the dump file) and close the room (`mode: "closed"`); those offered the
 * recording poll with their overflow token and get its link, and what the
 * link serves is an MP3 as long as the show. Throughout, a sampler reads
 * Icecast's own listener count every 150 ms: never more than the capacity.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, pause } from "./support/held.ts";
import { adminCall, bearer, join, send, type StatsJson, type StatusJson } from "./support/http.ts";
import {
  audioSummary,
  ffprobe,
  listen,
  requireDebian,
  type RunningIcecast,
  startIcecast,
  startSource,
  type StreamListener,
} from "./support/icecast.ts";
import { type ListenerSampler, sampleListeners } from "./support/listener-count.ts";
import { type RunningWorker, startWorker } from "./support/worker.ts";

const ROOM = "arc";
const MOUNT = `/rooms/${ROOM}/stream.mp3`;
const CAPACITY = 2;
/** Short leases, so that the live audience keeps its seats across several of them. */
const PASS_TTL_SECONDS = 5;
const LIFETIME_MS = PASS_TTL_SECONDS * 1000;
/** docs/full-room.md: every edge applies a mode change within 2 s. */
const MODE_REACHES_EDGES_MS = 2_000;
/** How many arrivals come once the room is full. */
const LATECOMERS = 3;

let icecast: RunningIcecast | undefined;
let worker: RunningWorker | undefined;
let sampler: ListenerSampler | undefined;
const listeners: StreamListener[] = [];

function ice(): RunningIcecast {
  if (icecast === undefined) throw new Error("Icecast did not start");
  return icecast;
}

function spillway(): RunningWorker {
  if (worker === undefined) throw new Error("Spillway did not start");
  return worker;
}

async function patch(body: Record<string, unknown>): Promise<void> {
  const res = await adminCall(spillway().url, spillway().adminToken, "PATCH", `/rooms/${ROOM}`, body);
  expect(res.status, res.text).toBe(200);
}

async function stats(): Promise<StatsJson & { overflowed: number; peakConcurrent: number }> {
  const res = await adminCall<StatsJson & { overflowed: number; peakConcurrent: number }>(
    spillway().url,
    spillway().adminToken,
    "GET",
    `/rooms/${ROOM}/stats`,
  );
  expect(res.status).toBe(200);
  return res.json;
}

/** Poll `status` with a ticket or an overflow token, as an app does. */
async function poll(token: string): Promise<StatusJson> {
  const res = await send<StatusJson>(`${spillway().url}/_spillway/rooms/${ROOM}/status`, {
    headers: { ...bearer(token), accept: "application/json" },
  });
  expect(res.status, res.text).toBe(200);
  return res.json;
}

/** Open the live stream through Spillway with `pass`: Spillway lets it through as MP3. */
async function tuneIn(pass: string): Promise<StreamListener> {
  const listener = await listen(`${spillway().url}${MOUNT}`, { headers: bearer(pass), keepBytes: 64_000 });
  listeners.push(listener);
  expect(listener.status).toBe(200);
  expect(listener.headers["content-type"]).toBe("audio/mpeg");
  return listener;
}

/** What a listener receives is MP3 audio a decoder reads. */
async function expectPlays(listener: StreamListener): Promise<void> {
  const audio = audioSummary(await ffprobe(await listener.bytes(32_000), { format: "mp3" }));
  expect(audio.codec).toBe("mp3");
  expect(audio.sampleRate).toBeGreaterThan(0);
}

beforeAll(async () => {
  await requireDebian(["icecast2", "ffmpeg", "ffprobe"]);
  icecast = await startIcecast({ recordMounts: [MOUNT] });
  sampler = sampleListeners(icecast, 150);
  worker = await startWorker({
    adminToken: `arc-${crypto.randomUUID()}`,
    originUrl: icecast.url,
    vars: { PASS_TTL_SECONDS: String(PASS_TTL_SECONDS) },
  });
});

afterAll(async () => {
  for (const l of listeners) l.close();
  await sampler?.stop();
  try {
    await worker?.stop();
  } finally {
    await icecast?.stop();
  }
});

describe("an event from full room to recording, on a real Icecast", () => {
  it("fills the room, offers latecomers the recording, and hands them the show's MP3 once it is posted", async () => {
    const from = Date.now();
    await patch({ capacity: CAPACITY, admitPerMinute: 600, mode: "open", recordingUrl: null });

    // The show starts: ffmpeg feeds the mount, Icecast records it.
    const show = await startSource(ice(), MOUNT);
    const showStartedAt = Date.now();

    // The live audience fills the room, and plays the show through Spillway.
    const seated = [(await join(spillway().url, ROOM)).json, (await join(spillway().url, ROOM)).json];
    expect(seated.map((s) => s.state)).toEqual(["admitted", "admitted"]);
    // Both tune in at once, then listen: 32 kB of a show that has just begun take seconds
    // to arrive, longer than is left of a 5 s pass taken at the join.
    const live = await Promise.all(seated.map((s) => tuneIn(s.pass!)));
    for (const l of live) await expectPlays(l);
    await ice().waitForListeners(MOUNT, CAPACITY, 5_000);
    // One more came while the room was open: it waits in line.
    const inLine = (await join(spillway().url, ROOM)).json;
    expect(inLine.state).toBe("queued");

    // The room cannot take everyone: ops offer new arrivals the recording.
    await patch({ mode: "overflow" });
    await pause(MODE_REACHES_EDGES_MS + 500);
    const offered: string[] = [];
    for (let i = 0; i < LATECOMERS; i++) {
      const res = await join(spillway().url, ROOM);
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ state: "overflow", recordingUrl: null, offer: { reason: "mode" } });
      expect(res.json.pass).toBeUndefined();
      expect(res.json.overflowToken).toEqual(expect.any(String));
      offered.push(res.json.overflowToken!);
    }
    // An offer is not a seat: the live stream is not theirs (Spillway answers, Icecast never hears of it).
    const knock = await send<StatusJson>(`${spillway().url}${MOUNT}`, {
      headers: { ...bearer(offered[0]!), accept: "application/json" },
      signal: AbortSignal.timeout(5_000),
    });
    expect(knock.json.state).toBe("overflow");

    // The show goes on: the live audience keeps its seats over two lifetimes with no heartbeat,
    // the latecomers keep being told the recording is not there yet, the one in line keeps waiting.
    const until = Date.now() + 2 * LIFETIME_MS;
    let last = live.map((l) => l.received());
    while (Date.now() < until) {
      await pause(1_000);
      const now = live.map((l) => l.received());
      now.forEach((n, i) => expect(n, "the live audience keeps hearing the show").toBeGreaterThan(last[i]!));
      last = now;
      expect(await ice().listeners(MOUNT)).toBe(CAPACITY);
      expect(await poll(offered[0]!)).toMatchObject({ state: "overflow", recordingUrl: null });
      expect((await poll(inLine.ticket!)).state).toBe("queued");
    }

    // The show ends: ffmpeg stops, Icecast drops the mount and its listeners, the dump file is closed.
    const showEndedAt = Date.now();
    await show.stop();
    const showSeconds = (showEndedAt - showStartedAt) / 1000;
    await Promise.all(live.map((l) => l.ended));
    expect(await ice().listeners(MOUNT)).toBe(0);

    // Ops post the recording; those offered it learn the link at their next poll.
    const recordingUrl = ice().recordingUrl(MOUNT);
    await patch({ recordingUrl });
    let posted: StatusJson | undefined;
    await eventually(
      async () => (posted = await poll(offered[1]!)).recordingUrl === recordingUrl,
      MODE_REACHES_EDGES_MS + 1_000,
      "the posted recording reaches those offered it",
    );
    expect(posted!.state).toBe("overflow");

    // The event is over: ops close the room. Everyone gets `closed` with the recording.
    await patch({ mode: "closed" });
    await pause(MODE_REACHES_EDGES_MS + 500);
    for (const token of offered) expect(await poll(token)).toMatchObject({ state: "closed", recordingUrl });
    expect(await poll(inLine.ticket!)).toMatchObject({ state: "closed", recordingUrl });
    expect((await join(spillway().url, ROOM)).json).toMatchObject({ state: "closed", recordingUrl });

    // What the link serves: the show, as an MP3 a decoder reads, as long as the show ran.
    const res = await fetch(recordingUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    const recording = audioSummary(await ffprobe(new Uint8Array(await res.arrayBuffer())));
    expect(recording.codec).toBe("mp3");
    expect(recording.sampleRate).toBeGreaterThan(0);
    expect(recording.durationSeconds).toBeGreaterThan(0);
    expect(Math.abs(recording.durationSeconds - showSeconds)).toBeLessThan(Math.max(1.5, showSeconds * 0.1));

    const numbers = await stats();
    expect(numbers.overflowed).toBeGreaterThanOrEqual(LATECOMERS);
    expect(numbers.peakConcurrent).toBe(CAPACITY);

    // Never more listeners on the mount than seats, as Icecast itself counted them.
    const peak = sampler!.peak(MOUNT, from);
    const samples = sampler!.samples(from);
    const gap = sampler!.longestGapMs(from);
    console.log(
      `recording arc: Icecast max ${peak} of capacity ${CAPACITY} (${samples} samples, longest gap ${gap} ms); ` +
        `show ${showSeconds.toFixed(1)} s, recording ${recording.durationSeconds.toFixed(2)} s; ` +
        `overflowed ${numbers.overflowed}, peakConcurrent ${numbers.peakConcurrent}`,
    );
    expect(samples).toBeGreaterThan(0);
    expect(gap).toBeLessThan(2_000);
    expect(peak).toBeLessThanOrEqual(CAPACITY);
  });
});

/**
 * The stage of the tests in front of a real Icecast: Icecast with a live
 * show on each room's mount, `/rooms/<room>/stream.mp3`, the releasing front
 * before it as Spillway's origin, Spillway, and a sampler of Icecast's own
 * listener count (listener-count.ts); and what those tests hold a listener to.
 */
import { afterAll, beforeAll, expect } from "vitest";
import {
  audioSummary,
  ffprobe,
  type ReleasingFront,
  requireDebian,
  type RunningIcecast,
  type RunningSource,
  startIcecast,
  startReleasingFront,
  startSource,
  type StreamListener,
} from "./icecast.ts";
import { type ListenerSampler, sampleListeners } from "./listener-count.ts";
import { type RunningWorker, startWorker } from "./worker.ts";

/** How soon Spillway must cut a stream whose seat ended. */
export const CUT_WITHIN_MS = 3_000;
/** How soon Icecast must count a cut listener out (it notices at its next write). */
export const DROP_WITHIN_MS = 5_000;
/** How often the sampler reads Icecast's count. */
export const SAMPLE_EVERY_MS = 150;
/**
 * The longest the sampler may go without an answer from Icecast, for its
 * peak to mean anything. Icecast answers within the sample period on a quiet
 * machine; in a full test run on a busy 2-core one, everything stalls now
 * and then (single gaps of 1.3–3.1 s seen, among hundreds of reads 150 ms
 * apart). The crowds are also judged at the front, by an exact record that
 * no stall can hide an overlap from.
 */
export const SAMPLE_GAP_LIMIT_MS = 5_000;

/** The stream is MP3 audio from Icecast that a decoder reads (`bytes` of it). */
export async function playsMp3(listener: StreamListener, bytes = 32_000): Promise<void> {
  expect(listener.status).toBe(200);
  expect(listener.headers["content-type"]).toBe("audio/mpeg");
  const audio = audioSummary(await ffprobe(await listener.bytes(bytes), { format: "mp3" }));
  expect(audio.codec).toBe("mp3");
  expect(audio.sampleRate).toBeGreaterThan(0);
}

/** A room's Icecast mount, which is also its guarded path through Spillway. */
export function mountOf(room: string): string {
  return `/rooms/${room}/stream.mp3`;
}

export interface LiveStage {
  readonly icecast: RunningIcecast;
  readonly sampler: ListenerSampler;
  /** Each room's show, on its mount. */
  readonly shows: Map<string, RunningSource>;
  readonly front: ReleasingFront;
  readonly worker: RunningWorker;
  /** Stop all of it (the sampler, Spillway, the front, then Icecast and its shows). */
  stop(): Promise<void>;
}

/**
 * Start the stage for `rooms`: Debian's icecast2, ffmpeg and ffprobe are
 * required. Spillway's passes live `passTtlSeconds`. What started is
 * stopped again when a later part fails to start.
 */
export async function startLiveStage(options: {
  rooms: readonly string[];
  adminToken: string;
  passTtlSeconds: number;
}): Promise<LiveStage> {
  await requireDebian(["icecast2", "ffmpeg", "ffprobe"]);
  const icecast = await startIcecast({ maxSources: options.rooms.length + 2 });
  const started: { sampler?: ListenerSampler; front?: ReleasingFront; worker?: RunningWorker } = {};
  const stop = async () => {
    await started.sampler?.stop();
    try {
      await started.worker?.stop();
      await started.front?.close();
    } finally {
      await icecast.stop();
    }
  };
  try {
    started.sampler = sampleListeners(icecast, SAMPLE_EVERY_MS);
    const shows = await Promise.all(options.rooms.map((room) => startSource(icecast, mountOf(room))));
    started.front = await startReleasingFront(icecast);
    started.worker = await startWorker({
      adminToken: options.adminToken,
      originUrl: started.front.url,
      vars: { PASS_TTL_SECONDS: String(options.passTtlSeconds) },
    });
    return {
      icecast,
      sampler: started.sampler,
      shows: new Map(shows.map((show, i) => [options.rooms[i]!, show])),
      front: started.front,
      worker: started.worker,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The file's stage, started before its tests and stopped after them: the
 * returned function gives it to a test (and throws if it did not start).
 */
export function useLiveStage(options: Parameters<typeof startLiveStage>[0]): () => LiveStage {
  let stage: LiveStage | undefined;
  beforeAll(async () => {
    stage = await startLiveStage(options);
  });
  afterAll(async () => {
    await stage?.stop();
  });
  return () => {
    if (stage === undefined) throw new Error("the stage (Icecast, its shows, Spillway) did not start");
    return stage;
  };
}

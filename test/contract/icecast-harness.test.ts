/**
 * The real-Icecast harness itself (test/contract/support/icecast.ts): Icecast
 * on a mount named like Spillway's guarded path, fed by ffmpeg, counting
 * plain HTTP listeners, recording the show into its webroot, and the front
 * that answers `Spillway-Command: release` on one path. Everything it starts
 * is gone afterwards.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/held.ts";
import {
  audioSummary,
  ffprobe,
  listen,
  requireDebian,
  type ReleasingFront,
  type RunningIcecast,
  type RunningSource,
  startIcecast,
  startReleasingFront,
  startSource,
  type StreamListener,
} from "./support/icecast.ts";

const MOUNT = "/rooms/live/stream.mp3";

let icecast: RunningIcecast | undefined;
let show: RunningSource | undefined;
let front: ReleasingFront | undefined;
const listeners: StreamListener[] = [];

function ice(): RunningIcecast {
  if (icecast === undefined) throw new Error("Icecast did not start");
  return icecast;
}

/** The pids of our children's process groups still alive (pgrep -g). */
async function survivors(pids: number[]): Promise<string> {
  if (pids.length === 0) return "";
  try {
    const { stdout } = await promisify(execFile)("pgrep", ["-a", "-g", pids.join(",")]);
    return stdout.trim();
  } catch {
    return ""; // pgrep exits 1 when nothing matches
  }
}

beforeAll(async () => {
  await requireDebian(["icecast2", "ffmpeg", "ffprobe"]);
  icecast = await startIcecast({ recordMounts: [MOUNT] });
  show = await startSource(icecast, MOUNT);
  front = await startReleasingFront(icecast);
});

afterAll(async () => {
  for (const listener of listeners) listener.close();
  await icecast?.stop();
});

describe("a real Icecast fed by ffmpeg", () => {
  it("streams a mount named like Spillway's path, counts listeners and records the show", async () => {
    const url = ice().mountUrl(MOUNT);
    // Icecast's stats thread applies a new source's figures one by one: on a busy machine a read can come between.
    await eventually(
      async () => (await ice().source(MOUNT))?.server_type === "audio/mpeg",
      2_000,
      `Icecast lists ${MOUNT} as audio/mpeg`,
    );
    expect(await ice().listeners(MOUNT)).toBe(0);

    const first = await listen(url);
    const second = await listen(url);
    listeners.push(first, second);
    expect(first.status).toBe(200);
    expect(first.headers["content-type"]).toBe("audio/mpeg");
    await ice().waitForListeners(MOUNT, 2, 5_000);
    expect(await ice().listClients(MOUNT)).toHaveLength(2);

    const audio = audioSummary(await ffprobe(await first.bytes(50_000), { format: "mp3" }));
    expect(audio.codec).toBe("mp3");
    expect(audio.sampleRate).toBe(44_100);
    expect(audio.durationSeconds).toBeGreaterThan(0);

    second.close();
    // Icecast notices with its next write to that listener: 0.3–0.6 s here.
    await ice().waitForListeners(MOUNT, 1, 5_000);

    // The show ends: ffmpeg stops, Icecast drops the mount, cuts its listener, closes the dump.
    const before = first.received();
    await show!.stop();
    await first.ended;
    expect(first.received()).toBeGreaterThanOrEqual(before);
    expect(await ice().listeners(MOUNT)).toBe(0);

    const recording = await fetch(ice().recordingUrl(MOUNT));
    expect(recording.status).toBe(200);
    expect(recording.headers.get("content-type")).toBe("audio/mpeg");
    const bytes = new Uint8Array(await recording.arrayBuffer());
    expect(bytes.length).toBeGreaterThan(10_000);
    const recorded = audioSummary(await ffprobe(bytes));
    expect(recorded.codec).toBe("mp3");
    expect(recorded.durationSeconds).toBeGreaterThan(0.5);
    // The file Icecast serves is the dump file itself.
    expect(audioSummary(await ffprobe(ice().recordingPath(MOUNT))).durationSeconds).toBe(recorded.durationSeconds);
  });

  it("answers release on /rooms/<room>/bye through the front and streams everything else from Icecast", async () => {
    const bye = await fetch(`${front!.url}/rooms/live/bye`);
    expect(bye.status).toBe(200);
    expect(bye.headers.get("spillway-command")).toBe("release");
    expect(front!.releases).toEqual(["/rooms/live/bye"]);

    const stats = await fetch(`${front!.url}/status-json.xsl`);
    expect(stats.status).toBe(200);
    expect(stats.headers.get("spillway-command")).toBeNull();

    // A live stream through the front: counted by Icecast, and counted out when the listener hangs up.
    const again = await startSource(ice(), MOUNT, { tone: "sine" });
    const through = await listen(`${front!.url}${MOUNT}`);
    listeners.push(through);
    expect(through.status).toBe(200);
    expect(through.headers["content-type"]).toBe("audio/mpeg");
    expect(through.headers["spillway-command"]).toBeUndefined();
    await ice().waitForListeners(MOUNT, 1, 5_000);
    expect(audioSummary(await ffprobe(await through.bytes(20_000), { format: "mp3" })).codec).toBe("mp3");
    through.close();
    await ice().waitForListeners(MOUNT, 0, 5_000);
    expect(front!.active()).toBe(0);
    await again.stop();
  });

  it("stops everything it started", async () => {
    const pids = [ice().pid, show!.pid];
    const dir = ice().dir;
    await ice().stop();
    expect(await survivors(pids)).toBe("");
    const gone = await fetch(ice().url).then(
      () => false,
      () => true,
    );
    expect(gone).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });
});

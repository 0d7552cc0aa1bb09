/**
 * A live audio source for a Janus Streaming mountpoint: ffmpeg sending a
 * 440 Hz tone as Opus RTP (payload type 111) to 127.0.0.1:`port`, in its own
 * process group so that stopping it stops everything it started. Real audio
 * (not silence), so a listener's decoded energy shows it was heard.
 */
import { spawn } from "node:child_process";
import { stopGroup } from "../../../src/cli/process-group.ts";
import type { JanusAdmin } from "../../../src/origins/janus.ts";
import { freePort } from "./worker.ts";

export function opusTone(port: number): { stop(): Promise<void> } {
  const input = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-re",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
  ];
  const output = ["-ac", "2", "-c:a", "libopus", "-b:a", "32k", "-payload_type", "111", "-f", "rtp"];
  const child = spawn("ffmpeg", [...input, ...output, `rtp://127.0.0.1:${port}`], { detached: true, stdio: "ignore" });
  return { stop: async () => void (await stopGroup(child, 5_000)) };
}

/** A Streaming mountpoint `id` (Opus RTP on a free loopback port) made through the Admin API, fed the tone. */
export async function toneMountpoint(admin: JanusAdmin, id: number, name: string): Promise<{ stop(): Promise<void> }> {
  const port = await freePort();
  await admin.messagePlugin("janus.plugin.streaming", {
    request: "create",
    type: "rtp",
    id,
    name,
    media: [{ type: "audio", mid: "a", label: "audio", port, pt: 111, codec: "opus" }],
  });
  return opusTone(port);
}

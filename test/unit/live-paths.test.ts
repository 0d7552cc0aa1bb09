/**
 * The paths an isolate has seen stream live: remembered by path alone (the
 * query is not part of it), at most MAX_LIVE_PATHS of them, the oldest
 * noted going first.
 */
import { afterEach, describe, expect, it } from "vitest";
import { forgetLivePaths, isLivePath, isLiveUrl, MAX_LIVE_PATHS, noteLivePath } from "../../src/edge/live-paths.ts";

afterEach(() => forgetLivePaths());

describe("live paths", () => {
  it("knows a path once an answer on it streamed live, whatever the query or host", () => {
    expect(isLivePath("/rooms/live/stream.mp3")).toBe(false);
    noteLivePath("https://edge.example/rooms/live/stream.mp3?player=1");
    expect(isLivePath("/rooms/live/stream.mp3")).toBe(true);
    expect(isLiveUrl("http://127.0.0.1:8787/rooms/live/stream.mp3")).toBe(true);
    expect(isLiveUrl("http://127.0.0.1:8787/rooms/live/stream.mp3?again=2")).toBe(true);
    expect(isLivePath("/rooms/live/playlist.m3u8")).toBe(false);
    expect(isLivePath("/rooms/other/stream.mp3")).toBe(false);
  });

  it("keeps at most MAX_LIVE_PATHS, forgetting the oldest noted first", () => {
    for (let i = 0; i <= MAX_LIVE_PATHS; i++) noteLivePath(`https://edge.example/rooms/r${i}/stream`);
    expect(isLivePath("/rooms/r0/stream")).toBe(false);
    expect(isLivePath("/rooms/r1/stream")).toBe(true);
    expect(isLivePath(`/rooms/r${MAX_LIVE_PATHS}/stream`)).toBe(true);
  });
});

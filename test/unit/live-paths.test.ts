/**
 * The paths an isolate has seen stream live, or learnt from its room's
 * view: remembered by path alone (the query is not part of it), at most
 * MAX_LIVE_PATHS of them, the oldest noted going first.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  forgetLivePaths,
  isLivePath,
  isLiveUrl,
  learnLivePaths,
  liveKeyOf,
  MAX_LIVE_PATHS,
  MEDIA_KEY,
  noteLivePath,
  pathOf,
} from "../../src/edge/live-paths.ts";

afterEach(() => forgetLivePaths());

describe("live paths", () => {
  it("knows a path once an answer on it streamed live, whatever the query or host", () => {
    expect(isLivePath("/rooms/live/stream.mp3")).toBe(false);
    // New here: its path, for the room's coordinator to hear of; again, nothing.
    expect(noteLivePath("https://edge.example/rooms/live/stream.mp3?player=1", true)).toBe("/rooms/live/stream.mp3");
    expect(noteLivePath("https://edge.example/rooms/live/stream.mp3", true)).toBeNull();
    expect(isLivePath("/rooms/live/stream.mp3")).toBe(true);
    expect(isLiveUrl("http://127.0.0.1:8787/rooms/live/stream.mp3")).toBe(true);
    expect(isLiveUrl("http://127.0.0.1:8787/rooms/live/stream.mp3?again=2")).toBe(true);
    expect(isLivePath("/rooms/live/playlist.m3u8")).toBe(false);
    expect(isLivePath("/rooms/other/stream.mp3")).toBe(false);
  });

  it("keeps at most MAX_LIVE_PATHS, forgetting the oldest noted first", () => {
    for (let i = 0; i <= MAX_LIVE_PATHS; i++) noteLivePath(`https://edge.example/rooms/r${i}/stream`, true);
    expect(isLivePath("/rooms/r0/stream")).toBe(false);
    expect(isLivePath("/rooms/r1/stream")).toBe(true);
    expect(isLivePath(`/rooms/r${MAX_LIVE_PATHS}/stream`)).toBe(true);
  });

  it("learns the paths a room's view lists, and then notes none of them as new", () => {
    learnLivePaths(undefined);
    learnLivePaths([
      { path: "/rooms/a/stream.mp3", media: true },
      { path: "/rooms/a/events", media: false },
    ]);
    expect(isLivePath("/rooms/a/stream.mp3")).toBe(true);
    expect(isLivePath("/rooms/a/events")).toBe(true);
    expect(noteLivePath("https://edge.example/rooms/a/events", false)).toBeNull();
    expect(noteLivePath("https://edge.example/rooms/a/low.mp3", true)).toBe("/rooms/a/low.mp3");
  });

  it("holds every media path of a room under one key, and each event stream or socket under its own path", () => {
    noteLivePath("https://edge.example/rooms/a/high.mp3", true);
    noteLivePath("https://edge.example/rooms/a/low.ogg", true);
    noteLivePath("https://edge.example/rooms/a/events", false);
    expect(liveKeyOf("/rooms/a/high.mp3")).toBe(MEDIA_KEY);
    expect(liveKeyOf("/rooms/a/low.ogg")).toBe(MEDIA_KEY);
    expect(liveKeyOf("/rooms/a/events")).toBe("/rooms/a/events");
    // Not known to stream (a socket's path, a page): its own path.
    expect(liveKeyOf("/rooms/a/chat")).toBe("/rooms/a/chat");
    expect(MEDIA_KEY.startsWith("/")).toBe(false);
    // A path that streamed events after media is held as events from then on.
    expect(noteLivePath("https://edge.example/rooms/a/high.mp3", false)).toBe("/rooms/a/high.mp3");
    expect(liveKeyOf("/rooms/a/high.mp3")).toBe("/rooms/a/high.mp3");
  });

  it("reads a request URL's path as the URL standard does, with or without the query's place given", () => {
    fc.assert(
      fc.property(
        fc.webUrl({ validSchemes: ["http", "https"], withQueryParameters: true, withFragments: false }),
        (raw) => {
          // A request's URL as the runtime hands it: parsed and written out again.
          const url = new URL(raw).href;
          const { pathname } = new URL(url);
          expect(pathOf(url)).toBe(pathname);
          expect(pathOf(url, url.indexOf("?"))).toBe(pathname);
        },
      ),
    );
    expect(pathOf("http://a/")).toBe("/");
    expect(pathOf("https://b/?next=/x/y")).toBe("/");
    expect(pathOf("http://127.0.0.1:8787/rooms/r/status?keep=1")).toBe("/rooms/r/status");
  });
});

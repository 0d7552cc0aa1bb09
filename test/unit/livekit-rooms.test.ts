/**
 * RemoveParticipant and ListParticipants against a stand-in RoomService that
 * checks each call's token with the LiveKit server SDK (livekit-stand-in.ts).
 * The SDK's own RoomServiceClient is run against the same stand-in first, so
 * the stand-in is known to speak what LiveKit's clients expect.
 */
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listParticipants, removeParticipant } from "../../src/origins/livekit.ts";
import { type LiveKitStandIn, startLiveKitStandIn } from "./livekit-stand-in.ts";

const API_KEY = "APIspillwayTest";
const API_SECRET = "lk-secret-for-tests-0123456789abcdefghijklmnopqrstuv";
const ROOM = "main-stage";

let standIn: LiveKitStandIn;
beforeAll(async () => {
  standIn = await startLiveKitStandIn(API_KEY, API_SECRET);
});
afterAll(() => standIn.close());
beforeEach(() => {
  standIn.rooms = new Map([
    [
      ROOM,
      new Map([
        ["seat-a", "PA_a"],
        ["seat-b", "PA_b"],
      ]),
    ],
  ]);
  standIn.calls = [];
  standIn.hang = false;
  standIn.failWith = null;
});

const opts = (extra: Partial<Parameters<typeof removeParticipant>[0]> = {}) => ({
  url: standIn.url,
  apiKey: API_KEY,
  apiSecret: API_SECRET,
  room: ROOM,
  identity: "seat-a",
  ...extra,
});

describe("the stand-in", () => {
  it("serves the SDK's own RoomServiceClient as LiveKit does", async () => {
    const client = new RoomServiceClient(standIn.url, API_KEY, API_SECRET);
    expect((await client.listParticipants(ROOM)).map((p) => p.identity)).toEqual(["seat-a", "seat-b"]);
    await client.removeParticipant(ROOM, "seat-a");
    await expect(client.removeParticipant(ROOM, "seat-a")).rejects.toMatchObject({ status: 404, code: "not_found" });
    const wrong = new RoomServiceClient(standIn.url, API_KEY, "not-the-secret");
    await expect(wrong.listParticipants(ROOM)).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
  });
});

describe("removeParticipant", () => {
  it("removes the seat with a roomAdmin token for that room only, and the body LiveKit expects", async () => {
    const now = Date.now();
    expect(await removeParticipant(opts({ now }))).toEqual({ kind: "removed" });
    expect([...(standIn.rooms.get(ROOM)?.keys() ?? [])]).toEqual(["seat-b"]);
    const [call] = standIn.calls;
    expect(call?.path).toBe("/twirp/livekit.RoomService/RemoveParticipant");
    expect(call?.contentType).toBe("application/json");
    expect(call?.body).toEqual({ room: ROOM, identity: "seat-a" });
    const nbf = Math.floor(now / 1000);
    expect(call?.claims).toEqual({ iss: API_KEY, nbf, exp: nbf + 60, video: { room: ROOM, roomAdmin: true } });
  });

  it("counts a participant already gone as done", async () => {
    expect(await removeParticipant(opts({ identity: "seat-never-here" }))).toEqual({ kind: "not_found" });
    expect(standIn.calls[0]?.status).toBe(404);
  });

  it("takes the wss:// URL clients are given", async () => {
    const url = standIn.url.replace("http://", "ws://");
    expect(await removeParticipant(opts({ url: `${url}/` }))).toEqual({ kind: "removed" });
  });

  it("is unauthorized under a wrong secret, another key, or an expired clock, and never says the secret", async () => {
    const results = [
      await removeParticipant(opts({ apiSecret: "not-the-secret" })),
      await removeParticipant(opts({ apiKey: "APIother" })),
      await removeParticipant(opts({ now: Date.now() - 10 * 60_000 })),
    ];
    for (const result of results) {
      expect(result).toMatchObject({ kind: "unauthorized", status: 401 });
      expect(JSON.stringify(result)).not.toContain(API_SECRET);
    }
    expect(results[0]).toMatchObject({ detail: expect.stringContaining("LIVEKIT_API_SECRET") });
    expect(standIn.rooms.get(ROOM)?.has("seat-a")).toBe(true);
  });

  it("reports LiveKit's own failures as errors, with the secret redacted", async () => {
    standIn.failWith = { status: 500, code: "internal", msg: `store failed near ${API_SECRET}` };
    const result = await removeParticipant(opts());
    expect(result).toMatchObject({ kind: "error", status: 500 });
    expect(result.kind === "error" && result.detail).toContain("internal");
    expect(JSON.stringify(result)).not.toContain(API_SECRET);
  });

  it("does not take a bare 404 (a wrong URL) for a participant already gone", async () => {
    const result = await removeParticipant(opts({ url: `${standIn.url}/not-livekit` }));
    expect(result).toMatchObject({ kind: "error", status: 404 });
    expect(result.kind === "error" && result.detail).toContain("bad_route");
  });

  it("is unreachable when LiveKit does not answer in time, or at all", async () => {
    standIn.hang = true;
    const started = Date.now();
    expect(await removeParticipant(opts({ timeoutMs: 150 }))).toEqual({
      kind: "unreachable",
      detail: `LiveKit RemoveParticipant at ${standIn.url}: no answer in 150 ms`,
    });
    expect(Date.now() - started).toBeLessThan(2000);

    const closed = await freePort();
    const result = await removeParticipant(opts({ url: `http://127.0.0.1:${closed}` }));
    expect(result).toMatchObject({ kind: "unreachable" });
    expect(result.kind === "unreachable" && result.detail).toContain("ECONNREFUSED");
  });

  it("refuses a URL LiveKit could not be at without calling anything", async () => {
    const calls: unknown[] = [];
    const fetch = (async (...args: unknown[]) => {
      calls.push(args);
      return new Response("{}");
    }) as typeof globalThis.fetch;
    expect(await removeParticipant(opts({ url: "ftp://livekit.example", fetch }))).toMatchObject({ kind: "error" });
    expect(await removeParticipant(opts({ url: "not a url", fetch }))).toMatchObject({ kind: "error" });
    expect(calls).toEqual([]);
  });
});

describe("listParticipants", () => {
  it("lists who LiveKit counts in the room, by seat id", async () => {
    expect(await listParticipants(opts())).toEqual({
      kind: "listed",
      participants: [
        { identity: "seat-a", sid: "PA_a", state: "ACTIVE", joinedAt: 1_764_756_000 },
        { identity: "seat-b", sid: "PA_b", state: "ACTIVE", joinedAt: 1_764_756_000 },
      ],
    });
    expect(standIn.calls[0]?.body).toEqual({ room: ROOM });
    expect(standIn.calls[0]?.path).toBe("/twirp/livekit.RoomService/ListParticipants");
  });

  it("sees the room empty after a removal, and a room LiveKit does not have as not_found", async () => {
    await removeParticipant(opts());
    await removeParticipant(opts({ identity: "seat-b" }));
    expect(await listParticipants(opts())).toEqual({ kind: "listed", participants: [] });
    expect(await listParticipants(opts({ room: "no-such-room" }))).toEqual({ kind: "not_found" });
  });

  it("is unauthorized with a token for another room's admin", async () => {
    // A token is minted for the room asked about; the stand-in refuses one whose grant names another room.
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
      globalThis.fetch(input, { ...init, body: JSON.stringify({ room: "other-room" }) })) as typeof globalThis.fetch;
    expect(await listParticipants(opts({ fetch }))).toMatchObject({ kind: "unauthorized", status: 403 });
  });

  it("treats an answer without participants' identities as a bad answer", async () => {
    const fetch = (async () =>
      new Response(JSON.stringify({ participants: [{ sid: "PA_x" }] }), { status: 200 })) as typeof globalThis.fetch;
    expect(await listParticipants(opts({ fetch }))).toMatchObject({ kind: "error", status: 200 });
    const notJson = (async () => new Response("<html>", { status: 200 })) as typeof globalThis.fetch;
    expect(await listParticipants(opts({ fetch: notJson }))).toMatchObject({ kind: "error", status: 200 });
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

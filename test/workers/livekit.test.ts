/**
 * The LiveKit client inside workerd: tokens minted, webhooks verified and
 * RoomService called with the Workers runtime's own WebCrypto, fetch and
 * AbortSignal, as a Durable Object or the edge will run it. (Agreement with
 * LiveKit's SDK is checked in Node: test/unit/livekit.test.ts.)
 */
import { base64url, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { mintListenerToken, removeParticipant, verifyWebhook } from "../../src/origins/livekit.ts";

const API_KEY = "APIworkerdTest";
const API_SECRET = "workerd-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const secret = new TextEncoder().encode(API_SECRET);
const NOW = 1_764_756_000_000;

describe("LiveKit in workerd", () => {
  it("mints a listener token that verifies with the API secret", async () => {
    const token = await mintListenerToken({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      room: "main-stage",
      identity: "seat-1",
      ttlSeconds: 90,
      now: NOW,
    });
    const { payload } = await jwtVerify(token, secret, { issuer: API_KEY, currentDate: new Date(NOW) });
    expect(payload).toMatchObject({ sub: "seat-1", nbf: NOW / 1000, exp: NOW / 1000 + 90 });
    expect(payload.video).toMatchObject({ room: "main-stage", roomJoin: true, canPublish: false });
  });

  it("verifies a webhook signed as LiveKit signs it, and refuses a changed body", async () => {
    const body = JSON.stringify({
      event: "participant_left",
      room: { sid: "RM_1", name: "main-stage" },
      participant: { sid: "PA_1", identity: "seat-1", state: "DISCONNECTED" },
      id: "EV_1",
      createdAt: String(NOW / 1000),
    });
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
    const sha256 = btoa(String.fromCharCode(...digest));
    const nbf = NOW / 1000;
    const authorization = await new SignJWT({ iss: API_KEY, nbf, exp: nbf + 300, sha256 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(secret);
    const check = (text: string) =>
      verifyWebhook({ apiKey: API_KEY, apiSecret: API_SECRET, body: text, authorization, now: NOW + 1000 });

    const verdict = await check(body);
    expect(verdict.ok && verdict.event).toMatchObject({
      event: "participant_left",
      createdAt: NOW / 1000,
      participant: { identity: "seat-1" },
    });
    expect(await check(body.replace("seat-1", "seat-2"))).toMatchObject({ ok: false, reason: "body_mismatch" });
    // Unpadded base64url is not what LiveKit writes: the hash must match exactly.
    expect(sha256).not.toBe(base64url.encode(digest));
  });

  it("calls RemoveParticipant through the runtime's fetch, with a timeout", async () => {
    const seen: Request[] = [];
    const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      seen.push(request.clone());
      return Response.json({ code: "not_found", msg: "participant not found" }, { status: 404 });
    }) as typeof globalThis.fetch;
    const result = await removeParticipant({
      url: "wss://livekit.example",
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      room: "main-stage",
      identity: "seat-1",
      fetch,
      now: NOW,
    });
    expect(result).toEqual({ kind: "not_found" });
    expect(seen[0]?.url).toBe("https://livekit.example/twirp/livekit.RoomService/RemoveParticipant");
    expect(await seen[0]?.json()).toEqual({ room: "main-stage", identity: "seat-1" });
    expect(seen[0]?.signal).toBeDefined();

    const slow = ((_input: RequestInfo | URL, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      })) as typeof globalThis.fetch;
    const late = await removeParticipant({
      url: "https://livekit.example",
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      room: "main-stage",
      identity: "seat-1",
      fetch: slow,
      timeoutMs: 50,
    });
    expect(late).toEqual({
      kind: "unreachable",
      detail: "LiveKit RemoveParticipant at https://livekit.example: no answer in 50 ms",
    });
  });
});

/**
 * Spillway's LiveKit tokens and webhooks against LiveKit's own server SDK:
 * the SDK's TokenVerifier (what a LiveKit deployment's Node services use to
 * read tokens) must accept the listener tokens we mint with exactly the
 * grants we mean, and our webhook check must agree with the SDK's
 * WebhookReceiver on webhooks signed the way LiveKit signs them.
 */
import { createHash } from "node:crypto";
import { decodeJwt, SignJWT } from "jose";
import {
  AccessToken,
  ParticipantInfo,
  ParticipantInfo_State,
  Room,
  TokenVerifier,
  WebhookEvent,
  type WebhookEventNames,
  WebhookReceiver,
} from "livekit-server-sdk";
import { describe, expect, it } from "vitest";
import { MAX_LISTENER_TTL_SECONDS, mintListenerToken, verifyWebhook } from "../../src/origins/livekit.ts";

const API_KEY = "APIspillwayTest";
const API_SECRET = "lk-secret-for-tests-0123456789abcdefghijklmnopqrstuv";
const OTHER_KEY = "APIsomeoneElse";
const OTHER_SECRET = "another-secret-9876543210zyxwvutsrqponmlkjihgfedcba";
const ROOM = "main-stage";
const SEAT = "seat-7f3a9c";

const verifier = new TokenVerifier(API_KEY, API_SECRET);
const receiver = new WebhookReceiver(API_KEY, API_SECRET);

/** A listener token minted now (the SDK's verifier reads the real clock). */
async function mintNow(ttlSeconds = 120, extra: { name?: string } = {}) {
  const now = Date.now();
  const token = await mintListenerToken({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    room: ROOM,
    identity: SEAT,
    ttlSeconds,
    now,
    ...extra,
  });
  return { token, nbf: Math.floor(now / 1000) };
}

describe("listener tokens", () => {
  it("are accepted by the SDK's TokenVerifier with exactly the subscribe-only grant, seat and lifetime", async () => {
    const { token, nbf } = await mintNow(120);
    const claims = await verifier.verify(token, 0);
    expect(claims).toEqual({
      iss: API_KEY,
      sub: SEAT,
      nbf,
      exp: nbf + 120,
      video: {
        room: ROOM,
        roomJoin: true,
        canSubscribe: true,
        canPublish: false,
        canPublishData: false,
        canUpdateOwnMetadata: false,
      },
    });
  });

  it("carry the same claims as the SDK's own AccessToken for that grant", async () => {
    const sdk = new AccessToken(API_KEY, API_SECRET, { identity: SEAT, ttl: 120, name: "Listener" });
    sdk.addGrant({
      room: ROOM,
      roomJoin: true,
      canSubscribe: true,
      canPublish: false,
      canPublishData: false,
      canUpdateOwnMetadata: false,
    });
    const theirs = decodeJwt(await sdk.toJwt());
    const ours = decodeJwt((await mintNow(120, { name: "Listener" })).token);
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(ours.video).toEqual(theirs.video);
    expect(ours.name).toBe("Listener");
    expect((ours.exp ?? 0) - (ours.nbf ?? 0)).toBe((theirs.exp ?? 0) - (theirs.nbf ?? 0));
  });

  it("are refused under another secret, when tampered, and once expired", async () => {
    const { token } = await mintNow();
    await expect(new TokenVerifier(API_KEY, OTHER_SECRET).verify(token)).rejects.toThrow(/signature/i);
    await expect(new TokenVerifier(OTHER_KEY, API_SECRET).verify(token)).rejects.toThrow(/iss/);

    // The same signature over a grant that may publish.
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    claims.video.canPublish = true;
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    await expect(verifier.verify(forged)).rejects.toThrow(/signature/i);

    const old = await mintListenerToken({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      room: ROOM,
      identity: SEAT,
      ttlSeconds: 60,
      now: Date.now() - 120_000,
    });
    await expect(verifier.verify(old)).rejects.toThrow(/exp/);
  });

  it("refuse to be minted without a room, a seat or a whole, bounded lifetime, naming no secret", async () => {
    const base = { apiKey: API_KEY, apiSecret: API_SECRET, room: ROOM, identity: SEAT, ttlSeconds: 60, now: 0 };
    for (const bad of [
      { ttlSeconds: 0 },
      { ttlSeconds: 1.5 },
      { ttlSeconds: MAX_LISTENER_TTL_SECONDS + 1 },
      { room: "" },
      { identity: "" },
      { apiSecret: "" },
      { identity: "x".repeat(300) },
    ]) {
      const error = await mintListenerToken({ ...base, ...bad }).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(RangeError);
      expect(String(error)).not.toContain(API_SECRET);
    }
  });
});

/** A LiveKit event body, written by LiveKit's own protobuf classes (protobuf JSON, as the server posts it). */
function eventBody(event: WebhookEventNames, withParticipant = true): string {
  const message = new WebhookEvent({
    id: "EV_q9TzL2kC",
    createdAt: 1_764_756_000n,
    room: new Room({ name: ROOM, sid: "RM_hw3Zb8" }),
    participant: withParticipant
      ? new ParticipantInfo({ identity: SEAT, sid: "PA_Xk2m1", state: ParticipantInfo_State.ACTIVE })
      : undefined,
  });
  // The SDK's WebhookEvent constructor resets `event` after reading its argument, so it is set here.
  message.event = event;
  return message.toJsonString();
}

/** Sign a body as LiveKit signs a webhook: an SDK AccessToken whose sha256 claim is base64(SHA-256(body)). */
async function livekitSignature(body: string, key = API_KEY, secret = API_SECRET): Promise<string> {
  const token = new AccessToken(key, secret, { ttl: "5m" });
  token.sha256 = createHash("sha256").update(body).digest("base64");
  return token.toJwt();
}

/** A webhook token with fixed times, for expiry checks without the real clock. */
async function signedAt(body: string, nbf: number, exp: number, extra: Record<string, unknown> = {}): Promise<string> {
  const sha256 = createHash("sha256").update(body).digest("base64");
  return new SignJWT({ iss: API_KEY, nbf, exp, sha256, ...extra })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(API_SECRET));
}

const check = (body: string | Uint8Array, authorization: string | null, now?: number) =>
  verifyWebhook({ apiKey: API_KEY, apiSecret: API_SECRET, body, authorization, now });

describe("webhooks", () => {
  it("signed as LiveKit signs them are accepted by both the SDK's WebhookReceiver and verifyWebhook", async () => {
    for (const name of ["participant_joined", "participant_left", "participant_connection_aborted"] as const) {
      const body = eventBody(name);
      const auth = await livekitSignature(body);
      const sdk = await receiver.receive(body, auth);
      const ours = await check(body, auth);
      expect(ours).toEqual({
        ok: true,
        event: {
          event: name,
          id: "EV_q9TzL2kC",
          createdAt: 1_764_756_000,
          room: { name: ROOM, sid: "RM_hw3Zb8" },
          participant: { identity: SEAT, sid: "PA_Xk2m1", state: "ACTIVE" },
          raw: JSON.parse(body),
        },
      });
      expect(sdk.event).toBe(name);
      expect(sdk.participant?.identity).toBe(SEAT);
    }
  });

  it("read room_finished (no participant), as raw bytes and with a Bearer prefix", async () => {
    const body = eventBody("room_finished", false);
    const auth = await livekitSignature(body);
    await expect(receiver.receive(body, auth)).resolves.toMatchObject({ event: "room_finished" });
    const verdict = await check(new TextEncoder().encode(body), `Bearer ${auth}`);
    expect(verdict.ok && verdict.event.event).toBe("room_finished");
    expect(verdict.ok && verdict.event.room?.name).toBe(ROOM);
    expect(verdict.ok && verdict.event.participant).toBeUndefined();
  });

  it("with a changed body are refused as body_mismatch (and by the SDK)", async () => {
    const body = eventBody("participant_left");
    const auth = await livekitSignature(body);
    const changed = body.replace(SEAT, "seat-someone-else");
    await expect(receiver.receive(changed, auth)).rejects.toThrow(/sha256/);
    expect(await check(changed, auth)).toMatchObject({ ok: false, reason: "body_mismatch" });
  });

  it("signed with another secret or for another key are refused (and by the SDK)", async () => {
    const body = eventBody("participant_joined");
    const forged = await livekitSignature(body, API_KEY, OTHER_SECRET);
    await expect(receiver.receive(body, forged)).rejects.toThrow(/signature/i);
    const verdict = await check(body, forged);
    expect(verdict).toMatchObject({ ok: false, reason: "bad_signature" });
    expect(JSON.stringify(verdict)).not.toContain(API_SECRET);

    const otherKey = await livekitSignature(body, OTHER_KEY, OTHER_SECRET);
    await expect(receiver.receive(body, otherKey)).rejects.toThrow();
    expect(await check(body, otherKey)).toMatchObject({ ok: false, reason: "wrong_key" });
  });

  it("are refused once expired or before their nbf, with LiveKit's 10 s leeway", async () => {
    const body = eventBody("participant_joined");
    const t = 1_764_756_000;
    const auth = await signedAt(body, t, t + 300);
    expect((await check(body, auth, (t + 309) * 1000)).ok).toBe(true);
    expect(await check(body, auth, (t + 311) * 1000)).toMatchObject({ ok: false, reason: "expired" });
    expect(await check(body, auth, (t - 11) * 1000)).toMatchObject({ ok: false, reason: "expired" });
    // The SDK reads the real clock, long past t + 300.
    await expect(receiver.receive(body, auth)).rejects.toThrow(/exp/);
  });

  it("that are not webhooks at all are refused as malformed", async () => {
    const body = eventBody("participant_joined");
    const t = 1_764_756_000;
    const now = (t + 1) * 1000;
    expect(await check(body, null)).toMatchObject({ reason: "malformed" });
    expect(await check(body, "")).toMatchObject({ reason: "malformed" });
    expect(await check(body, "not-a-jwt")).toMatchObject({ reason: "malformed" });
    expect(await check(body, `x${"a".repeat(5000)}`)).toMatchObject({ reason: "malformed" });

    const noHash = await new SignJWT({ iss: API_KEY, nbf: t, exp: t + 300 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(API_SECRET));
    expect(await check(body, noHash, now)).toMatchObject({ reason: "malformed" });
    const noExp = await new SignJWT({ iss: API_KEY, nbf: t, sha256: "x" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(API_SECRET));
    expect(await check(body, noExp, now)).toMatchObject({ reason: "malformed" });

    for (const notEvent of ["[1,2]", "{}", '{"event":""}', "{not json"]) {
      expect(await check(notEvent, await signedAt(notEvent, t, t + 300), now)).toMatchObject({ reason: "malformed" });
    }
  });

  it("refuse an unsigned (alg none) token whatever its claims", async () => {
    const body = eventBody("participant_joined");
    const claims = decodeJwt(await livekitSignature(body));
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
    expect(await check(body, none)).toMatchObject({ ok: false, reason: "bad_signature" });
    await expect(receiver.receive(body, none)).rejects.toThrow();
  });
});

/**
 * A stand-in for LiveKit's RoomService (node:http on 127.0.0.1, a free
 * port), for the two calls Spillway makes. It checks each call's bearer
 * token with the LiveKit server SDK's own TokenVerifier (right key and
 * secret, unexpired, `roomAdmin` for the room asked about) and answers as
 * LiveKit's Twirp server does: protobuf JSON written by LiveKit's own
 * protocol classes on success, `{ code, msg }` with the Twirp status on
 * failure. Every call is recorded for the tests to check.
 *
 * It can also play LiveKit's room itself (`join`, `leave`): a participant
 * joins only with a listener token that the SDK's TokenVerifier accepts for
 * that room (unexpired, `roomJoin`), as LiveKit admits one; joins, leaves
 * and removals are posted to `webhookUrl` signed as LiveKit signs its
 * webhooks (an SDK AccessToken carrying the body's SHA-256), and the most
 * participants a room ever held is kept (`peak`): the origin's own count.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AccessToken, ParticipantInfo, ParticipantInfo_State, TokenVerifier } from "livekit-server-sdk";

export interface StandInCall {
  path: string;
  contentType: string | undefined;
  body: unknown;
  /** The verified token's claims, when it verified. */
  claims?: Record<string, unknown>;
  status: number;
}

export interface LiveKitStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Rooms and who is in them: identity → participant sid. */
  rooms: Map<string, Map<string, string>>;
  calls: StandInCall[];
  /** Hold every request unanswered (a LiveKit that does not answer). */
  hang: boolean;
  /** Answer every authorised call with this Twirp error instead. */
  failWith: { status: number; code: string; msg: string } | null;
  /** Where joins, leaves and removals are posted as LiveKit's webhooks (none when null). */
  webhookUrl: string | null;
  /** The answers to the webhooks posted so far (HTTP status, by event). */
  webhooks: { event: string; identity: string; status: number }[];
  /** The most participants `room` ever held at once. */
  peak(room: string): number;
  /** A participant joins with a listener token, as LiveKit admits one; its identity, or the refusal. */
  join(token: string): Promise<{ ok: true; identity: string } | { ok: false; reason: string }>;
  /** A participant leaves by itself (closes the app). */
  leave(room: string, identity: string): Promise<void>;
  close(): Promise<void>;
}

const PREFIX = "/twirp/livekit.RoomService/";

export async function startLiveKitStandIn(apiKey: string, apiSecret: string): Promise<LiveKitStandIn> {
  const verifier = new TokenVerifier(apiKey, apiSecret);
  const standIn: LiveKitStandIn = {
    url: "",
    rooms: new Map(),
    calls: [],
    hang: false,
    failWith: null,
    webhookUrl: null,
    webhooks: [],
    peak: (room) => peaks.get(room) ?? 0,
    join: async (token) => {
      let claims: Record<string, unknown>;
      try {
        claims = await verifier.verify(token);
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
      const video = claims.video as { room?: string; roomJoin?: boolean } | undefined;
      const identity = typeof claims.sub === "string" ? claims.sub : "";
      if (video?.roomJoin !== true || !video.room || identity === "") return { ok: false, reason: "no room grant" };
      const room = standIn.rooms.get(video.room) ?? new Map<string, string>();
      standIn.rooms.set(video.room, room);
      room.set(identity, `PA_${randomUUID().slice(0, 12)}`);
      peaks.set(video.room, Math.max(peaks.get(video.room) ?? 0, room.size));
      await hook("participant_joined", video.room, identity);
      return { ok: true, identity };
    },
    leave: async (room, identity) => {
      if (standIn.rooms.get(room)?.delete(identity)) await hook("participant_left", room, identity);
    },
    close: async () => {},
  };
  const peaks = new Map<string, number>();

  /** Post one event to the webhook URL, signed with the API key pair. */
  async function hook(event: string, room: string, identity: string): Promise<void> {
    if (standIn.webhookUrl === null) return;
    const body = JSON.stringify({
      event,
      id: `EV_${randomUUID().slice(0, 12)}`,
      createdAt: String(Math.floor(Date.now() / 1000)),
      room: { name: room, sid: `RM_${room}` },
      participant: { identity, sid: standIn.rooms.get(room)?.get(identity) ?? "PA_gone" },
    });
    const signer = new AccessToken(apiKey, apiSecret, { ttl: "5m" });
    signer.sha256 = createHash("sha256").update(body).digest("base64");
    const res = await fetch(standIn.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/webhook+json", authorization: await signer.toJwt() },
      body,
    });
    await res.arrayBuffer();
    standIn.webhooks.push({ event, identity, status: res.status });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (standIn.hang) return;
    const call: StandInCall = {
      path: req.url ?? "",
      contentType: req.headers["content-type"],
      body: parse(text),
      status: 0,
    };
    standIn.calls.push(call);
    const answer = (status: number, body: unknown) => {
      call.status = status;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    const method = req.method === "POST" && call.path.startsWith(PREFIX) ? call.path.slice(PREFIX.length) : "";
    if (method !== "RemoveParticipant" && method !== "ListParticipants") {
      return answer(404, { code: "bad_route", msg: `no handler for path ${call.path}` });
    }
    if (!call.contentType?.startsWith("application/json") || typeof call.body !== "object" || call.body === null) {
      return answer(400, { code: "malformed", msg: "the json request could not be decoded" });
    }
    const request = call.body as { room?: unknown; identity?: unknown };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    try {
      call.claims = await verifier.verify(bearer ?? "");
    } catch (err) {
      return answer(401, { code: "unauthenticated", msg: `invalid token: ${(err as Error).message}` });
    }
    const video = call.claims.video as { roomAdmin?: boolean; room?: string } | undefined;
    if (video?.roomAdmin !== true || video.room !== request.room) {
      return answer(403, { code: "permission_denied", msg: "permissions denied" });
    }
    if (standIn.failWith) {
      return answer(standIn.failWith.status, { code: standIn.failWith.code, msg: standIn.failWith.msg });
    }
    const room = standIn.rooms.get(String(request.room));
    if (method === "ListParticipants") {
      if (!room) return answer(404, { code: "not_found", msg: "requested room does not exist" });
      const participants = [...room].map(([identity, sid]) =>
        new ParticipantInfo({ identity, sid, state: ParticipantInfo_State.ACTIVE, joinedAt: 1_764_756_000n }).toJson(),
      );
      return answer(200, { participants });
    }
    const identity = String(request.identity);
    if (!room?.has(identity)) return answer(404, { code: "not_found", msg: "participant not found" });
    room.delete(identity);
    answer(200, {});
    // LiveKit tells its webhook that the removed participant left.
    await hook("participant_left", String(request.room), identity);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ code: "internal", msg: String(err) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standIn.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return standIn;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A stand-in for LiveKit's RoomService (node:http on 127.0.0.1, a free
 * port), for the two calls Spillway makes. It checks each call's bearer
 * token with the LiveKit server SDK's own TokenVerifier (right key and
 * secret, unexpired, `roomAdmin` for the room asked about) and answers as
 * LiveKit's Twirp server does: protobuf JSON written by LiveKit's own
 * protocol classes on success, `{ code, msg }` with the Twirp status on
 * failure. Every call is recorded for the tests to check.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ParticipantInfo, ParticipantInfo_State, TokenVerifier } from "livekit-server-sdk";

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
    close: async () => {},
  };

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
    return answer(200, {});
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

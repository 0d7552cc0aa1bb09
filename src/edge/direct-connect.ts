/**
 * Where an admitted listener connects in direct mode (the status's
 * `connect`): the origin serves it and enforces the seat itself.
 *
 * - `icecast-hook`: the room's Icecast mount with the pass in its query
 *   (Icecast asks the hook, src/edge/icecast-hook.ts).
 * - `janus`: the Janus API's URL, a stored token Janus holds for this seat
 *   (added by the seat's shard), the plugin and the Janus room.
 * - `livekit`: LiveKit's URL and a subscribe-only token for this seat,
 *   minted by the seat's shard.
 *
 * The credential is asked of the seat's shard on every admitted answer (a
 * claim, a heartbeat): the same one comes back while the seat lasts (a
 * LiveKit token is renewed). When the origin cannot take it (not
 * configured, unreachable), the listener is still admitted, without
 * `connect`, and asks again at its next poll; stats and logs say why.
 */
import type { Connect } from "../contract/status.ts";
import type { OriginKind } from "../policy/config.ts";
import type { GlobalView } from "../policy/protocol.ts";
import { icecastListenUrl } from "../origins/icecast.ts";
import { janusPlugin, janusRoomId } from "../objects/janus-seats.ts";
import { type OriginCredential, shardName } from "../objects/room-shard.ts";
import { durableCall } from "./durable-call.ts";
import type { Settings } from "./settings.ts";

/** The seat an admitted answer is for, and the pass just signed for it. */
export interface AdmittedSeat {
  room: string;
  shard: number;
  sid: string;
  sub: string;
  gen: number;
  pass: { token: string; exp: number };
}

/** What the room's view says of its origin (absent: proxy). */
export type OriginFacts = Pick<GlobalView, "origin" | "originRoom">;

/** Where to connect, or undefined when the room is proxied or the origin cannot take the listener now. */
export async function connectFor(
  env: Env,
  settings: Settings,
  facts: OriginFacts,
  seat: AdmittedSeat,
): Promise<Connect | undefined> {
  const origin: OriginKind = facts.origin ?? "proxy";
  if (origin === "proxy") return undefined;
  const expiresAt = new Date(seat.pass.exp * 1000).toISOString();
  if (origin === "icecast-hook") {
    if (settings.origin === null) return undefined;
    return { kind: "icecast", url: icecastListenUrl(settings.origin, seat.room, seat.pass.token), expiresAt };
  }
  const originRoom = facts.originRoom ?? seat.room;
  // Janus's URL as the waiting page's CSP reads it (settings.ts), so the page may connect there.
  const url = origin === "janus" ? (settings.janus?.href.replace(/\/$/u, "") ?? "") : (env.LIVEKIT_URL ?? "").trim();
  if (url === "") {
    console.warn(`${origin} room without ${origin === "janus" ? "JANUS_URL" : "LIVEKIT_URL"}: no connect`, seat.room);
    return undefined;
  }
  const stub = env.ROOM_SHARD.getByName(shardName(seat.room, seat.shard));
  let credential: OriginCredential;
  try {
    credential = await durableCall<OriginCredential>("originCredential", () =>
      stub.originCredential(seat.room, seat.shard, seat.sid, seat.sub, seat.gen, origin, originRoom),
    );
  } catch (err) {
    console.warn("origin credential: the seat's shard could not be reached", seat.room, seat.shard, String(err));
    return undefined;
  }
  if (credential.kind !== "issued") return undefined;
  if (origin === "janus") {
    return {
      kind: "janus",
      url,
      token: credential.token,
      plugin: janusPlugin(env.JANUS_PLUGIN) ?? "janus.plugin.audiobridge",
      room: janusRoomId(originRoom),
      expiresAt,
    };
  }
  return {
    kind: "livekit",
    url,
    token: credential.token,
    room: originRoom,
    identity: credential.identity!,
    expiresAt: new Date(credential.expiresAt).toISOString(),
  };
}

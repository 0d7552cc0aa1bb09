/**
 * LiveKit's webhooks, answered by Spillway (direct mode, `origin: livekit`):
 * LiveKit posts an event when a participant joins or leaves, signed with
 * the API key pair (src/origins/livekit-webhook.ts verifies it).
 *
 * - `participant_joined`: the seat (named by the identity Spillway minted,
 *   `<room>:<shard>:<seat id>`) is noted as connected; a participant whose
 *   seat has already ended is removed at once.
 * - `participant_left`, `participant_connection_aborted`: the live seat ends
 *   as a leave; it is let go once its last token has expired.
 * - Anything else, or a participant that is not a seat (a speaker, an
 *   egress), is acknowledged and ignored.
 *
 * A webhook that does not verify is refused (401) and changes nothing; the
 * refusal is logged and, when the body names a seat of a room, counted in
 * that room's stats (`originAdmin`), at most once in a while per isolate
 * (whatever room it names), so that a flood of forgeries costs next to no
 * Durable Object calls.
 */
import { verifyWebhook } from "../origins/livekit-webhook.ts";
import { type LiveKitSecrets, seatOfIdentity } from "../objects/livekit-seats.ts";
import { shardName } from "../objects/room-shard.ts";
import { clock } from "../policy/clock.ts";
import { durableCall } from "./durable-call.ts";

export type LiveKitHookAnswer =
  | { kind: "done"; seat: boolean }
  | { kind: "refused"; reason: string }
  | { kind: "not_configured" }
  | { kind: "unavailable" };

/** How often one isolate counts a refused webhook in a room's stats. */
const NOTE_EVERY_MS = 10_000;
let notedAt = -Infinity;

/** Answer one webhook: its raw body and Authorization header. */
export async function liveKitHook(
  env: Env & LiveKitSecrets,
  authorization: string | null,
  body: Uint8Array,
): Promise<LiveKitHookAnswer> {
  const apiKey = env.LIVEKIT_API_KEY ?? "";
  const apiSecret = env.LIVEKIT_API_SECRET ?? "";
  if (apiKey === "" || apiSecret === "") {
    console.warn("livekit webhook called but LIVEKIT_API_KEY/LIVEKIT_API_SECRET are not set: ignored");
    return { kind: "not_configured" };
  }
  const verdict = await verifyWebhook({ apiKey, apiSecret, body, authorization, now: clock.now() });
  if (!verdict.ok) {
    console.warn("livekit webhook refused", verdict.reason, verdict.detail);
    await noteRefusal(env, body, `${verdict.reason}: ${verdict.detail}`);
    return { kind: "refused", reason: verdict.reason };
  }
  const { event, participant } = verdict.event;
  const seat = participant === undefined ? null : seatOfIdentity(participant.identity);
  const what =
    event === "participant_joined"
      ? "joined"
      : event === "participant_left" || event === "participant_connection_aborted"
        ? "left"
        : null;
  if (seat === null || what === null) return { kind: "done", seat: false };
  const stub = env.ROOM_SHARD.getByName(shardName(seat.room, seat.shard));
  try {
    const known = await durableCall<boolean>("liveKitEvent", () =>
      stub.liveKitEvent(seat.room, seat.shard, seat.sid, what),
    );
    return { kind: "done", seat: known };
  } catch (err) {
    // LiveKit delivers it again later; until then the shard's own look at the room catches up.
    console.warn("livekit webhook: the seat's shard could not be reached", seat.room, seat.shard, String(err));
    return { kind: "unavailable" };
  }
}

/** Count a refused webhook in the stats of the room its (unverified) body names, now and then. */
async function noteRefusal(env: Env, body: Uint8Array, message: string): Promise<void> {
  let identity: unknown;
  try {
    identity = (JSON.parse(new TextDecoder().decode(body)) as { participant?: { identity?: unknown } }).participant
      ?.identity;
  } catch {
    return;
  }
  const seat = typeof identity === "string" ? seatOfIdentity(identity) : null;
  if (seat === null) return;
  const now = clock.now();
  if (now - notedAt < NOTE_EVERY_MS) return;
  notedAt = now;
  // The room's first shard always exists once a room has had a listener.
  const stub = env.ROOM_SHARD.getByName(shardName(seat.room, 0));
  await stub.noteOriginFailure("webhook_refused", `livekit webhook ${message}`).catch((err: unknown) => {
    console.warn("livekit webhook refusal not counted", seat.room, String(err));
  });
}

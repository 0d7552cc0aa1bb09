/**
 * Icecast's URL authentication, answered by Spillway (direct mode,
 * `origin: icecast-hook`): Icecast POSTs a form about every listener of a
 * guarded mount before it sends it a byte (`listener_add`) and when an
 * admitted one is gone (`listener_remove`); see docs/origins/icecast-hook.md.
 *
 * - The hook URL carries `?key=` (the secret ICECAST_HOOK_KEY), compared in
 *   constant time: without the right key nothing is read and nobody admitted.
 * - `listener_add`: the pass (ES256, this mount's room, not expired) names a
 *   seat in a room whose `origin` is `icecast-hook`; its shard admits Icecast's connection id on it only while the seat
 *   is live and holds no other connection (one seat, one connection), records
 *   it and renews the lease. Anything else — a bad form, a forged, expired or
 *   given-back pass, a shard that cannot be reached — refuses: Icecast then
 *   answers the listener 401. Never an admit without the shard's yes.
 * - `listener_remove`: the shard clears the connection and the seat ends as a
 *   leave (or, when it had already ended, lets go of its seat).
 *
 * Icecast asks one listener at a time per mount and gives up after 15 s, so
 * each answer needs at most two Durable Object calls (the room's view, most
 * often cached in the isolate, and the seat's shard).
 */
import { sameSecret } from "./admin-tokens.ts";
import { RoomDesk } from "./desk.ts";
import { durableCall } from "./durable-call.ts";
import { settingsOf } from "./settings.ts";
import { clock } from "../policy/clock.ts";
import type { OriginAttach } from "../policy/ledger-state.ts";
import {
  acknowledgeAnswer,
  admitAnswer,
  parseListenerAdd,
  parseListenerRemove,
  refuseAnswer,
  roomOfMount,
} from "../origins/icecast.ts";
import type { IcecastSecrets } from "../objects/icecast-seats.ts";
import { shardName } from "../objects/room-shard.ts";
import { keyRing } from "../tokens/keys.ts";
import { type PassClaims, verifyPass, verifyPassAnyAge } from "../tokens/pass.ts";

/** What the hook answers: a Response for Icecast, or a refusal of the caller itself (wrong key). */
export type HookAnswer = { kind: "icecast"; response: Response } | { kind: "wrong_key" };

/** The pass named by a form, verified for the room of its mount (any age for a removal). */
async function passOf(
  env: Env,
  mount: string,
  pass: string,
  anyAge: boolean,
): Promise<{ ok: true; claims: PassClaims } | { ok: false; reason: string }> {
  const room = roomOfMount(mount);
  if (room === null) return { ok: false, reason: "not a room's mount" };
  const opts = { issuer: settingsOf(env).issuer, room, now: clock.now() };
  const keys = await keyRing(env);
  const verified = anyAge ? await verifyPassAnyAge(keys, pass, opts) : await verifyPass(keys, pass, opts);
  return verified.ok ? verified : { ok: false, reason: `pass ${verified.reason}` };
}

function shard(env: Env, claims: PassClaims) {
  return env.ROOM_SHARD.getByName(shardName(claims.room, claims.shard));
}

/** Answer one call of Icecast's hook: `key` from the URL, `form` the body. */
export async function icecastHook(env: Env & IcecastSecrets, key: string | null, form: string): Promise<HookAnswer> {
  const expected = env.ICECAST_HOOK_KEY ?? "";
  if (expected === "") console.warn("icecast hook called but ICECAST_HOOK_KEY is not set: nobody is admitted");
  if (expected === "" || key === null || !(await sameSecret(key, expected))) return { kind: "wrong_key" };
  const action = new URLSearchParams(form).get("action");
  if (action === "listener_remove") return { kind: "icecast", response: await removed(env, form) };
  return { kind: "icecast", response: await added(env, form) };
}

async function added(env: Env, form: string): Promise<Response> {
  const parsed = parseListenerAdd(form);
  if (!parsed.ok) return refuseAnswer(`${parsed.refusal.code}: ${parsed.refusal.message}`);
  const listener = parsed.listener;
  const pass = await passOf(env, listener.mount, listener.pass, false);
  if (!pass.ok) return refuseAnswer(pass.reason);
  const c = pass.claims;
  // Only a room whose seats Icecast enforces takes listeners here (a stale view errs on either side for a
  // second at most; the seat itself is the shard's to give).
  const { view } = await (await RoomDesk.open(env, c.room)).viewOrLast();
  if (view === null) return refuseAnswer("room unavailable");
  if (view.origin !== "icecast-hook") return refuseAnswer("room not in icecast-hook mode");
  let out: OriginAttach;
  try {
    out = await durableCall<OriginAttach>("admitOrigin", () =>
      shard(env, c).admitOrigin(c.room, c.shard, c.sid, c.sub, c.gen, listener.clientId),
    );
  } catch (err) {
    console.warn("icecast hook: the seat's shard could not be reached", c.room, c.shard, String(err));
    return refuseAnswer("seat unavailable");
  }
  if (out.kind === "refused") return refuseAnswer(`seat ${out.reason}`);
  return admitAnswer();
}

async function removed(env: Env, form: string): Promise<Response> {
  const parsed = parseListenerRemove(form);
  // Without a pass the connection's seat is not known here: the shard's next look at Icecast's list finds it gone.
  if (!parsed.ok || parsed.listener.pass === null) return acknowledgeAnswer();
  const listener = parsed.listener;
  const pass = await passOf(env, listener.mount, parsed.listener.pass!, true);
  if (!pass.ok) return acknowledgeAnswer();
  const c = pass.claims;
  try {
    await durableCall<boolean>("originGone", () => shard(env, c).originGone(c.room, c.shard, c.sid, listener.clientId));
  } catch (err) {
    console.warn("icecast hook: listener_remove not recorded", c.room, c.shard, String(err));
  }
  return acknowledgeAnswer();
}

/**
 * A listener's status in direct mode, as an app asks for it: with its ticket
 * alone (what a newer device of the listener sends), and polled until it is
 * admitted with a `connect` to join the origin with.
 */
import { adminCall, bearer, send, type StatusJson } from "./http.ts";
import { pause } from "./held.ts";
import type { RunningIcecast } from "./icecast.ts";
import { type RunningWorker, startWorker } from "./worker.ts";

export type DirectStatus<C> = StatusJson & { connect?: C };

/** A status poll with the ticket alone. */
export async function statusOf<C>(base: string, room: string, ticket: string): Promise<DirectStatus<C>> {
  const headers = { ...bearer(ticket), accept: "application/json" };
  return (await send<DirectStatus<C>>(`${base}/_spillway/rooms/${room}/status`, { headers })).json;
}

/** Poll a ticket's status (as a new device) until it is admitted with a `connect`. */
export async function admittedLater<C>(base: string, room: string, ticket: string, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await statusOf<C>(base, room, ticket);
    if (s.state === "admitted" && s.connect !== undefined) return s;
    if (Date.now() > end) throw new Error(`not admitted within ${ms} ms: ${JSON.stringify(s)}`);
    await pause(500);
  }
}

/**
 * Waiting tickets in the order of the line (a burst's answers come back in
 * any order): the first is the next to be called.
 */
export async function inLineOrder(base: string, room: string, tickets: string[]): Promise<string[]> {
  const places = await Promise.all(
    tickets.map(async (ticket) => ({ ticket, position: (await statusOf(base, room, ticket)).position ?? Infinity })),
  );
  return places.sort((a, b) => a.position - b.position).map((p) => p.ticket);
}

/**
 * A running Spillway that is Icecast's URL-authentication hook (direct mode,
 * `origin: icecast-hook`): on `port` (the one Icecast's mounts were told),
 * with Icecast's admin credentials, and `rooms` set to the mode with `capacity`.
 */
export async function startIcecastHookWorker(
  icecast: RunningIcecast,
  o: {
    adminToken: string;
    port: number;
    hookKey: string;
    rooms: string[];
    capacity: number;
    vars?: Record<string, string>;
  },
): Promise<RunningWorker> {
  const worker = await startWorker({
    adminToken: o.adminToken,
    originUrl: icecast.url,
    port: o.port,
    vars: {
      ROOMS: "*",
      ICECAST_HOOK_KEY: o.hookKey,
      ICECAST_ADMIN_USER: icecast.adminUser,
      ICECAST_ADMIN_PASSWORD: icecast.adminPassword,
      ...o.vars,
    },
  });
  for (const room of o.rooms) {
    const patched = await adminCall(worker.url, o.adminToken, "PATCH", `/rooms/${room}`, {
      origin: "icecast-hook",
      capacity: o.capacity,
    });
    if (patched.status !== 200)
      throw new Error(`room ${room} not set to icecast-hook: ${patched.status} ${patched.text}`);
  }
  return worker;
}

/**
 * A listener's status in direct mode, as an app asks for it: with its ticket
 * alone (what a newer device of the listener sends), and polled until it is
 * admitted with a `connect` to join the origin with.
 */
import { bearer, send, type StatusJson } from "./http.ts";
import { pause } from "./held.ts";

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

/**
 * The requests and rooms of the cases with a ratio target, as both
 * `npm run bench` and `npm run bench:side` set them up: a waiting poll is
 * the last of a line behind one seated listener, a request with a pass is
 * the first seated listener's playlist, and hello world gets a request of a
 * waiting poll's shape.
 */
import { randomBytes } from "node:crypto";
import type { StatusJson } from "../../test/contract/support/http.ts";
import type { Rooms } from "./rooms.ts";
import type { LoadRequest } from "./wrk.ts";

/** Queued listeners in the waiting-poll room (the polls are the last one's). */
export const QUEUED_LISTENERS = 200;
/** Admitted listeners in the pass and claim rooms (the load is the first one's). */
export const ADMITTED_LISTENERS = 50;

/** A listener's status poll; with its pass, from the device that holds the seat (a browser's cookie). */
export function statusRequest(room: string, ticket: string, pass?: string): LoadRequest {
  return {
    method: "GET",
    path: `/_spillway/rooms/${room}/status`,
    headers: {
      authorization: `Bearer ${ticket}`,
      ...(pass === undefined ? {} : { cookie: `spillway-pass-${room}=${pass}` }),
    },
  };
}

/** What hello world is asked: a waiting poll's path and a bearer of a ticket's length. */
export function helloRequest(room: string): LoadRequest {
  return statusRequest(room, randomBytes(180).toString("base64url"));
}

/** A seated listener's request with its pass, proxied to the origin (a playlist). */
export function passRequest(room: string, pass: string): LoadRequest {
  return { method: "GET", path: `/rooms/${room}/live.m3u8`, headers: { authorization: `Bearer ${pass}` } };
}

/** A room of one seat, taken, and QUEUED_LISTENERS in line: the last of them (the first would be seated once the seat's pass lapses). */
export async function lastInLine(rooms: Rooms, room: string): Promise<StatusJson> {
  await rooms.configure(room, { capacity: 1, mode: "open" });
  await rooms.joinMany(room, 1, "admitted");
  return (await rooms.joinMany(room, QUEUED_LISTENERS, "queued")).at(-1)!;
}

/** A room of `count` seated listeners, set up afresh: the first of them. */
export async function firstSeated(rooms: Rooms, room: string, count = ADMITTED_LISTENERS): Promise<StatusJson> {
  await rooms.configure(room, { capacity: 1_000, admitPerMinute: 60_000, mode: "open" });
  return (await rooms.joinMany(room, count, "admitted"))[0]!;
}

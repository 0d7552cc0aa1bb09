/**
 * What the crowd tests share (icecast-crowd.test.ts, socket-crowd.test.ts):
 * a room's seated listeners and its line, a player that polls until it is
 * called, background loops that run until the scenario ends, and what a
 * hostile client sends (a pass it made up, a seat's pass every way at once).
 */
import { expect } from "vitest";
import { REPEAT_RENEWAL_MS } from "../../../src/edge/repeat-renewals.ts";
import { eventually, pause } from "./held.ts";
import { bearer, claimsOf, heartbeatWith, join, statusJson } from "./http.ts";

/** How long a crowd has to take the seats given back or moved (revocations listed, then confirmed, then called). */
export const REFILL_WITHIN_MS = 30_000;
/** How often a client of these tests asks again (a player faster than any app is asked to be). */
export const EVERY_MS = 250;

/** A Spillway-Pass a client made up, for a seat nobody holds (never signed by Spillway). */
const FORGED_PASS = [
  Buffer.from(JSON.stringify({ alg: "ES256", typ: "pass+jwt" })).toString("base64url"),
  Buffer.from(JSON.stringify({ sid: "forged-seat", sub: "someone" })).toString("base64url"),
  "c2lnbmF0dXJl",
].join(".");

/** A room's pass cookie holding `token`, as a browser sends it. */
export function passCookie(room: string, token: string): string {
  return `spillway-pass-${room}=${token}`;
}

/**
 * The headers a hostile client sends with a seat's pass, each a way around
 * one seat, one connection: the pass's cookie twice; the cookie and the
 * bearer; the cookie with a made-up `Spillway-Pass`.
 */
export function hostileWays(room: string): ((pass: string) => Record<string, string>)[] {
  const cookie = (token: string) => passCookie(room, token);
  return [
    (pass) => ({ cookie: `${cookie(pass)}; ${cookie(pass)}` }),
    (pass) => ({ cookie: cookie(pass), ...bearer(pass) }),
    (pass) => ({ cookie: cookie(pass), "spillway-pass": FORGED_PASS }),
  ];
}

/**
 * Run `step` again and again until the scenario ends: its stop, added to
 * `stops` and returned (to stop it sooner), waits for the step under way.
 */
export function untilStopped(stops: (() => Promise<void>)[], step: () => Promise<void>): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) await step();
  })();
  const stop = async () => {
    stopped = true;
    await loop;
  };
  stops.push(stop);
  return stop;
}

/**
 * How old a crowd's player lets its pass grow before it renews it: just over
 * the time an isolate answers a seat's renewals with the pass it last signed
 * (REPEAT_RENEWAL_MS), so that the heartbeat brings a pass younger than that.
 * On a fixed beat a heartbeat could be given a pass already about 2 s old
 * (signed for another request of the seat), and the next beat came after a
 * 4 s pass had expired.
 */
const RENEW_AT_AGE_MS = REPEAT_RENEWAL_MS + 100;

/**
 * A seat's player renewing its pass now and whenever it is RENEW_AT_AGE_MS
 * old, until the scenario ends (its stop is added to `stops`), or until
 * `stop` (before its seat is given back; it resolves just after a renewal):
 * `pass` is always its newest, of the same seat. The tests' passes live 4 s,
 * so a pass used much after it was given needs this.
 */
export function renewing(
  stops: (() => Promise<void>)[],
  base: string,
  room: string,
  given: string,
): { readonly pass: string; stop: () => Promise<void> } {
  let pass = given;
  const sid = claimsOf(given).sid;
  let renewals = 0;
  // The first renewal at once: the pass in hand may be seconds old already (seated before others).
  const stop = untilStopped(stops, async () => {
    // `iat` is in whole seconds: a pass the isolate gives again is asked about at most every EVERY_MS.
    const due = (claimsOf(pass).iat as number) * 1000 + RENEW_AT_AGE_MS - Date.now();
    if (renewals++ > 0) await pause(Math.max(EVERY_MS, due));
    const renewed = await heartbeatWith(base, room, pass);
    expect(renewed.status, "a seat's heartbeat").toBe(200);
    expect(claimsOf(renewed.json.pass!).sid).toBe(sid);
    pass = renewed.json.pass!;
  });
  return {
    get pass() {
      return pass;
    },
    stop,
  };
}

/** `count` listeners of `room` seated one after another (each at its join, or at its first poll). */
export async function seatedIn(base: string, room: string, count: number): Promise<{ ticket: string; pass: string }[]> {
  const out: { ticket: string; pass: string }[] = [];
  for (let i = 0; i < count; i++) {
    const res = await join(base, room);
    expect(res.status).toBe(200);
    const ticket = res.json.ticket!;
    let pass = res.json.pass;
    if (pass === undefined) {
      await eventually(
        async () => (pass = (await statusJson(base, room, ticket)).json.pass) !== undefined,
        5_000,
        `listener ${i + 1} of a room with a free seat is seated`,
      );
    }
    out.push({ ticket, pass: pass! });
  }
  return out;
}

/** `count` listeners in line behind a full `room`: their tickets. */
export async function waitingIn(base: string, room: string, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await join(base, room);
    expect(res.status).toBe(200);
    expect(res.json.state).toBe("queued");
    out.push(res.json.ticket!);
  }
  return out;
}

/** Poll `ticket` every EVERY_MS until it is called: its pass (within REFILL_WITHIN_MS, else fails with `what`). */
export async function passWhenCalled(base: string, room: string, ticket: string, what: string): Promise<string> {
  let pass: string | undefined;
  await eventually(
    async () => {
      pass = (await statusJson(base, room, ticket)).json.pass;
      if (pass === undefined) await pause(EVERY_MS);
      return pass !== undefined;
    },
    REFILL_WITHIN_MS,
    what,
  );
  return pass!;
}

/**
 * No token ever in a URL: one found there on the guarded path is moved to a
 * cookie (when it is a valid ticket or pass of the room) and the browser is
 * sent to the same URL without it.
 */
import { describe, expect, it } from "vitest";
import { call, join, patchRoom, roomName, useManualClock } from "./helpers.ts";

useManualClock();

describe("a token in the URL", () => {
  it("moves a valid pass into its cookie and redirects to the URL without it", async () => {
    const room = roomName("url-pass");
    const listener = (await join(room)).body;
    const res = await call(`/rooms/${room}/stream?x=1&pass=${listener.pass}`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/rooms/${room}/stream?x=1`);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const cookie = res.headers.getSetCookie().find((c) => c.includes(`-pass-${room}=`));
    expect(cookie).toContain(listener.pass!);
    expect(cookie).toMatch(/HttpOnly/i);
  });

  it("moves a valid ticket, and drops anything else without setting a cookie", async () => {
    const room = roomName("url-ticket");
    await patchRoom(room, { capacity: 0 });
    const waiting = (await join(room)).body;
    const moved = await call(`/rooms/${room}/?ticket=${waiting.ticket}`);
    expect(moved.status).toBe(303);
    expect(moved.headers.get("location")).toBe(`/rooms/${room}/`);
    expect(moved.headers.getSetCookie().some((c) => c.includes(`-ticket-${room}=${waiting.ticket}`))).toBe(true);

    const junk = await call(`/rooms/${room}/?token=not.a.token&overflow=x`);
    expect(junk.status).toBe(303);
    expect(junk.headers.get("location")).toBe(`/rooms/${room}/`);
    expect(junk.headers.getSetCookie()).toEqual([]);
  });
});

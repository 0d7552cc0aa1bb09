/**
 * Direct mode with Icecast inside workerd: the hook route Icecast calls
 * (`POST /_spillway/origins/icecast/listener?key=…`) and the `connect` an
 * admitted listener of an `icecast-hook` room gets. The real Icecast is in
 * test/contract/icecast-direct.test.ts.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { advance, callWith, join, leave, letRevocationsThrough, passClaims, patchRoom, roomName } from "./helpers.ts";
import { shardStub, stats, type Status, useManualClock } from "./helpers.ts";

const t = useManualClock();
const KEY = "hook-key-for-tests";
const VARS = { ORIGIN_URL: "http://icecast.test:8000/", ICECAST_HOOK_KEY: KEY } as Partial<Env>;
const HOOK = `/_spillway/origins/icecast/listener`;

/** A `listener_add` form as Icecast 2.4.4 sends it (every value escaped). */
function addForm(room: string, pass: string, client: string): string {
  const mount = `/rooms/${room}/stream.mp3?pass=${pass}`;
  return new URLSearchParams({
    action: "listener_add",
    server: "127.0.0.1",
    port: "8000",
    client,
    mount,
    user: "",
    pass: "",
    ip: "127.0.0.1",
    agent: "-",
  }).toString();
}

function removeForm(room: string, pass: string, client: string): string {
  return addForm(room, pass, client).replace("listener_add", "listener_remove") + "&duration=3";
}

function hook(form: string, key: string | null = KEY): Promise<Response> {
  const query = key === null ? "" : `?key=${encodeURIComponent(key)}`;
  return callWith(VARS, HOOK + query, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": "Icecast 2.4.4" },
    body: form,
  });
}

const admits = (res: Response) => res.headers.get("icecast-auth-user") === "1";

async function seatedIn(room: string): Promise<string> {
  const { body } = await join(room);
  expect(body.state).toBe("admitted");
  return body.pass!;
}

async function originLease(room: string, sid: string) {
  return runInDurableObject(shardStub(room), (_i, state) => {
    const r = state.storage.sql
      .exec<{ origin_client: string | null; left_at: number | null; awaiting_drop: number }>(
        "SELECT origin_client, left_at, awaiting_drop FROM leases WHERE sid = ?",
        sid,
      )
      .toArray()[0];
    return r ?? null;
  });
}

describe("connect", () => {
  it("is given to an admitted listener of an icecast-hook room, with the pass in the mount URL", async () => {
    const room = roomName("direct");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const res = await callWith(VARS, `/_spillway/rooms/${room}/join`, { method: "POST" });
    const body = await res.json<Status>();
    expect(body.state).toBe("admitted");
    expect(body.connect).toEqual({
      kind: "icecast",
      url: `http://icecast.test:8000/rooms/${room}/stream.mp3?pass=${body.pass}`,
      expiresAt: body.passExpiresAt,
    });
  });

  it("is not given in a proxy room", async () => {
    const room = roomName("proxied");
    await patchRoom(room, { capacity: 2 });
    const body = await (await callWith(VARS, `/_spillway/rooms/${room}/join`, { method: "POST" })).json<Status>();
    expect(body.state).toBe("admitted");
    expect(body).not.toHaveProperty("connect");
  });

  it("refuses an unknown origin in a PATCH, changing nothing", async () => {
    const room = roomName("badorigin");
    await patchRoom(room, { capacity: 2 });
    const res = await callWith(VARS, `/_spillway/admin/rooms/${room}`, {
      method: "PATCH",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: JSON.stringify({ origin: "webrtc", capacity: 5 }),
    });
    expect(res.status).toBe(400);
  });
});

describe("the hook", () => {
  it("admits a live seat's pass once, records Icecast's client id and renews the lease", async () => {
    const room = roomName("hook");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const pass = await seatedIn(room);
    const { sid } = passClaims(pass);
    advance(t.clock, 10_000);
    const res = await hook(addForm(room, pass, "13"));
    expect(res.status).toBe(200);
    expect(admits(res)).toBe(true);
    expect(await originLease(room, sid)).toMatchObject({ origin_client: "13", left_at: null });
    // One seat, one connection: another connection with the same pass is refused.
    const second = await hook(addForm(room, pass, "14"));
    expect(admits(second)).toBe(false);
    expect(second.headers.get("icecast-auth-message")).toBe("seat busy");
    // The same connection asking again is still this seat's.
    expect(admits(await hook(addForm(room, pass, "13")))).toBe(true);
  });

  it("refuses without the key, with a wrong key, and changes nothing", async () => {
    const room = roomName("hookkey");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const pass = await seatedIn(room);
    for (const key of [null, "", "wrong", KEY + "x"]) {
      const res = await hook(addForm(room, pass, "13"), key);
      expect(res.status).toBe(401);
      expect(admits(res)).toBe(false);
    }
    expect(await originLease(room, passClaims(pass).sid)).toMatchObject({ origin_client: null });
  });

  it("admits nobody when the deployment has no hook key", async () => {
    const room = roomName("nokey");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const pass = await seatedIn(room);
    const res = await callWith({ ...VARS, ICECAST_HOOK_KEY: "" } as Partial<Env>, `${HOOK}?key=`, {
      method: "POST",
      body: addForm(room, pass, "13"),
    });
    expect(res.status).toBe(401);
    expect(admits(res)).toBe(false);
  });

  it("refuses bad forms, forged, expired, other rooms' and given-back passes", async () => {
    const room = roomName("refuse");
    await patchRoom(room, { origin: "icecast-hook", capacity: 3 });
    const pass = await seatedIn(room);
    const forged = pass.slice(0, -4) + (pass.endsWith("AAAA") ? "BBBB" : "AAAA");
    const other = roomName("other");
    await patchRoom(other, { origin: "icecast-hook", capacity: 1 });
    const cases: [string, string][] = [
      ["not a form", "hello"],
      ["no pass", addForm(room, "", "13").replace("%3Fpass%3D", "")],
      ["no client", addForm(room, pass, "x")],
      ["forged", addForm(room, forged, "13")],
      ["other room's mount", addForm(other, pass, "13")],
      ["not a room's mount", addForm(room, pass, "13").replace("stream.mp3", "other.mp3")],
    ];
    for (const [what, form] of cases) {
      const res = await hook(form);
      expect(admits(res), what).toBe(false);
      expect(res.status, what).toBe(403);
      expect(res.headers.get("icecast-auth-message"), what).toBeTruthy();
    }
    // Expired: past the pass's lifetime.
    const later = await seatedIn(room);
    advance(t.clock, 24 * 3600_000);
    expect(admits(await hook(addForm(room, later, "15")))).toBe(false);
  });

  it("refuses a pass of a room whose origin is not icecast-hook", async () => {
    const room = roomName("proxyhook");
    await patchRoom(room, { capacity: 2 });
    const pass = await seatedIn(room);
    const res = await hook(addForm(room, pass, "13"));
    expect(admits(res)).toBe(false);
    expect(res.headers.get("icecast-auth-message")).toBe("room not in icecast-hook mode");
    expect(await originLease(room, passClaims(pass).sid)).toMatchObject({ origin_client: null });
  });

  it("refuses a pass whose seat was given back", async () => {
    const room = roomName("left");
    await patchRoom(room, { origin: "icecast-hook", capacity: 2 });
    const pass = await seatedIn(room);
    expect((await leave(room, pass)).status).toBe(200);
    const res = await hook(addForm(room, pass, "13"));
    expect(admits(res)).toBe(false);
    expect(res.headers.get("icecast-auth-message")).toBe("seat left");
  });

  it("listener_remove ends the seat as a leave; the seat is free by the usual rules", async () => {
    const room = roomName("remove");
    await patchRoom(room, { origin: "icecast-hook", capacity: 1 });
    const pass = await seatedIn(room);
    const { sid } = passClaims(pass);
    expect(admits(await hook(addForm(room, pass, "13")))).toBe(true);
    const waiting = (await join(room)).body;
    expect(waiting.state).toBe("queued");
    const res = await hook(removeForm(room, pass, "13"));
    expect(res.status).toBe(204);
    expect(await originLease(room, sid)).toMatchObject({ origin_client: null });
    expect((await originLease(room, sid))?.left_at).not.toBeNull();
    // The pass can no longer admit a connection.
    expect(admits(await hook(addForm(room, pass, "16")))).toBe(false);
    await letRevocationsThrough(t.clock, room);
    await shardStub(room).syncNow(room, 0);
    expect(await originLease(room, sid)).toBeNull();
  });

  it("keeps a left seat whose connection Icecast may still serve until the drop is confirmed", async () => {
    const room = roomName("drop");
    await patchRoom(room, { origin: "icecast-hook", capacity: 1 });
    const pass = await seatedIn(room);
    const { sid } = passClaims(pass);
    expect(admits(await hook(addForm(room, pass, "13")))).toBe(true);
    expect((await leave(room, pass)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    advance(t.clock, 120_000);
    await shardStub(room).syncNow(room, 0);
    // No admin credentials in these tests: the kill cannot be done, so the seat stays taken.
    expect(await originLease(room, sid)).toMatchObject({ origin_client: "13", awaiting_drop: 1 });
    expect((await join(room)).body.state).not.toBe("admitted");
    // Ops see why.
    const seen = await stats(room);
    expect(seen.active).toBe(1);
    expect(seen.originAdmin?.failures).toBeGreaterThan(0);
    expect(seen.originAdmin?.lastFailure?.kind).toBe("not_configured");
    // Icecast says the connection is gone: the seat is free.
    expect((await hook(removeForm(room, pass, "13"))).status).toBe(204);
    expect(await originLease(room, sid)).toBeNull();
  });
});

/**
 * Lanes as a listener meets them, over HTTP inside workerd: a host whose
 * identity token (the deployer's login, signed with a shared HMAC secret the
 * Worker has as `IDENTITY_LANES_TEST`) puts them on `stage` is seated from the
 * lane's reserve while the general line is full; nobody is seated past the
 * capacity; a token that is forged, expired or not the room's is refused with
 * its reason and takes nothing (in the platform's cookie, which a browser
 * cannot leave out, it is the general line); a general ticket never becomes a
 * lane's; an invite-only room offers everyone else the recording; a config
 * change is followed within 2 s; a config that cannot run is refused whole;
 * and a secret that is not set fails closed for lanes only.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { cookieName } from "../../src/edge/credentials.ts";
import { LANE_BLOCK } from "../../src/policy/lanes.ts";
import { CONFIRM_AFTER_MS } from "../../src/policy/pass-trust.ts";
import type { ManualClock } from "../../src/policy/clock.ts";
import {
  ADMIN,
  advance,
  b64url,
  bearer,
  call,
  type ErrorJson,
  getConfig,
  heartbeat,
  join,
  leave,
  letRevocationsThrough,
  passClaims,
  patchRoom,
  roomName,
  shardStub,
  stats,
  type Status,
  status,
  useManualClock,
} from "./helpers.ts";

/** The platform's signing secret, as the Workers project binds it (vitest.config.ts). */
const SECRET = (env as unknown as Record<string, unknown>).IDENTITY_LANES_TEST as string;
const ISSUER = "https://login.example.com/";
const AUDIENCE = "spillway-lanes";
/** The slot the room's first lane gets (lanes.ts assignSlots): its shards start at LANE_BLOCK. */
const STAGE_SHARD = LANE_BLOCK;

/** The room's identity settings: `role: host` is on stage, `tier: premium` has priority. */
function identity(hmacSecretName = "IDENTITY_LANES_TEST") {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: { hmacSecretName },
    lanes: [
      { lane: "stage", claim: "role", anyOf: ["host"] },
      { lane: "priority", claim: "tier", anyOf: ["premium"] },
    ],
  };
}

/** An identity token as the platform's login signs it, valid for ten minutes from `now`. */
function signed(now: number, claims: Record<string, unknown>, key = SECRET): Promise<string> {
  const s = Math.floor(now / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: `user-${crypto.randomUUID()}`, exp: s + 600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(key));
}

const withIdentity = (token: string): Record<string, string> => ({ "spillway-identity": token });

/** A join presenting an identity token. */
function joinAs(room: string, token: string) {
  return join(room, withIdentity(token));
}

/** Move to the next sync round: every shard of the room that has listeners hears the coordinator. */
async function nextRound(clock: ManualClock, room: string, shards: readonly number[]): Promise<void> {
  advance(clock, 1_100);
  for (const i of shards) await shardStub(room, i).syncNow(room, i);
}

/**
 * A lane listener's answer once seated: at once, or within a few rounds
 * (the free seats may sit with another line's shard, ahead of its arrivals,
 * until that shard syncs again).
 */
async function seatedSoon(clock: ManualClock, room: string, answer: Status, shards: readonly number[]) {
  let body = answer;
  for (let round = 0; round < 3 && body.state !== "admitted"; round++) {
    expect(body.state).toBe("queued");
    await nextRound(clock, room, shards);
    body = (await status(room, answer.ticket!)).body;
  }
  return body;
}

/**
 * General listeners who join and wait a few rounds: those seated (their
 * passes) and those still in line (their tickets).
 */
async function generalFlood(clock: ManualClock, room: string, n: number) {
  const passes: string[] = [];
  const waiting: string[] = [];
  for (let i = 0; i < n; i++) {
    const { res, body } = await join(room);
    expect(res.status).toBe(200);
    expect(body.lane).toBeUndefined();
    if (body.pass !== undefined) passes.push(body.pass);
    else waiting.push(body.ticket!);
  }
  for (let round = 0; round < 3; round++) {
    await nextRound(clock, room, [0]);
    for (const ticket of [...waiting]) {
      const { body } = await status(room, ticket);
      if (body.pass === undefined) continue;
      passes.push(body.pass);
      waiting.splice(waiting.indexOf(ticket), 1);
    }
  }
  return { passes, waiting };
}

describe("lanes over HTTP (manual clock)", () => {
  const t = useManualClock();
  const token = (claims: Record<string, unknown>, key?: string) => signed(t.clock.now(), claims, key);

  it("has the platform's secret bound, long enough for HS256", () => {
    expect(typeof SECRET).toBe("string");
    expect(new TextEncoder().encode(SECRET).byteLength).toBeGreaterThanOrEqual(32);
  });

  it("seats a host from the stage reserve at once while general listeners fill the rest of the room", async () => {
    const room = roomName("lanes-stage");
    await patchRoom(room, {
      capacity: 5,
      lanes: { stage: { reserved: 2, lend: false }, priority: {} },
      identity: identity(),
    });
    // A flood of general listeners: they get the three seats the reserve leaves them, no more.
    const general = await generalFlood(t.clock, room, 10);
    expect(general.passes).toHaveLength(3);
    expect(general.waiting).toHaveLength(7);

    for (let i = 0; i < 2; i++) {
      const host = await joinAs(room, await token({ role: "host" }));
      expect(host.res.status).toBe(200);
      expect(host.body).toMatchObject({ state: "admitted", lane: "stage" });
      expect(passClaims(host.body.pass!).shard).toBe(STAGE_SHARD);
    }
    // The reserve is used up: a third host waits first in the stage line, not behind the general seven.
    const third = await joinAs(room, await token({ role: "host" }));
    expect(third.body).toMatchObject({ state: "queued", lane: "stage", position: 1, ahead: 0 });

    const s = await stats(room);
    expect(s.active).toBe(5);
    expect(s.joined).toBe(13);
  });

  it("gives a lent reserve back to the stage as general listeners leave, never by eviction", async () => {
    const room = roomName("lanes-lend");
    await patchRoom(room, { capacity: 5, lanes: { stage: { reserved: 2 }, priority: {} }, identity: identity() });
    // Lending (the default): before any host arrives, the general line borrows the reserve.
    const general = await generalFlood(t.clock, room, 8);
    expect(general.passes).toHaveLength(5);

    const host = await joinAs(room, await token({ role: "host" }));
    expect(host.body).toMatchObject({ state: "queued", lane: "stage", position: 1 });
    const hostTicket = host.body.ticket!;
    // Nobody seated is moved out for the host.
    for (const pass of general.passes) expect((await heartbeat(room, pass)).status).toBe(200);

    // One general listener leaves: the seat comes back to the stage, ahead of the three general ones waiting.
    expect((await leave(room, general.passes[0]!)).status).toBe(200);
    await letRevocationsThrough(t.clock, room);
    await shardStub(room, STAGE_SHARD).syncNow(room, STAGE_SHARD);
    let seated: Status | null = null;
    for (let round = 0; round < 3 && seated === null; round++) {
      for (const ticket of general.waiting) expect((await status(room, ticket)).body.state).toBe("queued");
      const polled = (await status(room, hostTicket)).body;
      if (polled.state === "admitted") seated = polled;
      else await nextRound(t.clock, room, [0, STAGE_SHARD]);
    }
    expect(seated).toMatchObject({ state: "admitted", lane: "stage" });
    for (const pass of general.passes.slice(1)) expect((await heartbeat(room, pass)).status).toBe(200);
    expect((await stats(room)).active).toBe(5);
  });

  it("never seats more listeners than the capacity, overall and per lane, as the three lines come and go", async () => {
    const CAPACITY = 6;
    const CAPS: Record<number, number> = { 1: 3, 2: 2 };
    const room = roomName("lanes-cap");
    await patchRoom(room, {
      capacity: CAPACITY,
      lanes: { stage: { reserved: 2, cap: 3 }, priority: { share: 0.5, cap: 2 } },
      identity: identity(),
    });
    const shards = [0, STAGE_SHARD, 2 * LANE_BLOCK];
    const live = new Map<string, { pass: string; shard: number }>();
    const waiting: string[] = [];
    const seated = (body: Status): boolean => {
      if (body.pass === undefined) return false;
      const claims = passClaims(body.pass);
      expect(live.has(claims.sid)).toBe(false);
      live.set(claims.sid, { pass: body.pass, shard: claims.shard });
      return true;
    };
    const lineLive = (slot: number) =>
      [...live.values()].filter((l) => Math.floor(l.shard / LANE_BLOCK) === slot).length;
    const check = async () => {
      expect(live.size).toBeLessThanOrEqual(CAPACITY);
      for (const [slot, cap] of Object.entries(CAPS)) expect(lineLive(Number(slot))).toBeLessThanOrEqual(cap);
      const s = await stats(room);
      expect(s.active).toBeLessThanOrEqual(CAPACITY);
      // Seats given back count as active until their revocation is confirmed.
      expect(s.active - s.leaving).toBe(live.size);
      for (const line of s.lanes) if (line.cap !== null) expect(line.live, line.lane).toBeLessThanOrEqual(line.cap);
    };
    const arrive = async (n: number) => {
      const answers = await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const kind = i % 3;
          if (kind === 0) return join(room);
          return joinAs(room, await token(kind === 1 ? { role: "host" } : { tier: "premium" }));
        }),
      );
      for (const { res, body } of answers) {
        expect(res.status).toBe(200);
        if (!seated(body)) waiting.push(body.ticket!);
      }
    };

    await arrive(36);
    await check();
    for (let round = 0; round < 10; round++) {
      // Some seated listeners leave; their seats are freed once every shard has heard of it.
      for (const [sid, { pass }] of [...live].slice(0, 1 + (round % 2))) {
        expect((await leave(room, pass)).status).toBe(200);
        live.delete(sid);
      }
      // Every shard keeps syncing while the revocations wait to be confirmed (a busy shard does, on its
      // alarm): none of them looks lost to the coordinator when the freed seats are planned.
      for (let waited = 0; waited <= CONFIRM_AFTER_MS; waited += 1_100) await nextRound(t.clock, room, shards);
      await nextRound(t.clock, room, shards);
      const polled = await Promise.all(waiting.map(async (ticket) => ({ ticket, ...(await status(room, ticket)) })));
      for (const { ticket, body } of polled) if (seated(body)) waiting.splice(waiting.indexOf(ticket), 1);
      await arrive(3);
      await check();
    }
    const s = await stats(room);
    expect(s.admittedTotal).toBeGreaterThanOrEqual(CAPACITY + 10);
    expect(s.peakConcurrent).toBeLessThanOrEqual(CAPACITY);
    // Every line was seated at some point: the lanes did not keep the general line out for good.
    expect(s.lanes.map((l) => l.lane)).toEqual(["general", "stage", "priority"]);
    for (const line of s.lanes) expect(line.admittedTotal, line.lane).toBeGreaterThan(0);
  }, 30_000);

  it("refuses a forged, expired or foreign identity token with its reason, and takes nothing", async () => {
    const room = roomName("lanes-refused");
    await patchRoom(room, { capacity: 20, lanes: { stage: { reserved: 2 }, priority: {} }, identity: identity() });
    const now = Math.floor(t.clock.now() / 1000);
    const unsigned = `${b64url.encode('{"alg":"none","typ":"JWT"}')}.${b64url.encode(
      JSON.stringify({ iss: ISSUER, aud: AUDIENCE, sub: "mallory", exp: now + 600, role: "host" }),
    )}.`;
    const cases: [string, string | Promise<string>, string][] = [
      [
        "forged (another secret)",
        token({ role: "host" }, "a-secret-the-platform-never-had-0123456789"),
        "bad_signature",
      ],
      ["expired", token({ role: "host", exp: now - 120 }), "expired"],
      ["not yet valid", token({ role: "host", nbf: now + 600 }), "not_yet_valid"],
      ["another issuer", token({ role: "host", iss: "https://evil.example.com/" }), "wrong_issuer"],
      ["another audience", token({ role: "host", aud: "someone-else" }), "wrong_audience"],
      ["alg none", unsigned, "alg_not_allowed"],
      ["garbage", "not-a-token", "malformed"],
    ];
    const tokens = await Promise.all(cases.map(([, made]) => made));
    for (const [i, [what, , reason]] of cases.entries()) {
      const res = await call(`/_spillway/rooms/${room}/join`, { method: "POST", headers: withIdentity(tokens[i]!) });
      expect(res.status, what).toBe(401);
      const body = await res.json<ErrorJson & { error: { identity?: string } }>();
      expect(body.error.code, what).toBe("identity_refused");
      expect(body.error.identity, what).toBe(reason);
      expect(JSON.stringify(body)).not.toContain(tokens[i]!.slice(0, 40));
    }
    // Longer than any platform's token: refused unread (in a cookie, the request's headers are too large).
    const long = `${await token({ role: "host" })}.${"a".repeat(8200)}`;
    const longHeader = await call(`/_spillway/rooms/${room}/join`, { method: "POST", headers: withIdentity(long) });
    expect(longHeader.status).toBe(401);
    expect((await longHeader.json<{ error: { identity?: string } }>()).error.identity).toBe("malformed");
    const longCookie = await call(`/_spillway/rooms/${room}/join`, {
      method: "POST",
      headers: { cookie: `spillway_identity=${long}` },
    });
    expect(longCookie.status).toBe(431);
    // Bearer-prefixed in the header, as an app may send it: refused the same way.
    const bearerForged = await call(`/_spillway/rooms/${room}/join`, {
      method: "POST",
      headers: withIdentity(`Bearer ${await token({ role: "host" }, "a-secret-the-platform-never-had-0123456789")}`),
    });
    expect(bearerForged.status).toBe(401);

    let s = await stats(room);
    expect(s.joined).toBe(0);
    expect(s.active).toBe(0);

    // The same tokens in the platform's cookie, which a browser sends whether or not its token
    // is still good: the general line, as if no token had been shown (never a lane).
    for (const [i, [what]] of cases.entries()) {
      const { res, body } = await join(room, { cookie: `theme=dark; spillway_identity=${tokens[i]!}` });
      expect(res.status, what).toBe(200);
      expect("lane" in body, what).toBe(false);
      if (body.pass !== undefined) expect(passClaims(body.pass).shard, what).toBeLessThan(LANE_BLOCK);
    }
    s = await stats(room);
    expect(s.joined).toBe(cases.length);
    const generalOnly = s.lanes.filter((l) => l.lane !== "general");
    for (const line of generalOnly) expect(line.live + line.queued, line.lane).toBe(0);

    // A genuine token no rule matches: the general line (no lane, a general shard).
    const plain = await joinAs(room, await token({ role: "listener", tier: "free" }));
    expect(plain.res.status).toBe(200);
    expect(plain.body.state).toBe("admitted");
    expect("lane" in plain.body).toBe(false);
    expect(passClaims(plain.body.pass!).shard).toBeLessThan(LANE_BLOCK);
    // A genuine one for each lane, in the header (Bearer-prefixed) and in the cookie.
    const premium = await joinAs(room, `Bearer ${await token({ tier: "premium" })}`);
    expect(premium.body.lane).toBe("priority");
    const premiumSeated = await seatedSoon(t.clock, room, premium.body, [0, 2 * LANE_BLOCK]);
    expect(premiumSeated).toMatchObject({ state: "admitted", lane: "priority" });
    expect(passClaims(premiumSeated.pass!).shard).toBe(2 * LANE_BLOCK);
    const host = await join(room, { cookie: `spillway_identity=${await token({ role: "host" })}` });
    expect(host.body).toMatchObject({ state: "admitted", lane: "stage" });
    s = await stats(room);
    expect(s.joined).toBe(cases.length + 3);
  });

  it("lets a browser whose platform cookie holds an expired token in on the room's path, in the general line", async () => {
    const room = roomName("lanes-browser");
    await patchRoom(room, { capacity: 5, lanes: { stage: { reserved: 1, lend: false } }, identity: identity() });
    const passShard = (res: Response): number => {
      const name = cookieName("pass", room, false);
      const set = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
      expect(set, "a pass cookie").toBeDefined();
      return passClaims(set!.slice(name.length + 1).split(";")[0]!).shard;
    };
    const now = Math.floor(t.clock.now() / 1000);
    const expired = await token({ role: "host", exp: now - 3600 });
    const page = (cookie: string) => call(`/rooms/${room}/`, { headers: { accept: "text/html", cookie } });

    const stale = await page(`spillway_identity=${expired}`);
    expect(stale.status).toBe(303);
    expect(passShard(stale)).toBeLessThan(LANE_BLOCK);
    const fresh = await page(`spillway_identity=${await token({ role: "host" })}`);
    expect(fresh.status).toBe(303);
    expect(passShard(fresh)).toBe(STAGE_SHARD);
    // An app that sends the expired token itself is told why (and can sign in again).
    const app = await joinAs(room, expired);
    expect(app.res.status).toBe(401);
    expect((app.body as unknown as { error: { identity: string } }).error.identity).toBe("expired");
  });

  it("never turns a general ticket into a lane's, whatever identity comes with it later", async () => {
    const room = roomName("lanes-ticket");
    await patchRoom(room, {
      capacity: 2,
      lanes: { stage: { reserved: 1, lend: false }, priority: {} },
      identity: identity(),
    });
    expect((await join(room)).body.state).toBe("admitted");
    const waiting = await join(room);
    expect(waiting.body).toMatchObject({ state: "queued", position: 1 });
    const ticket = waiting.body.ticket!;
    const host = await token({ role: "host" });

    for (let round = 0; round < 3; round++) {
      const polled = await call(`/_spillway/rooms/${room}/status`, {
        headers: { ...bearer(ticket), ...withIdentity(host), cookie: `spillway_identity=${host}` },
      });
      const body = await polled.json<Status>();
      expect(body).toMatchObject({ state: "queued", position: 1 });
      expect(body.lane).toBeUndefined();
      // A join that carries the ticket is that ticket's status: the token is not read.
      const again = await call(`/_spillway/rooms/${room}/join`, {
        method: "POST",
        headers: { ...bearer(ticket), ...withIdentity(host) },
      });
      const againBody = await again.json<Status>();
      expect(againBody).toMatchObject({ state: "queued", position: 1, ticket });
      expect(againBody.lane).toBeUndefined();
      await nextRound(t.clock, room, [0]);
    }
    // The ticket's shard is signed: moved to the stage's shard, it is refused.
    const [header, payload, signature] = ticket.split(".");
    const claims = JSON.parse(new TextDecoder().decode(b64url.decode(payload!))) as Record<string, unknown>;
    const moved = `${header}.${b64url.encode(JSON.stringify({ ...claims, shard: STAGE_SHARD }))}.${signature}`;
    expect((await status(room, moved)).res.status).toBe(401);

    // The host joining afresh (no ticket) gets a place of its own on stage; the general ticket is as it was.
    const onStage = await joinAs(room, host);
    expect(onStage.body).toMatchObject({ state: "admitted", lane: "stage" });
    expect((await status(room, ticket)).body).toMatchObject({ state: "queued", position: 1 });
    expect((await stats(room)).joined).toBe(3);
  });

  it("offers everyone but lane listeners the recording in an invite-only room", async () => {
    const room = roomName("lanes-invite");
    const recording = "https://example.com/recordings/keynote";
    await patchRoom(room, {
      capacity: 5,
      lanes: { stage: { reserved: 1 }, priority: {} },
      identity: identity(),
      inviteOnly: true,
      recordingUrl: recording,
    });
    const general = [
      await join(room),
      (await call(`/_spillway/rooms/${room}/join?keep=1`, { method: "POST" }).then(async (res) => ({
        res,
        body: await res.json<Status>(),
      }))) as { res: Response; body: Status },
      await joinAs(room, await token({ role: "listener" })),
    ];
    for (const { res, body } of general) {
      expect(res.status).toBe(200);
      expect(body).toMatchObject({
        state: "overflow",
        offer: { reason: "invite_only", canKeepPlace: false },
        recordingUrl: recording,
      });
      expect(body.overflowToken).toBeTypeOf("string");
      expect(body.ticket).toBeUndefined();
      expect(body.pass).toBeUndefined();
    }
    const host = await joinAs(room, await token({ role: "host" }));
    expect(host.body).toMatchObject({ state: "admitted", lane: "stage" });
    expect(passClaims(host.body.pass!).shard).toBe(STAGE_SHARD);
    const premium = await joinAs(room, await token({ tier: "premium" }));
    expect(premium.body.lane).toBe("priority");
    const premiumSeated = await seatedSoon(t.clock, room, premium.body, [STAGE_SHARD, 2 * LANE_BLOCK]);
    expect(premiumSeated).toMatchObject({ state: "admitted", lane: "priority" });
    const s = await stats(room);
    expect(s.joined).toBe(2);
    expect(s.active).toBe(2);

    // Without a recording: still no place, and no link.
    await patchRoom(room, { recordingUrl: null });
    advance(t.clock, 1_100);
    const bare = await join(room);
    expect(bare.body).toMatchObject({ state: "overflow", offer: { reason: "invite_only" }, recordingUrl: null });
    expect((await stats(room)).joined).toBe(2);
  });

  it("refuses a lanes config that cannot run, whole, with field errors, and changes nothing", async () => {
    const room = roomName("lanes-bad");
    await patchRoom(room, { capacity: 5, lanes: { stage: { reserved: 2 }, priority: {} }, identity: identity() });
    const before = await getConfig(room);
    const auditBefore = await (
      await call(`/_spillway/admin/rooms/${room}/audit`, { headers: { authorization: ADMIN } })
    ).json<{ entries: unknown[] }>();
    const cases: [unknown, string][] = [
      [{ lanes: { stage: { reserved: 6 } } }, "lanes"],
      [{ capacity: 1 }, "lanes"],
      [{ lanes: { stage: { reserved: 1, colour: "red" } } }, "lanes.stage.colour"],
      [{ lanes: { "Stage!": { reserved: 1 } } }, "lanes.Stage!"],
      [{ lanes: { general: {} } }, "lanes.general"],
      [{ lanes: { stage: { reserved: 1, cap: 0 } } }, "lanes.stage.cap"],
      [{ lanes: null, inviteOnly: true }, "inviteOnly"],
      [{ capacity: 10, lanes: { stage: { reserved: 1, share: 2 } } }, "lanes.stage.share"],
    ];
    for (const [patch, field] of cases) {
      const res = await call(`/_spillway/admin/rooms/${room}`, {
        method: "PATCH",
        headers: { authorization: ADMIN, "content-type": "application/json" },
        body: JSON.stringify(patch),
      });
      expect(res.status, JSON.stringify(patch)).toBe(400);
      const body = await res.json<ErrorJson>();
      expect(body.error.code).toBe("invalid_body");
      const fields = (body.error.fields ?? []).map((f) => f.field);
      expect(fields, JSON.stringify(patch)).toContain(field);
      for (const f of body.error.fields ?? []) expect(f.message.length).toBeGreaterThan(0);
    }
    expect(await getConfig(room)).toEqual(before);
    const auditAfter = await (
      await call(`/_spillway/admin/rooms/${room}/audit`, { headers: { authorization: ADMIN } })
    ).json<{ entries: unknown[] }>();
    expect(auditAfter.entries).toEqual(auditBefore.entries);
    // The room runs as before: a host still has the stage and its reserve.
    expect((await joinAs(room, await token({ role: "host" }))).body).toMatchObject({
      state: "admitted",
      lane: "stage",
    });
  });

  it("puts a host in the general line when the room's secret is not set (lanes fail closed), general listeners unaffected", async () => {
    const room = roomName("lanes-unset");
    expect((env as unknown as Record<string, unknown>).IDENTITY_NOT_SET_ANYWHERE).toBeUndefined();
    await patchRoom(room, {
      capacity: 3,
      lanes: { stage: { reserved: 1, lend: false }, priority: {} },
      identity: identity("IDENTITY_NOT_SET_ANYWHERE"),
    });
    const host = await joinAs(room, await token({ role: "host" }));
    expect(host.res.status).toBe(200);
    expect(host.body.state).toBe("admitted");
    expect("lane" in host.body).toBe(false);
    expect(passClaims(host.body.pass!).shard).toBeLessThan(LANE_BLOCK);
    const plain = await join(room);
    expect(plain.body.state).toBe("admitted");
    expect("lane" in plain.body).toBe(false);
    // The stage's reserve stays the stage's: the third general arrival waits.
    const third = await joinAs(room, await token({ role: "host" }));
    expect(third.body).toMatchObject({ state: "queued", position: 1 });
    expect(third.body.lane).toBeUndefined();
    const s = await stats(room);
    expect(s.joined).toBe(3);
    expect(s.active).toBe(2);

    // Invite-only as well: without its keys nobody is a lane listener, so a host is offered the recording.
    await patchRoom(room, { inviteOnly: true });
    advance(t.clock, 1_100);
    const refused = await joinAs(room, await token({ role: "host" }));
    expect(refused.body).toMatchObject({ state: "overflow", offer: { reason: "invite_only" } });
  });
});

describe("lanes config changes (real time)", () => {
  /** Join until `done` holds for the answer; the real time it took, from `since`. */
  async function within(since: number, attempt: () => Promise<Status>, done: (s: Status) => boolean) {
    let last: Status | null = null;
    while (Date.now() - since < 5_000) {
      last = await attempt();
      if (done(last)) return { delayMs: Date.now() - since, last };
      await new Promise((r) => setTimeout(r, 50));
    }
    return { delayMs: Infinity, last };
  }

  it("applies a change of lanes and inviteOnly to the next joins within 2 s", async () => {
    const room = roomName("lanes-change");
    const token = (claims: Record<string, unknown>) => signed(Date.now(), claims);
    await patchRoom(room, { capacity: 100, lanes: { stage: { reserved: 2 }, priority: {} }, identity: identity() });
    const first = (await join(room)).body;
    expect(first.state, `the first join of an empty room: ${JSON.stringify(first)}`).toBe("admitted");
    expect((await joinAs(room, await token({ role: "host" }))).body.lane).toBe("stage");

    let since = Date.now();
    await patchRoom(room, { inviteOnly: true });
    const closed = await within(
      since,
      async () => (await join(room)).body,
      (s) => s.state === "overflow",
    );
    expect(closed.last?.offer?.reason).toBe("invite_only");
    expect(closed.delayMs).toBeLessThanOrEqual(2_000);

    // The stage lane removed: a host's token names a lane the room no longer has, so the host is
    // a general arrival, and the room admits only its priority listeners.
    since = Date.now();
    await patchRoom(room, { lanes: { priority: {} } });
    const noStage = await within(
      since,
      async () => (await joinAs(room, await token({ role: "host" }))).body,
      (s) => s.state === "overflow",
    );
    expect(noStage.delayMs).toBeLessThanOrEqual(2_000);
    // A priority listener still has its lane (seated at once, or first in its line until a shard syncs).
    const premium = (await joinAs(room, await token({ tier: "premium" }))).body;
    expect(premium.lane).toBe("priority");
    expect(["admitted", "queued"]).toContain(premium.state);

    since = Date.now();
    await patchRoom(room, { inviteOnly: false, lanes: { stage: { reserved: 1 }, priority: {} } });
    // One change, two effects: each attempt asks both ways, so neither's delay counts the other's wait.
    let open: Status | null = null;
    let back: Status | null = null;
    const reopened = await within(
      since,
      async () => {
        if (open?.state !== "admitted") open = (await join(room)).body;
        if (back?.lane !== "stage") back = (await joinAs(room, await token({ role: "host" }))).body;
        return { ...open, lane: back.lane };
      },
      (s) => s.state === "admitted" && s.lane === "stage",
    );
    expect(reopened.delayMs).toBeLessThanOrEqual(2_000);
    // The host is in the stage lane again: seated at once, or first in its line until its shard
    // syncs the lane's seats (as the priority listener above).
    expect(back).toMatchObject({ lane: "stage" });
    expect(["admitted", "queued"]).toContain(back!.state);
  }, 30_000);
});

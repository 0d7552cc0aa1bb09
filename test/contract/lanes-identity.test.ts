/**
 * Lanes from a platform's own login, end to end: `npm start` (wrangler dev,
 * workerd) with a room whose identity settings point at a JWKS served by a
 * Node server on 127.0.0.1. The Worker fetches the key set once and serves
 * later joins from its cache; a key the platform rotates in is picked up
 * without a restart (an unknown `kid` makes the Worker fetch again, at most
 * once per 30 s per URL, jwks-cache.ts MIN_FETCH_INTERVAL_MS, so the test
 * waits out that limit once, starting a second Worker meanwhile); and with
 * the JWKS unreachable, a fresh Worker puts a host in the general line (lanes
 * fail closed) while general listeners join as ever.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIN_FETCH_INTERVAL_MS } from "../../src/tokens/jwks-cache.ts";
import { adminCall, type ErrorJson, send, statusJson, type StatusJson } from "./support/http.ts";
import { type JwksServer, type SigningKey, signingKey, startJwksServer, stoppedJwksUrl } from "./support/jwks.ts";
import { type RunningWorker, startWorker, workerLogs } from "./support/worker.ts";

const ROOM = "lanes-jwks";
const ISSUER = "https://login.example.com/";
const AUDIENCE = "spillway";

/** A join's answer: the status JSON (with the listener's lane, if any) or an error. */
type Joined = StatusJson & { lane?: string | null } & Partial<ErrorJson> & {
    error?: { identity?: string };
  };

let jwks: JwksServer | undefined;
let worker: RunningWorker | undefined;
let keyA: SigningKey;
let keyB: SigningKey;
/** When the Worker had first fetched the key set (the end of the join that made it). */
let firstFetchAt = 0;

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([signingKey("key-a"), signingKey("key-b")]);
  jwks = await startJwksServer([keyA.jwk]);
  worker = await startWorker({ adminToken: `adm-${crypto.randomUUID()}` });
});

afterAll(async () => {
  await worker?.stop();
  await jwks?.close();
});

function w(): RunningWorker {
  if (worker === undefined) throw new Error("the Worker did not start");
  return worker;
}

function server(): JwksServer {
  if (jwks === undefined) throw new Error("the JWKS server did not start");
  return jwks;
}

/** The room's settings: `role: host` is on stage, `tier: premium` has priority; keys from `jwksUrl`. */
function lanesConfig(jwksUrl: string, extra: Record<string, unknown> = {}) {
  return {
    capacity: 20,
    lanes: { stage: { reserved: 2 }, priority: {} },
    identity: {
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: { jwksUrl },
      lanes: [
        { lane: "stage", claim: "role", anyOf: ["host"] },
        { lane: "priority", claim: "tier", anyOf: ["premium"] },
      ],
    },
    ...extra,
  };
}

async function configure(target: RunningWorker, room: string, patch: unknown): Promise<void> {
  const res = await adminCall(target.url, target.adminToken, "PATCH", `/rooms/${room}`, patch);
  expect(res.status, res.text).toBe(200);
}

/** A join, with an identity token in the `Spillway-Identity` header (or the platform's cookie) when given. */
async function joinWith(target: RunningWorker, room: string, token?: string, via: "header" | "cookie" = "header") {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token !== undefined && via === "header") headers["spillway-identity"] = token;
  if (token !== undefined && via === "cookie") headers.cookie = `spillway_identity=${token}`;
  return send<Joined>(`${target.url}/_spillway/rooms/${room}/join`, { method: "POST", headers });
}

async function joinedCount(target: RunningWorker, room: string): Promise<number> {
  const res = await adminCall<{ joined: number }>(target.url, target.adminToken, "GET", `/rooms/${room}/stats`);
  expect(res.status).toBe(200);
  return res.json.joined;
}

/**
 * Seated at its join, or at one of its polls in the seconds after (when the
 * sync a join asks for fails, as it may on a loaded machine, the listener
 * waits in line and is called at a later round). What the test below is
 * about is the line a listener joins, and that it gets one of the free seats.
 */
async function seatedSoon(target: RunningWorker, joined: Joined): Promise<boolean> {
  if (joined.state === "admitted") return true;
  if (joined.state !== "queued" || joined.ticket === undefined) return false;
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    const polled = await statusJson(target.url, ROOM, joined.ticket);
    if (polled.json.state === "admitted") {
      console.log(`queued at its join, seated at a poll; the Worker said:\n${workerLogs(target).slice(-4_000)}`);
      return true;
    }
  }
  return false;
}

const host = (key: SigningKey) => key.sign({ iss: ISSUER, aud: AUDIENCE, role: "host" });

describe("lanes from a platform's JWKS, over HTTP", () => {
  it("fetches the key set once and serves later joins from its cache", async () => {
    await configure(w(), ROOM, lanesConfig(server().url));
    // The room's settings alone fetch nothing: the first identity token does.
    expect(server().fetches()).toBe(0);

    const first = await joinWith(w(), ROOM, await host(keyA));
    // The fetch was made during that join: by now at the latest.
    firstFetchAt = Date.now();
    expect(first.status, first.text).toBe(200);
    expect(first.json).toMatchObject({ state: "admitted", lane: "stage" });
    expect(server().fetches()).toBe(1);

    const later = [
      await joinWith(w(), ROOM, await host(keyA)),
      await joinWith(w(), ROOM, await keyA.sign({ iss: ISSUER, aud: AUDIENCE, tier: "premium" })),
      await joinWith(w(), ROOM, await keyA.sign({ iss: ISSUER, aud: AUDIENCE, role: "listener" })),
      await joinWith(w(), ROOM),
    ];
    expect(later.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(later.map((r) => r.json.lane)).toEqual(["stage", "priority", undefined, undefined]);

    // A key the platform never published, under a published kid: refused from the cached set.
    const impostor = await signingKey("key-a");
    const forged = await joinWith(w(), ROOM, await host(impostor));
    expect(forged.status).toBe(401);
    expect(forged.json.error).toMatchObject({ code: "identity_refused", identity: "bad_signature" });
    // A kid not in the set, within 30 s of the fetch: no fetch for it, refused as an unknown key.
    const early = await joinWith(w(), ROOM, await host(keyB));
    expect(early.status).toBe(401);
    expect(early.json.error).toMatchObject({ code: "identity_refused", identity: "unknown_key" });

    // The platform's cookie: its host is on stage; an expired token there leaves the browser in the general line.
    const cookieHost = await joinWith(w(), ROOM, await host(keyA), "cookie");
    expect(cookieHost.json.lane).toBe("stage");
    const expired = await keyA.sign({
      iss: ISSUER,
      aud: AUDIENCE,
      role: "host",
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const stale = await joinWith(w(), ROOM, expired, "cookie");
    expect(stale.status).toBe(200);
    expect(stale.json.lane).toBeUndefined();

    expect(server().fetches()).toBe(1);
    expect(await joinedCount(w(), ROOM)).toBe(7);
  });

  it("puts a host in the general line when the JWKS cannot be reached (a fresh Worker), general listeners unaffected", async () => {
    // Started while the first Worker's fetch limit runs out (the next test waits for it).
    const url = await stoppedJwksUrl();
    const fresh = await startWorker({ adminToken: `adm-${crypto.randomUUID()}` });
    try {
      await configure(fresh, ROOM, lanesConfig(url, { capacity: 3 }));
      // The joins themselves are quick: none waits on the unreachable key set more than once.
      let joining = 0;
      const timed = async <T>(join: Promise<T>): Promise<T> => {
        const at = Date.now();
        const out = await join;
        joining += Date.now() - at;
        return out;
      };
      const hostJoin = await timed(joinWith(fresh, ROOM, await host(keyA)));
      expect(hostJoin.status, hostJoin.text).toBe(200);
      expect(hostJoin.json.lane).toBeUndefined();
      expect(await seatedSoon(fresh, hostJoin.json), workerLogs(fresh)).toBe(true);
      const general = await timed(joinWith(fresh, ROOM));
      expect(general.status).toBe(200);
      expect(general.json.lane).toBeUndefined();
      expect(await seatedSoon(fresh, general.json)).toBe(true);
      // Another host meanwhile: the JWKS is not asked again (one fetch per 30 s); general line again.
      const again = await timed(joinWith(fresh, ROOM, await host(keyA)));
      expect(again.status).toBe(200);
      expect(again.json.lane).toBeUndefined();
      expect(joining).toBeLessThan(10_000);
      expect(await joinedCount(fresh, ROOM)).toBe(3);

      // Invite-only: without the platform's keys nobody is a lane listener, so the host is offered the recording.
      await configure(fresh, ROOM, { inviteOnly: true, recordingUrl: "https://example.com/recording" });
      await new Promise((r) => setTimeout(r, 1_100));
      const shut = await joinWith(fresh, ROOM, await host(keyA));
      expect(shut.status).toBe(200);
      expect(shut.json).toMatchObject({ state: "overflow", offer: { reason: "invite_only" } });
    } finally {
      await fresh.stop();
    }
    // The first Worker's JWKS was not asked for anything by this one.
    expect(server().fetches()).toBe(1);
  });

  it("picks up a key rotated into the JWKS without a restart, and drops the one rotated out", async () => {
    expect(firstFetchAt).toBeGreaterThan(0);
    // The platform rotates: key B in, key A out.
    server().serve([keyB.jwk]);
    const limitEnds = firstFetchAt + MIN_FETCH_INTERVAL_MS + 250;
    await new Promise((r) => setTimeout(r, Math.max(0, limitEnds - Date.now())));

    const rotated = await joinWith(w(), ROOM, await host(keyB));
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.json).toMatchObject({ state: "admitted", lane: "stage" });
    expect(server().fetches()).toBe(2);
    // Cached again: more joins with key B fetch nothing.
    const premium = await joinWith(w(), ROOM, await keyB.sign({ iss: ISSUER, aud: AUDIENCE, tier: "premium" }));
    expect(premium.json.lane).toBe("priority");
    // Key A is no longer published: its tokens are refused, and ask for no fetch within the limit.
    const retired = await joinWith(w(), ROOM, await host(keyA));
    expect(retired.status).toBe(401);
    expect(retired.json.error).toMatchObject({ code: "identity_refused", identity: "unknown_key" });
    expect(server().fetches()).toBe(2);
    expect(await joinedCount(w(), ROOM)).toBe(9);
  });
});

/**
 * Invariant 6, replayed: every request of the committed hostile-input corpus
 * (test/corpus/hostile-requests.json) gets the 4xx the corpus expects, with
 * the JSON error shape and the expected code, never a 5xx; none hands out a
 * token; and afterwards both rooms' stats, config and audit are exactly as
 * they were.
 */
import { env, exports } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock, setClock } from "../../src/policy/clock.ts";
import { forgetViews } from "../../src/edge/view-cache.ts";
import type { RoomStats } from "../../src/contract/schemas.ts";
import corpusJson from "../corpus/hostile-requests.json";
import {
  CATEGORIES,
  type CorpusEntry,
  type Materials,
  materialize,
  parseCorpus,
  signingKeys,
} from "./corpus-tokens.ts";
import { ADMIN, call, type ErrorJson, getConfig, join, patchRoom, roomName, stats, useManualClock } from "./helpers.ts";

const corpus = parseCorpus(corpusJson as unknown);
const t = useManualClock();

/** The one instant every request of the replay happens at. */
let T0 = 0;
const room = roomName("hostile");
const room2 = roomName("hostile2");
let materials: Materials;

interface Snapshot {
  stats: RoomStats;
  config: unknown;
  audit: unknown;
}

async function audit(r: string): Promise<unknown> {
  const res = await call(`/_spillway/admin/rooms/${r}/audit`, { headers: { authorization: ADMIN } });
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * What must not change. Every stats field is compared, with one exception:
 * `doCalls` counts the Durable Object calls the room has served, and taking
 * a snapshot is itself such calls (the admin reads and each shard's sync
 * before exact stats), as are the shards' alarms, which run on their own
 * schedule. So `admin`, `sync` and `alarm` calls are left out, and every
 * other kind (join, claim, renew, leave, view, overflow, origin) must stay
 * exactly as it was: a hostile request must never reach a room's state.
 * Nothing else is time-dependent: the clock is pinned to T0 for the setup,
 * every replayed request and the final snapshot.
 */
async function snapshot(r: string): Promise<Snapshot> {
  const s = await stats(r);
  const { admin: _admin, sync: _sync, alarm: _alarm, ...doCalls } = s.doCalls;
  return { stats: { ...s, doCalls }, config: await getConfig(r), audit: await audit(r) };
}

/**
 * Let the rooms' bookkeeping settle before the first snapshot: the first
 * exact-stats read after the joins syncs each shard, and at that sync the
 * coordinator takes back the spare seats it had lent a shard while arrivals
 * were coming (`allowance` drops to the seats held). That is the reading, not
 * a listener, changing the numbers, so the snapshot is taken once two reads
 * in a row agree.
 */
async function settle(r: string): Promise<void> {
  let last = JSON.stringify(await snapshot(r));
  for (let i = 0; i < 5; i++) {
    const next = JSON.stringify(await snapshot(r));
    if (next === last) return;
    last = next;
  }
  throw new Error(`room ${r} never settled`);
}

/** A listener's tokens, from a real join. */
async function listener(r: string): Promise<{ ticket: string; pass?: string; state: string }> {
  const { res, body } = await join(r);
  expect(res.status).toBe(200);
  return { ticket: body.ticket!, pass: body.pass, state: body.state };
}

let before: { room: Snapshot; room2: Snapshot };

beforeAll(async () => {
  T0 = Date.now();
  setClock(new ManualClock(T0));
  try {
    // Room 1: one seat, held; one listener waiting. Room 2: one seat held, one free.
    await patchRoom(room, { capacity: 1, admitPerMinute: 60 });
    await patchRoom(room2, { capacity: 2 });
    const seated = await listener(room);
    const queued = await listener(room);
    const other = await listener(room2);
    expect([seated.state, queued.state, other.state]).toEqual(["admitted", "queued", "admitted"]);
    const readOnly = (
      JSON.parse((env as Env & { ADMIN_TOKENS?: string }).ADMIN_TOKENS ?? "[]") as { token: string; access: string }[]
    ).find((tk) => tk.access === "read");
    materials = {
      room,
      room2,
      now: T0,
      issuer: env.TOKEN_ISSUER || "spillway",
      adminToken: env.ADMIN_TOKEN,
      readOnlyToken: readOnly!.token,
      real: {
        "real:ticket": seated.ticket,
        "real:pass": seated.pass!,
        "real:queued": queued.ticket,
        "real2:ticket": other.ticket,
        "real2:pass": other.pass!,
      },
      keys: await signingKeys(env),
    };
    await settle(room);
    await settle(room2);
    before = { room: await snapshot(room), room2: await snapshot(room2) };
  } finally {
    setClock(null);
    forgetViews();
  }
});

afterAll(() => {
  setClock(null);
});

/** A Set-Cookie that hands out a token (rather than clearing one). */
function handsOutToken(setCookie: string): boolean {
  const [pair = ""] = setCookie.split(";");
  const value = pair.slice(pair.indexOf("=") + 1).trim();
  return /spillway-/i.test(pair) && value !== "" && !/max-age=0\b/i.test(setCookie);
}

async function replay(entry: CorpusEntry): Promise<void> {
  const label = `${entry.category} / ${entry.name}`;
  const { url, init } = await materialize(entry, materials);
  const res = await exports.default.fetch(url, init);
  const text = await res.text();
  const shown = `${label}: ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, `${shown} (a 5xx is Spillway's own fault)`).toBeLessThan(500);
  expect(res.status, shown).toBe(entry.expect);
  expect(res.headers.get("content-type"), shown).toMatch(/^application\/json\b/);
  let body: ErrorJson;
  try {
    body = JSON.parse(text) as ErrorJson;
  } catch {
    throw new Error(`${label}: the body is not JSON: ${text.slice(0, 300)}`);
  }
  expect(body, shown).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  expect(body.error.code, shown).toBe(entry.code);
  expect(body.error.message.length, shown).toBeGreaterThan(0);
  expect(res.headers.getSetCookie().filter(handsOutToken), `${label} handed out a token`).toEqual([]);
}

describe("the hostile-input corpus", () => {
  it("has at least 200 entries, every category represented", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    const seen = new Set(corpus.map((e) => e.category));
    for (const category of CATEGORIES) expect(seen.has(category), `no ${category} entry`).toBe(true);
  });

  describe("every entry is refused with its 4xx and the JSON error shape", () => {
    for (const entry of corpus) {
      const test = entry.knownBug !== undefined ? it.skip : it;
      test(`${entry.category}: ${entry.name} → ${entry.expect} ${entry.code}`, async () => {
        t.clock.set(T0);
        forgetViews();
        await replay(entry);
      });
    }
  });

  it("leaves both rooms' stats, config and audit exactly as they were", async () => {
    t.clock.set(T0);
    forgetViews();
    expect(await snapshot(room)).toEqual(before.room);
    expect(await snapshot(room2)).toEqual(before.room2);
  });
});

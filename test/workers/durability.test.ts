import { abortAllDurableObjects, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { forgetViews } from "../../src/edge/view-cache.ts";
import {
  getConfig,
  heartbeat,
  join,
  passClaims,
  patchRoom,
  roomName,
  shardStub,
  stats,
  type Status,
  status,
  useManualClock,
  statusHolding,
} from "./helpers.ts";

const t = useManualClock();

const MARK = Symbol.for("spillway-test-instance-mark");

/** Tag the running instance, to tell afterwards whether a fresh one took over. */
async function markInstance(room: string): Promise<void> {
  await runInDurableObject(shardStub(room), (instance) => {
    (instance as unknown as Record<symbol, boolean>)[MARK] = true;
  });
}

async function isMarked(room: string): Promise<boolean> {
  return runInDurableObject(shardStub(room), (instance) => {
    return (instance as unknown as Record<symbol, boolean>)[MARK] === true;
  });
}

/** Two seats held, two listeners waiting at positions 1 and 2. */
async function busyRoom(room: string) {
  await patchRoom(room, { capacity: 2, admitPerMinute: 120 });
  const bodies: Status[] = [];
  for (let i = 0; i < 4; i++) bodies.push((await join(room)).body);
  expect(bodies.map((b) => b.state)).toEqual(["admitted", "admitted", "queued", "queued"]);
  return bodies;
}

/** Everything the room knew before the restart is still there after it. */
async function expectNothingLost(room: string, bodies: Status[]) {
  // The edge must ask the Room again, not answer from its cached view.
  forgetViews();

  const config = await getConfig(room);
  expect(config.config.capacity).toBe(2);
  expect(config.config.admitPerMinute).toBe(120);
  expect(config.overrides).toEqual({ capacity: 2, admitPerMinute: 120 });

  const s = await stats(room);
  expect(s).toMatchObject({ active: 2, capacity: 2, queued: 2, joined: 4, admittedTotal: 2 });

  const third = await status(room, bodies[2]!.ticket!);
  expect(third.body).toMatchObject({ state: "queued", position: 1, ahead: 0 });
  const fourth = await status(room, bodies[3]!.ticket!);
  expect(fourth.body).toMatchObject({ state: "queued", position: 2, ahead: 1 });

  // The leases survive: a heartbeat renews the same seat, a retried claim from its device finds it.
  const sid = passClaims(bodies[0]!.pass!).sid;
  const renewed = await heartbeat(room, bodies[0]!.pass!);
  expect(renewed.status).toBe(200);
  expect(passClaims((await renewed.json<Status>()).pass!).sid).toBe(sid);
  const reclaimed = await statusHolding(room, bodies[1]!.ticket!, bodies[1]!.pass!);
  expect(reclaimed.body.state).toBe("admitted");
  expect(passClaims(reclaimed.body.pass!).sid).toBe(passClaims(bodies[1]!.pass!).sid);

  // New arrivals continue the same line.
  const fifth = await join(room);
  expect(fifth.body).toMatchObject({ state: "queued", position: 3 });
  expect((await stats(room)).active).toBe(2);
}

describe("nothing lost across restarts", () => {
  it("keeps config, places in line and leases when the Room is evicted", async () => {
    const room = roomName("dur-evict");
    const bodies = await busyRoom(room);
    await markInstance(room);
    expect(await isMarked(room)).toBe(true);

    await evictDurableObject(shardStub(room));
    expect(await isMarked(room)).toBe(false);

    await expectNothingLost(room, bodies);
  });

  it("keeps config, places in line and leases when every Durable Object is restarted", async () => {
    const room = roomName("dur-abort");
    const bodies = await busyRoom(room);
    await markInstance(room);

    await abortAllDurableObjects();
    expect(await isMarked(room)).toBe(false);

    await expectNothingLost(room, bodies);
  });

  it("keeps the lease expiry alarm across an eviction", async () => {
    const room = roomName("dur-alarm");
    const bodies = await busyRoom(room);
    await evictDurableObject(shardStub(room));

    // Nobody heartbeats: after the pass lifetime the alarm of the new instance ends both leases.
    t.clock.advance(Number(env.PASS_TTL_SECONDS) * 1000 + 1_000);
    expect(await runDurableObjectAlarm(shardStub(room))).toBe(true);
    const s = await stats(room);
    expect(s.active).toBe(0);
    expect(s.expired).toBe(2);
    expect(s.called).toBe(2);
    forgetViews();
    expect((await status(room, bodies[2]!.ticket!)).body.state).toBe("admitted");
    expect((await status(room, bodies[3]!.ticket!)).body.state).toBe("admitted");
  });
});

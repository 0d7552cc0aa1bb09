import { describe, expect, it } from "vitest";
import { CONFIRM_AFTER_MS } from "../../src/policy/pass-trust.ts";
import { advance, join, leave, passClaims, patchRoom, roomName, stats, status, useManualClock } from "./helpers.ts";

const t = useManualClock();

interface Listener {
  batch: number;
  shard: number;
  ticket: string;
  pass?: string;
  /** The step at which the listener got its pass. */
  admittedAt?: number;
  left?: boolean;
}

describe("a room with several shards", () => {
  it("spreads listeners over shards, holds the cap across them and admits in arrival order", async () => {
    const room = roomName("shards");
    await patchRoom(room, { capacity: 6, shards: 4 });
    const listeners: Listener[] = [];
    const holders = new Set<string>();
    let step = 0;

    const check = async () => {
      const s = await stats(room);
      expect(s.active).toBeLessThanOrEqual(6);
      expect(s.allowance).toBeLessThanOrEqual(6);
      expect(listeners.filter((l) => l.pass !== undefined && !l.left).length).toBeLessThanOrEqual(6);
      return s;
    };
    const admitted = (l: Listener, pass: string) => {
      const sid = passClaims(pass).sid;
      expect(holders.has(sid)).toBe(false);
      holders.add(sid);
      l.pass = pass;
      l.admittedAt = step;
    };
    /**
     * Waiting listeners poll (and claim when called), as the waiting page does.
     * Passes repeat until one seats nobody, so a call made by a shard's own
     * alarm halfway through a pass is still counted in this step.
     */
    const pollAll = async () => {
      step++;
      for (let seated = true; seated;) {
        seated = false;
        for (const l of listeners) {
          if (l.admittedAt !== undefined) continue;
          const { body } = await status(room, l.ticket);
          if (body.state === "admitted") {
            admitted(l, body.pass!);
            seated = true;
          } else expect(body.state).toBe("queued");
        }
      }
      await check();
    };

    // Five batches of six, each more than a second after the last.
    for (let batch = 0; batch < 5; batch++) {
      step++;
      const joined = await Promise.all(Array.from({ length: 6 }, () => join(room)));
      for (const { body } of joined) {
        const shard = (JSON.parse(atob(body.ticket!.split(".")[1]!)) as { shard: number }).shard;
        const l: Listener = { batch, shard, ticket: body.ticket! };
        listeners.push(l);
        if (body.state === "admitted") admitted(l, body.pass!);
      }
      advance(t.clock, 1_100);
      await check();
      await pollAll();
    }
    expect(new Set(listeners.map((l) => l.shard)).size).toBeGreaterThan(1);

    // Everyone seated leaves; the seats go to the next in line.
    for (let round = 0; round < 30 && listeners.some((l) => l.admittedAt === undefined); round++) {
      for (const l of listeners) {
        if (l.pass !== undefined && !l.left) {
          expect((await leave(room, l.pass)).status).toBe(200);
          l.left = true;
        }
      }
      // Shards report about every second (here: through the stats call).
      for (let waited = 0; waited <= CONFIRM_AFTER_MS + 2_000; waited += 1_100) {
        advance(t.clock, 1_100);
        await check();
      }
      await pollAll();
    }

    expect(listeners.every((l) => l.admittedAt !== undefined)).toBe(true);
    // Arrival order, a batch at a time (batches are more than a second apart).
    for (const a of listeners) {
      for (const b of listeners) {
        if (a.batch < b.batch) expect(a.admittedAt!).toBeLessThanOrEqual(b.admittedAt!);
      }
    }
    const s = await check();
    expect(s.shardIndices.length).toBeGreaterThan(1);
    expect(s.joined).toBe(30);
    expect(s.admittedTotal).toBe(30);
    // Some 400 requests and as many Durable Object calls: seconds on a busy machine.
  }, 30_000);
});

/**
 * The held-stream case: what a connected listener costs while it listens.
 *
 * Opens `listeners` endless streams through Spillway (each with its own
 * pass), keeps them open for `seconds` with no heartbeat at all, and counts
 * the room's Durable Object calls in that time: the seats' own hold rounds
 * (src/edge/seat-tie.ts) per listener, and the shard's syncs and alarms,
 * which do not grow with the audience, apart. Every stream must still be flowing at the end:
 * an entitled listener is never cut. Cost at list prices (sim/cost.ts):
 * Durable Object requests and the SQLite rows each round writes; the
 * shard's duration is per object, not per listener, and is given apart.
 */
import { request } from "node:http";
import { PRICES } from "../../sim/cost.ts";
import { callsBetween, type Rooms } from "./rooms.ts";

/** Rows one hold round writes: the lease, the ledger's counters, the call count. */
export const ROWS_WRITTEN_PER_ROUND = 3;

export interface HeldResult {
  listeners: number;
  seconds: number;
  /** Streams that ended before the end of the window (should be none). */
  cut: number;
  /** The fewest bytes any stream received. */
  minBytes: number;
  /** Every call the room's objects took in the window, and by kind. */
  calls: number;
  byKind: Record<string, number>;
  callsPerListenerMinute: number;
  /** DO requests and rows written, per million listener-hours, in USD. */
  costPerMillionListenerHoursUsd: number;
  /** One shard object kept awake for an hour, in USD (shared by all its listeners). */
  shardHourUsd: number;
}

interface Stream {
  bytes: number;
  ended: boolean;
  close(): void;
}

function open(url: string, pass: string): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { authorization: `Bearer ${pass}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`held stream answered ${res.statusCode}`));
        res.resume();
        return;
      }
      const s: Stream = { bytes: 0, ended: false, close: () => req.destroy() };
      res.on("data", (c: Buffer) => (s.bytes += c.length));
      res.on("close", () => (s.ended = true));
      resolve(s);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Run the case; `progress` hears what it is doing. */
export async function measureHeld(
  base: string,
  rooms: Rooms,
  room: string,
  listeners: number,
  seconds: number,
  progress: (m: string) => void,
): Promise<HeldResult> {
  await rooms.configure(room, { capacity: listeners, admitPerMinute: 60_000, mode: "open" });
  const admitted = await rooms.joinMany(room, listeners, "admitted");
  const streams = await Promise.all(admitted.map((a) => open(`${base}/rooms/${room}/stream.mp3`, a.pass!)));
  progress(`  ${listeners} streams open; holding them ${seconds} s without heartbeats`);
  const before = await rooms.doCalls(room);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const after = await rooms.doCalls(room);
  const cut = streams.filter((s) => s.ended).length;
  const minBytes = Math.min(...streams.map((s) => s.bytes));
  for (const s of streams) s.close();
  const { total: calls, byKind } = callsBetween(before, after);
  // The connections' own calls (hold rounds and goodbyes); the room's syncs and alarms
  // run per shard whatever its audience, and are reported apart.
  const callsPerListenerMinute = (byKind.hold ?? 0) / listeners / (seconds / 60);
  const perListenerHour = callsPerListenerMinute * 60;
  const costPerMillionListenerHoursUsd =
    perListenerHour * (PRICES.doRequestPerMillion + ROWS_WRITTEN_PER_ROUND * PRICES.rowWrittenPerMillion);
  const shardHourUsd = (PRICES.doGbSecondPerMillion / 1e6) * PRICES.doMemoryGb * 3600;
  return {
    listeners,
    seconds,
    cut,
    minBytes,
    calls,
    byKind,
    callsPerListenerMinute,
    costPerMillionListenerHoursUsd,
    shardHourUsd,
  };
}

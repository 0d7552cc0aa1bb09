/**
 * What an event costs on Cloudflare at list prices (usage beyond the
 * plan's included amounts; the included amounts are left out, so this is
 * the marginal cost of the event):
 *
 *   Workers requests        $0.30 per million  (every listener request: join, waiting poll, claim, heartbeat, leave)
 *   Durable Object requests $0.15 per million  (joins, claims, heartbeats, leaves, edge view reads, shard syncs)
 *   Durable Object duration $12.50 per million GB-s, 128 MB per object while active
 *                           (every shard and the coordinator are active the whole event: they get requests every second)
 *   SQLite rows read        $0.001 per million
 *   SQLite rows written     $1.00 per million
 *
 *   cost = 0.30e-6 × workerRequests + 0.15e-6 × doRequests
 *        + 12.50e-6 × (shards + 1) × 0.128 GB × eventSeconds
 *        + 0.001e-6 × rowsRead + 1.00e-6 × rowsWritten
 *
 * and per million listeners: cost × 1e6 / listeners.
 */

export const PRICES = {
  workerRequestPerMillion: 0.3,
  doRequestPerMillion: 0.15,
  doGbSecondPerMillion: 12.5,
  doMemoryGb: 0.128,
  rowReadPerMillion: 0.001,
  rowWrittenPerMillion: 1.0,
};

export interface Usage {
  workerRequests: number;
  doRequests: number;
  /** Durable Objects active for the whole event (shards + coordinator). */
  objects: number;
  eventSeconds: number;
  rowsRead: number;
  rowsWritten: number;
}

export interface Cost {
  workersUsd: number;
  doRequestsUsd: number;
  doDurationUsd: number;
  rowsReadUsd: number;
  rowsWrittenUsd: number;
  totalUsd: number;
}

export function costOf(u: Usage): Cost {
  const p = PRICES;
  const workersUsd = (u.workerRequests * p.workerRequestPerMillion) / 1e6;
  const doRequestsUsd = (u.doRequests * p.doRequestPerMillion) / 1e6;
  const doDurationUsd = (u.objects * p.doMemoryGb * u.eventSeconds * p.doGbSecondPerMillion) / 1e6;
  const rowsReadUsd = (u.rowsRead * p.rowReadPerMillion) / 1e6;
  const rowsWrittenUsd = (u.rowsWritten * p.rowWrittenPerMillion) / 1e6;
  return {
    workersUsd,
    doRequestsUsd,
    doDurationUsd,
    rowsReadUsd,
    rowsWrittenUsd,
    totalUsd: workersUsd + doRequestsUsd + doDurationUsd + rowsReadUsd + rowsWrittenUsd,
  };
}

/** Cost per million of `n` (listeners, or admitted listeners). */
export function perMillion(cost: Cost, n: number): number {
  return n === 0 ? 0 : (cost.totalUsd * 1e6) / n;
}

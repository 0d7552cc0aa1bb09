/**
 * The simulated events: who arrives when, what the room allows, and what
 * goes wrong. Arrival curves are per second; counts are made whole by
 * carrying the fractions over, so a scenario's total is exact and the same
 * for every seed (the seed moves arrivals within their second, network
 * delays, poll jitter, listening times and patience).
 */
import type { LaneModel } from "./lines.ts";
import type { MassLeaveModel } from "./mass-leave.ts";
import { melting, type OriginModel } from "./origin.ts";
import type { OverflowModel } from "./overflow.ts";

export interface Scenario {
  name: string;
  summary: string;
  /**
   * Listeners one simulated listener stands for (1: every listener is
   * simulated). With a cohort of w, capacity, the admission rate and arrivals
   * are divided by w, and every count that listeners drive (listeners, seats,
   * joins, claims, heartbeats, leaves, waiting polls, their SQLite rows) is
   * multiplied back by w; syncs, alarms and view reads are not scaled.
   */
  cohort: number;
  /** Default shard count, and why. */
  shards: number;
  shardsWhy: string;
  capacity: number;
  admitPerMinute: number;
  /** Arrivals per second at second `s` (before rounding), for `s` in [0, arrivalSeconds). */
  rate: (s: number) => number;
  arrivalSeconds: number;
  /** Simulated time in all, from the first arrival. */
  durationSeconds: number;
  passTtlMs: number;
  claimWindowMs: number;
  /** Mean listening time of an admitted listener (exponential); most leave after it (Infinity: nobody leaves on their own). */
  meanListenSeconds: number;
  /** Share of waiting listeners who give up, after an exponential time of this mean. */
  impatient: { share: number; meanSeconds: number };
  /** Capacity changes by ops during the event. */
  capacityChanges: { atSecond: number; capacity: number }[];
  /** One shard cut off from the coordinator for a while (its sync requests and replies are lost). */
  outage: { shard: number; fromSecond: number; toSecond: number } | null;
  /** The origin, its 503s and the edge's reports of them (null: the origin always copes). */
  origin: OriginModel | null;
  /** Rules for a full room (maxWaitSeconds...) and how listeners take the recording (null: no rules). */
  overflow: OverflowModel | null;
  /** Everyone seated leaves at once, and left listeners keep presenting their passes (null: none; see mass-leave.ts). */
  massLeave: MassLeaveModel | null;
  /** Lanes of the room and each one's share of arrivals (absent or null: everyone in the general line; see lines.ts). */
  lanes?: LaneModel | null;
}

const MINUTE = 60;

/** A crowd that builds up over `rampS` seconds, then thins out towards a floor. */
function surge(total: number, seconds: number, rampS: number, decayS: number, floor: number): (s: number) => number {
  const shape = (s: number) => Math.min(1, (s + 0.5) / rampS) * (floor + (1 - floor) * Math.exp(-s / decayS));
  let sum = 0;
  for (let s = 0; s < seconds; s++) sum += shape(s);
  return (s) => (total * shape(s)) / sum;
}

export const SCENARIOS: Record<string, Scenario> = {
  steady: {
    name: "steady",
    summary: "200 arrivals/s for 10 min, well below capacity",
    cohort: 1,
    shards: 16,
    shardsWhy: "200 joins/s, ~1.6k heartbeats/s and 1,200 view reads/s: 16 shards keep each near 200 requests/s",
    capacity: 100_000,
    admitPerMinute: 30_000,
    rate: () => 200,
    arrivalSeconds: 10 * MINUTE,
    durationSeconds: 11 * MINUTE,
    passTtlMs: 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 4 * MINUTE,
    impatient: { share: 0.05, meanSeconds: 120 },
    capacityChanges: [],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: null,
  },
  flash: {
    name: "flash",
    summary: "1.4M arrive within 4 min (most in the first two) for 1M seats, admitted at 480k/min",
    cohort: 2,
    shards: 128,
    shardsWhy: "peak ~20k joins/s + 8k claims/s + heartbeats and view reads: 128 shards keep the busiest near 350/s",
    capacity: 1_000_000,
    admitPerMinute: 480_000,
    rate: surge(1_400_000, 4 * MINUTE, 20, 60, 0.05),
    arrivalSeconds: 4 * MINUTE,
    durationSeconds: 10 * MINUTE,
    passTtlMs: 15 * 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 30 * MINUTE,
    impatient: { share: 0.1, meanSeconds: 180 },
    capacityChanges: [],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: null,
  },
  "8m": {
    name: "8m",
    summary:
      "10M arrive within 10 min (a surge, then a long tail) for 8M seats; the origin takes 1M new listeners a minute",
    cohort: 10,
    shards: 256,
    shardsWhy:
      "peak ~34k joins/s + ~17k claims/s + heartbeats and view reads: 128 shards would take ~450 requests/s " +
      "each on average, too close to 500 with hash imbalance and claim bursts; 256 keep the busiest near 400, " +
      "and the coordinator's ~1 sync per shard per second stays under 500",
    capacity: 8_000_000,
    admitPerMinute: 1_000_000,
    rate: surge(10_000_000, 10 * MINUTE, 30, 180, 0.25),
    arrivalSeconds: 10 * MINUTE,
    durationSeconds: 12 * MINUTE,
    passTtlMs: 15 * 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 30 * MINUTE,
    impatient: { share: 0.1, meanSeconds: 180 },
    capacityChanges: [],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: null,
  },
  shrink: {
    name: "shrink",
    summary: "400 arrivals/s for 10 min; at 5 min ops cut capacity from 100k to 60k",
    cohort: 1,
    shards: 16,
    shardsWhy: "400 joins/s, ~3k heartbeats/s and 1,200 view reads/s: 16 shards keep each near 300 requests/s",
    capacity: 100_000,
    admitPerMinute: 30_000,
    rate: () => 400,
    arrivalSeconds: 10 * MINUTE,
    durationSeconds: 15 * MINUTE,
    passTtlMs: 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 5 * MINUTE,
    impatient: { share: 0.05, meanSeconds: 300 },
    capacityChanges: [{ atSecond: 5 * MINUTE, capacity: 60_000 }],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: null,
  },
  "shard-loss": {
    name: "shard-loss",
    summary: "600 arrivals/s for 5 min then 100/s, admitted at 400/s; shard 3 is cut off from 2:00 to 3:00",
    cohort: 1,
    shards: 16,
    shardsWhy: "600 joins/s plus heartbeats: 16 shards keep each near 200 requests/s",
    capacity: 100_000,
    admitPerMinute: 24_000,
    rate: (s) => (s < 5 * MINUTE ? 600 : 100),
    arrivalSeconds: 10 * MINUTE,
    durationSeconds: 12 * MINUTE,
    passTtlMs: 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 5 * MINUTE,
    impatient: { share: 0.05, meanSeconds: 300 },
    capacityChanges: [],
    outage: { shard: 3, fromSecond: 2 * MINUTE, toSecond: 3 * MINUTE },
    origin: null,
    overflow: null,
    massLeave: null,
  },
  // The origin melts under a full room: edge isolates report its 503s, the
  // coordinator's AIMD (src/policy/health.ts) lowers the effective limits,
  // admissions stop until the audience has drained below them (nobody is
  // evicted), then the limits grow back and probe the origin again.
  "origin-melt": {
    name: "origin-melt",
    summary:
      "900 arrivals/s as doors open, 400/s from 2 min to 11 min, for 100k seats (maxWaitSeconds 300); " +
      "from 5:00 the origin falls to 45 % of capacity over a minute",
    cohort: 1,
    shards: 24,
    shardsWhy:
      "900 joins/s and as many claims at the doors, ~3k heartbeats/s and 1,200 view reads/s: the busiest of 16 " +
      "shards would take ~530 requests/s in the burst, 24 keep it near 400",
    capacity: 100_000,
    admitPerMinute: 60_000,
    // The doors-open burst fills the room (and starts a line) before the
    // origin melts: with 5 minutes of listening at 400 arrivals/s alone the
    // audience would approach its 120k steady state too slowly.
    rate: (s) => (s < 2 * MINUTE ? 900 : 400),
    arrivalSeconds: 11 * MINUTE,
    durationSeconds: 12 * MINUTE,
    passTtlMs: 60_000,
    claimWindowMs: 30_000,
    // Five minutes on average: the audience drains from 100k to the origin's
    // 45k in about four minutes, leaving three to watch the limits grow back.
    meanListenSeconds: 5 * MINUTE,
    impatient: { share: 0.05, meanSeconds: 300 },
    capacityChanges: [],
    outage: null,
    origin: {
      // Serves the whole room until 5:00, then 45k from 6:00 on.
      servesAt: melting(100_000, 5 * MINUTE, MINUTE, 0.45),
      // One audio segment every 4 s per listener: ~21 answers a second per
      // isolate at 100k live over 1,200 isolates.
      requestsPerListenerPerSecond: 0.25,
      // A sample of the 1,200, each reporting at most once a second and only
      // seconds with a 503; all of them would send up to one report each a
      // second (originReportsPerSecondAllIsolatesPeak in the results).
      reportingIsolates: 100,
    },
    // Arrivals and listeners in line whose estimate exceeds 5 minutes are
    // offered the recording; 30 % of them keep (take) a place instead.
    overflow: {
      rules: { maxWaitSeconds: 300, maxQueue: null, recordingUrl: "https://recordings.example/melt" },
      keepPlaceShare: 0.3,
    },
    massLeave: null,
  },
  // A full room empties at once (the stream ended, say, and everyone was
  // told to go) while a crowd waits. Every seat given back stays taken until
  // the coordinator confirms its revocation, or until its passes are too old
  // for any edge to honour from a view (releaseAt, lease.ts: passTrustMs and
  // 1 s after the lease's last renewal), while the left listeners keep
  // presenting their passes: the refill shows how fast the seats come back,
  // the edge that no left pass is served once its seat could be someone
  // else's.
  "mass-leave": {
    name: "mass-leave",
    summary:
      "100k seated listeners all leave within 30 s from 2:30 while 120k wait; the crowd refills the room. " +
      "Every left listener presents its old pass again every second until it expires",
    cohort: 1,
    shards: 16,
    shardsWhy:
      "2.5k joins/s to fill the room, ~3.3k heartbeats/s and 1,200 view reads/s: 16 shards keep each near 450 " +
      "requests/s (the left passes' renewals at the edge come on top; see the report)",
    capacity: 100_000,
    // Fast enough that the refill waits for seats, not for tokens.
    admitPerMinute: 300_000,
    // 100k arrive in 40 s and are seated; 120k more arrive from 0:40 to 1:40 and wait.
    rate: (s) => (s < 40 ? 2_500 : 2_000),
    arrivalSeconds: 100,
    durationSeconds: 6 * MINUTE,
    passTtlMs: 60_000,
    claimWindowMs: 30_000,
    // Nobody leaves but in the mass leave, so the refill is seen on its own.
    meanListenSeconds: Infinity,
    impatient: { share: 0, meanSeconds: 1 },
    capacityChanges: [],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: { atSecond: 150, overSeconds: 30, retryMs: 1_000, isolatesPerLocation: 4 },
  },
  // The flash crowd with lanes (src/policy/lanes.ts): hosts, speakers and
  // press on `stage` with seats reserved for all of them and kept for them
  // (lend: false), subscribers with strict priority (and a cap) over the
  // general line.
  lanes: {
    name: "lanes",
    summary:
      "1.5M arrive within 4 min for 1M seats, admitted at 480k/min: 2 % on stage (32k seats reserved and kept), " +
      "10 % subscribers with strict priority (cap 120k), the rest general",
    cohort: 10,
    shards: 128,
    shardsWhy:
      "as flash: peak ~16k general joins/s + claims, heartbeats and view reads over 128 shards; the stage's " +
      "~370 joins/s at the peak over its 2 shards, the subscribers' ~1.8k joins/s and their claims over 16",
    capacity: 1_000_000,
    admitPerMinute: 480_000,
    rate: surge(1_500_000, 4 * MINUTE, 20, 60, 0.05),
    arrivalSeconds: 4 * MINUTE,
    durationSeconds: 10 * MINUTE,
    passTtlMs: 15 * 60_000,
    claimWindowMs: 30_000,
    meanListenSeconds: 30 * MINUTE,
    impatient: { share: 0.1, meanSeconds: 180 },
    capacityChanges: [],
    outage: null,
    origin: null,
    overflow: null,
    massLeave: null,
    lanes: {
      lanes: {
        // 2 % of 1.5M is 30k; each of its 2 shards holds half the reserve, with room for hash imbalance.
        stage: { reserved: 32_000, cap: null, share: null, lend: false, shards: 2 },
        priority: { reserved: 0, cap: 120_000, share: null, lend: true, shards: 16 },
      },
      shares: { stage: 0.02, priority: 0.1 },
    },
  },
};

// The same crowd with the stage's reserve lent to the general line (lend:
// true): the general line fills the room, and a stage listener who comes
// once it is full waits for a seat to be freed (minutes, with 15 min passes).
SCENARIOS["lanes-lent"] = {
  ...SCENARIOS.lanes!,
  name: "lanes-lent",
  summary:
    "as lanes, with the stage's 32k reserved seats lent to the general line (lend: true) until stage listeners come",
  lanes: {
    ...SCENARIOS.lanes!.lanes!,
    lanes: { ...SCENARIOS.lanes!.lanes!.lanes, stage: { ...SCENARIOS.lanes!.lanes!.lanes.stage!, lend: true } },
  },
};

/** Whole arrivals (of cohorts of `cohort` listeners) per second, fractions carried over. */
export function arrivalCounts(scenario: Scenario, cohort: number): Int32Array {
  const counts = new Int32Array(scenario.arrivalSeconds);
  let carry = 0;
  for (let s = 0; s < scenario.arrivalSeconds; s++) {
    const exact = scenario.rate(s) / cohort + carry;
    counts[s] = Math.floor(exact);
    carry = exact - counts[s]!;
  }
  if (carry > 0.5) counts[scenario.arrivalSeconds - 1]! += 1;
  return counts;
}

/**
 * The room's numbers in the Prometheus text format (version 0.0.4), for
 * `/_spillway/admin/metrics`: one gauge or counter per stat, one series per
 * room, each line's (general and each lane) numbers by `lane`, Durable
 * Object calls by kind. Room ids and lane names are safe label values by
 * construction (letters, digits, `_` and `-`).
 */
import type { LaneStats, RoomStats } from "./schemas.ts";

interface Metric {
  name: string;
  type: "gauge" | "counter";
  help: string;
  value: (s: RoomStats) => number | null;
}

const METRICS: Metric[] = [
  { name: "live", type: "gauge", help: "Admitted listeners holding a seat.", value: (s) => s.active },
  { name: "capacity", type: "gauge", help: "Seats as configured.", value: (s) => s.capacity },
  {
    name: "effective_capacity",
    type: "gauge",
    help: "Seats in force (lower while the origin struggles).",
    value: (s) => s.effectiveCapacity,
  },
  {
    name: "admit_per_minute",
    type: "gauge",
    help: "Admissions a minute as configured.",
    value: (s) => s.admitPerMinute,
  },
  {
    name: "effective_admit_per_minute",
    type: "gauge",
    help: "Admissions a minute in force.",
    value: (s) => s.effectiveAdmitPerMinute,
  },
  { name: "queued", type: "gauge", help: "Listeners waiting for their turn.", value: (s) => s.queued },
  { name: "prequeued", type: "gauge", help: "Listeners waiting for the start.", value: (s) => s.prequeued },
  {
    name: "called",
    type: "gauge",
    help: "Listeners called whose seat is reserved, not yet claimed.",
    value: (s) => s.called,
  },
  {
    name: "overflowed_total",
    type: "counter",
    help: "Arrivals offered the recording instead of a place.",
    value: (s) => s.overflowed,
  },
  {
    name: "unique_listeners_total",
    type: "counter",
    help: "Listeners who took a place.",
    value: (s) => s.uniqueListeners,
  },
  { name: "admitted_total", type: "counter", help: "Seats granted.", value: (s) => s.admittedTotal },
  { name: "left_total", type: "counter", help: "Seats given back.", value: (s) => s.left },
  { name: "expired_total", type: "counter", help: "Seats ended by an expired pass.", value: (s) => s.expired },
  {
    name: "leaving",
    type: "gauge",
    help: "Seats given back or moved, held until their revocation is confirmed.",
    value: (s) => s.leaving,
  },
  {
    name: "abandoned_total",
    type: "counter",
    help: "Calls nobody claimed within the claim window.",
    value: (s) => s.abandoned,
  },
  {
    name: "origin_admin_failures_total",
    type: "counter",
    help: "Direct mode: calls to the origin's own API that failed, and webhooks refused, since the shards started.",
    value: (s) => s.originAdmin?.failures ?? null,
  },
  {
    name: "origin_admin_drops_total",
    type: "counter",
    help: "Direct mode: ended seats' connections or credentials the origin dropped, since the shards started.",
    value: (s) => s.originAdmin?.kills ?? null,
  },
  { name: "peak_live", type: "gauge", help: "Most listeners live at once.", value: (s) => s.peakConcurrent },
  { name: "admissions_per_minute", type: "gauge", help: "Calls a minute lately.", value: (s) => s.admissionsPerMinute },
  { name: "arrivals_per_minute", type: "gauge", help: "Arrivals a minute lately.", value: (s) => s.arrivalsPerMinute },
  {
    name: "wait_p50_seconds",
    type: "gauge",
    help: "Half of admitted listeners waited at most this long.",
    value: (s) => s.waitP50Seconds,
  },
  {
    name: "wait_p90_seconds",
    type: "gauge",
    help: "Nine in ten admitted listeners waited at most this long.",
    value: (s) => s.waitP90Seconds,
  },
  {
    name: "origin_health_factor",
    type: "gauge",
    help: "Share of the configured limits in force (1: healthy).",
    value: (s) => s.origin.factor,
  },
  {
    name: "origin_distress_total",
    type: "counter",
    help: "Distress reports from the edge.",
    value: (s) => s.origin.distress,
  },
  {
    name: "challenge_bits",
    type: "gauge",
    help: "Proof of work asked of new arrivals, in bits (0: under-attack mode off).",
    value: (s) => s.challenge.bits,
  },
  {
    name: "challenges_issued_total",
    type: "counter",
    help: "Challenges handed out.",
    value: (s) => s.challenge.issued,
  },
  {
    name: "challenges_solved_total",
    type: "counter",
    help: "Arrivals that took a place with a solved challenge.",
    value: (s) => s.challenge.solved,
  },
  {
    name: "challenges_failed_total",
    type: "counter",
    help: "Challenge solutions refused (wrong, expired, forged or reused).",
    value: (s) => s.challenge.failed,
  },
  {
    name: "joins_limited_total",
    type: "counter",
    help: "Joins refused by the per-client limit.",
    value: (s) => s.challenge.limited,
  },
];

interface LaneMetric {
  name: string;
  type: "gauge" | "counter";
  help: string;
  value: (l: LaneStats) => number | null;
}

/** Per line, labelled `lane` ("general" or the lane's name): the same numbers as the room's, split by line. */
const LANE_METRICS: LaneMetric[] = [
  { name: "lane_live", type: "gauge", help: "Admitted listeners holding a seat, by line.", value: (l) => l.live },
  { name: "lane_queued", type: "gauge", help: "Listeners waiting for their turn, by line.", value: (l) => l.queued },
  { name: "lane_admitted_total", type: "counter", help: "Seats granted, by line.", value: (l) => l.admittedTotal },
  {
    name: "lane_reserved",
    type: "gauge",
    help: "Seats reserved for the lane, taken from capacity (general: 0).",
    value: (l) => l.reserved,
  },
  {
    name: "lane_cap",
    type: "gauge",
    help: "The most seats the lane may hold (absent: no cap of its own).",
    value: (l) => l.cap,
  },
  {
    name: "lane_wait_p50_seconds",
    type: "gauge",
    help: "Half of the line's admitted listeners waited at most this long.",
    value: (l) => l.waitP50Seconds,
  },
  {
    name: "lane_wait_p90_seconds",
    type: "gauge",
    help: "Nine in ten of the line's admitted listeners waited at most this long.",
    value: (l) => l.waitP90Seconds,
  },
];

function sample(value: number): string {
  if (value === Infinity) return "+Inf";
  return String(value);
}

/** The stats of these rooms as Prometheus text. */
export function prometheusText(rooms: RoomStats[]): string {
  const lines: string[] = [];
  for (const m of METRICS) {
    const name = `spillway_${m.name}`;
    lines.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.type}`);
    for (const s of rooms) {
      const v = m.value(s);
      if (v !== null) lines.push(`${name}{room="${s.room}"} ${sample(v)}`);
    }
  }
  for (const m of LANE_METRICS) {
    const name = `spillway_${m.name}`;
    lines.push(`# HELP ${name} ${m.help}`, `# TYPE ${name} ${m.type}`);
    for (const s of rooms) {
      for (const l of s.lanes) {
        const v = m.value(l);
        if (v !== null) lines.push(`${name}{room="${s.room}",lane="${l.lane}"} ${sample(v)}`);
      }
    }
  }
  lines.push("# HELP spillway_do_calls_total Durable Object calls, by kind.", "# TYPE spillway_do_calls_total counter");
  for (const s of rooms) {
    for (const [kind, n] of Object.entries(s.doCalls))
      lines.push(`spillway_do_calls_total{room="${s.room}",kind="${kind}"} ${n}`);
  }
  return lines.join("\n") + "\n";
}

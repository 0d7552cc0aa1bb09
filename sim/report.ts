/**
 * The simulator's results: one flat object (the --json line) and a
 * readable report of it.
 */
import { costOf, perMillion, PRICES } from "./cost.ts";
import { countAbove, quantiles } from "./listeners.ts";
import { SYNC_ROUND_MS, type World } from "./world.ts";

export type Result = Record<string, number | string | boolean | null>;

const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export function resultOf(w: World, wallSeconds: number, peakRssMb: number): Result {
  const st = w.stats;
  const sc = w.sc;
  const k = w.o.cohort;
  const listeners = w.l.joined * k;
  const [waitP50, waitP90, waitP99, waitMax] = quantiles(st.waits, st.nWaits, [0.5, 0.9, 0.99, 1]);
  const [etaP50, etaP90] = quantiles(st.etaErrors, st.nEta, [0.5, 0.9]);
  const [etaCallP90] = quantiles(st.etaErrorsToCall, st.nEta, [0.9]);
  const [fifoP99, fifoMax] = quantiles(w.calls.fifoCall.samples, w.calls.fifoCall.count, [0.99, 1]);
  const [fifoPassP99] = quantiles(w.calls.fifoPass.samples, w.calls.fifoPass.count, [0.99]);
  const fifoOver1 = countAbove(w.calls.fifoCall.samples, w.calls.fifoCall.count, 1);
  const fifoBeyond = w.calls.fifoCall.overBeyond(SYNC_ROUND_MS, sc.durationSeconds * 1000);
  const c = st.calls;
  const doRequests = c.join + c.claim + c.renew + c.leave + c.view + c.alarm + st.syncs;
  const workerRequests = c.join + st.edgePolls + c.claim + c.renew + c.leave;
  const cost = costOf({
    workerRequests,
    doRequests,
    objects: w.o.shards + 1,
    eventSeconds: sc.durationSeconds,
    rowsRead: w.rows.read,
    rowsWritten: w.rows.written,
  });
  const r: Result = {
    scenario: sc.name,
    seed: w.o.seed,
    shards: w.o.shards,
    isolates: w.o.isolates,
    cohort: k,
    simulatedListeners: w.l.joined,
    simulatedSeconds: sc.durationSeconds,
    listeners,
    capacity: sc.capacity,
    admitPerMinute: sc.admitPerMinute,
    admitted: st.admittedTotal * k,
    admittedAtJoin: st.admittedAtJoin * k,
    gaveUp: st.gaveUp * k,
    left: c.leave,
    leftFreedWithin5s: st.freedEarly * k,
    waitingAtEnd: st.waitingAtEnd * k,
    oldestWaitingSeconds: round(st.oldestWaitingSeconds, 1),
    peakLive: st.peakLive * k,
    secondsTo99PercentFull: st.fullAtMs === null ? null : round(st.fullAtMs / 1000, 1),
    maxLiveOverCapacity: round(st.maxLiveOverCapacity, 6),
    capViolations: st.capViolations,
    lostSeats: st.lostSeats * k,
    fifoDisplacementP99Seconds: round(fifoP99),
    fifoDisplacementMaxSeconds: round(fifoMax),
    fifoDisplacedOver1sShare: round(fifoOver1 / Math.max(1, w.calls.fifoCall.count), 4),
    fifoOver1sBeyondOneSyncShare: round(fifoBeyond / Math.max(1, w.calls.fifoCall.count), 5),
    fifoDisplacementAtPassP99Seconds: round(fifoPassP99),
    waitP50Seconds: round(waitP50, 2),
    waitP90Seconds: round(waitP90, 2),
    waitP99Seconds: round(waitP99, 2),
    waitMaxSeconds: round(waitMax, 2),
    etaSamples: st.nEta * k,
    etaErrorP50: round(etaP50),
    etaErrorP90: round(etaP90),
    etaErrorToCallP90: round(etaCallP90),
    peakDoRequestsPerSecond: Math.ceil(Math.max(st.peakShardRps, st.peakCoordinatorRps)),
    peakShardRequestsPerSecond: Math.ceil(st.peakShardRps),
    peakCoordinatorRequestsPerSecond: st.peakCoordinatorRps,
    doJoins: c.join,
    doClaims: c.claim,
    doRenews: c.renew,
    doLeaves: c.leave,
    doViewReads: c.view,
    doSyncs: st.syncs,
    doAlarms: c.alarm,
    doRequests,
    doCallsPerListener: round(doRequests / Math.max(1, listeners)),
    edgePolls: st.edgePolls,
    doCallsPerWaitingPoll: round((c.view + st.claimsWaiting) / Math.max(1, st.edgePolls + st.claimsWaiting), 4),
    workerRequests,
    rowsRead: w.rows.read,
    rowsWritten: w.rows.written,
    costUsd: round(cost.totalUsd, 2),
    costPerMillionListenersUsd: round(perMillion(cost, listeners), 2),
    costPerMillionAdmittedUsd: round(perMillion(cost, st.admittedTotal * k), 2),
    wallSeconds: round(wallSeconds, 1),
    peakRssMb: Math.round(peakRssMb),
  };
  const cut = sc.capacityChanges[0];
  if (cut !== undefined) {
    r.capacityCutAtSecond = cut.atSecond;
    r.capacityAfterCut = cut.capacity;
    r.liveAtCut = st.liveAtCut * k;
    r.admittedAboveNewCapacity = st.admittedAboveNewCapacity * k;
    r.lastAdmissionAboveNewCapacityAfterCutSeconds =
      st.lastAdmissionAboveNewCapacityMs === null ? null : round(st.lastAdmissionAboveNewCapacityMs / 1000);
    r.admissionsResumedAfterCutSeconds = st.resumedAfterCutMs === null ? null : round(st.resumedAfterCutMs / 1000, 1);
  }
  if (sc.outage !== null && w.calls.fifoCallOthers !== null) {
    r.lostShard = sc.outage.shard;
    r.lostShardSeconds = sc.outage.toSecond - sc.outage.fromSecond;
    r.lostSyncs = st.lostSyncs;
    r.lostReplies = st.lostReplies;
    const [others] = quantiles(w.calls.fifoCallOthers.samples, w.calls.fifoCallOthers.count, [0.99]);
    r.fifoDisplacementP99OtherShardsSeconds = round(others);
  }
  r.costWorkersUsd = round(cost.workersUsd, 2);
  r.costDoRequestsUsd = round(cost.doRequestsUsd, 2);
  r.costDoDurationUsd = round(cost.doDurationUsd, 2);
  r.costRowsUsd = round(cost.rowsReadUsd + cost.rowsWrittenUsd, 2);
  return r;
}

const n = (x: unknown) => (typeof x === "number" ? x.toLocaleString("en-US") : String(x));

export function textOf(r: Result, w: World): string {
  const sc = w.sc;
  const lines = [
    `Scenario ${r.scenario}: ${sc.summary}`,
    `  seed ${r.seed}, ${r.shards} shards (${sc.shardsWhy}), ${n(r.isolates)} edge isolates assumed`,
    r.cohort === 1
      ? "  every listener simulated"
      : `  each simulated listener stands for a cohort of ${r.cohort} (${n(r.simulatedListeners)} simulated): ` +
        `capacity, rate and arrivals divided by ${r.cohort}, listener-driven counts multiplied back`,
    `  ${n(r.simulatedSeconds)} s simulated in ${r.wallSeconds} s wall, peak RSS ${r.peakRssMb} MB`,
    "",
    "Audience",
    `  listeners ${n(r.listeners)}, admitted ${n(r.admitted)} (${n(r.admittedAtJoin)} seated as they joined), ` +
      `gave up ${n(r.gaveUp)}, still waiting at the end ${n(r.waitingAtEnd)} (longest ${r.oldestWaitingSeconds} s)`,
    `  left ${n(r.left)} (seat freed within 5 s for ${n(r.leftFreedWithin5s)}; the rest at pass expiry), ` +
      `seats lost to expiry ${n(r.lostSeats)}`,
    `  capacity ${n(r.capacity)}, admitPerMinute ${n(r.admitPerMinute)}, peak live ${n(r.peakLive)}, 99 % full after ${r.secondsTo99PercentFull ?? "-"} s`,
    "",
    "Invariants",
    `  max live / capacity ${r.maxLiveOverCapacity} (checked after every operation; violations ${r.capViolations})`,
    `  FIFO displacement when called: p99 ${r.fifoDisplacementP99Seconds} s, max ${r.fifoDisplacementMaxSeconds} s` +
      ` (${r.fifoDisplacedOver1sShare} of calls over 1 s, ${r.fifoOver1sBeyondOneSyncShare} with the one earlier` +
      ` still waiting a sync round later; when seated, poll timing included: p99 ${r.fifoDisplacementAtPassP99Seconds} s)`,
  ];
  if (r.capacityAfterCut !== undefined) {
    lines.push(
      `  capacity cut to ${n(r.capacityAfterCut)} at ${r.capacityCutAtSecond} s with ${n(r.liveAtCut)} live: ` +
        `${n(r.admittedAboveNewCapacity)} admissions above it, the last ${r.lastAdmissionAboveNewCapacityAfterCutSeconds ?? "-"} s after the cut; ` +
        `admissions resumed ${r.admissionsResumedAfterCutSeconds ?? "never"} s after the cut`,
    );
  }
  if (r.lostShardSeconds !== undefined) {
    lines.push(
      `  shard ${r.lostShard} cut off for ${r.lostShardSeconds} s: ${n(r.lostSyncs)} syncs lost on the way there, replies lost ${n(r.lostReplies)}; ` +
        `FIFO p99 among the other shards ${r.fifoDisplacementP99OtherShardsSeconds} s`,
    );
  }
  lines.push(
    "",
    "Waits and estimates",
    `  wait p50 ${r.waitP50Seconds} s, p90 ${r.waitP90Seconds} s, p99 ${r.waitP99Seconds} s, max ${r.waitMaxSeconds} s (admitted listeners)`,
    `  estimate error |eta - wait| / max(wait, 1 s) over ${n(r.etaSamples)} who waited: p50 ${r.etaErrorP50}, p90 ${r.etaErrorP90}` +
      ` (against the time to their turn: p90 ${r.etaErrorToCallP90})`,
    "",
    "Load",
    `  busiest Durable Object ${n(r.peakDoRequestsPerSecond)} req/s (shards ${n(r.peakShardRequestsPerSecond)}, coordinator ${n(r.peakCoordinatorRequestsPerSecond)})`,
    `  DO calls ${n(r.doRequests)} = joins ${n(r.doJoins)} + claims ${n(r.doClaims)} + heartbeats ${n(r.doRenews)} + leaves ${n(r.doLeaves)}` +
      ` + view reads ${n(r.doViewReads)} + syncs ${n(r.doSyncs)} + alarms ${n(r.doAlarms)}`,
    `  ${r.doCallsPerListener} DO calls per listener; ${n(r.edgePolls)} waiting polls answered at the edge, ` +
      `${r.doCallsPerWaitingPoll} DO calls per waiting poll`,
    "",
    "Cost (list prices, beyond included usage)",
    `  $${r.costUsd} = Workers requests $${r.costWorkersUsd} (${n(r.workerRequests)} × $${PRICES.workerRequestPerMillion}/M)` +
      ` + DO requests $${r.costDoRequestsUsd} (× $${PRICES.doRequestPerMillion}/M)` +
      ` + DO duration $${r.costDoDurationUsd} (${r.shards}+1 objects × 128 MB × ${r.simulatedSeconds} s × $${PRICES.doGbSecondPerMillion}/M GB-s)` +
      ` + SQLite rows $${r.costRowsUsd} (${n(r.rowsRead)} read, ${n(r.rowsWritten)} written)`,
    `  $${r.costPerMillionListenersUsd} per million listeners, $${r.costPerMillionAdmittedUsd} per million admitted`,
  );
  return lines.join("\n");
}

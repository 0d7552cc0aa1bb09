/**
 * The simulator's results: one flat object (the --json line) and a
 * readable report of it.
 */
import { PASS_VIEW_MAX_AGE_MS } from "../src/policy/pass-trust.ts";
import { costOf, perMillion, PRICES } from "./cost.ts";
import { countAbove, quantiles } from "./listeners.ts";
import type { LineStats } from "./lines.ts";
import type { MassLeave } from "./mass-leave.ts";
import type { Origin } from "./origin.ts";
import type { Overflow } from "./overflow.ts";
import { SAMPLE_EVERY_S } from "./staleness.ts";
import { SYNC_ROUND_MS, T0, type World } from "./world.ts";

/** One line's results (with lanes): the general line's, or a lane's. */
export type LineResult = Record<string, number | string | boolean | null>;

/** The results; with lanes, `lines` holds each line's by name (general first, then the lanes in rank order). */
export type Result = Record<string, number | string | boolean | null | Record<string, LineResult>>;

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
  const stale = w.staleness.result();
  const c = st.requests;
  // Origin reports are coordinator requests; arrivals sent to the recording
  // are Worker requests answered at the edge, and so are left passes
  // presented again (all 0 unless modelled; the left passes' renewals at
  // their shard are among the heartbeats).
  const doRequests = c.join + c.claim + c.renew + c.leave + c.view + c.alarm + st.syncs + st.originReports;
  const leftPassRequests = (w.massLeave?.counts.requests ?? 0) * k;
  const leftPassRenewals = (w.massLeave?.shardRenewals ?? 0) * k;
  const workerRequests =
    c.join +
    st.edgePolls +
    c.claim +
    c.renew -
    leftPassRenewals +
    c.leave +
    (w.overflow?.sentAtArrival ?? 0) +
    leftPassRequests;
  const cost = costOf({
    workerRequests,
    doRequests,
    objects: w.layout.size + 1,
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
    leftFreedOnConfirmation: st.freedOnConfirm * k,
    leftFreedAtExpiry: st.freedAtExpiry * k,
    leftSeatsHeldAtEnd: c.leave - (st.freedOnConfirm + st.freedAtExpiry) * k,
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
    positionStalenessSamples: stale.samples,
    positionStalenessP50: round(stale.p50),
    positionStalenessP90: round(stale.p90),
    positionAgeP50Seconds: round(stale.ageP50, 2),
    positionAgeP90Seconds: round(stale.ageP90, 2),
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
  if (w.origin !== null) Object.assign(r, originResult(w, w.origin));
  if (w.overflow !== null) Object.assign(r, overflowResult(w, w.overflow));
  if (w.massLeave !== null) Object.assign(r, massLeaveResult(w, w.massLeave));
  if (w.lines !== null) Object.assign(r, linesResult(w, w.lines));
  r.costWorkersUsd = round(cost.workersUsd, 2);
  r.costDoRequestsUsd = round(cost.doRequestsUsd, 2);
  r.costDoDurationUsd = round(cost.doDurationUsd, 2);
  r.costRowsUsd = round(cost.rowsReadUsd + cost.rowsWrittenUsd, 2);
  return r;
}

/** The origin's failure and what the room did about it (origin.ts). */
function originResult(w: World, o: Origin): Result {
  const end = T0 + w.sc.durationSeconds * 1000;
  return {
    originReportingIsolates: o.model.reportingIsolates,
    originDistressReports: o.reports,
    doOriginReports: w.stats.originReports,
    originDistressCountedByCoordinator: w.coordinator.health(end).distress,
    originReportsPerSecondAllIsolatesPeak: Math.round(o.peakReportsAllIsolates),
    effectiveCapacityMin: o.effectiveCapacityMin,
    effectiveCapacityMinAtSecond: o.effectiveCapacityMinAtSecond,
    effectiveCapacityAtEnd: o.effectiveCapacityAtEnd,
    originOverloadedSeconds: o.overloadedSeconds,
    originOverloadedAnswers: Math.round(o.overloadedAnswers),
    originOverloadedShareMax: round(o.maxOverloadedShare, 4),
    audienceFitOriginAtSecond: o.drainedAtSecond,
    originOverloadedShareMaxAfterFit: round(o.maxOverloadedShareAfterDrain, 4),
    maxLiveDropPerSecond: o.maxLiveDrop,
    maxLiveDropAtSecond: o.maxLiveDropAtSecond,
    maxLeavesPerSecond: o.maxLeavesPerSecond,
    evicted: w.stats.lostSeats * w.o.cohort + o.unseatedAtEnd,
  };
}

/** The offer of the recording and what listeners made of it (overflow.ts). */
function overflowResult(w: World, f: Overflow): Result {
  return {
    arrivals: w.counts.reduce((a, c) => a + c, 0) * w.o.cohort,
    maxWaitSeconds: f.model.rules.maxWaitSeconds,
    maxQueue: f.model.rules.maxQueue,
    keepPlaceShare: f.model.keepPlaceShare,
    offeredRecording: f.offeredTotal,
    offeredRecordingForMaxWait: f.offered.max_wait,
    offeredRecordingForMaxQueue: f.offered.max_queue,
    offeredRecordingForMode: f.offered.mode,
    keptPlaceAfterOffer: f.kept,
    sentToRecording: f.sentToRecording,
    sentToRecordingAtArrival: f.sentAtArrival,
    sentToRecordingFromLine: f.sentFromLine,
  };
}

/** Each line: its seats against its cap, its waits, its estimates, first in first out within it (lines.ts). */
function linesResult(w: World, lines: LineStats): Result {
  const k = w.o.cohort;
  const layout = lines.layout;
  const waiting = lines.waiting();
  const byName: Record<string, LineResult> = {};
  let laneCapViolations = 0;
  for (const [line, m] of lines.lines.entries()) {
    const [p50, p90, p99, max] = quantiles(m.waits, m.nWaits, [0.5, 0.9, 0.99, 1]);
    const [etaP50, etaP90] = quantiles(m.etaErrors, m.nEta, [0.5, 0.9]);
    const [fifoP99, fifoMax] = quantiles(m.fifoCall.samples, m.fifoCall.count, [0.99, 1]);
    const [fifoPassP99, fifoPassMax] = quantiles(m.fifoPass.samples, m.fifoPass.count, [0.99, 1]);
    const name = layout.names[line]!;
    const settings = line === 0 ? null : w.sc.lanes!.lanes[name]!;
    if (line > 0) laneCapViolations += m.capViolations;
    byName[name] = {
      slot: layout.slots[line]!,
      shards: layout.shards[line]!,
      strict: settings === null ? null : settings.share === null,
      share: settings?.share ?? null,
      reserved: settings?.reserved ?? 0,
      lend: settings?.lend ?? null,
      cap: settings?.cap ?? null,
      arrivals: m.arrived * k,
      admitted: m.admitted * k,
      admittedAtJoin: m.admittedAtJoin * k,
      gaveUp: m.gaveUp * k,
      waitingAtEnd: waiting[line]! * k,
      peakLive: m.peakLive * k,
      liveAtEnd: m.live * k,
      capViolations: m.capViolations,
      maxOverCap: m.maxOverCap * k,
      waitP50Seconds: round(p50, 2),
      waitP90Seconds: round(p90, 2),
      waitP99Seconds: round(p99, 2),
      waitMaxSeconds: round(max, 2),
      fifoDisplacementP99Seconds: round(fifoP99),
      fifoDisplacementMaxSeconds: round(fifoMax),
      fifoDisplacedOver1sShare: round(
        countAbove(m.fifoCall.samples, m.fifoCall.count, 1) / Math.max(1, m.fifoCall.count),
        4,
      ),
      fifoOver1sBeyondOneSyncShare: round(
        m.fifoCall.overBeyond(SYNC_ROUND_MS, w.sc.durationSeconds * 1000) / Math.max(1, m.fifoCall.count),
        5,
      ),
      fifoDisplacementAtPassP99Seconds: round(fifoPassP99),
      fifoDisplacementAtPassMaxSeconds: round(fifoPassMax),
      etaSamples: m.nEta * k,
      etaErrorP50: round(etaP50),
      etaErrorP90: round(etaP90),
    };
  }
  const busiest = w.stats.peakShardAt.shard;
  return {
    lanes: layout.names.slice(1).join(","),
    laneCapViolations,
    busiestShard: layout.indexAt(busiest),
    busiestShardLine: layout.names[layout.lineOfPos[busiest]!]!,
    busiestShardAtSecond: w.stats.peakShardAt.second,
    lines: byName,
  };
}

/** The mass leave, the refill, and the left passes presented again (mass-leave.ts). */
function massLeaveResult(w: World, m: MassLeave): Result {
  const k = w.o.cohort;
  const since = (t: number | null, from: number | null) =>
    t === null || from === null ? null : round((t - from) / 1000, 1);
  const c = m.counts;
  return {
    massLeaveAtSecond: m.model.atSecond,
    massLeaveOverSeconds: m.model.overSeconds,
    massLeavers: m.leavers * k,
    lastLeaveAtSeconds: m.lastLeaveMs === null ? null : round(m.lastLeaveMs / 1000, 1),
    listeningLowest: m.lowestListening === Infinity ? null : m.lowestListening * k,
    listeningLowestAtSeconds: round(m.lowestListeningAtMs / 1000, 1),
    refillSeconds: since(m.refilledAtMs, m.startMs),
    refillAfterLastLeaveSeconds: since(m.refilledAtMs, m.lastLeaveMs),
    refillTo99PercentSeconds: since(m.refilled99AtMs, m.startMs),
    revocationListSize: w.revocationListSize * k,
    revocationsListedPeak: m.peakListed * k,
    revocationsListedPeakAtSeconds: round(m.peakListedAtMs / 1000, 1),
    leftPassRetryMs: m.model.retryMs,
    leftPassRequests: c.requests * k,
    leftPassRefusedByView: c.refusedByView * k,
    leftPassRefusedInIsolate: c.refusedInIsolate * k,
    leftPassAskedShardStaleView: c.askedShardStaleView * k,
    leftPassAskedShardToRenew: c.askedShardToRenew * k,
    leftPassRefusedByShard: c.refusedByShard * k,
    leftPassShardRenewals: m.shardRenewals * k,
    leftPassShardRenewalsPerLeaver: round(m.shardRenewals / Math.max(1, m.leavers), 2),
    leftPassShardRenewalsPerLeaverMax: m.maxShardRenewalsPerLeaver,
    leftPassIsolatesPerLocation: m.model.isolatesPerLocation,
    leftPassServedWhileSeatHeld: c.servedWhileHeld * k,
    leftPassServedAfterFree: c.servedAfterFree * k,
    distinctSeatsServedPeak: m.peakDistinct * k,
    distinctSeatsServedPeakAtSecond: m.peakDistinctAtSecond,
    distinctSeatsServedPeakLeftListeners: m.peakDistinctLeftServed * k,
    leftListenersServedPerSecondPeak: m.peakLeftServed * k,
    leftListenersServedPerSecondPeakAtSecond: m.peakLeftServedAtSecond,
    leftListenersServedPerSecondPeakDistinctSeats: m.peakLeftServedDistinct * k,
    leftPassServedFromViewAgedAtMostMs: m.maxServedViewAgeMs,
    passViewMaxAgeMs: PASS_VIEW_MAX_AGE_MS,
    distinctSeatsCapacity: m.capacity * k,
  };
}

const n = (x: unknown) => (typeof x === "number" ? x.toLocaleString("en-US") : String(x));

const clock = (second: number) => `${Math.floor(second / 60)}:${String(second % 60).padStart(2, "0")}`;

function originLines(r: Result, o: Origin, isolates: number): string[] {
  const fit = r.audienceFitOriginAtSecond;
  const lines = [
    "Origin",
    `  ${n(r.originDistressReports)} distress reports from ${r.originReportingIsolates} of ${n(isolates)} isolates ` +
      `(the coordinator counted ${n(r.originDistressCountedByCoordinator)}; all ${n(isolates)} would send up to ` +
      `${n(r.originReportsPerSecondAllIsolatesPeak)} a second)`,
    `  effective capacity lowest ${n(r.effectiveCapacityMin)} at ${clock(Number(r.effectiveCapacityMinAtSecond))}, ` +
      `${n(r.effectiveCapacityAtEnd)} at the end`,
    `  503s in ${n(r.originOverloadedSeconds)} s, ~${n(r.originOverloadedAnswers)} answers in all, share at most ` +
      `${r.originOverloadedShareMax}; after the audience first fitted the origin again ` +
      `(${typeof fit === "number" ? clock(fit) : "never"}) at most ${r.originOverloadedShareMaxAfterFit}`,
    `  live fell at most ${n(r.maxLiveDropPerSecond)} in one second (at ${clock(Number(r.maxLiveDropAtSecond))}; ` +
      `most leaves in one second ${n(r.maxLeavesPerSecond)}); evicted ${n(r.evicted)}`,
    "    time       live  effective capacity  origin serves    waiting  503 share  sent to recording",
  ];
  for (const s of o.samples) {
    lines.push(
      `  ${clock(s.second).padStart(6)} ${n(s.live).padStart(10)} ${n(s.effectiveCapacity).padStart(19)} ` +
        `${n(s.served).padStart(14)} ${n(s.waiting).padStart(10)} ${s.overloadedShare.toFixed(3).padStart(10)} ` +
        `${n(s.sentToRecording).padStart(18)}`,
    );
  }
  return lines;
}

function massLeaveLines(r: Result, cohort: number): string[] {
  const sec = (x: unknown) => (typeof x === "number" ? `${x} s` : "never");
  return [
    `Mass leave (everyone seated at ${clock(Number(r.massLeaveAtSecond))} leaves within ${r.massLeaveOverSeconds} s; ` +
      `left listeners present their pass again every ~${Number(r.leftPassRetryMs) / 1000} s until it expires)`,
    `  ${n(r.massLeavers)} left, the last at ${r.lastLeaveAtSeconds} s; seated and not left fell to ` +
      `${n(r.listeningLowest)} (at ${r.listeningLowestAtSeconds} s)`,
    `  seats given back freed on the coordinator's confirmation ${n(r.leftFreedOnConfirmation)}, at release ` +
      `(their passes too old for any view) ${n(r.leftFreedAtExpiry)}, still held at the end ` +
      `${n(r.leftSeatsHeldAtEnd)}; revocations listed at most ` +
      `${n(r.revocationsListedPeak)} of ${n(r.revocationListSize)} (at ${r.revocationsListedPeakAtSeconds} s)`,
    `  refill: back at capacity ${sec(r.refillSeconds)} after the first leave (${sec(r.refillAfterLastLeaveSeconds)} ` +
      `after the last), 99 % after ${sec(r.refillTo99PercentSeconds)}`,
    `  left passes presented ${n(r.leftPassRequests)}: refused from the edge's view ${n(r.leftPassRefusedByView)}, ` +
      `by an isolate their shard had told ${n(r.leftPassRefusedInIsolate)}, ` +
      `sent to their shard ${n(Number(r.leftPassAskedShardStaleView) + Number(r.leftPassAskedShardToRenew))} ` +
      `(view too old to vouch ${n(r.leftPassAskedShardStaleView)}, pass too old to honour from a view ` +
      `${n(r.leftPassAskedShardToRenew)}) and refused there ${n(r.leftPassRefusedByShard)}, ` +
      `served while their seat was still held ${n(r.leftPassServedWhileSeatHeld)}`,
    `  shard renewals for left passes ${n(r.leftPassShardRenewals)}: ${r.leftPassShardRenewalsPerLeaver} per ` +
      `listener who left, at most ${n(r.leftPassShardRenewalsPerLeaverMax)} (each listener's requests land on the ` +
      `${n(r.leftPassIsolatesPerLocation)} isolates of its location)`,
    `  left passes served after their seat was freed ${n(r.leftPassServedAfterFree)} (must be 0)`,
    `  distinct seats served at the origin in one second at most ${n(r.distinctSeatsServedPeak)} of ` +
      `${n(r.distinctSeatsCapacity)} (second ${r.distinctSeatsServedPeakAtSecond}, ` +
      `${n(r.distinctSeatsServedPeakLeftListeners)} of them left listeners; must not exceed capacity); ` +
      `most left listeners served in one second ${n(r.leftListenersServedPerSecondPeak)} (second ` +
      `${r.leftListenersServedPerSecondPeakAtSecond}, ${n(r.leftListenersServedPerSecondPeakDistinctSeats)} distinct seats ` +
      `in all then)`,
    `  left passes were served from views at most ${n(r.leftPassServedFromViewAgedAtMostMs)} ms old ` +
      `(an edge honours passes from views up to ${n(r.passViewMaxAgeMs)} ms old)`,
    cohort === 1
      ? "  (every listener simulated)"
      : `  (counts are cohorts of ${cohort} multiplied back: a left pass served counts its whole cohort; the ` +
        `revocation list and the shards' reports hold ${n(r.revocationListSize)} listeners' worth)`,
  ];
}

function laneLines(r: Result, cohort: number): string[] {
  const lines = r.lines as Record<string, LineResult>;
  const rows = Object.entries(lines).map(([name, x]) => {
    const rule =
      x.strict === null
        ? "everyone else"
        : `${x.strict ? "strict priority" : `share ${x.share}`}, reserved ${n(x.reserved)}` +
          `${x.reserved === 0 ? "" : x.lend ? " (lent)" : " (kept)"}, cap ${x.cap === null ? "none" : n(x.cap)}`;
    return [
      `  ${name} (${rule}; ${x.shards} shard${x.shards === 1 ? "" : "s"})`,
      `    arrivals ${n(x.arrivals)}, admitted ${n(x.admitted)} (${n(x.admittedAtJoin)} as they joined), gave up ` +
        `${n(x.gaveUp)}, waiting at the end ${n(x.waitingAtEnd)}; peak live ${n(x.peakLive)}, at the end ${n(x.liveAtEnd)}`,
      `    live over its cap after ${n(x.capViolations)} operations` +
        (x.cap === null ? " (no cap)" : ` (by at most ${n(x.maxOverCap)}; must be 0)`),
      `    wait p50 ${x.waitP50Seconds} s, p90 ${x.waitP90Seconds} s, p99 ${x.waitP99Seconds} s, max ${x.waitMaxSeconds} s`,
      `    FIFO within the line when called: p99 ${x.fifoDisplacementP99Seconds} s, max ${x.fifoDisplacementMaxSeconds} s ` +
        `(${x.fifoDisplacedOver1sShare} of calls over 1 s, ${x.fifoOver1sBeyondOneSyncShare} with the one earlier still ` +
        `waiting a sync round later); when seated: p99 ${x.fifoDisplacementAtPassP99Seconds} s, ` +
        `max ${x.fifoDisplacementAtPassMaxSeconds} s`,
      `    estimate error over ${n(x.etaSamples)} who waited: p50 ${x.etaErrorP50}, p90 ${x.etaErrorP90}`,
    ];
  });
  return [
    `Lanes (${r.lanes}; a listener's line picked at arrival; the room's cap holds over all lines)`,
    ...rows.flat(),
    `  busiest shard ${r.busiestShard} (${r.busiestShardLine}) at second ${r.busiestShardAtSecond}; ` +
      `lane cap violations in all ${n(r.laneCapViolations)} (must be 0)` +
      (cohort === 1 ? "" : `; reserved seats and caps divided by ${cohort} like the capacity`),
  ];
}

function overflowLines(r: Result): string[] {
  return [
    `Overflow (maxWaitSeconds ${r.maxWaitSeconds ?? "none"}, maxQueue ${r.maxQueue ?? "none"}; ` +
      `${Number(r.keepPlaceShare) * 100} % of those offered keep a place when they may)`,
    `  offered the recording ${n(r.offeredRecording)} (max wait ${n(r.offeredRecordingForMaxWait)}, ` +
      `max queue ${n(r.offeredRecordingForMaxQueue)}, overflow mode ${n(r.offeredRecordingForMode)}); ` +
      `kept a place ${n(r.keptPlaceAfterOffer)}`,
    `  sent to the recording ${n(r.sentToRecording)}: ${n(r.sentToRecordingAtArrival)} at arrival ` +
      `(of ${n(r.arrivals)} arrivals; they never joined), ${n(r.sentToRecordingFromLine)} from the line`,
  ];
}

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
    `  left ${n(r.left)} (seat freed on the coordinator's confirmation for ${n(r.leftFreedOnConfirmation)}, ` +
      `at release for ${n(r.leftFreedAtExpiry)}, still held at the end ${n(r.leftSeatsHeldAtEnd)}), ` +
      `seats lost to expiry ${n(r.lostSeats)}`,
    `  capacity ${n(r.capacity)}, admitPerMinute ${n(r.admitPerMinute)}, peak live ${n(r.peakLive)}, 99 % full after ${r.secondsTo99PercentFull ?? "-"} s`,
    "",
    "Invariants",
    `  max live / capacity ${r.maxLiveOverCapacity} (checked after every operation; violations ${r.capViolations})`,
    `  FIFO displacement when called: p99 ${r.fifoDisplacementP99Seconds} s, max ${r.fifoDisplacementMaxSeconds} s` +
      ` (${r.fifoDisplacedOver1sShare} of calls over 1 s, ${r.fifoOver1sBeyondOneSyncShare} with the one earlier` +
      ` still waiting a sync round later; when seated, poll timing included: p99 ${r.fifoDisplacementAtPassP99Seconds} s)` +
      (w.lines === null ? "" : "; across lines, lanes go first by design: see each line below"),
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
  if (w.origin !== null) lines.push("", ...originLines(r, w.origin, w.o.isolates));
  if (w.overflow !== null) lines.push("", ...overflowLines(r));
  if (w.massLeave !== null) lines.push("", ...massLeaveLines(r, w.o.cohort));
  if (w.lines !== null) lines.push("", ...laneLines(r, w.o.cohort));
  lines.push(
    "",
    "Waits and estimates",
    `  wait p50 ${r.waitP50Seconds} s, p90 ${r.waitP90Seconds} s, p99 ${r.waitP99Seconds} s, max ${r.waitMaxSeconds} s (admitted listeners)`,
    `  estimate error |eta - wait| / max(wait, 1 s) over ${n(r.etaSamples)} who waited: p50 ${r.etaErrorP50}, p90 ${r.etaErrorP90}` +
      ` (against the time to their turn: p90 ${r.etaErrorToCallP90})`,
    `  position staleness |shown - now| / shown over ${n(r.positionStalenessSamples)} samples of waiting listeners ` +
      `(every ${SAMPLE_EVERY_S} s; shown: the position of their last answer, now: what a poll would be told from the ` +
      `freshest edge view, 0 once their turn came): p50 ${r.positionStalenessP50}, p90 ${r.positionStalenessP90}; ` +
      `age of the position shown p50 ${r.positionAgeP50Seconds} s, p90 ${r.positionAgeP90Seconds} s`,
    "",
    "Load",
    `  busiest Durable Object ${n(r.peakDoRequestsPerSecond)} req/s (shards ${n(r.peakShardRequestsPerSecond)}, coordinator ${n(r.peakCoordinatorRequestsPerSecond)})`,
    `  DO calls ${n(r.doRequests)} = joins ${n(r.doJoins)} + claims ${n(r.doClaims)} + heartbeats ${n(r.doRenews)} + leaves ${n(r.doLeaves)}` +
      ` + view reads ${n(r.doViewReads)} + syncs ${n(r.doSyncs)} + alarms ${n(r.doAlarms)}` +
      (r.doOriginReports === undefined ? "" : ` + origin reports ${n(r.doOriginReports)}`),
    `  ${r.doCallsPerListener} DO calls per listener; ${n(r.edgePolls)} waiting polls answered at the edge, ` +
      `${r.doCallsPerWaitingPoll} DO calls per waiting poll`,
    "",
    "Cost (list prices, beyond included usage)",
    `  $${r.costUsd} = Workers requests $${r.costWorkersUsd} (${n(r.workerRequests)} × $${PRICES.workerRequestPerMillion}/M)` +
      ` + DO requests $${r.costDoRequestsUsd} (× $${PRICES.doRequestPerMillion}/M)` +
      ` + DO duration $${r.costDoDurationUsd} (${w.layout.size}+1 objects × 128 MB × ${r.simulatedSeconds} s × $${PRICES.doGbSecondPerMillion}/M GB-s)` +
      ` + SQLite rows $${r.costRowsUsd} (${n(r.rowsRead)} read, ${n(r.rowsWritten)} written)`,
    `  $${r.costPerMillionListenersUsd} per million listeners, $${r.costPerMillionAdmittedUsd} per million admitted`,
  );
  return lines.join("\n");
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Mode, AdmissionLimits, Timings } from "../../src/admission/config.ts";
import { EDGE_VIEW_TTL_MS, Ledger } from "../../src/admission/ledger.ts";
import { MemoryLedgerStore } from "../../src/admission/memory-store.ts";
import { burstOf } from "../../src/admission/rate.ts";

const T0 = 1_700_000_000_000;
// Tickets outlive every simulated run, so a spent listener stays spent.
const timings: Timings = { passTtlMs: 60_000, claimWindowMs: 30_000, ticketTtlMs: 24 * 3_600_000 };

type Cmd =
  | { t: "join" }
  | { t: "rejoin"; who: number }
  | { t: "claim"; who: number }
  | { t: "claimAll" }
  | { t: "renew"; who: number }
  | { t: "leave"; who: number }
  | { t: "wait"; ms: number }
  | { t: "settle" }
  | { t: "config"; capacity: number; admitPerMinute: number | null; mode: Mode }
  | { t: "restart" };

const who = fc.nat({ max: 1_000 });
const modeArb = fc.constantFrom<Mode>("open", "open", "open", "hold", "closed");

function commandArb(fixedRate: boolean, maxCapacity: number): fc.Arbitrary<Cmd> {
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant<Cmd>({ t: "join" }) },
    { weight: 1, arbitrary: who.map<Cmd>((w) => ({ t: "rejoin", who: w })) },
    { weight: 6, arbitrary: who.map<Cmd>((w) => ({ t: "claim", who: w })) },
    { weight: 3, arbitrary: fc.constant<Cmd>({ t: "claimAll" }) },
    { weight: 2, arbitrary: who.map<Cmd>((w) => ({ t: "renew", who: w })) },
    { weight: 2, arbitrary: who.map<Cmd>((w) => ({ t: "leave", who: w })) },
    {
      weight: 5,
      arbitrary: fc
        .oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 90_000 }))
        .map<Cmd>((ms) => ({ t: "wait", ms })),
    },
    { weight: 2, arbitrary: fc.constant<Cmd>({ t: "settle" }) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          capacity: fc.integer({ min: 0, max: maxCapacity }),
          admitPerMinute: fixedRate ? fc.constant(null) : fc.integer({ min: 1, max: 120 }),
          mode: modeArb,
        })
        .map<Cmd>((r) => ({ t: "config", ...r })),
    },
    { weight: 1, arbitrary: fc.constant<Cmd>({ t: "restart" }) },
  );
}

interface Listener {
  sub: string;
  seq: number;
}

interface PassState {
  /** The latest expiry of any pass issued for this lease. */
  exp: number;
  leftAt: number | null;
  revoked: boolean;
}

interface RunLog {
  /** Times of fresh admissions. */
  admissions: number[];
  /** Times a rate token was spent: one per call, one per late claim. */
  spends: number[];
}

/**
 * Runs the commands against a Ledger on a MemoryLedgerStore, checking the
 * invariants after every step. Returns the admission and token-spend times.
 */
function run(initial: AdmissionLimits, cmds: Cmd[]): RunLog {
  const store = new MemoryLedgerStore();
  let ids = 0;
  const deps = { newId: () => `sid-${++ids}` };
  let config = initial;
  let now = T0;
  let ledger = new Ledger(store, config, timings, deps, now);

  const listeners: Listener[] = [];
  const seqsSeen = new Set<number>();
  const freshSid = new Map<string, string>(); // sub -> the one lease it was ever granted
  const passes = new Map<string, PassState>();
  const log: RunLog = { admissions: [], spends: [] };

  const pick = (w: number): Listener | undefined =>
    listeners.length === 0 ? undefined : listeners[w % listeners.length];

  /** Distinct leases with a pass an edge would still accept at `t`. */
  const usablePasses = (t: number): number => {
    let n = 0;
    for (const p of passes.values()) {
      if (p.exp <= t) continue;
      if (p.leftAt !== null && p.revoked && t >= p.leftAt + EDGE_VIEW_TTL_MS) continue;
      n++;
    }
    return n;
  };

  const onClaim = (
    l: Listener,
    out: ReturnType<Ledger["claim"]>,
    before: { admittedTotal: number; cursor: number },
  ) => {
    if (out.kind !== "admitted") return;
    const lease = out.lease;
    expect(lease.sub).toBe(l.sub);
    if (out.fresh) {
      // A listener is granted at most one lease, ever (retries and spent tickets included).
      expect(freshSid.has(l.sub)).toBe(false);
      freshSid.set(l.sub, lease.sid);
      expect(passes.has(lease.sid)).toBe(false);
      passes.set(lease.sid, { exp: lease.expiresAt, leftAt: null, revoked: false });
      // FIFO: only called numbers get seats.
      expect(lease.seq).toBeLessThanOrEqual(ledger.counters.cursor);
      // Strict cap, counted in the store and in passes the edge would accept.
      expect(store.leases.size).toBeLessThanOrEqual(config.capacity);
      expect(usablePasses(now)).toBeLessThanOrEqual(config.capacity);
      expect(ledger.counters.admittedTotal).toBe(before.admittedTotal + 1);
      log.admissions.push(now);
    } else {
      // A retry returns the listener's one lease and takes nothing.
      expect(lease.sid).toBe(freshSid.get(l.sub));
      expect(ledger.counters.admittedTotal).toBe(before.admittedTotal);
    }
  };

  for (const cmd of cmds) {
    const before = structuredClone(ledger.counters);
    const sizeBefore = store.leases.size;

    switch (cmd.t) {
      case "join":
      case "rejoin": {
        let l: Listener;
        if (cmd.t === "join") {
          l = { sub: `u${listeners.length}`, seq: 0 };
          listeners.push(l);
        } else {
          const found = pick(cmd.who);
          if (found === undefined) break;
          l = found;
        }
        const out = ledger.join(l.sub, now);
        expect(out.seq).toBe(before.tail + 1);
        expect(seqsSeen.has(out.seq)).toBe(false);
        seqsSeen.add(out.seq);
        l.seq = out.seq;
        onClaim(l, out.claim, before);
        break;
      }
      case "claim": {
        const l = pick(cmd.who);
        if (l === undefined) break;
        onClaim(l, ledger.claim(l.sub, l.seq, now), before);
        break;
      }
      case "claimAll": {
        // Everyone whose turn has come polls at the same instant.
        for (const l of listeners) {
          if (l.seq > ledger.counters.cursor) continue;
          const beforeOne = structuredClone(ledger.counters);
          onClaim(l, ledger.claim(l.sub, l.seq, now), beforeOne);
        }
        break;
      }
      case "renew": {
        const l = pick(cmd.who);
        if (l === undefined) break;
        const sid = freshSid.get(l.sub) ?? "no-such-sid";
        const out = ledger.renew(sid, l.sub, now);
        if (out.kind === "renewed") {
          const p = passes.get(sid);
          expect(p).toBeDefined();
          expect(p!.leftAt).toBeNull();
          expect(p!.exp).toBeGreaterThan(now); // an expired pass is never revived
          expect(out.lease.sid).toBe(sid);
          p!.exp = Math.max(p!.exp, out.lease.expiresAt);
        }
        break;
      }
      case "leave": {
        const l = pick(cmd.who);
        if (l === undefined) break;
        const sid = freshSid.get(l.sub) ?? "no-such-sid";
        if (ledger.leave(sid, l.sub, now)) {
          const p = passes.get(sid)!;
          expect(p.leftAt).toBeNull();
          p.leftAt = now;
          p.revoked = ledger.view(now).revoked.includes(sid);
        }
        break;
      }
      case "wait":
        now += cmd.ms;
        break;
      case "settle":
        ledger.settle(now);
        break;
      case "config":
        config = {
          capacity: cmd.capacity,
          admitPerMinute: cmd.admitPerMinute ?? config.admitPerMinute,
          mode: cmd.mode,
        };
        ledger.setConfig(config, now);
        break;
      case "restart": {
        const saved = store.loadCounters();
        const next = new Ledger(store, config, timings, deps, now);
        // Nothing lost: every operation saved its state, and a new instance starts from it.
        if (saved !== null) {
          expect(saved).toEqual(ledger.counters);
          expect(next.counters).toEqual(saved);
        }
        ledger = next;
        break;
      }
    }

    const c = ledger.counters;
    // Counters agree with the store.
    expect(c.live).toBe(store.leases.size);
    let outstanding = 0;
    for (const b of store.batches.values()) {
      expect(b.outstanding).toBeGreaterThanOrEqual(0);
      outstanding += b.outstanding;
    }
    expect(c.reserved).toBe(outstanding);
    expect(c.reserved).toBeGreaterThanOrEqual(0);
    // Lowering capacity never evicts, and nothing grows past the cap.
    expect(store.leases.size).toBeLessThanOrEqual(Math.max(config.capacity, sizeBefore));
    // One lease per listener.
    const subs = [...store.leases.values()].map((l) => l.sub);
    expect(new Set(subs).size).toBe(subs.length);
    // The queue only moves forward, and never past its tail.
    expect(c.cursor).toBeGreaterThanOrEqual(before.cursor);
    expect(c.cursor).toBeLessThanOrEqual(c.tail);
    expect(c.tail).toBeGreaterThanOrEqual(before.tail);
    for (const lease of store.leases.values()) expect(lease.seq).toBeLessThanOrEqual(c.cursor);
    // Seats are only ever reserved within capacity.
    expect(c.live + c.reserved).toBeLessThanOrEqual(Math.max(config.capacity, before.live + before.reserved));

    // Rate tokens spent in this step: every call, plus every claim that did not use a reservation.
    const calls = c.cursor - before.cursor;
    const abandoned = c.abandoned - before.abandoned;
    const consumed = before.reserved + calls - abandoned - c.reserved;
    const fresh = c.admittedTotal - before.admittedTotal;
    expect(consumed).toBeGreaterThanOrEqual(0);
    expect(consumed).toBeLessThanOrEqual(fresh);
    for (let i = 0; i < calls + (fresh - consumed); i++) log.spends.push(now);
  }
  return log;
}

/** The most events in any window [t, t + 60 s). */
function maxPerMinute(times: number[]): number {
  let max = 0;
  for (const start of times) {
    const n = times.filter((t) => t >= start && t < start + 60_000).length;
    if (n > max) max = n;
  }
  return max;
}

const configArb = (maxCapacity: number) =>
  fc.record({
    capacity: fc.integer({ min: 0, max: maxCapacity }),
    admitPerMinute: fc.integer({ min: 1, max: 120 }),
    mode: modeArb,
  });

// Small rooms stress the cap; large rooms let the rate be the limit.
const SMALL = 6;
const LARGE = 60;

describe("Ledger under random interleavings", () => {
  it("keeps the cap, the queue order, one seat per listener and consistent counters", () => {
    fc.assert(
      fc.property(
        configArb(SMALL),
        fc.array(commandArb(false, SMALL), { minLength: 1, maxLength: 80, size: "max" }),
        (config, cmds) => {
          run(config, cmds);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("spends at most admitPerMinute + burst rate tokens in any 60 s", () => {
    fc.assert(
      fc.property(
        configArb(LARGE),
        fc.array(commandArb(true, LARGE), { minLength: 1, maxLength: 150, size: "max" }),
        (config, cmds) => {
          const log = run(config, cmds);
          expect(maxPerMinute(log.spends)).toBeLessThanOrEqual(config.admitPerMinute + burstOf(config.admitPerMinute));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("grants at most admitPerMinute + burst fresh admissions in any 60 s", () => {
    fc.assert(
      fc.property(
        configArb(LARGE),
        fc.array(commandArb(true, LARGE), { minLength: 1, maxLength: 150, size: "max" }),
        (config, cmds) => {
          const log = run(config, cmds);
          expect(maxPerMinute(log.admissions)).toBeLessThanOrEqual(
            config.admitPerMinute + burstOf(config.admitPerMinute),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

interface Crowd {
  admitPerMinute: number;
  capacity: number;
  /** Per listener: when it joins (ms after start) and how long it takes to claim once called. */
  listeners: { joinAt: number; claimDelay: number }[];
  /** When the room opens (ms after start); it holds before. */
  opensAt: number;
  ticks: number[];
}

const crowdArb: fc.Arbitrary<Crowd> = fc.record({
  admitPerMinute: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 120 })),
  capacity: fc.integer({ min: 1, max: 100 }),
  listeners: fc.array(
    fc.record({
      joinAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120_000 })),
      claimDelay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 35_000 })),
    }),
    { minLength: 10, maxLength: 80, size: "max" },
  ),
  opensAt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60_000 })),
  ticks: fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 10, maxLength: 60, size: "max" }),
});

/** Listeners join, get called and claim after their own delay; returns call and admission times. */
function runCrowd(crowd: Crowd): { calls: number[]; admissions: number[] } {
  const store = new MemoryLedgerStore();
  let ids = 0;
  const deps = { newId: () => `sid-${++ids}` };
  const open: AdmissionLimits = { capacity: crowd.capacity, admitPerMinute: crowd.admitPerMinute, mode: "open" };
  let now = T0;
  const ledger = new Ledger(store, crowd.opensAt === 0 ? open : { ...open, mode: "hold" }, timings, deps, now);
  const state = crowd.listeners.map(() => ({ seq: 0, calledAt: null as number | null, done: false }));
  const calls: number[] = [];
  const admissions: number[] = [];
  let cursor = 0;

  const observe = () => {
    const c = ledger.counters;
    for (let i = cursor; i < c.cursor; i++) calls.push(now);
    cursor = c.cursor;
    for (const s of state) if (s.seq > 0 && s.calledAt === null && s.seq <= c.cursor) s.calledAt = now;
    expect(store.leases.size).toBeLessThanOrEqual(crowd.capacity);
  };

  let opened = crowd.opensAt === 0;
  for (const tick of crowd.ticks) {
    now += tick;
    if (!opened && now >= T0 + crowd.opensAt) {
      ledger.setConfig(open, now);
      opened = true;
    } else {
      ledger.settle(now);
    }
    observe();
    crowd.listeners.forEach((l, i) => {
      const s = state[i]!;
      if (s.seq === 0 && now >= T0 + l.joinAt) {
        const out = ledger.join(`c${i}`, now);
        s.seq = out.seq;
        if (out.claim.kind === "admitted" && out.claim.fresh) {
          admissions.push(now);
          s.done = true;
        }
        observe();
      }
    });
    crowd.listeners.forEach((l, i) => {
      const s = state[i]!;
      if (s.done || s.calledAt === null || now < s.calledAt + l.claimDelay) return;
      const out = ledger.claim(`c${i}`, s.seq, now);
      if (out.kind === "admitted") {
        if (out.fresh) admissions.push(now);
        s.done = true;
      }
      observe();
    });
  }
  return { calls, admissions };
}

describe("Ledger with a crowd of listeners who claim after their own delay", () => {
  it("calls at most admitPerMinute + burst listeners in any 60 s", () => {
    fc.assert(
      fc.property(crowdArb, (crowd) => {
        const { calls } = runCrowd(crowd);
        expect(maxPerMinute(calls)).toBeLessThanOrEqual(crowd.admitPerMinute + burstOf(crowd.admitPerMinute));
      }),
      // Shrinking a crowd is slow: report the smallest case found within the limit.
      { numRuns: 400, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false },
    );
  });

  it("grants at most admitPerMinute + burst fresh admissions in any 60 s", () => {
    fc.assert(
      fc.property(crowdArb, (crowd) => {
        const { admissions } = runCrowd(crowd);
        expect(maxPerMinute(admissions)).toBeLessThanOrEqual(crowd.admitPerMinute + burstOf(crowd.admitPerMinute));
      }),
      // Shrinking a crowd is slow: report the smallest case found within the limit.
      { numRuns: 400, interruptAfterTimeLimit: 4_000, markInterruptAsFailure: false },
    );
  });
});

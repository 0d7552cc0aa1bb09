/**
 * Lanes in the simulator (src/policy/lanes.ts): the lines a room's listeners
 * stand in, where their shards are, and what is measured per line.
 *
 * - Line 0 is the general line; line k is the room's k-th lane in rank
 *   order (the first outranks the rest). A listener picks its line as it
 *   arrives (seeded, by the scenario's shares) and joins its line's shard
 *   the way the edge routes it (desk.ts): `laneShard(slot, shardOf(sub,
 *   lane.shards))` for a lane, `shardOf(sub, shards)` for the general line,
 *   with the slots the RoomCoordinator gives a new room's lanes
 *   (`assignSlots({}, lanes)`).
 * - The world keeps its shards in one array (its shells): the general
 *   shards first, at their own indices, then each lane's shards. A
 *   listener's `shard` is its shard's place in that array (`pos`); the
 *   policy code sees the real index (`indexAt(pos)`).
 * - Per line: live seats after every operation against the lane's cap (in
 *   force at every step; a lane without one is never over it), waits from
 *   arrival to seat, the honesty of the estimate told at join, and first in
 *   first out within the line (lanes go ahead of the general line by
 *   design, so displacement across lines says nothing).
 *
 * With a cohort of w, a lane's reserved seats and cap are divided by w (and
 * rounded) like the room's capacity. Not modelled with lanes: the overflow
 * rules (the simulated edge would apply them to lane listeners too).
 */
import { assignSlots, GENERAL, laneShard, type Lanes } from "../src/policy/lanes.ts";
import { shardOf } from "../src/policy/shard.ts";
import { FifoTracker, type Listeners, NEVER, WAITING } from "./listeners.ts";

/** A room's lanes and who stands in them. */
export interface LaneModel {
  /** The room's lanes by name, in rank order, in real listeners (the simulator divides by its cohort). */
  lanes: Lanes;
  /** Each lane's share of arrivals (the rest join the general line). */
  shares: Record<string, number>;
}

/** Where each line's shards are, and how a listener finds its line and shard. */
export class LineLayout {
  /** Line names: "general", then the lanes in rank order. */
  readonly names: string[];
  /** Per line: its slot (0: the general line) and shard count. */
  readonly slots: number[];
  readonly shards: number[];
  /** Per line: the place of its first shard in the world's shells. */
  readonly firstPos: number[];
  /** Per line: its cap in simulated listeners (null: none; the general line has none). */
  readonly caps: (number | null)[];
  /** Per line: its reserved seats in simulated listeners. */
  readonly reserved: number[];
  /** Per shard place: the real shard index, and its line. */
  readonly #index: number[] = [];
  readonly lineOfPos: number[] = [];
  /** Cumulative arrival shares of the lanes (line k at [k-1]). */
  readonly #cumulative: number[] = [];
  /** The lanes and their slots as the coordinator gets them (scaled to cohorts); empty without lanes. */
  readonly config: { lanes?: Lanes; laneSlots?: Record<string, number> };

  constructor(model: LaneModel | null, generalShards: number, cohort: number) {
    const lanes = model?.lanes ?? {};
    const scaled: Lanes = {};
    const scale = (n: number) => Math.round(n / cohort);
    for (const [name, s] of Object.entries(lanes)) {
      scaled[name] = { ...s, reserved: scale(s.reserved), cap: s.cap === null ? null : Math.max(1, scale(s.cap)) };
    }
    const slots = assignSlots({}, scaled);
    this.names = [GENERAL, ...Object.keys(scaled)];
    this.slots = [0, ...Object.keys(scaled).map((name) => slots[name]!)];
    this.shards = [generalShards, ...Object.values(scaled).map((s) => s.shards)];
    this.caps = [null, ...Object.values(scaled).map((s) => s.cap)];
    this.reserved = [0, ...Object.values(scaled).map((s) => s.reserved)];
    this.firstPos = [];
    for (let line = 0; line < this.names.length; line++) {
      this.firstPos.push(this.#index.length);
      for (let i = 0; i < this.shards[line]!; i++) {
        this.#index.push(laneShard(this.slots[line]!, i));
        this.lineOfPos.push(line);
      }
    }
    let sum = 0;
    for (const name of Object.keys(scaled)) {
      sum += model?.shares[name] ?? 0;
      this.#cumulative.push(sum);
    }
    if (sum > 1) throw new Error("lane shares add up to more than 1");
    this.config = model === null ? {} : { lanes: scaled, laneSlots: slots };
  }

  /** Shards in all (general and lanes'). */
  get size(): number {
    return this.#index.length;
  }

  get hasLanes(): boolean {
    return this.names.length > 1;
  }

  /** The real shard index at place `pos`. */
  indexAt(pos: number): number {
    return this.#index[pos]!;
  }

  /** The line of an arrival, from a uniform draw `u` in [0, 1). */
  pick(u: number): number {
    for (let k = 0; k < this.#cumulative.length; k++) if (u < this.#cumulative[k]!) return k + 1;
    return 0;
  }

  /** The place of the shard listener `sub` of `line` joins. */
  posOf(line: number, sub: string): number {
    return this.firstPos[line]! + shardOf(sub, this.shards[line]!);
  }
}

/**
 * The uniform draws that pick arrivals' lines: a stream of its own
 * (mulberry32 of the seed), so a seed puts the same listeners in the same
 * lanes whatever else the run does (lane settings change the network's and
 * the polls' draws, and so would change who arrives in which lane).
 */
export function lineDraws(seed: number): () => number {
  let a = (seed ^ 0x6c616e65) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What is measured of one line. */
export class LineMeasures {
  /** Seats held now, and at most (simulated listeners). */
  live = 0;
  peakLive = 0;
  /** Operations after which the line held more seats than its cap. */
  capViolations = 0;
  /** The most seats held over its cap (0: never over). */
  maxOverCap = 0;
  arrived = 0;
  admitted = 0;
  admittedAtJoin = 0;
  gaveUp = 0;
  /** Admitted listeners' waits, arrival to seat (s). */
  readonly waits: Float32Array;
  nWaits = 0;
  /** |eta − wait| / max(wait, 1 s) of those told an estimate at join. */
  readonly etaErrors: Float32Array;
  nEta = 0;
  noEta = 0;
  /** First in first out within the line: when called, and when seated. */
  readonly fifoCall: FifoTracker;
  readonly fifoPass: FifoTracker;

  constructor(l: Listeners, line: number, size: number) {
    this.waits = new Float32Array(size);
    this.etaErrors = new Float32Array(size);
    this.fifoCall = new FifoTracker(l, (id) => l.calledAt[id] !== NEVER, -1, line);
    this.fifoPass = new FifoTracker(l, (id) => l.admittedAt[id] !== NEVER, -1, line);
  }
}

/** The measures of every line, fed by the world and its call tracker. */
export class LineStats {
  readonly layout: LineLayout;
  readonly lines: LineMeasures[];
  readonly #l: Listeners;

  constructor(layout: LineLayout, l: Listeners) {
    this.layout = layout;
    this.#l = l;
    this.lines = layout.names.map((_, line) => new LineMeasures(l, line, l.size));
  }

  arrived(id: number): void {
    this.lines[this.#l.line[id]!]!.arrived += 1;
  }

  gaveUp(id: number): void {
    this.lines[this.#l.line[id]!]!.gaveUp += 1;
  }

  /** Live seats of the shard at `pos` changed by `delta`: check its line's cap. */
  liveChanged(pos: number, delta: number): void {
    const line = this.layout.lineOfPos[pos]!;
    const m = this.lines[line]!;
    m.live += delta;
    if (m.live > m.peakLive) m.peakLive = m.live;
    const cap = this.layout.caps[line];
    if (cap !== null && cap !== undefined && m.live > cap) {
      m.capViolations += 1;
      m.maxOverCap = Math.max(m.maxOverCap, m.live - cap);
    }
  }

  /** Listeners `ids[from..to)` of the shard at `pos` were called at `t`. */
  called(pos: number, ids: ArrayLike<number>, from: number, to: number, t: number): void {
    this.lines[this.layout.lineOfPos[pos]!]!.fifoCall.record(ids, from, to, t);
  }

  /** Listener `id` was seated at `t`. */
  admitted(id: number, t: number, atJoin: boolean): void {
    const l = this.#l;
    const m = this.lines[l.line[id]!]!;
    m.admitted += 1;
    const wait = (t - l.at[id]!) / 1000;
    m.waits[m.nWaits++] = wait;
    m.fifoPass.one(id, t);
    if (atJoin) m.admittedAtJoin += 1;
    else if (Number.isNaN(l.etaAtJoin[id]!)) m.noEta += 1;
    else m.etaErrors[m.nEta++] = Math.abs(l.etaAtJoin[id]! - wait) / Math.max(wait, 1);
  }

  /** Per line: listeners waiting now (joined, neither seated nor gone). */
  waiting(): number[] {
    const l = this.#l;
    const n = this.lines.map(() => 0);
    for (let id = 0; id < l.reached; id++) if (l.state[id] === WAITING) n[l.line[id]!]! += 1;
    return n;
  }
}

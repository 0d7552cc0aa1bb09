/**
 * `spillway watch <room>`: a room's numbers, refreshed every few seconds.
 *
 * Three ways to show them, picked by where the output goes:
 * - a terminal: one frame, redrawn in place with ANSI cursor moves (the last
 *   frame stays on screen after Ctrl-C, so it can be read or pasted);
 * - a pipe or file: one key=value line per refresh, a log that greps well;
 * - --json: the stats JSON, one line per refresh (NDJSON for jq).
 *
 * A first failed refresh ends the watch (the URL or the token is wrong); a
 * later one is shown and retried, so a blip in the network during an event
 * does not take the operator's view away.
 */
import { setTimeout as delay } from "node:timers/promises";
import type { AdminClient, WatchedStats } from "./admin-client.ts";
import { bar, count, factor, percent, rate, utc } from "./format.ts";

/** Where text goes: process.stdout, or a capture in tests. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface WatchOptions {
  client: Pick<AdminClient, "stats" | "origin">;
  room: string;
  intervalMs: number;
  /** One refresh, then return. */
  once: boolean;
  json: boolean;
  out: Output;
  /** Problems in the pipe and JSON modes (stdout carries only the numbers there). */
  err: Output;
  /** Ctrl-C: stop after the refresh in flight, keeping the last frame. */
  signal?: AbortSignal;
  now?: () => Date;
}

interface View {
  show(stats: WatchedStats, raw: unknown, at: Date): void;
  /** A refresh failed after an earlier one worked; the view keeps what it has. */
  problem(message: string, at: Date): void;
  close(interrupted: boolean): void;
}

/** Watch until `once` is done or the signal aborts; a first failed refresh rejects. */
export async function watchRoom(options: WatchOptions): Promise<void> {
  const { client, room, signal } = options;
  const now = options.now ?? (() => new Date());
  const view = viewFor(options);
  let shown = false;
  try {
    while (signal?.aborted !== true) {
      const started = Date.now();
      try {
        const { data, raw } = await client.stats(room);
        view.show(data, raw, now());
        shown = true;
      } catch (err) {
        if (signal?.aborted) break;
        if (!shown || options.once) throw err;
        view.problem(err instanceof Error ? err.message : String(err), now());
      }
      if (options.once) break;
      if (!(await sleep(options.intervalMs - (Date.now() - started), signal))) break;
    }
  } finally {
    view.close(signal?.aborted === true);
  }
}

/** False when the signal aborted the wait. */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await delay(Math.max(0, ms), undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function viewFor(options: WatchOptions): View {
  if (options.json) return jsonView(options.out, options.err);
  if (options.out.isTTY === true) return new LiveView(options, options.out);
  return lineView(options.out, options.err);
}

function jsonView(out: Output, err: Output): View {
  return {
    show: (_stats, raw) => out.write(`${JSON.stringify(raw)}\n`),
    problem: (message, at) => err.write(`${at.toISOString()} ${message}\n`),
    close: () => {},
  };
}

function lineView(out: Output, err: Output): View {
  return {
    show: (stats, _raw, at) => out.write(`${statsLine(stats, at)}\n`),
    problem: (message, at) => err.write(`${at.toISOString()} ${message}\n`),
    close: () => {},
  };
}

/** One refresh as a log line: key=value pairs with raw numbers, and the bar. */
export function statsLine(s: WatchedStats, at: Date): string {
  return [
    at.toISOString(),
    s.room,
    `live=${s.active}`,
    `capacity=${s.capacity}`,
    `effective=${s.effectiveCapacity}`,
    bar(s.active, s.capacity, 20, s.effectiveCapacity),
    percent(s.active, s.capacity),
    `queued=${s.queued}`,
    `prequeued=${s.prequeued}`,
    `called=${s.called}`,
    `admissions/min=${s.admissionsPerMinute}`,
    `arrivals/min=${s.arrivalsPerMinute}`,
    `mode=${s.mode}`,
    `origin.factor=${s.origin.factor}`,
    `origin.distress=${s.origin.distress}`,
    `peak=${s.peakConcurrent}`,
  ].join(" ");
}

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_SCREEN = "\x1b[H\x1b[2J";
/** Up `n` lines to the frame's first line, then clear from there to the end of the screen. */
const backOver = (n: number): string => (n > 0 ? `\x1b[${n}A\r\x1b[J` : "");

/** The terminal view: the frame is redrawn over itself, lines cut to the width so none wraps. */
class LiveView implements View {
  readonly #options: WatchOptions;
  readonly #out: Output;
  #lines = 0;
  #columns = 0;
  #last: { stats: WatchedStats; at: Date } | null = null;

  constructor(options: WatchOptions, out: Output) {
    this.#options = options;
    this.#out = out;
    out.write(HIDE_CURSOR);
  }

  show(stats: WatchedStats, _raw: unknown, at: Date): void {
    this.#last = { stats, at };
    this.#draw(this.#frame(stats, at, null));
  }

  problem(message: string, at: Date): void {
    if (this.#last === null) return;
    const stale = `! ${timeOfDay(at)} ${message} (the numbers are from ${timeOfDay(this.#last.at)}; retrying)`;
    this.#draw(this.#frame(this.#last.stats, this.#last.at, stale));
  }

  close(interrupted: boolean): void {
    // After ^C the terminal's echo sits on the line below the frame; keep the prompt off it.
    this.#out.write(`${SHOW_CURSOR}${interrupted ? "\n" : ""}`);
  }

  #frame(stats: WatchedStats, at: Date, problem: string | null): string[] {
    const { client, intervalMs, once } = this.#options;
    const every = once ? "" : ` · every ${intervalMs / 1000} s · Ctrl-C quits`;
    const lines = [`${stats.room} at ${client.origin} · ${timeOfDay(at)} UTC${every}`, "", ...statsFrame(stats)];
    if (problem !== null) lines.push("", problem);
    return lines;
  }

  #draw(frame: string[]): void {
    const columns = this.#out.columns ?? 80;
    const width = Math.max(20, columns - 1);
    const lines = frame.flatMap((l) => l.split("\n")).map((l) => (l.length > width ? l.slice(0, width) : l));
    // A resized terminal rewraps the old frame, so counting lines back over it no longer works.
    const start = this.#lines > 0 && columns !== this.#columns ? CLEAR_SCREEN : backOver(this.#lines);
    this.#out.write(`${start}${lines.join("\n")}\n`);
    this.#lines = lines.length;
    this.#columns = columns;
  }
}

function timeOfDay(at: Date): string {
  return at.toISOString().slice(11, 19);
}

/** The body of a terminal frame: one labelled line per aspect of the room. */
export function statsFrame(s: WatchedStats): string[] {
  const cut = s.effectiveCapacity < s.capacity;
  const seats = `${count(s.active)} of ${count(s.capacity)} seats`;
  const capacity = cut
    ? `${count(s.capacity)} configured, ${count(s.effectiveCapacity)} in force ("|" on the bar)`
    : `${count(s.capacity)} (all in force)`;
  const allowed =
    `${rate(s.effectiveAdmitPerMinute)} allowed` +
    (s.effectiveAdmitPerMinute < s.admitPerMinute ? ` of ${rate(s.admitPerMinute)} configured` : "");
  const origin =
    s.origin.factor < 1
      ? `struggling: factor ${factor(s.origin.factor)}, ${count(s.origin.distress)} distress reports`
      : `healthy: factor 1, ${count(s.origin.distress)} distress reports`;
  const queue =
    `${count(s.queued)} waiting, ${count(s.called)} called` +
    (s.prequeued > 0 ? `, ${count(s.prequeued)} waiting for the start` : "");
  const rows: [string, string][] = [
    ["live", `${seats}  ${bar(s.active, s.capacity, 30, s.effectiveCapacity)}  ${percent(s.active, s.capacity)}`],
    ["capacity", capacity],
    ["queued", queue],
    ["admitting", `${rate(s.admissionsPerMinute)}/min (${allowed})`],
    ["arriving", `${rate(s.arrivalsPerMinute)}/min`],
    ["mode", s.mode],
    ["origin", origin],
    ["peak", s.peakAt === null ? "none yet" : `${count(s.peakConcurrent)} at ${utc(s.peakAt)}`],
  ];
  return rows.map(([label, text]) => `  ${label.padEnd(11)}${text}`);
}

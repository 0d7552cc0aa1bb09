/**
 * Each function's own instructions in a callgrind dump, a request, with the
 * JavaScript's compiled code named: callgrind knows V8's code only by its
 * address (`???:0x…`), and V8's `--perf-basic-prof` writes a map of the code
 * it compiled (`/tmp/perf-<pid>.map`: start, size and name, in hex, a line
 * each). Code space is reused, so an address is named by the last code
 * written there.
 */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

interface CodeRange {
  start: bigint;
  end: bigint;
  name: string;
}

/** V8's perf map: its code ranges, the latest first. */
export async function readPerfMap(path: string): Promise<CodeRange[]> {
  const ranges: CodeRange[] = [];
  for (const line of (await readFile(path, "utf8")).split("\n")) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/i.exec(line);
    if (m === null) continue;
    const start = BigInt(`0x${m[1]}`);
    ranges.push({ start, end: start + BigInt(`0x${m[2]}`), name: m[3]! });
  }
  return ranges.reverse();
}

/** The name of the code at `address`, by the map; null when it names none there. */
export function codeAt(ranges: CodeRange[], address: bigint): string | null {
  return ranges.find((r) => address >= r.start && address < r.end)?.name ?? null;
}

/**
 * The counts a callgrind dump sums up: its `events:` line's names, each with
 * its number on the `summary:` line (`Ir`, instructions, always first).
 * Callgrind's format lets a line of counts leave out the zeros at its end.
 * Throws when the dump has no such lines, or a count is not a number.
 */
export function summaryEvents(dump: string, label = "the dump"): Record<string, number> {
  const names = /^events: (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/);
  const values = /^summary: (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/);
  if (names === undefined || values === undefined || names[0] !== "Ir" || values.length > names.length) {
    throw new Error(`callgrind's dump for ${label} has no events and summary lines of counts`);
  }
  const counts = values.map((v) => (/^\d+$/.test(v) ? Number(v) : NaN));
  if (counts.some(Number.isNaN)) throw new Error(`callgrind's dump for ${label} has a summary that is not counts`);
  return Object.fromEntries(names.map((name, i) => [name, counts[i] ?? 0]));
}

/** One function's own count. */
export interface FunctionCount {
  /** Instructions a request. */
  perRequest: number;
  name: string;
}

/** What `callgrind_annotate` prints for each function: its own count, then `file:function [object]`. */
const LINE = /^\s*([\d,]+)\s+\([^)]*\)\s+(.+?)\s*$/;
const ADDRESS = /\?\?\?:0x([0-9a-f]+)/i;

/**
 * The functions of `dump` that ran at least `floor` instructions a request
 * (the dump counted `requests`), most first, named by `ranges`.
 */
export function functionCounts(dump: string, requests: number, ranges: CodeRange[], floor = 50): FunctionCount[] {
  const text = execFileSync("callgrind_annotate", ["--inclusive=no", "--threshold=100", "--show=Ir", dump], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const total = Number(/^\s*([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS/m.exec(text)?.[1]?.replaceAll(",", "") ?? NaN);
  if (Number.isNaN(total)) throw new Error(`callgrind_annotate printed no program total for ${dump}`);
  const table = text.slice(text.indexOf("file:function"));
  const counts = new Map<string, number>();
  for (const line of table.split("\n")) {
    const m = LINE.exec(line);
    if (m === null || m[2] === "PROGRAM TOTALS") continue;
    const own = Number(m[1]!.replaceAll(",", ""));
    // Collected only inside the request handler, callgrind also lists the frames the handler ran
    // under (main, the event loop) with the program's whole count: no function's own.
    if (own >= total) continue;
    let name = m[2]!;
    const address = ADDRESS.exec(name);
    if (address !== null) {
      const code = codeAt(ranges, BigInt(`0x${address[1]}`));
      if (code !== null) name = code;
    }
    // The object a function is in, by its file's name alone.
    name = name.replace(/\[[^\]]*\/([^/\]]+)\]$/, "[$1]");
    counts.set(name, (counts.get(name) ?? 0) + own / requests);
  }
  return [...counts]
    .map(([name, perRequest]) => ({ name, perRequest }))
    .filter((f) => f.perRequest >= floor)
    .sort((a, b) => b.perRequest - a.perRequest);
}

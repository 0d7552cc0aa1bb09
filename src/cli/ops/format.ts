/**
 * Text for people: aligned tables, counts with thousands separators, times
 * in UTC, and a small bar. Plain ASCII apart from the arrow, so it reads the
 * same in a terminal, a log file and a chat paste. en-US number formats keep
 * the output the same on every machine (and in tests).
 */

const whole = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const tenths = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });
const thousandths = new Intl.NumberFormat("en-US", { maximumFractionDigits: 3 });

/** 1234 → "1,234". */
export function count(n: number): string {
  return whole.format(n);
}

/** A per-minute rate as the Worker rounds it (0.1): 312.5 → "312.5", 300 → "300". */
export function rate(n: number): string {
  return tenths.format(n);
}

/** The origin factor (0.1..1, rounded to 0.001 by the Worker). */
export function factor(n: number): string {
  return thousandths.format(n);
}

/** An ISO time as "2026-11-22 19:00:05Z" (UTC, to the second); anything else as given. */
export function utc(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** How long ago, roughly: "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(iso: string, now: Date): string {
  const seconds = Math.floor((now.getTime() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return "";
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** A config value as `config set` takes it back: null, numbers and booleans bare, strings as they are. */
export function value(v: unknown): string {
  if (v === undefined) return "(unset)";
  if (typeof v === "string") return v === "" ? '""' : v;
  return JSON.stringify(v);
}

/**
 * Rows in aligned columns, two spaces apart, without trailing spaces. The
 * first row is the header when `header` is given.
 */
export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header === undefined ? rows : [header, ...rows];
  const widths: number[] = [];
  for (const row of all) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/**
 * `[#########|-----]`: `used` of `total` filled with "#", and a "|" put in
 * between cells where a lower `limit` cuts in (the effective capacity while
 * the origin struggles), so the fill itself stays exact. More than `total`
 * (capacity was lowered under a full room) fills the bar.
 */
export function bar(used: number, total: number, width: number, limit?: number): string {
  const share = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  const filled = Math.round(share * width);
  const cells = [..."#".repeat(filled), ..."-".repeat(width - filled)];
  if (limit !== undefined && total > 0 && limit < total) {
    cells.splice(Math.round((Math.max(0, limit) / total) * width), 0, "|");
  }
  return `[${cells.join("")}]`;
}

/** "81%", or "-" for a room without seats. */
export function percent(used: number, total: number): string {
  return total > 0 ? `${Math.round((used / total) * 100)}%` : "-";
}

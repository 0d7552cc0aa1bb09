/**
 * Numbers, durations and times for the waiting page, through `Intl` for the
 * listener's locale: digits, separators, units and their plurals come from
 * the platform, never from a catalog. The page's script (./browser/page.ts)
 * formats with these same functions, so both give the same text.
 */
import type { Catalog } from "./i18n/index.ts";
import { etaRange } from "./rules.ts";

/** A template with each `{name}` replaced by its value (unknown names become empty). */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => (Object.hasOwn(values, name) ? values[name]! : ""));
}

export function formatNumber(locale: string, n: number): string {
  return new Intl.NumberFormat(locale).format(n);
}

export function formatPercent(locale: string, share: number): string {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(share);
}

/** An estimate as the page says it: "about 4–7 minutes", "less than a minute", or unknown. */
export function formatEta(t: Pick<Catalog, "eta">, locale: string, seconds: number | null): string {
  const r = etaRange(seconds);
  if (r.kind === "unknown") return t.eta.unknown;
  if (r.kind === "soon") return t.eta.soon;
  const unit = new Intl.NumberFormat(locale, { style: "unit", unit: r.unit, unitDisplay: "long" });
  return fill(t.eta.about, { range: unit.formatRange(r.low, r.high) });
}

/** A countdown as a clock, h:mm:ss (m:ss under an hour), in the locale's digits. */
export function formatClock(locale: string, seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
  const one = new Intl.NumberFormat(locale, { useGrouping: false });
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = two.format(s % 60);
  return h > 0 ? `${one.format(h)}:${two.format(m)}:${rest}` : `${one.format(m)}:${rest}`;
}

/**
 * A time from now as words ("in 5 minutes"), in the largest unit that still
 * reads naturally; the unit is picked after rounding, so 59 min 50 s reads
 * "in 1 hour", not "in 60 minutes".
 */
export function formatRelative(locale: string, seconds: number): string {
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const s = Math.max(0, seconds);
  if (Math.round(s) < 60) return rtf.format(Math.round(s), "second");
  if (Math.round(s / 60) < 60) return rtf.format(Math.round(s / 60), "minute");
  if (Math.round(s / 3600) < 48) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

/** The options a start time is shown with (with the time zone's name: the server can only guess it). */
export const START_TIME_OPTIONS: Intl.DateTimeFormatOptions = {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
};

/**
 * The start time in `timeZone`, or the runtime's own zone when none is
 * given. The server passes UTC (it does not know the listener's zone); the
 * page script rewrites it in the listener's.
 */
export function formatStart(locale: string, iso: string, timeZone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const options = timeZone === undefined ? START_TIME_OPTIONS : { ...START_TIME_OPTIONS, timeZone };
  return new Intl.DateTimeFormat(locale, options).format(date);
}

/**
 * The room's branding as the waiting page may use it. The config already
 * validates every field; this checks again at render, because the page is
 * the last place a bad value could do harm (an accent colour is written into
 * CSS, a logo URL into an attribute): anything unexpected is dropped, not
 * shown. Text fields stay text: JSX escapes them, and the page never passes
 * them to `raw()` or to markup in its script.
 */
import type { Branding } from "../../policy/config.ts";

export interface PageBranding {
  /** The room's title, or the room id. */
  title: string;
  logoUrl: string | null;
  /** A checked `#rrggbb`, and the text colour that reads on it. */
  accent: { color: string; text: "#000000" | "#ffffff" } | null;
  message: string | null;
}

const ACCENT = /^#[0-9a-fA-F]{6}$/;

/** Text an operator set, trimmed; null when absent, empty or not a string. */
function text(value: unknown, max: number): string | null {
  if (typeof value !== "string") return null;
  const t = value.trim();
  return t === "" ? null : t.slice(0, max);
}

/** An https URL, or null. */
function httpsUrl(value: unknown): string | null {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** WCAG relative luminance of a `#rrggbb` colour. */
export function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG contrast ratio of two luminances. */
export function contrast(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/**
 * Black or white text on the accent, whichever contrasts more. One of the two
 * always reaches at least 4.58:1 (√21), above WCAG AA's 4.5:1 for body text.
 */
export function textOn(hex: string): "#000000" | "#ffffff" {
  const l = luminance(hex);
  return contrast(l, 0) >= contrast(l, 1) ? "#000000" : "#ffffff";
}

/** What the page shows of the room's branding (the desk's view may come from an older shard without it). */
export function pageBranding(room: string, branding: Partial<Branding> | undefined): PageBranding {
  const b = branding ?? {};
  const accent = typeof b.accentColor === "string" && ACCENT.test(b.accentColor) ? b.accentColor.toLowerCase() : null;
  return {
    title: text(b.title, 120) ?? room,
    logoUrl: httpsUrl(b.logoUrl),
    accent: accent === null ? null : { color: accent, text: textOn(accent) },
    message: text(b.message, 500),
  };
}

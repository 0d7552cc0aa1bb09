/**
 * Which language the waiting page speaks: `?lang=` when it names one the page
 * has, else the listener's `Accept-Language` in order of preference (quality
 * values honoured), else English. Only the page is localised; the status
 * JSON apps read is language-neutral and never depends on this.
 */
import { DEFAULT_LANG, isLang, type Lang } from "./i18n/index.ts";

/** Most `Accept-Language` entries looked at: a real browser sends a handful. */
const MAX_RANGES = 32;

/** The chosen language, and the locale `Intl` formats numbers and times with. */
export interface LanguageChoice {
  lang: Lang;
  /** The listener's own tag when it is a variant of `lang` (`es-MX` formats numbers the Mexican way), else `lang`. */
  locale: string;
}

interface Range {
  tag: string;
  q: number;
  order: number;
}

/** A quality value as RFC 9110 writes it (0 to 1, at most three decimals); null when malformed. */
function quality(param: string): number | null {
  const m = /^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i.exec(param.trim());
  return m === null ? null : Number(m[1]);
}

/**
 * The language ranges of an `Accept-Language` header, most preferred first
 * (equal weights keep the header's order). Entries with a malformed weight
 * are dropped, and so are those weighted 0 ("not acceptable").
 */
export function acceptedLanguages(header: string | undefined): string[] {
  if (header === undefined) return [];
  const ranges: Range[] = [];
  for (const [order, entry] of header.split(",").slice(0, MAX_RANGES).entries()) {
    const [rawTag = "", ...params] = entry.split(";");
    const tag = rawTag.trim().toLowerCase();
    if (!/^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/.test(tag)) continue;
    let q: number | null = 1;
    for (const param of params) {
      if (/^\s*q\s*=/i.test(param)) q = quality(param.replace(/\s+/g, ""));
    }
    if (q === null || q === 0) continue;
    ranges.push({ tag, q, order });
  }
  ranges.sort((a, b) => b.q - a.q || a.order - b.order);
  return ranges.map((r) => r.tag);
}

/** The page's language for a tag (`fr-CA` → `fr`; the old Hebrew code `iw` → `he`), or null. */
export function langOf(tag: string): Lang | null {
  const primary = tag.toLowerCase().split("-")[0] ?? "";
  const code = primary === "iw" ? "he" : primary;
  return isLang(code) ? code : null;
}

/** The tag `Intl` should use: the listener's regional variant when valid, else the language itself. */
function localeFor(lang: Lang, tag: string): string {
  if (tag === lang || langOf(tag) !== lang) return lang;
  try {
    return Intl.getCanonicalLocales(tag)[0] ?? lang;
  } catch {
    return lang;
  }
}

/** Choose the page's language from `?lang=` and `Accept-Language`. */
export function chooseLanguage(query: string | undefined, acceptLanguage: string | undefined): LanguageChoice {
  const asked = query === undefined ? null : langOf(query.trim());
  if (asked !== null) return { lang: asked, locale: asked };
  for (const tag of acceptedLanguages(acceptLanguage)) {
    const lang = tag === "*" ? DEFAULT_LANG : langOf(tag);
    if (lang !== null) return { lang, locale: localeFor(lang, tag) };
  }
  return { lang: DEFAULT_LANG, locale: DEFAULT_LANG };
}

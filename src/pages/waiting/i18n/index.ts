/**
 * Every language the waiting page speaks. Adding one is a catalog file
 * beside this one (typed `Catalog`, so a missing message fails `tsc`) and
 * one line below; the first language is the default.
 */
import { ar } from "./ar.ts";
import { en } from "./en.ts";
import { es } from "./es.ts";
import { fr } from "./fr.ts";
import { he } from "./he.ts";
import type { Catalog } from "./types.ts";

export const CATALOGS = {
  en,
  fr,
  es,
  ar,
  he,
} as const satisfies Record<string, Catalog>;

/** A language the page speaks: its BCP 47 primary subtag. */
export type Lang = keyof typeof CATALOGS;

export const DEFAULT_LANG: Lang = "en";

/** The languages in the order the language links show them. */
export const LANGS = Object.keys(CATALOGS) as Lang[];

export function isLang(tag: string): tag is Lang {
  return Object.hasOwn(CATALOGS, tag);
}

export function catalog(lang: Lang): Catalog {
  return CATALOGS[lang];
}

export type { Catalog } from "./types.ts";

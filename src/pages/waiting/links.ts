/**
 * The page's own links. Each one is the page's path and query with one
 * parameter set, so everything else the listener's URL carried stays: a
 * `?lang=` override survives "keep my place", and `?keep=1` survives a
 * change of language.
 */

/** `target` (a path with its query) with `name` set to `value`. */
function withParam(target: string, name: string, value: string): string {
  const url = new URL(target, "http://page.invalid");
  url.searchParams.set(name, value);
  return url.pathname + url.search;
}

/** The page's own URL with `?keep=1`: waiting in line over the recording offer. */
export function keepUrl(target: string): string {
  return withParam(target, "keep", "1");
}

/** The page's own URL in another language. */
export function langUrl(target: string, lang: string): string {
  return withParam(target, "lang", lang);
}

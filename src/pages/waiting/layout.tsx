/**
 * What the listener's pages share: the document around them (language and
 * direction, the nonced style and script), the room's branding at the top,
 * the hosts' message and the language links at the bottom (their headers and
 * CSP are in ../csp.ts). The waiting page (./page.tsx) and the challenge
 * page (../challenge/page.tsx) are both built from these.
 */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import type { PageBranding } from "./branding.ts";
import { fill } from "./format.ts";
import { type Catalog, CATALOGS, type Lang, LANGS } from "./i18n/index.ts";
import type { LanguageChoice } from "./language.ts";
import { langUrl } from "./links.ts";
import { pageStyle } from "./style.ts";

export function Brand({ brand, t }: { brand: PageBranding; t: Catalog }) {
  return (
    <header class="brand">
      {brand.logoUrl === null ? null : (
        <img src={brand.logoUrl} alt={fill(t.logoAlt, { title: brand.title })} width="48" height="48" />
      )}
      {/* Operator text may be in any script: its own direction, whatever the page's. */}
      <h1 dir="auto">{brand.title}</h1>
    </header>
  );
}

export function HostMessage({ message, t }: { message: string | null; t: Catalog }) {
  if (message === null) return null;
  return (
    <section class="message" aria-labelledby="message-title">
      <h2 id="message-title">{t.hostMessage}</h2>
      <p dir="auto">{message}</p>
    </section>
  );
}

/** Links to the page in every other language; the current one is marked, not linked away. */
export function Languages({ language, target, t }: { language: LanguageChoice; target: string; t: Catalog }) {
  return (
    <nav class="langs" aria-label={t.languages}>
      <ul>
        {LANGS.map((code) => (
          <li>
            <a
              href={langUrl(target, code)}
              hreflang={code}
              lang={code}
              dir={CATALOGS[code].dir}
              aria-current={code === language.lang ? "true" : undefined}
            >
              {CATALOGS[code].name}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

export interface DocumentProps {
  lang: Lang;
  t: Catalog;
  /** The tab's title. */
  title: string;
  brand: PageBranding;
  nonce: string;
  /** The inline script, run under the nonce. */
  script: string;
  /** More of `<head>`, after the referrer policy (the waiting page's no-JavaScript refresh). */
  head?: Child;
  children?: Child;
}

/** The whole document: `<html lang dir>`, the head with the nonced style, the body, the nonced script last. */
export function PageDocument(props: DocumentProps) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang={props.lang} dir={props.t.dir}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          {props.head}
          <link rel="icon" href="data:," />
          <title>{props.title}</title>
          <style nonce={props.nonce}>{raw(pageStyle(props.brand))}</style>
        </head>
        <body>
          {props.children}
          <script nonce={props.nonce}>{raw(props.script)}</script>
        </body>
      </html>
    </>
  );
}

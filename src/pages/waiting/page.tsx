/**
 * The waiting page: a listener's place, the people ahead and an honest
 * estimate, in the listener's language, under the room's branding.
 *
 * Server-rendered and complete without JavaScript (a meta refresh inside
 * <noscript> reloads it at `pollAfterSeconds`); with JavaScript it polls the
 * status endpoint instead and updates in place (./browser/page.ts). It is personal
 * (it shows one listener's place), so it is never cached, and a strict
 * Content-Security-Policy with a fresh nonce per response lets only its own
 * inline script and style run. Operator text (title, message) is rendered by
 * JSX as text, never as markup; the accent colour and logo URL are checked
 * again before they are used (./branding.ts).
 */
import type { Context } from "hono";
import type { Branding, OriginKind } from "../../policy/config.ts";
import type { StatusBody } from "../../contract/status.ts";
import { type PageBranding, pageBranding } from "./branding.ts";
import { type Catalog, catalog } from "./i18n/index.ts";
import { clientText, directClientText } from "./i18n/types.ts";
import type { LanguageChoice } from "./language.ts";
import { type DirectSources, listenerPagePolicy, newNonce, pageHeaders } from "../csp.ts";
import { WAITING_DIRECT_SCRIPT, WAITING_SCRIPT } from "../generated/scripts.ts";
import { Brand, HostMessage, Languages, PageDocument } from "./layout.tsx";
import { Admitted, Closed, DirectAdmitted, Overflow, Prequeue, Queued, type StateProps } from "./states.tsx";

/** An origin the listener connects to directly: every kind but `proxy`. */
export type DirectKind = Exclude<OriginKind, "proxy">;

/**
 * The admitted page of a direct room: its origin kind (which client the
 * script uses) and the one media server origin its CSP lets it reach.
 */
export interface DirectPage {
  kind: DirectKind;
  sources: DirectSources;
}

export interface WaitingPageProps {
  status: StatusBody;
  /** The page's own path and query. */
  target: string;
  /** The listener chose to keep a place over the recording offer (`?keep=1`). */
  keep: boolean;
  /** The room's branding from the desk's view. */
  branding: Partial<Branding> | undefined;
  language: LanguageChoice;
  /** This response's CSP nonce. */
  nonce: string;
  /** Admitted in a direct room: the page connects to the media server instead of walking into the room. */
  direct?: DirectPage;
}

/**
 * Only the page's own nonced script and style; images from https (the
 * room's logo) or inline; fetches to this origin (the status polls). A meta
 * refresh and the script's navigation are not governed by CSP, so both work.
 * The direct page of a janus room may also fetch from the Janus API's
 * origin, that of an icecast-hook room play media from Icecast's: one
 * origin more at most, and none for any other page.
 */
export function waitingPagePolicy(nonce: string, direct?: DirectSources): string {
  return listenerPagePolicy(nonce, [], direct);
}

/** Headers of the page: personal, so never cached; no framing, no sniffing, no referrer to the logo's host. */
export function waitingPageHeaders(nonce: string, direct?: DirectSources): Record<string, string> {
  return pageHeaders(waitingPagePolicy(nonce, direct));
}

/** The body of the current state (admitted has its own section). */
function StateBody(props: StateProps) {
  switch (props.s.state) {
    case "prequeue":
      return <Prequeue {...props} />;
    case "queued":
      return <Queued {...props} />;
    case "overflow":
      return <Overflow {...props} />;
    case "closed":
      return <Closed {...props} />;
    case "admitted":
      return null;
  }
}

/** What the script starts from: the state as rendered, and the messages it needs later. */
function scriptData(props: WaitingPageProps, brand: PageBranding, t: Catalog): Record<string, string> {
  const s = props.status;
  const num = (n: number | null) => (n === null ? "" : String(n));
  return {
    "data-room": s.room,
    "data-title": brand.title,
    "data-target": props.target,
    "data-state": s.state,
    "data-poll": String(s.pollAfterSeconds),
    "data-keep": props.keep ? "1" : "0",
    "data-position": num(s.position),
    "data-ahead": num(s.ahead),
    "data-eta": num(s.etaSeconds),
    "data-starts": s.startsAt ?? "",
    "data-can-keep": s.offer?.canKeepPlace === true ? "1" : "0",
    "data-locale": props.language.locale,
    // Only on the direct page, whose script reads no other state.
    ...(props.direct === undefined ? {} : { "data-direct": props.direct.kind }),
    // JSON in an attribute: JSX escapes it, and the script parses it as data.
    "data-text": JSON.stringify(props.direct === undefined ? clientText(t) : directClientText(t)),
  };
}

export function WaitingPage(props: WaitingPageProps) {
  const s = props.status;
  const { lang, locale } = props.language;
  const t = catalog(lang);
  const brand = pageBranding(s.room, props.branding);
  const heading = t.heading[s.state];
  const stateProps: StateProps = { s, t, locale, target: props.target };
  return (
    <PageDocument
      lang={lang}
      t={t}
      title={`${heading} · ${brand.title}`}
      brand={brand}
      nonce={props.nonce}
      script={props.direct === undefined ? WAITING_SCRIPT : WAITING_DIRECT_SCRIPT}
      head={
        /* Without JavaScript the page reloads itself when the next poll is due (not the direct page: nothing changes). */
        props.direct === undefined ? (
          <noscript>
            <meta http-equiv="refresh" content={String(s.pollAfterSeconds)} />
          </noscript>
        ) : null
      }
    >
      <main id="spillway" {...scriptData(props, brand, t)}>
        <Brand brand={brand} t={t} />
        <HostMessage message={brand.message} t={t} />
        {s.state === "admitted" ? null : (
          <section id="current" aria-labelledby="state-title">
            <h2 id="state-title">{heading}</h2>
            <StateBody {...stateProps} />
          </section>
        )}
        {props.direct === undefined ? (
          <Admitted t={t} target={props.target} hidden={s.state !== "admitted"} />
        ) : (
          <DirectAdmitted t={t} target={props.target} />
        )}
        <p id="announce" class="sr-only" aria-live="polite" aria-atomic="true"></p>
        <Languages language={props.language} target={props.target} t={t} />
      </main>
    </PageDocument>
  );
}

/** Answer the waiting page (the caller has set the flow's cookies and `retry-after`). */
export function waitingPage(c: Context, props: Omit<WaitingPageProps, "nonce">): Response | Promise<Response> {
  const nonce = newNonce();
  for (const [name, value] of Object.entries(waitingPageHeaders(nonce, props.direct?.sources))) c.header(name, value);
  return c.html(<WaitingPage {...props} nonce={nonce} />);
}

/**
 * The challenge page (under-attack mode): before a browser gets a place in
 * line it solves a short proof of work, and this page says so plainly, in
 * the listener's language, under the room's branding, with the same layout
 * as the waiting page.
 *
 * Its script (./browser/page.ts) starts the solving worker from this
 * origin (./browser/worker.ts, served by ./worker.ts), presents the solution to
 * `POST /_spillway/rooms/:room/join`, and reloads the page the listener
 * asked for once the ticket cookie is set. Without JavaScript the page
 * cannot do the work, and says so. Like the waiting page it is personal
 * (the challenge is one browser's), so never cached, and its CSP lets only
 * its own nonced script and style run, plus a worker from this origin
 * (`worker-src 'self'`). Operator text and the challenge itself are written
 * by JSX as text and attribute values, never as markup.
 */
import type { Context } from "hono";
import type { Branding } from "../../policy/config.ts";
import type { ChallengeOffer } from "../../policy/pow.ts";
import { pageBranding } from "../waiting/branding.ts";
import { listenerPagePolicy, newNonce, pageHeaders } from "../csp.ts";
import { CHALLENGE_SCRIPT } from "../generated/scripts.ts";
import { CHALLENGE_WORKER_URL } from "./worker.ts";
import { catalog } from "../waiting/i18n/index.ts";
import { challengeClientText } from "../waiting/i18n/types.ts";
import type { LanguageChoice } from "../waiting/language.ts";
import { Brand, HostMessage, Languages, PageDocument } from "../waiting/layout.tsx";

export interface ChallengePageProps {
  /** The room id (already checked against ROOM_ID). */
  room: string;
  /** The challenge to solve, as `challenge_required` carries it. */
  challenge: ChallengeOffer;
  /** The page's own path and query (the room path the listener asked for): reloaded once a ticket is held. */
  target: string;
  /** The room's branding from the desk's view. */
  branding: Partial<Branding> | undefined;
  language: LanguageChoice;
}

/** The waiting page's policy, plus a worker from this origin (the solver). */
export function challengePagePolicy(nonce: string): string {
  return listenerPagePolicy(nonce, ["worker-src 'self'"]);
}

/** Headers of the challenge page: never cached, its own CSP, no sniffing, no referrer. */
export function challengePageHeaders(nonce: string): Record<string, string> {
  return pageHeaders(challengePagePolicy(nonce));
}

/** Where the solution is presented: the room's join, keeping `?keep=1` when the listener chose a place over the recording. */
export function joinUrl(room: string, target: string): string {
  const keep = new URL(target, "http://page.invalid").searchParams.get("keep");
  const base = `/_spillway/rooms/${encodeURIComponent(room)}/join`;
  return keep === "1" || keep === "true" ? `${base}?keep=1` : base;
}

export function ChallengePage(props: ChallengePageProps & { nonce: string }) {
  const { lang } = props.language;
  const t = catalog(lang);
  const c = t.challenge;
  const brand = pageBranding(props.room, props.branding);
  const { token, id, bits, algorithm, expiresAt } = props.challenge;
  const data = {
    "data-state": "challenge",
    "data-room": props.room,
    "data-target": props.target,
    "data-join": joinUrl(props.room, props.target),
    "data-worker": CHALLENGE_WORKER_URL,
    // JSON in an attribute: JSX escapes it, and the script parses it as data.
    "data-challenge": JSON.stringify({ token, id, bits, algorithm, expiresAt }),
    "data-text": JSON.stringify(challengeClientText(t)),
  };
  return (
    <PageDocument
      lang={lang}
      t={t}
      title={`${c.heading} · ${brand.title}`}
      brand={brand}
      nonce={props.nonce}
      script={CHALLENGE_SCRIPT}
    >
      <main id="spillway" {...data}>
        <Brand brand={brand} t={t} />
        <HostMessage message={brand.message} t={t} />
        <section id="current" aria-labelledby="state-title">
          <h2 id="state-title">{c.heading}</h2>
          <p>{c.intro}</p>
          <noscript>
            <p id="noscript" class="next">
              {c.noscript}
            </p>
          </noscript>
          {/* Shown by the script once the worker runs. */}
          <div id="pow-box" hidden>
            <label for="pow-progress">{c.progressLabel}</label>
            <progress id="pow-progress" max="100"></progress>
            <p class="note">{c.keepOpen}</p>
          </div>
          <p id="announce" class="next" role="status" aria-live="polite" aria-atomic="true"></p>
          <p class="note">{c.why}</p>
        </section>
        <Languages language={props.language} target={props.target} t={t} />
      </main>
    </PageDocument>
  );
}

/** Answer the challenge page: 200, never cached, under its own CSP with a fresh nonce. */
export function challengePage(c: Context, props: ChallengePageProps): Response | Promise<Response> {
  const nonce = newNonce();
  for (const [name, value] of Object.entries(challengePageHeaders(nonce))) c.header(name, value);
  return c.html(<ChallengePage {...props} nonce={nonce} />, 200);
}

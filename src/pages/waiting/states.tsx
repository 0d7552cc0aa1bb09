/**
 * What the waiting page shows in each state, rendered on the server so that
 * the page is complete without its script. The script later updates the
 * elements with ids (position, ahead, eta, countdown, opens, offer) in place.
 */
import type { StatusBody } from "../../contract/status.ts";
import type { Catalog } from "./i18n/index.ts";
import { fill, formatClock, formatEta, formatNumber, formatRelative, formatStart } from "./format.ts";
import { keepUrl } from "./links.ts";

export interface StateProps {
  s: StatusBody;
  t: Catalog;
  locale: string;
  /** The page's own path and query (the room path the listener asked for). */
  target: string;
}

/** An http(s) link an operator set, or null: nothing else may become an href. */
export function webUrl(url: string | null | undefined): string | null {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

export function Queued({ s, t, locale }: StateProps) {
  const position = s.position ?? 1;
  const ahead = s.ahead ?? position - 1;
  return (
    <>
      <p>{t.queued.intro}</p>
      <dl>
        <div class="lead">
          <dt>{t.queued.place}</dt>
          <dd id="position" class="big">
            {formatNumber(locale, position)}
          </dd>
        </div>
        <div>
          <dt>{t.queued.ahead}</dt>
          <dd id="ahead">{formatNumber(locale, ahead)}</dd>
        </div>
        <div>
          <dt>{t.queued.wait}</dt>
          <dd id="eta">{formatEta(t, locale, s.etaSeconds)}</dd>
        </div>
      </dl>
      <p id="next" class="next" hidden={position !== 1}>
        {t.next}
      </p>
      {/* Shown by the script, which remembers the first place this tab saw. */}
      <div id="progress-box" hidden>
        <label for="progress">{t.queued.progressLabel}</label>
        <progress id="progress" max="100" value="0" aria-describedby="progress-text"></progress>
        <p id="progress-text" class="note"></p>
      </div>
      <p class="note">{t.queued.keepOpen}</p>
    </>
  );
}

export function Prequeue({ s, t, locale }: StateProps) {
  const seconds = s.etaSeconds ?? 0;
  return (
    <>
      <p>{t.prequeue.intro}</p>
      <dl>
        <div class="lead">
          <dt>{t.prequeue.opensIn}</dt>
          <dd class="big">
            <bdi id="countdown">{formatClock(locale, seconds)}</bdi>
          </dd>
        </div>
      </dl>
      {s.startsAt === null ? null : (
        <p id="opens">
          {fill(t.prequeue.opensAt, {
            relative: formatRelative(locale, seconds),
            time: formatStart(locale, s.startsAt, "UTC"),
          })}
        </p>
      )}
      <p class="note">{t.prequeue.keepOpen}</p>
    </>
  );
}

/** The recording's link, or what happens until it is posted. */
function Recording({ url, t, pending }: { url: string | null; t: Catalog; pending: string }) {
  if (url === null) return <p class="note">{pending}</p>;
  return (
    <p class="actions">
      <a class="button" href={url}>
        {t.recording}
      </a>
    </p>
  );
}

export function Overflow({ s, t, locale, target }: StateProps) {
  const canKeep = s.offer?.canKeepPlace === true;
  return (
    <>
      <p>{t.overflow.full}</p>
      {canKeep ? (
        <>
          <p id="offer">{fill(t.overflow.canKeep, { eta: formatEta(t, locale, s.etaSeconds) })}</p>
          <p class="actions">
            <a class="button" id="keep" href={keepUrl(target)}>
              {t.overflow.keep}
            </a>
          </p>
        </>
      ) : (
        <p>{t.overflow.lineFull}</p>
      )}
      <Recording url={webUrl(s.recordingUrl)} t={t} pending={t.overflow.pending} />
    </>
  );
}

export function Closed({ s, t }: StateProps) {
  return (
    <>
      <p>{t.closed.over}</p>
      <Recording url={webUrl(s.recordingUrl)} t={t} pending={t.closed.pending} />
    </>
  );
}

/** The listener's turn: a heading the script focuses before it walks in, and a link for when it cannot. */
export function Admitted({ t, target, hidden }: { t: Catalog; target: string; hidden: boolean }) {
  return (
    <section id="admitted" aria-labelledby="admitted-title" hidden={hidden}>
      <h2 id="admitted-title" tabindex={-1}>
        {t.heading.admitted}
      </h2>
      <p>{t.admitted.body}</p>
      <p class="actions">
        <a class="button" href={target}>
          {t.admitted.go}
        </a>
      </p>
    </section>
  );
}

/**
 * The listener's turn in a direct room: the page connects to the media
 * server itself (./browser/direct.ts). The status line is a live region the
 * script rewrites (connecting, playing, ended and why); the player, the
 * "listen again" button and the link back to the line are filled in or shown
 * by it. `kind` tells the script which client to use.
 */
export function DirectAdmitted({ t, target }: { t: Catalog; target: string }) {
  return (
    <section id="admitted" aria-labelledby="admitted-title">
      <h2 id="admitted-title" tabindex={-1}>
        {t.heading.admitted}
      </h2>
      <p id="direct-status" role="status" aria-live="polite" aria-atomic="true">
        {t.direct.connecting}
      </p>
      <noscript>
        <p>{t.direct.noscript}</p>
      </noscript>
      <div id="player"></div>
      <p class="actions">
        <button type="button" class="button" id="direct-again" hidden>
          {t.direct.again}
        </button>
        <a class="button plain" id="direct-rejoin" href={target} hidden>
          {t.direct.rejoin}
        </a>
      </p>
    </section>
  );
}

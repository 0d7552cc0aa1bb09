/**
 * The waiting page's script, bundled by ../../build.ts and inlined under the
 * page's CSP nonce. What it does and why:
 * - polls the status endpoint at `pollAfterSeconds` (the server jitters it
 *   ±20 %; this adds ±10 % of its own so that tabs reopened together drift
 *   apart), and pauses while the tab is hidden, asking again as soon as it is
 *   shown;
 * - updates the place, the people ahead, the estimate and the progress bar
 *   in place, with text only (textContent: nothing from the server is ever
 *   parsed as markup), and says a new place through the polite live region
 *   only when `shouldAnnounce` says it is worth it;
 * - when the turn comes, shows and focuses a heading that says so, then walks
 *   into the room (`location.replace`, so Back does not return to the line);
 *   the room path of a direct room (icecast-hook, janus, livekit) answers
 *   with the page in its direct state, which runs ./direct-page.ts instead
 *   of this script;
 * - any other change of state reloads the page, which the server renders;
 * - a poll that fails (a network error, a 5xx, a 429) is retried after an
 *   exponential backoff with full jitter, capped at a minute and never sooner
 *   than a Retry-After (`backoffSeconds` in ../backoff.ts); the first success
 *   resets it.
 * The rules and the formatting are the server's own (../rules.ts,
 * ../format.ts), so the page says the same before and after this runs.
 */
import { backoffSeconds, retryAfterSeconds } from "../backoff.ts";
import { fill, formatClock, formatEta, formatNumber, formatPercent, formatRelative, formatStart } from "../format.ts";
import type { ClientText } from "../i18n/types.ts";
import { type Announced, progressShare, shouldAnnounce } from "../rules.ts";

/** How long the "it's your turn" heading is shown (and read) before the page walks in. */
const WALK_IN_DELAY_MS = 1200;

/** The fields of a status answer the page reads (the server's StatusBody, as far as it is used here). */
interface Status {
  state: string | undefined;
  position?: number | null;
  ahead?: number | null;
  etaSeconds?: number | null;
  startsAt?: string | null;
  pollAfterSeconds?: number;
  recordingUrl?: string | null;
  offer?: { canKeepPlace?: boolean } | null;
}

const root = document.getElementById("spillway")!;
const data = root.dataset;
const T = JSON.parse(data.text!) as ClientText;
const locale = data.locale!;
const room = data.room!;
const target = data.target!;
const state = data.state;
const keep = data.keep === "1";
let delay = Number(data.poll) || 5;
const FIRST_KEY = "spillway:first:" + room;
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight = false;
let paused = false;
let failures = 0;
let retryAfter: number | null = null;
let ticking: ReturnType<typeof setInterval> | undefined;
let deadline = 0;
let announced: Announced | null = null;

function $(id: string): HTMLElement | null {
  return document.getElementById(id);
}
function setText(id: string, value: string): HTMLElement | null {
  const el = $(id);
  if (el && el.textContent !== value) el.textContent = value;
  return el;
}
function bump(el: HTMLElement | null): void {
  if (!el) return;
  el.classList.remove("bump");
  void el.offsetWidth;
  el.classList.add("bump");
}
function isWebUrl(url: unknown): url is string {
  return typeof url === "string" && /^https?:\/\//i.test(url);
}
function remember(key: string, value: string | null): void {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // No storage (private mode, or refused): the progress starts afresh.
  }
}
function recall(key: string): string | null {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

/** The first place this tab saw in this room; a later, larger place is a new place in line. */
function firstPlace(position: number): number {
  let first = Number(recall(FIRST_KEY));
  if (!(first > 0) || position > first) {
    first = position;
    remember(FIRST_KEY, String(first));
  }
  return first;
}
function showProgress(position: number): void {
  const bar = $("progress") as HTMLProgressElement | null;
  if (!bar) return;
  const share = progressShare(firstPlace(position), position);
  bar.value = Math.round(share * 100);
  setText("progress-text", fill(T.progress, { percent: formatPercent(locale, share) }));
  $("progress-box")!.hidden = false;
}
function showQueued(st: Status): void {
  const position = st.position;
  if (typeof position !== "number") return;
  const eta = formatEta(T, locale, st.etaSeconds ?? null);
  const shown = $("position");
  const moved = shown && shown.textContent !== formatNumber(locale, position);
  setText("position", formatNumber(locale, position));
  setText("ahead", formatNumber(locale, typeof st.ahead === "number" ? st.ahead : position - 1));
  setText("eta", eta);
  $("next")!.hidden = position !== 1;
  if (moved) bump(shown);
  showProgress(position);
  const now = Date.now();
  if (announced === null) {
    announced = { position, at: now };
  } else if (shouldAnnounce(announced, position, now)) {
    announced = { position, at: now };
    const said = fill(T.announce, { position: formatNumber(locale, position), eta });
    setText("announce", position === 1 ? T.next + " " + said : said);
  }
}
function tick(): void {
  setText("countdown", formatClock(locale, Math.max(0, Math.round((deadline - Date.now()) / 1000))));
}
function showPrequeue(st: Status): void {
  if (typeof st.etaSeconds !== "number") return;
  deadline = Date.now() + st.etaSeconds * 1000;
  tick();
  if (!ticking) ticking = setInterval(tick, 1000);
  if (st.startsAt) {
    setText(
      "opens",
      fill(T.opensAt, { relative: formatRelative(locale, st.etaSeconds), time: formatStart(locale, st.startsAt) }),
    );
  }
}
function showOverflow(st: Status): void {
  if (st.offer && st.offer.canKeepPlace && $("offer")) {
    setText("offer", fill(T.canKeep, { eta: formatEta(T, locale, st.etaSeconds ?? null) }));
  }
}
function walkIn(): void {
  clearTimeout(timer);
  remember(FIRST_KEY, null);
  const current = $("current");
  if (current) current.hidden = true;
  $("admitted")!.hidden = false;
  const heading = $("admitted-title")!;
  document.title = heading.textContent + " \u00b7 " + data.title;
  heading.focus();
  setTimeout(() => location.replace(target), WALK_IN_DELAY_MS);
}
/** Show an answer; false when the page leaves (or reloads) instead. */
function show(st: Status): boolean {
  if (st.state === "admitted") {
    walkIn();
    return false;
  }
  if ((st.state === "overflow" || st.state === "closed") && isWebUrl(st.recordingUrl)) {
    location.replace(st.recordingUrl);
    return false;
  }
  if (st.state !== state) {
    location.reload();
    return false;
  }
  if (st.state === "queued") showQueued(st);
  else if (st.state === "prequeue") showPrequeue(st);
  else if (st.state === "overflow") showOverflow(st);
  return true;
}
function schedule(seconds: number, jittered?: boolean): void {
  clearTimeout(timer);
  timer = undefined;
  if (document.hidden) {
    paused = true;
    return;
  }
  timer = setTimeout(poll, seconds * 1000 * (jittered ? 1 : 0.9 + Math.random() * 0.2));
}
function poll(): void {
  timer = undefined;
  if (inflight) return;
  if (document.hidden) {
    paused = true;
    return;
  }
  inflight = true;
  const url = "/_spillway/rooms/" + encodeURIComponent(room) + "/status" + (keep ? "?keep=1" : "");
  fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
    .then((res): Promise<Status> | null => {
      // Busy or failing: back off (below), no sooner than its Retry-After.
      if (res.status === 429 || res.status >= 500) {
        retryAfter = retryAfterSeconds(res.headers.get("retry-after"), Date.now());
        throw new Error("status " + res.status);
      }
      // A refused ticket (lapsed, or its seat ended): the page itself knows what to do next.
      if (res.status >= 400) {
        location.replace(target);
        return null;
      }
      return res.json() as Promise<Status>;
    })
    .then((st) => {
      inflight = false;
      if (st && show(st)) {
        failures = 0;
        delay = st.pollAfterSeconds !== undefined && st.pollAfterSeconds > 0 ? st.pollAfterSeconds : delay;
        schedule(delay);
      }
    })
    .catch(() => {
      // A network error or a failing answer: exponential backoff with full jitter, reset by the next success.
      inflight = false;
      failures += 1;
      const wait = backoffSeconds(failures, delay, retryAfter);
      retryAfter = null;
      schedule(wait, true);
    });
}
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(timer);
    timer = undefined;
    paused = true;
  } else if (paused) {
    paused = false;
    poll();
  }
});

const initial: Status = {
  state,
  position: data.position ? Number(data.position) : null,
  ahead: data.ahead ? Number(data.ahead) : null,
  etaSeconds: data.eta ? Number(data.eta) : null,
  startsAt: data.starts || null,
  offer: data.canKeep === "1" ? { canKeepPlace: true } : null,
};
if (state === "admitted") walkIn();
else {
  show(initial);
  schedule(delay);
}

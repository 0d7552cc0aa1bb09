/**
 * The waiting page's script, inlined under the page's CSP nonce. Plain
 * JavaScript for current browsers, no build step. What it does and why:
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
 * - any other change of state reloads the page, which the server renders;
 * - a poll that fails (a network error, a 5xx, a 429) is retried after an
 *   exponential backoff with full jitter, capped at a minute and never sooner
 *   than a Retry-After (`backoffSeconds` in ./backoff.ts); the first success
 *   resets it.
 *
 * RULES_JS, FORMAT_JS and BACKOFF_JS are the JavaScript twins of ./rules.ts,
 * ./format.ts and ./backoff.ts: test/unit/waiting-rules.test.ts and
 * test/unit/backoff.test.ts run both over the same inputs.
 */
import { ANNOUNCE_INTERVAL_MS, ANNOUNCE_NEAR, RANGE_HIGH, RANGE_LOW } from "./rules.ts";
import { BACKOFF_JS } from "./backoff.ts";
import { START_TIME_OPTIONS } from "./format.ts";

/** How long the "it's your turn" heading is shown (and read) before the page walks in. */
export const WALK_IN_DELAY_MS = 1200;

/** The pure rules: etaRange, shouldAnnounce, progressShare (see ./rules.ts). */
export const RULES_JS = `
function toStep(value, step, up) {
  var n = up ? Math.ceil(value / step) : Math.floor(value / step);
  return Math.max(step, n * step);
}
function etaRange(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds) || seconds < 0) return { kind: "unknown" };
  if (seconds < 60) return { kind: "soon" };
  var lowMin = (seconds * ${RANGE_LOW}) / 60, highMin = (seconds * ${RANGE_HIGH}) / 60, low, step;
  if (highMin >= 120) {
    low = toStep(lowMin / 60, 1, false);
    return { kind: "range", unit: "hour", low: low, high: Math.max(low + 1, toStep(highMin / 60, 1, true)) };
  }
  step = highMin >= 20 ? 5 : 1;
  low = toStep(lowMin, step, false);
  return { kind: "range", unit: "minute", low: low, high: Math.max(low + step, toStep(highMin, step, true)) };
}
function milestoneStep(position) {
  return position <= 10 ? 1 : position <= 100 ? 10 : position <= 1000 ? 100 : 1000;
}
function shouldAnnounce(last, position, now) {
  if (position >= last.position) return false;
  if (position <= ${ANNOUNCE_NEAR}) return true;
  if (now - last.at < ${ANNOUNCE_INTERVAL_MS}) return false;
  var step = milestoneStep(position);
  var crossed = Math.floor((last.position - 1) / step) > Math.floor((position - 1) / step);
  return crossed || position <= last.position * 0.8;
}
function progressShare(first, position) {
  if (!(first > 0) || !(position > 0) || position >= first) return 0;
  return (first - position) / first;
}
`;

/** Formatting through Intl: fill, formatNumber, formatPercent, formatEta, formatClock, formatRelative, formatStart (see ./format.ts). */
export const FORMAT_JS = `
var START_TIME_OPTIONS = ${JSON.stringify(START_TIME_OPTIONS)};
function fill(template, values) {
  return template.replace(/\\{(\\w+)\\}/g, function (_, name) {
    return Object.prototype.hasOwnProperty.call(values, name) ? values[name] : "";
  });
}
function formatNumber(locale, n) { return new Intl.NumberFormat(locale).format(n); }
function formatPercent(locale, share) {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 }).format(share);
}
function formatEta(t, locale, seconds) {
  var r = etaRange(seconds);
  if (r.kind === "unknown") return t.eta.unknown;
  if (r.kind === "soon") return t.eta.soon;
  var unit = new Intl.NumberFormat(locale, { style: "unit", unit: r.unit, unitDisplay: "long" });
  return fill(t.eta.about, { range: unit.formatRange(r.low, r.high) });
}
function formatClock(locale, seconds) {
  var s = Math.max(0, Math.floor(seconds));
  var two = new Intl.NumberFormat(locale, { minimumIntegerDigits: 2, useGrouping: false });
  var one = new Intl.NumberFormat(locale, { useGrouping: false });
  var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = two.format(s % 60);
  return h > 0 ? one.format(h) + ":" + two.format(m) + ":" + rest : one.format(m) + ":" + rest;
}
function formatRelative(locale, seconds) {
  var rtf = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  var s = Math.max(0, seconds);
  if (Math.round(s) < 60) return rtf.format(Math.round(s), "second");
  if (Math.round(s / 60) < 60) return rtf.format(Math.round(s / 60), "minute");
  if (Math.round(s / 3600) < 48) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}
function formatStart(locale, iso, timeZone) {
  var date = new Date(iso);
  if (isNaN(date.getTime())) return iso;
  var options = Object.assign({}, START_TIME_OPTIONS);
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(locale, options).format(date);
}
`;

/** The page's behaviour, on top of the rules and the formatting. */
const PAGE_JS = `
var root = document.getElementById("spillway");
var data = root.dataset;
var T = JSON.parse(data.text);
var locale = data.locale, room = data.room, target = data.target, state = data.state;
var keep = data.keep === "1";
var delay = Number(data.poll) || 5;
var FIRST_KEY = "spillway:first:" + room;
var timer = 0, inflight = false, paused = false, failures = 0, retryAfter = null, ticking = 0, deadline = 0, announced = null;

function $(id) { return document.getElementById(id); }
function setText(id, value) {
  var el = $(id);
  if (el && el.textContent !== value) el.textContent = value;
  return el;
}
function bump(el) {
  if (!el) return;
  el.classList.remove("bump");
  void el.offsetWidth;
  el.classList.add("bump");
}
function isWebUrl(url) { return typeof url === "string" && /^https?:\\/\\//i.test(url); }
function remember(key, value) { try { if (value === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, value); } catch (e) {} }
function recall(key) { try { return sessionStorage.getItem(key); } catch (e) { return null; } }

/** The first place this tab saw in this room; a later, larger place is a new place in line. */
function firstPlace(position) {
  var first = Number(recall(FIRST_KEY));
  if (!(first > 0) || position > first) {
    first = position;
    remember(FIRST_KEY, String(first));
  }
  return first;
}
function showProgress(position) {
  var bar = $("progress");
  if (!bar) return;
  var share = progressShare(firstPlace(position), position);
  bar.value = Math.round(share * 100);
  setText("progress-text", fill(T.progress, { percent: formatPercent(locale, share) }));
  $("progress-box").hidden = false;
}
function showQueued(st) {
  var position = st.position;
  if (typeof position !== "number") return;
  var eta = formatEta(T, locale, st.etaSeconds);
  var shown = $("position");
  var moved = shown && shown.textContent !== formatNumber(locale, position);
  setText("position", formatNumber(locale, position));
  setText("ahead", formatNumber(locale, typeof st.ahead === "number" ? st.ahead : position - 1));
  setText("eta", eta);
  $("next").hidden = position !== 1;
  if (moved) bump(shown);
  showProgress(position);
  var now = Date.now();
  if (announced === null) {
    announced = { position: position, at: now };
  } else if (shouldAnnounce(announced, position, now)) {
    announced = { position: position, at: now };
    var said = fill(T.announce, { position: formatNumber(locale, position), eta: eta });
    setText("announce", position === 1 ? T.next + " " + said : said);
  }
}
function tick() {
  setText("countdown", formatClock(locale, Math.max(0, Math.round((deadline - Date.now()) / 1000))));
}
function showPrequeue(st) {
  if (typeof st.etaSeconds !== "number") return;
  deadline = Date.now() + st.etaSeconds * 1000;
  tick();
  if (!ticking) ticking = setInterval(tick, 1000);
  if (st.startsAt) {
    setText("opens", fill(T.opensAt, { relative: formatRelative(locale, st.etaSeconds), time: formatStart(locale, st.startsAt) }));
  }
}
function showOverflow(st) {
  if (st.offer && st.offer.canKeepPlace && $("offer")) {
    setText("offer", fill(T.canKeep, { eta: formatEta(T, locale, st.etaSeconds) }));
  }
}
function walkIn() {
  clearTimeout(timer);
  remember(FIRST_KEY, null);
  var current = $("current");
  if (current) current.hidden = true;
  var section = $("admitted");
  section.hidden = false;
  var heading = $("admitted-title");
  document.title = heading.textContent + " \\u00b7 " + data.title;
  heading.focus();
  setTimeout(function () { location.replace(target); }, ${WALK_IN_DELAY_MS});
}
/** Show an answer; false when the page leaves (or reloads) instead. */
function show(st) {
  if (st.state === "admitted") { walkIn(); return false; }
  if ((st.state === "overflow" || st.state === "closed") && isWebUrl(st.recordingUrl)) {
    location.replace(st.recordingUrl);
    return false;
  }
  if (st.state !== state) { location.reload(); return false; }
  if (st.state === "queued") showQueued(st);
  else if (st.state === "prequeue") showPrequeue(st);
  else if (st.state === "overflow") showOverflow(st);
  return true;
}
function schedule(seconds, jittered) {
  clearTimeout(timer);
  timer = 0;
  if (document.hidden) { paused = true; return; }
  timer = setTimeout(poll, seconds * 1000 * (jittered ? 1 : 0.9 + Math.random() * 0.2));
}
function poll() {
  timer = 0;
  if (inflight) return;
  if (document.hidden) { paused = true; return; }
  inflight = true;
  var url = "/_spillway/rooms/" + encodeURIComponent(room) + "/status" + (keep ? "?keep=1" : "");
  fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
    .then(function (res) {
      // Busy or failing: back off (below), no sooner than its Retry-After.
      if (res.status === 429 || res.status >= 500) {
        retryAfter = retryAfterSeconds(res.headers.get("retry-after"), Date.now());
        throw new Error("status " + res.status);
      }
      // A refused ticket (lapsed, or its seat ended): the page itself knows what to do next.
      if (res.status >= 400) { location.replace(target); return null; }
      return res.json();
    })
    .then(function (st) {
      inflight = false;
      if (st && show(st)) {
        failures = 0;
        delay = st.pollAfterSeconds > 0 ? st.pollAfterSeconds : delay;
        schedule(delay);
      }
    })
    .catch(function () {
      // A network error or a failing answer: exponential backoff with full jitter, reset by the next success.
      inflight = false;
      failures += 1;
      var wait = backoffSeconds(failures, delay, retryAfter);
      retryAfter = null;
      schedule(wait, true);
    });
}
document.addEventListener("visibilitychange", function () {
  if (document.hidden) {
    clearTimeout(timer);
    timer = 0;
    paused = true;
  } else if (paused) {
    paused = false;
    poll();
  }
});

var initial = {
  state: state,
  position: data.position ? Number(data.position) : null,
  ahead: data.ahead ? Number(data.ahead) : null,
  etaSeconds: data.eta ? Number(data.eta) : null,
  startsAt: data.starts || null,
  offer: data.canKeep === "1" ? { canKeepPlace: true } : null
};
if (state === "admitted") walkIn();
else { show(initial); schedule(delay); }
`;

/** The whole script, in its own scope. */
export const PAGE_SCRIPT = `(function () {\n"use strict";\n${RULES_JS}${FORMAT_JS}${BACKOFF_JS}${PAGE_JS}})();`;

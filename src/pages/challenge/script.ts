/**
 * The challenge page's script, inlined under the page's CSP nonce. Plain
 * JavaScript for current browsers, no build step. What it does and why:
 * - starts the solving worker (./challenge-worker.ts) with the challenge the
 *   page was rendered with, and moves the progress bar as the worker reports
 *   its tries: the bar shows 1 − e^(−tries / 2^bits), the share of browsers
 *   that would have found a solution by now, so it moves quickly and
 *   honestly and never claims to be done before it is;
 * - talks through the polite live region only at moments that matter: once
 *   when the check runs long, when it is done, when a retry is needed, or
 *   when this browser cannot run it; never on a progress tick;
 * - presents the solution (`POST …/join` with `Spillway-Challenge` and
 *   `Spillway-Solution`) and on 200, which set the ticket cookie, reloads
 *   the page the listener asked for (`location.replace`, so Back does not
 *   return here), which now shows the line;
 * - a refused solution (wrong, expired or already used) starts again with
 *   the fresh challenge the answer carries, or asks for one (a join without
 *   a solution answers `challenge_required` with one); a second refusal in a
 *   row waits a backoff first, so a page can never spin;
 * - 429 waits its Retry-After (with jitter), a network error or a 5xx backs
 *   off exponentially with full jitter up to a minute (`backoffSeconds`,
 *   ./backoff.ts), then presents the same solution again.
 */
import { BACKOFF_JS } from "../waiting/backoff.ts";

/** How long the check runs before the live region says it is still going. */
export const STILL_AFTER_MS = 8_000;
/** The first wait of a backoff, in seconds. */
export const CHALLENGE_BACKOFF_BASE_SECONDS = 1;

const CHALLENGE_JS = `
var root = document.getElementById("spillway");
var data = root.dataset;
var T = JSON.parse(data.text);
var target = data.target, joinUrl = data.join;
var worker = null, stillTimer = 0, failures = 0, rejections = 0;

function $(id) { return document.getElementById(id); }
function say(text) { var el = $("announce"); if (el.textContent !== text) el.textContent = text; }
function later(seconds, fn) { setTimeout(fn, Math.max(0, seconds) * 1000); }
function valid(ch) {
  return !!ch && typeof ch.token === "string" && typeof ch.id === "string" && typeof ch.bits === "number";
}
function stop() {
  clearTimeout(stillTimer);
  if (worker) { worker.terminate(); worker = null; }
}
function unsupported() {
  stop();
  $("pow-box").hidden = true;
  say(T.unsupported);
}
/** The share of browsers that would have solved it after this many tries, as 0 to 99. */
function shareDone(tries, bits) {
  return Math.min(99, Math.floor(100 * (1 - Math.exp(-tries / Math.pow(2, bits)))));
}
function start(ch) {
  stop();
  var bar = $("pow-progress");
  bar.removeAttribute("value");
  $("pow-box").hidden = false;
  if (typeof Worker !== "function") { unsupported(); return; }
  try { worker = new Worker(data.worker); } catch (e) { unsupported(); return; }
  worker.onmessage = function (event) {
    var m = event.data || {};
    if (m.type === "progress") bar.value = shareDone(m.tries, ch.bits);
    else if (m.type === "solved") { stop(); bar.value = 100; say(T.done); submit(ch, String(m.nonce)); }
    else if (m.type === "error") unsupported();
  };
  worker.onerror = function (event) { event.preventDefault(); unsupported(); };
  worker.postMessage({ id: ch.id, bits: ch.bits });
  stillTimer = setTimeout(function () { say(T.still); }, ${STILL_AFTER_MS});
}
/** Busy (429) or failing (5xx, network): say so, and try the same again after a backoff. */
function retry(res, again) {
  failures += 1;
  say(res && res.status === 429 ? T.busy : T.retry);
  var hint = res ? retryAfterSeconds(res.headers.get("retry-after"), Date.now()) : null;
  later(backoffSeconds(failures, ${CHALLENGE_BACKOFF_BASE_SECONDS}, hint), again);
}
function post(headers) {
  headers.accept = "application/json";
  return fetch(joinUrl, { method: "POST", headers: headers, credentials: "same-origin", cache: "no-store" });
}
/** The challenge an error answer carries (challenge_required), or null. */
function offered(res) {
  return res.json().then(function (body) {
    var ch = body && body.error && body.error.challenge;
    return valid(ch) ? ch : null;
  }, function () { return null; });
}
function submit(ch, nonce) {
  post({ "spillway-challenge": ch.token, "spillway-solution": nonce }).then(function (res) {
    if (res.ok) { location.replace(target); return; }
    if (res.status === 429 || res.status >= 500) { retry(res, function () { submit(ch, nonce); }); return; }
    failures = 0;
    return offered(res).then(renew);
  }, function () { retry(null, function () { submit(ch, nonce); }); });
}
/** Start again: with the challenge given, or a fresh one. Only the first of refusals in a row is immediate. */
function renew(next) {
  rejections += 1;
  var go = function () { if (next) start(next); else fresh(); };
  if (rejections === 1) go();
  else later(backoffSeconds(rejections - 1, ${CHALLENGE_BACKOFF_BASE_SECONDS}, null), go);
}
/** A join without a solution: 401 with a new challenge, or 200 when the room stopped asking for one. */
function fresh() {
  post({}).then(function (res) {
    if (res.ok) { location.replace(target); return; }
    if (res.status === 429 || res.status >= 500) { retry(res, fresh); return; }
    failures = 0;
    return offered(res).then(function (ch) {
      if (ch) start(ch);
      // Not what this page expects: the page the listener asked for knows what to show.
      else later(backoffSeconds(rejections, ${CHALLENGE_BACKOFF_BASE_SECONDS}, null), function () { location.replace(target); });
    });
  }, function () { retry(null, fresh); });
}

var first = null;
try { first = JSON.parse(data.challenge); } catch (e) {}
if (valid(first)) start(first); else fresh();
`;

/** The whole script, in its own scope. */
export const CHALLENGE_SCRIPT = `(function () {\n"use strict";\n${BACKOFF_JS}${CHALLENGE_JS}})();`;

/**
 * The challenge page's script, bundled by ../../build.ts and inlined under
 * the page's CSP nonce. What it does and why:
 * - starts the solving worker (./worker.ts) with the challenge the page was
 *   rendered with, and moves the progress bar as the worker reports its
 *   tries: the bar shows 1 − e^(−tries / 2^bits), the share of browsers that
 *   would have found a solution by now, so it moves quickly and honestly and
 *   never claims to be done before it is;
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
 *   ../../waiting/backoff.ts), then presents the same solution again.
 */
import { backoffSeconds, retryAfterSeconds } from "../../waiting/backoff.ts";
import type { ChallengeClientText } from "../../waiting/i18n/types.ts";
import { CHALLENGE_BACKOFF_BASE_SECONDS, STILL_AFTER_MS } from "./timing.ts";

/** A challenge as the page and a `challenge_required` answer carry it (the fields this script uses). */
interface Challenge {
  token: string;
  id: string;
  bits: number;
}

/** What the worker says (see ./worker.ts). */
interface WorkerSays {
  type?: string;
  tries?: number;
  nonce?: unknown;
}

const root = document.getElementById("spillway")!;
const data = root.dataset;
const T = JSON.parse(data.text!) as ChallengeClientText;
const target = data.target!;
const joinUrl = data.join!;
let worker: Worker | null = null;
let stillTimer: ReturnType<typeof setTimeout> | undefined;
let failures = 0;
let rejections = 0;

function $(id: string): HTMLElement {
  return document.getElementById(id)!;
}
function say(text: string): void {
  const el = $("announce");
  if (el.textContent !== text) el.textContent = text;
}
function later(seconds: number, fn: () => void): void {
  setTimeout(fn, Math.max(0, seconds) * 1000);
}
function valid(ch: unknown): ch is Challenge {
  const c = ch as Partial<Challenge> | null | undefined;
  return !!c && typeof c.token === "string" && typeof c.id === "string" && typeof c.bits === "number";
}
function stop(): void {
  clearTimeout(stillTimer);
  if (worker) {
    worker.terminate();
    worker = null;
  }
}
function unsupported(): void {
  stop();
  $("pow-box").hidden = true;
  say(T.unsupported);
}
/** The share of browsers that would have solved it after this many tries, as 0 to 99. */
function shareDone(tries: number, bits: number): number {
  return Math.min(99, Math.floor(100 * (1 - Math.exp(-tries / Math.pow(2, bits)))));
}
function start(ch: Challenge): void {
  stop();
  const bar = $("pow-progress") as HTMLProgressElement;
  bar.removeAttribute("value");
  $("pow-box").hidden = false;
  if (typeof Worker !== "function") {
    unsupported();
    return;
  }
  let started: Worker;
  try {
    started = new Worker(data.worker!);
  } catch {
    unsupported();
    return;
  }
  worker = started;
  started.onmessage = (event: MessageEvent<WorkerSays | null>) => {
    const m = event.data || {};
    if (m.type === "progress") bar.value = shareDone(Number(m.tries), ch.bits);
    else if (m.type === "solved") {
      stop();
      bar.value = 100;
      say(T.done);
      submit(ch, String(m.nonce));
    } else if (m.type === "error") unsupported();
  };
  started.onerror = (event) => {
    event.preventDefault();
    unsupported();
  };
  started.postMessage({ id: ch.id, bits: ch.bits });
  stillTimer = setTimeout(() => say(T.still), STILL_AFTER_MS);
}
/** Busy (429) or failing (5xx, network): say so, and try the same again after a backoff. */
function retry(res: Response | null, again: () => void): void {
  failures += 1;
  say(res && res.status === 429 ? T.busy : T.retry);
  const hint = res ? retryAfterSeconds(res.headers.get("retry-after"), Date.now()) : null;
  later(backoffSeconds(failures, CHALLENGE_BACKOFF_BASE_SECONDS, hint), again);
}
function post(headers: Record<string, string>): Promise<Response> {
  headers.accept = "application/json";
  return fetch(joinUrl, { method: "POST", headers, credentials: "same-origin", cache: "no-store" });
}
/** The challenge an error answer carries (challenge_required), or null. */
function offered(res: Response): Promise<Challenge | null> {
  return res.json().then(
    (body: { error?: { challenge?: unknown } } | null) => {
      const ch = body && body.error && body.error.challenge;
      return valid(ch) ? ch : null;
    },
    () => null,
  );
}
function submit(ch: Challenge, nonce: string): void {
  post({ "spillway-challenge": ch.token, "spillway-solution": nonce }).then(
    (res) => {
      if (res.ok) {
        location.replace(target);
        return;
      }
      if (res.status === 429 || res.status >= 500) {
        retry(res, () => submit(ch, nonce));
        return;
      }
      failures = 0;
      return offered(res).then(renew);
    },
    () => retry(null, () => submit(ch, nonce)),
  );
}
/** Start again: with the challenge given, or a fresh one. Only the first of refusals in a row is immediate. */
function renew(next: Challenge | null): void {
  rejections += 1;
  const go = () => {
    if (next) start(next);
    else fresh();
  };
  if (rejections === 1) go();
  else later(backoffSeconds(rejections - 1, CHALLENGE_BACKOFF_BASE_SECONDS, null), go);
}
/** A join without a solution: 401 with a new challenge, or 200 when the room stopped asking for one. */
function fresh(): void {
  post({}).then(
    (res) => {
      if (res.ok) {
        location.replace(target);
        return;
      }
      if (res.status === 429 || res.status >= 500) {
        retry(res, fresh);
        return;
      }
      failures = 0;
      return offered(res).then((ch) => {
        if (ch) start(ch);
        // Not what this page expects: the page the listener asked for knows what to show.
        else later(backoffSeconds(rejections, CHALLENGE_BACKOFF_BASE_SECONDS, null), () => location.replace(target));
      });
    },
    () => retry(null, fresh),
  );
}

let first: unknown = null;
try {
  first = JSON.parse(data.challenge!);
} catch {
  // Unreadable: ask for a fresh challenge.
}
if (valid(first)) start(first);
else fresh();

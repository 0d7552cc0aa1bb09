/**
 * The Web Worker that solves an under-attack challenge in the listener's
 * browser, off the page's main thread (the page stays responsive and its
 * live region keeps talking). It is served from this origin, so that the
 * page's CSP can allow it with `worker-src 'self'` and nothing else.
 *
 * The rule is `solves` in ../../admission/pow.ts: a decimal nonce such that
 * SHA-256 of the UTF-8 text `<id>:<nonce>` starts with `bits` zero bits.
 * The worker counts nonces up from 0 in batches: each batch starts all its
 * `crypto.subtle.digest` calls at once and awaits them together (one call
 * per nonce, awaited one by one, spends most of its time between calls), then
 * looks at the digests in order, so the answer is the smallest solving nonce,
 * the same one `solve` in pow.ts finds.
 *
 * Messages: the page posts `{ id, bits }`; the worker posts
 * `{ type: "progress", tries }` at most every PROGRESS_EVERY_MS, then
 * `{ type: "solved", nonce, tries }`, or `{ type: "error", message }` when
 * this browser cannot hash (no Web Crypto outside a secure context). A page
 * with a new challenge starts a new worker; this one never outlives its page.
 *
 * SOLVER_JS is pure (its only outside need is `crypto.subtle` and
 * `TextEncoder`), so tests evaluate it on its own and check its answers
 * against `solves` and `solve` (test/unit/challenge-worker.test.ts).
 */

/** Where the page loads the worker from; the route is mounted by the app. */
export const CHALLENGE_WORKER_PATH = "/_spillway/challenge-worker.js";
/** Nonces hashed together in one batch. */
export const SOLVE_BATCH = 256;
/** Least time between two progress messages. */
export const PROGRESS_EVERY_MS = 250;

/**
 * The solving functions: `leadingZeroBits(bytes)` and
 * `solveRange(id, bits, from, count)`, which resolves to
 * `{ nonce: string | null, tries }` for the smallest solving nonce in
 * [from, from + count), or null when none of them solves.
 */
export const SOLVER_JS = `
var SOLVE_ENCODER = new TextEncoder();
function leadingZeroBits(bytes) {
  var bits = 0;
  for (var i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) { bits += 8; continue; }
    return bits + Math.clz32(bytes[i]) - 24;
  }
  return bits;
}
function solveRange(id, bits, from, count) {
  var prefix = id + ":", jobs = [];
  for (var i = 0; i < count; i++) {
    jobs.push(crypto.subtle.digest("SHA-256", SOLVE_ENCODER.encode(prefix + String(from + i))));
  }
  return Promise.all(jobs).then(function (digests) {
    for (var j = 0; j < digests.length; j++) {
      if (leadingZeroBits(new Uint8Array(digests[j])) >= bits) return { nonce: String(from + j), tries: j + 1 };
    }
    return { nonce: null, tries: count };
  });
}
`;

/** The worker's message handling around the solver. */
const WORKER_JS = `
self.onmessage = function (event) {
  var job = event.data || {};
  var id = String(job.id), bits = Number(job.bits);
  var from = 0, tries = 0, lastReport = Date.now();
  if (typeof crypto === "undefined" || !crypto.subtle || !(bits >= 0)) {
    self.postMessage({ type: "error", message: "no Web Crypto here" });
    return;
  }
  function step() {
    solveRange(id, bits, from, ${SOLVE_BATCH}).then(function (r) {
      tries += r.tries;
      if (r.nonce !== null) { self.postMessage({ type: "solved", nonce: r.nonce, tries: tries }); return; }
      from += ${SOLVE_BATCH};
      var now = Date.now();
      if (now - lastReport >= ${PROGRESS_EVERY_MS}) { lastReport = now; self.postMessage({ type: "progress", tries: tries }); }
      step();
    }, function (err) {
      self.postMessage({ type: "error", message: String(err && err.message || err) });
    });
  }
  step();
};
`;

/** The worker's whole source, served as /_spillway/challenge-worker.js. */
export const CHALLENGE_WORKER_JS = `"use strict";\n${SOLVER_JS}${WORKER_JS}`;

/** FNV-1a of a string, as 8 hex digits: a version tag, not a security measure. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/**
 * The URL the page starts the worker from: the path with a tag of this
 * source, so that a page never runs a worker cached from an older release
 * (the route ignores the query).
 */
export const CHALLENGE_WORKER_URL = `${CHALLENGE_WORKER_PATH}?v=${fnv1a(CHALLENGE_WORKER_JS)}`;

/**
 * The policy of the worker's own script: a dedicated worker runs under the
 * CSP of its response, and this one fetches, imports and evaluates nothing.
 */
export const CHALLENGE_WORKER_POLICY = "default-src 'none'";

/** The answer of `GET /_spillway/challenge-worker.js` (the same for everyone, so cached for an hour). */
export function challengeWorkerResponse(): Response {
  return new Response(CHALLENGE_WORKER_JS, {
    status: 200,
    headers: {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "public, max-age=3600",
      "content-security-policy": CHALLENGE_WORKER_POLICY,
      "x-content-type-options": "nosniff",
    },
  });
}

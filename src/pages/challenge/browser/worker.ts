/**
 * The Web Worker that solves an under-attack challenge in the listener's
 * browser, off the page's main thread (the page stays responsive and its
 * live region keeps talking); bundled by ../../build.ts and served from this
 * origin by ../worker.ts, so the page's CSP can allow it with
 * `worker-src 'self'` and nothing else.
 *
 * Messages: the page posts `{ id, bits }`; the worker posts
 * `{ type: "progress", tries }` at most every PROGRESS_EVERY_MS, then
 * `{ type: "solved", nonce, tries }`, or `{ type: "error", message }` when
 * this browser cannot hash (no Web Crypto outside a secure context). A page
 * with a new challenge starts a new worker; this one never outlives its page.
 */
import { PROGRESS_EVERY_MS, solveRange, SOLVE_BATCH } from "./solver.ts";

/** What the worker says to the page. */
type WorkerMessage =
  | { type: "progress"; tries: number }
  | { type: "solved"; nonce: string; tries: number }
  | { type: "error"; message: string };

/** The dedicated worker's global scope, as far as this uses it. */
interface SolverScope {
  onmessage: ((event: MessageEvent<{ id?: unknown; bits?: unknown } | null>) => void) | null;
  postMessage(message: WorkerMessage): void;
}

const scope = self as unknown as SolverScope;

scope.onmessage = (event) => {
  const job = event.data || {};
  const id = String(job.id);
  const bits = Number(job.bits);
  let from = 0;
  let tries = 0;
  let lastReport = Date.now();
  if (typeof crypto === "undefined" || !crypto.subtle || !(bits >= 0)) {
    scope.postMessage({ type: "error", message: "no Web Crypto here" });
    return;
  }
  function step(): void {
    solveRange(id, bits, from, SOLVE_BATCH).then(
      (r) => {
        tries += r.tries;
        if (r.nonce !== null) {
          scope.postMessage({ type: "solved", nonce: r.nonce, tries });
          return;
        }
        from += SOLVE_BATCH;
        const now = Date.now();
        if (now - lastReport >= PROGRESS_EVERY_MS) {
          lastReport = now;
          scope.postMessage({ type: "progress", tries });
        }
        step();
      },
      (err: unknown) => {
        const message = (err as { message?: unknown } | null | undefined)?.message;
        scope.postMessage({ type: "error", message: String(message || err) });
      },
    );
  }
  step();
};

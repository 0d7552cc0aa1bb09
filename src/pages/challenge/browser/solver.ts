/**
 * The solving worker's search, by the rule of ../../../policy/pow.ts: a
 * decimal nonce such that SHA-256 of the UTF-8 text `<id>:<nonce>` starts
 * with `bits` zero bits, counted by the server's own `leadingZeroBits`.
 *
 * Nonces are tried in batches: each batch starts all its
 * `crypto.subtle.digest` calls at once and awaits them together (one call per
 * nonce, awaited one by one, spends most of its time between calls), then
 * looks at the digests in order, so the answer is the smallest solving
 * nonce, the same one `solve` in pow.ts finds. Its only outside needs are
 * `crypto.subtle` and `TextEncoder`, so it runs in a worker, a page or Node.
 */
import { leadingZeroBits } from "../../../policy/pow.ts";

/** Bundled with the solver, so that a test can check the copy the browser runs. */
export { leadingZeroBits };

/** Nonces hashed together in one batch. */
export const SOLVE_BATCH = 256;
/** Least time between two progress messages of the worker. */
export const PROGRESS_EVERY_MS = 250;

/** What one batch found: the smallest solving nonce in it, or null, and how many nonces it tried. */
export interface RangeResult {
  nonce: string | null;
  tries: number;
}

const encoder = new TextEncoder();

/** The smallest nonce in [from, from + count) that solves `id` at `bits`, or null when none does. */
export function solveRange(id: string, bits: number, from: number, count: number): Promise<RangeResult> {
  const prefix = id + ":";
  const jobs: Promise<ArrayBuffer>[] = [];
  for (let i = 0; i < count; i++) {
    jobs.push(crypto.subtle.digest("SHA-256", encoder.encode(prefix + String(from + i))));
  }
  return Promise.all(jobs).then((digests) => {
    for (let j = 0; j < digests.length; j++) {
      if (leadingZeroBits(new Uint8Array(digests[j]!)) >= bits) return { nonce: String(from + j), tries: j + 1 };
    }
    return { nonce: null, tries: count };
  });
}

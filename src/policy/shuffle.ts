/**
 * A fair start: those who waited in the prequeue are put in a random order
 * when the room opens, so arriving a millisecond after the page went up
 * gives no edge over arriving ten minutes early.
 *
 * The order is a seeded permutation, computed rather than stored: a
 * four-round Feistel network over the smallest even power of two that holds
 * the prequeue, walking the cycle until it lands inside it. So a shard needs
 * only the seed and the prequeue's bounds to know anyone's place, the edge
 * computes the same place from the view, and anyone with the recorded seed
 * can redraw the order to audit it.
 *
 * Pure.
 */

/** A shard's prequeue at the start: sequence numbers `from + 1 ..= to` are drawn in a random order. */
export interface Draw {
  seed: number;
  from: number;
  to: number;
}

function mix(seed: number, round: number, x: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(round + 1, 0xc2b2ae35) ^ x;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The image of `i` (0 ≤ i < n) under the seeded permutation of 0..n-1. */
export function permute(i: number, n: number, seed: number): number {
  if (n <= 1) return i;
  let bits = Math.max(2, Math.ceil(Math.log2(n)));
  if (bits % 2 === 1) bits += 1;
  const half = bits / 2;
  const mask = (1 << half) - 1;
  let x = i;
  do {
    let left = x >>> half;
    let right = x & mask;
    for (let round = 0; round < 4; round++) {
      const next = left ^ (mix(seed, round, right) & mask);
      left = right;
      right = next;
    }
    x = (left << half) | right;
  } while (x >= n);
  return x;
}

/** The place in calling order (rank) of sequence number `seq`; unchanged outside the draw. */
export function rankOf(seq: number, draw: Draw | null | undefined): number {
  if (draw === null || draw === undefined || seq <= draw.from || seq > draw.to) return seq;
  return draw.from + 1 + permute(seq - draw.from - 1, draw.to - draw.from, draw.seed);
}

/** A 32-bit seed from a random number in [0, 1). */
export function seedFrom(random: () => number): number {
  return Math.floor(random() * 0x1_0000_0000) >>> 0;
}

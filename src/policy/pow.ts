/**
 * Proof of work for under-attack mode.
 *
 * A challenge names an id and a difficulty in bits. It is solved by a nonce
 * (a decimal string) such that SHA-256 of the UTF-8 text `<id>:<nonce>` starts
 * with at least `bits` zero bits. Finding one takes about 2^bits hashes on
 * average; checking one takes a single hash, so the edge can verify a
 * solution without asking anyone.
 */

/** The hash a solution is checked with, as named on the wire. */
export const POW_ALGORITHM = "SHA-256";

/** Highest difficulty ops may set: 2^24 ≈ 17M hashes is already minutes on a phone. */
export const MAX_CHALLENGE_BITS = 24;

/** Longest nonce accepted (a counter's decimal digits fit easily). */
export const MAX_NONCE_LENGTH = 32;

/** How long a challenge may be solved and presented for. */
export const CHALLENGE_TTL_MS = 5 * 60_000;

/** What a listener (the waiting page, or an app) is given to solve. */
export interface ChallengeOffer {
  /** The signed challenge, sent back as the `Spillway-Challenge` header with the solution. */
  token: string;
  /** The text before `:<nonce>` in the hashed input. */
  id: string;
  /** Leading zero bits the hash must have. */
  bits: number;
  algorithm: typeof POW_ALGORITHM;
  /** When the challenge can no longer be used (ISO 8601). */
  expiresAt: string;
}

const encoder = new TextEncoder();

/** Leading zero bits of a byte string. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let bits = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/** Is this nonce a well-formed candidate (a decimal string of bounded length)? */
export function isNonce(nonce: string): boolean {
  return nonce.length > 0 && nonce.length <= MAX_NONCE_LENGTH && /^[0-9]+$/.test(nonce);
}

/** Does `nonce` solve the challenge `id` at `bits`? */
export async function solves(id: string, nonce: string, bits: number): Promise<boolean> {
  if (!isNonce(nonce)) return false;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`${id}:${nonce}`)));
  return leadingZeroBits(digest) >= bits;
}

/**
 * Find a solution by counting from `from` (tests and tools; the waiting page
 * solves in a Web Worker of its own). Gives up after `limit` tries.
 */
export async function solve(id: string, bits: number, from = 0, limit = 1 << 26): Promise<string | null> {
  for (let n = from; n < from + limit; n++) {
    const nonce = String(n);
    if (await solves(id, nonce, bits)) return nonce;
  }
  return null;
}

/**
 * Tokens this isolate has already verified, remembered by their text.
 *
 * A waiting listener polls with the same ticket every few seconds, and a
 * listener on the pass path sends the same pass with every segment it
 * fetches: checking the same signature again and again is most of what such
 * a request costs (an HMAC for a ticket, ECDSA for a pass). A token's
 * verification depends only on its text, the keys, the issuer, the room and
 * the time; so a token verified here once is taken as verified again while
 * the same key ring is in use, for the same issuer and room, and while it is
 * still comfortably inside its lifetime. Near its `exp` (within
 * RECHECK_BEFORE_EXP_S) it is verified in full again, so the exact edge of
 * expiry is always decided by the verifier itself; a clock that went back
 * also means a full check. Refusals are never remembered.
 *
 * Each key ring has its own memo (a rotated secret means a new ring and an
 * empty memo), holding at most MAX_REMEMBERED tokens: the oldest go first.
 */
import type { Verified } from "./claims.ts";
import type { KeyRing } from "./keys.ts";

/** Most tokens remembered per key ring and kind (a few kB each at most). */
export const MAX_REMEMBERED = 4096;
/** Within this many seconds of its `exp`, a token is verified in full every time. */
export const RECHECK_BEFORE_EXP_S = 2;

interface Remembered {
  claims: { exp: number };
  issuer: string;
  room: string;
  /** When (ms) it was verified: a clock behind that means a full check. */
  at: number;
}

/** The kinds of token remembered, each apart from the others. */
export type MemoKind = "ticket" | "pass" | "overflow";

/**
 * Each key ring's memos by kind: an object of one fixed shape, whose field a
 * kind given as a constant reads as any field is read, where a Map would
 * look the kind up again on every waiting poll.
 */
type MemosByKind = Record<MemoKind, Map<string, Remembered>>;
const memos = new WeakMap<KeyRing, MemosByKind>();

/**
 * `verify(keys, token, opts)`, or what it said of the same token before when
 * that still holds. `kind` keeps tickets, passes and offers apart.
 */
export async function verifiedOnce<C extends { exp: number }>(
  kind: MemoKind,
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
  verify: () => Promise<Verified<C>>,
): Promise<Verified<C>> {
  const memo = memoOf(keys, kind);
  const known = memo.get(token);
  if (known !== undefined && stillHolds(known, opts)) return { ok: true, claims: known.claims as C };
  const verified = await verify();
  if (verified.ok) {
    if (known !== undefined) memo.delete(token);
    else if (memo.size >= MAX_REMEMBERED) memo.delete(memo.keys().next().value!);
    // Frozen, so that the remembered claims can be handed out as they are (no copy per request).
    memo.set(token, { claims: Object.freeze(verified.claims), issuer: opts.issuer, room: opts.room, at: opts.now });
  }
  return verified;
}

/**
 * The claims of a token verified here before while that still holds (as
 * `verifiedOnce` would take them), else null: then it must be verified.
 */
export function rememberedClaims<C extends { exp: number }>(
  kind: MemoKind,
  keys: KeyRing,
  token: string,
  opts: { issuer: string; room: string; now: number },
): C | null {
  const known = (keys === lastKeys ? lastByKind : memos.get(keys))?.[kind].get(token);
  return known !== undefined && stillHolds(known, opts) ? (known.claims as C) : null;
}

/**
 * The key ring last asked about, and its memos: an isolate uses one ring
 * until its secrets change, so most look-ups skip the WeakMap: one look-up
 * less on every waiting poll.
 */
let lastKeys: KeyRing | null = null;
let lastByKind: MemosByKind | undefined;

function memoOf(keys: KeyRing, kind: MemoKind): Map<string, Remembered> {
  let byKind = memos.get(keys);
  if (byKind === undefined) memos.set(keys, (byKind = { ticket: new Map(), pass: new Map(), overflow: new Map() }));
  lastKeys = keys;
  lastByKind = byKind;
  return byKind[kind];
}

/** Same issuer and room, a clock not behind the check, and comfortably inside its lifetime. */
function stillHolds(known: Remembered, opts: { issuer: string; room: string; now: number }): boolean {
  return (
    known.issuer === opts.issuer &&
    known.room === opts.room &&
    opts.now >= known.at &&
    Math.floor(opts.now / 1000) < known.claims.exp - RECHECK_BEFORE_EXP_S
  );
}

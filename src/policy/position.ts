/**
 * When a waiting listener should ask again (the place and the estimate come
 * from ./estimate.ts).
 */
/**
 * Seconds until the next poll: short near the front, longer further back,
 * never longer than half the estimate, with ±20 % jitter so that listeners who
 * joined together do not poll together.
 */
export function pollAfterSeconds(position: number | null, eta: number | null, random: () => number): number {
  const p = position ?? 1;
  let base = p <= 5 ? 2 : p <= 50 ? 4 : p <= 500 ? 8 : p <= 5_000 ? 15 : 30;
  if (eta !== null) base = Math.min(base, Math.max(2, eta / 2));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.max(1, Math.round(jittered));
}

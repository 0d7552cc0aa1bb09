/**
 * Running a page's bundled script (src/pages/generated/scripts.ts) in a unit
 * test as the browser would: with the globals it reads handed in, on a fake
 * clock, and with Math.random() held at 0.5 so its jitter is the same every run.
 */
import { afterEach, beforeEach, vi } from "vitest";

/** Fake timers and a steady Math.random() for every test in the enclosing block (or file); real ones after each. */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(Math, "random").mockReturnValue(0.5);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
}

/** A bundled script, compiled once; each call runs it afresh with these globals. */
export function pageScript<const Names extends readonly string[]>(
  source: string,
  names: Names,
): (globals: Record<Names[number], unknown>) => void {
  const run = new Function(...names, source) as (...values: unknown[]) => void;
  return (globals) => run(...names.map((name: Names[number]) => globals[name]));
}

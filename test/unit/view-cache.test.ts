/**
 * The per-isolate view cache: a request never waits on a fetch another
 * request started (workerd refuses one request's I/O in another) — it
 * answers from the view in hand instead; without one it fetches its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import { PASS_VIEW_MAX_AGE_MS } from "../../src/policy/pass-trust.ts";
import type { GlobalView } from "../../src/policy/protocol.ts";
import {
  cachedView,
  endedHere,
  forgetViews,
  noteEnded,
  VIEW_TTL_MS,
  vouchesForPasses,
} from "../../src/edge/view-cache.ts";

const view = (at: number) => ({ at }) as unknown as GlobalView;

afterEach(() => forgetViews());

describe("cachedView", () => {
  it("answers from the view in hand while another request's fetch is under way", async () => {
    await cachedView("r", 0, async () => view(0));
    let release!: (v: GlobalView) => void;
    const slow = new Promise<GlobalView>((resolve) => (release = resolve));
    const later = VIEW_TTL_MS + 1;
    const fetching = cachedView("r", later, () => slow);
    let secondLoads = 0;
    const other = await cachedView("r", later, async () => {
      secondLoads += 1;
      return view(later);
    });
    expect(other.at).toBe(0);
    expect(secondLoads).toBe(0);
    release(view(later));
    expect((await fetching).at).toBe(later);
    expect((await cachedView("r", later, async () => view(-1))).at).toBe(later);
  });

  it("fetches for itself when there is no view yet, even while another fetch is under way", async () => {
    const never = new Promise<GlobalView>(() => undefined);
    void cachedView("s", 0, () => never);
    const own = await cachedView("s", 0, async () => view(5));
    expect(own.at).toBe(5);
  });
});

describe("what an isolate learnt of ended seats", () => {
  it("refuses a seat's passes until their expiry, then forgets it", () => {
    noteEnded("r", "sid-1", 10_000);
    expect(endedHere("r", "sid-1", 9_999)).toBe(true);
    expect(endedHere("r", "sid-2", 9_999)).toBe(false);
    expect(endedHere("other", "sid-1", 9_999)).toBe(false);
    expect(endedHere("r", "sid-1", 10_000)).toBe(false);
    expect(endedHere("r", "sid-1", 5_000)).toBe(false);
  });

  it("keeps a bounded number per room, dropping the oldest first", () => {
    for (let i = 0; i < 10_001; i++) noteEnded("r", `sid-${i}`, 1_000);
    expect(endedHere("r", "sid-0", 0)).toBe(false);
    expect(endedHere("r", "sid-1", 0)).toBe(true);
    expect(endedHere("r", "sid-10000", 0)).toBe(true);
  });
});

describe("vouchesForPasses", () => {
  it("trusts a view's revocations for PASS_VIEW_MAX_AGE_MS after they were current, not longer", () => {
    const v = { asOf: 1_000 } as unknown as GlobalView;
    expect(vouchesForPasses(v, 1_000 + PASS_VIEW_MAX_AGE_MS)).toBe(true);
    expect(vouchesForPasses(v, 1_001 + PASS_VIEW_MAX_AGE_MS)).toBe(false);
  });
});

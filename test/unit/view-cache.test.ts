/**
 * The per-isolate view cache: a request never waits on a fetch another
 * request started (workerd refuses one request's I/O in another) — it
 * answers from the view in hand instead; without one it fetches its own.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { GlobalView } from "../../src/admission/coordinator.ts";
import { cachedView, forgetViews, VIEW_TTL_MS } from "../../src/room/view-cache.ts";

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

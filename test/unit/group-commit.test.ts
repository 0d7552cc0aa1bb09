import { describe, expect, it } from "vitest";
import { GroupCommit } from "../../src/objects/group-commit.ts";
import { commitAt, commitEveryMs, COMMIT_EVERY_MS } from "../../src/policy/commits.ts";

/** Timers run by hand: `tick(ms)` moves time and runs what is due, in order. */
function fakeTimers() {
  let now = 0;
  const due: { at: number; run: () => void }[] = [];
  return {
    schedule: (run: () => void, ms: number) => void due.push({ at: now + ms, run }),
    async tick(ms: number) {
      const end = now + ms;
      for (;;) {
        due.sort((a, b) => a.at - b.at);
        const next = due[0];
        if (next === undefined || next.at > end) break;
        due.shift();
        now = next.at;
        next.run();
        await Promise.resolve();
      }
      now = end;
      await Promise.resolve();
    },
    get now() {
      return now;
    },
  };
}

describe("GroupCommit", () => {
  it("commits at once when quiet, then at most once per window, answering who waited only after their commit", async () => {
    const timers = fakeTimers();
    const commits: number[] = [];
    const group = new GroupCommit(
      () => commits.push(timers.now),
      () => {},
      250,
      timers.schedule,
      () => timers.now,
    );
    const answered: string[] = [];

    void group.committed().then(() => answered.push("a"));
    await timers.tick(0);
    expect(commits).toEqual([0]);
    expect(answered).toEqual(["a"]);

    // Within the window: b and c wait for one commit at its end.
    await timers.tick(10);
    void group.committed().then(() => answered.push("b"));
    await timers.tick(100);
    void group.committed().then(() => answered.push("c"));
    await timers.tick(100);
    expect(answered).toEqual(["a"]);
    expect(commits).toEqual([0]);
    await timers.tick(40);
    expect(commits).toEqual([0, 250]);
    expect(answered).toEqual(["a", "b", "c"]);

    // Quiet for a window: the next commits at once again.
    await timers.tick(600);
    void group.committed().then(() => answered.push("d"));
    await timers.tick(0);
    expect(commits).toEqual([0, 250, 850]);
    expect(answered).toEqual(["a", "b", "c", "d"]);
  });

  it("refuses who waited when the commit fails, and when the changes are abandoned", async () => {
    const timers = fakeTimers();
    let fail = true;
    const failures: unknown[] = [];
    const group = new GroupCommit(
      () => {
        if (fail) throw new Error("disk");
      },
      (err) => failures.push(err),
      250,
      timers.schedule,
      () => timers.now,
    );
    const first = group.committed();
    await timers.tick(0);
    await expect(first).rejects.toThrow("disk");
    expect(failures).toHaveLength(1);

    fail = false;
    const second = group.committed();
    group.abandon(new Error("restarted"));
    await expect(second).rejects.toThrow("restarted");
    // The scheduled commit finds nobody waiting; the next one succeeds.
    await timers.tick(300);
    const third = group.committed();
    await timers.tick(0);
    await expect(third).resolves.toBeUndefined();
  });
});

describe("commit pacing", () => {
  it("reads COMMIT_EVERY_MS, refusing a bad value", () => {
    expect(commitEveryMs(undefined)).toBe(COMMIT_EVERY_MS);
    expect(commitEveryMs(" ")).toBe(COMMIT_EVERY_MS);
    expect(commitEveryMs("0")).toBe(0);
    expect(commitEveryMs("500")).toBe(500);
    for (const bad of ["-1", "1.5", "abc", "5001"]) expect(() => commitEveryMs(bad)).toThrow(/COMMIT_EVERY_MS/);
  });

  it("commits at once after a quiet window, else a window after the last commit", () => {
    expect(commitAt(null, 1_000, 250)).toBe(1_000);
    expect(commitAt(1_000, 1_100, 250)).toBe(1_250);
    expect(commitAt(1_000, 1_250, 250)).toBe(1_250);
    expect(commitAt(1_000, 2_000, 250)).toBe(2_000);
    // A clock gone back behind the last commit (a restored snapshot, a test clock) commits at once.
    expect(commitAt(3_600_000, 2_000, 250)).toBe(2_000);
  });
});

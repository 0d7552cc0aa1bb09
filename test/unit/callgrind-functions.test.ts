/**
 * bench:instructions' `--profile` names the compiled JavaScript in
 * callgrind's counts by V8's perf map (bench/lib/callgrind-functions.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeAt, readPerfMap } from "../../bench/lib/callgrind-functions.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "spillway-perf-map-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("V8's perf map", () => {
  it("names an address by the code written there last, and nothing outside every range", async () => {
    const map = join(dir, "perf-1.map");
    await writeFile(
      map,
      [
        "641f6400 200 JS:*hotPath index.js:17212:17",
        "641f7000 80 Builtin:StringIndexOf",
        "not a line of the map",
        "641f6400 100 JS:+'appPollNow index.js:17249:20",
        "",
      ].join("\n"),
    );
    const ranges = await readPerfMap(map);
    // Reused code space: the later code at 0x641f6400 names its 0x100 bytes, the earlier the rest.
    expect(codeAt(ranges, 0x641f6400n)).toBe("JS:+'appPollNow index.js:17249:20");
    expect(codeAt(ranges, 0x641f64ffn)).toBe("JS:+'appPollNow index.js:17249:20");
    expect(codeAt(ranges, 0x641f6500n)).toBe("JS:*hotPath index.js:17212:17");
    expect(codeAt(ranges, 0x641f7040n)).toBe("Builtin:StringIndexOf");
    expect(codeAt(ranges, 0x641f7080n)).toBeNull();
    expect(codeAt(ranges, 0x641f63ffn)).toBeNull();
  });
});

/**
 * bench:instructions' `--profile` names the compiled JavaScript in
 * callgrind's counts by V8's perf map, and its counts (with `--cache`, the
 * simulated misses too) are read from a dump's summary
 * (bench/lib/callgrind-functions.ts).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeAt, readPerfMap, summaryEvents } from "../../bench/lib/callgrind-functions.ts";

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

describe("a dump's summary", () => {
  const header = (events: string, summary: string) =>
    `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npid: 7\ncmd: workerd serve\n` +
    `events: ${events}\n\nfl=(1) x.c\nfn=(1) main\n15 90 14\n\nsummary: ${summary}\ntotals: ${summary}\n`;

  it("reads instructions alone, as a plain count writes them", () => {
    expect(summaryEvents(header("Ir", "69306123"))).toEqual({ Ir: 69306123 });
  });

  it("reads every event of a --cache count, the zeros left off its end as zeros", () => {
    const events = "Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw Bc Bcm Bi Bim";
    expect(
      summaryEvents(
        header(events, "73127943 20173133 15887525 3047691 472745 243823 0 0 44061 8297392 761411 254912 111617"),
      ),
    ).toEqual({
      Ir: 73127943,
      Dr: 20173133,
      Dw: 15887525,
      I1mr: 3047691,
      D1mr: 472745,
      D1mw: 243823,
      ILmr: 0,
      DLmr: 0,
      DLmw: 44061,
      Bc: 8297392,
      Bcm: 761411,
      Bi: 254912,
      Bim: 111617,
    });
    expect(summaryEvents(header(events, "500 100 80 3"))).toEqual({
      Ir: 500,
      Dr: 100,
      Dw: 80,
      I1mr: 3,
      D1mr: 0,
      D1mw: 0,
      ILmr: 0,
      DLmr: 0,
      DLmw: 0,
      Bc: 0,
      Bcm: 0,
      Bi: 0,
      Bim: 0,
    });
  });

  it("refuses a dump without both lines, with instructions not first, or with more counts than events", () => {
    expect(() => summaryEvents("events: Ir\n", '"poll-1"')).toThrow(/dump for "poll-1" has no events and summary/);
    expect(() => summaryEvents("summary: 5\n")).toThrow(/no events and summary/);
    expect(() => summaryEvents(header("Dr Ir", "5 6"))).toThrow(/no events and summary/);
    expect(() => summaryEvents(header("Ir", "5 6"))).toThrow(/no events and summary/);
  });

  it("refuses counts that are not whole numbers", () => {
    expect(() => summaryEvents(header("Ir Bc", "5 x"))).toThrow(/not counts/);
    expect(() => summaryEvents(header("Ir", "-5"))).toThrow(/not counts/);
  });
});

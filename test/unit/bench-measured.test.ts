/**
 * `npm run bench` takes a round's slices of one Worker's load as one run
 * (bench/lib/measured.ts), the case's and its baseline's taking turns, and
 * pins the Workers to one of the CPUs it may use (bench/lib/processes.ts).
 */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { combine, type Measured, turns } from "../../bench/lib/measured.ts";
import { allowedCpus, cpuList } from "../../bench/lib/processes.ts";

function slice(requests: number, seconds: number, extra: Partial<Measured> & { p99Ms?: number } = {}): Measured {
  const { p99Ms = 10, ...rest } = extra;
  return {
    result: {
      rps: requests / seconds,
      p50Ms: 1,
      p99Ms,
      meanMs: 2,
      impliedMeanMs: 0,
      requests,
      durationSeconds: seconds,
      non2xx: 1,
      errors: 2,
      generatorCpuSeconds: seconds / 10,
    },
    calls: { total: 3, byKind: { sync: 2, view: 1 } },
    cpuUsPerRequest: 100,
    generatorCpuUsPerRequest: 0,
    ...rest,
  };
}

describe("a round's turns", () => {
  it("starts and ends with the baseline, the case between each two of its runs", () => {
    expect(turns(1)).toEqual(["baseline", "case", "baseline"]);
    expect(turns(4)).toEqual([
      "baseline",
      "case",
      "baseline",
      "case",
      "baseline",
      "case",
      "baseline",
      "case",
      "baseline",
    ]);
  });

  it("puts the mean moment of the baseline's slices on the case's", () => {
    for (const n of [1, 2, 3, 4, 7]) {
      const order = turns(n);
      const at = (side: "baseline" | "case") =>
        order.flatMap((s, i) => (s === side ? [i] : [])).reduce((a, b, _, all) => a + b / all.length, 0);
      expect(order.filter((s) => s === "case")).toHaveLength(n);
      expect(at("baseline")).toBeCloseTo(at("case"), 9);
    }
  });
});

describe("slices taken as one run", () => {
  it("is the slices' requests over their seconds, not the mean of their rates", () => {
    // 4,000 requests in 1 s and 1,000 in 4 s: 1,000 req/s over the 5 s, where the two rates' mean is 2,125.
    const run = combine([slice(4000, 1), slice(1000, 4)], 10);
    expect(run.result.requests).toBe(5000);
    expect(run.result.durationSeconds).toBe(5);
    expect(run.result.rps).toBe(1000);
    expect(run.result.impliedMeanMs).toBe(10);
    expect(run.result.non2xx).toBe(2);
    expect(run.result.errors).toBe(4);
  });

  it("adds up the Durable Object calls and weighs CPU and latencies by requests", () => {
    const run = combine(
      [slice(3000, 2, { cpuUsPerRequest: 80, p99Ms: 4 }), slice(1000, 2, { cpuUsPerRequest: 120, p99Ms: 8 })],
      10,
    );
    expect(run.calls).toEqual({ total: 6, byKind: { sync: 4, view: 2 } });
    expect(run.cpuUsPerRequest).toBe(90);
    expect(run.result.p99Ms).toBe(5);
    // wrk's CPU: 0.2 s + 0.2 s for 4,000 requests.
    expect(run.generatorCpuUsPerRequest).toBeCloseTo(100, 9);
  });

  it("knows no CPU or calls when a slice was not counted", () => {
    const run = combine([slice(1000, 1), slice(1000, 1, { cpuUsPerRequest: null, calls: null })], 10);
    expect(run.cpuUsPerRequest).toBeNull();
    expect(run.calls).toBeNull();
  });

  it("hands one slice back as it is, and refuses none", () => {
    const only = slice(500, 2);
    expect(combine([only], 10)).toBe(only);
    expect(() => combine([], 10)).toThrow(/no slices/);
  });
});

describe("the CPUs a bench may pin its processes to", () => {
  it("reads a CPU list as Linux writes one", () => {
    expect(cpuList("0-3,6")).toEqual([0, 1, 2, 3, 6]);
    expect(cpuList("1")).toEqual([1]);
    expect(cpuList("0,2-3")).toEqual([0, 2, 3]);
  });

  it("takes nothing else for one", () => {
    for (const text of ["", "a", "3-1", "0-", "1,,2", "0-1 "]) expect(cpuList(text)).toBeNull();
  });

  it("finds this process's own on Linux, as many as the runtime counts", () => {
    expect(allowedCpus()).toHaveLength(availableParallelism());
  });
});

/**
 * `spillway watch`: the terminal frame, the log line, --json, redrawing in
 * place, a failed refresh during the watch, and stopping on Ctrl-C.
 */
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { AdminClient } from "../../src/cli/ops/admin-client.ts";
import { main } from "../../src/cli/ops/main.ts";
import { bar, percent } from "../../src/cli/ops/format.ts";
import { statsFrame, watchRoom } from "../../src/cli/ops/watch.ts";
import type { RoomStats } from "../../src/contract/schemas.ts";
import { Capture, json, sampleStats, useStandIn, WRITE_TOKEN } from "./cli-stand-in.ts";

const NOW = new Date("2026-11-22T19:00:05Z");
const standIn = useStandIn((s) => s.stats.set("demo", sampleStats()));

async function run(argv: string[], stdout: Capture, signal?: AbortSignal) {
  const stderr = new Capture();
  const code = await main({
    argv,
    env: { SPILLWAY_URL: standIn().url, SPILLWAY_TOKEN: WRITE_TOKEN },
    stdout,
    stderr,
    now: () => NOW,
    ...(signal === undefined ? {} : { signal }),
  });
  return { code, out: stdout.text, err: stderr.text };
}

function client(): AdminClient {
  return new AdminClient({
    url: new URL(standIn().url),
    urlSource: "--url",
    token: WRITE_TOKEN,
    tokenSource: "--token",
  });
}

const ESC = "\x1b";

describe("watch --once", () => {
  it("on a terminal: one frame with the live bar, capacity, queue, rates, mode, origin and peak", async () => {
    const { code, out } = await run(["watch", "demo", "--once"], new Capture(true));
    expect(code).toBe(0);
    expect(out).toBe(
      `${ESC}[?25l` +
        [
          `demo at ${standIn().url} · 19:00:05 UTC`,
          "",
          "  live       812 of 1,000 seats  [########################------]  81%",
          "  capacity   1,000 (all in force)",
          "  queued     1,204 waiting, 3 called",
          "  admitting  312.5/min (600 allowed)",
          "  arriving   410/min",
          "  mode       open",
          "  origin     healthy: factor 1, 0 distress reports",
          "  peak       905 at 2026-11-22 18:52:10Z",
          "",
        ].join("\n") +
        `${ESC}[?25h`,
    );
  });

  it("piped: one key=value line", async () => {
    const { code, out } = await run(["watch", "demo", "--once"], new Capture(false));
    expect(code).toBe(0);
    expect(out).toBe(
      "2026-11-22T19:00:05.000Z demo live=812 capacity=1000 effective=1000 [################----] 81% " +
        "queued=1204 prequeued=0 called=3 admissions/min=312.5 arrivals/min=410 mode=open " +
        "origin.factor=1 origin.distress=0 peak=905\n",
    );
  });

  it("--json: the stats JSON on one line", async () => {
    const { out } = await run(["watch", "demo", "--once", "--json"], new Capture(true));
    expect(out.endsWith("\n")).toBe(true);
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(out)).toEqual(sampleStats());
  });

  it("a struggling origin: effective capacity marked on the bar, limits configured and in force", () => {
    const lines = statsFrame({
      ...sampleStats(),
      active: 450,
      effectiveCapacity: 500,
      effectiveAdmitPerMinute: 300,
      origin: { factor: 0.5, distress: 4 },
      mode: "overflow",
      queued: 0,
      prequeued: 0,
      peakAt: null,
    });
    expect(lines).toEqual([
      "  live       450 of 1,000 seats  [##############-|---------------]  45%",
      '  capacity   1,000 configured, 500 in force ("|" on the bar)',
      "  queued     0 waiting, 3 called",
      "  admitting  312.5/min (300 allowed of 600 configured)",
      "  arriving   410/min",
      "  mode       overflow",
      "  origin     struggling: factor 0.5, 4 distress reports",
      "  peak       none yet",
    ]);
  });

  it("before the start: those waiting for it are counted", () => {
    const lines = statsFrame({ ...sampleStats(), queued: 0, prequeued: 52_000 });
    expect(lines[2]).toBe("  queued     0 waiting, 3 called, 52,000 waiting for the start");
  });

  it("reads the contract's stats: numbers it does not show may be missing, ones it shows must keep the rules", async () => {
    const { challenge: _challenge, doCalls: _doCalls, prequeued: _prequeued, ...older } = sampleStats();
    standIn().stats.set("demo", older as RoomStats);
    const lean = await run(["watch", "demo", "--once"], new Capture(false));
    expect(lean.code).toBe(0);
    expect(lean.out).toContain("queued=1204 prequeued=0 called=3");
    standIn().stats.set("demo", { ...sampleStats(), mode: "paused" } as unknown as RoomStats);
    const broken = await run(["watch", "demo", "--once"], new Capture(false));
    expect(broken.code).toBe(1);
    expect(broken.err).toContain("with JSON this CLI does not read (mode:");
  });

  it("a first refresh that fails ends the watch with exit 1", async () => {
    standIn().override = (_req, res) => {
      json(res, 401, { error: { code: "unauthorized", message: "An admin token is required." } });
      return true;
    };
    const { code, err } = await run(["watch", "demo", "--once"], new Capture(true));
    expect(code).toBe(1);
    expect(err).toContain("the token was refused");
  });
});

/**
 * Watch "demo" every 10 ms: the second refresh is answered by `second` (the
 * stand-in's own answer otherwise), and the third stops the watch. Returns
 * how many refreshes the stand-in saw.
 */
async function watchWithSecondAnswer(
  out: Capture,
  err: Capture,
  second: (res: ServerResponse) => void,
): Promise<number> {
  const interrupt = new AbortController();
  let calls = 0;
  standIn().override = (_req, res) => {
    calls++;
    if (calls === 2) {
      second(res);
      return true;
    }
    if (calls === 3) interrupt.abort();
    return false;
  };
  await watchRoom({
    client: client(),
    room: "demo",
    intervalMs: 10,
    once: false,
    json: false,
    out,
    err,
    signal: interrupt.signal,
    now: () => NOW,
  });
  return calls;
}

describe("watch (refreshing)", () => {
  it("redraws the frame in place on a terminal, and stops cleanly on Ctrl-C", async () => {
    const out = new Capture(true, 200);
    const interrupt = new AbortController();
    let frames = 0;
    const stats = client();
    const counting = {
      origin: stats.origin,
      stats: async (room: string) => {
        const answer = await stats.stats(room);
        if (++frames === 3) interrupt.abort();
        return { ...answer, data: { ...answer.data, active: 800 + frames } };
      },
    };
    await watchRoom({
      client: counting,
      room: "demo",
      intervalMs: 10,
      once: false,
      json: false,
      out,
      err: new Capture(),
      signal: interrupt.signal,
      now: () => NOW,
    });
    // Three frames of 10 lines; the 2nd and 3rd start by moving up over the last one and clearing it.
    expect(out.text.split(`${ESC}[10A\r${ESC}[J`)).toHaveLength(3);
    expect(out.text).toContain("801 of 1,000 seats");
    expect(out.text).toContain("803 of 1,000 seats");
    expect(out.text).toContain("every 0.01 s · Ctrl-C quits");
    expect(out.text.endsWith(`${ESC}[?25h\n`)).toBe(true);
  });

  it("starts a new screen when the terminal was resized, and keeps a many-line problem to its lines", async () => {
    const out = new Capture(true, 120);
    await watchWithSecondAnswer(out, new Capture(), (res) => {
      out.columns = 90;
      json(res, 400, { error: { code: "invalid_body", message: "x", fields: [{ field: "a", message: "b" }] } });
    });
    const frames = out.text.split(new RegExp(`${ESC}\\[H${ESC}\\[2J|${ESC}\\[\\d+A\r${ESC}\\[J`));
    expect(out.text).toContain(`${ESC}[H${ESC}[2J`);
    // The problem frame is 13 lines (the error's field on a line of its own): the next one moves back over 13.
    expect(frames[1]!.trimEnd().split("\n")).toHaveLength(13);
    expect(out.text).toContain(`${ESC}[13A\r${ESC}[J`);
  });

  it("keeps the last numbers and says so when a later refresh fails, then carries on", async () => {
    const out = new Capture(true, 300);
    const calls = await watchWithSecondAnswer(out, new Capture(), (res) => {
      res.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad gateway</h1>");
    });
    expect(out.text).toContain(
      `! 19:00:05 ${standIn().url} answered GET /_spillway/admin/rooms/demo/stats with 502 and text/html, not JSON`,
    );
    expect(out.text).toContain("(the numbers are from 19:00:05; retrying)");
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it("piped: a line per refresh, problems to stderr", async () => {
    const out = new Capture(false);
    const err = new Capture(false);
    await watchWithSecondAnswer(out, err, (res) => {
      json(res, 503, { error: { code: "unavailable", message: "Spillway is busy; try again shortly." } });
    });
    expect(out.text.trim().split("\n")).toHaveLength(2);
    expect(err.text).toBe(
      `2026-11-22T19:00:05.000Z ${standIn().url} refused GET /_spillway/admin/rooms/demo/stats (503 unavailable: Spillway is busy; try again shortly)\n`,
    );
  });

  it("Ctrl-C during a watch exits 0 through main, the last frame left on screen", async () => {
    const interrupt = new AbortController();
    const stdout = new Capture(true);
    const running = run(["watch", "demo", "--interval", "1"], stdout, interrupt.signal);
    await new Promise((r) => setTimeout(r, 100));
    interrupt.abort();
    const { code, err } = await running;
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(stdout.text).toContain("812 of 1,000 seats");
  });
});

describe("the bar", () => {
  it("fills by share, marks a lower limit, and copes with an empty or overfull room", () => {
    expect(bar(5, 10, 10)).toBe("[#####-----]");
    expect(bar(5, 10, 10, 8)).toBe("[#####---|--]");
    expect(bar(9, 10, 10, 5)).toBe("[#####|####-]");
    expect(bar(1, 10, 10, 0)).toBe("[|#---------]");
    expect(bar(15, 10, 10)).toBe("[##########]");
    expect(bar(3, 0, 4)).toBe("[----]");
    expect(percent(3, 0)).toBe("-");
    expect(percent(1, 3)).toBe("33%");
  });
});

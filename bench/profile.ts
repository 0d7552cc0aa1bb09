/**
 * `node bench/profile.ts [--path P | --poll | --pass] [--seconds S] [--out FILE] [--heap]`:
 * where one request path's CPU goes in Spillway, in raw workerd under wrk load.
 *
 * Starts Spillway's deploy bundle in workerd (bench/lib/workerd.ts) with its
 * DevTools inspector on, warms the path up, then records a V8 CPU profile of
 * the Worker's isolate while wrk loads it, and prints the functions with the
 * most samples: self (the function's own code) and total (anywhere on the
 * stack, each function once per sample). The profile is written as a
 * .cpuprofile file (Chrome DevTools opens it). The default path is the
 * static JWKS, which does no work of its own, so what it shows is what
 * every request pays: routing, middleware, the response and workerd itself.
 * `--poll` profiles a waiting poll instead (a room with one seat taken and
 * listeners queued; the last one in line polls), `--pass` a request with a
 * pass proxied to the local origin. `--heap` reports instead what one
 * request allocates, by function (V8's sampling heap profiler): bytes a
 * request, which unlike a time does not move with the machine's load.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { freePort } from "../test/contract/support/worker.ts";
import { startOrigin } from "./lib/origin.ts";
import { cpuSecondsBetween } from "./lib/processes.ts";
import { Rooms } from "./lib/rooms.ts";
import { startRawSpillway } from "./lib/workerd.ts";
import { ensureWrk, type LoadOptions, type LoadRequest, measure, warmUp } from "./lib/wrk.ts";

const { values: flags } = parseArgs({
  options: {
    path: { type: "string", default: "/_spillway/jwks.json" },
    poll: { type: "boolean", default: false },
    pass: { type: "boolean", default: false },
    seconds: { type: "string", default: "8" },
    out: { type: "string", default: join(tmpdir(), `spillway-${Date.now()}.cpuprofile`) },
    top: { type: "string", default: "25" },
    heap: { type: "boolean", default: false },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A minimal DevTools protocol client: one call at a time is all this needs. */
async function inspector(url: string) {
  const ws = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let next = 1;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data: Buffer) => {
    const msg = JSON.parse(data.toString("utf8")) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.error === undefined ? msg.result : { error: msg.error });
  });
  return {
    call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise<T>((resolve) => pending.set(id, resolve as (r: unknown) => void));
    },
    close: () => ws.close(),
  };
}

const frameKey = (n: ProfileNode) => {
  const f = n.callFrame;
  const file = f.url.split("/").at(-1) || "(native)";
  return `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
};

/** Self and total sample counts per function. */
function summarise(profile: Profile): { self: Map<string, number>; total: Map<string, number>; samples: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    const key = frameKey(node);
    self.set(key, (self.get(key) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = frameKey(byId.get(at)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + 1);
    }
  }
  return { self, total, samples: profile.samples.length };
}

function top(map: Map<string, number>, samples: number, n: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `  ${((v / samples) * 100).toFixed(1).padStart(5)} %  ${k}`)
    .join("\n");
}

/** One profile taken: through this inspector, under this load, for so many seconds; the top rows printed. */
interface ProfileRun {
  client: Awaited<ReturnType<typeof inspector>>;
  load: Omit<LoadOptions, "durationSeconds">;
  seconds: number;
  top: number;
}

interface HeapNode {
  callFrame: ProfileNode["callFrame"];
  selfSize: number;
  children: HeapNode[];
}

/**
 * `--heap`: what one request allocates, by function (V8's sampling heap
 * profiler, one sample per 64 bytes on average, kept objects and collected
 * ones alike), as bytes a request.
 */
async function allocations({ client, load, seconds, top: n }: ProfileRun): Promise<void> {
  await client.call("HeapProfiler.enable");
  await client.call("HeapProfiler.startSampling", {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const result = await measure({ ...load, durationSeconds: seconds });
  const { profile } = await client.call<{ profile: { head: HeapNode } }>("HeapProfiler.stopSampling");
  client.close();
  const self = new Map<string, number>();
  const walk = (node: HeapNode) => {
    const key = frameKey(node as unknown as ProfileNode);
    self.set(key, (self.get(key) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `  ${(v / result.requests).toFixed(0).padStart(6)} B  ${k}`);
  console.log(
    [
      `GET ${load.request.path}: ${result.requests} requests, ${(total / result.requests).toFixed(0)} bytes allocated a request`,
      "",
      ...rows,
    ].join("\n"),
  );
}

/** The CPU profile of the Worker's isolate under load: its top functions, and the profile written out. */
async function cpuProfile({ client, load, seconds, top: n }: ProfileRun): Promise<void> {
  await client.call("Profiler.enable");
  await client.call("Profiler.setSamplingInterval", { interval: 100 });
  await client.call("Profiler.start");
  const cpuBefore = spillway.cpuTicks();
  const result = await measure({ ...load, durationSeconds: seconds });
  const cpuAfter = spillway.cpuTicks();
  const { profile } = await client.call<{ profile: Profile }>("Profiler.stop");
  client.close();
  await writeFile(flags.out, JSON.stringify(profile));
  const { self, total, samples } = summarise(profile);
  const idle = self.get("(idle) (native):0") ?? 0;
  const cpu =
    cpuBefore && cpuAfter ? ((cpuSecondsBetween(cpuBefore, cpuAfter) * 1e6) / result.requests).toFixed(0) : "?";
  console.log(
    [
      `GET ${load.request.path}: ${result.rps.toFixed(0)} req/s while profiled (sampling every 100 µs slows it),` +
        ` workerd ${cpu} µs CPU/request; ${samples} samples, ${((idle / samples) * 100).toFixed(1)} % idle`,
      `profile: ${flags.out}`,
      "",
      "self (own code):",
      top(self, samples, n),
      "",
      "total (on the stack):",
      top(total, samples, n),
    ].join("\n"),
  );
}

ensureWrk((m) => process.stderr.write(`${m}\n`));
const origin = await startOrigin();
const inspectorPort = await freePort();
const adminToken = randomBytes(24).toString("base64url");
const spillway = await startRawSpillway({ adminToken, originUrl: origin.url, inspectorPort });
try {
  const seconds = Number(flags.seconds);
  let request: LoadRequest = { method: "GET", path: flags.path };
  if (flags.poll) {
    const rooms = new Rooms(spillway.url, adminToken);
    await rooms.configure("profile-poll", { capacity: 1, mode: "open" });
    await rooms.joinMany("profile-poll", 1, "admitted");
    const last = (await rooms.joinMany("profile-poll", 20, "queued")).at(-1)!;
    request = {
      method: "GET",
      path: "/_spillway/rooms/profile-poll/status",
      headers: { authorization: `Bearer ${last.ticket!}` },
    };
  }
  if (flags.pass) {
    const rooms = new Rooms(spillway.url, adminToken);
    await rooms.configure("profile-pass", { capacity: 100, admitPerMinute: 60_000, mode: "open" });
    const holder = (await rooms.joinMany("profile-pass", 1, "admitted"))[0]!;
    request = {
      method: "GET",
      path: "/rooms/profile-pass/live.m3u8",
      headers: { authorization: `Bearer ${holder.pass!}` },
    };
  }
  const load = { url: spillway.url, request, connections: 10 };
  await warmUp({ ...load, durationSeconds: 3 }, 3);
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id.startsWith("core:user:"));
  if (target === undefined) throw new Error("no user Worker among the inspector's targets");
  const client = await inspector(target.webSocketDebuggerUrl);
  const run: ProfileRun = { client, load, seconds, top: Number(flags.top) };
  await (flags.heap ? allocations(run) : cpuProfile(run));
} finally {
  await spillway.stop();
  await origin.close();
}

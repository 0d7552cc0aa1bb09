/**
 * `npm run bench:instructions [-- --requests N] [--warmup N] [--cases LIST] [--whole] [--cache] [--profile DIR] [--json]`:
 * the machine instructions each Worker's request handler runs a request,
 * counted by valgrind's callgrind, which does not move with the machine's
 * load.
 *
 * Every other bench here times CPU, and this shared machine's speed drifts
 * by as much as the differences left to find (docs/scale.md, "The poll's
 * floor"). Instructions are not time (a cache miss costs many cycles and
 * one instruction), but they are what a change to the code changes, and a
 * count repeats to a fraction of a per cent on a busy machine as on a quiet
 * one.
 *
 * Each Worker's deploy bundle runs in raw workerd (bench/lib/workerd.ts)
 * under `valgrind --tool=callgrind`: Miniflare's `MINIFLARE_WORKERD_PATH`
 * names a wrapper script that starts it so. Two settings make the count
 * mean something:
 *
 * - Only what runs inside workerd's request handler is counted
 *   (`--toggle-collect` on `ServiceWorkerGlobalScope::request`): the
 *   Worker's JavaScript and the runtime calls it makes, the request's
 *   headers made into an object and the response's. Parsing the HTTP
 *   request and writing the answer out, garbage collection started outside
 *   it and the work of Durable Objects (a room's shard syncs every second)
 *   are not; under valgrind a second holds a few hundred requests, not
 *   thousands, so that work would weigh tens of times what it does.
 * - V8 compiles on its main thread (`--no-concurrent-recompilation
 *   --no-concurrent-sparkplug`): with its compiler threads under valgrind the
 *   JavaScript stayed in the interpreter, and a count of that says nothing
 *   about optimized code. With the default warm-up that code is V8's middle
 *   tier's (Maglev); `--warmup 20000` brings the hottest functions to
 *   TurboFan, as a Worker under load runs them, and moves the counts by about
 *   1 % (docs/scale.md, "The latest runs").
 *
 * The case's request is sent `--warmup` times, then `--requests` times
 * counted, `COUNTS` times over, one at a time on one kept connection with
 * only the headers the case needs, as wrk sends them. The median count is
 * the case's; they differ when V8 compiles a function again inside a
 * counted request (millions of instructions at once), and counts further
 * apart than `SPREAD_TOLERANCE` stop the bench. Cases: `hello` (bench/hello,
 * asked a waiting poll's path), `floor` (bench/floor, the same request),
 * `poll` (Spillway's waiting poll, the last of 200 in line) and `static`
 * (Spillway's JWKS).
 *
 * A request with a pass does most of its work outside the handler's frames:
 * the origin's answer arrives in a later turn of the event loop, and so does
 * a short answer's body. Its cases count the whole process instead: `pass`
 * (a seated listener's request with its pass, proxied by Spillway to a local
 * origin's playlist) against `proxy` (bench/proxy, the plain proxy Worker, the
 * same request to the same origin). Each of their counts takes in the
 * requests and as long again after them, with nobody asking: the garbage
 * they leave is mostly collected then, and a collection falling just after
 * the requests belongs to them. The process also works when nobody asks (a
 * room's shard syncs every second, timers lapse), so once its counts are
 * done it is left to settle, then counted idle for twice as long as a
 * count's requests took, and that work, at its rate a millisecond, is
 * subtracted from each count for the time the count took. (Subtracting an
 * idle stretch right after each count's requests, as this did before, let a
 * collection of their garbage falling in it be subtracted too: one count in
 * three of a pass read 7 % low.) What either does with the origin's
 * connection and the listener's is in these counts; so is garbage
 * collection.
 *
 * `--whole` counts every case so: hello world's, the floor's, the poll's and
 * the static JWKS's requests then take in the runtime's work around the
 * handler too (the request parsed, the answer's headers and body written
 * out), where answers of different shapes differ most.
 *
 * `--cache` has callgrind simulate the level-1 caches and the branch
 * predictor too, and reports each case's misses and mispredictions a
 * request. An instruction is not a cycle: a miss in the level-1 instruction
 * or data cache, or a mispredicted branch, costs a dozen or more, and two
 * handlers of nearly the same count can differ by more in these than in
 * their instructions. The simulation is callgrind's (its caches sized as
 * this machine's, a simple predictor), not the processor's own, which this
 * virtual machine does not let a program read; it says where a handler
 * stands against another, not what it costs.
 *
 * `--profile DIR` keeps, for each case, where its instructions went: the
 * median count's callgrind dump (`<case>.callgrind`, for `callgrind_annotate`
 * or KCachegrind), V8's map of the code it compiled (`<case>.perf.map`, from
 * its `--perf-basic-prof`, which a profile run turns on) and
 * `<case>.functions.txt`, each function's own instructions a request, the
 * JavaScript's compiled code named by that map (`JS:+'name file:line'`).
 *
 * Progress goes to stderr, the table to stdout (`--json`: also one JSON line).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Agent, request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { setTimeout } from "node:timers/promises";
import { parseArgs } from "node:util";
import { tempDir } from "../test/contract/support/worker.ts";
import { functionCounts, readPerfMap, summaryEvents } from "./lib/callgrind-functions.ts";
import { firstSeated, helloRequest, lastInLine, passRequest, statusRequest } from "./lib/cases.ts";
import { wholeNumberFlags } from "./lib/flags.ts";
import { median } from "./lib/median.ts";
import { type BenchOrigin, startOrigin } from "./lib/origin.ts";
import { Rooms } from "./lib/rooms.ts";
import { type RawWorker, startRawFloor, startRawHello, startRawProxy, startRawSpillway } from "./lib/workerd.ts";
import type { LoadRequest } from "./lib/wrk.ts";

const USAGE = `Usage: npm run bench:instructions [-- --requests N] [--warmup N] [--cases LIST] [--whole] [--cache] [--profile DIR] [--json]

  --requests N  counted requests of each case, three times over (default 1000; three
                times as many for proxy and pass, whose counts take in garbage collection)
  --warmup N    requests first, not counted (default 2000): the code is compiled and settled
  --cases LIST  which of hello, floor, poll, static (the request handler's count), and of
                proxy, pass (the whole process's count; see above) (default all six)
  --whole       count every case's whole process, as proxy and pass are counted: what the
                runtime does around the handler (parsing the request, writing the answer out)
                is then in the count too
  --cache       also simulate the level-1 caches and branch prediction (callgrind's
                --cache-sim and --branch-sim; slower): each case's instruction and data cache
                misses and mispredicted branches a request, beside its instructions
  --profile DIR keep each case's callgrind dump, V8's code map and its functions' counts in DIR
  --json        also print the results as one JSON object (the last stdout line)`;

const { values: flags } = parseArgs({
  options: {
    requests: { type: "string", default: "1000" },
    warmup: { type: "string", default: "2000" },
    cases: { type: "string", default: "hello,floor,poll,static,proxy,pass" },
    profile: { type: "string" },
    whole: { type: "boolean", default: false },
    cache: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (flags.help) {
  console.log(USAGE);
  process.exit(0);
}

const wholeNumber = wholeNumberFlags("bench:instructions", USAGE);
const REQUESTS = wholeNumber("requests", flags.requests, 1);
/**
 * A whole process's count takes in its garbage collection, which comes in
 * cycles of hundreds of requests: its counts are of this many times as many
 * requests, so that each holds about as many cycles (1,000 requests spread
 * them over 5 %, 3,000 well within it).
 */
const WHOLE_TIMES = 3;
/** Requests in each count of a case. */
const requestsOf = (key: CaseKey) => (isWhole(key) ? REQUESTS * WHOLE_TIMES : REQUESTS);
const WARMUP = wholeNumber("warmup", flags.warmup, 0);
/** How often each case's requests are counted; the median count is the case's. */
const COUNTS = 3;
/** Counts of one case further apart than this (a share of their median) mean something else ran in them. */
const SPREAD_TOLERANCE = 0.05;

/**
 * Each case: its Worker, the cases its ratios are taken against (their
 * instructions over its own), and whether the whole process is counted
 * (`whole`) or only the request handler.
 */
const CASE_TABLE = {
  hello: { worker: "hello", against: [], whole: false },
  floor: { worker: "floor", against: ["hello"], whole: false },
  poll: { worker: "spillway", against: ["hello", "floor"], whole: false },
  static: { worker: "spillway", against: ["hello"], whole: false },
  proxy: { worker: "proxy", against: [], whole: true },
  pass: { worker: "spillway", against: ["proxy"], whole: true },
} as const satisfies Record<
  string,
  { worker: "hello" | "floor" | "spillway" | "proxy"; against: readonly string[]; whole: boolean }
>;
type CaseKey = keyof typeof CASE_TABLE;
/** Is the case's whole process counted (its own kind, or `--whole`)? */
const isWhole = (key: CaseKey): boolean => flags.whole || CASE_TABLE[key].whole;

const CASES = flags.cases.split(",").map((c) => c.trim());
for (const c of CASES) {
  if (!Object.hasOwn(CASE_TABLE, c)) {
    console.error(`bench:instructions: unknown case "${c}" (${Object.keys(CASE_TABLE).join(", ")})\n\n${USAGE}`);
    process.exit(2);
  }
}
for (const tool of ["valgrind", "callgrind_control"]) {
  if (spawnSync(tool, ["--version"], { stdio: "ignore" }).status !== 0) {
    console.error(`bench:instructions needs ${tool} (Debian's package valgrind: apt-get install valgrind)`);
    process.exit(2);
  }
}

const progress = (message: string) => process.stderr.write(`${message}\n`);

/** Where `--profile` keeps each case's dump, code map and functions' counts. */
const PROFILE = flags.profile === undefined ? undefined : resolve(flags.profile);
if (PROFILE !== undefined) await mkdir(PROFILE, { recursive: true });

/**
 * V8's compilers on the main thread (see above), and with `--profile` its map
 * of the code it compiles; any flags already set are kept.
 */
const V8_FLAGS = [
  "--no-concurrent-recompilation",
  "--no-concurrent-sparkplug",
  ...(PROFILE === undefined ? [] : ["--perf-basic-prof"]),
];

/** V8 writes its code map here, by the process's id (`--perf-basic-prof`). */
const perfMapOf = (pid: number) => `/tmp/perf-${pid}.map`;

/** `--profile`: the case's median dump, V8's code map and each function's own count a request, kept in PROFILE. */
async function keepProfile(key: CaseKey, pid: number, dump: string): Promise<void> {
  const out = (suffix: string) => join(PROFILE!, `${key}.${suffix}`);
  await copyFile(dump, out("callgrind"));
  await copyFile(perfMapOf(pid), out("perf.map"));
  const functions = functionCounts(dump, requestsOf(key), await readPerfMap(perfMapOf(pid)));
  const lines = functions.map((f) => `${Math.round(f.perRequest).toLocaleString("en").padStart(9)}  ${f.name}`);
  await writeFile(
    out("functions.txt"),
    `# ${key}: each function's own instructions a request (${requestsOf(key)} requests; the compiled JavaScript named by V8's map)\n${lines.join("\n")}\n`,
  );
  progress(`  ${key}: profile kept in ${out("*")}`);
}

/**
 * The script Miniflare starts in workerd's place: workerd under callgrind,
 * each process's counts in `dir`; `whole`: all of the process's work is
 * counted, not only its request handler's.
 */
async function callgrindWrapper(dir: string, whole: boolean): Promise<string> {
  // The binary Miniflare itself runs: its `workerd` package names the one for this platform.
  const workerd = (createRequire(createRequire(import.meta.url).resolve("miniflare"))("workerd") as { default: string })
    .default;
  const script = join(dir, whole ? "workerd-whole" : "workerd");
  const args = [
    "--tool=callgrind",
    `--callgrind-out-file=${dir}/callgrind.%p.out`,
    ...(whole ? [] : ["'--toggle-collect=*ServiceWorkerGlobalScope::request*'"]),
    // V8 writes the code it compiles into memory it then runs.
    "--smc-check=all-non-file",
    ...(flags.cache ? ["--cache-sim=yes", "--branch-sim=yes"] : []),
    "-q",
  ];
  await writeFile(script, `#!/bin/sh\nexec valgrind ${args.join(" ")} ${workerd} "$@"\n`, { mode: 0o755 });
  return script;
}

/**
 * What callgrind counts: instructions (`Ir`) always; with `--cache` also the
 * level-1 instruction cache's misses (`I1mr`), the data cache's on reads and
 * writes (`D1mr`, `D1mw`), and mispredicted conditional and indirect
 * branches (`Bcm`, `Bim`).
 */
type Events = Record<string, number>;

/** The events reported beside instructions with `--cache`, and what each is called in the table. */
const CACHE_EVENTS = [
  ["I1mr", "I1 misses"],
  ["D1mr", "D1 read misses"],
  ["D1mw", "D1 write misses"],
  ["Bcm", "mispredicted conditional"],
  ["Bim", "mispredicted indirect"],
] as const;

/** Callgrind's counts for `pid` since it was last zeroed (dumped as `label`, its dump's path), then zeroed again. */
async function countSinceZero(dir: string, pid: number, label: string): Promise<{ events: Events; dump: string }> {
  const before = new Set(await readdir(dir));
  execFileSync("callgrind_control", ["--dump", label, String(pid)], { stdio: "ignore" });
  const dumps = (await readdir(dir)).filter((f) => f.startsWith(`callgrind.${pid}.out.`) && !before.has(f));
  if (dumps.length !== 1) throw new Error(`callgrind wrote ${dumps.length} dumps for "${label}" (pid ${pid})`);
  const events = summaryEvents(await readFile(join(dir, dumps[0]!), "utf8"), `"${label}"`);
  execFileSync("callgrind_control", ["--zero", String(pid)], { stdio: "ignore" });
  return { events, dump: join(dir, dumps[0]!) };
}

/**
 * The instructions (and with `--cache` the other events) a process counts
 * a millisecond with nobody asking: left `settleMs` first (what the last
 * requests left to do is done, uncounted), then counted for `forMs`.
 */
async function idleRate(key: string, pid: number, settleMs: number, forMs: number): Promise<Events> {
  progress(`  ${key}: idle ${(settleMs / 1000).toFixed(1)} s to settle, then ${(forMs / 1000).toFixed(1)} s counted`);
  await setTimeout(settleMs);
  await countSinceZero(dir, pid, `${key}-settle`);
  const zeroedAt = performance.now();
  await setTimeout(forMs);
  const ms = performance.now() - zeroedAt;
  const { events } = await countSinceZero(dir, pid, `${key}-idle`);
  return Object.fromEntries(Object.entries(events).map(([name, n]) => [name, n / ms]));
}

/** Send `request` `count` times, one after another on one kept connection; an answer other than 2xx stops the bench. */
async function send(url: string, request: LoadRequest, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const target = new URL(request.path, url).href;
  try {
    for (let i = 0; i < count; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(target, { agent, method: request.method, headers: { ...request.headers } }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve();
            else reject(new Error(`${request.method} ${request.path} answered ${status}: ${body.slice(0, 300)}`));
          });
        });
        req.on("error", reject);
        req.end();
      });
    }
  } finally {
    agent.destroy();
  }
}

/** The pass lifetime in the `pass` case: a day, longer than any count. */
const PASS_TTL_SECONDS = 24 * 3600;

/** The local origin the proxied cases ask, started when first needed. */
let origin: BenchOrigin | undefined;

/** The case's Worker, under callgrind, and its request (its room set up first). */
async function startCase(key: CaseKey, adminToken: string): Promise<{ worker: RawWorker; request: LoadRequest }> {
  const kind = CASE_TABLE[key].worker;
  if (kind === "hello") return { worker: await startRawHello(), request: helloRequest("bench-poll") };
  if (kind === "floor") return { worker: await startRawFloor(), request: helloRequest("bench-poll") };
  if (kind === "proxy" || key === "pass") origin ??= await startOrigin();
  // The plain proxy is asked exactly what Spillway is: the same path, with a bearer it does not read.
  if (kind === "proxy") {
    return { worker: await startRawProxy(origin!.url), request: passRequest("bench-pass", "not-a-pass") };
  }
  // The pass outlives the count (valgrind runs it tens of times slower): no renewal comes due in it.
  const worker = await startRawSpillway({
    adminToken,
    ...(key === "pass" ? { originUrl: origin!.url, passTtlSeconds: PASS_TTL_SECONDS } : {}),
  });
  if (key === "static") return { worker, request: { method: "GET", path: "/_spillway/jwks.json" } };
  if (key === "pass") {
    const seated = await firstSeated(new Rooms(worker.url, adminToken), "bench-pass");
    return { worker, request: passRequest("bench-pass", seated.pass!) };
  }
  const ticket = (await lastInLine(new Rooms(worker.url, adminToken), "bench-poll")).ticket!;
  return { worker, request: statusRequest("bench-poll", ticket) };
}

const dir = await tempDir("spillway-bench-callgrind-");
const savedEnv = {
  path: process.env["MINIFLARE_WORKERD_PATH"],
  flags: process.env["MINIFLARE_WORKERD_V8_FLAGS"],
};
const wrappers = { handler: await callgrindWrapper(dir, false), whole: await callgrindWrapper(dir, true) };
process.env["MINIFLARE_WORKERD_V8_FLAGS"] = [savedEnv.flags ?? "", ...V8_FLAGS].join(" ").trim();
const adminToken = randomBytes(24).toString("base64url");
/** Each case's instructions a request (the median count) and its counts; with `--cache`, the median count's other events a request. */
const results: Partial<Record<CaseKey, { perRequest: number; counts: number[]; events?: Events }>> = {};
try {
  progress(
    `bench:instructions: ${CASES.join(", ")}; each Worker under callgrind, ${WARMUP} requests of warm-up,` +
      ` then ${REQUESTS} counted (${REQUESTS * WHOLE_TIMES} in a whole process), ${COUNTS} times over`,
  );
  for (const key of CASES as CaseKey[]) {
    const whole = isWhole(key);
    const requests = requestsOf(key);
    progress(`  ${key}: starting its Worker under valgrind (tens of seconds)…`);
    process.env["MINIFLARE_WORKERD_PATH"] = whole ? wrappers.whole : wrappers.handler;
    const { worker, request } = await startCase(key, adminToken);
    try {
      await send(worker.url, request, WARMUP);
      execFileSync("callgrind_control", ["--zero", String(worker.pid)], { stdio: "ignore" });
      let zeroedAt = performance.now();
      const raw: { events: Events; ms: number }[] = [];
      const tooks: number[] = [];
      const dumps: string[] = [];
      for (let n = 1; n <= COUNTS; n++) {
        const started = performance.now();
        await send(worker.url, request, requests);
        const took = performance.now() - started;
        tooks.push(took);
        // The whole process: its requests and as long after them, what they left to do included.
        if (whole) {
          progress(`  ${key}: count ${n}: ${requests} requests in ${(took / 1000).toFixed(1)} s, then as long after`);
          await setTimeout(took);
        }
        const ms = performance.now() - zeroedAt;
        const { events, dump } = await countSinceZero(dir, worker.pid, `${key}-${n}`);
        zeroedAt = performance.now();
        raw.push({ events, ms });
        dumps.push(dump);
      }
      // Less what the process does with nobody asking, at its rate a millisecond (measured once it has settled).
      const idlePerMs = whole ? await idleRate(key, worker.pid, Math.max(...tooks), 2 * median(tooks)) : {};
      const perRequestOf = ({ events, ms }: (typeof raw)[number]): Events =>
        Object.fromEntries(
          Object.entries(events).map(([name, n]) => [name, (n - (idlePerMs[name] ?? 0) * ms) / requests]),
        );
      const counts = raw.map((r) => perRequestOf(r)["Ir"]!);
      const perRequest = median(counts);
      const medianCount = counts.indexOf(perRequest);
      const shown = counts.map((c) => Math.round(c).toLocaleString("en")).join(", ");
      if (Math.max(...counts) - Math.min(...counts) > perRequest * SPREAD_TOLERANCE) {
        throw new Error(
          `${key}: counts of ${requests} requests spread over more than ${SPREAD_TOLERANCE * 100} %` +
            ` (${shown} instructions a request): ` +
            (whole
              ? `garbage collection fell unevenly, or V8 was still compiling; raise --requests (now ${REQUESTS}) or --warmup (now ${WARMUP})`
              : `V8 was likely still compiling; raise --warmup (now ${WARMUP})`),
        );
      }
      results[key] = { perRequest, counts, ...(flags.cache ? { events: perRequestOf(raw[medianCount]!) } : {}) };
      progress(`  ${key}: ${shown} instructions a request`);
      if (PROFILE !== undefined) await keepProfile(key, worker.pid, dumps[medianCount]!);
    } finally {
      await worker.stop();
      if (PROFILE !== undefined) await rm(perfMapOf(worker.pid), { force: true });
    }
  }
} finally {
  for (const [name, value] of [
    ["MINIFLARE_WORKERD_PATH", savedEnv.path],
    ["MINIFLARE_WORKERD_V8_FLAGS", savedEnv.flags],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await rm(dir, { recursive: true, force: true });
  await origin?.close();
}

const ratios: { case: CaseKey; against: CaseKey; ratio: number }[] = [];
for (const key of CASES as CaseKey[]) {
  for (const base of CASE_TABLE[key].against as readonly CaseKey[]) {
    const mine = results[key];
    const theirs = results[base];
    if (mine !== undefined && theirs !== undefined) {
      ratios.push({ case: key, against: base, ratio: theirs.perRequest / mine.perRequest });
    }
  }
}

console.log(
  "\nInstructions a request (callgrind; the median count): in the Worker's request handler, or" +
    " (*) in the whole process, less its idle work. Each ratio reads as a throughput ratio does:" +
    " the baseline's count over the case's.\n",
);
/** A count as the table shows it: rounded, its thousands marked. */
const shownCount = (n: number) => Math.round(n).toLocaleString("en");
for (const [key, r] of Object.entries(results)) {
  const mark = isWhole(key as CaseKey) ? " (*)" : "";
  const events = r.events;
  const misses =
    events === undefined
      ? ""
      : `   ${CACHE_EVENTS.map(([name, label]) => `${label} ${shownCount(events[name] ?? 0)}`).join(", ")}`;
  console.log(`${key.padEnd(8)} ${shownCount(r.perRequest).padStart(9)}${mark}${misses}`);
}
if (flags.cache) {
  console.log(
    "\nWith --cache, each case's other events a request in its median count: callgrind's simulated" +
      " level-1 caches and branch predictor, not the processor's own.",
  );
}
if (ratios.length > 0) console.log("");
for (const r of ratios) console.log(`${`${r.case} × ${r.against}`.padEnd(16)} ${r.ratio.toFixed(3)}`);
if (flags.json) {
  console.log(
    JSON.stringify({
      requests: REQUESTS,
      warmup: WARMUP,
      whole: flags.whole,
      cache: flags.cache,
      cases: results,
      ratios,
    }),
  );
}

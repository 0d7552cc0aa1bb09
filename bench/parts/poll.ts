/**
 * The Worker of `npm run bench:parts -- --poll`: Spillway itself (its
 * Durable Objects and its answers unchanged), with one thing in front. A
 * request naming a part in `Bench-Part` first runs that part `REPEAT` times,
 * then is answered as Spillway answers it. The parts, on the very request wrk
 * sent (a waiting poll with its ticket):
 *
 * - `baseline`: nothing; what every part's request does besides the part.
 * - `floor`: what any Worker answering the poll must do (bench/floor/answer.ts).
 * - `poll`: Spillway's waiting poll as its Worker answers it (src/http/hot-paths.ts).
 *
 * So the floor's work and Spillway's are timed in the same isolate, on the
 * same request, in the same round: the difference is what Spillway's own
 * checks and look-ups cost a poll. `GET /_bench/parts.json` lists the parts.
 *
 * A part run again at once finds its data in the CPU's caches, which a
 * poll answered once a request, between the runtime's own work on the
 * requests around it, may not. With a `Bench-Cold` header each run first
 * writes through `EVICTED` bytes (more than a core's level-2 cache), so
 * that every run starts with none of its data in the level-1 and level-2
 * caches (the level-1 instruction cache, the shared level-3 cache and the
 * branch predictors keep what they held); the baseline part then stands for
 * that writing alone.
 */
import worker from "../../src/index.ts";
import { app } from "../../src/http/app.tsx";
import { hotPath } from "../../src/http/hot-paths.ts";
import { floorAnswer } from "../floor/answer.ts";

export { RoomCoordinator, RoomDirectory, RoomShard } from "../../src/index.ts";

/** How often a part runs in one request. */
const REPEAT = 20;

/** Bytes written before each run of a cold part: more than a core's level-2 cache (512 KiB–1 MiB on these CPUs). */
const EVICTED = 2 * 1024 * 1024;
const CACHE_LINE = 64;
let evictee: Uint8Array | null = null;

/** Write one byte of each cache line of `EVICTED` bytes: what the level-1 and level-2 data caches held is gone. */
function evictCaches(): void {
  evictee ??= new Uint8Array(EVICTED);
  for (let i = 0; i < evictee.length; i += CACHE_LINE) evictee[i]! += 1;
}

interface Part {
  meaning: string;
  run: (request: Request, env: Env, ctx: ExecutionContext) => unknown;
}

const PARTS: Record<string, Part> = {
  baseline: { meaning: "nothing: what every part's request does besides the part", run: () => true },
  floor: {
    meaning: "what any Worker answering the poll must do (bench/floor/answer.ts)",
    run: (request) => floorAnswer(request),
  },
  poll: {
    meaning: "Spillway's waiting poll, answered as its Worker answers it (src/http/hot-paths.ts)",
    run: (request, env, ctx) => hotPath(request, env, ctx, app),
  },
};

/** Keeps what a part made reachable, so that no part is optimised away. */
let kept: unknown;
/** Runs of a part that did not answer at once (a promise), and all runs, since the Worker started. */
let waitedRuns = 0;
let allRuns = 0;

export default {
  fetch(request, env, ctx) {
    const name = request.headers.get("bench-part");
    if (name === null) {
      if (new URL(request.url).pathname !== "/_bench/parts.json") return worker.fetch(request, env, ctx);
      const parts = Object.entries(PARTS).map(([part, { meaning }]) => ({ part, meaning }));
      return Response.json({ repeat: REPEAT, parts, waitedRuns, allRuns, evictedBytes: EVICTED });
    }
    const part = PARTS[name];
    if (part === undefined)
      return new Response(`no part "${name}" (GET /_bench/parts.json lists them)\n`, { status: 404 });
    // The poll measured is the one answered at once. A run waits when the room's view is fetched
    // again (about once a second): counted, so that the report can say how often runs waited.
    allRuns += REPEAT;
    const cold = request.headers.has("bench-cold");
    for (let i = 0; i < REPEAT; i++) {
      if (cold) evictCaches();
      kept = part.run(request, env, ctx);
      if (kept instanceof Promise) waitedRuns++;
    }
    return worker.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

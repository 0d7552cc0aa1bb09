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
 */
import worker from "../../src/index.ts";
import { app } from "../../src/http/app.tsx";
import { hotPath } from "../../src/http/hot-paths.ts";
import { floorAnswer } from "../floor/answer.ts";

export { RoomCoordinator, RoomDirectory, RoomShard } from "../../src/index.ts";

/** How often a part runs in one request. */
const REPEAT = 20;

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
      return Response.json({ repeat: REPEAT, parts, waitedRuns, allRuns });
    }
    const part = PARTS[name];
    if (part === undefined)
      return new Response(`no part "${name}" (GET /_bench/parts.json lists them)\n`, { status: 404 });
    // The poll measured is the one answered at once. A run waits when the room's view is fetched
    // again (about once a second): counted, so that the report can say how often runs waited.
    allRuns += REPEAT;
    for (let i = 0; i < REPEAT; i++) {
      kept = part.run(request, env, ctx);
      if (kept instanceof Promise) waitedRuns++;
    }
    return worker.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

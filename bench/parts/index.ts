/**
 * The Worker of `npm run bench:parts`: each part of Spillway's own work on a
 * request with a pass and on a waiting poll, run `REPEAT` times inside one
 * request, so that a part of a few microseconds shows as tens of them in the
 * workerd process's CPU time. The parts are Spillway's own functions
 * (src/edge/proxy.ts, origin-signals.ts, seat-tie.ts, src/http/answers.ts);
 * what the network would hand them is made here: the listener's request is
 * the one wrk sent, the origin's answer a Response like the bench origin's
 * (bench/lib/origin.ts: a short HLS playlist).
 *
 * `GET /<part>` runs one part; `/baseline` runs what every part's loop
 * does besides the part itself. bench/parts.ts subtracts it and divides by
 * REPEAT. Unknown parts get a 404, a part that breaks a 500 with the error.
 */
import { queuedStatus } from "../../src/contract/status.ts";
import { plainStatusJson } from "../../src/http/answers.ts";
import { originTally, readAnswer, withoutSignals } from "../../src/edge/origin-signals.ts";
import { originRequest } from "../../src/edge/proxy.ts";
import { type SeatKeeper, tieAnswer, type TieOptions } from "../../src/edge/seat-tie.ts";

/** How often a part runs in one request. */
const REPEAT = 20;

const ORIGIN = new URL("http://127.0.0.1:9/");
/** The bench origin's playlist, and the headers a Node origin sends with it. */
const PLAYLIST = new TextEncoder().encode(
  "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nsegment-1.aac\n",
);
const ORIGIN_HEADERS = {
  "content-type": "application/vnd.apple.mpegurl",
  "content-length": String(PLAYLIST.byteLength),
  "cache-control": "no-store",
  date: "Sat, 05 Dec 2026 00:00:00 GMT",
  connection: "keep-alive",
  "keep-alive": "timeout=5",
};
const PASS = "stands.for.a-pass";
const ROOM = "parts";

/** An origin's answer as fetch would hand it over (a fresh one each time: a body is read once). */
function originAnswer(): Response {
  return new Response(PLAYLIST, { headers: ORIGIN_HEADERS });
}

/** The plain proxy's own request to the origin (bench/proxy). */
function plainRequest(request: Request): Request {
  return new Request(ORIGIN.origin + "/rooms/parts/live.m3u8", request);
}

/** A keeper never called: every answer here is in long before a seat would be held. */
const KEEPER: SeatKeeper = {
  hold: () => Promise.reject(new Error("bench:parts holds no seat")),
  letGo: () => Promise.resolve(),
};

function tieOptions(ctx: ExecutionContext): TieOptions {
  return {
    keeper: KEEPER,
    expiresAt: Date.now() + 60_000,
    roundMs: 27_000,
    passTtlMs: 60_000,
    slackMs: 3_000,
    now: () => Date.now(),
    newId: () => crypto.randomUUID(),
    background: (work) => ctx.waitUntil(work.catch(() => undefined)),
  };
}

const seatEnded = () => new Response("seat ended", { status: 409 });

/** A waiting listener's answer, as the desk makes it for the poll of bench/run.ts (21st in line). */
function queuedAnswer() {
  return {
    kind: "status",
    status: queuedStatus(ROOM, 21, 40, Math.random, { startsAt: null, recordingUrl: null }),
  } as const;
}

/** Keeps what a part made reachable, so that no part is optimised away. */
let kept: unknown;

/**
 * One run of each part, on top of the baseline's work (a plain request and
 * an origin answer, or for the poll's parts a hello-world Response): what
 * the part adds is what the bench reports.
 */
const PARTS: Record<string, (request: Request, ctx: ExecutionContext) => unknown> = {
  baseline: (request) => [plainRequest(request), originAnswer(), new Response("Hello World!")],
  // The pass path, part by part.
  "abort-signal": (request) => [
    plainRequest(request),
    originAnswer(),
    new Response("Hello World!"),
    new AbortController(),
  ],
  "origin-request": (request) => [
    originRequest(request, ORIGIN, PASS, true, new AbortController().signal),
    originAnswer(),
    new Response("Hello World!"),
  ],
  "origin-signals": (request) => {
    const answer = originAnswer();
    const read = readAnswer(answer);
    return [
      plainRequest(request),
      originTally.add(ROOM, read, Date.now()),
      withoutSignals(answer, read),
      new Response("Hello World!"),
    ];
  },
  "read-whole": async (request) => {
    const answer = originAnswer();
    return [plainRequest(request), await answer.arrayBuffer(), new Response("Hello World!")];
  },
  "read-and-answer-anew": async (request) => {
    const answer = originAnswer();
    return [plainRequest(request), new Response(await answer.arrayBuffer(), answer), new Response("Hello World!")];
  },
  "seat-tie": async (request, ctx) => [
    plainRequest(request),
    await tieAnswer(originAnswer(), tieOptions(ctx), seatEnded),
    new Response("Hello World!"),
  ],
  "pass-path": async (request, ctx) => {
    const abort = new AbortController();
    const sent = originRequest(request, ORIGIN, PASS, true, abort.signal);
    const answer = originAnswer();
    const read = readAnswer(answer);
    originTally.add(ROOM, read, Date.now());
    const tied = await tieAnswer(withoutSignals(answer, read), tieOptions(ctx), seatEnded, (why) => abort.abort(why));
    return [sent, tied, new Response("Hello World!")];
  },
  // The waiting poll's own parts beside hello world's Response.
  "bearer-read": (request) => [
    plainRequest(request),
    originAnswer(),
    new Response("Hello World!"),
    request.headers.get("authorization"),
  ],
  "status-answer": (request) => [plainRequest(request), originAnswer(), plainStatusJson(queuedAnswer())],
};

export default {
  async fetch(request: Request, _env: unknown, ctx: ExecutionContext): Promise<Response> {
    const name = new URL(request.url).pathname.slice(1);
    if (name === "parts.json") return Response.json({ repeat: REPEAT, parts: Object.keys(PARTS) });
    const part = PARTS[name];
    if (part === undefined) return new Response(`no part "${name}" (GET /parts.json lists them)\n`, { status: 404 });
    kept = undefined;
    try {
      for (let i = 0; i < REPEAT; i++) kept = await part(request, ctx);
    } catch (err) {
      return new Response(`part "${name}" failed: ${String(err)}\n`, { status: 500 });
    }
    return kept === undefined ? new Response("the part made nothing\n", { status: 500 }) : new Response("Hello World!");
  },
} satisfies ExportedHandler;

/**
 * The Worker of `npm run bench:parts`: each part of Spillway's own work on a
 * request with a pass and on a waiting poll, run `REPEAT` times inside one
 * request, so that a part of a few microseconds shows as tens of them in the
 * workerd process's CPU time. The parts are Spillway's own functions
 * (src/edge/proxy.ts, origin-signals.ts, seat-tie.ts, src/http/answers.ts,
 * src/policy/returns.ts); what the network would hand them is made here: the
 * listener's request is the one wrk sent, the origin's answer a Response like
 * the bench origin's (bench/lib/origin.ts: a short HLS playlist), and a
 * full room's seats coming free as a crowd's view would tell them.
 *
 * `GET /<part>` runs one part; `/baseline` runs what every part's loop
 * does besides the part itself. bench/parts.ts subtracts it and divides by
 * REPEAT. Unknown parts get a 404, a part that breaks a 500 with the error.
 */
import { queuedStatus } from "../../src/contract/status.ts";
import { plainStatusJson } from "../../src/http/answers.ts";
import { originTally, readAnswer, withoutSignals } from "../../src/edge/origin-signals.ts";
import { originRequest } from "../../src/edge/proxy.ts";
import { type SeatKeeper, tieAnswer } from "../../src/edge/seat-tie.ts";
import { PassTie, type TieDesk } from "../../src/http/to-origin.ts";
import type { PassClaims } from "../../src/tokens/pass.ts";
import { MAX_RETURN_BINS, type SeatSupply, secondsUntilSeats } from "../../src/policy/returns.ts";
import { PLAYLIST, PLAYLIST_HEADERS } from "../lib/playlist.ts";

/** How often a part runs in one request. */
const REPEAT = 20;

const ORIGIN = new URL("http://127.0.0.1:9/");
/** The bench origin's playlist with its headers, and those a Node origin adds on the wire. */
const BODY = new TextEncoder().encode(PLAYLIST);
const ORIGIN_HEADERS = {
  ...PLAYLIST_HEADERS,
  date: "Sat, 05 Dec 2026 00:00:00 GMT",
  connection: "keep-alive",
  "keep-alive": "timeout=5",
};
const PASS = "stands.for.a-pass";
const ROOM = "parts";

/** An origin's answer as fetch would hand it over (a fresh one each time: a body is read once). */
function originAnswer(): Response {
  return new Response(BODY, { headers: ORIGIN_HEADERS });
}

/** The same bytes as a short audio segment: media, which the seat tie reads whole. */
const SEGMENT_HEADERS = { ...ORIGIN_HEADERS, "content-type": "audio/aac" };
function segmentAnswer(): Response {
  return new Response(BODY, { headers: SEGMENT_HEADERS });
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

/** The options a request with a pass ties its answer with (src/http/to-origin.ts), around a keeper never called. */
const TIE_DESK: TieDesk = {
  settings: { timings: { passTtlMs: 60_000 } },
  keeper: () => KEEPER,
  noteLivePath: () => undefined,
};
const TIE_PASS = {} as PassClaims;
function tieOptions(ctx: ExecutionContext): PassTie {
  return new PassTie({ desk: TIE_DESK, after: ctx }, TIE_PASS, Date.now() + 60_000);
}

const seatEnded = () => new Response("seat ended", { status: 409 });

/** A waiting listener's answer, as the desk makes it for the poll of bench/run.ts (21st in line). */
function queuedAnswer() {
  return {
    kind: "status",
    status: queuedStatus(ROOM, 21, 40, Math.random, { startsAt: null, recordingUrl: null }),
  } as const;
}

/**
 * How seats come free in a full room with hour-long passes, as its view tells
 * every waiting poll (src/policy/returns.ts): an hour of seats given back
 * (every bin of the view, 3–9 seats each), 2 more given back a second and
 * one lapsing every 5 s.
 */
const FULL_ROOM_FROM = Date.UTC(2026, 11, 5);
const FULL_ROOM: SeatSupply = {
  reserved: 0,
  from: FULL_ROOM_FROM,
  returning: Array.from({ length: MAX_RETURN_BINS }, (_, i) => 3 + (i % 7)),
  leavesPerSecond: 2,
  releaseMs: 3_600_000,
  lapsesPerSecond: 0.2,
};
let inLine = 0;

/** Keeps what a part made reachable, so that no part is optimised away. */
let kept: unknown;

/** One run of a part, and what it stands for beside the baseline. */
interface Part {
  meaning: string;
  run: (request: Request, ctx: ExecutionContext) => unknown;
}

const HELLO = "Hello World!";

/** The seat tie of the origin's answer made by `answer`, with its options made as a pass makes them. */
function tiePart(meaning: string, answer: () => Response): Part {
  return {
    meaning,
    run: async (request, ctx) => [
      plainRequest(request),
      await tieAnswer(answer(), tieOptions(ctx), seatEnded),
      new Response(HELLO),
    ],
  };
}

/**
 * Each part does the baseline's work (the plain proxy's request, an origin
 * answer, hello world's Response) with its own in place of, or beside, one
 * piece of it: what the part adds is what the bench reports.
 */
const PARTS: Record<string, Part> = {
  baseline: {
    meaning: "the work every part's loop does besides the part",
    run: (request) => [plainRequest(request), originAnswer(), new Response(HELLO)],
  },
  // The pass path, part by part, beside the plain proxy's work.
  "abort-signal": {
    meaning: "an AbortController for the origin request (cancels a short answer whose seat ends)",
    run: (request) => [plainRequest(request), originAnswer(), new Response(HELLO), new AbortController()],
  },
  "origin-request": {
    meaning: "the origin request (trimmed headers, Spillway-Pass, abort signal) over a plain copy",
    run: (request) => [
      originRequest(request, ORIGIN, PASS, true, new AbortController().signal),
      originAnswer(),
      new Response(HELLO),
    ],
  },
  "origin-signals": {
    meaning: "reading Spillway-Load / Spillway-Command off the origin's answer, and the tally",
    run: (request) => {
      const answer = originAnswer();
      const read = readAnswer(answer);
      const tallied = originTally.add(ROOM, read, Date.now());
      return [plainRequest(request), tallied, withoutSignals(answer, read), new Response(HELLO)];
    },
  },
  "read-whole": {
    meaning: "reading a short answer whole (arrayBuffer)",
    run: async (request) => [plainRequest(request), await originAnswer().arrayBuffer(), new Response(HELLO)],
  },
  "read-and-answer-anew": {
    meaning: "reading it whole and answering it as a new Response",
    run: async (request) => {
      const answer = originAnswer();
      return [plainRequest(request), new Response(await answer.arrayBuffer(), answer), new Response(HELLO)];
    },
  },
  "seat-tie": tiePart(
    "the whole seat tie of a short audio segment (tieAnswer: read, timer, new Response), its options made as a pass makes them",
    segmentAnswer,
  ),
  "seat-tie-document": tiePart(
    "the seat tie of a short playlist (tieAnswer: handed on as the origin sent it), its options made",
    originAnswer,
  ),
  "pass-path": {
    meaning: "all of a pass's own work around the fetch for the bench's playlist (origin request, signals, seat tie)",
    run: async (request, ctx) => {
      const abort = new AbortController();
      const sent = originRequest(request, ORIGIN, PASS, true, abort.signal);
      const answer = originAnswer();
      const read = readAnswer(answer);
      originTally.add(ROOM, read, Date.now());
      const cancel = (why: Error) => abort.abort(why);
      const tied = await tieAnswer(withoutSignals(answer, read), tieOptions(ctx), seatEnded, cancel);
      return [sent, tied, new Response(HELLO)];
    },
  },
  // The waiting poll's own parts, beside hello world's Response.
  "bearer-read": {
    meaning: "reading the Authorization header (a ticket or pass of ~400 characters)",
    run: (request) => [
      plainRequest(request),
      originAnswer(),
      new Response(HELLO),
      request.headers.get("authorization"),
    ],
  },
  "eta-full-room": {
    meaning: "when a listener in line in a full room gets its seat, by the seats its view foresees coming free",
    run: (request) => [
      plainRequest(request),
      originAnswer(),
      new Response(HELLO),
      // The 1st to the 2,000th in line, 3 s into the view's first bin.
      secondsUntilSeats(FULL_ROOM, 1 + (inLine++ % 2_000), FULL_ROOM_FROM + 3_000),
    ],
  },
  "status-answer": {
    meaning: "a waiting listener's status JSON with its headers, over hello world's Response",
    run: (request) => [plainRequest(request), originAnswer(), plainStatusJson(queuedAnswer())],
  },
};

export default {
  async fetch(request: Request, _env: unknown, ctx: ExecutionContext): Promise<Response> {
    const name = new URL(request.url).pathname.slice(1);
    if (name === "parts.json") {
      const parts = Object.entries(PARTS).map(([part, { meaning }]) => ({ part, meaning }));
      return Response.json({ repeat: REPEAT, parts });
    }
    const part = PARTS[name];
    if (part === undefined) return new Response(`no part "${name}" (GET /parts.json lists them)\n`, { status: 404 });
    kept = undefined;
    try {
      for (let i = 0; i < REPEAT; i++) kept = await part.run(request, ctx);
    } catch (err) {
      return new Response(`part "${name}" failed: ${String(err)}\n`, { status: 500 });
    }
    return kept === undefined ? new Response("the part made nothing\n", { status: 500 }) : new Response(HELLO);
  },
} satisfies ExportedHandler;

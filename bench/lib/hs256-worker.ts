/**
 * The Worker `npm run bench:verify` runs in workerd: `GET /?case=I&path=hand|jose&times=N`
 * runs case I's operation N times, one after another, and answers when done.
 * The timing is taken outside, around the request: inside workerd the clock
 * stands still while code runs.
 */
import type { KeyVars } from "../../src/tokens/keys.ts";
import { type BenchCase, makeCases, PATHS, type PathName, runBatch } from "./hs256-cases.ts";

let cases: Promise<BenchCase[]> | null = null;

export default {
  async fetch(request: Request, env: KeyVars): Promise<Response> {
    cases ??= makeCases(env);
    const list = await cases;
    const query = new URL(request.url).searchParams;
    const chosen = list[Number(query.get("case"))];
    const path = query.get("path") as PathName;
    const times = Number(query.get("times"));
    if (chosen === undefined || !PATHS.includes(path) || !Number.isSafeInteger(times) || times < 0) {
      return Response.json(
        list.map((c) => ({ name: c.name, note: c.note })),
        { status: query.has("case") ? 400 : 200 },
      );
    }
    await runBatch(chosen[path], times);
    return new Response("done");
  },
};

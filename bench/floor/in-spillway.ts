/**
 * Spillway with the poll's floor in front, for `npm run bench:side -- --cases
 * floor-in-spillway`: a poll whose path starts `/_floor/` gets the floor's
 * answer (answer.ts), and everything else Spillway's own (its Durable
 * Objects, its admin API, its polls). The bench sets up the waiting poll's
 * room here as for the `poll` case, then loads the floor's answer against
 * the floor Worker (index.ts) answering the same request. Neither runs any of
 * Spillway's request code, so what separates them is Spillway's process
 * itself: its room's objects, which share the Worker's isolate in workerd
 * (on Cloudflare they run elsewhere), and its module.
 */
import spillway from "../../src/index.ts";
import { floorAnswer, FLOOR_PREFIX } from "./answer.ts";

export { RoomCoordinator, RoomDirectory, RoomShard } from "../../src/index.ts";

export default {
  fetch(request, env, ctx) {
    // Spillway itself answers nothing under this prefix (its paths are under `/_spillway/` and `/rooms/`).
    if (request.url.includes(FLOOR_PREFIX)) return floorAnswer(request);
    return spillway.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

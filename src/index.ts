/**
 * Spillway: an edge admission controller for live audio rooms.
 *
 * The Worker (Hono app, with its hot paths answered before it: http/hot-paths.ts) guards `/rooms/:room/*` and serves `/_spillway/*`;
 * each room's admission state lives in a RoomCoordinator and its RoomShards.
 */
import { app } from "./http/app.tsx";
import { hotPath } from "./http/hot-paths.ts";

export { RoomCoordinator } from "./objects/room-coordinator.ts";
export { RoomShard } from "./objects/room-shard.ts";
export { RoomDirectory } from "./objects/room-directory.ts";

export default {
  fetch(request, env, ctx) {
    // The app itself, not a closure over this request: nothing is made for a request the hot paths answer.
    const hot = hotPath(request, env, ctx, app);
    if (hot === null) return app.fetch(request, env, ctx);
    if (hot instanceof Response) return hot;
    return hot.then((answer) => answer ?? app.fetch(request, env, ctx));
  },
} satisfies ExportedHandler<Env>;

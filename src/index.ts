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
  async fetch(request, env, ctx) {
    return (await hotPath(request, env, ctx, (again) => app.fetch(again, env, ctx))) ?? app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

/**
 * Spillway: an edge admission controller for live audio rooms.
 *
 * The Worker (Hono app) guards `/rooms/:room/*` and serves `/_spillway/*`;
 * each room's admission state lives in a RoomCoordinator and its RoomShards.
 */
import { app } from "./http/app.tsx";

export { RoomCoordinator } from "./objects/room-coordinator.ts";
export { RoomShard } from "./objects/room-shard.ts";
export { RoomDirectory } from "./objects/room-directory.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;

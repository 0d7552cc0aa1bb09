/**
 * Spillway: an edge admission controller for live audio rooms.
 *
 * The Worker (Hono app) guards `/rooms/:room/*` and serves `/_spillway/*`;
 * the Room Durable Object keeps each room's admission ledger.
 */
import { app } from "./http/app.tsx";

export { Room } from "./room/room.ts";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;

/**
 * The paths this isolate has seen answered with a live stream (audio, video
 * or server-sent events of no declared length: an Icecast mount, progressive
 * audio, an event stream; seat-tie.ts `isLiveAnswer`).
 *
 * A seat holds one live connection per key at a time (objects/seat-holds.ts:
 * the path, or for media the room, `liveKeyOf`), and an origin counts a
 * listener from the moment it is asked. So a request on a path known to
 * stream is held as its seat's live connection *before* the origin is asked
 * (as a WebSocket is): the seat's older live connection there is cut and
 * counted out first. A path
 * not known yet is held once its answer shows that it streams, and then
 * replaces the seat's older live connection there as soon as it can.
 *
 * A path is known here once this isolate saw it stream, or once the room's
 * view lists it (`learnLivePaths`): an isolate that notes a path the view
 * did not list tells the room's coordinator (RoomDesk `noteLivePath`), so
 * that a path streams unheld only until the room's view spreads it (about
 * two seconds), not once in every isolate.
 *
 * A media stream (audio, video, Ogg) is held under one key for the whole
 * room (`liveKeyOf`), so a seat's newer media stream on another mount cuts
 * its older one as one on the same mount does; server-sent events and
 * WebSockets keep one per path.
 *
 * Memory only, at most MAX_LIVE_PATHS paths (the oldest noted goes first).
 */
import type { LivePath } from "../policy/protocol.ts";

/** How many live paths an isolate remembers. */
export const MAX_LIVE_PATHS = 1_024;

/**
 * The key a seat's live media connection is held under, whatever its path: a
 * seat holds one live media stream in the whole room (a room's mounts at two
 * bitrates are one listener's choice of one, as an origin counts its
 * listeners across them). Not a path (no leading `/`), so it meets none.
 */
export const MEDIA_KEY = "media";

/** Path → is it media (else server-sent events), oldest noted first. */
const livePaths = new Map<string, boolean>();

/**
 * The path of a request URL (no query). A request's URL is absolute and
 * http(s): its host starts at 7 (`http://`) or 8 (`https://`), and neither
 * the scheme nor the host holds a "?" or a "/", so the first "?" is the
 * query's (a caller that looked for it already passes where it is).
 */
export function pathOf(url: string, query = url.indexOf("?")): string {
  // No search for the "//": its place follows from the scheme's length.
  const pathAt = url.indexOf("/", url.charCodeAt(4) === COLON ? 7 : 8);
  if (pathAt === -1 || (query !== -1 && query < pathAt)) return "/";
  return query === -1 ? url.slice(pathAt) : url.slice(pathAt, query);
}

const COLON = 0x3a;

/**
 * The request to `url` was answered with a live stream (`media`, else
 * events): its path, when this isolate did not know it (or knew it as the
 * other kind), else null.
 */
export function noteLivePath(url: string, media: boolean): string | null {
  const path = pathOf(url);
  if (livePaths.get(path) === media) return null;
  remember(path, media);
  return path;
}

/** The live paths a room's view lists (GlobalView `livePaths`), known here from now on. */
export function learnLivePaths(paths: readonly LivePath[] | undefined): void {
  if (paths === undefined) return;
  for (const { path, media } of paths) if (livePaths.get(path) !== media) remember(path, media);
}

/**
 * A room's view names its live media mounts (config `liveMounts`, paths
 * under `/rooms/<room>/`): each is a live media path from then on, so its
 * first stream is held before the origin is asked.
 */
export function learnLiveMounts(room: string, mounts: readonly string[] | null | undefined): void {
  if (mounts == null) return;
  for (const mount of mounts) {
    const path = `/rooms/${room}/${mount}`;
    if (livePaths.get(path) !== true) remember(path, true);
  }
}

function remember(path: string, media: boolean): void {
  livePaths.delete(path);
  if (livePaths.size >= MAX_LIVE_PATHS) livePaths.delete(livePaths.keys().next().value!);
  livePaths.set(path, media);
}

/** Has `path` (a URL's path, no query) been answered with a live stream here (or in the room, by its view)? */
export function isLivePath(path: string): boolean {
  return livePaths.size !== 0 && livePaths.has(path);
}

/** Has the path of `url` been answered with a live stream here (or in the room)? */
export function isLiveUrl(url: string): boolean {
  return livePaths.size !== 0 && isLivePath(pathOf(url));
}

/** The key a seat's live connection on `path` is held under: MEDIA_KEY for a media path, else the path. */
export function liveKeyOf(path: string): string {
  return livePaths.get(path) === true ? MEDIA_KEY : path;
}

/** Forget every live path (tests). */
export function forgetLivePaths(): void {
  livePaths.clear();
}

/**
 * The paths this isolate has seen answered with a live stream (audio, video
 * or server-sent events of no declared length: an Icecast mount, progressive
 * audio, an event stream; seat-tie.ts `isLiveAnswer`).
 *
 * A seat holds one live connection per path at a time
 * (objects/seat-holds.ts), and an origin counts a listener from the moment
 * it is asked. So a request on a path known to stream is held as its seat's
 * live connection *before* the origin is asked (as a WebSocket is): the
 * seat's older live connection there is cut and counted out first. A path
 * not known yet is held once its answer shows that it streams, and then
 * replaces the seat's older live connection there as soon as it can.
 *
 * A path is known here once this isolate saw it stream, or once the room's
 * view lists it (`learnLivePaths`): an isolate that notes a path the view
 * did not list tells the room's coordinator (RoomDesk `noteLivePath`), so
 * that a path streams unheld only until the room's view spreads it (about
 * two seconds), not once in every isolate.
 *
 * Memory only, at most MAX_LIVE_PATHS paths (the oldest noted goes first).
 */

/** How many live paths an isolate remembers. */
export const MAX_LIVE_PATHS = 1_024;

const livePaths = new Set<string>();

/** The path of a request URL (no query). */
export function pathOf(url: string): string {
  const pathAt = url.indexOf("/", url.indexOf("//") + 2);
  if (pathAt === -1) return "/";
  const query = url.indexOf("?", pathAt);
  return query === -1 ? url.slice(pathAt) : url.slice(pathAt, query);
}

/** The request to `url` was answered with a live stream: its path, when this isolate did not know it yet, else null. */
export function noteLivePath(url: string): string | null {
  const path = pathOf(url);
  if (livePaths.has(path)) return null;
  remember(path);
  return path;
}

/** The live paths a room's view lists (GlobalView `livePaths`), known here from now on. */
export function learnLivePaths(paths: readonly string[] | undefined): void {
  if (paths === undefined) return;
  for (const path of paths) if (!livePaths.has(path)) remember(path);
}

function remember(path: string): void {
  if (livePaths.size >= MAX_LIVE_PATHS) livePaths.delete(livePaths.values().next().value!);
  livePaths.add(path);
}

/** Has `path` (a URL's path, no query) been answered with a live stream here? */
export function isLivePath(path: string): boolean {
  return livePaths.size !== 0 && livePaths.has(path);
}

/** Has the path of `url` been answered with a live stream here? */
export function isLiveUrl(url: string): boolean {
  return livePaths.size !== 0 && isLivePath(pathOf(url));
}

/** Forget every live path (tests). */
export function forgetLivePaths(): void {
  livePaths.clear();
}

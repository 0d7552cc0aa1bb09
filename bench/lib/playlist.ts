/**
 * The short answer of the bench origin (origin.ts), and what it sends with
 * it: also what bench/parts/ stands in for that origin with. Plain values
 * only, so that a Worker can import it as well as Node.
 */
export const PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nsegment-1.aac\n";

/** The playlist's headers, as the origin writes them (a Node origin adds its own on the wire). */
export const PLAYLIST_HEADERS = {
  "content-type": "application/vnd.apple.mpegurl",
  "content-length": String(new TextEncoder().encode(PLAYLIST).byteLength),
  "cache-control": "no-store",
} as const;

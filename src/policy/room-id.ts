/** A room id: 1–64 of A-Z a-z 0-9 _ - (the public contract). */
export const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** How many well-formed room ids `roomIdOf` keeps at hand. */
export const RECENT_ROOM_IDS = 8;

/** The room ids `roomIdOf` found well formed lately, the latest first. */
const recent: string[] = [];

/**
 * The room id in `text` when it is a well-formed one (ROOM_ID), else null;
 * for a hot path, which takes the room from each request's URL.
 *
 * Such a room id is a fresh string every request. The first time a fresh
 * string is looked up in a Map or a Set the engine interns it, and a
 * request's own room is looked up in several; matching the pattern costs
 * about as much again. So the ids found well formed lately are kept, and a
 * text equal to one of them (a comparison of a few bytes) is answered with
 * that same string, interned once and already known to match.
 */
export function roomIdOf(text: string): string | null {
  for (let i = 0; i < recent.length; i++) {
    const id = recent[i]!;
    if (id === text) {
      if (i !== 0) {
        recent.splice(i, 1);
        recent.unshift(id);
      }
      return id;
    }
  }
  if (!ROOM_ID.test(text)) return null;
  if (recent.length >= RECENT_ROOM_IDS) recent.pop();
  recent.unshift(text);
  return text;
}

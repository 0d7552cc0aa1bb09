/**
 * A room id taken from a request's URL (src/policy/room-id.ts): `roomIdOf`
 * answers exactly as the contract's pattern does, whatever it met before
 * (it keeps the ids it met lately, to answer them without the pattern).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RECENT_ROOM_IDS, ROOM_ID, roomIdOf } from "../../src/policy/room-id.ts";

/** Texts near and far from room ids: the id alphabet, some of what is not in it, and lengths around 64. */
const ALPHABET = "abcXYZ019_-./ %é\n";
const text = fc.array(fc.constantFrom(...ALPHABET), { minLength: 0, maxLength: 70 }).map((chars) => chars.join(""));

/** The same text as a string made apart from the given one (as a request's URL makes it). */
const fresh = (s: string) => [...s].join("");

describe("roomIdOf", () => {
  it("answers as ROOM_ID does, for any sequence of texts, seen before or not", () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 40 }), (texts) => {
        // Each text twice over, apart: the second time it may be one kept.
        for (const s of [...texts, ...texts.map(fresh)]) {
          expect(roomIdOf(s)).toBe(ROOM_ID.test(s) ? s : null);
        }
      }),
    );
  });

  it("answers a well-formed id met lately again, and never one that only starts or ends like it", () => {
    expect(roomIdOf(fresh("studio-7"))).toBe("studio-7");
    expect(roomIdOf(fresh("studio-7"))).toBe("studio-7");
    for (const bad of ["", "studio-7/", "studio-7\n", " studio-7", "studio-7".padEnd(65, "x"), "stu dio-7"]) {
      expect(roomIdOf(bad)).toBeNull();
    }
    expect(roomIdOf("studio-")).toBe("studio-");
  });

  it("answers ids it no longer keeps as it did while it kept them (three times as many ids as it keeps, in turn)", () => {
    const ids = Array.from({ length: RECENT_ROOM_IDS * 3 }, (_, i) => `room-${i}`);
    for (let round = 0; round < 3; round++) {
      for (const id of ids) expect(roomIdOf(fresh(id))).toBe(id);
    }
    expect(roomIdOf("room-0/x")).toBeNull();
  });
});

/**
 * Which room ids a deployment serves (ROOMS) and how often an isolate reads
 * the room directory to know: at most once per refresh interval, however
 * many made-up ids arrive.
 */
import { describe, expect, it } from "vitest";
import { KnownRooms, parseRooms, ROOMS_REFRESH_MS } from "../../src/edge/room-gate.ts";

const T0 = Date.UTC(2026, 0, 1);

describe("parseRooms", () => {
  it("reads *, ops and lists of ids", () => {
    expect(parseRooms("*")).toEqual({ any: true });
    expect(parseRooms(undefined)).toEqual({ any: true });
    expect(parseRooms(" ")).toEqual({ any: true });
    expect(parseRooms("ops")).toEqual({ any: false, byOps: true, listed: new Set() });
    expect(parseRooms("ops, town-hall ,launch")).toEqual({
      any: false,
      byOps: true,
      listed: new Set(["town-hall", "launch"]),
    });
    expect(parseRooms("only")).toEqual({ any: false, byOps: false, listed: new Set(["only"]) });
  });

  it("refuses what is not a room id", () => {
    expect(() => parseRooms("ops,bad/id")).toThrow(/not a room id/);
  });
});

describe("KnownRooms", () => {
  it("serves listed ids and any id under *, without reading the directory", async () => {
    const known = new KnownRooms();
    const load = () => Promise.reject(new Error("not read"));
    expect(await known.serves(parseRooms("*"), "x", T0, load)).toBe(true);
    expect(await known.serves(parseRooms("a,b"), "a", T0, load)).toBe(true);
    expect(await known.serves(parseRooms("a,b"), "c", T0, load)).toBe(false);
  });

  it("reads the directory at most once per interval for a flood of made-up ids", async () => {
    const known = new KnownRooms();
    const policy = parseRooms("ops");
    let reads = 0;
    let rooms = ["real"];
    const load = async () => {
      reads += 1;
      return rooms;
    };
    for (let i = 0; i < 1_000; i++) expect(await known.serves(policy, `junk-${i}`, T0 + i, load)).toBe(false);
    expect(reads).toBe(1);
    expect(await known.serves(policy, "real", T0 + 1_000, load)).toBe(true);
    // A room ops create is served once the copy is older than the interval.
    rooms = ["real", "new"];
    expect(await known.serves(policy, "new", T0 + ROOMS_REFRESH_MS - 1, load)).toBe(false);
    expect(await known.serves(policy, "new", T0 + ROOMS_REFRESH_MS, load)).toBe(true);
    expect(reads).toBe(2);
  });

  it("serves a room just created to requests that come while another request is reading the directory", async () => {
    const known = new KnownRooms();
    const policy = parseRooms("ops");
    await known.serves(policy, "old", T0, async () => ["old"]);
    let release!: (rooms: string[]) => void;
    const slow = new Promise<string[]>((resolve) => (release = resolve));
    const later = T0 + ROOMS_REFRESH_MS;
    const first = known.serves(policy, "new", later, () => slow);
    // A second request reads for itself rather than be refused (or wait on the first one's read).
    expect(await known.serves(policy, "new", later, async () => ["old", "new"])).toBe(true);
    release(["old", "new"]);
    expect(await first).toBe(true);
  });

  it("throws what the directory read threw when there is no copy", async () => {
    const known = new KnownRooms();
    await expect(known.serves(parseRooms("ops"), "x", T0, () => Promise.reject(new Error("down")))).rejects.toThrow(
      "down",
    );
  });
});

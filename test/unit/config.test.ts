import { describe, expect, it } from "vitest";
import {
  configProblems,
  defaultsFromVars,
  effectiveConfig,
  type FieldError,
  MAX_LIVE_MOUNTS,
  modeAt,
  parsePatch,
  type RoomConfig,
  timingsFromVars,
} from "../../src/policy/config.ts";

function errorsOf(input: unknown): FieldError[] {
  const result = parsePatch(input);
  if (result.ok) throw new Error(`expected rejection of ${JSON.stringify(input)}`);
  return result.errors;
}

function fieldsOf(input: unknown): string[] {
  return [...new Set(errorsOf(input).map((e) => e.field))].sort();
}

describe("parsePatch", () => {
  it("accepts an empty patch", () => {
    expect(parsePatch({})).toEqual({ ok: true, patch: {} });
  });

  it("accepts each field alone and all together", () => {
    expect(parsePatch({ capacity: 50 })).toEqual({ ok: true, patch: { capacity: 50 } });
    expect(parsePatch({ admitPerMinute: 120 })).toEqual({ ok: true, patch: { admitPerMinute: 120 } });
    expect(parsePatch({ mode: "hold" })).toEqual({ ok: true, patch: { mode: "hold" } });
    expect(parsePatch({ capacity: 7, admitPerMinute: 60, mode: "closed" })).toEqual({
      ok: true,
      patch: { capacity: 7, admitPerMinute: 60, mode: "closed" },
    });
  });

  it("accepts every mode", () => {
    for (const mode of ["open", "hold", "closed"]) {
      expect(parsePatch({ mode })).toEqual({ ok: true, patch: { mode } });
    }
  });

  it("accepts the bounds: capacity 0, admitPerMinute 1, and the maximum of 100,000,000", () => {
    expect(parsePatch({ capacity: 0 }).ok).toBe(true);
    expect(parsePatch({ admitPerMinute: 1 }).ok).toBe(true);
    expect(parsePatch({ capacity: 100_000_000, admitPerMinute: 100_000_000 }).ok).toBe(true);
  });

  it("accepts a parsed JSON body", () => {
    expect(parsePatch(JSON.parse('{"capacity": 12, "mode": "open"}'))).toEqual({
      ok: true,
      patch: { capacity: 12, mode: "open" },
    });
  });

  it("rejects unknown fields, naming each one", () => {
    const errors = errorsOf({ capacity: 5, colour: "blue", maxQueueLength: 10 });
    expect(errors.map((e) => e.field).sort()).toEqual(["colour", "maxQueueLength"]);
    for (const e of errors) expect(e.message).toMatch(/not a config field/);
  });

  it("rejects keys that exist on Object.prototype", () => {
    expect(fieldsOf({ toString: 1 })).toEqual(["toString"]);
    expect(fieldsOf({ constructor: 1 })).toEqual(["constructor"]);
    expect(fieldsOf(JSON.parse('{"__proto__": {"capacity": 1}}'))).toEqual(["__proto__"]);
  });

  it("rejects wrong types with a field-level error", () => {
    expect(fieldsOf({ capacity: "10" })).toEqual(["capacity"]);
    expect(fieldsOf({ capacity: null })).toEqual(["capacity"]);
    expect(fieldsOf({ capacity: true })).toEqual(["capacity"]);
    expect(fieldsOf({ admitPerMinute: [60] })).toEqual(["admitPerMinute"]);
    expect(fieldsOf({ mode: 1 })).toEqual(["mode"]);
    expect(errorsOf({ capacity: "10" })[0]?.message).toMatch(/number/);
  });

  it("rejects a mode that is not one of open, hold, overflow, closed", () => {
    for (const mode of ["OPEN", "", "paused", "overflowing"]) {
      const errors = errorsOf({ mode });
      expect(errors.map((e) => e.field)).toEqual(["mode"]);
      expect(errors[0]?.message).toMatch(/open, hold, overflow, closed/);
    }
  });

  it("rejects non-integers", () => {
    expect(fieldsOf({ capacity: 1.5 })).toEqual(["capacity"]);
    expect(fieldsOf({ admitPerMinute: 59.9 })).toEqual(["admitPerMinute"]);
    expect(errorsOf({ capacity: 1.5 })[0]?.message).toMatch(/whole/);
  });

  it("rejects NaN and infinities", () => {
    expect(fieldsOf({ capacity: Number.NaN })).toEqual(["capacity"]);
    expect(fieldsOf({ capacity: Number.POSITIVE_INFINITY })).toEqual(["capacity"]);
    expect(fieldsOf({ admitPerMinute: Number.NEGATIVE_INFINITY })).toEqual(["admitPerMinute"]);
  });

  it("rejects negatives and values out of range", () => {
    expect(fieldsOf({ capacity: -1 })).toEqual(["capacity"]);
    expect(fieldsOf({ admitPerMinute: 0 })).toEqual(["admitPerMinute"]);
    expect(fieldsOf({ admitPerMinute: -60 })).toEqual(["admitPerMinute"]);
    expect(fieldsOf({ capacity: 100_000_001 })).toEqual(["capacity"]);
    expect(fieldsOf({ admitPerMinute: 100_000_001 })).toEqual(["admitPerMinute"]);
  });

  it("reports every bad field, not only the first", () => {
    expect(fieldsOf({ capacity: -1, admitPerMinute: 0, mode: "x" })).toEqual(["admitPerMinute", "capacity", "mode"]);
  });

  it("rejects the whole patch when one field is bad (nothing partial comes back)", () => {
    const result = parsePatch({ capacity: 10, mode: "nope" });
    expect(result.ok).toBe(false);
    expect("patch" in result).toBe(false);
  });

  it("rejects non-objects with an error on the body itself", () => {
    for (const input of [null, undefined, [], [{ capacity: 1 }], "capacity=1", 42, true]) {
      const errors = errorsOf(input);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.field).toBe("");
      expect(errors[0]?.message).toMatch(/object/);
    }
  });
});

describe("parsePatch: listener rules", () => {
  it("accepts the rules and null to clear them", () => {
    const r = parsePatch({
      maxWaitSeconds: 600,
      maxQueue: 0,
      startsAt: "2026-11-22T19:00:00Z",
      shuffleAtStart: true,
      recordingUrl: "https://example.com/recording",
      mode: "overflow",
    });
    expect(r.ok).toBe(true);
    expect(
      parsePatch({
        maxWaitSeconds: null,
        maxQueue: null,
        startsAt: null,
        recordingUrl: null,
        title: null,
        logoUrl: null,
        accentColor: null,
        message: null,
      }).ok,
    ).toBe(true);
  });

  it("refuses bad values field by field", () => {
    const r = parsePatch({
      maxWaitSeconds: 0,
      maxQueue: -1,
      startsAt: "tomorrow",
      shuffleAtStart: "yes",
      recordingUrl: "javascript:alert(1)",
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field).sort()).toEqual(
        ["maxQueue", "maxWaitSeconds", "recordingUrl", "shuffleAtStart", "startsAt"].sort(),
      );
    }
    expect(parsePatch({ recordingUrl: "ftp://example.com/x" }).ok).toBe(false);
  });
});

describe("modeAt", () => {
  const start = Date.UTC(2026, 10, 22, 19);
  it("holds an open or overflowing room until the start, and changes nothing else", () => {
    expect(modeAt("open", start, start - 1)).toBe("hold");
    expect(modeAt("overflow", start, start - 1)).toBe("hold");
    expect(modeAt("open", start, start)).toBe("open");
    expect(modeAt("closed", start, start - 1)).toBe("closed");
    expect(modeAt("open", null, 0)).toBe("open");
  });
});

/** Every listener rule and branding field unset, as the defaults have them. */
const rules = {
  maxWaitSeconds: null,
  maxQueue: null,
  startsAt: null,
  shuffleAtStart: false,
  recordingUrl: null,
  title: null,
  logoUrl: null,
  accentColor: null,
  message: null,
  challengeBits: 0,
  origin: "proxy" as const,
  originRoom: null,
  liveMounts: null,
  lanes: null,
  identity: null,
  inviteOnly: false,
};

describe("origin", () => {
  it("takes proxy, icecast-hook, janus or livekit, nothing else, and defaults to proxy", () => {
    for (const origin of ["proxy", "icecast-hook", "janus", "livekit"]) {
      expect(parsePatch({ origin })).toEqual({ ok: true, patch: { origin } });
    }
    expect(parsePatch({ origin: "webrtc" })).toEqual({
      ok: false,
      errors: [{ field: "origin", message: "must be one of proxy, icecast-hook, janus, livekit" }],
    });
    expect(parsePatch({ origin: null })).toMatchObject({ ok: false });
    expect(defaultsFromVars({}).origin).toBe("proxy");
  });

  it("takes the origin's own room name, or null for the room id", () => {
    expect(parsePatch({ originRoom: "1234" })).toEqual({ ok: true, patch: { originRoom: "1234" } });
    expect(parsePatch({ originRoom: "studio-a.main" })).toEqual({ ok: true, patch: { originRoom: "studio-a.main" } });
    expect(parsePatch({ originRoom: null })).toEqual({ ok: true, patch: { originRoom: null } });
    // A Janus room id typed as a number (the CLI reads `originRoom=1234` as JSON would) is kept as text.
    expect(parsePatch({ originRoom: 1234 })).toEqual({ ok: true, patch: { originRoom: "1234" } });
    for (const bad of ["", "has space", "a/b", "x".repeat(129), -1, 1.5, true, {}]) {
      expect(parsePatch({ originRoom: bad })).toMatchObject({ ok: false, errors: [{ field: "originRoom" }] });
    }
    expect(defaultsFromVars({}).originRoom).toBeNull();
  });

  it("takes the room's live mounts as paths under the room, or null; refuses anything that is not one", () => {
    const mounts = ["stream.mp3", "live/low.aac", "hi-fi_128k.opus"];
    expect(parsePatch({ liveMounts: mounts })).toEqual({ ok: true, patch: { liveMounts: mounts } });
    expect(parsePatch({ liveMounts: null })).toEqual({ ok: true, patch: { liveMounts: null } });
    const bad = [
      [],
      ["/stream.mp3"],
      ["stream.mp3?x=1"],
      ["a//b"],
      ["../other/stream.mp3"],
      ["live/./x"],
      ["live/.."],
      ["has space"],
      [""],
      ["x".repeat(201)],
      ["a", "a"],
      Array.from({ length: MAX_LIVE_MOUNTS + 1 }, (_, i) => `m${i}.mp3`),
      "stream.mp3",
      [1],
    ];
    for (const liveMounts of bad) {
      expect(parsePatch({ liveMounts }), JSON.stringify(liveMounts)).toMatchObject({
        ok: false,
        errors: [{ field: expect.stringMatching(/^liveMounts/) }],
      });
    }
    expect(defaultsFromVars({}).liveMounts).toBeNull();
  });
});

describe("effectiveConfig", () => {
  const defaults: RoomConfig = { capacity: 1000, admitPerMinute: 600, mode: "open", shards: 1, ...rules };

  it("is the defaults when nothing is overridden", () => {
    expect(effectiveConfig(defaults, {})).toEqual(defaults);
  });

  it("overlays each overridden field and keeps the rest", () => {
    expect(effectiveConfig(defaults, { capacity: 10 })).toEqual({
      capacity: 10,
      admitPerMinute: 600,
      mode: "open",
      shards: 1,
      ...rules,
    });
    expect(effectiveConfig(defaults, { admitPerMinute: 6, mode: "hold" })).toEqual({
      capacity: 1000,
      admitPerMinute: 6,
      mode: "hold",
      shards: 1,
      ...rules,
    });
  });

  it("lets a nullable field be set back to null, over a default that has a value", () => {
    const withLimit = { ...defaults, maxWaitSeconds: 600 };
    expect(effectiveConfig(withLimit, {}).maxWaitSeconds).toBe(600);
    expect(effectiveConfig(withLimit, { maxWaitSeconds: null }).maxWaitSeconds).toBeNull();
    expect(effectiveConfig(defaults, { recordingUrl: "https://example.com/r" }).recordingUrl).toBe(
      "https://example.com/r",
    );
  });

  it("honours a capacity override of 0 (not treated as missing)", () => {
    expect(effectiveConfig(defaults, { capacity: 0 }).capacity).toBe(0);
  });

  it("does not modify its inputs", () => {
    const overrides = { capacity: 3 };
    effectiveConfig(defaults, overrides);
    expect(defaults).toEqual({ capacity: 1000, admitPerMinute: 600, mode: "open", shards: 1, ...rules });
    expect(overrides).toEqual({ capacity: 3 });
  });
});

describe("defaultsFromVars", () => {
  it("falls back to 1000 seats, 600 per minute, open when vars are missing", () => {
    expect(defaultsFromVars({})).toEqual({ capacity: 1000, admitPerMinute: 600, mode: "open", shards: 1, ...rules });
  });

  it("reads numbers and the mode from the vars", () => {
    expect(
      defaultsFromVars({
        DEFAULT_CAPACITY: "25",
        DEFAULT_ADMIT_PER_MINUTE: "90",
        DEFAULT_MODE: "hold",
        DEFAULT_SHARDS: "4",
      }),
    ).toEqual({ capacity: 25, admitPerMinute: 90, mode: "hold", shards: 4, ...rules });
  });

  it("throws on a non-numeric, fractional or negative capacity", () => {
    expect(() => defaultsFromVars({ DEFAULT_CAPACITY: "lots" })).toThrow(/capacity/);
    expect(() => defaultsFromVars({ DEFAULT_CAPACITY: "2.5" })).toThrow(/capacity/);
    expect(() => defaultsFromVars({ DEFAULT_CAPACITY: "-1" })).toThrow(/capacity/);
  });

  it("throws on a shard count outside 1–1024", () => {
    expect(() => defaultsFromVars({ DEFAULT_SHARDS: "0" })).toThrow(/shards/);
    expect(() => defaultsFromVars({ DEFAULT_SHARDS: "1025" })).toThrow(/shards/);
  });

  it("throws on an admission rate below 1", () => {
    expect(() => defaultsFromVars({ DEFAULT_ADMIT_PER_MINUTE: "0" })).toThrow(/admitPerMinute/);
    expect(() => defaultsFromVars({ DEFAULT_ADMIT_PER_MINUTE: "x" })).toThrow(/admitPerMinute/);
  });

  it("throws on an unknown mode", () => {
    expect(() => defaultsFromVars({ DEFAULT_MODE: "overflowing" })).toThrow(/mode/);
  });

  it("reads a blank DEFAULT_MODE as unset (open)", () => {
    expect(defaultsFromVars({ DEFAULT_MODE: "" }).mode).toBe("open");
    expect(defaultsFromVars({ DEFAULT_MODE: "  " }).mode).toBe("open");
  });

  it("does not read an empty or blank DEFAULT_CAPACITY as a capacity of 0", () => {
    // A blank var is either the default or a deployment error, never "admit nobody".
    for (const blank of ["", "  "]) {
      let capacity: number | "rejected";
      try {
        capacity = defaultsFromVars({ DEFAULT_CAPACITY: blank }).capacity;
      } catch {
        capacity = "rejected";
      }
      expect(capacity).not.toBe(0);
    }
  });
});

describe("timingsFromVars", () => {
  it("defaults to a 60 s pass, a 30 s claim window and a 6 h ticket", () => {
    expect(timingsFromVars({})).toEqual({ passTtlMs: 60_000, claimWindowMs: 30_000, ticketTtlMs: 21_600_000 });
  });

  it("converts seconds to milliseconds", () => {
    expect(timingsFromVars({ PASS_TTL_SECONDS: "90", CLAIM_WINDOW_SECONDS: "5", TICKET_TTL_SECONDS: "3600" })).toEqual({
      passTtlMs: 90_000,
      claimWindowMs: 5_000,
      ticketTtlMs: 3_600_000,
    });
  });

  it("treats an empty var as unset", () => {
    expect(timingsFromVars({ PASS_TTL_SECONDS: "" }).passTtlMs).toBe(60_000);
  });

  it("accepts 1 s and one week, the bounds", () => {
    expect(timingsFromVars({ CLAIM_WINDOW_SECONDS: "1" }).claimWindowMs).toBe(1_000);
    expect(timingsFromVars({ TICKET_TTL_SECONDS: String(7 * 24 * 3600) }).ticketTtlMs).toBe(7 * 24 * 3600 * 1000);
  });

  it("throws on zero, negatives, fractions, text and more than a week, naming the var", () => {
    expect(() => timingsFromVars({ PASS_TTL_SECONDS: "0" })).toThrow(/PASS_TTL_SECONDS/);
    expect(() => timingsFromVars({ PASS_TTL_SECONDS: "-30" })).toThrow(/PASS_TTL_SECONDS/);
    expect(() => timingsFromVars({ CLAIM_WINDOW_SECONDS: "1.5" })).toThrow(/CLAIM_WINDOW_SECONDS/);
    expect(() => timingsFromVars({ CLAIM_WINDOW_SECONDS: "soon" })).toThrow(/CLAIM_WINDOW_SECONDS/);
    expect(() => timingsFromVars({ TICKET_TTL_SECONDS: String(7 * 24 * 3600 + 1) })).toThrow(/TICKET_TTL_SECONDS/);
  });
});

describe("parsePatch: branding", () => {
  it("accepts a title, an https logo, a colour and a message, and null to clear them", () => {
    const r = parsePatch({
      title: "  Town hall <live>  ",
      logoUrl: "https://example.com/logo.png",
      accentColor: "#1F4FD1",
      message: "Doors open at seven.\nBring questions.",
    });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.patch.title).toBe("Town hall <live>"); // trimmed; markup stays text, escaped where shown
    expect(parsePatch({ title: null, logoUrl: null, accentColor: null, message: null }).ok).toBe(true);
  });

  it("refuses what is not text, a plain-http or script logo, a colour that is not #rrggbb, and control characters", () => {
    const fields = (input: unknown) => {
      const r = parsePatch(input);
      return r.ok ? [] : r.errors.map((e) => e.field);
    };
    expect(fields({ title: "" })).toEqual(["title"]);
    expect(fields({ title: "a\u0007b" })).toEqual(["title"]);
    expect(fields({ title: "two\nlines" })).toEqual(["title"]);
    expect(fields({ title: "x".repeat(121) })).toEqual(["title"]);
    expect(fields({ logoUrl: "http://example.com/logo.png" })).toEqual(["logoUrl"]);
    expect(fields({ logoUrl: "javascript:alert(1)" })).toEqual(["logoUrl"]);
    expect(fields({ accentColor: "red" })).toEqual(["accentColor"]);
    expect(fields({ accentColor: "#12345g" })).toEqual(["accentColor"]);
    expect(fields({ message: "x".repeat(501) })).toEqual(["message"]);
    expect(fields({ message: 5 })).toEqual(["message"]);
  });
});

describe("lanes, identity and inviteOnly", () => {
  it("take lanes by name with defaults filled in, in the order given", () => {
    const parsed = parsePatch({ lanes: { stage: { reserved: 20, lend: false }, priority: { share: 0.25, cap: 100 } } });
    expect(parsed).toEqual({
      ok: true,
      patch: {
        lanes: {
          stage: { reserved: 20, cap: null, share: null, lend: false, shards: 1 },
          priority: { reserved: 0, cap: 100, share: 0.25, lend: true, shards: 1 },
        },
      },
    });
    expect(Object.keys((parsed as { patch: { lanes: object } }).patch.lanes)).toEqual(["stage", "priority"]);
  });

  it("refuse what is not a lane config, naming the field", () => {
    const bad: unknown[] = [
      [],
      "stage",
      { general: {} },
      { Stage: {} },
      { stage: { reserved: -1 } },
      { stage: { cap: 0 } },
      { stage: { reserved: 5, cap: 4 } },
      { stage: { share: 1 } },
      { stage: { shards: 65 } },
      { stage: { vip: true } },
      Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`lane${i}`, {}])),
    ];
    for (const lanes of bad) {
      const result = parsePatch({ lanes });
      expect(result.ok, JSON.stringify(lanes)).toBe(false);
      if (!result.ok) expect(result.errors[0]!.field.startsWith("lanes")).toBe(true);
    }
    expect(parsePatch({ inviteOnly: "yes" })).toMatchObject({ ok: false, errors: [{ field: "inviteOnly" }] });
    expect(parsePatch({ identity: { issuer: "x" } })).toMatchObject({ ok: false });
  });

  it("refuse a whole config whose reserves exceed capacity, or that is invite-only with no lane", () => {
    const base = effectiveConfig(defaultsFromVars({}), {});
    const lanes = { stage: { reserved: 600, cap: null, share: null, lend: true, shards: 1 } };
    expect(configProblems({ ...base, capacity: 1000, lanes })).toEqual([]);
    expect(configProblems({ ...base, capacity: 500, lanes })).toMatchObject([{ field: "lanes" }]);
    expect(configProblems({ ...base, inviteOnly: true })).toMatchObject([{ field: "inviteOnly" }]);
    expect(configProblems({ ...base, inviteOnly: true, lanes })).toEqual([]);
  });
});

/**
 * Room configuration: the fields, their defaults and their validation.
 *
 * Defaults come from the Worker's vars (wrangler.toml); ops override single
 * fields per room through the admin API. A patch is validated as a whole and
 * either applies entirely or changes nothing.
 */
import * as v from "valibot";
import { MAX_CHALLENGE_BITS } from "./pow.ts";
import { type Lanes, LanesSchema, reservedTotal } from "./lanes.ts";
import { type IdentityConfig, IdentityConfigSchema } from "./identity-config.ts";

export const MODES = ["open", "hold", "overflow", "closed"] as const;
export type Mode = (typeof MODES)[number];

/** The limits admission policy works with. */
export interface AdmissionLimits {
  /** Most concurrent admitted listeners (live leases). */
  capacity: number;
  /** Most new admissions per minute. */
  admitPerMinute: number;
  /**
   * open: admit while seats are free; hold: everyone waits; overflow: those
   * in line are admitted as seats free up, new arrivals are offered the
   * recording; closed: event over.
   */
  mode: Mode;
}

/** What listeners are told, and when they are offered the recording instead of a wait. */
export interface ListenerRules {
  /** An arrival (or a listener in line) whose estimated wait exceeds this is offered the recording; null: no limit. */
  maxWaitSeconds: number | null;
  /** An arrival who would be beyond this many in line is offered the recording, with no place; null: no limit. */
  maxQueue: number | null;
  /** Before this moment (ISO 8601), arrivals wait in a prequeue and nobody is admitted; null: no start time. */
  startsAt: string | null;
  /** At `startsAt`, put those who prequeued in a random order (seeded, recorded). */
  shuffleAtStart: boolean;
  /** Where the recording is or will be (http or https); null: not yet known. */
  recordingUrl: string | null;
}

/** How the waiting room looks: operator text is always shown as text, never markup. */
export interface Branding {
  /** The room's title on the waiting page (null: the room id). */
  title: string | null;
  /** An https image shown at the top of the page. */
  logoUrl: string | null;
  /** The accent colour, `#rrggbb`. */
  accentColor: string | null;
  /** A short message from the hosts, shown under the title. */
  message: string | null;
}

/** Under-attack mode: what an arrival must show before it gets a place in line. */
export interface Protection {
  /**
   * Proof of work asked of every new arrival before a ticket is issued, in
   * leading zero bits of SHA-256 (see pow.ts): each bit doubles the work;
   * 0 turns under-attack mode off.
   */
  challengeBits: number;
}

export const ORIGINS = ["proxy", "icecast-hook", "janus", "livekit"] as const;
export type OriginKind = (typeof ORIGINS)[number];

/**
 * Who serves admitted listeners, and so who enforces the seat: `proxy`, the
 * edge (requests with a pass go through it and are cut when the seat ends);
 * `icecast-hook`, Icecast itself (listeners connect to it directly and it asks
 * Spillway about each one through its URL authentication; see
 * docs/origins/icecast-hook.md); `janus` and `livekit`, the WebRTC server
 * (listeners join it with a credential Spillway adds or mints per seat, and
 * Spillway takes it back when the seat ends; docs/origins/janus.md, livekit.md).
 */
export interface OriginChoice {
  origin: OriginKind;
  /**
   * The origin's own name for the room, in direct mode: the Janus AudioBridge
   * room or Streaming mountpoint id, or the LiveKit room name (null: the
   * Spillway room id).
   */
  originRoom: string | null;
  /**
   * The room's live media mounts, as paths under `/rooms/<room>/` (an Icecast
   * mount such as `stream.mp3`): a request on one is held as its seat's live
   * stream before the origin is asked, from the room's first request on,
   * rather than once some edge has seen the path stream (edge/live-paths.ts).
   * Null: none named; edges still learn the mounts they see stream.
   */
  liveMounts: string[] | null;
}

/**
 * Lanes (lanes.ts): lines of their own inside the cap, for listeners whose
 * identity token (the deployer's login, identity.ts) puts them there.
 */
export interface LaneChoice {
  /** The room's lanes by name, first outranking the rest (null: none, everyone is in the general line). */
  lanes: Lanes | null;
  /** How identity tokens are verified and their claims mapped to lanes (null: tokens are not read). */
  identity: IdentityConfig | null;
  /** Admit only listeners in one of `lanes`: everyone else is offered the recording (or told the room is closed). */
  inviteOnly: boolean;
}

export interface RoomConfig extends AdmissionLimits, ListenerRules, Branding, Protection, OriginChoice, LaneChoice {
  /** Shard objects new arrivals are spread over (by a stable hash of the listener). */
  shards: number;
}

/** Does this mode call waiting listeners as seats free up? */
export function calls(mode: Mode): boolean {
  return mode === "open" || mode === "overflow";
}

/** The mode in force at `now`: nobody is admitted before the start. */
export function modeAt(mode: Mode, startsAt: number | null | undefined, now: number): Mode {
  return calls(mode) && typeof startsAt === "number" && now < startsAt ? "hold" : mode;
}

/** Timings that are deployment-wide rather than per room. */
export interface Timings {
  passTtlMs: number;
  claimWindowMs: number;
  ticketTtlMs: number;
}

const MAX_SEATS = 100_000_000;

/**
 * A whole number from `min` to `max`, with the field errors the API answers.
 * `orNull`: the field also takes null (its message says so); `zeroIs`: what 0 means.
 */
function wholeNumber(min: number, max: number, options: { orNull?: boolean; zeroIs?: string } = {}) {
  const zero = options.zeroIs === undefined ? "0" : `0 (${options.zeroIs})`;
  return v.pipe(
    v.number(options.orNull === true ? "must be a number or null" : "must be a number"),
    v.integer("must be a whole number"),
    v.minValue(min, min === 0 ? `must be ${zero} or more` : `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
}

const capacity = wholeNumber(0, MAX_SEATS);
const admitPerMinute = wholeNumber(1, MAX_SEATS);
const mode = v.picklist(MODES, `must be one of ${MODES.join(", ")}`);
export const MAX_SHARDS = 1024;
const shards = wholeNumber(1, MAX_SHARDS);

const MAX_WAIT_SECONDS = 7 * 24 * 3600;
const maxWaitSeconds = v.nullable(wholeNumber(1, MAX_WAIT_SECONDS, { orNull: true }));
const maxQueue = v.nullable(wholeNumber(0, MAX_SEATS, { orNull: true }));
/**
 * A start time everything downstream can read: `Date.parse` takes it (ISO
 * 8601 also allows offsets like `+05` or ` -0800` that it does not), and its
 * calendar date exists (no 31 February).
 */
function readableTime(text: string): boolean {
  if (!Number.isFinite(Date.parse(text))) return false;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

const startsAt = v.nullable(
  // One message per bad value: the readability check only runs on an ISO 8601 timestamp.
  v.config(
    v.pipe(
      v.string("must be an ISO 8601 date-time or null"),
      v.isoTimestamp("must be an ISO 8601 date-time such as 2026-11-22T19:00:00Z"),
      v.check(readableTime, "must be a real date and time, in UTC (Z) or with an offset like +05:30"),
    ),
    { abortPipeEarly: true },
  ),
);
const shuffleAtStart = v.boolean("must be true or false");
const recordingUrl = v.nullable(
  v.pipe(
    v.string("must be a URL or null"),
    v.maxLength(2048, "must be at most 2048 characters"),
    v.url("must be an absolute URL"),
    v.check((u) => /^https?:\/\//i.test(u), "must be an http or https URL"),
  ),
);

/** Operator text: no control characters (a line break is allowed in the message). */
function noControls(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return false;
  }
  return true;
}
/** Operator text of at most `max` characters: trimmed, never empty (null clears it), no controls. */
function operatorText(max: number) {
  return v.pipe(
    v.string("must be text or null"),
    v.trim(),
    v.minLength(1, "must not be empty (null to clear)"),
    v.maxLength(max, `must be at most ${max} characters`),
    v.check(noControls, "must not contain control characters"),
  );
}
const title = v.nullable(v.pipe(operatorText(120), v.regex(/^[^\n]*$/u, "must be one line")));
const message = v.nullable(operatorText(500));
const logoUrl = v.nullable(
  v.pipe(
    v.string("must be a URL or null"),
    v.maxLength(2048, "must be at most 2048 characters"),
    v.url("must be an absolute URL"),
    v.check((u) => /^https:\/\//i.test(u), "must be an https URL"),
  ),
);
const accentColor = v.nullable(
  v.pipe(v.string("must be a colour or null"), v.regex(/^#[0-9a-fA-F]{6}$/u, "must be a colour like #1f4fd1")),
);

const challengeBits = wholeNumber(0, MAX_CHALLENGE_BITS, { zeroIs: "off" });
const origin = v.picklist(ORIGINS, `must be one of ${ORIGINS.join(", ")}`);
/** A name, kept as text (a whole number given for it is read as its digits: see `parsePatch`). */
const originRoom = v.nullable(
  v.pipe(
    v.string("must be a name, a room number, or null"),
    v.regex(/^[A-Za-z0-9_.-]{1,128}$/u, "must be 1-128 letters, digits, '_', '.' or '-', a room number, or null"),
  ),
);
/** The most live mounts a room may name. */
export const MAX_LIVE_MOUNTS = 16;
/** A path under the room's guarded prefix: segments of URL-safe characters, no empty, `.` or `..` segment, no query. */
const liveMount = v.pipe(
  v.string("must be a path under the room, like stream.mp3"),
  v.maxLength(200, "must be at most 200 characters"),
  v.regex(
    /^(?!\.\.?(?:\/|$))[A-Za-z0-9._~!$&'()*+,;=:@%-]+(?:\/(?!\.\.?(?:\/|$))[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/u,
    "must be a path under the room like stream.mp3 or live/low.aac: no leading '/', no empty, '.' or '..' segment, no query",
  ),
);
const liveMounts = v.nullable(
  v.pipe(
    v.array(liveMount, "must be a list of paths under the room, or null"),
    v.minLength(1, "must name at least one mount, or be null"),
    v.maxLength(MAX_LIVE_MOUNTS, `must name at most ${MAX_LIVE_MOUNTS} mounts`),
    v.check((list) => new Set(list).size === list.length, "must not name a mount twice"),
  ),
);
const lanes = LanesSchema;
const identity = v.nullable(IdentityConfigSchema);
const inviteOnly = v.boolean("must be true or false");
/** A PATCH body: any subset of the fields, nothing else. */
export const RoomConfigPatchSchema = v.strictObject({
  capacity: v.optional(capacity),
  admitPerMinute: v.optional(admitPerMinute),
  mode: v.optional(mode),
  shards: v.optional(shards),
  maxWaitSeconds: v.optional(maxWaitSeconds),
  maxQueue: v.optional(maxQueue),
  startsAt: v.optional(startsAt),
  shuffleAtStart: v.optional(shuffleAtStart),
  recordingUrl: v.optional(recordingUrl),
  title: v.optional(title),
  logoUrl: v.optional(logoUrl),
  accentColor: v.optional(accentColor),
  message: v.optional(message),
  challengeBits: v.optional(challengeBits),
  origin: v.optional(origin),
  originRoom: v.optional(originRoom),
  liveMounts: v.optional(liveMounts),
  lanes: v.optional(lanes),
  identity: v.optional(identity),
  inviteOnly: v.optional(inviteOnly),
});

export type RoomConfigPatch = v.InferOutput<typeof RoomConfigPatchSchema>;

const FullConfigSchema = v.object({
  capacity,
  admitPerMinute,
  mode,
  shards,
  maxWaitSeconds,
  maxQueue,
  startsAt,
  shuffleAtStart,
  recordingUrl,
  title,
  logoUrl,
  accentColor,
  message,
  challengeBits,
  origin,
  originRoom,
  liveMounts,
  lanes,
  identity,
  inviteOnly,
});

export interface FieldError {
  field: string;
  message: string;
}

export type PatchResult = { ok: true; patch: RoomConfigPatch } | { ok: false; errors: FieldError[] };

/** Validate an untrusted PATCH body. */
export function parsePatch(input: unknown): PatchResult {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "", message: "must be a JSON object" }] };
  }
  const unknown = Object.keys(input).filter((k) => !Object.hasOwn(RoomConfigPatchSchema.entries, k));
  if (unknown.length > 0) {
    return {
      ok: false,
      errors: unknown.map((field) => ({ field, message: "is not a config field" })),
    };
  }
  // A list is not lanes by name (valibot's record would read an empty one as no lanes).
  if (Array.isArray((input as { lanes?: unknown }).lanes)) {
    return { ok: false, errors: [{ field: "lanes", message: "must be an object of lanes by name, or null" }] };
  }
  // A Janus room id typed as a number (the CLI reads `originRoom=1234` as JSON would) is its digits.
  const room = (input as { originRoom?: unknown }).originRoom;
  const body = Number.isSafeInteger(room) && (room as number) >= 0 ? { ...input, originRoom: String(room) } : input;
  const result = v.safeParse(RoomConfigPatchSchema, body);
  if (result.success) return { ok: true, patch: result.output };
  return {
    ok: false,
    errors: result.issues.map((issue) => ({
      field: v.getDotPath(issue) ?? "",
      message: issue.message,
    })),
  };
}

/** The config a room runs with: defaults overlaid with its overrides. */
export function effectiveConfig(defaults: RoomConfig, overrides: RoomConfigPatch): RoomConfig {
  return {
    capacity: overrides.capacity ?? defaults.capacity,
    admitPerMinute: overrides.admitPerMinute ?? defaults.admitPerMinute,
    mode: overrides.mode ?? defaults.mode,
    shards: overrides.shards ?? defaults.shards,
    // These may be set back to null: an override present as null wins.
    maxWaitSeconds: overrides.maxWaitSeconds !== undefined ? overrides.maxWaitSeconds : defaults.maxWaitSeconds,
    maxQueue: overrides.maxQueue !== undefined ? overrides.maxQueue : defaults.maxQueue,
    startsAt: overrides.startsAt !== undefined ? overrides.startsAt : defaults.startsAt,
    shuffleAtStart: overrides.shuffleAtStart ?? defaults.shuffleAtStart,
    recordingUrl: overrides.recordingUrl !== undefined ? overrides.recordingUrl : defaults.recordingUrl,
    title: overrides.title !== undefined ? overrides.title : defaults.title,
    logoUrl: overrides.logoUrl !== undefined ? overrides.logoUrl : defaults.logoUrl,
    accentColor: overrides.accentColor !== undefined ? overrides.accentColor : defaults.accentColor,
    message: overrides.message !== undefined ? overrides.message : defaults.message,
    challengeBits: overrides.challengeBits ?? defaults.challengeBits,
    origin: overrides.origin ?? defaults.origin,
    originRoom: overrides.originRoom !== undefined ? overrides.originRoom : defaults.originRoom,
    liveMounts: overrides.liveMounts !== undefined ? overrides.liveMounts : defaults.liveMounts,
    lanes: overrides.lanes !== undefined ? overrides.lanes : defaults.lanes,
    identity: overrides.identity !== undefined ? overrides.identity : defaults.identity,
    inviteOnly: overrides.inviteOnly ?? defaults.inviteOnly,
  };
}

/**
 * What no single field shows: a whole config that cannot run as asked
 * (checked on the config a patch would give, before it applies).
 */
export function configProblems(config: RoomConfig): FieldError[] {
  const problems: FieldError[] = [];
  const reserved = reservedTotal(config.lanes);
  if (reserved > config.capacity) {
    problems.push({
      field: "lanes",
      message: `reserved seats (${reserved}) must not exceed capacity (${config.capacity}): they are taken from it`,
    });
  }
  if (config.inviteOnly && Object.keys(config.lanes ?? {}).length === 0) {
    problems.push({ field: "inviteOnly", message: "needs at least one lane to admit" });
  }
  return problems;
}

export interface ConfigVars {
  DEFAULT_CAPACITY?: string;
  DEFAULT_ADMIT_PER_MINUTE?: string;
  DEFAULT_MODE?: string;
  DEFAULT_SHARDS?: string;
  DEFAULT_MAX_WAIT_SECONDS?: string;
  DEFAULT_MAX_QUEUE?: string;
  PASS_TTL_SECONDS?: string;
  CLAIM_WINDOW_SECONDS?: string;
  TICKET_TTL_SECONDS?: string;
}

/** A var's value, or undefined when it is unset or blank. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** A var that may be unset: null when blank, otherwise its number (validated with the rest). */
function optionalNumber(value: string | undefined): number | null {
  const v = given(value);
  return v === undefined ? null : Number(v);
}

/** Room defaults from the Worker's vars (blank means unset); a bad var is a deployment error. */
export function defaultsFromVars(vars: ConfigVars): RoomConfig {
  const raw = {
    capacity: Number(given(vars.DEFAULT_CAPACITY) ?? 1000),
    admitPerMinute: Number(given(vars.DEFAULT_ADMIT_PER_MINUTE) ?? 600),
    mode: given(vars.DEFAULT_MODE) ?? "open",
    shards: Number(given(vars.DEFAULT_SHARDS) ?? 1),
    maxWaitSeconds: optionalNumber(vars.DEFAULT_MAX_WAIT_SECONDS),
    maxQueue: optionalNumber(vars.DEFAULT_MAX_QUEUE),
    startsAt: null,
    shuffleAtStart: false,
    recordingUrl: null,
    title: null,
    logoUrl: null,
    accentColor: null,
    message: null,
    challengeBits: 0,
    origin: "proxy",
    originRoom: null,
    liveMounts: null,
    lanes: null,
    identity: null,
    inviteOnly: false,
  };
  const result = v.safeParse(FullConfigSchema, raw);
  if (!result.success) {
    const detail = result.issues.map((i) => `${v.getDotPath(i)} ${i.message}`).join("; ");
    throw new Error(`invalid room defaults in vars: ${detail}`);
  }
  return result.output;
}

function seconds(name: string, value: string | undefined, fallback: number): number {
  const v = given(value);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 7 * 24 * 3600) {
    throw new Error(`invalid ${name}: ${value}`);
  }
  return n * 1000;
}

/** Deployment-wide timings from the Worker's vars. */
export function timingsFromVars(vars: ConfigVars): Timings {
  return {
    passTtlMs: seconds("PASS_TTL_SECONDS", vars.PASS_TTL_SECONDS, 60),
    claimWindowMs: seconds("CLAIM_WINDOW_SECONDS", vars.CLAIM_WINDOW_SECONDS, 30),
    ticketTtlMs: seconds("TICKET_TTL_SECONDS", vars.TICKET_TTL_SECONDS, 6 * 3600),
  };
}

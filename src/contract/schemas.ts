/**
 * The contract's JSON shapes as valibot schemas: what listeners are answered
 * (status, leave, errors, the JWKS) and what the admin API takes and gives.
 *
 * One definition serves three readers: the TypeScript types the code uses
 * are inferred from these schemas (or checked against them at compile time,
 * below, where the type lives in a module this one does not own), the
 * OpenAPI document (openapi.ts) is generated from them, and the tests
 * validate live answers with them. So the document cannot say one thing
 * while the code does another.
 *
 * Fields may be added to a shape; renaming or removing one is a breaking
 * change of the contract.
 */
import { IDENTITY_REFUSALS } from "../tokens/identity.ts";
import * as v from "valibot";
import { type FieldError, MODES, RoomConfigPatchSchema } from "../policy/config.ts";
import { OVERFLOW_REASONS } from "../policy/overflow.ts";
import { MAX_CHALLENGE_BITS, POW_ALGORITHM } from "../policy/pow.ts";
import { ROOM_ID } from "../policy/room-id.ts";
import { ERROR_CODES, type ErrorBody } from "./errors.ts";

/** The codes, for the OpenAPI document's examples (errors.ts gives each its status and message). */
export { ERROR_CODES };

// ---------------------------------------------------------------------------
// Building blocks

/** A whole number of at least `min` (counts, seconds, places). */
function wholeNumber(min: number) {
  return v.pipe(v.number(), v.integer(), v.minValue(min));
}

/** A time on the wire: ISO 8601 in UTC, as `Date.prototype.toISOString` writes it. */
const isoTime = v.pipe(v.string(), v.isoTimestamp());

export const RoomIdSchema = v.pipe(
  v.string(),
  v.regex(ROOM_ID),
  v.description("A room id: 1–64 of A-Z a-z 0-9 _ -. Anything else is answered 400 `bad_room`."),
);

/** Every token Spillway hands out is a compact JWS; its `typ` header says which kind it is. */
export const JwtSchema = v.pipe(
  v.string(),
  v.jwsCompact(),
  v.description("A signed token (compact JWS/JWT). Opaque to apps: send it back as `Authorization: Bearer <token>`."),
);

// ---------------------------------------------------------------------------
// Listener answers

export const LISTENER_STATES = ["prequeue", "queued", "admitted", "overflow", "closed"] as const;

export const ListenerStateSchema = v.pipe(
  v.picklist(LISTENER_STATES),
  v.description(
    "prequeue: waiting for the room to start (`startsAt`); queued: in line (`position`, `etaSeconds`); " +
      "admitted: a seat is held (`pass`, `passExpiresAt`); overflow: the recording is offered instead " +
      "(`offer`, and `overflowToken` when first offered); closed: the event is over (`recordingUrl` when posted).",
  ),
);

export const OverflowOfferSchema = v.pipe(
  v.object({
    reason: v.pipe(
      v.picklist(OVERFLOW_REASONS),
      v.description(
        "mode: the room takes no new arrivals (overflow mode); max_wait: the estimated wait is longer than the " +
          "room's limit; max_queue: the line is full; invite_only: the room admits only listeners in its lanes " +
          "(an identity token from the deployer's login puts one there).",
      ),
    ),
    canKeepPlace: v.pipe(
      v.boolean(),
      v.description("May the listener wait in line instead? Then send `?keep=1` with `join` or `status`."),
    ),
  }),
  v.description("Why the recording is offered, and whether a place in line may be kept or taken instead."),
);

/**
 * The status JSON: one shape for every state (`state` says which), so that
 * an app reads the same fields whatever happens. Fields that only some
 * states carry are optional or null, as their descriptions say.
 */
const connectExpiry = (what: string) =>
  v.pipe(
    isoTime,
    v.description(
      `${what} is accepted for a new connection until then; a connection once admitted is kept while the origin ` +
        "serves it, without heartbeats. Poll status (or heartbeat) before then for a fresh one if not yet connected.",
    ),
  );

const IcecastConnectSchema = v.object({
  kind: v.pipe(v.literal("icecast"), v.description("An Icecast mount (origin: icecast-hook).")),
  url: v.pipe(v.string(), v.url(), v.description("The stream's URL on the origin, the pass in its query: play it.")),
  expiresAt: connectExpiry("The pass in `url`"),
});

const JanusConnectSchema = v.object({
  kind: v.pipe(v.literal("janus"), v.description("A Janus WebRTC Server (origin: janus).")),
  url: v.pipe(v.string(), v.url(), v.description("The Janus API (HTTP transport) to create a session at.")),
  token: v.pipe(
    v.string(),
    v.description("A token Janus holds for this seat only: send it as `token` in every Janus API request."),
  ),
  plugin: v.pipe(
    v.picklist(["janus.plugin.audiobridge", "janus.plugin.streaming"]),
    v.description("The plugin to attach to (the token allows no other)."),
  ),
  room: v.pipe(
    v.union([v.number(), v.string()]),
    v.description("The AudioBridge room to join muted, or the Streaming mountpoint to watch."),
  ),
  expiresAt: connectExpiry("The token"),
});

const LiveKitConnectSchema = v.object({
  kind: v.pipe(v.literal("livekit"), v.description("A LiveKit server (origin: livekit).")),
  url: v.pipe(v.string(), v.url(), v.description("LiveKit's URL (wss://) for the client SDK's connect.")),
  token: v.pipe(v.string(), v.description("A subscribe-only LiveKit access token for this seat and room.")),
  room: v.pipe(v.string(), v.description("The LiveKit room the token is for.")),
  identity: v.pipe(v.string(), v.description("The participant identity (the seat): LiveKit's webhooks name it.")),
  expiresAt: connectExpiry("The token"),
});

export const ConnectSchema = v.pipe(
  v.variant("kind", [IcecastConnectSchema, JanusConnectSchema, LiveKitConnectSchema]),
  v.description(
    "When admitted to a room whose origin enforces the seat itself (`origin` icecast-hook, janus or livekit): " +
      "where and with what to connect directly instead of through Spillway. Absent in a proxied room, and " +
      "while the origin cannot take the listener yet (poll again).",
  ),
);

export const StatusSchema = v.pipe(
  v.object({
    room: RoomIdSchema,
    state: ListenerStateSchema,
    position: v.pipe(
      v.nullable(wholeNumber(1)),
      v.description("The 1-based place among those still waiting; null unless `queued`."),
    ),
    ahead: v.pipe(
      v.nullable(wholeNumber(0)),
      v.description("How many wait ahead (`position` − 1); null unless `queued`."),
    ),
    etaSeconds: v.pipe(
      v.nullable(wholeNumber(0)),
      v.description(
        "queued: the estimated wait (the position over the measured flow of the last minute, or the configured " +
          "rate while seats are free), null when nothing says when the line will move; prequeue: seconds until " +
          "`startsAt`; overflow: the estimate of a wait in line, when known; otherwise null.",
      ),
    ),
    pollAfterSeconds: v.pipe(
      wholeNumber(1),
      v.description(
        "When to ask again. Waiting answers (prequeue, queued, overflow) carry the same value in `Retry-After`; " +
          "an admitted listener heartbeats this often (a third of the pass lifetime).",
      ),
    ),
    ticket: v.optional(
      v.pipe(JwtSchema, v.description("The queue ticket (after `join`): keep it and send it with `status`.")),
    ),
    pass: v.optional(
      v.pipe(JwtSchema, v.description("The admission pass, when admitted: send it to the room and to `heartbeat`.")),
    ),
    passExpiresAt: v.optional(v.pipe(isoTime, v.description("When the pass lapses, when admitted."))),
    connect: v.optional(ConnectSchema),
    lane: v.optional(
      v.pipe(
        v.nullable(v.string()),
        v.description(
          "The listener's lane, when its identity token put it in one (`stage`, `priority`... as the room names " +
            "them); absent in the general line; null when the room no longer has that lane.",
        ),
      ),
    ),
    startsAt: v.pipe(v.nullable(isoTime), v.description("When the room starts, if a start time is set.")),
    recordingUrl: v.pipe(
      v.nullable(v.pipe(v.string(), v.url())),
      v.description("Where the recording is or will be, once posted."),
    ),
    offer: v.optional(OverflowOfferSchema),
    overflowToken: v.optional(
      v.pipe(
        JwtSchema,
        v.description(
          "With `overflow`, when first offered: a token of its own kind; poll `status` with it for the recording.",
        ),
      ),
    ),
  }),
  v.description("Where a listener stands. The same shape in every state; `state` says which fields mean something."),
);

export const LeaveAnswerSchema = v.pipe(
  v.object({
    room: RoomIdSchema,
    left: v.literal(true),
    released: v.pipe(
      v.boolean(),
      v.description("Did this call give the seat back (false: it was already given back or had lapsed)?"),
    ),
  }),
  v.description("The seat is given back; it is reused five seconds later, once every edge refuses the old pass."),
);

export const JwksSchema = v.pipe(
  v.object({
    keys: v.array(
      v.object({
        kty: v.literal("EC"),
        crv: v.literal("P-256"),
        x: v.string(),
        y: v.string(),
        kid: v.string(),
        alg: v.literal("ES256"),
        use: v.literal("sig"),
      }),
    ),
  }),
  v.description("The public keys that verify admission passes (ES256, matched by `kid`)."),
);

// ---------------------------------------------------------------------------
// Errors

export const ErrorCodeSchema = v.picklist(ERROR_CODES);

/** A proof-of-work challenge (under-attack mode); see pow.ts for how it is solved. */
export const ChallengeOfferSchema = v.pipe(
  v.object({
    token: v.pipe(v.string(), v.description("The signed challenge: send it back as the `Spillway-Challenge` header.")),
    id: v.pipe(v.string(), v.description("Hash the UTF-8 text `<id>:<nonce>`.")),
    bits: v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.maxValue(MAX_CHALLENGE_BITS),
      v.description("Leading zero bits the SHA-256 of `<id>:<nonce>` must have."),
    ),
    algorithm: v.literal(POW_ALGORITHM),
    expiresAt: v.pipe(isoTime, v.description("After this the challenge is refused; ask for a new one.")),
  }),
  v.description(
    "Find a decimal nonce such that SHA-256(`<id>:<nonce>`) starts with `bits` zero bits, then join with " +
      "`Spillway-Challenge: <token>` and `Spillway-Solution: <nonce>`. A solved challenge works once.",
  ),
);

export const FieldErrorSchema = v.object({
  field: v.pipe(v.string(), v.description("The field's dotted path ('' for the body itself).")),
  message: v.string(),
});

export const ErrorBodySchema = v.pipe(
  v.object({
    error: v.object({
      code: ErrorCodeSchema,
      message: v.pipe(v.string(), v.description("For people; generic on purpose (details go to Spillway's logs).")),
      fields: v.optional(v.pipe(v.array(FieldErrorSchema), v.description("With `invalid_body`: what is wrong."))),
      challenge: v.optional(
        v.pipe(ChallengeOfferSchema, v.description("With `challenge_required`: the challenge to solve.")),
      ),
      reason: v.optional(
        v.pipe(
          v.picklist(["left", "moved", "lapsed"]),
          v.description(
            "With `seat_ended`, when known: `left` (given back from any device, or released by ops or the origin), " +
              "`moved` (the ticket claimed the seat on a newer device), `lapsed` (not renewed in time).",
          ),
        ),
      ),
      identity: v.optional(
        v.pipe(
          v.picklist(IDENTITY_REFUSALS),
          v.description(
            "With `identity_refused`: why the identity token was refused (docs/lanes.md). Nothing was taken; " +
              "joining without the token takes a place in the general line.",
          ),
        ),
      ),
    }),
  }),
  v.description("Every error: a 4xx for a client's mistake, a 5xx only for Spillway's own faults."),
);

// ---------------------------------------------------------------------------
// Admin API

export const RoomListSchema = v.object({
  rooms: v.array(
    v.object({
      room: RoomIdSchema,
      createdAt: v.pipe(isoTime, v.description("When the room was first used.")),
    }),
  ),
});

/** The PATCH body's fields, each required: the config a room runs with. */
type Unwrapped<E> = { [K in keyof E]: E[K] extends v.OptionalSchema<infer W, undefined> ? W : never };

function requiredEntries<E extends Record<string, v.OptionalSchema<v.GenericSchema, undefined>>>(
  entries: E,
): Unwrapped<E> {
  const out: Record<string, v.GenericSchema> = {};
  for (const [key, schema] of Object.entries(entries)) out[key] = schema.wrapped;
  return out as Unwrapped<E>;
}

/**
 * The config in force. Built from the PATCH schema's own fields (config.ts),
 * so a field added there shows up here with the same rules.
 */
export const RoomConfigSchema = v.pipe(
  v.object(requiredEntries(RoomConfigPatchSchema.entries)),
  v.description("The config in force: the deployment's defaults overlaid with the room's overrides."),
);

export const ConfigStateSchema = v.pipe(
  v.object({
    room: RoomIdSchema,
    config: RoomConfigSchema,
    overrides: RoomConfigPatchSchema,
    shuffleSeed: v.pipe(
      v.nullable(v.number()),
      v.description("The seed of the prequeue's random order at the start, once drawn."),
    ),
  }),
  v.description("The config in force (`config`), the fields set for this room (`overrides`), the shuffle seed."),
);

export const LaneStatsSchema = v.pipe(
  v.object({
    lane: v.pipe(
      v.string(),
      v.description(
        "`general` (everyone no identity token put in a lane), or the lane's name as the room's `lanes` give it.",
      ),
    ),
    live: v.pipe(wholeNumber(0), v.description("Its listeners holding a seat now (as of each shard's last report).")),
    queued: v.pipe(
      wholeNumber(0),
      v.description("Its listeners waiting for their turn (the general line's include the prequeue)."),
    ),
    admittedTotal: v.pipe(wholeNumber(0), v.description("Seats granted to its listeners.")),
    waitP50Seconds: v.pipe(
      v.nullable(v.number()),
      v.description("Arrival to seat for half of its admitted listeners (an upper bound); null before the first."),
    ),
    waitP90Seconds: v.pipe(
      v.nullable(v.number()),
      v.description(
        "Arrival to seat for nine in ten of its admitted listeners (an upper bound); null before the first.",
      ),
    ),
    reserved: v.pipe(wholeNumber(0), v.description("Seats reserved for it, taken from capacity (general: 0).")),
    cap: v.pipe(v.nullable(wholeNumber(1)), v.description("The most seats it may hold; null: no cap of its own.")),
    strict: v.pipe(
      v.nullable(v.boolean()),
      v.description("Strict priority over the lines after it (true) or an admission share (false); null for general."),
    ),
    share: v.pipe(
      v.nullable(v.number()),
      v.description("Its part of the free seats while both lines wait (0.01–0.99); null: strict priority, or general."),
    ),
    admissionsPerMinute: v.pipe(
      v.nullable(v.number()),
      v.description(
        "Its admissions over the last minute; null for general (the room's `admissionsPerMinute` counts every line).",
      ),
    ),
  }),
  v.description("One line of the room: the general one, or a lane (docs/lanes.md)."),
);

export const RoomStatsSchema = v.object({
  room: RoomIdSchema,
  active: v.pipe(wholeNumber(0), v.description("Admitted listeners holding a seat now.")),
  capacity: v.pipe(wholeNumber(0), v.description("As configured.")),
  admitPerMinute: v.pipe(wholeNumber(0), v.description("As configured.")),
  effectiveCapacity: v.pipe(v.number(), v.description("In force: lower while the origin struggles.")),
  effectiveAdmitPerMinute: v.pipe(v.number(), v.description("In force: lower while the origin struggles.")),
  origin: v.pipe(
    v.object({ factor: v.number(), distress: v.number() }),
    v.description("The origin's health: the share of the configured limits in force, and distress reports so far."),
  ),
  mode: v.picklist(MODES),
  queued: v.pipe(wholeNumber(0), v.description("Waiting for their turn (0 before the start; see prequeued).")),
  prequeued: v.pipe(wholeNumber(0), v.description("Waiting for the start.")),
  overflowed: v.pipe(wholeNumber(0), v.description("Arrivals offered the recording instead of a place.")),
  uniqueListeners: v.pipe(wholeNumber(0), v.description("Listeners who took a place.")),
  waitP50Seconds: v.pipe(v.nullable(v.number()), v.description("Arrival to seat for half of those admitted.")),
  waitP90Seconds: v.pipe(v.nullable(v.number()), v.description("Arrival to seat for nine in ten of those admitted.")),
  called: v.pipe(wholeNumber(0), v.description("Called with a seat reserved, not claimed yet.")),
  joined: wholeNumber(0),
  admittedTotal: v.pipe(wholeNumber(0), v.description("Seats granted.")),
  peakConcurrent: v.pipe(wholeNumber(0), v.description("Most listeners live at once.")),
  peakAt: v.pipe(v.nullable(isoTime), v.description("When peakConcurrent was reached.")),
  left: wholeNumber(0),
  leaving: v.pipe(
    wholeNumber(0),
    v.description("Seats given back or moved whose revocation is not yet confirmed (counted in active)."),
  ),
  revocationsListed: v.pipe(wholeNumber(0), v.description("Revocations in the room's list now.")),
  expired: wholeNumber(0),
  abandoned: v.pipe(wholeNumber(0), v.description("Calls nobody claimed.")),
  admissionsPerMinute: v.pipe(v.number(), v.description("Over the last minute.")),
  arrivalsPerMinute: v.pipe(v.number(), v.description("Over the last minute.")),
  shards: wholeNumber(1),
  activeShards: wholeNumber(0),
  allowance: v.pipe(wholeNumber(0), v.description("Seats the coordinator has handed to shards.")),
  shardIndices: v.pipe(v.array(wholeNumber(0)), v.description("Shards that have ever synced.")),
  doCalls: v.pipe(v.record(v.string(), v.number()), v.description("Durable Object calls by kind.")),
  originAdmin: v.optional(
    v.pipe(
      v.object({
        failures: v.pipe(wholeNumber(0), v.description("Admin API calls that failed since the shards started.")),
        kills: v.pipe(
          wholeNumber(0),
          v.description("Connections of ended seats dropped (killclient, Janus sessions, RemoveParticipant)."),
        ),
        lastFailure: v.pipe(
          v.nullable(v.object({ kind: v.string(), message: v.string(), at: isoTime })),
          v.description(
            "The latest failure: unreachable, timeout, unauthorized, not_configured, webhook_refused, " +
              "janus_error, teardown (AudioBridge still lists an ended seat's participant; the seat stays taken), " +
              "error…, and why (never a secret).",
          ),
        ),
      }),
      v.description(
        "Direct mode (origin icecast-hook, janus or livekit): the origin's own API as the shards used it, and " +
          "webhooks refused. While it fails, seats " +
          "are kept, never freed early. Absent when no seat has used it since the shards started.",
      ),
    ),
  ),
  lanes: v.pipe(
    v.array(LaneStatsSchema),
    v.description(
      "Per line: `general` first, then each lane in rank order (the first outranks the rest). A room without lanes " +
        "has `general` only, with the room's numbers.",
    ),
  ),
  challenge: v.pipe(
    v.object({
      bits: v.pipe(wholeNumber(0), v.description("The proof of work in force (0: under-attack mode off).")),
      issued: v.pipe(wholeNumber(0), v.description("Challenges handed out (edges report these in batches).")),
      solved: v.pipe(wholeNumber(0), v.description("Arrivals that took a place with a solved challenge.")),
      failed: v.pipe(wholeNumber(0), v.description("Solutions refused: wrong, expired, forged or used before.")),
      limited: v.pipe(wholeNumber(0), v.description("Joins refused by the per-client limit.")),
      unchallenged: v.pipe(wholeNumber(0), v.description("Arrivals that took a place with no challenge asked.")),
    }),
    v.description(
      "Under-attack mode: a crowd solves the challenges it is given; an attack leaves most unsolved, or forges them.",
    ),
  ),
});

export const SampleSchema = v.object({
  at: isoTime,
  live: v.number(),
  capacity: v.number(),
  effectiveCapacity: v.number(),
  queued: v.number(),
  overflowed: v.pipe(v.number(), v.description("Arrivals offered the recording so far (a running total).")),
  admissionsPerMinute: v.number(),
  arrivalsPerMinute: v.number(),
  originFactor: v.number(),
  lanes: v.optional(
    v.pipe(
      v.record(v.string(), v.object({ live: v.number(), queued: v.number() })),
      v.description("Per lane by name (not `general`): live and queued then. Absent when the room had no lanes."),
    ),
  ),
});

export const RoomHistorySchema = v.pipe(
  v.object({ room: RoomIdSchema, everySeconds: v.number(), samples: v.array(SampleSchema) }),
  v.description("A sample every `everySeconds` over the last hour, oldest first."),
);

export const AuditEntrySchema = v.object({
  at: isoTime,
  by: v.pipe(v.string(), v.description("The admin token's name.")),
  changes: v.pipe(
    v.record(v.string(), v.object({ from: v.unknown(), to: v.unknown() })),
    v.description("Each field changed: old → new."),
  ),
});

export const AuditTrailSchema = v.pipe(
  v.object({ room: RoomIdSchema, entries: v.array(AuditEntrySchema) }),
  v.description("Config changes, oldest first."),
);

export const ReleaseRequestSchema = v.object({
  pass: v.pipe(JwtSchema, v.description("The listener's pass.")),
});

export const ReleaseAnswerSchema = v.object({
  room: RoomIdSchema,
  released: v.boolean(),
  reason: v.optional(
    v.pipe(v.literal("pass_expired"), v.description("The pass had expired: its seat lapses on its own.")),
  ),
});

// ---------------------------------------------------------------------------
// Compile-time links to types defined elsewhere. StatusBody is inferred from
// StatusSchema (status.ts); these types live in modules of their own, so
// here tsc checks that each schema and its type describe the same fields.

/** Both ways assignable: the same fields with compatible types. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

type _ErrorBodyMatches = Assert<Same<v.InferOutput<typeof ErrorBodySchema>, ErrorBody>>;
type _FieldErrorMatches = Assert<Same<v.InferOutput<typeof FieldErrorSchema>, FieldError>>;

// ---------------------------------------------------------------------------
// Response shapes the Durable Objects build: inferred from the schemas above,
// so the shape an object returns and the one the contract documents are one.

/** The rooms of the directory. */
export type RoomList = v.InferOutput<typeof RoomListSchema>;
/** One room of the directory. */
export type RoomEntry = RoomList["rooms"][number];
/** The config in force, the room's overrides and the shuffle seed. */
export type ConfigState = v.InferOutput<typeof ConfigStateSchema>;
/** The room's numbers (admin stats). */
export type RoomStats = v.InferOutput<typeof RoomStatsSchema>;
/** One line's numbers (admin stats' `lanes`). */
export type LaneStats = v.InferOutput<typeof LaneStatsSchema>;
/** The room's numbers at one moment (the dashboard's charts). */
export type Sample = v.InferOutput<typeof SampleSchema>;
/** One config change: who (the admin token's name), when, each field from → to. */
export type AuditEntry = v.InferOutput<typeof AuditEntrySchema>;
/** The latest config changes of a room, oldest first. */
export type AuditTrail = v.InferOutput<typeof AuditTrailSchema>;
/** Whether a seat was released by ops. */
export type ReleaseAnswer = v.InferOutput<typeof ReleaseAnswerSchema>;

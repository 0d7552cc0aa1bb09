/**
 * A stand-in for the Worker's admin API (node:http on 127.0.0.1), serving
 * the shapes the `spillway` CLI reads: rooms, config (validated with the
 * Worker's own parsePatch, so field errors read as they would), stats,
 * audit and release. One read-write and one read-only token, like
 * ADMIN_TOKENS. Every request is recorded for the tests to check.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  defaultsFromVars,
  effectiveConfig,
  parsePatch,
  type RoomConfig,
  type RoomConfigPatch,
} from "../../src/policy/config.ts";
import type { RoomStats } from "../../src/contract/schemas.ts";

export const WRITE_TOKEN = "writer-token-for-tests";
export const READ_TOKEN = "reader-token-for-tests";

/** The Worker's own room defaults (no vars set). */
export const DEFAULTS: RoomConfig = defaultsFromVars({});

/** Typed as the Worker's RoomStats, so a change there shows here first. */
export function sampleStats(room = "demo"): RoomStats {
  return {
    room,
    active: 812,
    capacity: 1000,
    admitPerMinute: 600,
    effectiveCapacity: 1000,
    effectiveAdmitPerMinute: 600,
    origin: { factor: 1, distress: 0 },
    mode: "open",
    queued: 1204,
    prequeued: 0,
    overflowed: 0,
    uniqueListeners: 2400,
    waitP50Seconds: 40,
    waitP90Seconds: 90,
    called: 3,
    joined: 2500,
    admittedTotal: 1300,
    peakConcurrent: 905,
    peakAt: "2026-11-22T18:52:10.000Z",
    left: 400,
    leaving: 0,
    revocationsListed: 0,
    expired: 88,
    abandoned: 5,
    admissionsPerMinute: 312.5,
    arrivalsPerMinute: 410,
    shards: 4,
    activeShards: 4,
    allowance: 830,
    shardIndices: [0, 1, 2, 3],
    doCalls: { sync: 120, admin: 4 },
    lanes: [
      {
        lane: "general",
        live: 800,
        queued: 1200,
        admittedTotal: 1280,
        waitP50Seconds: 45,
        waitP90Seconds: 90,
        reserved: 0,
        cap: null,
        strict: null,
        share: null,
        admissionsPerMinute: null,
      },
      {
        lane: "stage",
        live: 12,
        queued: 4,
        admittedTotal: 20,
        waitP50Seconds: 1,
        waitP90Seconds: 2,
        reserved: 20,
        cap: 40,
        strict: true,
        share: null,
        admissionsPerMinute: 6,
      },
    ],
    challenge: { bits: 0, issued: 0, solved: 0, failed: 0, limited: 0, unchallenged: 2500 },
  };
}

export interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export interface AuditEntryJson {
  at: string;
  by: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

export interface StandIn {
  url: string;
  requests: Recorded[];
  /** What GET .../stats answers; tests change it between refreshes. */
  stats: Map<string, RoomStats>;
  audit: Map<string, AuditEntryJson[]>;
  /** Answer a request differently (return true when answered). */
  override: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
  close(): Promise<void>;
}

const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const CREATED = "2026-11-22T17:00:00.000Z";

export async function startStandIn(): Promise<StandIn> {
  const overrides = new Map<string, RoomConfigPatch>([["demo", { capacity: 1000, shards: 4 }]]);
  const state: StandIn = {
    url: "",
    requests: [],
    stats: new Map([["demo", sampleStats()]]),
    audit: new Map<string, AuditEntryJson[]>([
      [
        "demo",
        [
          { at: "2026-11-22T17:05:00.000Z", by: "ops-bob", changes: { capacity: { from: 100, to: 1000 } } },
          {
            at: "2026-11-22T18:30:12.345Z",
            by: "admin",
            changes: { mode: { from: "hold", to: "open" }, recordingUrl: { from: null, to: "https://rec.example/1" } },
          },
        ],
      ],
    ]),
    override: null,
    close: async () => {},
  };

  const configState = (room: string) => {
    const set = overrides.get(room) ?? {};
    return { room, config: effectiveConfig(DEFAULTS, set), overrides: set, shuffleSeed: null };
  };

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", "http://stand-in");
    state.requests.push({
      method: req.method ?? "",
      path: url.pathname,
      authorization: req.headers.authorization,
      body,
    });
    if (state.override?.(req, res)) return;

    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (token !== WRITE_TOKEN && token !== READ_TOKEN)
      return fail(res, 401, "unauthorized", "An admin token is required.");
    if (req.method !== "GET" && token !== WRITE_TOKEN) {
      return fail(res, 403, "forbidden", "This admin token may read but not change anything.");
    }
    const path = url.pathname.replace(/^\/_spillway\/admin/, "");
    if (path === "/rooms" && req.method === "GET") {
      return json(res, 200, { rooms: [...overrides.keys()].sort().map((room) => ({ room, createdAt: CREATED })) });
    }
    const m = /^\/rooms\/([^/]+)(\/[a-z]+)?$/.exec(path);
    if (m === null) return fail(res, 404, "not_found", "There is nothing here.");
    const room = decodeURIComponent(m[1]!);
    if (!ROOM_ID.test(room)) return fail(res, 400, "bad_room", "Room ids are 1 to 64 characters.");
    const route = `${req.method} ${m[2] ?? ""}`;
    switch (route) {
      case "GET ":
        return json(res, 200, configState(room));
      case "PATCH ": {
        const parsed = parsePatch(body);
        if (!parsed.ok) return fail(res, 400, "invalid_body", "The request body is not valid.", parsed.errors);
        overrides.set(room, { ...overrides.get(room), ...parsed.patch });
        return json(res, 200, configState(room));
      }
      case "GET /stats":
        return json(res, 200, state.stats.get(room) ?? sampleStats(room));
      case "GET /audit":
        return json(res, 200, { room, entries: state.audit.get(room) ?? [] });
      case "POST /release": {
        const pass = (body as { pass?: unknown } | null)?.pass;
        if (typeof pass !== "string") {
          return fail(res, 400, "invalid_body", "The request body is not valid.", [
            { field: "pass", message: "must be the listener's pass (a JWT)" },
          ]);
        }
        const sid = claimsOf(pass).sid;
        if (sid === "expired-seat") return json(res, 200, { room, released: false, reason: "pass_expired" });
        return json(res, 200, { room, released: sid !== "gone-seat" });
      }
      default:
        return fail(res, 404, "not_found", "There is nothing here.");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8" }).end(JSON.stringify(body));
}

function fail(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  fields?: { field: string; message: string }[],
): void {
  json(res, status, { error: { code, message, ...(fields === undefined ? {} : { fields }) } });
}

/** An unsigned pass-shaped JWT (the stand-in reads its claims; the CLI never verifies them). */
export function fakePass(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "ES256", typ: "spillway-pass+jwt" })}.${part(claims)}.${part("signature")}`;
}

function claimsOf(jwt: string): { sid?: string } {
  try {
    return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { sid?: string };
  } catch {
    return {};
  }
}

/** A port nothing listens on (bound, then released), for "connection refused". */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Output captured as text, a terminal or not. */
export class Capture {
  readonly isTTY: boolean;
  /** Mutable: a terminal can be resized. */
  columns: number;
  #text = "";

  constructor(isTTY = false, columns = 100) {
    this.isTTY = isTTY;
    this.columns = columns;
  }

  write(text: string): boolean {
    this.#text += text;
    return true;
  }

  get text(): string {
    return this.#text;
  }
}

/**
 * One stand-in for a test file: started before its tests, closed after them,
 * its override cleared and `reset` applied after each test. Read it with the
 * function returned (it exists once the file's tests run).
 */
export function useStandIn(reset: (standIn: StandIn) => void = () => undefined): () => StandIn {
  let standIn: StandIn | undefined;
  beforeAll(async () => {
    standIn = await startStandIn();
  });
  afterAll(async () => {
    await standIn?.close();
  });
  afterEach(() => {
    if (standIn === undefined) return;
    standIn.override = null;
    reset(standIn);
  });
  return () => {
    if (standIn === undefined) throw new Error("the stand-in is not running");
    return standIn;
  };
}

/**
 * Direct mode with LiveKit, at a shard: the seats whose listener joins a
 * LiveKit room directly with an access token Spillway mints per seat
 * (src/origins/livekit.ts).
 *
 * - A seat's token is subscribe-only, for the room's LiveKit room, with the
 *   seat as its identity (`<room>:<shard>:<seat id>`, so a webhook names
 *   the seat), and lives half a pass lifetime: a listener that has not
 *   joined by then gets a new one with its next heartbeat.
 * - LiveKit cannot be told to refuse a token, and keeps a participant
 *   connected past the token's expiry. So when a seat ends, the participant
 *   is removed (RoomService RemoveParticipant), and the seat is let go only
 *   once it is removed (or was never there) and every token minted for the
 *   seat has expired (minted while it was live, so by `leftAt` + the token
 *   lifetime): a token that outlived its seat cannot join a room the seat
 *   was handed on in.
 * - Who is connected comes from LiveKit's webhooks (participant joined or
 *   left; src/edge/livekit-hook.ts) and, once a round, ListParticipants: a
 *   live seat listed is renewed with no heartbeat; one that had joined and
 *   is no longer there ends as a leave.
 */
import { listParticipants, mintListenerToken, removeParticipant } from "../origins/livekit.ts";
import type { LiveKitKey } from "../origins/livekit.ts";
import { timingsFromVars } from "../policy/config.ts";
import { holdRoundMs } from "../policy/hold-round.ts";
import type { Lease } from "../policy/lease.ts";
import { CLOCK_SKEW_MS, passTrustMs } from "../policy/pass-trust.ts";
import { OriginChecks, type OriginChecksOptions, type OriginLedger } from "./origin-checks.ts";

/** The Worker's optional secrets for direct mode with LiveKit (wrangler.toml). */
export interface LiveKitSecrets {
  LIVEKIT_API_KEY?: string;
  LIVEKIT_API_SECRET?: string;
}

export const LIVEKIT_PREFIX = "livekit:";

/** A seat's LiveKit identity: the room, the shard and the seat id (room ids never hold ':'). */
export function liveKitIdentity(room: string, shard: number, sid: string): string {
  return `${room}:${shard}:${sid}`;
}

/** The seat an identity names, or null when it is not one of Spillway's. */
export function seatOfIdentity(identity: string): { room: string; shard: number; sid: string } | null {
  const m = /^([A-Za-z0-9_-]{1,64}):(\d{1,4}):([A-Za-z0-9-]{1,64})$/u.exec(identity);
  return m === null ? null : { room: m[1]!, shard: Number(m[2]), sid: m[3]! };
}

export interface LiveKitSeatsOptions extends OriginChecksOptions {
  /** LiveKit's URL and API key pair, or what is missing when the deployment is not set up for LiveKit. */
  server: (LiveKitKey & { url: string }) | { missing: string };
  /** The room's name at LiveKit. */
  liveKitRoom: string;
  /** How long a listener token may be used to join (ms). */
  tokenTtlMs: number;
}

/** The seats of `room` that LiveKit serves, with the deployment's settings (vars and secrets). */
export function liveKitSeatsFor(
  env: { LIVEKIT_URL?: string; PASS_TTL_SECONDS?: string } & LiveKitSecrets,
  room: string,
  liveKitRoom: string,
  now: () => number,
): LiveKitSeats {
  const url = (env.LIVEKIT_URL ?? "").trim();
  const apiKey = env.LIVEKIT_API_KEY ?? "";
  const apiSecret = env.LIVEKIT_API_SECRET ?? "";
  const passTtlMs = timingsFromVars(env).passTtlMs;
  return new LiveKitSeats({
    room,
    liveKitRoom,
    server:
      url === "" || apiKey === "" || apiSecret === ""
        ? { missing: "LIVEKIT_URL or the secrets LIVEKIT_API_KEY/LIVEKIT_API_SECRET are not set" }
        : { url, apiKey, apiSecret },
    tokenTtlMs: passTrustMs(passTtlMs),
    roundMs: holdRoundMs(passTtlMs),
    now,
  });
}

export type Minted = { ok: true; token: string; expiresAt: number } | { ok: false; kind: string; message: string };

export class LiveKitSeats extends OriginChecks {
  protected readonly label = "livekit";
  readonly prefix = LIVEKIT_PREFIX;
  readonly #o: LiveKitSeatsOptions;
  /** Identities LiveKit said (or listed) were connected. */
  readonly #seen = new Set<string>();

  constructor(options: LiveKitSeatsOptions) {
    super(options);
    this.#o = options;
  }

  /** The room's name at LiveKit. */
  get liveKitRoom(): string {
    return this.#o.liveKitRoom;
  }

  /** A listener token for a live seat, expiring within the token lifetime and never after the lease. */
  async mint(identity: string, lease: Lease): Promise<Minted> {
    const server = this.#o.server;
    if ("missing" in server) {
      this.failed("not_configured", server.missing);
      return { ok: false, kind: "not_configured", message: server.missing };
    }
    const now = this.options.now();
    const ttlSeconds = Math.floor(Math.min(this.#o.tokenTtlMs, lease.expiresAt - now) / 1000);
    if (ttlSeconds <= 0) return { ok: false, kind: "lapsed", message: "the seat's lease is about to end" };
    const token = await mintListenerToken({ ...server, room: this.#o.liveKitRoom, identity, ttlSeconds, now });
    return { ok: true, token, expiresAt: Math.floor(now / 1000) * 1000 + ttlSeconds * 1000 };
  }

  /** LiveKit says the participant `identity` joined (webhook). */
  joined(identity: string): void {
    this.#seen.add(identity);
  }

  /** Has this identity been seen connected? */
  wasSeen(identity: string): boolean {
    return this.#seen.has(identity);
  }

  protected async check(ledger: OriginLedger): Promise<void> {
    const held = ledger.leases();
    if (held.length === 0) {
      this.#seen.clear();
      return;
    }
    const server = this.#o.server;
    if ("missing" in server) {
      this.failed("not_configured", server.missing);
      this.keepLive(ledger, held);
      return;
    }
    const call = { ...server, room: this.#o.liveKitRoom, now: this.options.now() };
    for (const l of held) {
      if (l.leftAt === null) continue;
      const identity = identityOf(l);
      const out = await removeParticipant({ ...call, identity });
      if (out.kind === "removed") this.health.kills += 1;
      else if (out.kind !== "not_found") {
        // LiveKit is down or refuses the key: the rest would wait as long; the next run tries again.
        this.failed(out.kind, out.detail);
        break;
      }
      // Removed or never there; let go once no token of the seat can join any more.
      if (this.options.now() >= l.leftAt + this.#o.tokenTtlMs + CLOCK_SKEW_MS) {
        this.#seen.delete(identity);
        ledger.gone(l.sid, l.originClient!);
      }
    }
    if (!this.listDue()) return;
    const listed = await listParticipants(call);
    let present: Set<string>;
    if (listed.kind === "listed") present = new Set(listed.participants.map((p) => p.identity));
    // No such room at LiveKit: nobody is connected to it.
    else if (listed.kind === "not_found") present = new Set();
    else {
      this.failed(listed.kind, listed.detail);
      this.keepLive(ledger, ledger.leases());
      return;
    }
    this.judgeListed(ledger, present, this.#seen);
  }
}

/** The LiveKit identity a lease holds. */
function identityOf(lease: Lease): string {
  return lease.originClient!.slice(LIVEKIT_PREFIX.length);
}

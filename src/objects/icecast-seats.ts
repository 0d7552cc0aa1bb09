/**
 * Direct mode with Icecast, at a shard: the seats whose listener Icecast
 * serves itself (admitted through its URL authentication, src/edge/icecast-hook.ts).
 *
 * - A seat that has ended (left, released, moved, lapsed) while Icecast may
 *   still serve its connection is dropped with `killclient`; the ledger keeps
 *   the seat taken until Icecast says the connection is gone: its
 *   `listener_remove`, a later kill answering "not found", or a listing
 *   without it (lease.ts `mayLetGo`). A killed connection stays listed until
 *   Icecast next writes to it, so a successful kill alone does not free the
 *   seat: Icecast's own count never exceeds the capacity.
 * - Once a round (the held connections' round, seat-tie.ts), `listclients`
 *   for the room's mount: a live seat whose connection is listed is renewed
 *   (no heartbeat needed); one not listed has gone and ends as a leave.
 * - When the admin API cannot be reached (or refuses the credentials), the
 *   live seats are renewed and the ended ones stay taken: never is a seat
 *   freed early. The failure is counted and logged.
 *
 * The run, the rounds and the health are origin-checks.ts's.
 *
 * A connection admitted moments ago may not be listed yet (Icecast adds it
 * once the hook's answer is in): it is judged only from LIST_GRACE_MS on.
 */
import { type IcecastAdmin, killClient, listClients } from "../origins/icecast-admin.ts";
import { icecastMount } from "../origins/icecast.ts";
import { timingsFromVars } from "../policy/config.ts";
import { holdRoundMs } from "../policy/hold-round.ts";
import { OriginChecks, type OriginChecksOptions, type OriginLedger } from "./origin-checks.ts";

export type { OriginHealth, OriginLedger } from "./origin-checks.ts";

/**
 * The Worker's optional secrets for direct mode with Icecast (wrangler.toml):
 * the admin API's credentials, and the key Icecast's hook URL carries.
 */
export interface IcecastSecrets {
  ICECAST_ADMIN_USER?: string;
  ICECAST_ADMIN_PASSWORD?: string;
  ICECAST_HOOK_KEY?: string;
}

/** A connection admitted less than this long before a listing is not judged by it. */
export const LIST_GRACE_MS = 5_000;

export interface IcecastSeatsOptions extends OriginChecksOptions {
  /** Icecast's base URL and admin credentials; null when the deployment has none. */
  admin: IcecastAdmin | null;
}

/** The seats of `room` that Icecast serves, with the deployment's settings (vars and secrets). */
export function icecastSeatsFor(
  env: { ORIGIN_URL?: string; PASS_TTL_SECONDS?: string } & IcecastSecrets,
  room: string,
  now: () => number,
): IcecastSeats {
  const base = (env.ORIGIN_URL ?? "").trim();
  const user = env.ICECAST_ADMIN_USER ?? "";
  const password = env.ICECAST_ADMIN_PASSWORD ?? "";
  return new IcecastSeats({
    room,
    admin: base === "" || user === "" || password === "" ? null : { url: base, user, password },
    roundMs: holdRoundMs(timingsFromVars(env).passTtlMs),
    now,
  });
}

export class IcecastSeats extends OriginChecks {
  protected readonly label = "icecast admin";
  readonly prefix = "";
  readonly #admin: IcecastAdmin | null;
  readonly #mount: string;
  /** When each connection was admitted (memory only: after a restart, all are old). */
  readonly #admittedAt = new Map<string, number>();

  constructor(options: IcecastSeatsOptions) {
    super(options);
    this.#admin = options.admin;
    this.#mount = icecastMount(options.room);
  }

  /** A connection was admitted on a seat now. */
  admitted(client: string): void {
    this.#admittedAt.set(client, this.options.now());
  }

  protected async check(ledger: OriginLedger): Promise<void> {
    const held = ledger.leases();
    if (held.length === 0) {
      this.#admittedAt.clear();
      return;
    }
    const admin = this.#admin;
    if (admin === null) {
      this.failed("not_configured", "ICECAST_ADMIN_USER/ICECAST_ADMIN_PASSWORD or ORIGIN_URL are not set");
      this.keepLive(ledger, held);
      return;
    }
    for (const l of held) {
      if (l.leftAt === null) continue;
      const out = await killClient({ ...admin, mount: this.#mount, id: l.originClient! });
      // Killed: Icecast lets go of it at its next write to it, and says so (`listener_remove`), or the
      // next kill finds it gone. Only then is the seat let go.
      if (out.ok) this.health.kills += 1;
      else if (out.failure.kind === "not_found") {
        this.#admittedAt.delete(l.originClient!);
        ledger.gone(l.sid, l.originClient!);
      } else {
        // Icecast is down or refuses the credentials: the rest would wait as long; the next run tries again.
        this.failed(out.failure.kind, out.failure.message);
        break;
      }
    }
    if (!this.listDue()) return;
    const now = this.options.now();
    // Judged by this listing only if admitted long enough before it was asked for.
    const judged = new Set(
      ledger
        .leases()
        .filter((l) => now - (this.#admittedAt.get(l.originClient!) ?? 0) >= LIST_GRACE_MS)
        .map((l) => `${l.sid} ${l.originClient}`),
    );
    const listed = await listClients({ ...admin, mount: this.#mount });
    let ids: Set<string>;
    if (listed.ok) ids = new Set(listed.ids);
    // No source on the mount: Icecast serves nobody there.
    else if (listed.failure.kind === "not_found") ids = new Set();
    else {
      this.failed(listed.failure.kind, listed.failure.message);
      this.keepLive(ledger, ledger.leases());
      return;
    }
    this.health.lastListAt = now;
    for (const l of ledger.leases()) {
      const client = l.originClient!;
      if (ids.has(client)) {
        if (l.leftAt === null) ledger.renewListed(l.sid, client);
      } else if (judged.has(`${l.sid} ${client}`)) {
        this.#admittedAt.delete(client);
        ledger.gone(l.sid, client);
      }
    }
  }
}

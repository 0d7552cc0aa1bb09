/**
 * The `spillway` commands: each calls the admin API once (watch: once per
 * refresh) and prints either text for people or, with --json, the Worker's
 * JSON as it came.
 */
import type { AuditTrail, RoomList } from "../../contract/schemas.ts";
import { type AdminClient, ApiError, type ConfigAnswer } from "./admin-client.ts";
import { type Command, type ConfigValue, passClaims } from "./args.ts";
import { CliError } from "./errors.ts";
import { ago, table, utc, value } from "./format.ts";
import { type Output, watchRoom } from "./watch.ts";

export interface CommandIo {
  client: AdminClient;
  json: boolean;
  out: Output;
  err: Output;
  now: () => Date;
  signal?: AbortSignal;
}

export async function runCommand(command: Command, io: CommandIo): Promise<void> {
  const { client } = io;
  switch (command.name) {
    case "rooms": {
      const { data, raw } = await client.rooms();
      return print(io, raw, () => roomsText(data, io.now()));
    }
    case "config get": {
      const { data, raw } = await client.config(command.room);
      return print(io, raw, () => configText(data));
    }
    case "config set": {
      const { data, raw } = await client.patchConfig(command.room, command.patch).catch((err: unknown) => {
        throw refusedPatch(err, command.room, command.patch);
      });
      return print(io, raw, () => `${command.room}: set ${assignments(command.patch)}\n\n${configText(data)}`);
    }
    case "watch":
      return watchRoom({
        client,
        room: command.room,
        intervalMs: command.intervalSeconds * 1000,
        once: command.once,
        json: io.json,
        out: io.out,
        err: io.err,
        now: io.now,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
    case "audit": {
      const { data, raw } = await client.audit(command.room);
      return print(io, raw, () => auditText(data));
    }
    case "release": {
      const { data, raw } = await client.release(command.room, command.pass);
      return print(io, raw, () => releaseText(data.room, data.released, data.reason, command.pass));
    }
  }
}

/** --json: the Worker's answer, indented; otherwise the text. */
function print(io: CommandIo, raw: unknown, text: () => string): void {
  io.out.write(`${io.json ? JSON.stringify(raw, null, 2) : text()}\n`);
}

export function roomsText(list: RoomList, now: Date): string {
  if (list.rooms.length === 0) return "No rooms yet: a room is known once a listener or an admin call has used it.";
  const rows = list.rooms.map((r) => [r.room, utc(r.createdAt), ago(r.createdAt, now)]);
  return table(rows, ["ROOM", "FIRST SEEN (UTC)", ""]);
}

/**
 * Every field in force, and whether this room sets it or takes the Worker's
 * default. An object value (lanes, identity) would make the table as wide as
 * its JSON: the table says "(below)" and the object follows it, one entry a
 * line (each lane with its settings, in rank order), as JSON that `config
 * set` takes back inside the field's object.
 */
export function configText(state: ConfigAnswer): string {
  const fields = [...new Set([...Object.keys(state.config), ...Object.keys(state.overrides)])];
  const blocks: string[] = [];
  const rows = fields.map((field) => {
    const v: unknown = Object.hasOwn(state.config, field) ? state.config[field] : state.overrides[field];
    const entries = objectEntries(v);
    if (entries !== null) blocks.push(`${field}:\n${indent(table(entries.map(([k, e]) => [k, value(e)])))}`);
    return [field, entries === null ? value(v) : "(below)", Object.hasOwn(state.overrides, field) ? "room" : "default"];
  });
  const seed = state.shuffleSeed === null ? "none" : String(state.shuffleSeed);
  const head = `room ${state.room} (shuffle seed: ${seed})\n\n${table(rows, ["FIELD", "VALUE", "SET BY"])}`;
  return [head, ...blocks].join("\n\n");
}

/** A non-empty plain object's entries, in order (the lanes' order is their rank); null for anything else. */
function objectEntries(v: unknown): [string, unknown][] | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const entries = Object.entries(v);
  return entries.length === 0 ? null : entries;
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}

function assignments(patch: Record<string, ConfigValue>): string {
  return Object.entries(patch)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(", ");
}

/**
 * A 400 names the fields the Worker refused; say it with the values as the
 * operator typed them, and that a PATCH is all or nothing.
 */
function refusedPatch(err: unknown, room: string, patch: Record<string, ConfigValue>): unknown {
  if (!(err instanceof ApiError) || err.status !== 400 || err.fields.length === 0) return err;
  const lines = err.fields.map((f) => {
    const given = Object.hasOwn(patch, f.field) ? `${f.field}=${value(patch[f.field])}` : f.field || "(body)";
    return `  ${given}: ${f.message}`;
  });
  return new CliError([`the change to ${room} was refused, and nothing was changed:`, ...lines].join("\n"));
}

export function auditText(log: AuditTrail): string {
  if (log.entries.length === 0) return `No config changes recorded for ${log.room}.`;
  const rows: string[][] = [];
  for (const entry of log.entries) {
    const changes = Object.entries(entry.changes);
    if (changes.length === 0) rows.push([utc(entry.at), entry.by, "(no change)"]);
    changes.forEach(([field, { from, to }], i) => {
      rows.push([i === 0 ? utc(entry.at) : "", i === 0 ? entry.by : "", `${field}: ${value(from)} → ${value(to)}`]);
    });
  }
  return table(rows, ["AT (UTC)", "BY", "CHANGE"]);
}

const RELEASE_REASONS: Record<string, string> = {
  pass_expired: "the pass has expired, so its seat has lapsed already",
};

export function releaseText(room: string, released: boolean, reason: string | undefined, pass: string): string {
  const claims = passClaims(pass);
  const seat = claims?.sid === undefined ? "the seat" : `seat ${claims.sid}`;
  const listener = claims?.sub === undefined ? "" : ` (listener ${claims.sub})`;
  if (released) return `${room}: released ${seat}${listener}.`;
  const why = reason === undefined ? "it had ended already" : (RELEASE_REASONS[reason] ?? reason);
  return `${room}: nothing to release for ${seat}${listener}: ${why}.`;
}

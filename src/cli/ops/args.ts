/**
 * The `spillway` command line: what the operator typed, turned into one
 * command with checked arguments, or a UsageError (exit code 2) that says
 * what is wrong before anything is sent to the Worker.
 *
 * Options may come anywhere (`spillway --json rooms` and `spillway rooms
 * --json` are the same); a room id that starts with "-" goes after "--".
 */
import { parseArgs } from "node:util";
import { RoomConfigPatchSchema } from "../../policy/config.ts";
import { ROOM_ID } from "../../policy/room-id.ts";
import { UsageError } from "./errors.ts";

export const DEFAULT_URL = "http://127.0.0.1:8787";
export const URL_ENV = "SPILLWAY_URL";
export const TOKEN_ENV = "SPILLWAY_TOKEN";

/** The stats endpoint makes every shard report first, so polling faster than this costs the room more than it tells. */
export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 3600;
export const DEFAULT_INTERVAL_SECONDS = 2;

export type Command =
  | { name: "rooms" }
  | { name: "config get"; room: string }
  | { name: "config set"; room: string; patch: Record<string, ConfigValue> }
  | { name: "watch"; room: string; intervalSeconds: number; once: boolean }
  | { name: "audit"; room: string }
  | { name: "release"; room: string; pass: string };

/** What `key=value` gives a field: JSON's scalars, or an object (lanes, identity) written as JSON. */
export type ConfigValue = string | number | boolean | null | { [key: string]: unknown } | unknown[];

/** Where the Worker is and how to be let in; the sources are named in error messages. */
export interface Connection {
  url: URL;
  urlSource: "--url" | typeof URL_ENV | "default";
  token: string;
  tokenSource: "--token" | typeof TOKEN_ENV;
}

export type Invocation =
  /** `usage`: shown because the command line named no command (stderr, exit 2). */
  | { kind: "help"; text: string; usage?: true }
  | { kind: "version" }
  | { kind: "run"; command: Command; connection: Connection; json: boolean };

export type Env = Readonly<Record<string, string | undefined>>;

const OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  interval: { type: "string" },
  once: { type: "boolean" },
} as const;

/** Options that belong to one command only; the rest apply to every command. */
const COMMAND_OPTIONS: Partial<Record<keyof typeof OPTIONS, Command["name"]>> = {
  interval: "watch",
  once: "watch",
};

const TOPICS = ["rooms", "config", "config get", "config set", "watch", "audit", "release"] as const;
type Topic = (typeof TOPICS)[number] | "main";

const CONNECTION_HELP = `Connection (every command):
  --url <url>      the Worker's base URL (env ${URL_ENV}; default ${DEFAULT_URL})
  --token <token>  an admin token, sent as "Authorization: Bearer <token>" (env ${TOKEN_ENV};
                   \`npm start\` prints the local one; prefer the env var, a flag shows in \`ps\`)
  --json           print the Worker's JSON answer instead of text
  -h, --help       show help`;

const ROOM_HELP = "<room> is a room id: 1 to 64 characters of A-Z, a-z, 0-9, _ and -.";

const configFields = (): string => Object.keys(RoomConfigPatchSchema.entries).join(", ");

function helpText(topic: Topic): string {
  switch (topic) {
    case "main":
      return `spillway: operate a Spillway Worker (rooms, their config, live numbers, the audit trail).

Usage: spillway <command> [options]

Commands:
  rooms                            list the rooms the Worker knows
  config get <room>                show a room's config and what is set for this room
  config set <room> key=value ...  change a room's config (all of it or nothing)
  watch <room>                     a live view of a room's numbers (Ctrl-C to quit)
  audit <room>                     who changed what in a room's config, oldest first
  release <room> <pass>            free the seat a listener's pass holds

${CONNECTION_HELP}
  --version        print this CLI's version and the Node.js that runs it

Run "spillway <command> --help" for a command's details.
Exit codes: 0 done, 1 the call failed, 2 the command line is wrong.`;
    case "rooms":
      return `Usage: spillway rooms [--json]

Lists every room the Worker knows, with when it was first seen.

${CONNECTION_HELP}`;
    case "config":
      return `Usage: spillway config get <room> [--json]
       spillway config set <room> key=value ... [--json]

Run "spillway config get --help" or "spillway config set --help" for details.`;
    case "config get":
      return `Usage: spillway config get <room> [--json]

Shows the config a room runs with; "room" marks the fields set for this room,
"default" the ones that come from the Worker's vars.
${ROOM_HELP}

${CONNECTION_HELP}`;
    case "config set":
      return `Usage: spillway config set <room> key=value ... [--json]

Changes a room's config: every field or none (an invalid value changes nothing).
Values: numbers (50), true / false, null (clears a field), a JSON object ({...}, for
lanes and identity) or list ([...], for liveMounts; quote either for the shell),
anything else a string.
Fields: ${configFields()}.
Examples: spillway config set demo capacity=500 mode=overflow recordingUrl=https://example.com/rec
          spillway config set demo lanes='{"stage":{"reserved":20},"priority":{"share":0.3}}' inviteOnly=true
An object replaces the field's whole value (every lane, or all the identity settings): give
it in full. Lanes are ranked in the order written, the first outranking the rest.
${ROOM_HELP}

${CONNECTION_HELP}`;
    case "watch":
      return `Usage: spillway watch <room> [--interval <seconds>] [--once] [--json]

A live view of a room: live listeners against capacity (configured and effective),
the queue, admissions and arrivals a minute, the mode, the origin's health and the
peak. On a terminal it redraws in place; otherwise it prints one line per refresh.
  --interval <s>   seconds between refreshes (default ${DEFAULT_INTERVAL_SECONDS}, at least ${MIN_INTERVAL_SECONDS}: each refresh
                   makes every shard of the room report)
  --once           print one view and exit
  --json           print the stats JSON, one line per refresh
${ROOM_HELP}

${CONNECTION_HELP}`;
    case "audit":
      return `Usage: spillway audit <room> [--json]

Who changed what in a room's config (by admin token name), oldest first.
${ROOM_HELP}

${CONNECTION_HELP}`;
    case "release":
      return `Usage: spillway release <room> <pass> [--json]

Frees the seat a listener's pass holds, as the listener's own leave would
(a pass is the JWT a listener gets on admission). Exits 0 also when there was
nothing to free (the seat had ended already).
${ROOM_HELP}

${CONNECTION_HELP}`;
  }
}

/** The help topic named by the leading positionals, or null for an unknown command. */
function topicOf(positionals: readonly string[]): Topic | null {
  const [first, second] = positionals;
  if (first === undefined) return "main";
  if (first === "config" && (second === "get" || second === "set")) return `config ${second}`;
  return (TOPICS as readonly string[]).includes(first) ? (first as Topic) : null;
}

/** Read the command line; throws UsageError. */
export function parseInvocation(argv: readonly string[], env: Env): Invocation {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.version) return { kind: "version" };

  const asksHelp = positionals[0] === "help";
  const words = asksHelp ? positionals.slice(1) : positionals;
  const topic = topicOf(words);
  if (topic === null) throw new UsageError(`there is no command "${words.join(" ")}"`);
  if (asksHelp || values.help) return { kind: "help", text: helpText(topic) };
  if (topic === "main") return { kind: "help", text: helpText(topic), usage: true };
  if (topic === "config") throw new UsageError('"config" needs "get" or "set"', "config");

  const command = commandOf(topic, words, values);
  for (const [option, owner] of Object.entries(COMMAND_OPTIONS)) {
    if (values[option as keyof typeof values] !== undefined && owner !== command.name) {
      throw new UsageError(`--${option} only applies to "spillway ${owner}"`, command.name);
    }
  }
  return { kind: "run", command, connection: connectionOf(values, env, command.name), json: values.json === true };
}

type Values = { interval?: string | undefined; once?: boolean | undefined };

function commandOf(topic: Exclude<Topic, "main" | "config">, words: readonly string[], values: Values): Command {
  const args = topic.startsWith("config ") ? words.slice(2) : words.slice(1);
  switch (topic) {
    case "rooms":
      expectCount(topic, args, 0, "");
      return { name: "rooms" };
    case "config get":
      expectCount(topic, args, 1, "<room>");
      return { name: topic, room: roomOf(args[0]!, topic) };
    case "config set": {
      const room = roomOf(args[0] ?? missing(topic, "<room> key=value ..."), topic);
      if (args.length < 2) throw new UsageError("give at least one key=value to change", topic);
      return { name: topic, room, patch: parsePatchArgs(args.slice(1)) };
    }
    case "watch":
      expectCount(topic, args, 1, "<room>");
      return {
        name: topic,
        room: roomOf(args[0]!, topic),
        intervalSeconds: parseInterval(values.interval),
        once: values.once === true,
      };
    case "audit":
      expectCount(topic, args, 1, "<room>");
      return { name: topic, room: roomOf(args[0]!, topic) };
    case "release":
      expectCount(topic, args, 2, "<room> <pass>");
      return { name: topic, room: roomOf(args[0]!, topic), pass: checkPass(args[1]!, args[0]!, topic) };
  }
}

function missing(topic: string, expected: string): never {
  throw new UsageError(`"spillway ${topic}" needs ${expected}`, topic);
}

function expectCount(topic: string, args: readonly string[], count: number, expected: string): void {
  if (args.length < count) missing(topic, expected);
  if (args.length > count) {
    const extra = args
      .slice(count)
      .map((a) => `"${a}"`)
      .join(" ");
    throw new UsageError(`unexpected ${extra} after "spillway ${topic}"`, topic);
  }
}

/** Checked here so a typo never reaches the Worker (which would answer 400 bad_room). */
export function roomOf(room: string, topic: string): string {
  if (!ROOM_ID.test(room)) {
    throw new UsageError(
      `"${room}" is not a room id: room ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -`,
      topic,
    );
  }
  return room;
}

const KEY = /^[A-Za-z][A-Za-z0-9]*$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * `key=value` words as a PATCH body. Which keys exist and what they accept is
 * the Worker's to say (its 400 names each bad field), so an older or newer
 * Worker works with this CLI; only the shape of each word is checked here.
 */
export function parsePatchArgs(words: readonly string[]): Record<string, ConfigValue> {
  const patch: Record<string, ConfigValue> = {};
  for (const word of words) {
    const at = word.indexOf("=");
    const key = at < 0 ? word : word.slice(0, at);
    if (at < 0 || !KEY.test(key)) {
      throw new UsageError(`"${word}" is not key=value (e.g. capacity=500)`, "config set");
    }
    if (Object.hasOwn(patch, key)) throw new UsageError(`${key} is given twice`, "config set");
    patch[key] = parseValue(key, word.slice(at + 1));
  }
  return patch;
}

/**
 * A value as JSON would have it: number, boolean, null, an object (text that
 * starts with "{": lanes, identity), a list (text that starts with "[":
 * liveMounts), or else the string as typed. An object or a list that is not
 * valid JSON is a usage error: sent as a string it would only come back as
 * "must be an object".
 */
export function parseValue(key: string, text: string): ConfigValue {
  const start = text.trimStart();
  if (start.startsWith("{") || start.startsWith("[")) return parseJson(key, text, start.startsWith("["));
  if (text === "null") return null;
  if (text === "true") return true;
  if (text === "false") return false;
  if (NUMBER.test(text)) {
    const n = Number(text);
    // JSON has no Infinity: it would go out as null and clear the field.
    if (!Number.isFinite(n)) throw new UsageError(`${key}=${text} is too large a number`, "config set");
    return n;
  }
  return text;
}

function parseJson(key: string, text: string, list: boolean): { [key: string]: unknown } | unknown[] {
  let parsed: unknown;
  const shape = list ? "[...]" : "{...}";
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new UsageError(
      `${key} is not valid JSON (${why}); quote the ${list ? "list" : "object"} for the shell: ${key}='${shape}'`,
      "config set",
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) !== list) {
    throw new UsageError(`${key}=${text} is not a JSON ${list ? "list" : "object"}`, "config set");
  }
  return parsed as { [key: string]: unknown } | unknown[];
}

function parseInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_INTERVAL_SECONDS;
  const seconds = NUMBER.test(text) ? Number(text) : NaN;
  if (!(seconds >= MIN_INTERVAL_SECONDS && seconds <= MAX_INTERVAL_SECONDS)) {
    throw new UsageError(
      `--interval must be a number of seconds from ${MIN_INTERVAL_SECONDS} to ${MAX_INTERVAL_SECONDS} (got "${text}")`,
      "watch",
    );
  }
  return seconds;
}

/**
 * A pass is a JWT. Its claims are read (not verified: the Worker does that)
 * only to catch the likely slip of giving another room's pass.
 */
function checkPass(pass: string, room: string, topic: string): string {
  const parts = pass.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) {
    throw new UsageError("the pass is not a JWT (three base64url parts separated by dots)", topic);
  }
  const audience = passClaims(pass)?.aud;
  if (audience !== undefined && audience !== room) {
    throw new UsageError(`this pass is for room "${audience}", not "${room}"`, topic);
  }
  return pass;
}

/** The string claims of a JWT that say whose seat it is, read without verifying; null if unreadable. */
export function passClaims(jwt: string): { aud?: string; sub?: string; sid?: string } | null {
  try {
    const claims: unknown = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
    if (typeof claims !== "object" || claims === null) return null;
    const out: { aud?: string; sub?: string; sid?: string } = {};
    for (const key of ["aud", "sub", "sid"] as const) {
      const v = (claims as Record<string, unknown>)[key];
      if (typeof v === "string") out[key] = v;
    }
    return out;
  } catch {
    return null;
  }
}

function connectionOf(
  values: { url?: string | undefined; token?: string | undefined },
  env: Env,
  topic: string,
): Connection {
  const { text, source } = urlGiven(values.url, env);
  const token = values.token ?? given(env[TOKEN_ENV]);
  const tokenSource = values.token !== undefined ? "--token" : TOKEN_ENV;
  if (token === undefined || token === "") {
    throw new UsageError(
      `no admin token: pass --token <token> or set ${TOKEN_ENV} (\`npm start\` prints the local one)`,
      topic,
    );
  }
  return { url: baseUrlOf(text, source), urlSource: source, token, tokenSource };
}

/** An env var's value, or undefined when it is unset or blank. */
function given(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

/** The flag wins over the env var, which wins over the default. */
function urlGiven(flag: string | undefined, env: Env): { text: string; source: Connection["urlSource"] } {
  if (flag !== undefined) return { text: flag, source: "--url" };
  const fromEnv = given(env[URL_ENV]);
  if (fromEnv !== undefined) return { text: fromEnv, source: URL_ENV };
  return { text: DEFAULT_URL, source: "default" };
}

function baseUrlOf(text: string, source: Connection["urlSource"]): URL {
  let url: URL | null = null;
  try {
    url = new URL(text);
  } catch {
    // Reported below.
  }
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    const name = source === "default" ? "the URL" : source;
    throw new UsageError(`${name} must be an http(s) URL such as ${DEFAULT_URL} (got "${text}")`);
  }
  return url;
}

/**
 * A real Janus WebRTC Server for contract tests: Debian's `janus` (1.1.2) on
 * 127.0.0.1 with a temporary config directory, so a test sees what Janus
 * itself accepts, refuses and counts.
 *
 * - `startJanus()` writes janus.jcfg (stored-token auth on, an admin secret),
 *   janus.transport.http.jcfg (the Janus API and the Admin API, each on a free
 *   loopback port), janus.plugin.audiobridge.jcfg (one room) and
 *   janus.plugin.streaming.jcfg (no mountpoints) into a temporary directory,
 *   starts `janus -F <dir>` in its own process group and waits until both
 *   APIs answer `info`. `stop()` ends the process group and removes the
 *   directory.
 * - Everything else Janus ships is switched off: every other plugin,
 *   transport (WebSockets, Unix sockets, MQTT...), logger and event handler,
 *   found by listing Janus's own folders, so nothing else opens a port. No
 *   STUN or TURN server: ICE offers only this machine's own addresses, so
 *   media never leaves the host. (Janus's ICE skips loopback interfaces even
 *   when `ice_enforce_list` names them; its host candidates are those of
 *   eth0 and the like, and Chromium's too.)
 * - `sessions()`, `handles(session)`, `participants(room)` and
 *   `viewers(mountpoint)` are Janus's own views (Admin API `list_sessions`
 *   and `list_handles`, AudioBridge `listparticipants` and Streaming `info`
 *   via `message_plugin`),
 *   asked here directly, independently of src/origins/janus.ts.
 * - `JanusApi` is a tiny Janus API client over HTTP long-poll (create, attach,
 *   message, events) carrying a token: a listener without WebRTC.
 *
 * What Janus 1.1.2 does here: it answers every request with HTTP 200 and a
 * JSON `janus` of "success", "ack", "event" or "error" (a refused token is
 * error 403; only the long-poll GET of a refused token gets HTTP 403). It
 * starts in about 100 ms and exits within a second of SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort, tempDir, stopAndRemove } from "./worker.ts";

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
/** The plugins and transport the tests use; every other library Janus ships is disabled. */
const KEEP = new Set(["libjanus_audiobridge.so", "libjanus_streaming.so", "libjanus_http.so"]);
/** The event handler kept when a test asks for Janus's events (`eventsBackend`). */
const SAMPLE_EVH = "libjanus_sampleevh.so";

/** Where Debian keeps Janus's plugins, transports, loggers and event handlers (per architecture). */
async function janusLibDir(): Promise<string | null> {
  const candidates = ["/usr/lib/janus"];
  for (const entry of await readdir("/usr/lib").catch(() => [] as string[])) {
    candidates.push(join("/usr/lib", entry, "janus"));
  }
  for (const dir of candidates) {
    try {
      await access(join(dir, "plugins", "libjanus_audiobridge.so"), constants.R_OK);
      return dir;
    } catch {
      // not here
    }
  }
  return null;
}

/** The janus binary and its library folder; a clear error naming the Debian package when missing. */
export async function requireJanus(): Promise<{ binary: string; libDir: string }> {
  const binary = "/usr/bin/janus";
  const found = await access(binary, constants.X_OK).then(
    () => true,
    () => false,
  );
  const libDir = found ? await janusLibDir() : null;
  if (libDir === null) {
    throw new Error(
      "missing janus (with its AudioBridge plugin): these tests run a real Janus WebRTC Server. " +
        "Install the Debian package: apt-get install -y janus (or run .ci/debian-packages.sh as root)",
    );
  }
  return { binary, libDir };
}

/** The `disable = "..."` list for one of Janus's library folders: every `.so` but those kept. */
async function disableList(dir: string, keep: ReadonlySet<string> = KEEP): Promise<string> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files
    .filter((f) => f.endsWith(".so") && !keep.has(f))
    .sort()
    .join(",");
}

export interface JanusOptions {
  /** The AudioBridge room the config creates (default 1234). */
  room?: number;
  /** That room's `secret` (none when undefined): needed to change its allowed list. */
  roomSecret?: string;
  /** Janus's `session_timeout` in seconds (default 60). */
  sessionTimeout?: number;
  /**
   * Where Janus's sample event handler posts its handle events (a URL with
   * basic-auth user and password); none when undefined.
   */
  eventsBackend?: { url: string; user: string; password: string };
}

export interface RunningJanus {
  /** The Janus API: http://127.0.0.1:<port>/janus */
  readonly url: string;
  /** The Admin API: http://127.0.0.1:<adminPort>/admin */
  readonly adminUrl: string;
  readonly adminSecret: string;
  readonly room: number;
  /** Janus's pid (also its process group). */
  readonly pid: number;
  /** The temporary config directory (and janus.log); removed by `stop()`. */
  readonly dir: string;
  /** One Admin API request with the right secret; the parsed answer, whatever its `janus`. */
  admin(janus: string, body?: Record<string, unknown>, path?: number[]): Promise<Record<string, unknown>>;
  /** Janus's own session list (`list_sessions`). */
  sessions(): Promise<number[]>;
  /** Janus's own list of a session's handles (`list_handles`); none once the session is gone. */
  handles(session: number): Promise<number[]>;
  /** Janus's own participants of an AudioBridge room (`listparticipants` via `message_plugin`). */
  participants(room?: number): Promise<Array<Record<string, unknown>>>;
  /** Janus's own count of a Streaming mountpoint's viewers (`info` via `message_plugin`). */
  viewers(mountpoint: number): Promise<number>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

function config(o: {
  dir: string;
  libDir: string;
  adminSecret: string;
  sessionTimeout: number;
  disabled: Record<"plugins" | "transports" | "loggers" | "events", string>;
  events: boolean;
}): string {
  return `general: {
	configs_folder = "${o.dir}"
	plugins_folder = "${o.libDir}/plugins"
	transports_folder = "${o.libDir}/transports"
	events_folder = "${o.libDir}/events"
	loggers_folder = "${o.libDir}/loggers"
	debug_level = 4
	admin_secret = "${o.adminSecret}"
	token_auth = true
	session_timeout = ${o.sessionTimeout}
	hide_dependencies = true
	server_name = "spillway-contract"
}
media: {
}
nat: {
	nice_debug = false
}
plugins: {
	disable = "${o.disabled.plugins}"
}
transports: {
	disable = "${o.disabled.transports}"
}
loggers: {
	disable = "${o.disabled.loggers}"
}
events: {
	broadcast = ${o.events}
	disable = "${o.disabled.events}"
}
`;
}

/** The sample event handler: every handle event, each posted at once as plain JSON. */
function sampleEvh(backend: { url: string; user: string; password: string }): string {
  return `general: {
	enabled = true
	events = "handles"
	grouping = false
	json = "plain"
	backend = "${backend.url}"
	backend_user = "${backend.user}"
	backend_pwd = "${backend.password}"
}
`;
}

function httpTransport(port: number, adminPort: number): string {
  return `general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = ${port}
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_base_path = "/admin"
	admin_http = true
	admin_port = ${adminPort}
	admin_ip = "127.0.0.1"
	admin_https = false
}
`;
}

function audiobridge(room: number, secret: string | undefined): string {
  return `general: {
	events = false
}
room-${room}: {
	description = "Spillway contract room"
	sampling_rate = 16000
	record = false${secret === undefined ? "" : `\n\tsecret = "${secret}"`}
}
`;
}

/** Start Janus on free loopback ports with a fresh config; resolves once the Janus and Admin APIs answer `info`. */
export async function startJanus(options: JanusOptions = {}): Promise<RunningJanus> {
  const found = await requireJanus();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(found, options);
    } catch (err) {
      // freePort() can lose a race for a port (Janus then exits or never answers); retry twice.
      if (attempt >= 3) throw err;
    }
  }
}

async function startOnce(found: { binary: string; libDir: string }, options: JanusOptions): Promise<RunningJanus> {
  const { binary, libDir } = found;
  const room = options.room ?? 1234;
  const port = await freePort();
  const adminPort = await freePort();
  const dir = await tempDir("spillway-janus-");
  const adminSecret = randomBytes(12).toString("hex");
  const url = `http://127.0.0.1:${port}/janus`;
  const adminUrl = `http://127.0.0.1:${adminPort}/admin`;
  const logFile = join(dir, "janus.log");
  const log = () => readFile(logFile, "utf8").catch(() => "");
  let child: ChildProcess | undefined;

  const cleanup = () => stopAndRemove(child, dir, STOP_TIMEOUT_MS);

  try {
    const disabled = {
      plugins: await disableList(join(libDir, "plugins")),
      transports: await disableList(join(libDir, "transports")),
      loggers: await disableList(join(libDir, "loggers")),
      events: await disableList(
        join(libDir, "events"),
        options.eventsBackend === undefined ? KEEP : new Set([...KEEP, SAMPLE_EVH]),
      ),
    };
    const events = options.eventsBackend !== undefined;
    const sessionTimeout = options.sessionTimeout ?? 60;
    await writeFile(join(dir, "janus.jcfg"), config({ dir, libDir, adminSecret, sessionTimeout, disabled, events }));
    await writeFile(join(dir, "janus.transport.http.jcfg"), httpTransport(port, adminPort));
    await writeFile(join(dir, "janus.plugin.audiobridge.jcfg"), audiobridge(room, options.roomSecret));
    await writeFile(join(dir, "janus.plugin.streaming.jcfg"), "general: {\n\tevents = false\n}\n");
    if (options.eventsBackend !== undefined) {
      await writeFile(join(dir, "janus.eventhandler.sampleevh.jcfg"), sampleEvh(options.eventsBackend));
    }

    const args = ["-F", dir, "-C", join(dir, "janus.jcfg"), "-N", "-o", "-L", logFile];
    const started = spawn(binary, args, { cwd: dir, detached: true, stdio: "ignore" });
    child = started;
    let exited: string | undefined;
    started.once("exit", (code, signal) => (exited = `code ${code}, signal ${signal}`));
    started.once("error", (err) => (exited = err.message));

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) throw new Error(`Janus exited before it answered (${exited})`);
      const [api, admin] = await Promise.all([post(url, { janus: "info" }), post(adminUrl, { janus: "info" })]).catch(
        () => [undefined, undefined],
      );
      if (api?.janus === "server_info" && admin?.janus === "server_info") break;
      if (Date.now() >= deadline) throw new Error(`Janus did not answer info on ${url} and ${adminUrl} within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    const text = await log();
    await cleanup().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`${reason}\n--- janus.log (tail):\n${text.split("\n").slice(-30).join("\n")}`, { cause: err });
  }

  const admin: RunningJanus["admin"] = (janus, body = {}, path = []) =>
    post([adminUrl, ...path].join("/"), { ...body, janus, admin_secret: adminSecret });

  let stopped: Promise<void> | undefined;
  return {
    url,
    adminUrl,
    adminSecret,
    room,
    pid: child!.pid!,
    dir,
    admin,
    async sessions() {
      const answer = await admin("list_sessions");
      if (!Array.isArray(answer.sessions)) throw new Error(`list_sessions: ${JSON.stringify(answer)}`);
      return answer.sessions as number[];
    },
    async handles(session) {
      const answer = await admin("list_handles", {}, [session]);
      return Array.isArray(answer.handles) ? (answer.handles as number[]) : [];
    },
    async participants(which = room) {
      const answer = await admin("message_plugin", {
        plugin: "janus.plugin.audiobridge",
        request: { request: "listparticipants", room: which },
      });
      const response = answer.response as { participants?: Array<Record<string, unknown>> } | undefined;
      if (!Array.isArray(response?.participants)) throw new Error(`listparticipants: ${JSON.stringify(answer)}`);
      return response.participants;
    },
    async viewers(mountpoint) {
      const answer = await admin("message_plugin", {
        plugin: "janus.plugin.streaming",
        request: { request: "info", id: mountpoint },
      });
      const response = answer.response as { info?: { viewers?: unknown } } | undefined;
      const viewers = response?.info?.viewers;
      if (typeof viewers !== "number") throw new Error(`streaming info: ${JSON.stringify(answer)}`);
      return viewers;
    },
    log,
    stop: () => (stopped ??= cleanup()),
  };
}

/** The Worker vars that point a Spillway at this Janus for direct mode with `plugin`. */
export function janusVars(janus: RunningJanus, plugin: "audiobridge" | "streaming"): Record<string, string> {
  return {
    JANUS_URL: janus.url,
    JANUS_ADMIN_URL: janus.adminUrl,
    JANUS_ADMIN_SECRET: janus.adminSecret,
    JANUS_PLUGIN: plugin,
  };
}

/** POST one JSON request with a fresh transaction; the parsed answer. */
async function post(url: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ transaction: randomBytes(6).toString("hex"), ...body }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Thrown by `JanusApi` when Janus answers `"janus": "error"`. */
export class JanusApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string) {
    super(`Janus error ${code}: ${reason}`);
    this.code = code;
    this.reason = reason;
  }
}

/**
 * A listener's side of the Janus API over HTTP long-poll, every request
 * carrying `token` (none when undefined): enough to join an AudioBridge room
 * muted, or watch a Streaming mountpoint, without WebRTC.
 */
export class JanusApi {
  readonly url: string;
  readonly token: string | undefined;
  sessionId?: number;
  constructor(url: string, token: string | undefined) {
    this.url = url;
    this.token = token;
  }

  async request(body: Record<string, unknown>, path: number[] = []): Promise<Record<string, unknown>> {
    const withToken = this.token === undefined ? body : { ...body, token: this.token };
    const answer = await post([this.url, ...path].join("/"), withToken);
    if (answer.janus === "error") {
      const error = answer.error as { code: number; reason: string };
      throw new JanusApiError(error.code, error.reason);
    }
    return answer;
  }

  /** `create`: a new session, remembered for the calls below. */
  async create(): Promise<number> {
    const answer = await this.request({ janus: "create" });
    this.sessionId = (answer.data as { id: number }).id;
    return this.sessionId;
  }

  /** `attach` to a plugin; the handle id. */
  async attach(plugin: string): Promise<number> {
    const answer = await this.request({ janus: "attach", plugin }, [this.#session()]);
    return (answer.data as { id: number }).id;
  }

  /** `message` to a handle; Janus's immediate answer ("ack" for asynchronous requests, "success" otherwise). */
  message(handleId: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.request({ janus: "message", body }, [this.#session(), handleId]);
  }

  /** One long poll (GET with `maxev`): the events Janus had or got within its 30 s poll; HTTP status too. */
  async poll(maxev = 10): Promise<{ status: number; events: Array<Record<string, unknown>> }> {
    const query = new URLSearchParams({ maxev: String(maxev), rid: String(Date.now()) });
    if (this.token !== undefined) query.set("token", this.token);
    const res = await fetch(`${this.url}/${this.#session()}?${query}`, { signal: AbortSignal.timeout(35_000) });
    const text = await res.text();
    if (res.status !== 200) return { status: res.status, events: [] };
    const parsed = JSON.parse(text) as unknown;
    const events = (Array.isArray(parsed) ? parsed : [parsed]) as Array<Record<string, unknown>>;
    return { status: res.status, events: events.filter((e) => e.janus !== "keepalive") };
  }

  /** Join an AudioBridge room muted (a listener) and wait for the plugin's "joined" event; the participant id. */
  joinMuted(handleId: number, room: number, display: string): Promise<number> {
    const body = { request: "join", room, display, muted: true, token: this.token };
    return this.#until(handleId, body, `a "joined" event for room ${room}`, (_event, data) =>
      data?.audiobridge === "joined" && data.room === room ? (data.id as number) : undefined,
    );
  }

  /**
   * Watch a Streaming mountpoint (a listener without WebRTC) and wait for the
   * plugin's offer: Janus counts the viewer from then on, answered or not.
   */
  async watch(handleId: number, mountpoint: number): Promise<void> {
    await this.#until(
      handleId,
      { request: "watch", id: mountpoint },
      `an offer for mountpoint ${mountpoint}`,
      (event) => (event.jsep !== undefined ? true : undefined),
    );
  }

  /**
   * Send an asynchronous request to a handle, then long-poll until `found`
   * picks an answer out of an event (10 s at most). Janus's errors, its
   * plugin's and a poll's refused session are thrown as JanusApiError.
   */
  async #until<T>(
    handleId: number,
    body: Record<string, unknown>,
    what: string,
    found: (event: Record<string, unknown>, data: Record<string, unknown> | undefined) => T | undefined,
  ): Promise<T> {
    const ack = await this.message(handleId, body);
    if (ack.janus !== "ack") throw new Error(`${String(body.request)}: ${JSON.stringify(ack)}`);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const { status, events } = await this.poll();
      if (status !== 200) throw new JanusApiError(status, `long poll answered HTTP ${status}`);
      for (const event of events) {
        if (event.janus === "error") {
          const error = event.error as { code: number; reason: string };
          throw new JanusApiError(error.code, error.reason);
        }
        const data = (event.plugindata as { data?: Record<string, unknown> } | undefined)?.data;
        if (typeof data?.error_code === "number") throw new JanusApiError(data.error_code, String(data.error));
        const answer = found(event, data);
        if (answer !== undefined) return answer;
      }
    }
    throw new Error(`no ${what} within 10 s`);
  }

  #session(): number {
    if (this.sessionId === undefined) throw new Error("no session yet: call create() first");
    return this.sessionId;
  }
}

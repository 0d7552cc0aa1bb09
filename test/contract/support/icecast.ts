/**
 * A real Icecast origin for contract tests: Debian's `icecast2` (2.4.4) on
 * 127.0.0.1, fed a live MP3 by `ffmpeg`, so a test sees what a listener of a
 * real streaming server sees (an endless `audio/mpeg` answer, the server's own
 * listener count, a recording written while the show runs) instead of a
 * stand-in that answers JSON.
 *
 * - `startIcecast()` writes an icecast.xml, the logs and a webroot (the stock
 *   XSL files, so `/status-json.xsl` works) into a temporary directory, starts
 *   Icecast on a free port in its own process group and waits until
 *   `/status-json.xsl` answers. `stop()` ends every source and front started
 *   for it, then Icecast's process group, and removes the directory.
 * - `startSource()` runs ffmpeg: a generated chord, encoded to MP3 (libmp3lame,
 *   64 kbit/s) in real time (`-re`) and pushed to a mount over `icecast://`.
 *   Stopping it is "the show ends".
 * - Recordings: a mount listed in `recordMounts` gets a `<dump-file>` inside
 *   the webroot, so Icecast itself serves the show's recording as a static file.
 * - `startReleasingFront()`: a small Node HTTP front that answers
 *   `GET /rooms/<room>/bye` with `Spillway-Command: release` and streams every
 *   other request to Icecast unbuffered (see "headers" below for why).
 * - `ffprobe()`: a real decoder's view of a file, URL or bytes.
 *
 * What Icecast 2.4.4 does (checked on Debian 12 with ffmpeg 5.1):
 * - It refuses to run as root. As root the config tells it to drop to
 *   `icecast2:icecast` (`<changeowner>`) once its port is bound, so the
 *   temporary directory is chowned to that user (and its ancestors must be
 *   world-traversable; /tmp is). As any other user it runs as that user.
 * - Mount names with slashes work for the source (ffmpeg's PUT) and for
 *   listeners: `/rooms/live/stream.mp3` is both the mount and the path
 *   Spillway proxies. Note: status-json has no mount field; the mount is the
 *   path of each source's `listenurl`.
 * - Headers: the global `<http-headers>` go on every answer (a `status`
 *   attribute limits one to answers of that status, e.g. every 404); a
 *   mount's `<http-headers>` go only on the 200 stream of that mount while a
 *   source feeds it. Static files and errors never get per-mount headers, so
 *   Icecast alone cannot say `Spillway-Command: release` on one plain path;
 *   hence the front. (`headerMounts` is still offered: a mount with its own
 *   source answers a never-ending 200 stream that carries the header.)
 * - The dump file is opened for appending when a source connects, written
 *   through a stdio buffer (so it lags the stream by up to 4 kB) and closed
 *   when the source leaves: the recording is complete only once the show has
 *   ended (`RunningSource.stop()` waits for that). A second show on the same
 *   mount appends to the same file.
 * - Its file server answers HEAD with 400 and serves a Range from its start
 *   to the end of the file (the end of the range is ignored).
 * - Its listener count drops only when a write to the gone listener fails,
 *   i.e. with the next data of the stream (well under a second at 64 kbit/s).
 *
 * Trade-offs: needs the Debian packages (`requireDebian()` says which), costs
 * real time (ffmpeg -re; Icecast starts in about 100 ms), and binds real
 * ports on 127.0.0.1 (free ones, picked just before start; a lost race is
 * retried).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, get, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { stopGroup } from "../../../src/cli/process-group.ts";
import { freePort, tempDir, stopAndRemove } from "./worker.ts";

const execFileAsync = promisify(execFile);

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const SOURCE_READY_TIMEOUT_MS = 15_000;
const SHOW_END_TIMEOUT_MS = 10_000;
const STOCK_WEBROOT = "/usr/share/icecast2/web";
const STOCK_ADMINROOT = "/usr/share/icecast2/admin";
/** The user and group Debian's package creates, which Icecast drops to when started as root. */
const ICECAST_USER = "icecast2";
const ICECAST_GROUP = "icecast";

/** Which Debian package provides each binary these tests use. */
const DEBIAN_PACKAGE: Record<string, string> = {
  icecast2: "icecast2",
  ffmpeg: "ffmpeg",
  ffprobe: "ffmpeg",
  chromium: "chromium",
};

// ---------------------------------------------------------------------------
// Preconditions

/** Where `name` is on PATH (or in the usual sbin/bin directories), or null. */
async function which(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Throw a clear error naming the Debian packages to install when one of `binaries` is missing; else their paths. */
export async function requireDebian(
  binaries: string[] = ["icecast2", "ffmpeg", "ffprobe"],
): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of binaries) {
    const path = await which(name);
    if (path === null) missing.push(name);
    else found[name] = path;
  }
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((name) => DEBIAN_PACKAGE[name] ?? name))];
    throw new Error(
      `missing ${missing.join(", ")}: these tests run a real Icecast fed by ffmpeg. ` +
        `Install the Debian packages: apt-get install -y ${packages.join(" ")} (or run .ci/debian-packages.sh as root)`,
    );
  }
  return found;
}

const isRoot = () => process.getuid?.() === 0;

/** As root, Icecast drops to icecast2: it must be able to enter every ancestor of `dir`. */
async function assertTraversable(dir: string): Promise<void> {
  for (let at = dirname(dir); ; at = dirname(at)) {
    const { mode } = await stat(at);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Icecast runs as user ${ICECAST_USER} and cannot enter ${at} (mode ${(mode & 0o777).toString(8)}); ` +
          `set TMPDIR to a world-traversable directory such as /tmp`,
      );
    }
    if (at === dirname(at)) return;
  }
}

async function assertIcecastUser(): Promise<void> {
  const passwd = await readFile("/etc/passwd", "utf8");
  if (!passwd.split("\n").some((line) => line.startsWith(`${ICECAST_USER}:`))) {
    throw new Error(
      `there is no user ${ICECAST_USER}, which Icecast must drop to when started as root ` +
        `(Debian's icecast2 package creates it: apt-get install -y icecast2)`,
    );
  }
}

// ---------------------------------------------------------------------------
// Small utilities

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  stepMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Mount names the harness accepts: an absolute path of plain URL characters (slashes welcome). */
function checkMount(mount: string): string {
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(mount) || mount.split("/").some((part) => part === "." || part === "..")) {
    throw new Error(`not a usable mount name: ${JSON.stringify(mount)} (want e.g. /rooms/live/stream.mp3)`);
  }
  return mount;
}

function secret(): string {
  return randomBytes(12).toString("hex");
}

function tail(text: string, lines: number): string {
  return text
    .split("\n")
    .slice(-lines - 1)
    .join("\n");
}

// ---------------------------------------------------------------------------
// Icecast

/** One `<header>` of Icecast's global `<http-headers>`. */
export interface IcecastHeader {
  name: string;
  value: string;
  /** Only on answers with this HTTP status (global headers only). */
  status?: number;
}

export interface IcecastOptions {
  /** Mounts whose stream Icecast writes to a `<dump-file>` in its webroot (see `recordingPath`/`recordingUrl`). */
  recordMounts?: string[];
  /** Per-mount `<http-headers>`: sent only on that mount's 200 stream, while a source feeds it. */
  headerMounts?: Record<string, Record<string, string>>;
  /** Global `<http-headers>`, on every answer (or every answer of `status`). */
  headers?: IcecastHeader[];
  /** Raw XML put inside a mount's `<mount>` as given (e.g. an `<authentication type="url">` block). */
  mountXml?: Record<string, string>;
  /** `<limits><clients>`: listeners, file and admin requests at once (default 100). */
  maxClients?: number;
  /** `<limits><sources>` (default 10). */
  maxSources?: number;
  /** `<burst-size>` in bytes sent at once to a new listener (Icecast's default: 65535). */
  burstSize?: number;
}

/** One source as `/status-json.xsl` lists it, with its mount read from `listenurl`. */
export interface IcecastSourceStats {
  mount: string;
  listeners: number;
  listener_peak?: number;
  listenurl: string;
  server_type?: string;
  stream_start_iso8601?: string;
  [field: string]: unknown;
}

/** What `/status-json.xsl` says, with `icestats.source` (absent, an object or an array) as a list. */
export interface IcecastStats {
  icestats: Record<string, unknown>;
  sources: IcecastSourceStats[];
}

/** One listener as the admin `listclients` lists it. */
export interface IcecastClient {
  id: string;
  ip: string;
  userAgent: string;
  connectedSeconds: number;
}

export interface RunningIcecast {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Icecast's pid (also its process group). */
  readonly pid: number;
  readonly adminUser: string;
  readonly adminPassword: string;
  readonly sourcePassword: string;
  /** The temporary directory (config, logs, webroot); removed by `stop()`. */
  readonly dir: string;
  /** Served by Icecast as static files (`/<path>` → `<webroot>/<path>`). */
  readonly webroot: string;
  /** Where a source pushes to: icecast://source:<password>@127.0.0.1:<port><mount> */
  sourceUrl(mount: string): string;
  /** The listener URL of a mount (or any path) on this Icecast. */
  mountUrl(mount: string): string;
  /** The parsed `/status-json.xsl`. */
  stats(): Promise<IcecastStats>;
  /** The mount's entry in `/status-json.xsl`, or undefined when no source feeds it. */
  source(mount: string): Promise<IcecastSourceStats | undefined>;
  /** Icecast's own listener count for `mount` (0 when no source feeds it). */
  listeners(mount: string): Promise<number>;
  /** Wait until Icecast counts `count` listeners on `mount`; resolves with the milliseconds it took. */
  waitForListeners(mount: string, count: number, timeoutMs?: number): Promise<number>;
  /** The listeners of `mount` per the admin `listclients` (empty when no source feeds it). */
  listClients(mount: string): Promise<IcecastClient[]>;
  /** Disconnect one listener (admin `killclient`). */
  killClient(mount: string, id: string): Promise<void>;
  /** The dump file of a mount listed in `recordMounts` (complete once its show has ended). */
  recordingPath(mount: string): string;
  /** The URL at which Icecast serves `recordingPath(mount)`. */
  recordingUrl(mount: string): string;
  /** Icecast's error log so far (loglevel info: sources, listener counts, dump files). */
  errorLog(): Promise<string>;
  /** Stop its sources and fronts, then Icecast's process group; remove the directory. */
  stop(): Promise<void>;
}

/** What `stop()` must also end, per Icecast. */
const attached = new WeakMap<RunningIcecast, Set<() => Promise<void>>>();

function attach(icecast: RunningIcecast, stop: () => Promise<void>): () => void {
  let set = attached.get(icecast);
  if (set === undefined) attached.set(icecast, (set = new Set()));
  set.add(stop);
  return () => set.delete(stop);
}

/** Where the dump of `mount` goes, relative to the webroot. */
function recordingRelative(mount: string): string {
  return `recordings${mount}`;
}

function configXml(o: {
  /** Names this server in status-json (`icestats.location`), so a start can tell it from another on the port. */
  location: string;
  port: number;
  dir: string;
  webroot: string;
  adminUser: string;
  adminPassword: string;
  sourcePassword: string;
  options: IcecastOptions;
}): string {
  const { options } = o;
  const mounts = new Map<string, string[]>();
  const mountLines = (mount: string) => {
    let lines = mounts.get(checkMount(mount));
    if (lines === undefined) mounts.set(mount, (lines = []));
    return lines;
  };
  for (const mount of options.recordMounts ?? []) {
    // strftime(3) runs over the name: keep a literal %.
    const file = join(o.webroot, recordingRelative(mount)).replace(/%/g, "%%");
    mountLines(mount).push(`<dump-file>${xml(file)}</dump-file>`);
  }
  for (const [mount, headers] of Object.entries(options.headerMounts ?? {})) {
    // No comments inside <http-headers>: Icecast 2.4.4 stops reading at one.
    const inner = Object.entries(headers).map(([n, v]) => `<header name="${xml(n)}" value="${xml(v)}" />`);
    mountLines(mount).push(`<http-headers>${inner.join("")}</http-headers>`);
  }
  for (const [mount, inner] of Object.entries(options.mountXml ?? {})) mountLines(mount).push(inner);
  const globalHeaders = (options.headers ?? []).map(
    (h) =>
      `<header name="${xml(h.name)}" value="${xml(h.value)}"${h.status === undefined ? "" : ` status="${h.status}"`} />`,
  );
  const changeowner = isRoot()
    ? `<changeowner><user>${ICECAST_USER}</user><group>${ICECAST_GROUP}</group></changeowner>`
    : "";
  return `<icecast>
  <location>${xml(o.location)}</location>
  <admin>tests@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits>
    <clients>${options.maxClients ?? 100}</clients>
    <sources>${options.maxSources ?? 10}</sources>
    <queue-size>524288</queue-size>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-size>${options.burstSize ?? 65535}</burst-size>
  </limits>
  <authentication>
    <source-password>${xml(o.sourcePassword)}</source-password>
    <relay-password>${xml(secret())}</relay-password>
    <admin-user>${xml(o.adminUser)}</admin-user>
    <admin-password>${xml(o.adminPassword)}</admin-password>
  </authentication>
  <listen-socket>
    <port>${o.port}</port>
    <bind-address>127.0.0.1</bind-address>
  </listen-socket>
  ${globalHeaders.length > 0 ? `<http-headers>${globalHeaders.join("")}</http-headers>` : ""}
${[...mounts].map(([mount, lines]) => `  <mount type="normal"><mount-name>${xml(mount)}</mount-name>${lines.join("")}</mount>`).join("\n")}
  <fileserve>1</fileserve>
  <paths>
    <basedir>${xml(o.dir)}</basedir>
    <logdir>${xml(join(o.dir, "log"))}</logdir>
    <webroot>${xml(o.webroot)}</webroot>
    <adminroot>${STOCK_ADMINROOT}</adminroot>
    <pidfile>${xml(join(o.dir, "icecast.pid"))}</pidfile>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>3</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>
    ${changeowner}
  </security>
</icecast>
`;
}

function toSourceList(raw: unknown): IcecastSourceStats[] {
  const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((entry: Record<string, unknown>) => {
    const listenurl = String(entry.listenurl ?? "");
    let mount = "";
    try {
      mount = new URL(listenurl).pathname;
    } catch {
      // leave it empty
    }
    return { ...entry, mount, listenurl, listeners: Number(entry.listeners ?? 0) };
  });
}

function xmlField(block: string, name: string): string {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(block);
  return match?.[1] ?? "";
}

/** Start Icecast on a free port with a fresh temporary config; resolves once `/status-json.xsl` answers. */
export async function startIcecast(options: IcecastOptions = {}): Promise<RunningIcecast> {
  const { icecast2 } = await requireDebian(["icecast2"]);
  const configured = [
    ...(options.recordMounts ?? []),
    ...Object.keys(options.headerMounts ?? {}),
    ...Object.keys(options.mountXml ?? {}),
  ];
  for (const mount of configured) checkMount(mount);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(icecast2!, options);
    } catch (err) {
      // freePort() can lose a race for its port, and Icecast now and then crashes as it starts
      // (a signal before it ever answered); either is tried again, anything else is final.
      const again =
        err instanceof Error &&
        (/could not create listener socket/i.test(err.message) ||
          /exited before it answered \(code null, signal SIG/.test(err.message));
      if (attempt >= 3 || !again) throw err;
    }
  }
}

async function startOnce(binary: string, options: IcecastOptions): Promise<RunningIcecast> {
  const port = await freePort();
  const dir = await tempDir("spillway-icecast-");
  const webroot = join(dir, "web");
  const logFile = join(dir, "log", "error.log");
  const adminUser = "admin";
  const adminPassword = secret();
  const sourcePassword = secret();
  const url = `http://127.0.0.1:${port}`;
  const location = `Spillway contract tests ${secret()}`;
  let child: ChildProcess | undefined;
  let output = "";

  const errorLog = () => readFile(logFile, "utf8").catch(() => "");
  const recordMounts = new Set(options.recordMounts ?? []);

  const cleanup = () => stopAndRemove(child, dir, STOP_TIMEOUT_MS);

  try {
    await mkdir(join(dir, "log"));
    await mkdir(webroot);
    for (const file of await readdir(STOCK_WEBROOT)) await copyFile(join(STOCK_WEBROOT, file), join(webroot, file));
    for (const mount of recordMounts)
      await mkdir(dirname(join(webroot, recordingRelative(mount))), { recursive: true });
    const config = join(dir, "icecast.xml");
    await writeFile(
      config,
      configXml({ location, port, dir, webroot, adminUser, adminPassword, sourcePassword, options: { ...options } }),
    );
    if (isRoot()) {
      await assertIcecastUser();
      await assertTraversable(dir);
      await execFileAsync("chown", ["-R", `${ICECAST_USER}:${ICECAST_GROUP}`, dir]);
    }

    const started = spawn(binary, ["-c", config], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    started.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    started.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    let exited: string | undefined;
    started.once("exit", (code, signal) => (exited = `code ${code}, signal ${signal}`));
    started.once("error", (err) => (exited = err.message));

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited !== undefined) throw new Error(`Icecast exited before it answered (${exited})`);
      try {
        const res = await fetch(`${url}/status-json.xsl`, { signal: AbortSignal.timeout(1_000) });
        const text = await res.text();
        // This server's answer, not another's that took the port first (a test's Icecast, started alongside).
        if (res.ok && JSON.parse(text)?.icestats?.location === location) break;
      } catch {
        // not up yet
      }
      if (Date.now() >= deadline) throw new Error(`Icecast did not answer ${url}/status-json.xsl within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    const log = await errorLog();
    await cleanup().catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    if (child === undefined) throw new Error(reason, { cause: err });
    throw new Error(
      `${reason}\n--- command: ${binary} -c ${join(dir, "icecast.xml")}\n--- output:\n${output}` +
        `\n--- error.log (tail):\n${tail(log, 30)}`,
      { cause: err },
    );
  }

  const admin = async (path: string): Promise<string> => {
    const auth = Buffer.from(`${adminUser}:${adminPassword}`).toString("base64");
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Basic ${auth}` } });
    const text = await res.text();
    if (!res.ok) throw new Error(`Icecast ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    return text;
  };

  const stats = async (): Promise<IcecastStats> => {
    const res = await fetch(`${url}/status-json.xsl`);
    const text = await res.text();
    if (!res.ok) throw new Error(`Icecast /status-json.xsl answered ${res.status}`);
    const icestats = (JSON.parse(text) as { icestats: Record<string, unknown> }).icestats;
    return { icestats, sources: toSourceList(icestats.source) };
  };

  const source = async (mount: string) => (await stats()).sources.find((s) => s.mount === mount);
  const listeners = async (mount: string) => (await source(mount))?.listeners ?? 0;

  let stopped: Promise<void> | undefined;
  const icecast: RunningIcecast = {
    url,
    port,
    pid: child!.pid!,
    adminUser,
    adminPassword,
    sourcePassword,
    dir,
    webroot,
    sourceUrl: (mount) => `icecast://source:${sourcePassword}@127.0.0.1:${port}${checkMount(mount)}`,
    mountUrl: (mount) => `${url}${mount}`,
    stats,
    source,
    listeners,
    async waitForListeners(mount, count, timeoutMs = 10_000) {
      const start = Date.now();
      let last = -1;
      try {
        await waitFor(
          `${count} listeners on ${mount}`,
          async () => ((last = await listeners(mount)) === count ? true : undefined),
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`Icecast counts ${last} listeners on ${mount}, not ${count}, after ${timeoutMs} ms`, {
          cause: err,
        });
      }
      return Date.now() - start;
    },
    async listClients(mount) {
      let text: string;
      try {
        text = await admin(`/admin/listclients?mount=${encodeURIComponent(mount)}`);
      } catch (err) {
        // Icecast answers 400 "Source does not exist" for a mount without a source.
        if ((await source(mount)) === undefined) return [];
        throw err;
      }
      return [...text.matchAll(/<listener>([\s\S]*?)<\/listener>/g)].map(([, block]) => ({
        id: xmlField(block!, "ID"),
        ip: xmlField(block!, "IP"),
        userAgent: xmlField(block!, "UserAgent"),
        connectedSeconds: Number(xmlField(block!, "Connected")),
      }));
    },
    async killClient(mount, id) {
      await admin(`/admin/killclient?mount=${encodeURIComponent(mount)}&id=${encodeURIComponent(id)}`);
    },
    recordingPath(mount) {
      if (!recordMounts.has(mount))
        throw new Error(`${mount} is not recorded: list it in startIcecast({ recordMounts })`);
      return join(webroot, recordingRelative(mount));
    },
    recordingUrl(mount) {
      icecast.recordingPath(mount);
      return `${url}/${recordingRelative(mount)}`;
    },
    errorLog,
    stop() {
      stopped ??= (async () => {
        const others = [...(attached.get(icecast) ?? [])];
        const results = await Promise.allSettled(others.map((stopOne) => stopOne()));
        await cleanup();
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed !== undefined) throw failed.reason;
      })();
      return stopped;
    },
  };
  return icecast;
}

// ---------------------------------------------------------------------------
// ffmpeg sources

export interface SourceOptions {
  /** `chord` (default: a soft C major chord that swells every two seconds) or a plain 440 Hz `sine`. */
  tone?: "chord" | "sine";
  /** Any lavfi source graph instead of `tone`, e.g. `anoisesrc=c=pink:a=0.1`. */
  lavfi?: string;
  /** MP3 bit rate (default `64k`). */
  bitrate?: string;
  /** Sample rate in Hz (default 44100). */
  sampleRate?: number;
  /** End the show on its own after this many seconds (default: runs until `stop()`). */
  durationSeconds?: number;
  /** How long to wait for the mount to appear in status-json (default 10 s). */
  readyTimeoutMs?: number;
}

export interface RunningSource {
  readonly mount: string;
  /** ffmpeg's pid (also its process group). */
  readonly pid: number;
  /** What ffmpeg printed (warnings and errors). */
  output(): string;
  /** Resolves when the show has ended: ffmpeg exited, Icecast dropped the mount and closed its dump file. */
  ended(): Promise<void>;
  /** End the show: stop ffmpeg, then wait as `ended()` does. */
  stop(): Promise<void>;
}

function lavfiFor(options: SourceOptions, sampleRate: number): string {
  if (options.lavfi !== undefined) return options.lavfi;
  if (options.tone === "sine") return `sine=frequency=440:sample_rate=${sampleRate}`;
  const swell = "(0.75+0.25*sin(PI*t))";
  const notes = [261.63, 329.63, 392.0].map((hz) => `0.12*sin(2*PI*${hz}*t)`).join("+");
  return `aevalsrc=${swell}*(${notes}):s=${sampleRate}`;
}

/** Run ffmpeg pushing a generated MP3 to `mount`; resolves once the mount is live in status-json. */
export async function startSource(
  icecast: RunningIcecast,
  mount: string,
  options: SourceOptions = {},
): Promise<RunningSource> {
  try {
    return await startSourceOnce(icecast, mount, options);
  } catch (err) {
    // On a busy machine ffmpeg now and then never connects (no output, no exit): it is
    // stopped, and one fresh ffmpeg gets a second chance before the error stands.
    if (!(err instanceof Error) || !err.message.includes("to go live\n")) throw err;
    return startSourceOnce(icecast, mount, options);
  }
}

async function startSourceOnce(icecast: RunningIcecast, mount: string, options: SourceOptions): Promise<RunningSource> {
  const { ffmpeg } = await requireDebian(["ffmpeg"]);
  checkMount(mount);
  if ((await icecast.source(mount)) !== undefined) throw new Error(`a source already feeds ${mount}`);
  const sampleRate = options.sampleRate ?? 44_100;
  const closingLine = `Closing dumpfile for ${mount}\n`;
  const recorded = (() => {
    try {
      return icecast.recordingPath(mount);
    } catch {
      return undefined;
    }
  })();
  const closingsBefore = recorded === undefined ? 0 : (await icecast.errorLog()).split(closingLine).length;

  const args = ["-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-f", "lavfi", "-i"];
  args.push(lavfiFor(options, sampleRate));
  if (options.durationSeconds !== undefined) args.push("-t", String(options.durationSeconds));
  args.push("-ac", "1", "-ar", String(sampleRate), "-c:a", "libmp3lame", "-b:a", options.bitrate ?? "64k");
  args.push("-content_type", "audio/mpeg", "-ice_name", "Spillway test tone", "-f", "mp3", icecast.sourceUrl(mount));

  const child = spawn(ffmpeg!, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let output = "";
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedWith = `code ${code}, signal ${signal}`;
      resolve();
    });
    child.once("error", (err) => {
      exitedWith = err.message;
      resolve();
    });
  });

  let endedPromise: Promise<void> | undefined;
  const ended = () =>
    (endedPromise ??= (async () => {
      await exited;
      await waitFor(
        `Icecast to drop ${mount}`,
        async () => ((await icecast.source(mount)) === undefined ? true : undefined),
        SHOW_END_TIMEOUT_MS,
      );
      if (recorded === undefined) return;
      await waitFor(
        `Icecast to close the dump file of ${mount}`,
        async () => ((await icecast.errorLog()).split(closingLine).length > closingsBefore ? true : undefined),
        SHOW_END_TIMEOUT_MS,
      );
      // The log line comes just before fclose(): wait until the size settles.
      let size = -1;
      await waitFor(
        `the dump file of ${mount} to settle`,
        async () => {
          const now = (await stat(recorded)).size;
          const settled = now === size;
          size = now;
          return settled ? true : undefined;
        },
        SHOW_END_TIMEOUT_MS,
        100,
      );
    })());

  let stopPromise: Promise<void> | undefined;
  const stop = () =>
    (stopPromise ??= (async () => {
      detach();
      await stopGroup(child, STOP_TIMEOUT_MS);
      await ended();
    })());
  const detach = attach(icecast, stop);

  try {
    await waitFor(
      `${mount} to go live`,
      async () => {
        if (exitedWith !== undefined) throw new Error(`ffmpeg exited (${exitedWith})`);
        // Listed with its format: on a busy machine Icecast lists the mount a moment before its server_type.
        return (await icecast.source(mount))?.server_type !== undefined ? true : undefined;
      },
      options.readyTimeoutMs ?? SOURCE_READY_TIMEOUT_MS,
    );
    if (exitedWith !== undefined) throw new Error(`ffmpeg exited (${exitedWith})`);
  } catch (err) {
    await stopGroup(child, STOP_TIMEOUT_MS).catch(() => undefined);
    detach();
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `${reason}\n--- command: ${ffmpeg} ${args.join(" ")}\n--- ffmpeg output:\n${output}` +
        `\n--- Icecast error.log (tail):\n${tail(await icecast.errorLog(), 20)}`,
      { cause: err },
    );
  }

  return { mount, pid: child.pid!, output: () => output, ended, stop };
}

// ---------------------------------------------------------------------------
// A front that says "release" on one path

export interface ReleasingFrontOptions {
  /** The paths answered with the release header (default `/rooms/<room>/bye`, GET only). */
  path?: RegExp;
}

export interface ReleasingFront {
  /** http://127.0.0.1:<port>: give this to Spillway as its origin. */
  readonly url: string;
  readonly port: number;
  /** The paths (with query) answered with `Spillway-Command: release`, oldest first. */
  readonly releases: string[];
  /** Requests proxied to Icecast right now. */
  active(): number;
  /**
   * The most requests on `paths` that were proxied to Icecast at one instant
   * since `since` (ms; default: ever), counted exactly as each one opened and
   * closed: no sampling gap can hide an overlap. `bySeat` counts, instead,
   * the most at one instant that carried one seat's `Spillway-Pass` (its `sid`).
   */
  peakStreams(paths: string | readonly string[], since?: number, bySeat?: boolean): number;
  /** The seats (`sid`s of the Spillway-Pass, or null without one) of the requests on `paths` passed to Icecast since `since`. */
  seatsSeen(paths: string | readonly string[], since?: number): Set<string | null>;
  close(): Promise<void>;
}

/** A request proxied to Icecast: its path, its seat (the `sid` of its Spillway-Pass) and when it was open. */
interface Upstream {
  path: string;
  sid: string | null;
  openedAt: number;
  closedAt: number | null;
}

/** The `sid` of a Spillway-Pass header, read without verifying (the front only counts). */
function sidOf(pass: string | string[] | undefined): string | null {
  const payload = typeof pass === "string" ? pass.split(".")[1] : undefined;
  if (payload === undefined) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sid?: unknown };
    return typeof claims.sid === "string" ? claims.sid : null;
  } catch {
    return null;
  }
}

/** The most of `upstreams` open at one instant since `since`, grouped by `group` (the largest group's). */
function mostAtOnce(upstreams: Upstream[], since: number, group: (u: Upstream) => string): number {
  const events: { at: number; delta: number; key: string }[] = [];
  for (const u of upstreams) {
    if (u.closedAt !== null && u.closedAt < since) continue;
    events.push({ at: Math.max(u.openedAt, since), delta: 1, key: group(u) });
    if (u.closedAt !== null) events.push({ at: u.closedAt, delta: -1, key: group(u) });
  }
  // At one instant a close counts before an open: a stream cut as the next one opens never overlapped it.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const open = new Map<string, number>();
  let most = 0;
  for (const e of events) {
    const n = (open.get(e.key) ?? 0) + e.delta;
    open.set(e.key, n);
    most = Math.max(most, n);
  }
  return most;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/**
 * Start a Node HTTP front for `icecast`: `GET /rooms/<room>/bye` gets 200 with
 * `Spillway-Command: release`; every other request is streamed to Icecast and
 * back unbuffered, a disconnect on either side closing the other.
 */
export async function startReleasingFront(
  icecast: RunningIcecast,
  options: ReleasingFrontOptions = {},
): Promise<ReleasingFront> {
  const releasePath = options.path ?? /^\/rooms\/[^/]+\/bye$/;
  const releases: string[] = [];
  const upstreams = new Set<ReturnType<typeof request>>();
  const history: Upstream[] = [];

  const server: Server = createServer((req, res) => {
    const target = req.url ?? "/";
    const pathname = target.split("?")[0]!;
    if (req.method === "GET" && releasePath.test(pathname)) {
      releases.push(target);
      const body = "bye\n";
      res.writeHead(200, {
        "spillway-command": "release",
        "content-type": "text/plain; charset=utf-8",
        "cache-control": "no-store",
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }

    const upstream = request({
      host: "127.0.0.1",
      port: icecast.port,
      method: req.method,
      path: target,
      headers: { ...endToEnd(req.headers), host: `127.0.0.1:${icecast.port}` },
      agent: false,
    });
    upstreams.add(upstream);
    const seen: Upstream = {
      path: pathname,
      sid: sidOf(req.headers["spillway-pass"]),
      openedAt: Date.now(),
      closedAt: null,
    };
    history.push(seen);
    upstream.once("close", () => {
      upstreams.delete(upstream);
      seen.closedAt = Date.now();
    });
    upstream.setNoDelay(true);

    upstream.once("response", (answer: IncomingMessage) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
      // Icecast cut the stream (the show ended, or it dropped the listener): cut ours too.
      answer.once("error", () => res.destroy());
      answer.once("aborted", () => res.destroy());
    });
    upstream.once("error", (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
        res.end(`the front could not reach Icecast: ${err.message}\n`);
      } else {
        res.destroy(err);
      }
    });
    // The listener went away: hang up on Icecast, so that it counts one listener less.
    res.once("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.socket.setNoDelay(true);
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve, reject) => {
      detach();
      for (const upstream of upstreams) upstream.destroy();
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }));
  const detach = attach(icecast, close);

  const on = (paths: string | readonly string[]) => {
    const wanted = new Set(typeof paths === "string" ? [paths] : paths);
    return history.filter((u) => wanted.has(u.path));
  };
  const peakStreams = (paths: string | readonly string[], since = 0, bySeat = false) =>
    mostAtOnce(on(paths), since, (u) => (bySeat ? (u.sid ?? "no seat") : "all"));
  const seatsSeen = (paths: string | readonly string[], since = 0) =>
    new Set(
      on(paths)
        .filter((u) => (u.closedAt ?? Infinity) >= since)
        .map((u) => u.sid),
    );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    releases,
    active: () => upstreams.size,
    peakStreams,
    seatsSeen,
    close,
  };
}

// ---------------------------------------------------------------------------
// Listening

export interface StreamListener {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Bytes received so far. */
  received(): number;
  /** The first `count` bytes of the body, once that many arrived (at most `keepBytes`). */
  bytes(count: number, timeoutMs?: number): Promise<Buffer>;
  /** Resolves when the answer ended or was cut (by either side). */
  readonly ended: Promise<void>;
  /** Has it ended (`ended` resolved)? */
  isEnded(): boolean;
  /** Hang up. */
  close(): void;
}

/**
 * A promise that settles when `check` says so: it is asked at once and each
 * time something wakes `waiters` (it registers itself there until settled),
 * and fails with `late()` after `timeoutMs`.
 */
export function waitAwake<T>(
  waiters: Set<() => void>,
  timeoutMs: number,
  late: () => string,
  check: () => { done: T } | { failed: string } | null,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const wake = () => {
      const outcome = check();
      if (outcome === null) return;
      finish();
      if ("done" in outcome) resolve(outcome.done);
      else reject(new Error(outcome.failed));
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(late()));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      waiters.delete(wake);
    };
    waiters.add(wake);
    wake();
  });
}

/** Open a plain HTTP GET (node:http, no pooling) and keep reading its body as a player would. */
export function listen(
  url: string,
  options: { headers?: Record<string, string>; keepBytes?: number; timeoutMs?: number } = {},
): Promise<StreamListener> {
  const keepBytes = options.keepBytes ?? 1 << 20;
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: options.headers, agent: false, timeout: options.timeoutMs ?? 10_000 });
    req.once("timeout", () => req.destroy(new Error(`no answer from ${url} in time`)));
    req.once("error", reject);
    req.once("response", (res) => {
      req.setTimeout(0);
      const kept: Buffer[] = [];
      let keptLength = 0;
      let total = 0;
      const waiters = new Set<() => void>();
      res.on("data", (chunk: Buffer) => {
        total += chunk.length;
        if (keptLength < keepBytes) {
          const part = chunk.subarray(0, keepBytes - keptLength);
          kept.push(part);
          keptLength += part.length;
        }
        for (const wake of waiters) wake();
      });
      // Set before the waiters wake, so that a `bytes()` waiting on a cut stream fails at once as ended.
      let isEnded = false;
      const ended = new Promise<void>((done) => {
        res.once("close", () => {
          isEnded = true;
          done();
          for (const wake of waiters) wake();
        });
      });
      req.on("error", () => undefined); // a hang-up after the answer is not an error here
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        received: () => total,
        ended,
        isEnded: () => isEnded,
        close: () => {
          req.destroy();
          res.destroy();
        },
        bytes(count, timeoutMs = 10_000) {
          if (count > keepBytes) return Promise.reject(new Error(`keeps only ${keepBytes} bytes (keepBytes)`));
          return waitAwake<Buffer>(
            waiters,
            timeoutMs,
            () => `only ${total} of ${count} bytes from ${url} within ${timeoutMs} ms`,
            () => {
              if (keptLength >= count) return { done: Buffer.concat(kept).subarray(0, count) };
              if (isEnded) return { failed: `${url} ended after ${total} bytes, before ${count}` };
              return null;
            },
          );
        },
      });
    });
  });
}

// ---------------------------------------------------------------------------
// ffprobe

export interface FfprobeStream {
  index: number;
  codec_name?: string;
  codec_type?: string;
  sample_rate?: string;
  channels?: number;
  bit_rate?: string;
  duration?: string;
  [field: string]: unknown;
}

export interface FfprobeFormat {
  filename?: string;
  format_name?: string;
  duration?: string;
  size?: string;
  bit_rate?: string;
  [field: string]: unknown;
}

export interface FfprobeResult {
  streams: FfprobeStream[];
  format: FfprobeFormat;
}

/** The first audio stream, as numbers: what a test usually asserts. */
export interface AudioSummary {
  codec: string;
  sampleRate: number;
  channels: number;
  /** NaN when ffprobe cannot tell (a live stream read from its URL). */
  durationSeconds: number;
}

/** `ffprobe -v error -show_streams -show_format -of json` on a file path, a URL or bytes; the parsed JSON. */
export async function ffprobe(
  input: string | Uint8Array,
  options: { format?: string; timeoutMs?: number } = {},
): Promise<FfprobeResult> {
  const { ffprobe: binary } = await requireDebian(["ffprobe"]);
  let scratch: string | undefined;
  let target: string;
  if (typeof input === "string") {
    target = input;
  } else {
    scratch = await tempDir("spillway-ffprobe-");
    // No extension: ffprobe weighs a name's extension when it guesses the format, and a
    // ".bin" makes it read an MP3 that starts mid-frame (any live stream) as "Binary text".
    // Even so its guess failed once on a live stream's bytes ("Invalid data"): callers that
    // read a stream served as audio/mpeg name the format (`format: "mp3"`), and the
    // MP3 demuxer itself then finds the frames, or fails.
    target = join(scratch, "probe");
    await writeFile(target, input);
  }
  const args = ["-v", "error", "-show_streams", "-show_format", "-of", "json"];
  if (options.format !== undefined) args.push("-f", options.format);
  args.push(target);
  try {
    const { stdout } = await execFileAsync(binary!, args, {
      timeout: options.timeoutMs ?? 15_000,
      killSignal: "SIGKILL",
      maxBuffer: 16 << 20,
    });
    const parsed = JSON.parse(stdout) as Partial<FfprobeResult>;
    return { streams: parsed.streams ?? [], format: parsed.format ?? {} };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new Error(
      `ffprobe could not read ${typeof input === "string" ? input : `${input.length} bytes (${headOf(input)})`}: ${detail}`,
      {
        cause: err,
      },
    );
  } finally {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  }
}

/** The first 16 bytes as hex, to tell what a decoder was given. */
function headOf(bytes: Uint8Array): string {
  return `starting ${Buffer.from(bytes.subarray(0, 16)).toString("hex")}`;
}

/** The first audio stream of an ffprobe result as numbers; throws when there is none. */
export function audioSummary(result: FfprobeResult): AudioSummary {
  const audio = result.streams.find((s) => s.codec_type === "audio");
  if (audio === undefined) throw new Error(`ffprobe found no audio stream: ${JSON.stringify(result)}`);
  return {
    codec: audio.codec_name ?? "",
    sampleRate: Number(audio.sample_rate ?? NaN),
    channels: Number(audio.channels ?? NaN),
    durationSeconds: Number(result.format.duration ?? audio.duration ?? NaN),
  };
}

/**
 * `npm run demo:icecast`: Spillway in front of a real streaming server.
 *
 * Starts three processes, each in its own process group, all on 127.0.0.1:
 * Icecast (Debian's `icecast2`, its config, logs and pid file in a temporary
 * directory, on a free port), ffmpeg feeding it a generated chord as live MP3
 * on the mount `/rooms/live/stream.mp3`, and Spillway (`src/cli/start.ts`,
 * i.e. `npm start`) with ORIGIN_URL pointing at Icecast. Then it prints the
 * guarded stream's URL, Icecast's status page and the admin token. Ctrl-C
 * (or SIGTERM) stops all three and removes the directory.
 *
 * Run as root, Icecast refuses to keep root: the config tells it to drop to
 * `icecast2:icecast` (Debian's package creates them), so the temporary
 * directory is handed to that user. Options: `--port <n>` for Spillway.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants, readFileSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { stopGroup } from "./process-group.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const ROOM = "live";
const MOUNT = `/rooms/${ROOM}/stream.mp3`;
const ICECAST_USER = "icecast2";
const ICECAST_GROUP = "icecast";
/** A soft A-major chord that swells every four seconds. */
const TONE =
  "aevalsrc=(0.22*sin(2*PI*220*t)+0.16*sin(2*PI*277.18*t)+0.14*sin(2*PI*329.63*t)+0.06*sin(2*PI*440*t))" +
  "*(0.75+0.25*sin(2*PI*0.25*t)):s=44100:c=mono";

const say = (line: string) => console.log(`demo:icecast  ${line}`);

function findBinary(name: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The uid or gid of `name` in /etc/passwd or /etc/group, or null. */
function idOf(file: "/etc/passwd" | "/etc/group", name: string): number | null {
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  return line === undefined ? null : Number(line.split(":")[2]);
}

const xml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function icecastConfig(o: { port: number; dir: string; sourcePassword: string; adminPassword: string }): string {
  const asRoot = process.getuid?.() === 0;
  return `<icecast>
  <location>Spillway demo</location>
  <admin>demo@localhost</admin>
  <hostname>127.0.0.1</hostname>
  <limits><clients>100</clients><sources>2</sources><burst-size>65535</burst-size></limits>
  <authentication>
    <source-password>${xml(o.sourcePassword)}</source-password>
    <relay-password>${xml(o.sourcePassword)}</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>${xml(o.adminPassword)}</admin-password>
  </authentication>
  <listen-socket><port>${o.port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>${xml(o.dir)}</basedir>
    <logdir>${xml(o.dir)}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>${xml(join(o.dir, "icecast.pid"))}</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>${
    asRoot ? `<changeowner><user>${ICECAST_USER}</user><group>${ICECAST_GROUP}</group></changeowner>` : ""
  }</security>
</icecast>
`;
}

interface Child {
  name: string;
  process: ChildProcess;
  /** The last of what it printed. */
  output: string;
  /** Also pass what it prints on to this terminal. */
  relay: boolean;
}

const children: Child[] = [];
let dir: string | null = null;
let stopping: Promise<never> | null = null;

function start(name: string, command: string, args: string[], cwd = root): Child {
  const child: Child = {
    name,
    output: "",
    relay: false,
    process: spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] }),
  };
  const keep = (chunk: Buffer) => {
    child.output = (child.output + chunk.toString("utf8")).slice(-16_384);
    if (child.relay) process.stdout.write(chunk);
  };
  child.process.stdout!.on("data", keep);
  child.process.stderr!.on("data", keep);
  child.process.once("exit", (code, signal) => {
    if (stopping !== null) return;
    say(`${name} stopped unexpectedly (code ${code}, signal ${signal}). Its last output:`);
    console.log(stripVTControlCharacters(child.output).split("\n").slice(-20).join("\n"));
    void shutdown(1);
  });
  children.push(child);
  return child;
}

/** Stop everything started (once, however often asked), remove the directory, exit. */
function shutdown(code: number): Promise<never> {
  stopping ??= (async () => {
    say("stopping…");
    // Spillway first (no new listeners), then the source, then Icecast.
    for (const child of [...children].reverse()) {
      await stopGroup(child.process, 5_000).catch((err: unknown) =>
        say(`could not stop ${child.name}: ${String(err)}`),
      );
    }
    if (dir !== null) await rm(dir, { recursive: true, force: true });
    say("stopped.");
    process.exit(code);
  })();
  return stopping;
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    // Shutting down already (a child died, or Ctrl-C): that ends the process.
    if (stopping !== null) await stopping;
    if (Date.now() > deadline) {
      say(`timed out waiting for ${what}.`);
      for (const child of children) {
        console.log(`--- ${child.name}:\n${stripVTControlCharacters(child.output).split("\n").slice(-15).join("\n")}`);
      }
      await shutdown(1);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function icecastSources(port: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/status-json.xsl`);
  if (!res.ok) return [];
  const stats = (await res.json()) as { icestats?: { source?: { listenurl?: string } | { listenurl?: string }[] } };
  const source = stats.icestats?.source;
  const list = source === undefined ? [] : Array.isArray(source) ? source : [source];
  return list.map((s) => new URL(s.listenurl ?? "http://x/").pathname);
}

// --- main

const icecast = findBinary("icecast2");
const ffmpeg = findBinary("ffmpeg");
if (icecast === null || ffmpeg === null) {
  const missing = [icecast === null ? "icecast2" : null, ffmpeg === null ? "ffmpeg" : null].filter(Boolean);
  console.error(
    `demo:icecast needs ${missing.join(" and ")}, which ${missing.length > 1 ? "are" : "is"} not installed.`,
  );
  console.error("Install them (Debian or Ubuntu) with:\n\n  sudo apt-get install icecast2 ffmpeg\n");
  console.error("(Say no when icecast2 asks to configure its own server: this script writes its own config.)");
  process.exit(1);
}

const asRoot = process.getuid?.() === 0;
const uid = idOf("/etc/passwd", ICECAST_USER);
const gid = idOf("/etc/group", ICECAST_GROUP);
if (asRoot && (uid === null || gid === null)) {
  console.error(`Run as root, Icecast must drop to ${ICECAST_USER}:${ICECAST_GROUP}, which do not exist.`);
  console.error("Debian's package creates them: sudo apt-get install icecast2");
  process.exit(1);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void shutdown(0));

const portArg = process.argv.indexOf("--port");
const spillwayPort = portArg > 0 ? Number(process.argv[portArg + 1]) : await freePort();
const icecastPort = await freePort();
const sourcePassword = randomBytes(12).toString("hex");
const adminPassword = randomBytes(12).toString("hex");

dir = await mkdtemp(join(tmpdir(), "spillway-icecast-"));
await writeFile(join(dir, "icecast.xml"), icecastConfig({ port: icecastPort, dir, sourcePassword, adminPassword }));
if (asRoot) {
  await chown(dir, uid!, gid!);
  await chown(join(dir, "icecast.xml"), uid!, gid!);
}

const icecastUrl = `http://127.0.0.1:${icecastPort}`;
say(`starting Icecast on ${icecastUrl} (config in ${dir})…`);
start("Icecast", icecast, ["-c", join(dir, "icecast.xml")], dir);
await waitFor("Icecast", async () => (await fetch(`${icecastUrl}/status-json.xsl`)).ok, 15_000);
say("Icecast is up.");

say(`starting the source: ffmpeg, a generated chord as live MP3 to the mount ${MOUNT}…`);
start(
  "ffmpeg",
  ffmpeg,
  [
    ...["-hide_banner", "-loglevel", "warning", "-nostdin", "-re", "-f", "lavfi", "-i", TONE],
    ...["-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3"],
    `icecast://source:${sourcePassword}@127.0.0.1:${icecastPort}${MOUNT}`,
  ],
  dir,
);
await waitFor(`the mount ${MOUNT}`, async () => (await icecastSources(icecastPort)).includes(MOUNT), 15_000);
say(`the source is live on ${icecastUrl}${MOUNT}.`);

say(`starting Spillway on http://127.0.0.1:${spillwayPort} (wrangler dev; the first start takes a few seconds)…`);
const spillway = start(
  "Spillway",
  process.execPath,
  ["src/cli/start.ts", "--port", String(spillwayPort), "--ip", "127.0.0.1", "--var", `ORIGIN_URL:${icecastUrl}`],
  root,
);
await waitFor("Spillway", () => stripVTControlCharacters(spillway.output).includes("Spillway is running."), 90_000);

const base = `http://127.0.0.1:${spillwayPort}`;
const banner = stripVTControlCharacters(spillway.output).split("\n");
const tokenLine = banner.find((l) => l.includes("Admin token:"))?.trim() ?? "Admin token: (see .dev.vars)";
console.log(
  [
    "",
    "Spillway is running in front of Icecast.",
    `  Guarded stream:   ${base}${MOUNT}   (open it in a browser: a place in line, then the live MP3)`,
    `  Room status:      ${base}/_spillway/rooms/${ROOM}/status`,
    `  Dashboard:        ${base}/_spillway/admin/`,
    `  ${tokenLine}`,
    `  Icecast status:   ${icecastUrl}/status.xsl   (Icecast itself: not guarded; admin / ${adminPassword})`,
    "",
    "  With curl:",
    `    curl -s -X POST ${base}/_spillway/rooms/${ROOM}/join -H 'accept: application/json'   # gives "pass"`,
    `    curl -H "Authorization: Bearer <pass>" ${base}${MOUNT} --max-time 5 -o /tmp/live.mp3`,
    "",
    "Press Ctrl-C to stop Spillway, ffmpeg and Icecast. Spillway's log follows.",
    "",
  ].join("\n"),
);
spillway.relay = true;

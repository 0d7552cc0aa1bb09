/**
 * The `spillway` CLI's commands, run in-process against a stand-in admin
 * API: the text people read, --json, the errors (unreachable URL, refused
 * token, read-only token, refused fields, not JSON) and the exit codes.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/ops/main.ts";
import { networkReason, unreachable } from "../../src/cli/ops/admin-client.ts";
import { effectiveConfig } from "../../src/policy/config.ts";
import { Capture, closedPort, DEFAULTS, fakePass, json, READ_TOKEN, useStandIn, WRITE_TOKEN } from "./cli-stand-in.ts";

const NOW = new Date("2026-11-22T19:00:00Z");
const standIn = useStandIn((s) => {
  s.requests.length = 0;
});
/** Run one command line with SPILLWAY_URL/SPILLWAY_TOKEN pointing at the stand-in unless `env` says otherwise. */
async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main({
    argv,
    env: { SPILLWAY_URL: standIn().url, SPILLWAY_TOKEN: WRITE_TOKEN, ...env },
    stdout,
    stderr,
    now: () => NOW,
  });
  return { code, out: stdout.text, err: stderr.text };
}

describe("spillway rooms", () => {
  it("lists rooms with when they were first seen, sending the token as a bearer", async () => {
    const { code, out, err } = await run(["rooms"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toBe(["ROOM  FIRST SEEN (UTC)", "demo  2026-11-22 17:00:00Z  2 h ago", ""].join("\n"));
    expect(standIn().requests).toMatchObject([
      { method: "GET", path: "/_spillway/admin/rooms", authorization: `Bearer ${WRITE_TOKEN}` },
    ]);
  });

  it("prints the Worker's JSON with --json", async () => {
    const { code, out } = await run(["rooms", "--json"]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ rooms: [{ room: "demo", createdAt: "2026-11-22T17:00:00.000Z" }] });
  });
});

describe("spillway config", () => {
  it("get: every field in force, and which ones the room sets", async () => {
    const { code, out } = await run(["config", "get", "demo"]);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        "room demo (shuffle seed: none)",
        "",
        "FIELD           VALUE  SET BY",
        "capacity        1000   room",
        "admitPerMinute  600    default",
        "mode            open   default",
        "shards          4      room",
        "maxWaitSeconds  null   default",
        "maxQueue        null   default",
        "startsAt        null   default",
        "shuffleAtStart  false  default",
        "recordingUrl    null   default",
        "title           null   default",
        "logoUrl         null   default",
        "accentColor     null   default",
        "message         null   default",
        "challengeBits   0      default",
        "origin          proxy  default",
        "originRoom      null   default",
        "liveMounts      null   default",
        "lanes           null   default",
        "identity        null   default",
        "inviteOnly      false  default",
        "",
      ].join("\n"),
    );
  });

  it("set: a value that starts with { goes as a JSON object (lanes, identity); get shows each lane on a line", async () => {
    const lanes = '{"stage":{"reserved":20},"priority":{"share":0.3,"cap":100}}';
    const { code, out, err } = await run(["config", "set", "lanes-room", `lanes=${lanes}`, "inviteOnly=true"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(standIn().requests[0]).toMatchObject({
      method: "PATCH",
      body: { lanes: { stage: { reserved: 20 }, priority: { share: 0.3, cap: 100 } }, inviteOnly: true },
    });
    expect(out).toMatch(
      /^lanes-room: set lanes=\{"stage":\{"reserved":20\},"priority":\{"share":0\.3,"cap":100\}\}, inviteOnly=true\n/,
    );
    // The table stays narrow; the lanes follow it in rank order, defaults filled in.
    expect(out).toMatch(/^lanes {11}\(below\) {2}room$/m);
    expect(out).toMatch(/^inviteOnly {6}true {5}room$/m);
    expect(
      out.endsWith(
        [
          "lanes:",
          '  stage     {"reserved":20,"cap":null,"share":null,"lend":true,"shards":1}',
          '  priority  {"reserved":0,"cap":100,"share":0.3,"lend":true,"shards":1}',
          "",
        ].join("\n"),
      ),
    ).toBe(true);
    const got = await run(["config", "get", "lanes-room"]);
    expect(got.out).toContain('\n\nlanes:\n  stage     {"reserved":20,');
  });

  it("set: a value that starts with [ goes as a JSON list (liveMounts); one that is not JSON is a usage error", async () => {
    const { code, out, err } = await run(["config", "set", "mounts-room", 'liveMounts=["stream.mp3","low.mp3"]']);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(standIn().requests[0]).toMatchObject({ method: "PATCH", body: { liveMounts: ["stream.mp3", "low.mp3"] } });
    expect(out).toMatch(/^mounts-room: set liveMounts=\["stream\.mp3","low\.mp3"\]\n/);
    const bad = await run(["config", "set", "mounts-room", "liveMounts=[stream.mp3]"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/liveMounts is not valid JSON .*quote the list for the shell: liveMounts='\[\.\.\.\]'/);
    expect(standIn().requests).toHaveLength(1);
  });

  it("set: a lane setting the Worker refuses is named by its path, with nothing changed", async () => {
    const { code, err } = await run(["config", "set", "demo", 'lanes={"stage":{"reserved":-1}}']);
    expect(code).toBe(1);
    expect(err).toBe(
      [
        "spillway: the change to demo was refused, and nothing was changed:",
        "  lanes.stage.reserved: must be at least 0",
        "",
      ].join("\n"),
    );
  });

  it("get: lists a field a newer Worker adds, and refuses a config that breaks the contract", async () => {
    let config: Record<string, unknown> = { ...effectiveConfig(DEFAULTS, {}), laterField: 7 };
    standIn().override = (_req, res) => {
      json(res, 200, { room: "demo", config, overrides: { laterField: 7 }, shuffleSeed: 12 });
      return true;
    };
    const newer = await run(["config", "get", "demo"]);
    expect(newer.code).toBe(0);
    expect(newer.out).toContain("room demo (shuffle seed: 12)");
    expect(newer.out).toMatch(/\nlaterField +7 +room\n/);
    config = { ...effectiveConfig(DEFAULTS, {}), capacity: -1 };
    const broken = await run(["config", "get", "demo"]);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain("with JSON this CLI does not read (config.capacity:");
  });

  it("set: sends numbers, booleans, null and strings as JSON, and shows the config after", async () => {
    const { code, out, err } = await run([
      "config",
      "set",
      "town-hall",
      "capacity=50",
      "shuffleAtStart=true",
      "maxQueue=null",
      "mode=overflow",
      "startsAt=2026-11-22T20:00:00Z",
    ]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(standIn().requests[0]).toMatchObject({
      method: "PATCH",
      path: "/_spillway/admin/rooms/town-hall",
      body: { capacity: 50, shuffleAtStart: true, maxQueue: null, mode: "overflow", startsAt: "2026-11-22T20:00:00Z" },
    });
    expect(out).toMatch(
      /^town-hall: set capacity=50, shuffleAtStart=true, maxQueue=null, mode=overflow, startsAt=2026-11-22T20:00:00Z\n\nroom town-hall/,
    );
    expect(out).toMatch(/^capacity {8}50 {20}room$/m);
    expect(out).toMatch(/^admitPerMinute {2}600 {19}default$/m);
  });

  it("set: prints each field the Worker refused, with the value given, and exits 1", async () => {
    const { code, out, err } = await run(["config", "set", "demo", "capacity=ten", "mode=maybe", "shards=4"]);
    expect(code).toBe(1);
    expect(out).toBe("");
    expect(err).toBe(
      [
        "spillway: the change to demo was refused, and nothing was changed:",
        "  capacity=ten: must be a number",
        "  mode=maybe: must be one of open, hold, overflow, closed",
        "",
      ].join("\n"),
    );
  });

  it("set: names fields the Worker does not know", async () => {
    const { code, err } = await run(["config", "set", "demo", "capactiy=5"]);
    expect(code).toBe(1);
    expect(err).toContain("  capactiy=5: is not a config field");
  });

  it("set: a read-only token is told so (403), exit 1", async () => {
    const { code, err } = await run(["config", "set", "demo", "capacity=5"], { SPILLWAY_TOKEN: READ_TOKEN });
    expect(code).toBe(1);
    expect(err).toBe(
      "spillway: this token is read-only: PATCH /_spillway/admin/rooms/demo needs an admin token with write access " +
        "(403 forbidden: This admin token may read but not change anything).\n",
    );
  });

  it("set: usage mistakes exit 2 before anything is sent", async () => {
    for (const argv of [
      ["config", "set", "demo"],
      ["config", "set", "demo", "capacity"],
      ["config", "set", "demo", "capacity=1", "capacity=2"],
      ["config", "set", "demo", "capacity=1e999"],
      // Not JSON (the shell ate the quotes), and JSON that is not an object.
      ["config", "set", "demo", "lanes={stage:{reserved:20}}"],
      ["config", "set", "demo", 'lanes={"stage":1'],
      ["config", "set"],
      ["config"],
    ]) {
      const { code, err } = await run(argv);
      expect(code, argv.join(" ")).toBe(2);
      expect(err, argv.join(" ")).toMatch(/^spillway: .+\nRun "spillway config( set)? --help" for usage\.\n$/);
    }
    expect(standIn().requests).toEqual([]);
  });
});

describe("spillway audit", () => {
  it("prints who changed what, one change a line, oldest first", async () => {
    const { code, out } = await run(["audit", "demo"]);
    expect(code).toBe(0);
    expect(out).toBe(
      [
        "AT (UTC)              BY       CHANGE",
        "2026-11-22 17:05:00Z  ops-bob  capacity: 100 → 1000",
        "2026-11-22 18:30:12Z  admin    mode: hold → open",
        "                               recordingUrl: null → https://rec.example/1",
        "",
      ].join("\n"),
    );
  });

  it("says so when nothing was changed, and --json gives the entries as sent", async () => {
    expect((await run(["audit", "quiet-room"])).out).toBe("No config changes recorded for quiet-room.\n");
    const { out } = await run(["audit", "demo", "--json"]);
    expect(JSON.parse(out)).toEqual({ room: "demo", entries: standIn().audit.get("demo") });
  });

  it("a read-only token may read it", async () => {
    expect((await run(["audit", "demo"], { SPILLWAY_TOKEN: READ_TOKEN })).code).toBe(0);
  });
});

describe("spillway release", () => {
  it("posts the pass and names the seat it freed", async () => {
    const pass = fakePass({ aud: "demo", sub: "listener-7", sid: "seat-1" });
    const { code, out } = await run(["release", "demo", pass]);
    expect(code).toBe(0);
    expect(out).toBe("demo: released seat seat-1 (listener listener-7).\n");
    expect(standIn().requests[0]).toMatchObject({
      method: "POST",
      path: "/_spillway/admin/rooms/demo/release",
      body: { pass },
    });
  });

  it("exits 0 when there was nothing to free, saying why", async () => {
    const gone = await run(["release", "demo", fakePass({ aud: "demo", sid: "gone-seat" })]);
    expect(gone).toEqual({
      code: 0,
      out: "demo: nothing to release for seat gone-seat: it had ended already.\n",
      err: "",
    });
    const expired = await run(["release", "demo", fakePass({ aud: "demo", sid: "expired-seat" })]);
    expect(expired.out).toContain("the pass has expired");
    const raw = await run(["release", "demo", fakePass({ aud: "demo", sid: "gone-seat" }), "--json"]);
    expect(JSON.parse(raw.out)).toEqual({ room: "demo", released: false });
  });

  it("refuses, before sending, what is not a pass or is another room's (exit 2)", async () => {
    const notJwt = await run(["release", "demo", "not-a-jwt"]);
    expect(notJwt.code).toBe(2);
    expect(notJwt.err).toContain("the pass is not a JWT");
    const other = await run(["release", "demo", fakePass({ aud: "other-room", sid: "s" })]);
    expect(other.code).toBe(2);
    expect(other.err).toContain('this pass is for room "other-room", not "demo"');
    expect(standIn().requests).toEqual([]);
  });

  it("shows the Worker's field error for a pass it refuses", async () => {
    standIn().override = (_req, res) => {
      json(res, 400, {
        error: {
          code: "invalid_body",
          message: "The request body is not valid.",
          fields: [{ field: "pass", message: "is not a valid pass here (bad_signature)" }],
        },
      });
      return true;
    };
    const { code, err } = await run(["release", "demo", fakePass({ aud: "demo" })]);
    expect(code).toBe(1);
    expect(err).toBe(
      `spillway: ${standIn().url} refused POST /_spillway/admin/rooms/demo/release (400 invalid_body: The request body is not valid)\n` +
        "  pass: is not a valid pass here (bad_signature)\n",
    );
  });
});

describe("errors", () => {
  it("a URL nobody answers: says which, that it was refused, and how to set it (exit 1)", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { code, err } = await run(["rooms"], { SPILLWAY_URL: url });
    expect(code).toBe(1);
    expect(err).toBe(
      `spillway: could not reach the Worker at ${url} (connection refused). Is it running there? ` +
        `Set the URL with --url or SPILLWAY_URL (this one is from SPILLWAY_URL).\n`,
    );
    const flagged = await run(["rooms", "--url", url]);
    expect(flagged.err).toContain("(this one is from --url)");
  });

  it("DNS failures and the default URL are named", () => {
    const dns = Object.assign(new TypeError("fetch failed"), {
      cause: Object.assign(new Error("getaddrinfo ENOTFOUND spillway.invalid"), { code: "ENOTFOUND" }),
    });
    expect(networkReason(dns)).toBe("host not found");
    const both = new TypeError("fetch failed", {
      cause: Object.assign(new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })]), {}),
    });
    expect(networkReason(both)).toBe("connection refused");
    expect(unreachable({ url: new URL("http://127.0.0.1:8787"), urlSource: "default" }, dns)).toBe(
      "could not reach the Worker at http://127.0.0.1:8787 (host not found). Is it running there? " +
        "Set the URL with --url or SPILLWAY_URL (this one is the default URL; `npm start` serves it).",
    );
  });

  it("a wrong token: the token was refused (401), exit 1", async () => {
    const { code, err } = await run(["rooms", "--token", "wrong-token"]);
    expect(code).toBe(1);
    expect(err).toBe(
      `spillway: the token was refused by ${standIn().url} (401 unauthorized: An admin token is required). ` +
        "The token from --token must be one of the Worker's admin tokens (ADMIN_TOKEN or ADMIN_TOKENS); " +
        "set it with --token or SPILLWAY_TOKEN.\n",
    );
  });

  it("no token at all is a usage error (exit 2), and nothing is sent", async () => {
    const { code, err } = await run(["rooms"], { SPILLWAY_TOKEN: undefined });
    expect(code).toBe(2);
    expect(err).toContain("spillway: no admin token: pass --token <token> or set SPILLWAY_TOKEN");
    expect(standIn().requests).toEqual([]);
  });

  it("a room id the Worker would refuse is a usage error (exit 2), and nothing is sent", async () => {
    for (const argv of [
      ["config", "get", "bad.room"],
      ["watch", "x".repeat(65)],
      ["audit", "café"],
    ]) {
      const { code, err } = await run(argv);
      expect(code).toBe(2);
      expect(err).toMatch(/is not a room id: room ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -\n/);
    }
    expect(standIn().requests).toEqual([]);
  });

  it("an answer that is not JSON: says what came back and asks whether --url is the Worker", async () => {
    const html = createServer((_req, res) =>
      res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><h1>Live room</h1>"),
    );
    await new Promise<void>((resolve) => html.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
    try {
      const { code, err } = await run(["rooms"], { SPILLWAY_URL: url });
      expect(code).toBe(1);
      expect(err).toBe(
        `spillway: ${url} answered GET /_spillway/admin/rooms with 200 and text/html, not JSON: ` +
          `"<!doctype html><h1>Live room</h1>". Is --url the Spillway Worker (not the room's origin or a proxy in front of it)?\n`,
      );
    } finally {
      html.closeAllConnections();
      html.close();
    }
  });

  it("JSON of another shape, and an endpoint the Worker lacks, are told apart", async () => {
    standIn().override = (req, res) => {
      if (req.url?.endsWith("/audit"))
        json(res, 404, { error: { code: "not_found", message: "There is nothing here." } });
      else json(res, 200, { hello: "world" });
      return true;
    };
    const shape = await run(["rooms"]);
    expect(shape.code).toBe(1);
    expect(shape.err).toContain("answered GET /_spillway/admin/rooms with JSON this CLI does not read (rooms:");
    const missing = await run(["audit", "demo"]);
    expect(missing.err).toBe(
      `spillway: ${standIn().url} has nothing at GET /_spillway/admin/rooms/demo/audit (404 not_found: There is nothing here). ` +
        "Is --url the Spillway Worker, and does its version have this endpoint?\n",
    );
  });

  it("a redirect is not followed (the token stays home); it names where it points", async () => {
    standIn().override = (_req, res) => {
      res.writeHead(301, { location: "https://live.example.com/_spillway/admin/rooms" }).end();
      return true;
    };
    const { code, err } = await run(["rooms"]);
    expect(code).toBe(1);
    expect(err).toBe(
      `spillway: ${standIn().url} redirects GET /_spillway/admin/rooms to https://live.example.com/_spillway/admin/rooms; ` +
        "set --url to where the Worker answers (https). This request sent the token unencrypted: " +
        "if that was over the internet, replace it.\n",
    );
  });

  it("a Worker error (5xx) shows its code and message", async () => {
    standIn().override = (_req, res) => {
      json(res, 503, { error: { code: "unavailable", message: "Spillway is busy; try again shortly." } });
      return true;
    };
    const { code, err } = await run(["config", "get", "demo"]);
    expect(code).toBe(1);
    expect(err).toBe(
      `spillway: ${standIn().url} refused GET /_spillway/admin/rooms/demo (503 unavailable: Spillway is busy; try again shortly)\n`,
    );
  });
});

describe("usage", () => {
  it("--help for the CLI and each command prints usage and exits 0", async () => {
    const top = await run(["--help"], { SPILLWAY_TOKEN: undefined });
    expect(top.code).toBe(0);
    expect(top.out).toMatch(/^spillway: operate a Spillway Worker/);
    for (const command of ["rooms", "config", "config get", "config set", "watch", "audit", "release"]) {
      const help = await run([...command.split(" "), "--help"]);
      expect(help.code, command).toBe(0);
      expect(help.out, command).toContain(`spillway ${command}`);
      expect((await run(["help", ...command.split(" ")])).out).toBe(help.out);
    }
    expect((await run(["config", "set", "-h"])).out).toContain(
      "Fields: capacity, admitPerMinute, mode, shards, maxWaitSeconds, maxQueue, startsAt, shuffleAtStart, recordingUrl, title, logoUrl, accentColor, message, challengeBits, origin, originRoom, liveMounts, lanes, identity, inviteOnly.",
    );
  });

  it("no command, an unknown command, an unknown option or a misplaced one exit 2", async () => {
    const none = await run([]);
    expect(none).toMatchObject({ code: 2, out: "" });
    expect(none.err).toMatch(/^spillway: operate a Spillway Worker/);
    const cases: [string[], string][] = [
      [["room"], 'spillway: there is no command "room"'],
      [["rooms", "--verbose"], "spillway: Unknown option '--verbose'"],
      [["rooms", "--interval", "5"], 'spillway: --interval only applies to "spillway watch"'],
      [["rooms", "extra"], 'spillway: unexpected "extra" after "spillway rooms"'],
      [["watch", "demo", "--interval", "0.1"], "spillway: --interval must be a number of seconds from 1 to 3600"],
      [["watch"], 'spillway: "spillway watch" needs <room>'],
      [
        ["rooms", "--url", "localhost:8787"],
        'spillway: --url must be an http(s) URL such as http://127.0.0.1:8787 (got "localhost:8787")',
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, err } = await run(argv);
      expect(code, argv.join(" ")).toBe(2);
      expect(err, argv.join(" ")).toContain(message);
      expect(err, argv.join(" ")).toMatch(/\nRun "spillway (rooms |watch )?--help" for usage\.\n$/);
    }
    expect(standIn().requests).toEqual([]);
  });

  it("--url wins over SPILLWAY_URL, and --version names the Node.js that runs it", async () => {
    const { code } = await run(["rooms", "--url", standIn().url], { SPILLWAY_URL: "http://127.0.0.1:1" });
    expect(code).toBe(0);
    const version = await run(["--version"]);
    expect(version.out).toBe(`spillway 0.1.0 (Node.js ${process.version})\n`);
  });

  it("a command interrupted by Ctrl-C exits 130 without a message", async () => {
    standIn().override = () => true; // never answers
    const interrupt = new AbortController();
    const stderr = new Capture();
    const done = main({
      argv: ["rooms"],
      env: { SPILLWAY_URL: standIn().url, SPILLWAY_TOKEN: WRITE_TOKEN },
      stdout: new Capture(),
      stderr,
      signal: interrupt.signal,
    });
    await new Promise((r) => setTimeout(r, 50));
    interrupt.abort();
    expect(await done).toBe(130);
    expect(stderr.text).toBe("");
  });
});

/**
 * The Icecast hook's parsing and answers (src/origins/icecast.ts) and the
 * admin client (src/origins/icecast-admin.ts) against a stub fetch. The
 * forms and XML below were recorded from Icecast 2.4.4 (Debian 12); the
 * contract test (test/contract/icecast-hook.test.ts) runs the real server.
 */
import { describe, expect, it } from "vitest";
import {
  ADMIN_TIMEOUT_MS,
  killClient,
  listClients,
  parseListClients,
  type IcecastAdmin,
} from "../../src/origins/icecast-admin.ts";
import {
  acknowledgeAnswer,
  admitAnswer,
  parseListenerAdd,
  parseListenerRemove,
  refuseAnswer,
} from "../../src/origins/icecast.ts";

// Recorded: Icecast's own escaping (lower-case hex, even for '.' and '/'), the query inside `mount`.
const ADD_QUERY =
  "action=listener_add&server=127%2e0%2e0%2e1&port=38921&client=13&mount=%2frooms%2flive%2fstream%2emp3" +
  "%3fpass%3dgood%26x%3da%252Bb&user=&pass=&ip=127%2e0%2e0%2e1&agent=-";
const ADD_BASIC =
  "action=listener_add&server=127%2e0%2e0%2e1&port=38921&client=15&mount=%2frooms%2flive%2fstream%2emp3" +
  "&user=spill&pass=good&ip=127%2e0%2e0%2e1&agent=-";
const REMOVE_QUERY =
  "action=listener_remove&server=127%2e0%2e0%2e1&port=38921&client=13&mount=%2frooms%2flive%2fstream%2emp3" +
  "%3fpass%3dgood%26x%3da%252Bb&user=&pass=&duration=2&ip=127%2e0%2e0%2e1&agent=-";
const LIST_CLIENTS =
  '<?xml version="1.0"?>\n<icestats><source mount="/rooms/live/stream.mp3"><Listeners>2</Listeners>' +
  "<listener><IP>127.0.0.1</IP><UserAgent>Unknown</UserAgent><Connected>2</Connected><ID>13</ID></listener>" +
  "<listener><IP>127.0.0.1</IP><UserAgent>Unknown</UserAgent><Connected>2</Connected><ID>15</ID>" +
  "<username>spill</username></listener></source></icestats>\n";
const KILLED =
  '<?xml version="1.0"?>\n<iceresponse><message>Client 13 removed</message><return>1</return></iceresponse>\n';
const NOT_FOUND =
  '<?xml version="1.0"?>\n<iceresponse><message>Client 0 not found</message><return>0</return></iceresponse>\n';
const NO_SOURCE =
  "<html><head><title>Error 400</title></head><body><b>400 - Source does not exist</b></body></html>\r\n";
const MISSING = "<html><head><title>Error 400</title></head><body><b>400 - Missing parameter</b></body></html>\r\n";

const MOUNT = "/rooms/live/stream.mp3";
const PASS = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJsIn0.c2ln";

/** A listener_add form as Icecast would send it, with `fields` replaced. */
function addForm(fields: Record<string, string>): URLSearchParams {
  const form = new URLSearchParams({
    action: "listener_add",
    server: "127.0.0.1",
    port: "8000",
    client: "7",
    mount: `${MOUNT}?pass=${PASS}`,
    user: "",
    pass: "",
    ip: "192.0.2.1",
    agent: "VLC/3.0",
  });
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return form;
}

/** What the recorded add (and remove) forms say of their listener. */
const RECORDED_LISTENER = {
  clientId: "13",
  mount: MOUNT,
  pass: "good",
  passFrom: "query",
  user: "",
  ip: "127.0.0.1",
  agent: "",
  server: "127.0.0.1",
  port: 38921,
} as const;

describe("parseListenerAdd", () => {
  it("reads the recorded form: client id, mount without its query, the pass from the query", () => {
    expect(parseListenerAdd(ADD_QUERY)).toEqual({
      ok: true,
      listener: RECORDED_LISTENER,
    });
  });

  it("takes the pass from the listener's basic password when the query has none", () => {
    const parsed = parseListenerAdd(new URLSearchParams(ADD_BASIC));
    expect(parsed).toMatchObject({ ok: true, listener: { clientId: "15", pass: "good", passFrom: "basic" } });
    expect(parsed.ok && parsed.listener.user).toBe("spill");
  });

  it("undoes both escapings of a query value (Icecast's and the listener's)", () => {
    const form = new URLSearchParams(ADD_QUERY);
    form.set("mount", `${MOUNT}?x=1&pass=a%2Bb.c`);
    expect(parseListenerAdd(form)).toMatchObject({ ok: true, listener: { pass: "a+b.c", mount: MOUNT } });
  });

  it("accepts the same pass in both places, and a FormData", () => {
    const form = new FormData();
    for (const [k, v] of addForm({ pass: PASS })) form.append(k, v);
    expect(parseListenerAdd(form)).toMatchObject({ ok: true, listener: { pass: PASS, passFrom: "query" } });
  });

  it.each([
    ["no pass anywhere", { mount: MOUNT }, "no_pass"],
    ["an empty ?pass=", { mount: `${MOUNT}?pass=` }, "no_pass"],
    ["two passes in the query", { mount: `${MOUNT}?pass=a&pass=b` }, "two_passes"],
    ["query and basic passes that differ", { pass: "other" }, "two_passes"],
    ["a pass with a space", { mount: `${MOUNT}?pass=a%20b` }, "bad_pass"],
    ["a pass past 4096 characters", { mount: `${MOUNT}?pass=${"a".repeat(4097)}` }, "bad_pass"],
    ["another action", { action: "listener_remove" }, "wrong_action"],
    ["a client id that is not a number", { client: "7; drop" }, "malformed"],
    ["an empty client id", { client: "" }, "malformed"],
    ["a mount that is not a path", { mount: "rooms/live" }, "malformed"],
  ] as const)("refuses %s", (_name, fields, code) => {
    const parsed = parseListenerAdd(addForm(fields));
    expect(parsed).toMatchObject({ ok: false, refusal: { code } });
    // A refusal's message goes to Icecast's log: it never holds a pass.
    expect(parsed.ok || parsed.refusal.message.includes(PASS) || parsed.refusal.message.includes("other")).toBe(false);
  });

  it("refuses forms that did not come from Icecast", () => {
    expect(parseListenerAdd("")).toMatchObject({ ok: false, refusal: { code: "wrong_action" } });
    expect(parseListenerAdd(`${ADD_QUERY}&client=14`)).toMatchObject({
      ok: false,
      refusal: { code: "malformed", message: "field client appears twice" },
    });
    expect(parseListenerAdd(`${ADD_QUERY}&x=${"y".repeat(17_000)}`)).toMatchObject({
      ok: false,
      refusal: { code: "malformed" },
    });
    const withFile = new FormData();
    for (const [k, v] of addForm({})) withFile.append(k, v);
    withFile.append("upload", new Blob(["x"]));
    expect(parseListenerAdd(withFile)).toMatchObject({ ok: false, refusal: { code: "malformed" } });
  });
});

describe("parseListenerRemove", () => {
  it("reads the recorded form: the same client id, the pass and the duration", () => {
    expect(parseListenerRemove(REMOVE_QUERY)).toEqual({
      ok: true,
      listener: { ...RECORDED_LISTENER, durationSeconds: 2 },
    });
  });

  it("still names the connection when the form carries no pass", () => {
    const form = new URLSearchParams(REMOVE_QUERY);
    form.set("mount", MOUNT);
    form.delete("duration");
    expect(parseListenerRemove(form)).toMatchObject({
      ok: true,
      listener: { clientId: "13", pass: null, passFrom: null, durationSeconds: null },
    });
    expect(parseListenerRemove(ADD_QUERY)).toMatchObject({ ok: false, refusal: { code: "wrong_action" } });
  });
});

describe("the hook's answers", () => {
  it("admits with icecast-auth-user: 1, optionally with Icecast's time limit", () => {
    const admit = admitAnswer();
    expect(admit.status).toBe(200);
    expect(admit.headers.get("icecast-auth-user")).toBe("1");
    expect(admit.headers.get("icecast-auth-timelimit")).toBeNull();
    expect(admitAnswer({ timeLimitSeconds: 90 }).headers.get("icecast-auth-timelimit")).toBe("90");
    expect(() => admitAnswer({ timeLimitSeconds: 0 })).toThrow(RangeError);
    expect(() => admitAnswer({ timeLimitSeconds: 1.5 })).toThrow(RangeError);
  });

  it("refuses without the admit header, with a one-line message Icecast can log", async () => {
    const refuse = refuseAnswer("room full");
    expect(refuse.status).toBe(403);
    expect(refuse.headers.get("icecast-auth-user")).toBeNull();
    expect(refuse.headers.get("icecast-auth-message")).toBe("room full");
    expect(await refuse.text()).toBe("room full\n");
    expect(refuseAnswer("two\r\nlines\u00e9").headers.get("icecast-auth-message")).toBe("two lines");
    expect(refuseAnswer("x".repeat(500)).headers.get("icecast-auth-message")).toHaveLength(200);
    expect(refuseAnswer("\n").headers.get("icecast-auth-message")).toBe("refused");
  });

  it("acknowledges listener_remove with an empty answer", () => {
    const ack = acknowledgeAnswer();
    expect(ack.status).toBe(204);
    expect(ack.headers.get("icecast-auth-user")).toBeNull();
  });
});

// ---------------------------------------------------------------------------
// Admin client

const PASSWORD = "s3cret-pässword";

interface Seen {
  url: string;
  method: string;
  authorization: string | null;
}

/** A stub fetch that records each request and answers with `answer`. */
function stub(answer: (url: URL) => Response | Promise<Response>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fake = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    seen.push({ url: request.url, method: request.method, authorization: request.headers.get("authorization") });
    return answer(new URL(request.url));
  };
  return { fetch: fake as typeof fetch, seen };
}

function adminWith(fetchImpl: typeof fetch, extra: Partial<IcecastAdmin> = {}): IcecastAdmin {
  return { url: "http://icecast.internal:8000", user: "admin", password: PASSWORD, fetch: fetchImpl, ...extra };
}

const xmlAnswer = (body: string, status = 200) =>
  new Response(body, { status, headers: { "content-type": "text/xml; charset=utf-8" } });

describe("killClient", () => {
  it("GETs /admin/killclient with the mount and id, basic auth of the UTF-8 credentials", async () => {
    const { fetch, seen } = stub(() => xmlAnswer(KILLED));
    expect(await killClient({ ...adminWith(fetch), mount: MOUNT, id: "13" })).toEqual({
      ok: true,
      message: "Client 13 removed",
    });
    expect(seen).toEqual([
      {
        url: "http://icecast.internal:8000/admin/killclient?mount=%2Frooms%2Flive%2Fstream.mp3&id=13",
        method: "GET",
        authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`, "utf8").toString("base64")}`,
      },
    ]);
  });

  it.each([
    ["401", () => new Response("You need to authenticate\r\n", { status: 401 }), "unauthorized", 401],
    ["403", () => new Response("", { status: 403 }), "unauthorized", 403],
    ["no source on the mount", () => new Response(NO_SOURCE, { status: 400 }), "not_found", 400],
    ["no such client", () => xmlAnswer(NOT_FOUND), "not_found", 200],
    ["404", () => new Response("", { status: 404 }), "not_found", 404],
    ["a missing parameter", () => new Response(MISSING, { status: 400 }), "error", 400],
    ["a 500", () => new Response("", { status: 500 }), "error", 500],
    ["a 200 that is not Icecast's", () => new Response("<html>proxy</html>"), "error", 200],
  ] as const)("maps %s to %s", async (_name, answer, kind, status) => {
    const { fetch } = stub(answer);
    const result = await killClient({ ...adminWith(fetch), mount: MOUNT, id: "13" });
    expect(result).toMatchObject({ ok: false, failure: { kind, status } });
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it("is unreachable when fetch fails, naming the origin and never the password", async () => {
    const { fetch } = stub(() => Promise.reject(new TypeError(`connect ECONNREFUSED ${PASSWORD}`)));
    const result = await killClient({ ...adminWith(fetch), mount: MOUNT, id: "13" });
    expect(result).toEqual({
      ok: false,
      failure: {
        kind: "unreachable",
        message: `killclient 13 on ${MOUNT}: could not reach Icecast at http://icecast.internal:8000 (TypeError)`,
      },
    });
  });

  it("gives up at its timeout, even when fetch ignores the signal", async () => {
    const { fetch } = stub(() => new Promise<Response>(() => undefined));
    const started = Date.now();
    const result = await killClient({ ...adminWith(fetch, { timeoutMs: 30 }), mount: MOUNT, id: "13" });
    expect(result).toMatchObject({ ok: false, failure: { kind: "unreachable" } });
    expect(!result.ok && result.failure.message).toContain("did not answer within 30 ms");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(ADMIN_TIMEOUT_MS).toBe(3_000);
  });

  it("checks its arguments before calling Icecast", async () => {
    const { fetch, seen } = stub(() => xmlAnswer(KILLED));
    for (const [mount, id] of [
      [MOUNT, "abc"],
      [MOUNT, ""],
      ["rooms/live", "13"],
      [`${MOUNT}?x=1`, "13"],
    ] as const) {
      expect(await killClient({ ...adminWith(fetch), mount, id })).toMatchObject({
        ok: false,
        failure: { kind: "error" },
      });
    }
    const inUrl = await killClient({
      ...adminWith(fetch, { url: `http://admin:${encodeURIComponent(PASSWORD)}@icecast.internal:8000` }),
      mount: MOUNT,
      id: "13",
    });
    expect(inUrl).toMatchObject({ ok: false, failure: { kind: "error" } });
    expect(JSON.stringify(inUrl)).not.toContain(encodeURIComponent(PASSWORD));
    expect(await killClient({ ...adminWith(fetch, { url: "ftp://x" }), mount: MOUNT, id: "1" })).toMatchObject({
      ok: false,
    });
    expect(seen).toEqual([]);
  });
});

describe("listClients", () => {
  it("GETs /admin/listclients and reads the ids of the recorded answer", async () => {
    const { fetch, seen } = stub(() => xmlAnswer(LIST_CLIENTS));
    expect(await listClients({ ...adminWith(fetch), mount: MOUNT })).toEqual({ ok: true, ids: ["13", "15"] });
    expect(seen.map((s) => [s.method, s.url])).toEqual([
      ["GET", "http://icecast.internal:8000/admin/listclients?mount=%2Frooms%2Flive%2Fstream.mp3"],
    ]);
  });

  it("maps a mount without a source to not_found and wrong credentials to unauthorized", async () => {
    const noSource = stub(() => new Response(NO_SOURCE, { status: 400 }));
    expect(await listClients({ ...adminWith(noSource.fetch), mount: MOUNT })).toMatchObject({
      ok: false,
      failure: { kind: "not_found", message: `listclients on ${MOUNT}: no source feeds ${MOUNT}` },
    });
    const wrong = stub(() => new Response("You need to authenticate\r\n", { status: 401 }));
    expect(await listClients({ ...adminWith(wrong.fetch), mount: MOUNT })).toMatchObject({
      ok: false,
      failure: { kind: "unauthorized" },
    });
  });

  it("parses an empty source, and refuses answers that are not the mount's", () => {
    const empty = `<?xml version="1.0"?>\n<icestats><source mount="${MOUNT}"><Listeners>0</Listeners></source></icestats>\n`;
    expect(parseListClients(empty, MOUNT)).toEqual({ ok: true, ids: [] });
    expect(parseListClients(LIST_CLIENTS, "/other.mp3")).toMatchObject({ ok: false, failure: { kind: "error" } });
    expect(parseListClients("<html></html>", MOUNT)).toMatchObject({ ok: false, failure: { kind: "error" } });
    const badId = LIST_CLIENTS.replace("<ID>13</ID>", "<ID>x</ID>");
    expect(parseListClients(badId, MOUNT)).toMatchObject({ ok: false, failure: { kind: "error" } });
    const escaped = LIST_CLIENTS.replace(`mount="${MOUNT}"`, 'mount="/a&amp;b.mp3"');
    expect(parseListClients(escaped, "/a&b.mp3")).toEqual({ ok: true, ids: ["13", "15"] });
  });
});

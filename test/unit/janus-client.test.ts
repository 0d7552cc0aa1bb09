/**
 * The Janus Admin API client (src/origins/janus.ts) against a stub fetch: the
 * requests it sends (path, body, secret, transaction) and how it reads
 * answers and failures. test/contract/janus.test.ts runs it against a real Janus.
 */
import { describe, expect, it } from "vitest";
import { JanusAdmin, JanusAdminError, type JanusAdminErrorKind } from "../../src/origins/janus.ts";

const SECRET = "admin-secret-xyz";
const URL_BASE = "http://janus.test:7088/admin";

interface Sent {
  url: string;
  body: Record<string, unknown>;
  method: string;
  contentType: string | null;
}

/** A client whose fetch records each request and answers with `reply(body, url)` (an object is sent as JSON). */
function stub(
  reply: (body: Record<string, unknown>, url: string) => unknown,
  options: { timeoutMs?: number } = {},
): { admin: JanusAdmin; sent: Sent[] } {
  const sent: Sent[] = [];
  let n = 0;
  const fetchStub = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const body = JSON.parse(String(init?.body)) as Record<string, unknown>;
    sent.push({
      url,
      body,
      method: init?.method ?? "GET",
      contentType: new Headers(init?.headers).get("content-type"),
    });
    const answer = await reply(body, url);
    if (answer instanceof Response) return answer;
    return new Response(JSON.stringify(answer), { status: 200 });
  };
  const admin = new JanusAdmin({
    url: `${URL_BASE}/`,
    adminSecret: SECRET,
    fetch: fetchStub as typeof fetch,
    transaction: () => `tx-${++n}`,
    timeoutMs: options.timeoutMs,
  });
  return { admin, sent };
}

const success = (body: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  janus: "success",
  transaction: body.transaction,
  ...extra,
});

const error = (body: Record<string, unknown>, code: number, reason: string) => ({
  janus: "error",
  transaction: body.transaction,
  error: { code, reason },
});

async function failure(promise: Promise<unknown>): Promise<JanusAdminError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof JanusAdminError)) throw new Error(`expected a JanusAdminError, got ${String(err)}`);
  return err;
}

describe("Janus Admin API requests", () => {
  it("adds a token scoped to plugins: POST to the base URL with the secret and a fresh transaction", async () => {
    const { admin, sent } = stub((body) => success(body, { data: { plugins: body.plugins } }));
    expect(await admin.addToken("tok", ["janus.plugin.audiobridge"])).toEqual({
      token: "tok",
      plugins: ["janus.plugin.audiobridge"],
    });
    await admin.addToken("tok2", ["janus.plugin.audiobridge"]);
    expect(sent).toEqual([
      {
        url: URL_BASE,
        method: "POST",
        contentType: "application/json",
        body: {
          janus: "add_token",
          transaction: "tx-1",
          admin_secret: SECRET,
          token: "tok",
          plugins: ["janus.plugin.audiobridge"],
        },
      },
      expect.objectContaining({ body: expect.objectContaining({ token: "tok2", transaction: "tx-2" }) }),
    ]);
  });

  it("refuses to add a token for no plugin (Janus would allow every plugin) or an empty token", async () => {
    const { admin, sent } = stub((body) => success(body));
    await expect(admin.addToken("tok", [])).rejects.toThrow(RangeError);
    await expect(admin.addToken("", ["janus.plugin.audiobridge"])).rejects.toThrow(RangeError);
    expect(sent).toEqual([]);
  });

  it("takes back a token Janus granted fewer plugins than asked, and says which were missing", async () => {
    const { admin, sent } = stub((body) =>
      body.janus === "add_token" ? success(body, { data: { plugins: [] } }) : success(body),
    );
    const err = await failure(admin.addToken("tok", ["janus.plugin.nope"]));
    expect(err.kind).toBe("not_granted");
    expect(err.message).toContain("janus.plugin.nope");
    expect(sent.map((s) => [s.body.janus, s.body.token])).toEqual([
      ["add_token", "tok"],
      ["remove_token", "tok"],
    ]);
  });

  it("puts session and handle ids in the path", async () => {
    const { admin, sent } = stub((body, url) => {
      if (body.janus === "list_handles") return success(body, { handles: [7, 8] });
      if (body.janus === "handle_info") {
        return success(body, {
          info: {
            token: "tok",
            plugin: "janus.plugin.audiobridge",
            created: 66357692460,
            plugin_specific: { room: 1234, muted: true },
          },
        });
      }
      if (body.janus === "destroy_session" || body.janus === "detach_handle") return success(body);
      throw new Error(`unexpected ${url}`);
    });
    expect(await admin.listHandles(42)).toEqual([7, 8]);
    expect(await admin.handleInfo(42, 7)).toMatchObject({
      sessionId: 42,
      handleId: 7,
      token: "tok",
      plugin: "janus.plugin.audiobridge",
      created: 66357692460,
      pluginSpecific: { room: 1234, muted: true },
    });
    expect(await admin.detachHandle(42, 8)).toBe(true);
    expect(await admin.destroySession(42)).toBe(true);
    expect(sent.map((s) => `${s.body.janus} ${s.url}`)).toEqual([
      `list_handles ${URL_BASE}/42`,
      `handle_info ${URL_BASE}/42/7`,
      `detach_handle ${URL_BASE}/42/8`,
      `destroy_session ${URL_BASE}/42`,
    ]);
    await expect(admin.listHandles(0)).rejects.toThrow(RangeError);
    await expect(admin.destroySession(2 ** 53)).rejects.toThrow(RangeError);
  });

  it("reads tokens and sessions", async () => {
    const { admin } = stub((body) =>
      body.janus === "list_tokens"
        ? success(body, { data: { tokens: [{ token: "a", allowed_plugins: ["janus.plugin.audiobridge"] }] } })
        : success(body, { sessions: [1, 2] }),
    );
    expect(await admin.listTokens()).toEqual([{ token: "a", plugins: ["janus.plugin.audiobridge"] }]);
    expect(await admin.listSessions()).toEqual([1, 2]);
  });

  it("treats an already removed token, an already destroyed session and an already detached handle as done (false)", async () => {
    const { admin } = stub((body, url) =>
      body.janus === "remove_token"
        ? error(body, 490, "Error removing token")
        : url.endsWith("/6")
          ? error(body, 459, "No such handle 6 in session 5")
          : error(body, 458, `No such session ${String(body.session_id)}`),
    );
    expect(await admin.removeToken("tok")).toBe(false);
    expect(await admin.destroySession(5)).toBe(false);
    expect(await admin.detachHandle(5, 6)).toBe(false);
    expect(await admin.detachHandle(7, 8)).toBe(false);
  });

  it("revokes: removes the token, then destroys only the sessions whose handles carry it", async () => {
    const handles: Record<string, number[]> = { "1": [11], "2": [21, 22], "3": [] };
    const tokens: Record<string, string> = { "11": "other", "21": "other", "22": "tok" };
    const { admin, sent } = stub((body, url) => {
      const [session, handle] = url.slice(URL_BASE.length + 1).split("/");
      switch (body.janus) {
        case "remove_token":
          return success(body);
        case "list_sessions":
          return success(body, { sessions: [1, 2, 3, 4] });
        case "list_handles":
          return session === "4"
            ? error(body, 458, "No such session 4")
            : success(body, { handles: handles[session!] });
        case "handle_info":
          return success(body, { info: { token: tokens[handle!] } });
        case "destroy_session":
          return success(body);
      }
      throw new Error(`unexpected ${String(body.janus)}`);
    });
    expect(await admin.revokeToken("tok")).toEqual({ removed: true, destroyed: [2] });
    expect(sent.filter((s) => s.body.janus === "destroy_session").map((s) => s.url)).toEqual([`${URL_BASE}/2`]);
    expect(sent[0]!.body).toMatchObject({ janus: "remove_token", token: "tok" });
  });

  it("asks a plugin through message_plugin and turns the plugin's own error into janus_error", async () => {
    const { admin, sent } = stub((body) => {
      const request = body.request as { room: number };
      return request.room === 1234
        ? success(body, { response: { audiobridge: "participants", room: 1234, participants: [{ id: 9 }] } })
        : success(body, { response: { audiobridge: "event", error_code: 485, error: "No such room (999)" } });
    });
    expect(await admin.audiobridgeParticipants(1234)).toEqual([{ id: 9 }]);
    expect(sent[0]!.body).toMatchObject({
      janus: "message_plugin",
      plugin: "janus.plugin.audiobridge",
      request: { request: "listparticipants", room: 1234 },
    });
    expect(await failure(admin.audiobridgeParticipants(999))).toMatchObject({
      kind: "janus_error",
      code: 485,
      reason: "No such room (999)",
    });
  });
});

describe("Janus Admin API failures", () => {
  const cases: Array<[string, (body: Record<string, unknown>) => unknown, JanusAdminErrorKind, RegExp]> = [
    [
      "a wrong secret (Janus's 403)",
      (b) => error(b, 403, "Unauthorized request (wrong or missing secret/token)"),
      "unauthorized",
      /refused the admin secret/,
    ],
    ["another Janus error", (b) => error(b, 457, "Unhandled request"), "janus_error", /457 Unhandled request/],
    ["a status other than 200", () => new Response("nope", { status: 404 }), "bad_answer", /HTTP 404/],
    ["not JSON", () => new Response("<html>", { status: 200 }), "bad_answer", /not JSON/],
    [
      "another transaction",
      () => ({ janus: "success", transaction: "else", sessions: [] }),
      "bad_answer",
      /transaction/,
    ],
    ["an answer of another shape", (b) => success(b, { sessions: ["x"] }), "bad_answer", /not a list of ids/],
  ];
  for (const [what, reply, kind, message] of cases) {
    it(`${what}: ${kind}`, async () => {
      const { admin } = stub(reply);
      const err = await failure(admin.listSessions());
      expect(err.kind).toBe(kind);
      expect(err.request).toBe("list_sessions");
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain(SECRET);
    });
  }

  it("unreachable: the fetch error, without the secret or the token even if they appear in it", async () => {
    const { admin } = stub(() => {
      throw new TypeError(`fetch failed`, { cause: new Error(`connect ECONNREFUSED ${SECRET} tok-secret`) });
    });
    const err = await failure(admin.removeToken("tok-secret"));
    expect(err.kind).toBe("unreachable");
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain("tok-secret");
  });

  it("a Janus reason that echoes the secret is scrubbed", async () => {
    const { admin } = stub((b) => error(b, 490, `bad secret ${SECRET}`));
    const err = await failure(admin.listTokens());
    expect(err.message).not.toContain(SECRET);
    expect(err.reason).toBe("bad secret [redacted]");
  });

  it("timeout: no answer within timeoutMs aborts the request", async () => {
    let aborted = false;
    const admin = new JanusAdmin({
      url: URL_BASE,
      adminSecret: SECRET,
      timeoutMs: 30,
      fetch: ((_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => {
            aborted = true;
            reject(new DOMException("aborted", "AbortError"));
          });
        })) as typeof fetch,
    });
    const err = await failure(admin.listSessions());
    expect(err.kind).toBe("timeout");
    expect(err.message).toMatch(/within 30 ms/);
    expect(aborted).toBe(true);
  });
});

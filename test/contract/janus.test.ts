/**
 * src/origins/janus.ts against a real Janus (test/contract/support/janus.ts)
 * running stored-token auth: Janus itself admits a listener only with a token
 * the client added, counts it in its own session list and room, and drops it
 * when the client revokes the token. Everything started is gone afterwards.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JanusAdmin, JanusAdminError } from "../../src/origins/janus.ts";
import { JanusApi, JanusApiError, requireJanus, type RunningJanus, startJanus } from "./support/janus.ts";

const AUDIOBRIDGE = "janus.plugin.audiobridge";

let janus: RunningJanus | undefined;

function server(): RunningJanus {
  if (janus === undefined) throw new Error("Janus did not start");
  return janus;
}

function client(overrides: { adminSecret?: string; url?: string; timeoutMs?: number } = {}): JanusAdmin {
  return new JanusAdmin({ url: server().adminUrl, adminSecret: server().adminSecret, timeoutMs: 3_000, ...overrides });
}

/** The Janus error a promise fails with. */
async function janusError(promise: Promise<unknown>): Promise<JanusApiError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof JanusApiError)) throw new Error(`expected a Janus error, got ${String(err)}`);
  return err;
}

async function adminError(promise: Promise<unknown>): Promise<JanusAdminError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof JanusAdminError)) throw new Error(`expected a JanusAdminError, got ${String(err)}`);
  return err;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  await requireJanus();
  janus = await startJanus({ room: 4242 });
});

afterAll(async () => {
  await janus?.stop();
});

describe("Janus with stored-token auth, driven by the Admin API client", () => {
  it("refuses a listener without a token, or with a token it was never given", async () => {
    expect((await janusError(new JanusApi(server().url, undefined).create())).code).toBe(403);
    const stranger = await janusError(new JanusApi(server().url, "never-added").create());
    expect(stranger.code).toBe(403);
    expect(stranger.reason).toMatch(/Unauthorized request/);
    expect(await server().sessions()).toEqual([]);
  });

  it("admits a listener with a token the client added, counted by Janus's own session list and room", async () => {
    const admin = client();
    const token = "seat-alpha";
    expect(await admin.addToken(token, [AUDIOBRIDGE])).toEqual({ token, plugins: [AUDIOBRIDGE] });
    expect(await admin.listTokens()).toContainEqual({ token, plugins: [AUDIOBRIDGE] });

    const listener = new JanusApi(server().url, token);
    const sessionId = await listener.create();
    const handleId = await listener.attach(AUDIOBRIDGE);
    const participantId = await listener.joinMuted(handleId, server().room, "listener-alpha");

    // The token is scoped: other plugins are out of reach (Janus's 405).
    expect((await janusError(listener.attach("janus.plugin.streaming"))).code).toBe(405);

    expect(await server().sessions()).toEqual([sessionId]);
    expect(await admin.listSessions()).toEqual([sessionId]);
    expect(await admin.listHandles(sessionId)).toEqual([handleId]);
    const info = await admin.handleInfo(sessionId, handleId);
    expect(info.token).toBe(token);
    expect(info.plugin).toBe(AUDIOBRIDGE);
    expect(info.pluginSpecific).toMatchObject({ room: server().room, id: participantId, muted: true });
    expect(await server().participants()).toEqual([expect.objectContaining({ id: participantId, muted: true })]);
    expect(await admin.audiobridgeParticipants(server().room)).toEqual([
      expect.objectContaining({ id: participantId, display: "listener-alpha" }),
    ]);
    expect(await admin.sessionsWithToken(token)).toEqual([sessionId]);

    // Removing the token alone: Janus refuses the listener's next request, yet keeps its session and seat.
    expect(await admin.removeToken(token)).toBe(true);
    expect((await janusError(listener.request({ janus: "keepalive" }, [sessionId]))).code).toBe(403);
    expect((await listener.poll()).status).toBe(403);
    expect(await server().sessions()).toEqual([sessionId]);
    expect(await server().participants()).toHaveLength(1);

    // Destroying the session ends it at once: gone from Janus's list and from the room.
    expect(await admin.destroySession(sessionId)).toBe(true);
    const tookMs = await waitUntil("the session gone", async () => (await server().sessions()).length === 0, 2_000);
    expect(tookMs).toBeLessThan(2_000);
    await waitUntil("the room empty", async () => (await server().participants()).length === 0, 2_000);

    // Both are idempotent: the token and the session are already gone.
    expect(await admin.removeToken(token)).toBe(false);
    expect(await admin.destroySession(sessionId)).toBe(false);
    // And the removed token cannot open a new session.
    expect((await janusError(new JanusApi(server().url, token).create())).code).toBe(403);
  });

  it("revokes a token: removes it and destroys each session it opened, leaving other listeners be", async () => {
    const admin = client();
    await admin.addToken("seat-beta", [AUDIOBRIDGE]);
    await admin.addToken("seat-gamma", [AUDIOBRIDGE]);
    const beta = new JanusApi(server().url, "seat-beta");
    const gamma = new JanusApi(server().url, "seat-gamma");
    const betaTabs = [await beta.create(), await new JanusApi(server().url, "seat-beta").create()];
    const gammaSession = await gamma.create();
    await beta.joinMuted(await beta.attach(AUDIOBRIDGE), server().room, "beta");
    await gamma.joinMuted(await gamma.attach(AUDIOBRIDGE), server().room, "gamma");
    // The second "tab" of beta attaches too, so that its session carries the token on a handle.
    const tab = new JanusApi(server().url, "seat-beta");
    tab.sessionId = betaTabs[1];
    await tab.attach(AUDIOBRIDGE);
    expect((await server().sessions()).sort()).toEqual([...betaTabs, gammaSession].sort());
    expect(await server().participants()).toHaveLength(2);

    const revoked = await admin.revokeToken("seat-beta");
    expect(revoked.removed).toBe(true);
    expect(revoked.destroyed.sort()).toEqual([...betaTabs].sort());
    await waitUntil("beta's sessions gone", async () => (await server().sessions()).length === 1, 2_000);
    expect(await server().sessions()).toEqual([gammaSession]);
    // AudioBridge lets a destroyed session's participant go a moment later (longer on a busy machine).
    await waitUntil("beta out of the room", async () => (await server().participants()).length === 1, 2_000);
    expect(await server().participants()).toEqual([expect.objectContaining({ display: "gamma" })]);
    expect((await admin.listTokens()).map((t) => t.token)).toEqual(["seat-gamma"]);

    await admin.revokeToken("seat-gamma");
    expect(await server().sessions()).toEqual([]);
  });

  it("says plainly when the admin secret is wrong, the plugin unknown or Janus unreachable, never echoing the secret", async () => {
    const wrong = client({ adminSecret: "not-the-secret" });
    const unauthorized = await adminError(wrong.listSessions());
    expect(unauthorized.kind).toBe("unauthorized");
    expect(unauthorized.code).toBe(403);
    expect(unauthorized.message).not.toContain("not-the-secret");
    expect(unauthorized.message).not.toContain(server().adminSecret);
    expect((await adminError(wrong.addToken("seat-delta", [AUDIOBRIDGE]))).kind).toBe("unauthorized");
    expect(await server().admin("list_tokens")).toMatchObject({ data: { tokens: [] } });

    // Janus skips plugins it does not know; the client takes such a token back.
    const notGranted = await adminError(client().addToken("seat-epsilon", ["janus.plugin.nope"]));
    expect(notGranted.kind).toBe("not_granted");
    expect(notGranted.message).toContain("janus.plugin.nope");
    expect((await janusError(new JanusApi(server().url, "seat-epsilon").create())).code).toBe(403);

    const room = await adminError(client().audiobridgeParticipants(999));
    expect(room).toMatchObject({ kind: "janus_error", code: 485 });

    const missing = await adminError(client().listHandles(1));
    expect(missing).toMatchObject({ kind: "janus_error", code: 458 });

    const wrongPath = await adminError(client({ url: server().url.replace(/\/janus$/, "/nothing") }).listSessions());
    expect(wrongPath.kind).toBe("bad_answer");
  });

  it("stops everything it started", async () => {
    const { pid, dir, adminUrl, adminSecret } = server();
    await server().stop();
    let alive = "";
    try {
      alive = (await promisify(execFile)("pgrep", ["-a", "-g", String(pid)])).stdout.trim();
    } catch {
      // pgrep exits 1 when nothing matches
    }
    expect(alive).toBe("");
    expect(existsSync(dir)).toBe(false);
    const gone = await adminError(new JanusAdmin({ url: adminUrl, adminSecret, timeoutMs: 2_000 }).listSessions());
    expect(gone.kind).toBe("unreachable");
    expect(gone.message).not.toContain(adminSecret);
  });
});

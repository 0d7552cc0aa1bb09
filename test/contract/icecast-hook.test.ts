/**
 * Icecast enforcing the seat itself: a real Icecast 2.4 whose mount uses URL
 * authentication, calling a stand-in hook built from src/origins/icecast.ts
 * (parse the form, admit or refuse), and Spillway's admin client
 * (src/origins/icecast-admin.ts) dropping a listener. The hook admits only
 * passes it knows, and at most CAPACITY listeners at once by its own set;
 * every claim is judged by Icecast's own listener count.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killClient, listClients, type IcecastAdmin } from "../../src/origins/icecast-admin.ts";
import {
  acknowledgeAnswer,
  admitAnswer,
  parseListenerAdd,
  parseListenerRemove,
  refuseAnswer,
} from "../../src/origins/icecast.ts";
import {
  listen,
  requireDebian,
  type RunningIcecast,
  type RunningSource,
  startSource,
  type StreamListener,
} from "./support/icecast.ts";
import { type HookCall, type HookServer, startHookedIcecast, startHookServer } from "./support/icecast-auth.ts";
import { type ListenerSampler, sampleListeners } from "./support/listener-count.ts";
import { freePort } from "./support/worker.ts";

const MOUNT = "/rooms/live/stream.mp3";
const HOOK_PATH = "/_spillway/origins/icecast/listener";
const CAPACITY = 2;
/** Passes the stand-in knows; "short" is admitted with a 3 s time limit. */
const VALID = new Set(["pass-a", "pass-b", "pass-c", "pass-short"]);

/** The stand-in hook's own seats: Icecast client id → pass. */
const seated = new Map<string, string>();

function hookAnswer(form: URLSearchParams, path: string): Response {
  if (path !== HOOK_PATH) return refuseAnswer(`no hook at ${path}`);
  if (form.get("action") === "listener_remove") {
    const gone = parseListenerRemove(form);
    if (gone.ok) seated.delete(gone.listener.clientId);
    return acknowledgeAnswer();
  }
  const asked = parseListenerAdd(form);
  if (!asked.ok) return refuseAnswer(asked.refusal.message);
  const { clientId, pass, mount } = asked.listener;
  if (mount !== MOUNT) return refuseAnswer(`not a guarded mount`);
  if (!VALID.has(pass)) return refuseAnswer("unknown pass");
  if (seated.size >= CAPACITY) return refuseAnswer("room full");
  seated.set(clientId, pass);
  return admitAnswer(pass === "pass-short" ? { timeLimitSeconds: 3 } : {});
}

let hook: HookServer | undefined;
let icecast: RunningIcecast | undefined;
let show: RunningSource | undefined;
let sampler: ListenerSampler | undefined;
const open: StreamListener[] = [];

const ice = () => icecast!;
const admin = (): IcecastAdmin => ({ url: ice().url, user: ice().adminUser, password: ice().adminPassword });

/** Listen to the mount (with `?pass=` when given), kept for closing at the end. */
async function tuneIn(query: string, basic?: string): Promise<StreamListener> {
  const url = new URL(ice().mountUrl(MOUNT));
  url.search = query;
  if (basic !== undefined) [url.username, url.password] = ["spillway", basic];
  const listener = await listen(url.toString());
  open.push(listener);
  return listener;
}

/** The hook's call of `action` for this pass (the mount's query or the basic password); an add only if admitted. */
const callFor =
  (action: "listener_add" | "listener_remove", pass: string) =>
  (call: HookCall): boolean =>
    call.form.get("action") === action &&
    (action === "listener_remove" || call.status === 200) &&
    (call.form.get("mount")?.endsWith(`?pass=${pass}`) === true || call.form.get("pass") === pass);

beforeAll(async () => {
  await requireDebian(["icecast2", "ffmpeg"]);
  hook = await startHookServer(hookAnswer);
  const hookUrl = `${hook.url}${HOOK_PATH}`;
  icecast = await startHookedIcecast(MOUNT, { listenerAdd: hookUrl, listenerRemove: hookUrl });
  show = await startSource(icecast, MOUNT);
  sampler = sampleListeners(icecast, 100);
});

afterAll(async () => {
  for (const listener of open) listener.close();
  await sampler?.stop();
  await icecast?.stop();
  await hook?.stop();
});

describe("Icecast's URL authentication calling Spillway's hook", () => {
  it("plays listeners with a valid pass, in the query or as the basic password", async () => {
    const a = await tuneIn("pass=pass-a");
    expect(a.status).toBe(200);
    expect(a.headers["content-type"]).toBe("audio/mpeg");
    expect((await a.bytes(16_000)).length).toBe(16_000);

    const b = await tuneIn("", "pass-b");
    expect(b.status).toBe(200);
    expect((await b.bytes(16_000)).length).toBe(16_000);
    await ice().waitForListeners(MOUNT, 2, 5_000);

    // The ids the hook was given are Icecast's own: listclients names the same two.
    const ids = [...seated.keys()].sort();
    expect(ids).toHaveLength(2);
    const listed = await listClients({ ...admin(), mount: MOUNT });
    expect(listed).toEqual({ ok: true, ids: expect.any(Array) });
    expect(listed.ok && [...listed.ids].sort()).toEqual(ids);
    const viaBasic = await hook!.waitForCall(callFor("listener_add", "pass-b"));
    expect(viaBasic.form.get("user")).toBe("spillway");
    expect(viaBasic.form.get("mount")).toBe(MOUNT);
  });

  it("refuses a forged pass, no pass and a full room with 401, and Icecast never counts them", async () => {
    const since = Date.now();
    for (const [query, reason] of [
      ["pass=forged", "unknown pass"],
      ["", "no pass"],
      ["pass=pass-c", "room full"],
    ] as const) {
      const refused = await tuneIn(query);
      expect(refused.status, query).toBe(401);
      await refused.ended;
      expect(refused.received(), query).toBeLessThan(100); // Icecast's short text, no audio
      expect(await ice().errorLog()).toContain(reason);
    }
    expect(await ice().listeners(MOUNT)).toBe(2);
    expect(sampler!.peak(MOUNT, since)).toBe(CAPACITY);
  });

  it("sends listener_remove with the same client id when a listener hangs up, and the seat is reused", async () => {
    const added = await hook!.waitForCall(callFor("listener_add", "pass-a"));
    const clientId = added.form.get("client")!;
    open[0]!.close();
    const removed = await hook!.waitForCall(callFor("listener_remove", "pass-a"));
    const gone = parseListenerRemove(removed.form);
    expect(gone.ok && gone.listener).toMatchObject({ clientId, mount: MOUNT, pass: "pass-a", passFrom: "query" });
    await ice().waitForListeners(MOUNT, 1, 5_000);
    expect(seated.size).toBe(1);

    const c = await tuneIn("pass=pass-c");
    expect(c.status).toBe(200);
    await c.bytes(8_000);
    await ice().waitForListeners(MOUNT, 2, 5_000);
  });

  it("drops a listener with killClient within 2 s: counted out, stream ended, listener_remove sent", async () => {
    const added = await hook!.waitForCall(callFor("listener_add", "pass-c"));
    const id = added.form.get("client")!;
    const c = open.at(-1)!;
    const started = Date.now();
    expect(await killClient({ ...admin(), mount: MOUNT, id })).toMatchObject({ ok: true });
    await c.ended;
    await ice().waitForListeners(MOUNT, 1, 2_000);
    const removed = await hook!.waitForCall(callFor("listener_remove", "pass-c"), 2_000);
    expect(removed.form.get("client")).toBe(id);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(seated.has(id)).toBe(false);
    const listed = await listClients({ ...admin(), mount: MOUNT });
    expect(listed.ok && listed.ids).not.toContain(id);
  });

  it("cuts a listener at the time limit the hook gave, by Icecast alone", async () => {
    const short = await tuneIn("pass=pass-short");
    const admitted = Date.now();
    expect(short.status).toBe(200);
    await short.bytes(8_000);
    await short.ended;
    // Icecast checks the limit against a clock of whole seconds that it reads once per loop:
    // a limit of 3 s ends the stream 2–3 s after admission (a limit of 2 s was seen ending it after 0.87 s).
    const playedMs = Date.now() - admitted;
    expect(playedMs).toBeGreaterThanOrEqual(1_000);
    expect(playedMs).toBeLessThan(4_500);
    await hook!.waitForCall(callFor("listener_remove", "pass-short"), 2_000);
    await ice().waitForListeners(MOUNT, 1, 2_000);
    expect(open[1]!.received()).toBeGreaterThan(0); // the basic-password listener plays on
    const before = open[1]!.received();
    await new Promise((r) => setTimeout(r, 300));
    expect(open[1]!.received()).toBeGreaterThan(before);
  });

  it("maps the real server's admin answers to typed failures without the password", async () => {
    const wrong = await killClient({ ...admin(), password: "not-the-password", mount: MOUNT, id: "1" });
    expect(wrong).toMatchObject({ ok: false, failure: { kind: "unauthorized", status: 401 } });
    const noClient = await killClient({ ...admin(), mount: MOUNT, id: "999999" });
    expect(noClient).toMatchObject({ ok: false, failure: { kind: "not_found", status: 200 } });
    const noSource = await listClients({ ...admin(), mount: "/rooms/none/stream.mp3" });
    expect(noSource).toMatchObject({ ok: false, failure: { kind: "not_found", status: 400 } });
    const down = await listClients({ ...admin(), url: `http://127.0.0.1:${await freePort()}`, mount: MOUNT });
    expect(down).toMatchObject({ ok: false, failure: { kind: "unreachable" } });
    for (const result of [wrong, noClient, noSource, down]) {
      expect(JSON.stringify(result)).not.toContain(ice().adminPassword);
    }
  });

  it("admits no one when the hook cannot be reached (Icecast fails closed)", async () => {
    const closed = `http://127.0.0.1:${await freePort()}${HOOK_PATH}`;
    const other = await startHookedIcecast(MOUNT, { listenerAdd: closed, listenerRemove: closed });
    try {
      await startSource(other, MOUNT);
      const listener = await listen(`${other.mountUrl(MOUNT)}?pass=pass-a`);
      open.push(listener);
      expect(listener.status).toBe(401);
      expect(await other.listeners(MOUNT)).toBe(0);
      expect(await other.errorLog()).toContain(`auth to server ${closed} failed`);
    } finally {
      await other.stop();
    }
  });

  it("never let Icecast count more than CAPACITY listeners", async () => {
    expect(sampler!.samples()).toBeGreaterThan(20);
    expect(sampler!.peak(MOUNT)).toBe(CAPACITY);
    expect(sampler!.above(MOUNT, CAPACITY).samples).toBe(0);
    await show!.stop();
  });
});

/**
 * The Icecast hook and admin client inside workerd: the form parsed from a
 * real `Request` body, the answers built with the runtime's own `Response`,
 * and the admin calls made with its `btoa`, `AbortSignal.timeout` and a
 * stub fetch, as the hook route and a Durable Object will run them. (The
 * real Icecast is in test/contract/icecast-hook.test.ts.)
 */
import { describe, expect, it } from "vitest";
import { killClient, listClients } from "../../src/origins/icecast-admin.ts";
import { admitAnswer, parseListenerAdd, refuseAnswer } from "../../src/origins/icecast.ts";

// Recorded from Icecast 2.4.4.
const ADD =
  "action=listener_add&server=127%2e0%2e0%2e1&port=38921&client=13&mount=%2frooms%2flive%2fstream%2emp3" +
  "%3fpass%3dgood&user=&pass=&ip=127%2e0%2e0%2e1&agent=-";

describe("the Icecast hook in workerd", () => {
  it("parses Icecast's POST read as form data, and answers with the runtime's Response", async () => {
    const request = new Request("https://spillway.example/_spillway/origins/icecast/listener", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: ADD,
    });
    const parsed = parseListenerAdd(await request.formData());
    expect(parsed).toMatchObject({ ok: true, listener: { clientId: "13", mount: "/rooms/live/stream.mp3" } });
    expect(parsed.ok && parsed.listener.pass).toBe("good");
    expect(admitAnswer({ timeLimitSeconds: 60 }).headers.get("icecast-auth-timelimit")).toBe("60");
    expect(refuseAnswer("room full").headers.get("icecast-auth-message")).toBe("room full");
  });

  it("calls the admin API with basic auth and gives up at its timeout", async () => {
    let authorization: string | null = null;
    const answering = (async (_input: RequestInfo | URL, init?: RequestInit) => {
      authorization = new Headers(init?.headers).get("authorization");
      return new Response("<iceresponse><message>Client 13 removed</message><return>1</return></iceresponse>");
    }) as typeof fetch;
    const admin = { url: "http://icecast.internal:8000", user: "admin", password: "pässword" };
    expect(await killClient({ ...admin, fetch: answering, mount: "/m.mp3", id: "13" })).toMatchObject({ ok: true });
    expect(authorization).toBe(`Basic ${btoa("admin:p\u00c3\u00a4ssword")}`);

    const hanging = (() => new Promise<Response>(() => undefined)) as typeof fetch;
    const result = await listClients({ ...admin, fetch: hanging, timeoutMs: 20, mount: "/m.mp3" });
    expect(result).toMatchObject({ ok: false, failure: { kind: "unreachable" } });
  });
});

/**
 * Pass key rotation: PASS_KEYS holds several keys, the first signs, all
 * verify, and the JWKS lists them all. A pass signed by the previous key
 * keeps working until it expires; one signed by a key no longer listed does not.
 */
import { describe, expect, it } from "vitest";
import { newPassKey } from "../../src/cli/keys.ts";
import { bearer, callWith, type ErrorJson, headerOf, roomName, type Status, useManualClock } from "./helpers.ts";

useManualClock();

async function joinWith(vars: Partial<Env>, room: string): Promise<Status> {
  const res = await callWith(vars, `/_spillway/rooms/${room}/join`, { method: "POST" });
  return res.json<Status>();
}

function heartbeatWith(vars: Partial<Env>, room: string, pass: string): Promise<Response> {
  return callWith(vars, `/_spillway/rooms/${room}/heartbeat`, { method: "POST", headers: bearer(pass) });
}

describe("pass key rotation", () => {
  it("keeps passes of the previous key valid, signs with the new one, and refuses an unknown key", async () => {
    const [oldKey, newKey, strangerKey] = await Promise.all([newPassKey(), newPassKey(), newPassKey()]);
    const before = { PASS_KEYS: JSON.stringify([oldKey]) };
    const rotated = { PASS_KEYS: JSON.stringify([newKey, oldKey]) };
    const retired = { PASS_KEYS: JSON.stringify([newKey]) };
    const room = roomName("rotate");

    const seated = await joinWith(before, room);
    expect(seated.state).toBe("admitted");
    expect(headerOf(seated.pass!).kid).toBe(oldKey.kid);

    // After the rotation: the JWKS lists both keys, the old pass still renews, the renewal is signed anew.
    const jwks = await (await callWith(rotated, "/_spillway/jwks.json")).json<{ keys: { kid: string }[] }>();
    expect(jwks.keys.map((k) => k.kid)).toEqual([newKey.kid, oldKey.kid]);
    const renewed = await heartbeatWith(rotated, room, seated.pass!);
    expect(renewed.status).toBe(200);
    const fresh = (await renewed.json<Status>()).pass!;
    expect(headerOf(fresh).kid).toBe(newKey.kid);

    // Once the old key is retired, its passes are refused; the new one's are not.
    const refused = await heartbeatWith(retired, room, seated.pass!);
    expect(refused.status).toBe(401);
    expect((await refused.json<ErrorJson>()).error.code).toBe("invalid_token");
    expect((await heartbeatWith(retired, room, fresh)).status).toBe(200);

    // A pass from a key that was never in the set is refused.
    const stranger = await joinWith({ PASS_KEYS: JSON.stringify([strangerKey]) }, room);
    const foreign = await heartbeatWith(rotated, room, stranger.pass!);
    expect(foreign.status).toBe(401);
    expect((await foreign.json<ErrorJson>()).error.code).toBe("invalid_token");
  });
});

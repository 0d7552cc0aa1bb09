import { describe, expect, it } from "vitest";
import type { KeyRing } from "../../src/tokens/keys.ts";
import {
  MAX_REMEMBERED,
  RECHECK_BEFORE_EXP_S,
  rememberedClaims,
  verifiedOnce,
} from "../../src/tokens/verified-memo.ts";

const T0 = 1_800_000_000_000;
const EXP = T0 / 1000 + 60;

/** A verifier that counts its calls and says what `answer` says. */
function counting(answer: (token: string) => boolean) {
  const calls: string[] = [];
  const verifier = (token: string) => async () => {
    calls.push(token);
    return answer(token)
      ? ({ ok: true, claims: { sub: token, exp: EXP } } as const)
      : ({ ok: false, reason: "bad_signature" } as const);
  };
  return { calls, verifier };
}

const ring = () => ({}) as KeyRing;
const opts = (now: number, room = "r1", issuer = "spillway") => ({ issuer, room, now });

describe("verifiedOnce", () => {
  it("verifies a token once, then answers from memory with the same claims", async () => {
    const keys = ring();
    const { calls, verifier } = counting(() => true);
    for (let i = 0; i < 5; i++) {
      const v = await verifiedOnce("ticket", keys, "tok-a", opts(T0 + i * 1000), verifier("tok-a"));
      expect(v).toEqual({ ok: true, claims: { sub: "tok-a", exp: EXP } });
    }
    expect(calls).toEqual(["tok-a"]);
  });

  it("never remembers a refusal", async () => {
    const keys = ring();
    const { calls, verifier } = counting(() => false);
    await verifiedOnce("ticket", keys, "forged", opts(T0), verifier("forged"));
    const again = await verifiedOnce("ticket", keys, "forged", opts(T0), verifier("forged"));
    expect(again.ok).toBe(false);
    expect(calls).toEqual(["forged", "forged"]);
  });

  it("verifies in full again near exp, for another room or issuer, another kind, another key ring, or a clock gone back", async () => {
    const keys = ring();
    const { calls, verifier } = counting(() => true);
    await verifiedOnce("ticket", keys, "t", opts(T0), verifier("t"));
    const nearExp = (EXP - RECHECK_BEFORE_EXP_S) * 1000;
    await verifiedOnce("ticket", keys, "t", opts(nearExp - 1001), verifier("t"));
    expect(calls).toHaveLength(1);
    await verifiedOnce("ticket", keys, "t", opts(nearExp), verifier("t"));
    expect(calls).toHaveLength(2);
    await verifiedOnce("ticket", keys, "t", opts(T0 + 1000, "r2"), verifier("t"));
    await verifiedOnce("ticket", keys, "t", opts(T0 + 1000, "r2", "other"), verifier("t"));
    await verifiedOnce("pass", keys, "t", opts(T0 + 1000, "r2", "other"), verifier("t"));
    await verifiedOnce("pass", ring(), "t", opts(T0 + 1000, "r2", "other"), verifier("t"));
    expect(calls).toHaveLength(6);
    await verifiedOnce("pass", keys, "t", opts(T0, "r2", "other"), verifier("t"));
    expect(calls).toHaveLength(7);
  });

  it("hands out the remembered claims frozen: no caller changes them, the one that verified them included", async () => {
    const keys = ring();
    const { verifier } = counting(() => true);
    const verified = await verifiedOnce("ticket", keys, "t", opts(T0), verifier("t"));
    const remembered = await verifiedOnce("ticket", keys, "t", opts(T0), verifier("t"));
    for (const v of [verified, remembered]) {
      if (!v.ok) throw new Error("expected the claims");
      expect(Object.isFrozen(v.claims)).toBe(true);
      expect(() => ((v.claims as { sub: string }).sub = "changed")).toThrow(TypeError);
    }
    const again = await verifiedOnce("ticket", keys, "t", opts(T0), verifier("t"));
    expect(again.ok && again.claims).toMatchObject({ sub: "t" });
    expect(rememberedClaims("ticket", keys, "t", opts(T0))).toMatchObject({ sub: "t" });
  });

  it(`keeps at most ${MAX_REMEMBERED} tokens, forgetting the oldest first`, async () => {
    const keys = ring();
    const { calls, verifier } = counting(() => true);
    for (let i = 0; i <= MAX_REMEMBERED; i++) await verifiedOnce("ticket", keys, `t${i}`, opts(T0), verifier(`t${i}`));
    expect(calls).toHaveLength(MAX_REMEMBERED + 1);
    await verifiedOnce("ticket", keys, `t${MAX_REMEMBERED}`, opts(T0), verifier("newest"));
    await verifiedOnce("ticket", keys, "t1", opts(T0), verifier("t1"));
    expect(calls).toHaveLength(MAX_REMEMBERED + 1);
    await verifiedOnce("ticket", keys, "t0", opts(T0), verifier("t0"));
    expect(calls.at(-1)).toBe("t0");
  });
});

/**
 * An admitted status answer carrying `pass`, as a claim or a renewal gives
 * it: the fixture of the edge's repeat-answer memos (repeat-claims.ts,
 * repeat-renewals.ts).
 */
import type { SeatAnswer } from "../../src/edge/repeat-claims.ts";

export function admittedAnswer(room: string, pass: { token: string; exp: number }): SeatAnswer {
  return {
    kind: "status",
    status: {
      room,
      state: "admitted",
      position: null,
      ahead: null,
      etaSeconds: null,
      pollAfterSeconds: 20,
      pass: pass.token,
      passExpiresAt: new Date(pass.exp * 1000).toISOString(),
      startsAt: null,
      recordingUrl: null,
    },
    newPass: pass,
  };
}

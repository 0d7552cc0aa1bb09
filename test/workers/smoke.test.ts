import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("joins a room and gets a pass when seats are free", async () => {
  const res = await exports.default.fetch("http://localhost/_spillway/rooms/smoke/join", { method: "POST" });
  const body = await res.json<Record<string, unknown>>();
  expect(res.status).toBe(200);
  expect(body.state).toBe("admitted");
  expect(typeof body.pass).toBe("string");
});

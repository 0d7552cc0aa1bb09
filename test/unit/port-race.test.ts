/**
 * `onFreePort` (test/contract/support/worker.ts): a start that loses its port
 * to another test's server runs again on a new port; any other failure, or
 * a third lost race, is thrown as it came.
 */
import { describe, expect, it } from "vitest";
import { onFreePort } from "../contract/support/worker.ts";

const LOST = "Address already in use (127.0.0.1:9). Please check that you are not already running a server";

describe("onFreePort", () => {
  it("starts again on a new port after a lost race, and gives back what the start gave", async () => {
    const ports: number[] = [];
    const started = await onFreePort(async (port) => {
      ports.push(port);
      if (ports.length === 1) throw new Error(LOST);
      return `up on ${port}`;
    });
    expect(ports).toHaveLength(2);
    expect(ports[0]).toBeGreaterThan(0);
    expect(ports[1]).toBeGreaterThan(0);
    expect(started).toBe(`up on ${ports[1]}`);
  });

  it("throws any other failure at once", async () => {
    let tries = 0;
    await expect(
      onFreePort(async () => {
        tries += 1;
        throw new Error("the start script exited before it was ready");
      }),
    ).rejects.toThrow("exited before it was ready");
    expect(tries).toBe(1);
  });

  it("gives up after three lost races", async () => {
    let tries = 0;
    await expect(
      onFreePort(async () => {
        tries += 1;
        throw new Error(LOST);
      }),
    ).rejects.toThrow("Address already in use");
    expect(tries).toBe(3);
  });
});

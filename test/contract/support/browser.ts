/**
 * A real browser for contract tests: Debian's Chromium driven by
 * playwright-core (which downloads no browser of its own). Headless, no
 * sandbox (tests may run as root) and no background traffic.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Why the browser tests cannot run here, or null when they can. Only a
 * developer's machine without Chromium skips them: in CI (where .ci/run
 * installs Chromium) a missing browser is a failure, not a skip.
 */
export function browserSkipReason(): string | null {
  if (existsSync(CHROMIUM_PATH) || process.env["CI"]) return null;
  return `skipped: no Chromium at ${CHROMIUM_PATH} (apt-get install chromium; CI installs it and never skips)`;
}

/** Launch the Debian Chromium headless, with the house flags and any `extraArgs` a test needs. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH} (.ci/run installs it with apt-get)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", ...extraArgs],
    timeout: 20_000,
  });
}

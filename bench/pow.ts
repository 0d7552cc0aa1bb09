/**
 * `npm run bench:pow`: how long the waiting page's proof-of-work solver takes
 * in Chromium on this machine, to choose `challengeBits`. It runs the page's
 * own solver code (SOLVER_JS, the Web Worker's solver) over 2^16 nonces
 * and reports hashes a second and the average time for each difficulty
 * (2^bits tries on average). Needs /usr/bin/chromium.
 *
 *   npm run bench:pow            a table
 *   npm run bench:pow -- --json  the figures as JSON
 */
import { chromium } from "playwright-core";
import { SOLVER_JS } from "../src/pages/generated/scripts.ts";

const TRIES = 1 << 16;
const ROUNDS = 3;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const page = await browser.newPage();
  // A secure context (Web Crypto needs one) without a server: localhost, answered here.
  await page.route("http://localhost/**", (route) =>
    route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><title>pow</title>" }),
  );
  await page.goto("http://localhost/");
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rates.push(
      await page.evaluate(
        async ({ src, tries }) => {
          // The bundle defines `spillwaySolver`; the script's last expression hands it back.
          const { solveRange } = (0, eval)(`${src};spillwaySolver`) as {
            solveRange: (...a: unknown[]) => Promise<unknown>;
          };
          const started = performance.now();
          // 64 bits is never met: every nonce is tried, as a solver that has not found one yet does.
          for (let from = 0; from < tries; from += 256) await solveRange(crypto.randomUUID(), 64, from, 256);
          return tries / ((performance.now() - started) / 1000);
        },
        { src: SOLVER_JS, tries: TRIES },
      ),
    );
  }
  const rate = rates.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
  const table = [12, 14, 16, 18, 20, 22].map((bits) => ({ bits, averageSeconds: 2 ** bits / rate }));
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ hashesPerSecond: Math.round(rate), rounds: rates.map(Math.round), table }, null, 2));
  } else {
    console.log(`Chromium solver: ${Math.round(rate).toLocaleString("en")} hashes/s (median of ${ROUNDS})`);
    for (const row of table) console.log(`  ${row.bits} bits: ${row.averageSeconds.toFixed(2)} s on average`);
  }
} finally {
  await browser.close();
}

/**
 * `npm run keys`: print a fresh key set for a deployment. Nothing is written
 * to disk.
 *
 *   npm run keys                 .dev.vars lines (KEY=value)
 *   npm run keys -- --json       a JSON object, as `wrangler secret bulk` reads it
 *   npm run keys -- --pass-key   one new pass signing key (a private JWK), for a rotation
 */
import { newKeySet, newPassKey, toDevVars } from "./keys.ts";

if (process.argv.includes("--pass-key")) {
  process.stdout.write(`${JSON.stringify(await newPassKey())}\n`);
} else {
  const keys = await newKeySet();
  if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
  else process.stdout.write(toDevVars(keys));
}

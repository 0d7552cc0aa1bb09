/**
 * `npm run keys`: print a fresh key set for a deployment. Nothing is written
 * to disk.
 *
 *   npm run keys            .dev.vars lines (KEY=value)
 *   npm run keys -- --json  a JSON object, as `wrangler secret bulk` reads it
 */
import { newKeySet, toDevVars } from "./keys.ts";

const keys = await newKeySet();
if (process.argv.includes("--json")) process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
else process.stdout.write(toDevVars(keys));

/**
 * `npm start`: run Spillway locally in workerd with the demo origin.
 *
 * Creates `.dev.vars` with fresh dev keys and a random admin token when it is
 * missing, then runs `wrangler dev` with every argument given after `--`
 * (`--port`, `--ip`, `--var`, `--persist-to`, …) and, once the Worker is
 * ready, prints the URLs to open and the admin token to use.
 */
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { type KeySet, newKeySet, parseDevVars, toDevVars } from "./keys.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const devVarsPath = join(root, ".dev.vars");
const args = process.argv.slice(2);

/** Values given with `--var NAME:value`. */
function vars(): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const spec = a === "--var" ? args[i + 1] : a.startsWith("--var=") ? a.slice(6) : undefined;
    if (spec === undefined) continue;
    for (const pair of spec.split(/\s+/)) {
      const at = pair.indexOf(":");
      if (at > 0) out[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return out;
}

if (!existsSync(devVarsPath)) {
  writeFileSync(devVarsPath, toDevVars(await newKeySet()), { mode: 0o600 });
  console.log(`Created ${devVarsPath} with fresh dev keys and a random admin token.`);
}
let devVars = parseDevVars(readFileSync(devVarsPath, "utf8"));
// A .dev.vars from an older version may lack a secret added since: add a fresh one.
const fresh = await newKeySet();
const missing = (Object.keys(fresh) as (keyof KeySet)[]).filter((name) => devVars[name] === undefined);
if (missing.length > 0) {
  const lines = missing.map((name) => (name === "PASS_KEYS" ? `${name}='${fresh[name]}'` : `${name}=${fresh[name]}`));
  appendFileSync(devVarsPath, `${lines.join("\n")}\n`);
  console.log(`Added ${missing.join(", ")} to ${devVarsPath}.`);
  devVars = parseDevVars(readFileSync(devVarsPath, "utf8"));
}
const given = vars();
const adminToken = given["ADMIN_TOKEN"] ?? devVars["ADMIN_TOKEN"] ?? "(not set)";
const tokenSource = given["ADMIN_TOKEN"] !== undefined ? "--var" : devVarsPath;
const origin = given["ORIGIN_URL"] ?? "";

// The local demo serves any room id; a deployment serves only rooms ops created (ROOMS in wrangler.toml).
const devArgs = given["ROOMS"] === undefined ? [...args, "--var", "ROOMS:*"] : args;

const wrangler = join(root, "node_modules", ".bin", "wrangler");
const child = spawn(wrangler, ["dev", ...devArgs], {
  cwd: root,
  stdio: ["inherit", "pipe", "pipe"],
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    // Local dev needs no Request.cf from the network.
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  },
});

let announced = false;
function announce(readyUrl: string): void {
  if (announced) return;
  announced = true;
  const base = readyUrl.replace(/\/$/, "");
  const lines = [
    "",
    "Spillway is running.",
    `  Room (${origin ? `proxied to ${origin}` : "demo origin"}):  ${base}/rooms/demo/`,
    `  Status JSON:   ${base}/_spillway/rooms/demo/status`,
    `  JWKS:          ${base}/_spillway/jwks.json`,
    `  Admin API:     ${base}/_spillway/admin/rooms/demo`,
    `  Dashboard:     ${base}/_spillway/admin/   (sign in with the admin token)`,
    `  OpenAPI:       ${base}/_spillway/openapi.json`,
    `  Admin token:   ${adminToken}   (from ${tokenSource})`,
    `  CLI:           SPILLWAY_URL=${base} SPILLWAY_TOKEN=${adminToken} npx spillway watch demo`,
    "",
    "  Try the queue with one seat:",
    `    curl -X PATCH -H 'authorization: Bearer ${adminToken}' -H 'content-type: application/json' \\`,
    `      -d '{"capacity":1}' ${base}/_spillway/admin/rooms/demo`,
    "",
  ];
  console.log(lines.join("\n"));
}

function relay(stream: NodeJS.ReadableStream, out: NodeJS.WriteStream): void {
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    out.write(chunk);
    buffered = (buffered + chunk).slice(-4096);
    const m = /Ready on (https?:\/\/\S+)/.exec(stripVTControlCharacters(buffered));
    if (m) announce(m[1]!);
  });
}
relay(child.stdout!, process.stdout);
relay(child.stderr!, process.stderr);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});

#!/usr/bin/env node
/**
 * `npx spillway`: the ops CLI for a Spillway Worker (rooms, config, a live
 * view, the audit trail, releasing a seat). See docs/cli.md.
 *
 * This file is the package's `bin`, run as TypeScript by Node 24's type
 * stripping. The shebang finds `node` on PATH; npm (npx, npm exec, npm run)
 * puts the project's node_modules/.bin first on PATH, and there `node` is the
 * Node 24 of the `node` dev dependency, not an older system Node. Run it
 * directly (./src/cli/spillway.ts) only where `node` is Node 24.
 */
import { main } from "./ops/main.ts";

/**
 * npm forwards the terminal's SIGINT to the process it runs, which is this
 * one where its `sh -c` execs the command (bash does; Debian's dash does not):
 * then one Ctrl-C arrives twice, well within this.
 */
const SAME_KEYPRESS_MS = 500;

const interrupt = new AbortController();
let interruptedAt = 0;
// Ctrl-C ends the command cleanly (watch exits 0); pressed again, it ends the process at once.
process.on("SIGINT", () => {
  if (!interrupt.signal.aborted) {
    interruptedAt = Date.now();
    interrupt.abort();
  } else if (Date.now() - interruptedAt > SAME_KEYPRESS_MS) {
    if (process.stdout.isTTY) process.stdout.write("\x1b[?25h"); // watch hides the cursor
    process.exit(130);
  }
});
// `spillway watch demo | head -3`: a closed pipe ends the command, not with a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

process.exitCode = await main({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: interrupt.signal,
});

/**
 * The `spillway` CLI as a function of its inputs (arguments, environment,
 * output streams, a Ctrl-C signal), so tests run it in-process against a
 * stand-in server; src/cli/spillway.ts wires it to the real process.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AdminClient } from "./admin-client.ts";
import { type Env, parseInvocation } from "./args.ts";
import { runCommand } from "./commands.ts";
import { CliError, EXIT, UsageError } from "./errors.ts";
import type { Output } from "./watch.ts";

export interface MainIo {
  argv: readonly string[];
  env: Env;
  stdout: Output;
  stderr: Output;
  /** Aborted on Ctrl-C: watch stops cleanly (exit 0); any other command stops with 130. */
  signal?: AbortSignal;
  now?: () => Date;
  fetch?: typeof fetch;
}

/** The shell's code for "ended by SIGINT". */
export const INTERRUPTED = 130;

/** Run one command line; resolves to the exit code. */
export async function main(io: MainIo): Promise<number> {
  try {
    const invocation = parseInvocation(io.argv, io.env);
    switch (invocation.kind) {
      case "help":
        if (invocation.usage === true) {
          io.stderr.write(`${invocation.text}\n`);
          return EXIT.usage;
        }
        io.stdout.write(`${invocation.text}\n`);
        return EXIT.ok;
      case "version":
        io.stdout.write(`spillway ${packageVersion()} (Node.js ${process.version})\n`);
        return EXIT.ok;
      case "run": {
        const client = new AdminClient(invocation.connection, {
          ...(io.fetch === undefined ? {} : { fetch: io.fetch }),
          ...(io.signal === undefined ? {} : { signal: io.signal }),
        });
        await runCommand(invocation.command, {
          client,
          json: invocation.json,
          out: io.stdout,
          err: io.stderr,
          now: io.now ?? (() => new Date()),
          ...(io.signal === undefined ? {} : { signal: io.signal }),
        });
        return EXIT.ok;
      }
    }
  } catch (err) {
    return report(err, io);
  }
}

function report(err: unknown, io: MainIo): number {
  if (io.signal?.aborted) return INTERRUPTED;
  if (err instanceof UsageError) {
    const help = err.topic === null ? "spillway --help" : `spillway ${err.topic} --help`;
    io.stderr.write(`spillway: ${err.message}\nRun "${help}" for usage.\n`);
    return err.exitCode;
  }
  if (err instanceof CliError) {
    io.stderr.write(`spillway: ${err.message}\n`);
    return err.exitCode;
  }
  // A bug, not an operator's mistake: keep the stack for the report.
  io.stderr.write(`spillway: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failure;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../../package.json"), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

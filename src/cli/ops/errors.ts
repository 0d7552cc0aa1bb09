/**
 * How the `spillway` CLI fails: every expected failure is a CliError whose
 * message is written for the operator (what went wrong and what to do about
 * it) and whose exit code tells scripts a usage mistake from a failed call.
 */

/** 0: done; 1: the call failed (network, token, refusal); 2: the command line was wrong. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT.failure) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A mistake on the command line: exit code 2, and a pointer to the help. */
export class UsageError extends CliError {
  /** The help topic to point at, e.g. "config set". */
  readonly topic: string | null;

  constructor(message: string, topic: string | null = null) {
    super(message, EXIT.usage);
    this.name = "UsageError";
    this.topic = topic;
  }
}

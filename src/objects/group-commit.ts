/**
 * Group commit for a Durable Object whose state is written behind
 * (write-behind.ts): requests change memory, and their answers wait for the
 * commit that writes those changes. A commit runs at once when none ran in
 * the last `everyMs`, else when that time is up (commitAt), so a busy object writes its
 * shared rows (counters, the current arrival bin, the batch being claimed
 * from) a few times a second rather than at every request, and a quiet one
 * answers without delay.
 *
 * A commit that fails rejects every request waiting for it; the object then
 * drops its memory and starts again from what was committed (`onFailure`).
 */

import { commitAt } from "../policy/commits.ts";

/** Schedules `run` after `ms` (setTimeout in a Durable Object; a fake in tests). */
export type Schedule = (run: () => void, ms: number) => void;

interface Waiting {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class GroupCommit {
  readonly #commit: () => void;
  readonly #onFailure: (err: unknown) => void;
  readonly #everyMs: number;
  readonly #schedule: Schedule;
  readonly #now: () => number;
  #next: Waiting | null = null;
  /** When the last commit ran (ms; null: none yet). */
  #last: number | null = null;

  constructor(
    commit: () => void,
    onFailure: (err: unknown) => void,
    everyMs: number,
    schedule: Schedule,
    now: () => number,
  ) {
    this.#commit = commit;
    this.#onFailure = onFailure;
    this.#everyMs = everyMs;
    this.#schedule = schedule;
    this.#now = now;
  }

  /** Resolves once every change made so far is committed (rejects when that commit fails). */
  committed(): Promise<void> {
    if (this.#next !== null) return this.#next.promise;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const promise = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const waiting = { promise, resolve, reject };
    this.#next = waiting;
    const now = this.#now();
    this.#schedule(() => this.#run(waiting), commitAt(this.#last, now, this.#everyMs) - now);
    return promise;
  }

  /** Commit soon, whether or not anyone waits for it (a change no answer depends on). */
  soon(): void {
    this.committed().catch(() => {});
  }

  /** The changes not yet committed are dropped (the object restarts): who waits for them is refused. */
  abandon(err: unknown): void {
    const waiting = this.#next;
    this.#next = null;
    waiting?.reject(err);
  }

  #run(waiting: Waiting): void {
    // Abandoned since: nothing to write for it.
    if (this.#next !== waiting) return;
    this.#next = null;
    this.#last = this.#now();
    try {
      this.#commit();
      waiting.resolve();
    } catch (err) {
      this.#onFailure(err);
      waiting.reject(err);
    }
  }
}

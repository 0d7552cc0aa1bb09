/**
 * The demo room's live stream: a WAV header, then the piece of
 * demo-audio.ts generated as it plays, paced by the clock: at once the
 * room's last few seconds (a player's start-up buffer), then as the room
 * plays, never more than a lead (a second) ahead of it. It never ends by itself:
 * it stops when the listener goes away (the body is cancelled), and then no
 * timer is left behind.
 *
 * In workerd, `Date.now()` moves only across I/O; a timer firing is I/O, so
 * after each wait the clock has moved on as it should.
 */
import { DEFAULT_PACE, pace, type PaceOptions, pcm16, streamStart, wavHeader } from "./demo-audio.ts";

export interface LiveStreamOptions {
  /** Where the room is now (see `liveIndex`). */
  roomIndex: number;
  /** Real time in milliseconds; pacing follows it. */
  now?: () => number;
  pace?: PaceOptions;
}

export function liveWavStream(options: LiveStreamOptions): ReadableStream<Uint8Array> {
  const now = options.now ?? (() => Date.now());
  const paceOptions = options.pace ?? DEFAULT_PACE;
  const startIndex = streamStart(options.roomIndex, paceOptions);
  let started = 0;
  let position = 0;
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(() => {
        timer = undefined;
        wake = undefined;
        resolve();
      }, ms);
    });

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        started = now();
        controller.enqueue(wavHeader());
      },
      async pull(controller) {
        while (!cancelled) {
          const step = pace(now() - started, position, paceOptions);
          position += step.skip;
          if (step.send > 0) {
            controller.enqueue(pcm16(startIndex + position, step.send));
            position += step.send;
            return;
          }
          await sleep(step.waitMs);
        }
      },
      cancel() {
        cancelled = true;
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        wake?.();
        wake = undefined;
      },
    },
    // Pull only when the reader asks: the pacing, not a queue, decides how far ahead the stream runs.
    { highWaterMark: 0 },
  );
}

/**
 * The demo room's sound (src/demo/demo-audio.ts): the WAV header of an
 * endless stream, samples that are bounded, audible, a function of their
 * index alone (so any chunking gives the same bytes) and looping; the pacing
 * step; and the live stream (src/demo/demo-stream.ts) that stops its timer
 * when the listener goes away.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BITS_PER_SAMPLE,
  BYTES_PER_SECOND,
  CHANNELS,
  CYCLE_SAMPLES,
  CYCLE_SECONDS,
  DEFAULT_PACE,
  liveIndex,
  pace,
  pcm16,
  SAMPLE_RATE,
  sampleAt,
  streamStart,
  STREAMING_SIZE,
  WAV_HEADER_BYTES,
  wavHeader,
} from "../../src/demo/demo-audio.ts";
import { liveWavStream } from "../../src/demo/demo-stream.ts";
import { DEMO_PAGE_SCRIPT } from "../../src/demo/demo.tsx";

const ascii = (bytes: Uint8Array, at: number, length: number) =>
  String.fromCharCode(...bytes.subarray(at, at + length));

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** `count` samples from `start`, generated in chunks of `size`. */
function chunked(start: number, count: number, size: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (let done = 0; done < count; done += size) chunks.push(pcm16(start + done, Math.min(size, count - done)));
  return concat(chunks);
}

describe("WAV header", () => {
  const h = wavHeader();
  const view = new DataView(h.buffer);

  it("is a 44-byte PCM WAV header of unknown length", () => {
    expect(h.length).toBe(WAV_HEADER_BYTES);
    expect(ascii(h, 0, 4)).toBe("RIFF");
    expect(view.getUint32(4, true)).toBe(STREAMING_SIZE);
    expect(STREAMING_SIZE).toBe(0xffffffff);
    expect(ascii(h, 8, 4)).toBe("WAVE");
    expect(ascii(h, 12, 4)).toBe("fmt ");
    expect(view.getUint32(16, true)).toBe(16);
    expect(ascii(h, 36, 4)).toBe("data");
    expect(view.getUint32(40, true)).toBe(STREAMING_SIZE);
  });

  it("says 16-bit mono PCM at 16 kHz, with matching byte rate and block align", () => {
    expect(view.getUint16(20, true)).toBe(1); // PCM
    expect(view.getUint16(22, true)).toBe(1);
    expect(CHANNELS).toBe(1);
    expect(view.getUint32(24, true)).toBe(16_000);
    expect(SAMPLE_RATE).toBe(16_000);
    expect(view.getUint32(28, true)).toBe(32_000);
    expect(BYTES_PER_SECOND).toBe(32_000);
    expect(view.getUint16(32, true)).toBe(2);
    expect(view.getUint16(34, true)).toBe(16);
    expect(BITS_PER_SAMPLE).toBe(16);
  });
});

describe("samples", () => {
  const cycle = Array.from({ length: CYCLE_SAMPLES }, (_, i) => sampleAt(i));

  it("stay within (-1, 1) and are not silent", () => {
    let peak = 0;
    let energy = 0;
    for (const s of cycle) {
      expect(Number.isFinite(s)).toBe(true);
      peak = Math.max(peak, Math.abs(s));
      energy += s * s;
    }
    expect(peak).toBeLessThan(1);
    expect(peak).toBeGreaterThan(0.1);
    const rms = Math.sqrt(energy / cycle.length);
    expect(rms).toBeGreaterThan(0.03);
    // Every second of the piece has sound in it: no gaps.
    for (let second = 0; second < CYCLE_SECONDS; second++) {
      const part = cycle.slice(second * SAMPLE_RATE, (second + 1) * SAMPLE_RATE);
      expect(Math.max(...part.map(Math.abs))).toBeGreaterThan(0.02);
    }
  });

  it("move smoothly (no clicks), across the chord changes and the loop too", () => {
    let jump = Math.abs(sampleAt(CYCLE_SAMPLES) - cycle[CYCLE_SAMPLES - 1]!);
    for (let i = 1; i < CYCLE_SAMPLES; i++) jump = Math.max(jump, Math.abs(cycle[i]! - cycle[i - 1]!));
    expect(jump).toBeLessThan(0.2);
  });

  it("are a function of the index alone, and loop every cycle", () => {
    for (const i of [0, 1, 12_345, 95_999, 96_000, CYCLE_SAMPLES - 1]) {
      expect(sampleAt(i)).toBe(cycle[i]);
      expect(sampleAt(i + CYCLE_SAMPLES)).toBe(sampleAt(i));
      expect(sampleAt(i + 1_000 * CYCLE_SAMPLES)).toBe(sampleAt(i));
    }
    expect(pcm16(777, 5_000)).toEqual(pcm16(777, 5_000));
  });

  it("give the same bytes however the stream is chunked", () => {
    const start = liveIndex(Date.UTC(2026, 0, 1, 12, 0, 7, 250));
    const count = 2 * SAMPLE_RATE + 17;
    const whole = pcm16(start, count);
    expect(whole.length).toBe(count * 2);
    for (const size of [1, 7, 160, 4_000, 4_001, SAMPLE_RATE]) expect(chunked(start, count, size)).toEqual(whole);
  });

  it("are 16-bit little-endian PCM of the samples", () => {
    const bytes = pcm16(1_000, 100);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < 100; i++) {
      expect(view.getInt16(i * 2, true)).toBe(Math.round(sampleAt(1_000 + i) * 32_767));
    }
  });
});

describe("liveIndex", () => {
  it("puts listeners at the same moment of the piece, given the time", () => {
    const t = Date.UTC(2026, 3, 1, 20, 0, 0);
    expect(liveIndex(t)).toBe(liveIndex(t));
    expect(liveIndex(t + 1_000) - liveIndex(t)).toBe(SAMPLE_RATE);
    expect(liveIndex(t + CYCLE_SECONDS * 1_000)).toBe(liveIndex(t));
    expect(liveIndex(t)).toBeGreaterThanOrEqual(0);
    expect(liveIndex(t)).toBeLessThan(CYCLE_SAMPLES);
  });
});

describe("pace", () => {
  const lead = (DEFAULT_PACE.leadMs * SAMPLE_RATE) / 1000;
  const burst = (DEFAULT_PACE.burstMs * SAMPLE_RATE) / 1000;

  it("starts a stream the burst's worth before the room", () => {
    expect(streamStart(100_000)).toBe(100_000 - burst);
    expect(DEFAULT_PACE.burstMs + DEFAULT_PACE.leadMs).toBeLessThanOrEqual(8_000);
  });

  it("sends the burst and a lead at once, in chunks, then waits", () => {
    let position = 0;
    for (;;) {
      const step = pace(0, position);
      expect(step.skip).toBe(0);
      if (step.send === 0) {
        expect(step.waitMs).toBeGreaterThan(0);
        break;
      }
      expect(step.send).toBeLessThanOrEqual(DEFAULT_PACE.maxChunk);
      position += step.send;
    }
    // Never more than a lead ahead of the room (which is `burst` past the stream's start).
    expect(position - burst).toBeLessThanOrEqual(lead);
    expect(position - burst).toBeGreaterThan(lead - DEFAULT_PACE.minChunk);
  });

  it("keeps up with the clock, never more than a lead ahead of the room", () => {
    let position = 0;
    let elapsed = 0;
    for (let i = 0; i < 1_000; i++) {
      const step = pace(elapsed, position);
      expect(step.skip).toBe(0);
      position += step.send;
      elapsed += step.waitMs;
      const room = burst + (elapsed * SAMPLE_RATE) / 1000;
      expect(position - room).toBeLessThanOrEqual(lead);
    }
    expect(elapsed).toBeGreaterThan(10_000);
    // And not behind it either: within a chunk of the lead.
    const room = burst + (elapsed * SAMPLE_RATE) / 1000;
    expect(room + lead - position).toBeLessThanOrEqual(DEFAULT_PACE.minChunk);
  });

  it("jumps ahead when the reader has fallen far behind the room: it is live", () => {
    const elapsed = 60_000;
    const step = pace(elapsed, burst);
    const room = burst + (elapsed * SAMPLE_RATE) / 1000;
    // From a burst and a lead behind the room.
    expect(burst + step.skip).toBe(room - burst - lead);
    expect(step.send).toBe(DEFAULT_PACE.maxChunk);
    // Not when it is only a little behind.
    expect(pace(elapsed, room - lead).skip).toBe(0);
  });
});

describe("liveWavStream", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts with the header, the burst and a lead of PCM, waits for the clock, and leaves no timer when cancelled", async () => {
    vi.useFakeTimers();
    let now = 1_000_000;
    const roomIndex = 400_242;
    const startIndex = streamStart(roomIndex);
    const reader = liveWavStream({ roomIndex, now: () => now }).getReader();
    let next = reader.read();
    /** Every chunk the stream gives before it waits for the clock. */
    const drain = async (): Promise<Uint8Array> => {
      const chunks: Uint8Array[] = [];
      for (;;) {
        const settled = await Promise.race([next.then(() => true), vi.advanceTimersByTimeAsync(0).then(() => false)]);
        if (!settled) return concat(chunks);
        const { value, done } = await next;
        expect(done).toBe(false);
        chunks.push(value!);
        if (chunks.length > 100) throw new Error("the stream did not wait for the clock");
        next = reader.read();
      }
    };

    const first = await drain();
    expect(first.subarray(0, WAV_HEADER_BYTES)).toEqual(wavHeader());
    const pcm = first.subarray(WAV_HEADER_BYTES);
    const atOnce = ((DEFAULT_PACE.burstMs + DEFAULT_PACE.leadMs) * BYTES_PER_SECOND) / 1000;
    expect(pcm.length).toBeLessThanOrEqual(atOnce);
    expect(pcm.length).toBeGreaterThan(atOnce - 2 * DEFAULT_PACE.minChunk);
    expect(pcm).toEqual(pcm16(startIndex, pcm.length / 2));
    // Waiting for the clock: one timer.
    expect(vi.getTimerCount()).toBe(1);

    // Half a second later, about half a second more sound, continuing where it left off.
    now += 500;
    await vi.advanceTimersByTimeAsync(500);
    const more = await drain();
    expect(Math.abs(more.length - BYTES_PER_SECOND / 2)).toBeLessThanOrEqual(2 * DEFAULT_PACE.minChunk * 2);
    expect(more).toEqual(pcm16(startIndex + pcm.length / 2, more.length / 2));
    expect(vi.getTimerCount()).toBe(1);

    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
    expect((await next).done).toBe(true);
  });
});

describe("the demo page's script", () => {
  it("parses", () => {
    expect(() => new Function(DEMO_PAGE_SCRIPT)).not.toThrow();
  });
});

/**
 * The demo room's sound: a slow chord progression (a soft pad) with a
 * gentle arpeggio over it, as 16-bit mono PCM at 16 kHz (32 kB/s), and the
 * header of a WAV stream of unknown length.
 *
 * Pure: every sample is a function of its index alone, so any chunking of
 * the stream gives the same bytes, and the piece loops every CYCLE_SECONDS
 * (each note's phase is taken from its own start, so the numbers stay small
 * however long a stream runs). Pacing a stream against the clock is a pure
 * step too (`pace`); the timers live in demo-stream.ts.
 */

export const SAMPLE_RATE = 16_000;
export const CHANNELS = 1;
export const BITS_PER_SAMPLE = 16;
export const BYTES_PER_SAMPLE = (BITS_PER_SAMPLE / 8) * CHANNELS;
export const BYTES_PER_SECOND = SAMPLE_RATE * BYTES_PER_SAMPLE;

/** The size a WAV stream of unknown length gives for the RIFF and data chunks. */
export const STREAMING_SIZE = 0xffff_ffff;
export const WAV_HEADER_BYTES = 44;

const CHORD_SECONDS = 6;
const CHORD_SAMPLES = CHORD_SECONDS * SAMPLE_RATE;
/** Arpeggio steps per chord (a step is 0.375 s). */
const STEPS_PER_CHORD = 16;
const STEP_SAMPLES = CHORD_SAMPLES / STEPS_PER_CHORD;

/** Pad notes (MIDI numbers) and the notes the arpeggio picks from, per chord. */
const CHORDS: readonly { pad: readonly number[]; arp: readonly number[] }[] = [
  { pad: [50, 57, 61, 64], arp: [62, 66, 69, 73, 76] }, // Dmaj7
  { pad: [47, 54, 57, 62], arp: [59, 62, 66, 69, 74] }, // Bm7
  { pad: [43, 50, 54, 59], arp: [55, 59, 62, 66, 71] }, // Gmaj7
  { pad: [45, 52, 57, 61], arp: [57, 61, 64, 69, 71] }, // A(add9)
];
/** Which arpeggio note each step plays (null: a rest). */
const PATTERN: readonly (number | null)[] = [0, 2, 4, 3, 1, 3, null, 2, 0, 2, 4, 3, 1, null, 2, null];

export const CYCLE_SAMPLES = CHORDS.length * CHORD_SAMPLES;
export const CYCLE_SECONDS = CYCLE_SAMPLES / SAMPLE_RATE;

/** Pad crossfade between chords, centred on the change. */
const FADE_SAMPLES = 1.5 * SAMPLE_RATE;
/** How long an arpeggio note rings, its attack, decay constant and closing fade. */
const NOTE_SAMPLES = 2 * SAMPLE_RATE;
const ATTACK_SAMPLES = 0.015 * SAMPLE_RATE;
const DECAY_SAMPLES = 0.55 * SAMPLE_RATE;
const RELEASE_SAMPLES = 0.1 * SAMPLE_RATE;

const PAD_GAIN = 0.05;
const ARP_GAIN = 0.11;
const MASTER_GAIN = 1.8;
const TAU = 2 * Math.PI;

const hz = (midi: number): number => 440 * 2 ** ((midi - 69) / 12);
const mod = (n: number, m: number): number => ((n % m) + m) % m;
const chordAt = (index: number) => CHORDS[mod(index, CHORDS.length)]!;

/** A sine of `freq` Hz, `t` samples after its start. */
const sine = (freq: number, t: number): number => Math.sin((TAU * freq * t) / SAMPLE_RATE);

/** The pad's level `t` samples after its chord's start: fades in and out across the changes (the two fades sum to 1). */
function padEnvelope(t: number): number {
  const half = FADE_SAMPLES / 2;
  if (t <= -half || t >= CHORD_SAMPLES + half) return 0;
  if (t < half) return Math.sin((Math.PI / 2) * ((t + half) / FADE_SAMPLES)) ** 2;
  if (t > CHORD_SAMPLES - half) return Math.cos((Math.PI / 2) * ((t - CHORD_SAMPLES + half) / FADE_SAMPLES)) ** 2;
  return 1;
}

/** An arpeggio note's level `t` samples after it is struck. */
function noteEnvelope(t: number): number {
  if (t < 0 || t >= NOTE_SAMPLES) return 0;
  const attack = Math.min(1, t / ATTACK_SAMPLES);
  const release = Math.min(1, (NOTE_SAMPLES - t) / RELEASE_SAMPLES);
  return attack * release * Math.exp(-t / DECAY_SAMPLES);
}

function pad(m: number): number {
  const chord = Math.floor(m / CHORD_SAMPLES);
  let sum = 0;
  for (let j = chord - 1; j <= chord + 1; j++) {
    const t = m - j * CHORD_SAMPLES;
    const level = padEnvelope(t);
    if (level === 0) continue;
    for (const note of chordAt(j).pad) {
      const f = hz(note);
      // Two slightly detuned voices and a quiet octave: a slow, warm beating.
      sum += level * (0.5 * sine(f, t) + 0.5 * sine(f * 1.003, t) + 0.2 * sine(2 * f, t));
    }
  }
  // A slow swell over the whole cycle.
  return PAD_GAIN * sum * (0.85 + 0.15 * Math.sin((TAU * m) / CYCLE_SAMPLES));
}

function arpeggio(m: number): number {
  const step = Math.floor(m / STEP_SAMPLES);
  const ringing = Math.ceil(NOTE_SAMPLES / STEP_SAMPLES);
  let sum = 0;
  for (let s = step - ringing; s <= step; s++) {
    const which = PATTERN[mod(s, STEPS_PER_CHORD)];
    if (which === null || which === undefined) continue;
    const t = m - s * STEP_SAMPLES;
    const level = noteEnvelope(t);
    if (level === 0) continue;
    const f = hz(chordAt(Math.floor(s / STEPS_PER_CHORD)).arp[which]!);
    // A bell-like partial an octave up that dies away faster.
    sum += level * (sine(f, t) + 0.25 * Math.exp(-t / (DECAY_SAMPLES / 3)) * sine(2 * f, t));
  }
  return ARP_GAIN * sum;
}

/** The sample at `index` (from any origin: the piece loops), in (-1, 1). */
export function sampleAt(index: number): number {
  const m = mod(Math.floor(index), CYCLE_SAMPLES);
  // A soft limiter: never clips, and only bends the (rare) loudest peaks.
  return Math.tanh(MASTER_GAIN * (pad(m) + arpeggio(m)));
}

/** `count` samples from `start` as 16-bit little-endian PCM. */
export function pcm16(start: number, count: number): Uint8Array {
  const out = new Uint8Array(count * BYTES_PER_SAMPLE);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const value = Math.max(-32_768, Math.min(32_767, Math.round(sampleAt(start + i) * 32_767)));
    view.setInt16(i * BYTES_PER_SAMPLE, value, true);
  }
  return out;
}

/** The 44-byte header of a PCM WAV stream of unknown length (RIFF and data sizes 0xFFFFFFFF). */
export function wavHeader(): Uint8Array {
  const out = new Uint8Array(WAV_HEADER_BYTES);
  const view = new DataView(out.buffer);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, STREAMING_SIZE, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, CHANNELS, true);
  view.setUint32(24, SAMPLE_RATE, true);
  view.setUint32(28, BYTES_PER_SECOND, true);
  view.setUint16(32, BYTES_PER_SAMPLE, true); // block align
  view.setUint16(34, BITS_PER_SAMPLE, true);
  ascii(36, "data");
  view.setUint32(40, STREAMING_SIZE, true);
  return out;
}

/**
 * Where in the piece the room is at wall time `nowMs`: every listener who
 * joins hears the same moment, as in a live room.
 */
export function liveIndex(nowMs: number): number {
  const cycleMs = CYCLE_SECONDS * 1000;
  return Math.floor((mod(nowMs, cycleMs) * SAMPLE_RATE) / 1000);
}

export interface PaceOptions {
  /** How far ahead of the room's real time a stream may run. */
  leadMs: number;
  /**
   * What a stream sends at once when it starts: the room's last moments (as
   * Icecast's burst-on-connect does), so that a player can start at once.
   * Chromium starts a WAV stream only once it holds about 224 KiB of PCM:
   * seven seconds at 32 kB/s, or six and the lead.
   */
  burstMs: number;
  /** Smallest chunk worth sending, and largest sent at once (samples). */
  minChunk: number;
  maxChunk: number;
}

export const DEFAULT_PACE: PaceOptions = {
  leadMs: 1_000,
  burstMs: 6_000,
  minChunk: SAMPLE_RATE / 10,
  maxChunk: SAMPLE_RATE / 4,
};

const samplesIn = (ms: number): number => Math.floor((ms * SAMPLE_RATE) / 1000);

/** The sample a stream starts at when the room is at `roomIndex`: the burst's worth earlier. */
export function streamStart(roomIndex: number, options: PaceOptions = DEFAULT_PACE): number {
  return roomIndex - samplesIn(options.burstMs);
}

export interface PaceStep {
  /** Samples to skip first: a stream that fell far behind the room (a stalled reader) jumps ahead: it is live. */
  skip: number;
  /** Samples to send now (0: wait). */
  send: number;
  /** When `send` is 0, how long to wait before asking again. */
  waitMs: number;
}

/**
 * What a stream that has covered `position` samples since it started
 * `elapsedMs` ago (the burst's worth before the room's time then) should do
 * now: never more than `leadMs` ahead of the room's real time.
 */
export function pace(elapsedMs: number, position: number, options: PaceOptions = DEFAULT_PACE): PaceStep {
  const due = samplesIn(elapsedMs + options.burstMs + options.leadMs);
  const skip = Math.max(0, due - position - samplesIn(options.burstMs + 2 * options.leadMs));
  const ahead = due - position - skip;
  if (ahead >= options.minChunk) return { skip, send: Math.min(ahead, options.maxChunk), waitMs: 0 };
  const waitMs = Math.ceil(((options.minChunk - ahead) * 1000) / SAMPLE_RATE);
  return { skip, send: 0, waitMs: Math.max(1, waitMs) };
}

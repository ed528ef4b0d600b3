import { endianness } from 'node:os';
import type { PcmFormat, SampleFormat } from '../pcm';
import { floatToS16 } from '../pcm';

/**
 * Where `rtpcast play` sends what it decoded: interleaved Float32 PCM (-1..1) at the format given
 * to open(). Sinks never convert rate or channels: the player hands them the format they opened.
 *
 * Whose clock sets the pace (`clock`):
 * - 'device': the output's own clock pulls audio. Register `onPull` (before or after open()): the
 *   sink calls it whenever the device needs `frames` more frames, and the function returns exactly
 *   that many (the player's servo then follows the sound card's clock, drift included; nothing
 *   piles up between rtpcast and the card). PortAudio (a worker pulls over IPC) and the sound
 *   server through pacat (paced by the playback position pacat reports, see sinks/pulse.ts).
 * - 'timer': nothing pulls (a file, stdout, pw-play): the caller writes at real-time pace by its
 *   own clock. A timer sink that can measure how much it holds says so in `latencyMs()`.
 *
 * Refinements over the first draft of this interface (documented where they are used):
 * - device sinks also accept `write()` (a push instead of answering pulls): the pacat sink does,
 *   the PortAudio sink does not (its worker asks for exactly what it needs);
 * - `stats()` reports what the sink saw (frames taken, underruns, latency) for the status line
 *   and for tests.
 */
export interface AudioSink {
  /** for messages: "sound server (pacat) → speakers", "file out.wav" */
  readonly label: string;
  readonly clock: 'device' | 'timer';
  /** opens the output in this format; rejects with an RtpcastError the user can act on */
  open(format: PcmFormat): Promise<void>;
  /** device sinks: `fn(frames)` is called whenever the device needs that many frames; it returns exactly that many (interleaved) */
  onPull?(fn: (frames: number) => Float32Array): void;
  /** timer sinks (and device sinks that accept pushes): queue these frames for output */
  write?(samples: Float32Array): void;
  /** audio taken by the sink and not yet heard, in ms (device buffer and everything before it), when known */
  latencyMs?(): number | undefined;
  stats?(): SinkStats;
  /** a failure after open (the device vanished, the disk is full, the reader of stdout went away) */
  onError(fn: (e: Error) => void): void;
  /** stops the output after what it holds has been played or written (bounded in time) */
  close(): Promise<void>;
}

export interface SinkStats {
  /** frames taken from the player (pulled or written) */
  frames: number;
  /** times the device ran dry, when the backend reports it */
  underruns?: number;
  latencyMs?: number;
}

const LITTLE = endianness() === 'LE';

/** Interleaved floats -> float32le bytes (a copy: the caller may reuse its array). */
export function floatToF32LE(samples: Float32Array): Buffer {
  const out = Buffer.from(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  if (!LITTLE) out.swap32();
  return out;
}

/** Interleaved floats -> s16le bytes, rounded and clipped as everywhere else (floatToS16); NaN -> 0. */
export function floatToS16LE(samples: Float32Array): Buffer {
  const view = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i];
    view[i] = v === v ? floatToS16(v) : 0;
  }
  const out = Buffer.from(view.buffer, 0, view.byteLength);
  if (!LITTLE) out.swap16();
  return out;
}

/** Interleaved floats -> raw bytes in a stdin/stdout sample format (the inverse of decodeRaw). */
export function encodeRaw(samples: Float32Array, format: SampleFormat): Buffer {
  if (format === 'f32le') return floatToF32LE(samples);
  const le = floatToS16LE(samples);
  return format === 's16be' ? le.swap16() : le;
}

/** Exactly `frames` frames: `got` cut or padded with silence (a pull function that miscounted). */
export function exactFrames(got: Float32Array | undefined, frames: number, channels: number): Float32Array {
  const n = frames * channels;
  if (got && got.length === n) return got;
  const out = new Float32Array(n);
  if (got) out.set(got.length > n ? got.subarray(0, n) : got);
  return out;
}

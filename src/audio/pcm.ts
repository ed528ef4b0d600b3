/** PCM as it moves between stages: interleaved Float32 samples in -1..1 at a known rate and channel count. */
export interface PcmFormat {
  rate: number;
  channels: number;
}

/** Raw sample encodings accepted on stdin (and produced for outputs later). */
export type SampleFormat = 's16le' | 's16be' | 'f32le';
export const SAMPLE_FORMATS: SampleFormat[] = ['s16le', 's16be', 'f32le'];

export function bytesPerSample(f: SampleFormat): number {
  return f === 'f32le' ? 4 : 2;
}

/** Decodes whole samples of raw PCM into floats (the caller keeps any partial trailing bytes). */
export function decodeRaw(buf: Buffer, format: SampleFormat): Float32Array {
  const bps = bytesPerSample(format);
  const n = Math.floor(buf.length / bps);
  const out = new Float32Array(n);
  if (format === 's16le') for (let i = 0; i < n; i++) out[i] = buf.readInt16LE(i * 2) / 32768;
  else if (format === 's16be') for (let i = 0; i < n; i++) out[i] = buf.readInt16BE(i * 2) / 32768;
  else if (LITTLE_ENDIAN) out.set(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + n * 4)));
  else for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float to int16 with rounding and clipping (the one place this conversion lives). */
export function floatToS16(v: number): number {
  const s = Math.round(v * 32768);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}

/** Interleaved float -> big-endian int16 bytes (L16's network byte order, RFC 3551 4.5.11). */
export function floatToS16BE(samples: Float32Array, out: Buffer = Buffer.allocUnsafe(samples.length * 2), offset = 0): Buffer {
  for (let i = 0; i < samples.length; i++) {
    const v = floatToS16(samples[i]);
    out[offset + 2 * i] = (v >> 8) & 0xff;
    out[offset + 2 * i + 1] = v & 0xff;
  }
  return out;
}

/** Interleaved float -> Int16Array in machine order (what the Opus encoder takes). */
export function floatToInt16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = floatToS16(samples[i]);
  return out;
}

/**
 * Changes the channel count: mono is copied to every output channel; to mono, channels are
 * averaged; otherwise channels are taken in order and missing ones repeat the last input channel.
 */
export function remapChannels(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const frames = Math.floor(samples.length / from);
  const out = new Float32Array(frames * to);
  if (to === 1) {
    for (let f = 0; f < frames; f++) {
      let s = 0;
      for (let c = 0; c < from; c++) s += samples[f * from + c];
      out[f] = s / from;
    }
    return out;
  }
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < to; c++) out[f * to + c] = samples[f * from + Math.min(c, from - 1)];
  }
  return out;
}

/** Peak and RMS level per channel in dBFS (for the status meter); -Infinity for digital silence. */
export function levels(samples: Float32Array, channels: number): { peakDb: number[]; rmsDb: number[] } {
  const peak = new Array<number>(channels).fill(0);
  const sq = new Array<number>(channels).fill(0);
  const frames = Math.floor(samples.length / channels);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) {
      const v = samples[f * channels + c];
      const a = v < 0 ? -v : v;
      if (a > peak[c]) peak[c] = a;
      sq[c] += v * v;
    }
  }
  const db = (x: number) => (x > 0 ? 20 * Math.log10(x) : -Infinity);
  return { peakDb: peak.map(db), rmsDb: sq.map((s) => db(Math.sqrt(s / Math.max(1, frames)))) };
}

/**
 * Minimal RIFF/WAVE reader and writer.
 *
 * The reader is tolerant of WAV produced by streaming writers (ffmpeg or VLC
 * writing to a pipe or to a file that is still being written): such files
 * carry a placeholder data size (0 or 0xFFFFFFFF) or a size larger than what
 * is actually present, which is read as "the data runs to the end of the
 * buffer".
 */

/** Decoded audio: interleaved float samples in -1..1. */
export interface DecodedPcm {
  rate: number;
  channels: number;
  /** Interleaved samples, nominally in -1..1. */
  samples: Float32Array;
}

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Placeholder data sizes written by streaming writers. */
const SIZE_UNKNOWN = 0xffffffff;

interface FmtInfo {
  tag: number;
  channels: number;
  rate: number;
  bits: number;
  blockAlign: number;
}

function chunkId(buf: Buffer, offset: number): string {
  return buf.toString('latin1', offset, offset + 4);
}

function hex4(n: number): string {
  return '0x' + n.toString(16).toUpperCase().padStart(4, '0');
}

/** Parses the payload of a "fmt " chunk (offset/size of the payload). */
function parseFmt(buf: Buffer, offset: number, size: number): FmtInfo {
  if (size < 16) throw new Error(`WAV fmt chunk too short (${size} bytes, need at least 16)`);
  let tag = buf.readUInt16LE(offset);
  const channels = buf.readUInt16LE(offset + 2);
  const rate = buf.readUInt32LE(offset + 4);
  const blockAlign = buf.readUInt16LE(offset + 12);
  const bits = buf.readUInt16LE(offset + 14);
  if (tag === FORMAT_EXTENSIBLE) {
    // cbSize(2) validBits(2) channelMask(4) then the sub-format GUID, whose
    // first two bytes are the real format tag.
    if (size < 40) throw new Error(`WAV WAVE_FORMAT_EXTENSIBLE fmt chunk too short (${size} bytes, need 40)`);
    tag = buf.readUInt16LE(offset + 24);
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_IEEE_FLOAT) {
    throw new Error(`unsupported WAV format tag ${hex4(tag)} (only PCM and IEEE float)`);
  }
  if (channels < 1) throw new Error(`invalid WAV channel count ${channels}`);
  if (rate < 1) throw new Error(`invalid WAV sample rate ${rate}`);
  if (tag === FORMAT_PCM && ![8, 16, 24, 32].includes(bits)) {
    throw new Error(`unsupported WAV PCM bit depth ${bits} (only 8, 16, 24, 32)`);
  }
  if (tag === FORMAT_IEEE_FLOAT && bits !== 32 && bits !== 64) {
    throw new Error(`unsupported WAV float bit depth ${bits} (only 32, 64)`);
  }
  return { tag, channels, rate, bits, blockAlign };
}

/** Reads the 64-bit data size from an RF64/BW64 "ds64" chunk payload. */
function parseDs64DataSize(buf: Buffer, offset: number, size: number): number | undefined {
  if (size < 16) return undefined;
  const low = buf.readUInt32LE(offset + 8);
  const high = buf.readUInt32LE(offset + 12);
  return high * 0x100000000 + low;
}

/** Converts raw little-endian sample bytes to floats in -1..1. */
function decodeSamples(buf: Buffer, offset: number, count: number, fmt: FmtInfo): Float32Array {
  const out = new Float32Array(count);
  const bytes = fmt.bits / 8;
  if (fmt.tag === FORMAT_IEEE_FLOAT) {
    for (let i = 0, p = offset; i < count; i++, p += bytes) {
      out[i] = bytes === 4 ? buf.readFloatLE(p) : buf.readDoubleLE(p);
    }
    return out;
  }
  switch (fmt.bits) {
    case 8: // unsigned, 128 = silence
      for (let i = 0; i < count; i++) out[i] = (buf[offset + i] - 128) / 128;
      break;
    case 16:
      for (let i = 0, p = offset; i < count; i++, p += 2) out[i] = buf.readInt16LE(p) / 32768;
      break;
    case 24:
      for (let i = 0, p = offset; i < count; i++, p += 3) out[i] = buf.readIntLE(p, 3) / 8388608;
      break;
    default: // 32
      for (let i = 0, p = offset; i < count; i++, p += 4) out[i] = buf.readInt32LE(p) / 2147483648;
  }
  return out;
}

/**
 * Parses a RIFF/WAVE (or RF64/BW64) buffer into interleaved float samples.
 * Supports integer PCM 8/16/24/32-bit, IEEE float 32/64-bit and
 * WAVE_FORMAT_EXTENSIBLE wrapping either. Unknown chunks are skipped.
 * A data size of 0, 0xFFFFFFFF or one beyond the buffer means "until the end
 * of the buffer"; a trailing partial frame is dropped.
 * @throws Error naming what is wrong with the input.
 */
export function parseWav(buf: Buffer): DecodedPcm {
  if (buf.length < 12) throw new Error(`not a RIFF/WAVE file (only ${buf.length} bytes)`);
  const magic = chunkId(buf, 0);
  if (!['RIFF', 'RF64', 'BW64'].includes(magic) || chunkId(buf, 8) !== 'WAVE') {
    throw new Error('not a RIFF/WAVE file (missing RIFF....WAVE header)');
  }

  let fmt: FmtInfo | undefined;
  let ds64DataSize: number | undefined;
  let dataStart = -1;
  let dataSize = 0;
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = chunkId(buf, offset);
    const size = buf.readUInt32LE(offset + 4);
    const payload = offset + 8;
    const available = buf.length - payload;
    if (id === 'data') {
      dataStart = payload;
      let declared = size;
      if (size === SIZE_UNKNOWN && ds64DataSize !== undefined) declared = ds64DataSize;
      const toEnd = declared === 0 || declared === SIZE_UNKNOWN || declared > available;
      dataSize = toEnd ? available : declared;
      // A streamed data chunk swallows the rest of the buffer; a complete one
      // may be followed by more chunks, only worth reading if fmt is missing.
      if (toEnd || fmt) break;
    } else if (id === 'fmt ') {
      if (size > available) throw new Error(`WAV fmt chunk truncated (${size} bytes declared, ${available} present)`);
      fmt = parseFmt(buf, payload, size);
      if (dataStart >= 0) break;
    } else if (id === 'ds64') {
      ds64DataSize = parseDs64DataSize(buf, payload, Math.min(size, available));
    }
    offset = payload + size + (size & 1); // chunks are padded to even sizes
  }

  if (!fmt) throw new Error(dataStart >= 0 ? 'no fmt chunk in WAV file' : 'no fmt chunk and no data chunk in WAV file');
  if (dataStart < 0) throw new Error('no data chunk in WAV file');

  const frameBytes = fmt.channels * (fmt.bits / 8);
  const frames = Math.floor(dataSize / frameBytes);
  const samples = decodeSamples(buf, dataStart, frames * fmt.channels, fmt);
  return { rate: fmt.rate, channels: fmt.channels, samples };
}

/**
 * Encodes interleaved float samples as a canonical 16-bit little-endian WAV
 * (44-byte header). Samples are scaled by 32768, rounded and clipped to the
 * int16 range; NaN becomes 0.
 */
export function encodeWavS16(samples: Float32Array, rate: number, channels: number): Buffer {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`invalid channel count ${channels}`);
  if (!(rate > 0)) throw new Error(`invalid sample rate ${rate}`);
  const frames = Math.floor(samples.length / channels);
  const dataBytes = frames * channels * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVE', 8, 'latin1');
  out.write('fmt ', 12, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(FORMAT_PCM, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(rate, 24);
  out.writeUInt32LE(rate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  for (let i = 0, p = 44; i < frames * channels; i++, p += 2) {
    const v = Math.round(samples[i] * 32768);
    out.writeInt16LE(Number.isNaN(v) ? 0 : Math.max(-32768, Math.min(32767, v)), p);
  }
  return out;
}

/** Splits interleaved samples into one array per channel (partial frames dropped). */
export function deinterleave(samples: Float32Array, channels: number): Float32Array[] {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`invalid channel count ${channels}`);
  const frames = Math.floor(samples.length / channels);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const ch = new Float32Array(frames);
    for (let f = 0; f < frames; f++) ch[f] = samples[f * channels + c];
    out.push(ch);
  }
  return out;
}

/** Averages the channels of interleaved samples into a new mono array. */
export function mixToMono(samples: Float32Array, channels: number): Float32Array {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`invalid channel count ${channels}`);
  if (channels === 1) return samples.slice();
  const frames = Math.floor(samples.length / channels);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += samples[f * channels + c];
    out[f] = sum / channels;
  }
  return out;
}

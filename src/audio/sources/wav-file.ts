import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AudioSource, S16LERange } from '../source';
import type { PcmFormat } from '../pcm';

/** Where the samples of a plain PCM WAV file are, and how they are stored. */
export interface WavLayout {
  rate: number;
  channels: number;
  /** 's16' | 's24' | 's32' integer PCM, 'f32' IEEE float */
  encoding: 's16' | 's24' | 's32' | 'f32';
  /** file offset of the first sample byte */
  dataOffset: number;
  /** sample bytes (whole frames only) */
  dataBytes: number;
}

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
/** how much of the file's start is searched for the fmt and data chunks */
export const WAV_HEADER_SCAN = 1 << 20;

/**
 * The layout of a WAV file rtpcast can read itself (RIFF/WAVE with 16/24/32-bit integer PCM or
 * 32-bit float, plain or WAVE_FORMAT_EXTENSIBLE, any other chunks skipped), or undefined for
 * anything else (compressed WAV, 8-bit, 64-bit float, RF64, a truncated header, not a WAV at all),
 * which is left to ffmpeg. Pure: `head` is the file's first bytes, `fileSize` its size.
 * A data size of 0 or 0xFFFFFFFF (streaming writers) or past the end of the file means
 * "to the end of the file".
 */
export function wavLayout(head: Buffer, fileSize: number): WavLayout | undefined {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  let fmt: { tag: number; channels: number; rate: number; bits: number; blockAlign: number } | undefined;
  let off = 12;
  while (off + 8 <= head.length) {
    const id = head.toString('latin1', off, off + 4);
    const size = head.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > head.length) return undefined;
      let tag = head.readUInt16LE(body);
      const channels = head.readUInt16LE(body + 2);
      const rate = head.readUInt32LE(body + 4);
      const blockAlign = head.readUInt16LE(body + 12);
      const bits = head.readUInt16LE(body + 14);
      if (tag === FORMAT_EXTENSIBLE) {
        if (size < 40) return undefined;
        // the valid bits must fill the container (no 20-in-24 packing), the sub-format GUID's first two bytes are the tag
        if (head.readUInt16LE(body + 18) !== bits) return undefined;
        tag = head.readUInt16LE(body + 24);
      }
      fmt = { tag, channels, rate, bits, blockAlign };
    } else if (id === 'data') {
      if (!fmt) return undefined;
      const { tag, channels, rate, bits, blockAlign } = fmt;
      const encoding = tag === FORMAT_PCM ? ({ 16: 's16', 24: 's24', 32: 's32' } as const)[bits] : tag === FORMAT_IEEE_FLOAT && bits === 32 ? 'f32' : undefined;
      if (!encoding || channels < 1 || rate < 1 || blockAlign !== channels * (bits / 8)) return undefined;
      const available = Math.max(0, fileSize - body);
      const declared = size === 0 || size === 0xffffffff || size > available ? available : size;
      return { rate, channels, encoding, dataOffset: body, dataBytes: declared - (declared % blockAlign) };
    }
    off = body + size + (size & 1); // chunks are padded to even sizes
  }
  return undefined;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Sample bytes (little-endian, whole samples) to floats in -1..1, as ffmpeg's pcm_f32le output would carry them. */
export function decodeWavSamples(b: Buffer, encoding: WavLayout['encoding']): Float32Array {
  switch (encoding) {
    case 's16': {
      const n = b.length >> 1;
      const out = new Float32Array(n);
      if (LITTLE_ENDIAN && b.byteOffset % 2 === 0) {
        const v = new Int16Array(b.buffer, b.byteOffset, n);
        for (let i = 0; i < n; i++) out[i] = v[i] / 32768;
      } else for (let i = 0; i < n; i++) out[i] = b.readInt16LE(i * 2) / 32768;
      return out;
    }
    case 's24': {
      const n = Math.floor(b.length / 3);
      const out = new Float32Array(n);
      for (let i = 0, p = 0; i < n; i++, p += 3) out[i] = ((b[p] | (b[p + 1] << 8) | (b[p + 2] << 16)) << 8 >> 8) / 8388608;
      return out;
    }
    case 's32': {
      const n = b.length >> 2;
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt32LE(i * 4) / 2147483648;
      return out;
    }
    case 'f32': {
      const n = b.length >> 2;
      if (LITTLE_ENDIAN && b.byteOffset % 4 === 0) return new Float32Array(b.buffer, b.byteOffset, n).slice();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readFloatLE(i * 4);
      return out;
    }
  }
}

/**
 * A plain PCM WAV file already at the stream's rate and channel count, read directly: no ffmpeg
 * child (its spawn and decoding were ~0.2 s of CPU per minute of audio, more than the rest of an
 * L16 sender's audio work). Reads are synchronous and small (a few KB from the page cache, once
 * every few packets). Anything else (other rates, channel counts, formats) goes through ffmpeg.
 */
export class WavFileSource implements AudioSource {
  readonly pacing = 'sender' as const;
  readonly label: string;
  private fd: number | undefined;
  private pos: number;
  private readonly end: number;
  private readonly frameBytes: number;
  private buf = Buffer.alloc(0);

  constructor(
    readonly path: string,
    readonly layout: WavLayout,
  ) {
    this.label = `file ${path} (WAV, read directly)`;
    this.pos = layout.dataOffset;
    this.end = layout.dataOffset + layout.dataBytes;
    this.frameBytes = layout.channels * ({ s16: 2, s24: 3, s32: 4, f32: 4 } as const)[layout.encoding];
    // the direct path is for 16-bit samples only: the others go through read()'s conversion
    if (layout.encoding !== 's16') {
      this.readS16LE = undefined;
      this.takeS16LERange = undefined;
    }
  }

  /**
   * Opens `path` and returns a source when it is a WAV this class reads at `want`'s rate and
   * channel count; undefined otherwise (or when the file cannot be read: ffmpeg's path reports that).
   */
  static probe(path: string, want: PcmFormat): WavFileSource | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'r');
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      // the fmt and data chunks are nearly always in the first bytes: look at 64 KiB, then at
      // WAV_HEADER_SCAN if the data chunk lies further on (large metadata chunks)
      let layout: WavLayout | undefined;
      for (const size of [Math.min(1 << 16, st.size), Math.min(WAV_HEADER_SCAN, st.size)]) {
        const head = Buffer.allocUnsafe(size);
        const got = readSync(fd, head, 0, size, 0);
        layout = wavLayout(head.subarray(0, got), st.size);
        if (layout || size === st.size || size === WAV_HEADER_SCAN) break;
      }
      if (!layout || layout.rate !== want.rate || layout.channels !== want.channels || layout.dataBytes === 0) return undefined;
      const src = new WavFileSource(path, layout);
      src.fd = fd;
      fd = undefined;
      return src;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  async open(): Promise<PcmFormat> {
    if (this.fd === undefined) this.fd = openSync(this.path, 'r');
    return { rate: this.layout.rate, channels: this.layout.channels };
  }

  /**
   * Reads up to `frames` whole frames of sample bytes into `out` at `offset` and moves on: the
   * bytes read, 0 at the end of the data (or when the file shrank under us).
   */
  private readBytes(frames: number, out: Buffer, offset: number): number {
    if (this.fd === undefined || this.pos >= this.end) return 0;
    const want = Math.min(frames * this.frameBytes, this.end - this.pos, out.length - offset);
    const got = readSync(this.fd, out, offset, want, this.pos);
    if (got <= 0) return 0;
    const whole = got - (got % this.frameBytes);
    this.pos += whole;
    return whole;
  }

  read(frames: number): Float32Array | null {
    const want = frames * this.frameBytes;
    if (this.buf.length < want) this.buf = Buffer.alloc(want);
    const bytes = this.readBytes(frames, this.buf, 0);
    return bytes === 0 ? null : decodeWavSamples(this.buf.subarray(0, bytes), this.layout.encoding);
  }

  /**
   * The 16-bit file's bytes straight into the caller's buffer (an L16 packet's payload): one pread
   * per packet, no conversion. Only for s16 files (the method is removed for the others).
   */
  readS16LE?(frames: number, out: Buffer, offset: number): number | null {
    const bytes = this.readBytes(frames, out, offset);
    return bytes === 0 ? null : bytes / this.frameBytes;
  }

  /** The next `frames` frames' place in the file, taken as if read (a native pacer reads them). */
  takeS16LERange?(frames: number): S16LERange | null {
    if (this.fd === undefined || this.pos >= this.end) return null;
    const bytes = Math.min(frames * this.frameBytes, this.end - this.pos);
    const whole = bytes - (bytes % this.frameBytes);
    if (whole === 0) return null;
    // the end of the whole frames: a trailing partial frame is not audio (readBytes drops it too)
    const end = this.end - ((this.end - this.layout.dataOffset) % this.frameBytes);
    const range = { fd: this.fd, offset: this.pos, bytes: whole, end };
    this.pos += whole;
    return range;
  }

  onReadable(): void {}
  onError(): void {}

  async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

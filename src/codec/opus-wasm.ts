import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * libopus's decoder through the WebAssembly build that @evan/opus ships, called directly.
 * @evan/opus's own Decoder always asks for 120 ms and never sets decode_fec, which rules out
 * both packet-loss concealment of the right length and FEC recovery; the raw exports give both:
 * opus_decode(st, data, len, pcm, frame_size, decode_fec).
 */
interface OpusExports {
  memory: WebAssembly.Memory;
  malloc(n: number): number;
  free(p: number): void;
  opus_decoder_get_size(channels: number): number;
  opus_decoder_init(st: number, fs: number, channels: number): number;
  opus_decode(st: number, data: number, len: number, pcm: number, frameSize: number, decodeFec: number): number;
  opus_strerror(code: number): number;
  _initialize?: () => void;
}

let shared: OpusExports | undefined;

function load(): OpusExports {
  if (shared) return shared;
  const dir = join(dirname(require.resolve('@evan/opus/package.json')), 'wasm');
  // the SIMD build where the runtime supports WebAssembly SIMD (Node 16+ does)
  const simd = WebAssembly.validate(Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11));
  const mod = new WebAssembly.Module(readFileSync(join(dir, simd ? 'simd.wasm' : 'opus.wasm')));
  const noop = () => 0;
  const inst = new WebAssembly.Instance(mod, {
    wasi_snapshot_preview1: { fd_seek: noop, fd_write: noop, fd_close: noop, proc_exit: noop },
    env: { emscripten_notify_memory_growth: noop },
  });
  shared = inst.exports as unknown as OpusExports;
  shared._initialize?.();
  return shared;
}

function errorText(w: OpusExports, code: number): string {
  const u8 = new Uint8Array(w.memory.buffer);
  let s = '';
  for (let p = w.opus_strerror(code); u8[p] !== 0 && s.length < 100; p++) s += String.fromCharCode(u8[p]);
  return s;
}

/** Maximum frame a packet can carry: 120 ms at 48 kHz. */
const MAX_FRAME = 5760;

export class OpusWasmDecoder {
  private readonly w: OpusExports;
  private readonly st: number;
  private readonly inPtr: number;
  private readonly pcmPtr: number;
  private closed = false;

  constructor(readonly channels: number) {
    this.w = load();
    this.st = this.w.malloc(this.w.opus_decoder_get_size(channels));
    const r = this.w.opus_decoder_init(this.st, 48000, channels);
    if (r < 0) throw new Error(`opus decoder init: ${errorText(this.w, r)}`);
    this.inPtr = this.w.malloc(1500 * 4);
    this.pcmPtr = this.w.malloc(MAX_FRAME * channels * 2);
  }

  private run(data: Uint8Array | undefined, frameSize: number, fec: boolean): Float32Array {
    let len = 0;
    if (data) {
      len = Math.min(data.length, 1500 * 4);
      new Uint8Array(this.w.memory.buffer, this.inPtr, len).set(data.subarray(0, len));
    }
    const n = this.w.opus_decode(this.st, data ? this.inPtr : 0, len, this.pcmPtr, frameSize, fec ? 1 : 0);
    if (n < 0) throw new Error(`opus: ${errorText(this.w, n)}`);
    // views are made after the call: the memory may have grown (and moved) during it
    const pcm = new Int16Array(this.w.memory.buffer, this.pcmPtr, n * this.channels);
    const out = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) out[i] = pcm[i] / 32768;
    return out;
  }

  /** Decodes one packet (all the frames it carries). */
  decode(packet: Uint8Array): Float32Array {
    return this.run(packet, MAX_FRAME, false);
  }

  /** Packet-loss concealment for `frames` frames (a multiple of 2.5 ms: 120 samples). */
  conceal(frames: number): Float32Array {
    return this.run(undefined, frames, false);
  }

  /** Rebuilds the `frames` frames before `next` from the redundancy (LBRR) that `next` carries. */
  recover(next: Uint8Array, frames: number): Float32Array {
    return this.run(next, frames, true);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.w.free(this.st);
    this.w.free(this.inPtr);
    this.w.free(this.pcmPtr);
  }
}

/** Samples per channel (at 48 kHz) in an Opus packet, from its TOC (RFC 6716 3.1); 0 if malformed. */
export function opusPacketSamples(p: Uint8Array): number {
  if (p.length < 1) return 0;
  const toc = p[0];
  const config = toc >> 3;
  // frame duration per config, in samples at 48 kHz
  let frame: number;
  if (config < 12) frame = [480, 960, 1920, 2880][config & 3]; // SILK: 10/20/40/60 ms
  else if (config < 16) frame = [480, 960][config & 1]; // Hybrid: 10/20 ms
  else frame = [120, 240, 480, 960][config & 3]; // CELT: 2.5/5/10/20 ms
  const code = toc & 3;
  let count: number;
  if (code === 0) count = 1;
  else if (code === 1 || code === 2) count = 2;
  else {
    if (p.length < 2) return 0;
    count = p[1] & 0x3f;
  }
  const total = frame * count;
  return count === 0 || total > MAX_FRAME ? 0 : total;
}

/** Bytes of the decoder's WebAssembly memory (0 before the first decoder): it only ever grows. */
export function opusWasmMemoryBytes(): number {
  return shared ? shared.memory.buffer.byteLength : 0;
}

/**
 * Input generation for the fuzzer: seeded, deterministic, and addressable by index (input i of a
 * target depends only on the seed, the target and i, so any input can be regenerated alone:
 * `npm run fuzz -- --target T --seed S --start I --count 1`).
 */
import { hash32, mulberry32 } from '../support/prng';

export type Rand = () => number;

/** The generator for input `index` of target number `stream` under `seed`. */
export function inputRand(seed: number, index: number, stream: number): Rand {
  return mulberry32(hash32(seed, index, stream));
}

export function int(r: Rand, n: number): number {
  return Math.floor(r() * n);
}

export function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[int(r, xs.length)];
}

export function randomBytes(r: Rand, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** values that break length arithmetic */
const INTERESTING = [0, 1, 2, 3, 4, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xc0, 0xc8, 0xcb, 0xcc, 0xfe, 0xff];

/** A small length, biased to the edges (0, 1, 12, 16, word boundaries) */
function smallLen(r: Rand, max: number): number {
  const v = r() < 0.5 ? int(r, 17) : int(r, max + 1);
  return Math.min(v, max);
}

/** 1-4 generic byte-level mutations of `seed` (a copy). `others`: corpus to splice from. */
export function mutateBytes(r: Rand, seed: Uint8Array, others: readonly Uint8Array[] = []): Uint8Array {
  let b: Uint8Array = seed.slice();
  const n = 1 + int(r, 4);
  for (let k = 0; k < n; k++) {
    const op = int(r, 11);
    const len = b.length;
    switch (op) {
      case 0:
      case 1: // bit flip
        if (len) b[int(r, len)] ^= 1 << int(r, 8);
        break;
      case 2: // interesting byte
        if (len) b[int(r, len)] = pick(r, INTERESTING);
        break;
      case 3: // random byte
        if (len) b[int(r, len)] = int(r, 256);
        break;
      case 4: // truncate
        b = b.subarray(0, int(r, len + 1)).slice();
        break;
      case 5: {
        // append random bytes
        const extra = randomBytes(r, smallLen(r, 64));
        const c = new Uint8Array(len + extra.length);
        c.set(b);
        c.set(extra, len);
        b = c;
        break;
      }
      case 6: {
        // delete a range
        if (!len) break;
        const at = int(r, len);
        const cut = 1 + int(r, Math.min(16, len - at));
        const c = new Uint8Array(len - cut);
        c.set(b.subarray(0, at));
        c.set(b.subarray(at + cut), at);
        b = c;
        break;
      }
      case 7: {
        // insert random bytes
        const at = int(r, len + 1);
        const ins = randomBytes(r, 1 + int(r, 8));
        const c = new Uint8Array(len + ins.length);
        c.set(b.subarray(0, at));
        c.set(ins, at);
        c.set(b.subarray(at), at + ins.length);
        b = c;
        break;
      }
      case 8: {
        // duplicate a range
        if (!len) break;
        const at = int(r, len);
        const n2 = 1 + int(r, Math.min(32, len - at));
        const c = new Uint8Array(len + n2);
        c.set(b.subarray(0, at + n2));
        c.set(b.subarray(at, at + n2), at + n2);
        c.set(b.subarray(at + n2), at + 2 * n2);
        b = c;
        break;
      }
      case 9: {
        // splice: our head, another seed's tail
        if (!others.length) break;
        const o = pick(r, others);
        const at = int(r, len + 1);
        const from = int(r, o.length + 1);
        const c = new Uint8Array(at + o.length - from);
        c.set(b.subarray(0, at));
        c.set(o.subarray(from), at);
        b = c;
        break;
      }
      default: {
        // 16-bit big-endian field set to an edge value
        if (len < 2) break;
        const at = int(r, len - 1);
        const v = pick(r, [0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff, int(r, 0x10000)]);
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
      }
    }
  }
  return b;
}

/** RTP-aware mutations: header fields that lie about lengths. `b` is modified and returned. */
export function mutateRtpHeader(r: Rand, b: Uint8Array): Uint8Array {
  if (b.length < 12) return b;
  switch (int(r, 8)) {
    case 0: // CSRC count, often past the end
      b[0] = (b[0] & 0xf0) | int(r, 16);
      break;
    case 1: {
      // extension bit with a lying length
      b[0] |= 0x10;
      const off = 12 + (b[0] & 0x0f) * 4;
      if (off + 4 <= b.length) {
        const w = pick(r, [0, 1, 2, int(r, 64), 0x3fff, 0xffff]);
        b[off + 2] = w >> 8;
        b[off + 3] = w & 0xff;
      }
      break;
    }
    case 2: // padding bit with a padding count bigger than the packet (or zero)
      b[0] |= 0x20;
      b[b.length - 1] = pick(r, [0, 1, b.length - 12, b.length - 11, b.length, 0xff, int(r, 256)]) & 0xff;
      break;
    case 3: // zero-length payload: the header alone
      return b.subarray(0, 12 + int(r, 2) * (b[0] & 0x0f) * 4).slice();
    case 4: // version
      b[0] = (b[0] & 0x3f) | (int(r, 4) << 6);
      break;
    case 5: // RTCP-range payload type / marker
      b[1] = pick(r, [200, 201, 202, 203, 204, 192, 223, 0x80 | int(r, 128), int(r, 256)]);
      break;
    case 6: // truncated header
      return b.subarray(0, int(r, 13)).slice();
    default: // sequence / timestamp / ssrc edge values
      for (let i = 2; i < 12; i++) if (r() < 0.3) b[i] = pick(r, [0, 0xff, 0x80, 0x7f]);
  }
  return b;
}

const SDP_EDGE_NUMBERS = ['0', '-1', '65535', '65536', '4294967296', '99999999999999999999', 'NaN', '1e9', '0x10', '', ' ', '96/48000', '/', '//'];

/** SDP-aware mutations on the text, line by line. */
export function mutateSdpText(r: Rand, text: string, corpus: readonly string[]): string {
  let lines = text.split(/\r?\n/);
  const n = 1 + int(r, 3);
  for (let k = 0; k < n; k++) {
    const i = int(r, Math.max(1, lines.length));
    switch (int(r, 10)) {
      case 0: // delete a line
        lines.splice(i, 1);
        break;
      case 1: // duplicate a line
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 2: // swap two lines
        {
          const j = int(r, Math.max(1, lines.length));
          [lines[i], lines[j]] = [lines[j], lines[i]];
        }
        break;
      case 3: // a line from another SDP
        {
          const o = pick(r, corpus).split(/\r?\n/);
          lines.splice(i, 0, pick(r, o));
        }
        break;
      case 4: // a number replaced by an edge value
        lines[i] = (lines[i] ?? '').replace(/\d+/, pick(r, SDP_EDGE_NUMBERS));
        break;
      case 5: // a huge line (rare: they are slow to build)
        if (r() < 0.05) lines.splice(i, 0, pick(r, ['a=', 'm=audio ', 'c=IN IP4 ', 'a=rtpmap:96 ', 's=', 'a=fmtp:96 ']) + 'x'.repeat(pick(r, [1000, 10_000, 100_000])));
        else lines.splice(i, 0, pick(r, ['a=', 'm=audio ', 'c=IN IP4 ', 'a=rtpmap:96 ', 'a=fmtp:96 ', 'a=source-filter: incl IN IP4 * ']) + 'x '.repeat(int(r, 300)));
        break;
      case 6: // truncate a line
        lines[i] = (lines[i] ?? '').slice(0, int(r, (lines[i] ?? '').length + 1));
        break;
      case 7: // the line's value emptied / its '=' removed
        lines[i] = r() < 0.5 ? (lines[i] ?? '').replace(/=.*/, '=') : (lines[i] ?? '').replace('=', '');
        break;
      case 8: // a typical field inserted
        lines.splice(i, 0, pick(r, [
          'm=audio 5004 RTP/AVP', 'm=audio x RTP/AVP 96', 'm=audio 5004/2 RTP/AVP 96 97', 'c=IN IP6 ff0e::1/3', 'c=IN IP4 239.1.2.3/0/3', 'c=IN', 'a=rtpmap:96', 'a=rtpmap:96 L16/0/0',
          'a=rtpmap:96 opus/48000/2', 'a=rtpmap:96 L16/44100/999', 'a=fmtp:96', 'a=fmtp:96 ;;==;stereo', 'a=ptime:', 'a=ptime:-5', 'a=source-filter: incl', 'a=source-filter: incl IN IP4 239.1.2.3', 'v=0', 'b=AS:',
        ]));
        break;
      default: // line endings: CR alone, CRLF, NUL, BOM
        lines[i] = (lines[i] ?? '') + pick(r, ['\r', '\r\r', '\0', '\ufeff', '\u2028', '\t', ' ']);
    }
  }
  if (r() < 0.1) lines = lines.map((l) => l.toUpperCase());
  return lines.join(r() < 0.7 ? '\r\n' : '\n');
}

/**
 * A small QR code encoder (ISO/IEC 18004): byte mode (with the UTF-8 ECI when the text is not ASCII), error correction level M (15% of the code
 * can be lost), versions 1-10 (up to 213 bytes: any URL the sender prints), the mask with the
 * lowest penalty. Pure; rendered as SVG for the page and with half blocks for the terminal.
 */

/** A square of modules, true = dark; row-major. */
export interface QrCode {
  version: number;
  size: number;
  mask: number;
  modules: boolean[][];
}

/** [EC codewords per block, blocks of group 1, data codewords each, blocks of group 2 (one more data codeword each)] for level M */
const EC_M: Array<[number, number, number, number]> = [
  [0, 0, 0, 0],
  [10, 1, 16, 0],
  [16, 1, 28, 0],
  [26, 1, 44, 0],
  [18, 2, 32, 0],
  [24, 2, 43, 0],
  [16, 4, 27, 0],
  [18, 4, 31, 0],
  [22, 2, 38, 2],
  [22, 3, 36, 2],
  [26, 4, 43, 1],
];
const ALIGN: number[][] = [[], [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34], [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];
export const QR_MAX_VERSION = 10;

function dataCapacity(v: number): number {
  const [, b1, d1, b2] = EC_M[v];
  return b1 * d1 + b2 * (d1 + 1);
}

/** The most bytes a code of this version holds in byte mode at level M. */
export function byteCapacity(v: number, eci = false): number {
  const countBits = v <= 9 ? 8 : 16;
  return Math.floor((dataCapacity(v) * 8 - 4 - countBits - (eci ? 12 : 0)) / 8);
}

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}
const mul = (a: number, b: number): number => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

/** Reed-Solomon EC codewords of `data` (the remainder of data*x^n divided by the generator). */
export function reedSolomon(data: Uint8Array, n: number): Uint8Array {
  // generator (x - a^0)(x - a^1)...(x - a^(n-1)), coefficients highest first, leading 1 dropped
  let gen = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array<number>(gen.length + 1).fill(0);
    for (let j = 0; j < gen.length; j++) {
      next[j] ^= gen[j];
      next[j + 1] ^= mul(gen[j], EXP[i]);
    }
    gen = next;
  }
  const rem = new Uint8Array(n);
  for (const b of data) {
    const f = b ^ rem[0];
    rem.copyWithin(0, 1);
    rem[n - 1] = 0;
    for (let j = 0; j < n; j++) rem[j] ^= mul(gen[j + 1], f);
  }
  return rem;
}

/** The codewords (data then EC, interleaved across blocks) for `bytes` in version v. */
function codewords(bytes: Uint8Array, v: number, eci: boolean): Uint8Array {
  const cap = dataCapacity(v);
  const bits: number[] = [];
  const put = (value: number, len: number) => {
    for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  if (eci) {
    put(0b0111, 4); // ECI designator 26: the bytes are UTF-8 (readers otherwise guess, often Shift JIS)
    put(26, 8);
  }
  put(0b0100, 4);
  put(bytes.length, v <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, cap * 8 - bits.length));
  while (bits.length % 8) bits.push(0);
  const data = new Uint8Array(cap);
  for (let i = 0; i < bits.length / 8; i++) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i * 8 + j];
    data[i] = b;
  }
  for (let i = bits.length / 8, pad = 0xec; i < cap; i++, pad ^= 0xec ^ 0x11) data[i] = pad;

  const [ec, b1, d1, b2] = EC_M[v];
  const blocks: Uint8Array[] = [];
  const ecs: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < b1 + b2; i++) {
    const len = i < b1 ? d1 : d1 + 1;
    const block = data.subarray(at, at + len);
    at += len;
    blocks.push(block);
    ecs.push(reedSolomon(block, ec));
  }
  const out: number[] = [];
  for (let i = 0; i <= d1; i++) for (const b of blocks) if (i < b.length) out.push(b[i]);
  for (let i = 0; i < ec; i++) for (const e of ecs) out.push(e[i]);
  return Uint8Array.from(out);
}

function formatBits(mask: number): number {
  const data = (0b00 << 3) | mask; // level M is 00
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  return ((data << 10) | (rem & 0x3ff)) ^ 0x5412;
}

function versionBits(v: number): number {
  let rem = v;
  for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
  return (v << 12) | (rem & 0xfff);
}

const MASKS: Array<(r: number, c: number) => boolean> = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (_r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

class Grid {
  readonly m: boolean[][];
  readonly fn: boolean[][];
  constructor(readonly size: number) {
    this.m = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.fn = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  }
  set(r: number, c: number, dark: boolean): void {
    this.m[r][c] = dark;
    this.fn[r][c] = true;
  }
}

function drawFunctionPatterns(g: Grid, v: number): void {
  const n = g.size;
  for (const [r0, c0] of [[0, 0], [0, n - 7], [n - 7, 0]]) {
    // finder with its light separator
    for (let dr = -1; dr <= 7; dr++) {
      for (let dc = -1; dc <= 7; dc++) {
        const r = r0 + dr;
        const c = c0 + dc;
        if (r < 0 || c < 0 || r >= n || c >= n) continue;
        const ring = Math.max(Math.abs(dr - 3), Math.abs(dc - 3));
        g.set(r, c, ring !== 2 && ring !== 4);
      }
    }
  }
  for (let i = 8; i < n - 8; i++) {
    g.set(6, i, i % 2 === 0);
    g.set(i, 6, i % 2 === 0);
  }
  const pos = ALIGN[v];
  for (const r of pos) {
    for (const c of pos) {
      if ((r === 6 && c === 6) || (r === 6 && c === n - 7) || (r === n - 7 && c === 6)) continue;
      for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) g.set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
    }
  }
  drawFormat(g, 0); // reserve; redrawn with the chosen mask
  if (v >= 7) {
    const bits = versionBits(v);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = n - 11 + (i % 3);
      const b = Math.floor(i / 3);
      g.set(b, a, dark);
      g.set(a, b, dark);
    }
  }
}

function drawFormat(g: Grid, mask: number): void {
  const n = g.size;
  const bits = formatBits(mask);
  const bit = (i: number) => ((bits >>> i) & 1) === 1;
  // around the top-left finder
  for (let i = 0; i <= 5; i++) g.set(i, 8, bit(i));
  g.set(7, 8, bit(6));
  g.set(8, 8, bit(7));
  g.set(8, 7, bit(8));
  for (let i = 9; i < 15; i++) g.set(8, 14 - i, bit(i));
  // the copy split between the other two finders
  for (let i = 0; i < 8; i++) g.set(8, n - 1 - i, bit(i));
  for (let i = 8; i < 15; i++) g.set(n - 15 + i, 8, bit(i));
  g.set(n - 8, 8, true); // the dark module
}

function placeData(g: Grid, cw: Uint8Array): void {
  const n = g.size;
  let i = 0;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((right + 1) & 2) === 0;
    for (let k = 0; k < n; k++) {
      const r = upward ? n - 1 - k : k;
      for (let j = 0; j < 2; j++) {
        const c = right - j;
        if (g.fn[r][c]) continue;
        // remainder bits past the codewords stay light
        g.m[r][c] = i < cw.length * 8 && ((cw[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
        i++;
      }
    }
  }
}

function applyMask(g: Grid, mask: number): void {
  const f = MASKS[mask];
  for (let r = 0; r < g.size; r++) for (let c = 0; c < g.size; c++) if (!g.fn[r][c] && f(r, c)) g.m[r][c] = !g.m[r][c];
}

/** The standard's penalty score (lower is easier to read). */
export function penalty(m: boolean[][]): number {
  const n = m.length;
  let score = 0;
  const line = (get: (i: number) => boolean) => {
    let run = 1;
    for (let i = 1; i <= n; i++) {
      if (i < n && get(i) === get(i - 1)) run++;
      else {
        if (run >= 5) score += 3 + run - 5;
        run = 1;
      }
    }
    // 1:1:3:1:1 finder-like pattern with four light modules on one side
    for (let i = 0; i + 11 <= n; i++) {
      const s = Array.from({ length: 11 }, (_, k) => (get(i + k) ? 1 : 0)).join('');
      if (s === '10111010000' || s === '00001011101') score += 40;
    }
  };
  for (let r = 0; r < n; r++) line((i) => m[r][i]);
  for (let c = 0; c < n; c++) line((i) => m[i][c]);
  for (let r = 0; r < n - 1; r++) {
    for (let c = 0; c < n - 1; c++) {
      const d = m[r][c];
      if (m[r][c + 1] === d && m[r + 1][c] === d && m[r + 1][c + 1] === d) score += 3;
    }
  }
  let dark = 0;
  for (const row of m) for (const d of row) if (d) dark++;
  score += 10 * Math.floor(Math.abs((dark * 100) / (n * n) - 50) / 5);
  return score;
}

/** Encodes `text` (UTF-8) as the smallest QR code of versions 1-10 at level M. */
export function encodeQr(text: string, opts: { mask?: number } = {}): QrCode {
  const bytes = new TextEncoder().encode(text);
  const eci = bytes.some((b) => b >= 0x80);
  let v = 1;
  while (v <= QR_MAX_VERSION && byteCapacity(v, eci) < bytes.length) v++;
  if (v > QR_MAX_VERSION) throw new RangeError(`${bytes.length} bytes do not fit a QR code up to version ${QR_MAX_VERSION} (at most ${byteCapacity(QR_MAX_VERSION, eci)})`);
  const size = 17 + 4 * v;
  const cw = codewords(bytes, v, eci);
  let best: { mask: number; m: boolean[][]; score: number } | undefined;
  for (let mask = 0; mask < 8; mask++) {
    if (opts.mask !== undefined && mask !== opts.mask) continue;
    const g = new Grid(size);
    drawFunctionPatterns(g, v);
    placeData(g, cw);
    applyMask(g, mask);
    drawFormat(g, mask);
    const score = penalty(g.m);
    if (!best || score < best.score) best = { mask, m: g.m, score };
  }
  return { version: v, size, mask: best!.mask, modules: best!.m };
}

/** An SVG of the code with a 4-module quiet zone; `px` is the drawn size. */
export function qrSvg(q: QrCode, px = 256): string {
  const n = q.size + 8;
  let d = '';
  for (let r = 0; r < q.size; r++) {
    for (let c = 0; c < q.size; c++) if (q.modules[r][c]) d += `M${c + 4} ${r + 4}h1v1h-1z`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${n} ${n}" width="${px}" height="${px}" shape-rendering="crispEdges" role="img"><rect width="${n}" height="${n}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`;
}

/**
 * The code for a terminal, two module rows per text line with half blocks and a 2-module quiet
 * zone. `ansi` paints black on white explicitly (right on dark and light terminals alike);
 * without it, light modules are drawn as blocks, which reads right on the usual dark terminal.
 */
export function qrTerminal(q: QrCode, ansi: boolean): string {
  const quiet = 2;
  const n = q.size + 2 * quiet;
  const dark = (r: number, c: number) => r >= quiet && c >= quiet && r < q.size + quiet && c < q.size + quiet && q.modules[r - quiet][c - quiet];
  const lines: string[] = [];
  for (let r = 0; r < n; r += 2) {
    let s = ansi ? '\x1b[30;107m' : '';
    for (let c = 0; c < n; c++) {
      const top = dark(r, c);
      const bottom = r + 1 < n ? dark(r + 1, c) : false;
      if (ansi) s += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' ';
      else s += !top && !bottom ? '█' : !top ? '▀' : !bottom ? '▄' : ' ';
    }
    lines.push(s + (ansi ? '\x1b[0m' : ''));
  }
  return lines.join('\n');
}

/** A binary PGM image of the code (scale px per module, 4-module quiet zone), for decoding in tests. */
export function qrPgm(q: QrCode, scale = 4): Buffer {
  const n = (q.size + 8) * scale;
  const header = Buffer.from(`P5\n${n} ${n}\n255\n`, 'ascii');
  const px = Buffer.alloc(n * n, 255);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const r = Math.floor(y / scale) - 4;
      const c = Math.floor(x / scale) - 4;
      if (r >= 0 && c >= 0 && r < q.size && c < q.size && q.modules[r][c]) px[y * n + x] = 0;
    }
  }
  return Buffer.concat([header, px]);
}

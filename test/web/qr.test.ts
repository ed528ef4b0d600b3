import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { byteCapacity, encodeQr, penalty, qrPgm, qrSvg, qrTerminal, reedSolomon, QR_MAX_VERSION } from '../../src/web/qr';
import { requireProgram } from '../support/peers';
import { mulberry32 } from '../support/prng';

/** Decodes a code with the real zbarimg (zbar-tools): what a phone's reader would see. */
function zbarDecode(files: string[]): string[] {
  const zbar = requireProgram('zbarimg');
  // one process per image: zbarimg prints nothing for an image it cannot read, so order would be lost
  return files.map((f) => {
    const r = spawnSync(zbar, ['--raw', '-q', '-Sqrcode.enable', f], { encoding: 'utf8' });
    return r.stdout.replace(/\n$/, '');
  });
}

test('Reed-Solomon EC codewords match the worked example (HELLO WORLD, 1-M)', () => {
  const data = Uint8Array.from([0x20, 0x5b, 0x0b, 0x78, 0xd1, 0x72, 0xdc, 0x4d, 0x43, 0x40, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11]);
  assert.deepEqual([...reedSolomon(data, 10)], [0xc4, 0x23, 0x27, 0x77, 0xeb, 0xd7, 0xe7, 0xe2, 0x5d, 0x17]);
});

test('capacities of level M byte mode (ISO/IEC 18004 table 7)', () => {
  assert.deepEqual(
    Array.from({ length: QR_MAX_VERSION }, (_, i) => byteCapacity(i + 1)),
    [14, 26, 42, 62, 84, 106, 122, 152, 180, 213],
  );
});

test('the smallest version is chosen, and too long a text is refused', () => {
  assert.equal(encodeQr('x'.repeat(14)).version, 1);
  assert.equal(encodeQr('x'.repeat(15)).version, 2);
  assert.equal(encodeQr('x'.repeat(213)).version, 10);
  assert.equal(encodeQr('x'.repeat(213)).size, 57);
  assert.throws(() => encodeQr('x'.repeat(214)), /214 bytes do not fit/);
});

test('the chosen mask has the lowest penalty of the eight', () => {
  const text = 'http://192.168.1.20:8080/?k=Zx3_Q9';
  const q = encodeQr(text);
  for (let m = 0; m < 8; m++) assert.ok(penalty(q.modules) <= penalty(encodeQr(text, { mask: m }).modules), `mask ${m}`);
});

test('zbarimg decodes URLs of every version 1-10, every mask, IPv4 and IPv6, UTF-8', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-qr-'));
  try {
    const rnd = mulberry32(7);
    const texts: string[] = [];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const token = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    for (let v = 1; v <= QR_MAX_VERSION; v++) {
      // the longest text of this version, and one just past the previous version
      texts.push(`http://h/?k=${token(byteCapacity(v) - 12)}`);
      if (v > 1) texts.push(`http://10.0.0.${v}:8080/?k=${token(byteCapacity(v - 1) + 1 - 23 - String(v).length)}`);
    }
    texts.push('http://192.168.1.20:8080/?k=' + token(22), 'http://[fd00::2]:32080/?k=' + token(22), 'http://[2001:db8:1234:5678:9abc:def0:1234:5678]:8080/?k=' + token(22), 'http://wohnzimmer.local:8080/?n=Küche', 'http://127.0.0.1:8080/');
    const files: string[] = [];
    const expected: string[] = [];
    const cases: string[] = [];
    texts.forEach((t, i) => {
      for (let mask = 0; mask < 8; mask++) {
        const q = encodeQr(t, { mask });
        const f = join(dir, `${i}-${mask}.pgm`);
        writeFileSync(f, qrPgm(q, 3));
        files.push(f);
        expected.push(t);
        cases.push(`version ${q.version} mask ${mask}: ${t}`);
      }
    });
    const got = zbarDecode(files);
    const versions = new Set(texts.map((t) => encodeQr(t).version));
    assert.deepEqual([...versions].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const wrong = got.map((g, i) => (g === expected[i] ? '' : `${cases[i]} -> ${JSON.stringify(g)}`)).filter(Boolean);
    assert.deepEqual(wrong, [], `${wrong.length} of ${got.length} codes not decoded as encoded`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SVG and terminal renderings carry every module with a quiet zone', () => {
  const q = encodeQr('http://127.0.0.1:8080/');
  const svg = qrSvg(q, 200);
  const dark = q.modules.flat().filter(Boolean).length;
  assert.equal((svg.match(/h1v1h-1z/g) ?? []).length, dark);
  assert.match(svg, new RegExp(`viewBox="0 0 ${q.size + 8} ${q.size + 8}"`));
  assert.doesNotMatch(svg, /https?:\/\/(?!www\.w3\.org)/, 'no external reference');
  const plain = qrTerminal(q, false).split('\n');
  assert.equal(plain.length, Math.ceil((q.size + 4) / 2));
  for (const line of plain) assert.equal([...line].length, q.size + 4);
  assert.equal(plain[0], '█'.repeat(q.size + 4), 'the quiet zone is light (a block) on a dark terminal');
  const ansi = qrTerminal(q, true).split('\n');
  assert.ok(ansi.every((l) => l.startsWith('\x1b[30;107m') && l.endsWith('\x1b[0m')));
});

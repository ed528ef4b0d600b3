/**
 * Compares Opus packages on this machine: encode and decode speed as multiples of real time,
 * 48 kHz stereo, 20 ms frames, 128 kb/s, FEC on, one core. The candidates are not all project
 * dependencies: install them in a scratch folder and point --from at it:
 *   mkdir /tmp/ob && cd /tmp/ob && npm init -y && npm pkg set 'allowScripts[@discordjs/opus]=true' \
 *     && npm install @evan/opus opusscript @discordjs/opus
 *   node dist/scripts/bench-opus.js --from /tmp/ob
 * Each candidate runs in its own process (so WASM and native builds do not share a heap).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

type Candidate = 'evan-native' | 'evan-wasm' | 'opusscript' | 'discordjs';
const SECONDS = 20;

function signal(): Int16Array {
  const n = 48000 * SECONDS;
  const x = new Int16Array(n * 2);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const noise = (seed / 0x7fffffff - 0.5) * 0.1;
    const l = 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000) + 0.2 * Math.sin((2 * Math.PI * 3520 * i) / 48000) + noise;
    const r = 0.3 * Math.sin((2 * Math.PI * 660 * i) / 48000) + noise;
    x[2 * i] = Math.round(l * 32767);
    x[2 * i + 1] = Math.round(r * 32767);
  }
  return x;
}

function runOne(which: Candidate, from: string): { encodeX: number; decodeX: number; bytes: number } {
  const req = (m: string) => require(join(from, 'node_modules', m));
  let encode: (f: Int16Array) => Uint8Array;
  let decode: (p: Uint8Array) => unknown;
  if (which === 'evan-native' || which === 'evan-wasm') {
    const o = req('@evan/opus');
    const e = new o.Encoder({ channels: 2, sample_rate: 48000, application: 'audio' });
    e.bitrate = 128000;
    e.inband_fec = true;
    e.packet_loss = 5;
    const d = new o.Decoder({ channels: 2, sample_rate: 48000 });
    encode = (f) => e.encode(f);
    decode = (p) => d.decode(p);
  } else if (which === 'opusscript') {
    const O = req('opusscript');
    const e = new O(48000, 2, O.Application.AUDIO);
    e.setBitrate(128000);
    e.encoderCTL(4012, 1); // OPUS_SET_INBAND_FEC
    e.encoderCTL(4014, 5); // OPUS_SET_PACKET_LOSS_PERC
    encode = (f) => e.encode(Buffer.from(f.buffer, f.byteOffset, f.byteLength), 960);
    decode = (p) => e.decode(Buffer.from(p));
  } else {
    const { OpusEncoder } = req('@discordjs/opus');
    const e = new OpusEncoder(48000, 2);
    e.setBitrate(128000);
    e.applyEncoderCTL(4012, 1);
    e.applyEncoderCTL(4014, 5);
    encode = (f) => e.encode(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
    decode = (p) => e.decode(Buffer.from(p));
  }
  const x = signal();
  const frames = (48000 * SECONDS) / 960;
  const packets: Uint8Array[] = [];
  let bytes = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < frames; i++) {
    const p = encode(x.subarray(i * 1920, (i + 1) * 1920));
    packets.push(Uint8Array.from(p));
    bytes += p.length;
  }
  const t1 = process.cpuUsage(t0);
  const t2 = process.cpuUsage();
  for (const p of packets) decode(p);
  const t3 = process.cpuUsage(t2);
  const sec = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
  return { encodeX: SECONDS / sec(t1), decodeX: SECONDS / sec(t3), bytes };
}

function main(): void {
  const args = process.argv.slice(2);
  const fromIdx = args.indexOf('--from');
  const from = fromIdx >= 0 ? args[fromIdx + 1] : join(__dirname, '..', '..');
  const child = args.indexOf('--child');
  if (child >= 0) {
    process.stdout.write(JSON.stringify(runOne(args[child + 1] as Candidate, from)));
    return;
  }
  const rows: string[] = ['| package | build | encode (x real time) | decode (x real time) | kb/s |', '|---|---|---|---|---|'];
  for (const c of ['evan-native', 'evan-wasm', 'opusscript', 'discordjs'] as Candidate[]) {
    const env = { ...process.env, ...(c === 'evan-wasm' ? { OPUS_FORCE_WASM: '1' } : {}) };
    const r = spawnSync(process.execPath, [__filename, '--child', c, '--from', from], { env, encoding: 'utf8' });
    if (r.status !== 0) {
      rows.push(`| ${c} | not measured: ${(r.stderr.split('\n').find((l) => /Error/.test(l)) ?? 'failed').trim()} | | | |`);
      continue;
    }
    const m = JSON.parse(r.stdout) as { encodeX: number; decodeX: number; bytes: number };
    const build = { 'evan-native': 'prebuilt native (no compiler)', 'evan-wasm': 'WebAssembly fallback', opusscript: 'emscripten asm/wasm', discordjs: 'node-gyp build (compiler, allowScripts)' }[c];
    const name = c.startsWith('evan') ? '@evan/opus 1.0.3' : c === 'opusscript' ? 'opusscript 0.1.1' : '@discordjs/opus 0.10.0';
    rows.push(`| ${name} | ${build} | ${m.encodeX.toFixed(0)} | ${m.decodeX.toFixed(0)} | ${((m.bytes * 8) / SECONDS / 1000).toFixed(0)} |`);
  }
  console.log(rows.join('\n'));
}

main();

/**
 * `rtpcast diag format` (checkFormat) against real senders on loopback:
 *
 * 1. rtpcast send --codec l16 --rate 48000 to two ports at once; one check gets the SDP rtpcast
 *    wrote with its rate changed to 44100 -> "the sender is 48000 Hz, the receiver assumes 44100:
 *    audio will play 8.8% slow" (F4); the other gets the SDP as written -> nothing wrong (exit 0).
 * 2. the seed's raw s16le 44.1 kHz stereo sender (4096-byte datagrams, no RTP) -> "raw PCM without RTP".
 * 3. RTP whose L16 payload is little-endian (what a sender that forgets the byte swap sends) ->
 *    "little-endian PCM labelled L16".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFormat } from '../../src/diag/format';
import { exitCodeOf, type DiagReport } from '../../src/diag/report';
import { assertUdpPortFree, Procs, sleep } from '../support/procs';
import { config, makeWorkDir, removeWorkDir, sendTone, writeSdp } from '../support/peers';

const P = 27700;

function brief(r: DiagReport): string {
  return r.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n');
}

test('rtpcast send L16 48 kHz checked against an SDP saying 44100: "audio will play 8.8% slow"; against its own SDP: healthy', { timeout: 90_000 }, async (t) => {
  const procs = new Procs();
  const dir = makeWorkDir('diag-format');
  const cfg = config('l16-48k-stereo');
  try {
    assertUdpPortFree(P);
    assertUdpPortFree(P + 2);
    const dests = [`127.0.0.1:${P}`, `127.0.0.1:${P + 2}`];
    const sdpPath = join(dir, 's.sdp');
    await writeSdp(procs, cfg, cfg.hz, dests, sdpPath);
    const right = readFileSync(join(dir, `s-127.0.0.1-${P + 2}.sdp`), 'utf8');
    const written = readFileSync(join(dir, `s-127.0.0.1-${P}.sdp`), 'utf8');
    assert.match(written, /a=rtpmap:96 L16\/48000\/2/);
    const wrong = written.replace('L16/48000/2', 'L16/44100/2');
    const stop = new AbortController();
    const checks = Promise.all([
      checkFormat({ port: P, durationSec: 60, sdp: wrong, signal: stop.signal }),
      checkFormat({ port: P + 2, durationSec: 60, sdp: right, signal: stop.signal }),
    ]);
    await sleep(200);
    try {
      await sendTone(procs, cfg, cfg.hz, dests, sdpPath, 4);
      await sleep(300);
    } finally {
      stop.abort();
    }
    const [bad, good] = await checks;
    t.diagnostic(`against L16/44100/2:\n${brief(bad)}\nconclusion: ${bad.conclusion}`);
    t.diagnostic(`against its own SDP:\n${brief(good)}`);
    const rate = bad.findings.find((f) => f.id === 'format.rate')!;
    assert.equal(rate.severity, 'problem');
    assert.match(rate.title, /^the sender is 48000 Hz, the receiver assumes 44100: audio will play 8\.8% slow/);
    assert.match(rate.detail!, /payload 19\d\.\d kB\/s = 4\d{4} Hz x 2 channel\(s\) x 2 bytes/);
    assert.equal(bad.conclusion, rate.title);
    assert.equal(exitCodeOf(bad), 1);
    assert.equal(bad.findings.find((f) => f.id === 'format.channels')?.severity, 'ok');
    assert.equal(bad.findings.find((f) => f.id === 'format.byte-order')?.severity, 'ok');
    // rtpcast's tone is the same on both channels: reported, not a problem
    assert.equal(good.findings.find((f) => f.id === 'format.mono-as-stereo')?.severity, 'warn');
    assert.equal(good.findings.find((f) => f.id === 'format.rate')?.severity, 'ok');
    assert.equal(exitCodeOf(good), 0, brief(good));
  } finally {
    await procs.cleanup();
    removeWorkDir(dir);
  }
});

/** The seed's Python sender, in Node (see diag-packets.test.ts). */
const RAW_SENDER = `
const dgram = require('node:dgram');
const [port, seconds] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const FRAMES = 1024, RATE = 44100;
let k = 0;
const t0 = process.hrtime.bigint();
const total = Math.ceil(seconds * RATE / FRAMES);
function chunk(k) {
  const b = Buffer.alloc(FRAMES * 4);
  for (let f = 0; f < FRAMES; f++) {
    const n = k * FRAMES + f;
    b.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * n / RATE)), f * 4);
    b.writeInt16LE(Math.round(6000 * Math.sin(2 * Math.PI * 660 * n / RATE)), f * 4 + 2);
  }
  return b;
}
function tick() {
  const now = Number(process.hrtime.bigint() - t0) / 1e9;
  while (k < total && k * FRAMES / RATE <= now) s.send(chunk(k++), port, '127.0.0.1');
  if (k < total) setTimeout(tick, 3); else setTimeout(() => s.close(), 50);
}
tick();
`;

test('raw s16le 44.1 kHz stereo without RTP: "raw PCM without RTP"', { timeout: 60_000 }, async (t) => {
  const PORT = P + 4;
  const procs = new Procs();
  try {
    assertUdpPortFree(PORT);
    const stop = new AbortController();
    const check = checkFormat({ port: PORT, durationSec: 30, signal: stop.signal });
    await sleep(200);
    try {
      await procs.run([process.execPath, '-e', RAW_SENDER, String(PORT), '3'], 20_000);
      await sleep(300);
    } finally {
      stop.abort();
    }
    const r = await check;
    t.diagnostic(brief(r));
    const raw = r.findings.find((f) => f.id === 'format.raw-pcm');
    assert.ok(raw, brief(r));
    assert.equal(raw.severity, 'problem');
    assert.match(raw.title, /^raw PCM without RTP from 127\.0\.0\.1:\d+: no player can know its format$/);
    assert.match(raw.detail!, /s16le, stereo; 17\d\.\d kB\/s = 44100 Hz x 2 channel\(s\) x 2 bytes/);
    assert.equal(r.conclusion, raw.title);
  } finally {
    await procs.cleanup();
  }
});

/** RTP PT 96 carrying L16 48 kHz stereo in LITTLE-endian order, 5 ms packets, for `seconds`. */
const LE_RTP_SENDER = `
const dgram = require('node:dgram');
const [port, seconds] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
const FRAMES = 240, RATE = 48000;
let k = 0;
const t0 = process.hrtime.bigint();
const total = Math.ceil(seconds * RATE / FRAMES);
function packet(k) {
  const b = Buffer.alloc(12 + FRAMES * 4);
  b[0] = 0x80; b[1] = 96; b.writeUInt16BE(k & 0xffff, 2); b.writeUInt32BE((k * FRAMES) >>> 0, 4); b.writeUInt32BE(0x1e1e1e, 8);
  for (let f = 0; f < FRAMES; f++) {
    const n = k * FRAMES + f;
    b.writeInt16LE(Math.round(9000 * Math.sin(2 * Math.PI * 870 * n / RATE)), 12 + f * 4);
    b.writeInt16LE(Math.round(7000 * Math.sin(2 * Math.PI * 1030 * n / RATE)), 12 + f * 4 + 2);
  }
  return b;
}
function tick() {
  const now = Number(process.hrtime.bigint() - t0) / 1e9;
  while (k < total && k * FRAMES / RATE <= now) s.send(packet(k++), port, '127.0.0.1');
  if (k < total) setTimeout(tick, 2); else setTimeout(() => s.close(), 50);
}
tick();
`;

test('little-endian samples in an L16 stream: "little-endian PCM labelled L16"', { timeout: 60_000 }, async (t) => {
  const PORT = P + 6;
  const procs = new Procs();
  try {
    assertUdpPortFree(PORT);
    const sdp = `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=le\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${PORT} RTP/AVP 96\r\na=rtpmap:96 L16/48000/2\r\na=ptime:5\r\n`;
    const stop = new AbortController();
    const check = checkFormat({ port: PORT, durationSec: 30, sdp, signal: stop.signal });
    await sleep(200);
    try {
      await procs.run([process.execPath, '-e', LE_RTP_SENDER, String(PORT), '3'], 20_000);
      await sleep(300);
    } finally {
      stop.abort();
    }
    const r = await check;
    t.diagnostic(brief(r));
    const bo = r.findings.find((f) => f.id === 'format.byte-order')!;
    assert.equal(bo.severity, 'problem');
    assert.equal(bo.title, 'the payload is little-endian PCM labelled L16 (L16 is big-endian): players will play loud noise');
    assert.equal(r.findings.find((f) => f.id === 'format.rate')?.severity, 'ok');
    assert.equal(r.findings.find((f) => f.id === 'format.channels')?.severity, 'ok');
  } finally {
    await procs.cleanup();
  }
});

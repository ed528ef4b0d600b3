/**
 * runPlay (src/session/play.ts) with a real UDP socket on loopback and a fake output whose
 * opening the test controls and whose pulls the test makes: what arrives while the output is
 * opening is kept and counted, and the figures at the stop are the ones when playback stopped
 * (not after the device drained the buffer while closing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { AudioSink } from '../../src/audio/sinks/sink';
import { runPlay } from '../../src/session/play';

async function freePort(): Promise<number> {
  for (;;) {
    const s = createSocket('udp4');
    const p = await new Promise<number>((res) => s.bind(0, '127.0.0.1', () => res(s.address().port)));
    s.close();
    if (p % 2 === 0 && p < 65000) return p;
  }
}

/** An RTP packet: L16 stereo, 5 ms at 48 kHz (240 frames), payload type 96. */
function rtp(seq: number, ssrc = 0x1234): Buffer {
  const b = Buffer.alloc(12 + 240 * 4);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE((seq * 240) >>> 0, 4);
  b.writeUInt32BE(ssrc, 8);
  for (let i = 0; i < 480; i++) b.writeInt16BE(Math.round(8000 * Math.sin(((seq * 240 + (i >> 1)) * 2 * Math.PI * 630) / 48000)), 12 + i * 2);
  return b;
}

test('packets that arrive while the output opens are counted and kept; the stop figures are taken before the output drains', { timeout: 20_000 }, async () => {
  const port = await freePort();
  const sender = createSocket('udp4');
  let pull: ((frames: number) => Float32Array) | undefined;
  let letOpen!: () => void;
  const openGate = new Promise<void>((r) => (letOpen = r));
  let bound!: () => void;
  const isBound = new Promise<void>((r) => (bound = r));
  let pulledWhileClosing = 0;
  const sink: AudioSink = {
    label: 'test device',
    clock: 'device',
    open: () => openGate,
    onPull: (fn) => (pull = fn),
    onError: () => undefined,
    async close() {
      // a device goes on pulling until it has stopped: 1 s of it
      for (let i = 0; i < 100; i++) {
        const x = pull!(480);
        if (x.some((v) => v !== 0)) pulledWhileClosing++;
      }
    },
  };
  const abort = new AbortController();
  const done = runPlay({ port, codec: 'l16', rate: 48000, channels: 2, pt: 96 }, async () => {
    bound(); // runPlay asks for the output once its socket is bound
    return sink;
  }, {}, abort.signal);
  await isBound;
  // 20 packets (100 ms) while the output is still opening
  for (let i = 0; i < 20; i++) sender.send(rtp(i), port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 300));
  letOpen();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(pull, 'runPlay registered no pull function');
  // the device pulls 2 blocks: playout starts on the newest packets, at the target
  pull(480);
  pull(480);
  abort.abort();
  const final = await done;
  sender.close();
  assert.equal(final.beforeOutput, 20, JSON.stringify(final.player));
  assert.equal(final.player.queued, 20);
  assert.equal(final.player.state, 'playing');
  assert.ok(final.player.skippedMs > 40 && final.player.skippedMs < 100, `skipped ${final.player.skippedMs} ms of the 100 ms that waited (playout starts at the target)`);
  assert.equal(final.player.playedMs, 20, 'the 2 blocks pulled before the stop; the 100 pulled while closing are not the stream');
  assert.equal(final.player.underruns, 0, 'closing did not drain the buffer into underruns');
  assert.ok(final.player.bufferedMs > 5, `buffered at the stop: ${final.player.bufferedMs} ms`);
  assert.equal(pulledWhileClosing, 0, 'while closing, the device gets silence, not the rest of the buffer');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSchedule, planBatch } from '../../src/rtp/pacer';
import { histogramQuantileMs, loadPacerAddon } from '../../src/rtp/native-pacer';
import { RtpSender } from '../../src/rtp/sender';
import { ManualClock } from '../../src/rtp/clock';
import { ToneSource } from '../../src/audio/sources/tone';
import { createEncoder } from '../../src/codec/encoder';
import { describeStream } from '../../src/stream/description';
import { JumpingSleeper, ManualPacedQueue, PacedRecordingTransport, RecordingTransport } from '../support/fakes';

const dest = [{ host: '127.0.0.1', address: '127.0.0.1', family: 4 as const, port: 5004, multicast: false }];

test('planBatch: every packet due within the lookahead, next wake-up when lookahead - period is left', () => {
  // 5 ms packets from t=1 s
  const s = new PacketSchedule(240, 48000, 1_000_000_000n);
  const p = planBatch(s, 0, 1_000_000_000n, 100_000_000n, 40_000_000n);
  assert.equal(p.count, 21, 'dues 0, 5, ..., 100 ms');
  // next due 105 ms; wake when 60 ms of packets are left: at 45 ms
  assert.equal(p.wakeNs, 1_045_000_000n);
  // a wake-up 10 ms late builds what is now within 100 ms and keeps the same rhythm
  const q = planBatch(s, 21, 1_055_000_000n, 100_000_000n, 40_000_000n);
  assert.equal(q.count, 11, 'dues 105..155 ms');
  assert.equal(q.wakeNs, 1_100_000_000n);
  // 20 ms packets: wake-ups stay ~40 ms apart (25 a second instead of 50)
  const o = new PacketSchedule(960, 48000, 0n);
  let built = 0;
  let now = 0n;
  const wakes: bigint[] = [];
  while (now < 1_000_000_000n) {
    const b = planBatch(o, built, now, 100_000_000n, 40_000_000n);
    built += b.count;
    wakes.push(b.wakeNs - now);
    now = b.wakeNs;
  }
  assert.ok(wakes.length <= 26, `${wakes.length} wake-ups in 1 s`);
  assert.ok(wakes.slice(1).every((w) => w >= 20_000_000n && w <= 60_000_000n), wakes.join(','));
});

test('planBatch: never a wake-up sooner than 1 ms, however small the lookahead', () => {
  const s = new PacketSchedule(240, 48000, 0n);
  const p = planBatch(s, 0, 0n, 4_500_000n, 0n);
  assert.equal(p.count, 1);
  assert.equal(p.wakeNs, 1_000_000n, 'the next due (5 ms) minus 4.5 ms would be 0.5 ms');
});

test('histogramQuantileMs: upper edge of the bucket holding the rank; empty is 0', () => {
  const h = new Uint32Array(10);
  assert.equal(histogramQuantileMs(h, 10_000, 0.99), 0);
  h[0] = 98;
  h[3] = 1;
  h[9] = 1;
  assert.equal(histogramQuantileMs(h, 10_000, 0.5), 0.01);
  assert.equal(histogramQuantileMs(h, 10_000, 0.99), 0.04);
  assert.equal(histogramQuantileMs(h, 10_000, 1), 0.1);
});

test('RTPCAST_NO_NATIVE=1 turns the native pacer off, with the reason', () => {
  const r = loadPacerAddon({ RTPCAST_NO_NATIVE: '1' });
  assert.equal(r.addon, undefined);
  assert.match(r.error!, /RTPCAST_NO_NATIVE=1/);
});

function sender(codec: 'l16' | 'opus', durationSec: number, paced: boolean) {
  const d = describeStream({ codec, rate: codec === 'l16' ? 48000 : undefined }, dest);
  const clock = new ManualClock(5_000_000_000n);
  const queue = new ManualPacedQueue(clock);
  const transport = paced ? new PacedRecordingTransport(clock, queue) : new RecordingTransport(clock);
  const s = new RtpSender({
    description: d, source: new ToneSource({ rate: d.sampleRate, channels: d.channels }, 630), sourceFormat: { rate: d.sampleRate, channels: d.channels },
    encoder: createEncoder(d), transport, clock, wall: { unixSeconds: () => 1_700_000_000 }, sleeper: new JumpingSleeper(clock),
    start: { ssrc: 0x01020304, sequence: 65000, timestamp: 123 }, durationSec, ...(paced ? { queue } : {}),
  });
  return { s, clock, queue, transport };
}

for (const codec of ['l16', 'opus'] as const) {
  test(`${codec}: the batch pacer hands over byte-identical packets at the per-packet loop's due times, waking 17-25 times a second`, async () => {
    const a = sender(codec, 10, false);
    const b = sender(codec, 10, true);
    assert.equal(await a.s.start(), 'duration');
    assert.equal(await b.s.start(), 'duration');
    const rtpA = a.transport.rtp;
    const rtpB = b.queue.departedRtp;
    assert.equal(b.transport.rtp.length, 0, 'nothing sent around the queue');
    assert.equal(rtpB.length, rtpA.length);
    assert.equal(rtpA.length, codec === 'l16' ? 2000 : 500);
    rtpA.forEach((x, i) => {
      assert.ok(x.packet.equals(rtpB[i].packet), `packet ${i} differs`);
      assert.equal(rtpB[i].at, x.at, `packet ${i} due time`);
    });
    // RTCP: the same reports (the last one, BYE, sent directly after the queue drained)
    const rtcpB = [...b.queue.departedRtcp, ...b.transport.rtcp];
    assert.equal(rtcpB.length, a.transport.rtcp.length);
    a.transport.rtcp.forEach((x, i) => assert.ok(x.packet.equals(rtcpB[i].packet), `RTCP ${i} differs`));
    // each paced SR leaves right after the packet it follows
    for (const r of b.queue.departedRtcp) assert.ok(rtpB.some((p) => p.at === r.at));
    assert.equal(b.transport.rtcp.length, 1, 'the BYE');
    assert.ok(b.transport.rtcp[0].at >= rtpB.at(-1)!.at, 'BYE after the last packet');
    // the fake queue's default 100 ms lookahead, 40 ms period: wake-ups 40-60 ms apart, 17-25 a
    // second, instead of one per packet (200 or 50 a second)
    const wakes = b.queue.polls.length;
    assert.ok(wakes >= 160 && wakes <= 260, `${wakes} wake-ups for 10 s`);
    const st = b.s.status();
    assert.equal(st.packets, rtpA.length);
    assert.equal(st.octets, a.s.status().octets);
    assert.equal(st.elapsedSec, 10);
  });
}

test('a stop (Ctrl-C) drops what is queued: status and the BYE count only the packets that left', async () => {
  const b = sender('l16', 60, true);
  const done = b.s.start();
  // let it run ~1 s of media, then stop between wake-ups
  while (b.clock.nowNs() < 6_000_000_000n) await new Promise((r) => setImmediate(r));
  await b.s.stop('stopped');
  assert.equal(await done, 'stopped');
  assert.ok(b.queue.dropped > 0, 'packets were waiting');
  const left = b.queue.departedRtp.length;
  const st = b.s.status();
  assert.equal(st.packets, left);
  assert.equal(st.octets, b.queue.departedRtp.reduce((n, p) => n + p.packet.length - 12, 0));
  const bye = b.transport.rtcp.at(-1)!.packet;
  assert.equal(bye.readUInt32BE(20), left, 'SR packet count in the BYE');
  assert.equal(bye.readUInt32BE(24), st.octets, 'SR octet count in the BYE');
});

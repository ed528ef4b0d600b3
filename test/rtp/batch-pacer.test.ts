import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSchedule, planBatch } from '../../src/rtp/pacer';
import { NativePacer, drainWaitMs, histogramQuantileMs, loadPacerAddon } from '../../src/rtp/native-pacer';
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

function sender(codec: 'l16' | 'opus', durationSec: number, paced: boolean, lookahead?: { lookaheadNs: bigint; periodNs: bigint }, unwatched?: { lookaheadNs: bigint; periodNs: bigint }) {
  const d = describeStream({ codec, rate: codec === 'l16' ? 48000 : undefined }, dest);
  const clock = new ManualClock(5_000_000_000n);
  const queue = new ManualPacedQueue(clock, lookahead?.lookaheadNs, lookahead?.periodNs, { unwatched });
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

test('the native pacer builds 1 s ahead and wakes the sender twice a second (the wake-ups, not the encoding, were most of the CPU)', () => {
  const addon = { create: () => ({}), now: () => 0n } as unknown as ConstructorParameters<typeof NativePacer>[0];
  const p = new NativePacer(addon, [], [], () => {});
  assert.equal(p.lookaheadNs, 1_000_000_000n);
  assert.equal(p.periodNs, 500_000_000n);
});

test('the native pacer: 5 s ahead, a wake-up when 1 s is left, for a sender nobody watches', () => {
  const addon = { create: () => ({}), now: () => 0n } as unknown as ConstructorParameters<typeof NativePacer>[0];
  const p = new NativePacer(addon, [], [], () => {});
  assert.deepEqual(p.unwatched, { lookaheadNs: 5_000_000_000n, periodNs: 4_000_000_000n });
});

for (const codec of ['l16', 'opus'] as const) {
  test(`${codec}: nobody listening to 'status', the sender uses the queue's unwatched window (a wake-up every ~4 s); a listener brings back 2 a second with a status each second`, async () => {
    const long = { lookaheadNs: 5_000_000_000n, periodNs: 4_000_000_000n };
    const normal = { lookaheadNs: 1_000_000_000n, periodNs: 500_000_000n };
    const ref = sender(codec, 30, false);
    const quiet = sender(codec, 30, true, normal, long);
    const watched = sender(codec, 30, true, normal, long);
    const statuses: number[] = [];
    const refStatuses: number[] = [];
    watched.s.on('status', (st: { elapsedSec: number }) => statuses.push(st.elapsedSec));
    ref.s.on('status', (st: { elapsedSec: number }) => refStatuses.push(st.elapsedSec));
    for (const x of [ref, quiet, watched]) assert.equal(await x.s.start(), 'duration');
    for (const [name, x] of [['unwatched', quiet], ['watched', watched]] as const) {
      const got = x.queue.departedRtp;
      assert.equal(got.length, ref.transport.rtp.length, `${name}: packet count`);
      ref.transport.rtp.forEach((r, i) => {
        assert.ok(r.packet.equals(got[i].packet), `${name}: packet ${i} differs`);
        assert.equal(got[i].at, r.at, `${name}: packet ${i} due time`);
      });
      assert.equal(x.queue.departedRtcp.length + x.transport.rtcp.length, ref.transport.rtcp.length, `${name}: the same reports`);
    }
    // 30 s: the first batch, then one every 4 s (plus the drain's look)
    assert.ok(quiet.queue.polls.length >= 7 && quiet.queue.polls.length <= 10, `unwatched: ${quiet.queue.polls.length} wake-ups in 30 s`);
    assert.ok(watched.queue.polls.length >= 55 && watched.queue.polls.length <= 70, `watched: ${watched.queue.polls.length} wake-ups in 30 s`);
    assert.ok(statuses.length >= 30, `${statuses.length} statuses in 30 s`);
    assert.equal(statuses.length, refStatuses.length, 'as many statuses as the per-packet loop emits (one a second of media)');
  });
}

test('drainWaitMs: sleeps until the last packet is due, then looks every 5 ms', () => {
  assert.equal(drainWaitMs(1_000_000_000n, 0n), 1000);
  assert.equal(drainWaitMs(1_000_000_000n, 999_000_000n), 5, 'the last packet is 1 ms away');
  assert.equal(drainWaitMs(1_000_000_000n, 2_000_000_000n), 5, 'past due: the thread is late, look again soon');
  assert.equal(drainWaitMs(1_000_000_000n, 992_500_001n), 8, 'rounded up: never wakes before the due time');
});

test('drain: the main thread looks a few times, not every 5 ms, while a queue 150 ms long empties', async () => {
  const t0 = process.hrtime.bigint();
  const lastDue = t0 + 150_000_000n;
  let polls = 0;
  const addon = {
    create: () => ({}),
    now: () => process.hrtime.bigint(),
    push: () => {},
    poll: () => {
      polls++;
      // the thread sends the last packet at its due time
      return { sentRtp: 0, queued: process.hrtime.bigint() >= lastDue ? 0 : 1, dropped: 0, hist: [], histStepNs: 10_000, lateMaxNs: 0, lateOver1ms: 0, sched: 1, errors: [] };
    },
  } as unknown as ConstructorParameters<typeof NativePacer>[0];
  const p = new NativePacer(addon, [], [], () => {});
  p.push(lastDue, Buffer.alloc(12), false);
  await p.drain();
  assert.ok(process.hrtime.bigint() >= lastDue, 'drain returned before the queue emptied');
  // one look at the start, one when the last packet is due, and a 5 ms look or two if the timer
  // fired a hair early; polling every 5 ms took 31
  assert.ok(polls <= 4, `${polls} polls`);
});

for (const codec of ['l16', 'opus'] as const) {
  test(`${codec}: at the native pacer's 1 s lookahead and 0.5 s period the sender wakes about twice a second, packets unchanged`, async () => {
    const a = sender(codec, 10, false);
    const b = sender(codec, 10, true, { lookaheadNs: 1_000_000_000n, periodNs: 500_000_000n });
    assert.equal(await a.s.start(), 'duration');
    assert.equal(await b.s.start(), 'duration');
    assert.equal(b.queue.departedRtp.length, a.transport.rtp.length);
    a.transport.rtp.forEach((x, i) => {
      assert.ok(x.packet.equals(b.queue.departedRtp[i].packet), `packet ${i} differs`);
      assert.equal(b.queue.departedRtp[i].at, x.at, `packet ${i} due time`);
    });
    const wakes = b.queue.polls.length;
    assert.ok(wakes >= 18 && wakes <= 24, `${wakes} wake-ups for 10 s`);
    // never fewer than 0.5 s of packets queued at a wake-up after the first: no underrun window
    const gaps = b.queue.polls.slice(1, -1).map((t, i) => t - b.queue.polls[i]);
    assert.ok(gaps.every((g) => g >= 400_000_000n && g <= 600_000_000n), gaps.join(','));
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

/**
 * A file decoder on the manual clock: 100 ms at the first read, then `speed` x real time; `total` frames of a
 * ramp (each sample tells its frame number). After a short read it "decodes" for 5 ms of clock and
 * says so (onReadable), as a decoder's pipe does, when `notify` is on.
 */
class DecoderSource {
  readonly pacing = 'sender' as const;
  readonly label = 'decoder';
  private t0: bigint | undefined;
  private pos = 0;
  private readable: (() => void) | undefined;
  constructor(
    private readonly clock: ManualClock,
    private readonly speed: number,
    private readonly total: number,
    private readonly notify: boolean,
  ) {}
  async open() {
    return { rate: 48000, channels: 1 };
  }
  private decoded(): number {
    this.t0 ??= this.clock.nowNs();
    return Math.min(this.total, 4800 + Math.floor((Number(this.clock.nowNs() - this.t0) / 1e9) * 48000 * this.speed));
  }
  read(frames: number): Float32Array | null {
    const n = Math.min(frames, this.decoded() - this.pos);
    if (n <= 0 && this.pos >= this.total) return null;
    const out = new Float32Array(Math.max(0, n));
    for (let i = 0; i < out.length; i++) out[i] = ((this.pos + i) % 1000) / 2000 + 0.1;
    this.pos += out.length;
    if (out.length < frames && this.pos < this.total && this.notify) {
      setImmediate(() => {
        this.clock.set(this.clock.nowNs() + 5_000_000n);
        this.readable?.();
      });
    }
    return out;
  }
  onReadable(fn: () => void) {
    this.readable = fn;
  }
  onError() {}
  async close() {}
}

function decoderSender(speed: number, notify: boolean) {
  const d = describeStream({ codec: 'l16', rate: 48000, channels: 1 }, dest);
  const clock = new ManualClock(5_000_000_000n);
  const queue = new ManualPacedQueue(clock, 1_000_000_000n, 500_000_000n);
  const transport = new PacedRecordingTransport(clock, queue);
  const source = new DecoderSource(clock, speed, 48000 * 3, notify);
  const s = new RtpSender({
    description: d, source, sourceFormat: { rate: 48000, channels: 1 }, encoder: createEncoder(d), transport, clock,
    wall: { unixSeconds: () => 1_700_000_000 }, sleeper: new JumpingSleeper(clock), start: { ssrc: 1, sequence: 0, timestamp: 0 }, queue,
  });
  return { s, queue };
}

/** the frame numbers an L16 mono stream carried, silence as -1 */
function frames(rtp: { packet: Buffer }[]): number[] {
  const out: number[] = [];
  for (const { packet } of rtp) {
    for (let o = 12; o < packet.length; o += 2) {
      const v = packet.readInt16BE(o) / 32768;
      out.push(v === 0 ? -1 : Math.round((v - 0.1) * 2000));
    }
  }
  return out;
}

for (const notify of [true, false]) {
  test(`a file decoder behind the 1 s lookahead is waited for, not covered with silence (${notify ? 'woken when it delivers' : 'woken when a packet falls due'})`, async () => {
    const { s, queue } = decoderSender(4, notify);
    assert.equal(await s.start(), 'input-ended');
    const got = frames(queue.departedRtp);
    assert.equal(s.status().underruns, 0);
    assert.equal(got.length, 48000 * 3);
    assert.ok(got.every((v, i) => v === i % 1000), 'every frame, in order, no silence');
    // woken on each delivery while behind (then twice a second), not only when a packet falls due
    if (notify) assert.ok(queue.polls.length > 30 && queue.polls.length < 200, `${queue.polls.length} wake-ups`);
    else assert.ok(queue.polls.length < 30, `${queue.polls.length} wake-ups`);
  });
}

test('a decoder slower than real time: silence only for packets falling due, and no audio lost', async () => {
  const { s, queue } = decoderSender(0.5, false);
  assert.equal(await s.start(), 'input-ended');
  const got = frames(queue.departedRtp);
  const audio = got.filter((v) => v >= 0);
  assert.equal(audio.length, 48000 * 3, 'all the audio was sent');
  assert.ok(audio.every((v, i) => v === i % 1000), 'in order');
  // at half speed about as much silence as audio; each underrun is one 5 ms packet
  const silent = got.length - audio.length;
  assert.equal(s.status().underruns * 240, silent);
  assert.ok(silent > 48000 * 2 && silent < 48000 * 4, `${silent} silent frames`);
});

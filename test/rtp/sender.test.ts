import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RtpSender } from '../../src/rtp/sender';
import { ManualClock } from '../../src/rtp/clock';
import { ToneSource } from '../../src/audio/sources/tone';
import { createEncoder } from '../../src/codec/encoder';
import { describeStream } from '../../src/stream/description';
import type { AudioSource } from '../../src/audio/source';
import { RecordingTransport, JumpingSleeper } from '../support/fakes';

const dest = [{ host: '127.0.0.1', address: '127.0.0.1', family: 4 as const, port: 5004, multicast: false }];

function setup(codec: 'l16' | 'opus', durationSec: number, source?: AudioSource, late?: (d: bigint) => bigint) {
  const d = describeStream({ codec, rate: codec === 'l16' ? 48000 : undefined }, dest);
  const clock = new ManualClock(5_000_000_000n);
  const transport = new RecordingTransport(clock);
  const src = source ?? new ToneSource({ rate: d.sampleRate, channels: d.channels }, 630);
  const sender = new RtpSender({
    description: d, source: src, sourceFormat: { rate: d.sampleRate, channels: d.channels }, encoder: createEncoder(d), transport, clock,
    wall: { unixSeconds: () => 1_700_000_000 }, sleeper: new JumpingSleeper(clock, late), start: { ssrc: 0xabcdef01, sequence: 65530, timestamp: 4294967000 }, durationSec,
  });
  return { d, clock, transport, sender };
}

test('L16 48 kHz: 60 s makes exactly 12000 packets of 960 bytes, sequence and timestamp continuous across wraps, marker only first', async () => {
  const { transport, sender } = setup('l16', 60);
  assert.equal(await sender.start(), 'duration');
  assert.equal(transport.rtp.length, 12000);
  transport.rtp.forEach(({ packet }, i) => {
    assert.equal(packet.length, 12 + 960);
    assert.equal(packet.readUInt16BE(2), (65530 + i) & 0xffff);
    assert.equal(packet.readUInt32BE(4), (4294967000 + i * 240) >>> 0);
    assert.equal(packet[1] >> 7, i === 0 ? 1 : 0);
  });
  // departures exactly on the media-time schedule (the fake clock jumps to each deadline)
  const t0 = transport.rtp[0].at;
  for (const [i, { at }] of transport.rtp.entries()) assert.equal(at - t0, (BigInt(i) * 240n * 1_000_000_000n) / 48000n);
});

test('RTCP: an SR every 5 s with the packet count so far, then SR+SDES+BYE at the end', async () => {
  const { transport, sender } = setup('opus', 12);
  await sender.start();
  assert.equal(transport.rtp.length, 600);
  const srs = transport.rtcp.map((r) => r.packet);
  assert.equal(srs.length, 4, 'at 0, 5 and 10 s, and the goodbye');
  assert.deepEqual(srs.map((p) => p.readUInt32BE(20)), [1, 251, 501, 600], 'sender packet counts');
  const last = srs[3];
  const sdesLen = (last.readUInt16BE(30) + 1) * 4;
  assert.equal(last[28 + sdesLen + 1], 203, 'BYE after SR and SDES');
  // SR RTP timestamp advances with media time: 5 s = 240000 ticks at 48 kHz
  assert.equal((srs[1].readUInt32BE(16) - srs[0].readUInt32BE(16)) >>> 0, 240000);
  // NTP seconds advance by 5 as well
  assert.equal(srs[1].readUInt32BE(8) - srs[0].readUInt32BE(8), 5);
});

test('a late event loop causes no burst and no drift: 10 simulated minutes with 0-3 ms wake-up lateness', async () => {
  let k = 0;
  const { transport, sender } = setup('opus', 600, undefined, () => BigInt(((k = (k * 1103515245 + 12345) % 2147483648) % 3000) * 1000));
  await sender.start();
  assert.equal(transport.rtp.length, 30000);
  const t0 = transport.rtp[0].at;
  let maxDev = 0n;
  transport.rtp.forEach(({ at }, i) => {
    const dev = at - t0 - BigInt(i) * 20_000_000n;
    if (dev > maxDev) maxDev = dev;
    assert.ok(dev >= 0n);
  });
  assert.ok(maxDev < 3_000_000n, `never more than the wake-up lateness behind: ${maxDev} ns`);
});

/** A source that delivers audio in bursts with stalls, like a pipe. */
class StallingSource implements AudioSource {
  readonly label = 'stalling';
  readonly pacing = 'sender' as const;
  private calls = 0;
  async open() {
    return { rate: 48000, channels: 2 };
  }
  read(frames: number): Float32Array | null {
    this.calls++;
    if (this.calls > 400) return null;
    if (this.calls > 100 && this.calls <= 110) return new Float32Array(0); // stalled
    return new Float32Array(frames * 2).fill(0.25);
  }
  onReadable() {}
  onError() {}
  async close() {}
}

test('an input that stalls gets silence packets (counted as underruns) and the marker on the first packet after', async () => {
  const { transport, sender } = setup('l16', 1000, new StallingSource());
  assert.equal(await sender.start(), 'input-ended');
  const st = sender.status();
  assert.ok(st.underruns >= 1, `underruns ${st.underruns}`);
  const silentIdx = transport.rtp.findIndex(({ packet }) => packet.subarray(12).every((b) => b === 0));
  assert.ok(silentIdx > 0);
  const resumed = transport.rtp.findIndex(({ packet }, i) => i > silentIdx && !packet.subarray(12).every((b) => b === 0));
  assert.equal(transport.rtp[resumed].packet[1] >> 7, 1, 'marker when audio resumes');
  assert.equal(transport.rtp.filter(({ packet }) => packet[1] >> 7).length, 2);
});

test('a stall beyond 200 ms: the re-anchor is told by a sender report sent BEFORE the next packet, naming its timestamp and new time', async () => {
  // one wake-up 300 ms late, 2 s in: the schedule re-anchors there
  let stalled = false;
  const { transport, sender } = setup('l16', 4, undefined, (d) => (!stalled && d >= 5_000_000_000n + 2_000_000_000n ? ((stalled = true), 300_000_000n) : 0n));
  await sender.start();
  const gapAt = transport.rtp.findIndex((r, i) => i > 0 && r.at - transport.rtp[i - 1].at > 200_000_000n);
  assert.ok(gapAt > 0, 'the stall shows as a gap on the wire');
  const next = transport.rtp[gapAt];
  const sr = transport.rtcp.find((r) => r.at === next.at);
  assert.ok(sr, 'a sender report at the re-anchor');
  assert.equal(sr.packet.readUInt32BE(16), next.packet.readUInt32BE(4), "the report's RTP timestamp is the first packet's on the new schedule");
  assert.equal(sr.packet.readUInt32BE(20), gapAt, 'sent before that packet (packet count)');
  // its NTP time is the new schedule's time of that packet: the old one plus the stall
  const ntpSec = (p: Buffer) => p.readUInt32BE(8) + p.readUInt32BE(12) / 2 ** 32;
  const first = transport.rtcp[0].packet;
  const mediaSec = ((sr.packet.readUInt32BE(16) - first.readUInt32BE(16)) >>> 0) / 48000;
  const shift = ntpSec(sr.packet) - ntpSec(first) - mediaSec;
  assert.ok(shift > 0.2 && shift < 0.31, `the report moves the media line by the stall (${shift.toFixed(4)} s)`);
});

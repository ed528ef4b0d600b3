import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGoodbye, buildSenderReport, ntpFromUnixSeconds } from '../../src/rtp/rtcp';
import { ntpToUnixNs, RtpTimeline, senderReports } from '../../src/sync/playout';
import { parseTimeline, skewExcursions, skewSummary, timelineSkew } from '../../src/sync/timeline';

test('sender reports are read back from the compound packets rtpcast send writes (SR + SDES, SR + SDES + BYE)', () => {
  const input = { ssrc: 0x11223344, ntp: ntpFromUnixSeconds(1_790_000_000.25), rtpTimestamp: 0xfffffff0, packetCount: 10, octetCount: 9600, cname: 'rtpcast@host' };
  for (const pkt of [buildSenderReport(input), buildGoodbye(input)]) {
    const srs = senderReports(pkt);
    assert.equal(srs.length, 1);
    assert.equal(srs[0].ssrc, 0x11223344);
    assert.equal(srs[0].rtpTimestamp, 0xfffffff0);
    assert.equal(srs[0].unixNs, 1_790_000_000_250_000_000n);
  }
  // a byte-exact SR: NTP 0xe9a1b2c3.80000000 (x.5 s), RTP 1000
  const fixed = Buffer.from('80c8000600000001e9a1b2c380000000000003e80000000000000000', 'hex');
  assert.deepEqual(senderReports(fixed), [{ ssrc: 1, unixNs: (0xe9a1b2c3n - 2208988800n) * 1_000_000_000n + 500_000_000n, rtpTimestamp: 1000 }]);
  // truncated, wrong version, receiver report: nothing, no throw
  assert.deepEqual(senderReports(fixed.subarray(0, 20)), []);
  assert.deepEqual(senderReports(Buffer.from('40c8000600000001e9a1b2c3800000000000003e80000000000000000', 'hex')), []);
  assert.deepEqual(senderReports(Buffer.from('80c9000100000001', 'hex')), []);
  assert.equal(ntpToUnixNs(ntpFromUnixSeconds(1_800_000_000.123456)) / 1000n, 1_800_000_000_123_456n);
});

test('RtpTimeline places the report next to the stream across a 2^32 wrap', () => {
  const t = new RtpTimeline(48000);
  assert.equal(t.tsAt(0n, 0), undefined, 'no report yet');
  t.update({ ssrc: 1, unixNs: 1_000_000_000n, rtpTimestamp: 0xffffff00 });
  // the stream already wrapped: unwrapped timestamps near 2^32 + 100
  const near = 2 ** 32 + 100;
  assert.equal(t.tsAt(1_000_000_000n, near), 0xffffff00);
  assert.equal(t.tsAt(1_010_000_000n, near), 0xffffff00 + 480);
  assert.equal(t.tsAt(990_000_000n, 0xfffffe00), 0xffffff00 - 480);
});

test('timelines: parsed across a wrap; skew between two players interpolated, jumps and silence skipped', () => {
  const rate = 48000;
  const mk = (offsetNs: number, startTs: number) => {
    const lines = ['# rtpcast timeline v1 rate=48000'];
    for (let k = 0; k < 300; k++) {
      const ts = k < 5 ? '-' : ((startTs + k * 480) % 2 ** 32).toFixed(3);
      lines.push(`${k * 480} ${1_000_000_000_000 + k * 10_000_000 + offsetNs} ${ts}`);
    }
    return parseTimeline(lines.join('\n') + '\n');
  };
  const a = mk(0, 2 ** 32 - 48000);
  assert.equal(a.rate, rate);
  assert.equal(a.entries[4].ts, undefined);
  assert.equal(a.entries[299].ts, 2 ** 32 - 48000 + 299 * 480, 'unwrapped across 2^32');
  // b plays the same sample 37 us later
  const b = mk(37_000, 2 ** 32 - 48000);
  const s = timelineSkew(a.entries, b.entries, rate);
  assert.ok(s.length > 290);
  const sum = skewSummary(s);
  assert.ok(Math.abs(sum.max - 37) < 0.01 && Math.abs(sum.p50 - 37) < 0.01, JSON.stringify(sum));
  assert.ok(s.every((x) => x.skewUs < 0), 'a is earlier: negative');
  // b 1.5 blocks behind in media terms (its timestamps 720 frames older): 15 ms later
  const c = mk(0, 2 ** 32 - 48000 - 720);
  const sc = skewSummary(timelineSkew(a.entries, c.entries, rate));
  assert.ok(Math.abs(sc.p50 - 15000) < 0.1, JSON.stringify(sc));
  // b silent for 10 blocks and resuming 10 blocks of media later: nothing across the silence is compared
  const gapLines = ['# rtpcast timeline v1 rate=48000'];
  for (let k = 0; k < 100; k++) gapLines.push(`${k * 480} ${1_000_000_000_000 + k * 10_000_000} ${k >= 40 && k < 50 ? '-' : (k * 480).toFixed(3)}`);
  const gap = parseTimeline(gapLines.join('\n'));
  const straight = mk(0, 0);
  const sg = timelineSkew(straight.entries, gap.entries, rate);
  assert.ok(sg.every((x) => Math.abs(x.skewUs) < 0.01), 'no comparison across the silence');
  assert.ok(!sg.some((x) => x.atNs >= 1_000_000_000_000n + 39n * 10_000_000n && x.atNs < 1_000_000_000_000n + 50n * 10_000_000n));
  assert.throws(() => parseTimeline('hello\n'), /not an rtpcast timeline/);
});

test('RtpTimeline: a report off the line (the sender re-anchored) starts a segment; the old line keeps the timestamps before it; the stall is a gap', () => {
  const t = new RtpTimeline(48000);
  const S = 1_000_000_000_000n;
  t.update({ ssrc: 7, unixNs: S, rtpTimestamp: 0xfffff000 });
  // a report on the same line 1 s later: no segment
  t.update({ ssrc: 7, unixNs: S + 1_000_000_000n, rtpTimestamp: (0xfffff000 + 48000) >>> 0 });
  assert.equal(t.discontinuities, 0);
  // 2 s in, the sender stalled 300 ms: timestamp 0xfffff000 + 96000 (wrapped) now belongs to S + 2.3 s
  const r = (0xfffff000 + 96000) >>> 0;
  t.update({ ssrc: 7, unixNs: S + 2_300_000_000n, rtpTimestamp: r });
  assert.equal(t.discontinuities, 1);
  const near = 0xfffff000 + 96000; // unwrapped, past the wrap
  // before the re-anchor: the old line
  assert.equal(t.place(S + 1_500_000_000n, near), 0xfffff000 + 72000);
  assert.equal(t.place(S + 1_999_000_000n, near), 0xfffff000 + 96000 - 48);
  // the stall: nothing sampled
  assert.equal(t.place(S + 2_000_000_000n, near), 'gap');
  assert.equal(t.place(S + 2_299_000_000n, near), 'gap');
  // from the re-anchor on: the new line
  assert.equal(t.place(S + 2_300_000_000n, near), near);
  assert.equal(t.place(S + 2_310_000_000n, near), near + 480);
  // tsAt is the latest line alone
  assert.equal(t.tsAt(S + 1_500_000_000n, near), near - 38400);
  // a small move (a live source's servo) stays on the segment
  t.update({ ssrc: 7, unixNs: S + 3_300_000_000n + 2_000_000n, rtpTimestamp: (r + 48000) >>> 0 });
  assert.equal(t.discontinuities, 1);
  // another SSRC: the sender restarted, everything before is forgotten
  t.update({ ssrc: 8, unixNs: S, rtpTimestamp: 5 });
  assert.equal(t.discontinuities, 0);
  assert.equal(t.place(S + 0n, 5), 5);
});

test('skewExcursions: blocks over 1 ms grouped, each explained by what the controllers noted around it, or unexplained', () => {
  const ms = (v: number) => BigInt(Math.round(v * 1e6));
  const tl = (notes: Record<number, string>) => Array.from({ length: 100 }, (_, i) => ({ frame: i * 480, trueNs: ms(i * 10), ts: i * 480, note: notes[i] ?? '3' }));
  const a = tl({ 20: 'early', 21: '0 jump' });
  const b = tl({ 60: '-2500' });
  const skew = [
    ...[22, 23, 24].map((i) => ({ atNs: ms(i * 10), skewUs: 420_000 })),
    { atNs: ms(300), skewUs: 5 },
    { atNs: ms(610), skewUs: -1500 },
    { atNs: ms(900), skewUs: 2000 },
  ];
  const x = skewExcursions(skew, a, b);
  assert.equal(x.length, 3);
  assert.deepEqual([x[0].blocks, x[0].maxUs], [3, 420_000]);
  assert.equal(x[0].explanation, 'A silent (early), jumped');
  assert.equal(x[1].explanation, 'B steering a -2.5 ms error');
  assert.equal(x[2].explanation, 'unexplained');
});

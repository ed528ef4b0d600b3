import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketSchedule, packetsDue } from '../../src/rtp/pacer';

test('over 10 simulated minutes the packet count matches media time exactly (44.1 kHz, 220-sample packets)', () => {
  const rate = 44100;
  const frame = 220; // 4.98866 ms: not a whole number of microseconds
  const s = new PacketSchedule(frame, rate, 1_000_000n);
  let sent = 0;
  // wake up at irregular times, like a real event loop (every 0.7-9.3 ms)
  let t = 1_000_000n;
  let step = 0;
  const end = 1_000_000n + 600n * 1_000_000_000n;
  while (t < end) {
    sent += packetsDue(s, sent, t);
    step = (step * 7919 + 13) % 8600;
    t += BigInt(700_000 + step * 1000);
  }
  sent += packetsDue(s, sent, end);
  // packets due by 600 s: n with n*220/44100 <= 600, i.e. floor(600*44100/220) + 1
  assert.equal(sent, Math.floor((600 * rate) / frame) + 1);
  // and the last due time is exact to the nanosecond: no accumulated rounding
  assert.equal(s.dueNs(120_272), 1_000_000n + (120_272n * 220n * 1_000_000_000n) / 44100n);
});

test('a sender that falls more than 200 ms behind re-anchors instead of bursting', () => {
  const s = new PacketSchedule(960, 48000, 0n);
  assert.equal(s.catchUp(10, s.dueNs(10) + 150_000_000n), false);
  assert.equal(packetsDue(s, 10, s.dueNs(10) + 150_000_000n), 8); // 150 ms late: catch up (7.5 -> 8 packets)
  const now = s.dueNs(20) + 5_000_000_000n; // suspended for 5 s
  assert.equal(s.catchUp(20, now), true);
  assert.equal(s.resyncs, 1);
  assert.equal(packetsDue(s, 20, now), 1, 'only the packet due now, no burst of 250');
  assert.equal(s.dueNs(21) - s.dueNs(20), 20_000_000n);
});

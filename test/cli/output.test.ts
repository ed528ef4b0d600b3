import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatClock, meter, renderStatus } from '../../src/cli/output';

test('level meter spans -60..0 dBFS', () => {
  assert.equal(meter(-Infinity), '          ');
  assert.equal(meter(0), '██████████');
  assert.equal(meter(-30), '█████     ');
});

test('status line: time, packets, rate, meters per channel, problems only when present', () => {
  const s = renderStatus({ elapsedSec: 75.2, packets: 3760, octets: 0, kbps: 128.4, peakDb: [-12, -Infinity], underruns: 0, resyncs: 0, sendErrors: 0 });
  assert.equal(s, '01:15     3760 pkts    128 kb/s  L ████████   -12.0  R             -inf dBFS');
  assert.match(renderStatus({ elapsedSec: 1, packets: 1, octets: 0, kbps: 1, peakDb: [-6], underruns: 3, resyncs: 1, sendErrors: 0 }), /3 underruns 1 resyncs$/);
  assert.equal(formatClock(3725), '1:02:05');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delayImpairment, effectiveEquipmentImpairment, estimateQuality, mosFromR } from '../../src/rtp/quality';

function close(actual: number, expected: number, eps: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: expected ${expected} ± ${eps}, got ${actual}`);
}

test('L16 without loss or jitter: R = 93.2 - 0.024 * 20 = 92.72, MOS ~ 4.4', () => {
  const q = estimateQuality({ lossPct: 0, jitterMs: 0, codec: 'l16' });
  assert.equal(q.label, 'estimate');
  close(q.rFactor, 92.72, 1e-9, 'R');
  // 1 + 0.035 R + 7e-6 R (R - 60)(100 - R) at R = 92.72
  close(q.mos, 1 + 0.035 * 92.72 + 7e-6 * 92.72 * 32.72 * 7.28, 1e-12, 'MOS');
  close(q.mos, 4.4, 0.01, 'MOS ~ 4.4');
});

test('MOS falls as loss rises', () => {
  const mos = [0, 0.5, 1, 2, 5, 10, 20].map((lossPct) => estimateQuality({ lossPct, jitterMs: 5, codec: 'l16' }).mos);
  for (let i = 1; i < mos.length; i++) assert.ok(mos[i] < mos[i - 1], `MOS ${mos[i]} at step ${i} should be below ${mos[i - 1]}`);
});

test('at 5 % loss Opus (PLC, Bpl 25) is far more robust than L16 (no PLC, Bpl 4.3)', () => {
  const l16 = estimateQuality({ lossPct: 5, jitterMs: 0, codec: 'l16' });
  const opus = estimateQuality({ lossPct: 5, jitterMs: 0, codec: 'opus' });
  // Ie_eff(L16) = 95 * 5 / (5 + 4.3) = 51.075..., Ie_eff(Opus) = 5 + 90 * 5 / (5 + 25) = 20
  close(l16.rFactor, 92.72 - (95 * 5) / 9.3, 1e-9, 'R L16');
  close(opus.rFactor, 92.72 - 20, 1e-9, 'R Opus');
  assert.ok(opus.mos > l16.mos + 1);
});

test('bursty loss (BurstR > 1) hurts more than random loss; BurstR below 1 counts as random', () => {
  const random = estimateQuality({ lossPct: 3, jitterMs: 0, codec: 'opus' });
  const bursty = estimateQuality({ lossPct: 3, jitterMs: 0, codec: 'opus', burstR: 3 });
  assert.ok(bursty.rFactor < random.rFactor);
  close(effectiveEquipmentImpairment(5, 25, 3, 3), 5 + (90 * 3) / (1 + 25), 1e-12, 'Ie_eff with BurstR 3');
  assert.equal(effectiveEquipmentImpairment(5, 25, 3, 0.5), effectiveEquipmentImpairment(5, 25, 3, 1));
});

test('delay: jitter sizes an assumed buffer (20 ms + 2 x jitter); a known one-way delay is used as given', () => {
  close(delayImpairment(100), 2.4, 1e-12, 'Id(100)');
  close(delayImpairment(200), 0.024 * 200 + 0.11 * (200 - 177.3), 1e-12, 'Id(200), past the knee');
  const j = estimateQuality({ lossPct: 0, jitterMs: 40, codec: 'l16' }); // d = 100 ms
  close(j.rFactor, 93.2 - 2.4, 1e-9, 'R with 40 ms jitter');
  const d = estimateQuality({ lossPct: 0, jitterMs: 40, codec: 'l16', oneWayDelayMs: 300 });
  close(d.rFactor, 93.2 - (0.024 * 300 + 0.11 * 122.7), 1e-9, 'R at 300 ms');
});

test('MOS mapping is clamped to [1, 4.5]', () => {
  assert.equal(mosFromR(-10), 1);
  assert.equal(mosFromR(0), 1);
  assert.equal(mosFromR(100), 4.5);
  assert.equal(mosFromR(120), 4.5);
  const worst = estimateQuality({ lossPct: 100, jitterMs: 500, codec: 'l16' });
  assert.equal(worst.rFactor, 0);
  assert.equal(worst.mos, 1);
});

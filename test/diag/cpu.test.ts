import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuFindings, measureCodecs, type CpuMeasurement } from '../../src/diag/cpu';

const m = (complexity: number, corePct: number): CpuMeasurement => ({ what: `Opus c${complexity}`, codec: 'opus', direction: 'encode', complexity, realTimeFactor: 100 / corePct, corePct });
const machine = { cores: 4, load1: 0.5, model: 'Cortex-A53' };

test('recommendation: a fast machine keeps Opus; a slow one lowers complexity; a very slow one sends L16', () => {
  const fast = cpuFindings([m(10, 1), m(0, 0.3)], machine);
  assert.equal(fast.find((f) => f.id === 'cpu.recommend')?.severity, 'ok');
  const slow = cpuFindings([m(10, 12), m(0, 4)], machine);
  const r = slow.find((f) => f.id === 'cpu.recommend')!;
  assert.equal(r.severity, 'warn');
  assert.match(r.fix ?? '', /--codec l16/);
  assert.equal(slow.find((f) => f.id === 'cpu.opus-encode-c10')?.severity, 'warn');
  const tooSlow = cpuFindings([m(10, 80), m(0, 30)], machine);
  assert.equal(tooSlow.find((f) => f.id === 'cpu.recommend')?.severity, 'problem');
  assert.equal(tooSlow.find((f) => f.id === 'cpu.opus-encode-c10')?.severity, 'problem');
  assert.match(cpuFindings([m(10, 1)], { ...machine, load1: 5 })[0].detail ?? '', /busy/);
});

test('measurement covers every configuration with positive real-time factors (CPU time, not wall time)', () => {
  const ms = measureCodecs(0.4);
  assert.deepEqual(ms.map((x) => `${x.codec}-${x.direction}-${x.complexity ?? ''}`), ['opus-encode-10', 'opus-encode-5', 'opus-encode-0', 'opus-decode-', 'l16-encode-']);
  for (const x of ms) {
    assert.ok(x.realTimeFactor > 0 && Number.isFinite(x.realTimeFactor), x.what);
    assert.ok(Math.abs(x.corePct * x.realTimeFactor - 100) < 1e-6);
  }
});

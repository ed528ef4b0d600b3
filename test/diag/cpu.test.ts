import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupCpuLimit, cpuFindings, effectiveRealTimeFactor, measureCodecs, parseCpuMax, type CpuMeasurement } from '../../src/diag/cpu';

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

test('cgroup CPU limits: v2 cpu.max and v1 cfs quota, the tightest ancestor wins', () => {
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCpuMax('1000 100000\n'), 0.01);
  assert.equal(parseCpuMax('150000 100000'), 1.5);
  const files: Record<string, string> = {
    '/sys/fs/cgroup/a/b/cpu.max': 'max 100000\n',
    '/sys/fs/cgroup/a/cpu.max': '50000 100000\n',
    '/sys/fs/cgroup/cpu.max': 'max 100000\n',
  };
  const v2 = cgroupCpuLimit('0::/a/b\n', (p) => files[p] ?? null);
  assert.deepEqual(v2, { cores: 0.5, source: 'cgroup v2 /sys/fs/cgroup/a/cpu.max: 50000 100000' });
  const v1files: Record<string, string> = {
    '/sys/fs/cgroup/cpu/x/cpu.cfs_quota_us': '1000\n', '/sys/fs/cgroup/cpu/x/cpu.cfs_period_us': '100000\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
  };
  const v1 = cgroupCpuLimit('4:memory:/m\n1:cpu:/x\n0::/\n', (p) => v1files[p] ?? null);
  assert.equal(v1?.cores, 0.01);
  assert.match(v1!.source, /^cgroup v1 \/sys\/fs\/cgroup\/cpu\/x: cpu.cfs_quota_us 1000/);
  assert.equal(cgroupCpuLimit('1:cpu:/\n', (p) => v1files[p] ?? null), null, 'quota -1 is no limit');
  assert.equal(cgroupCpuLimit('0::/\n', () => null), null);
});

test('a CPU quota below what the encoder needs: the figures scale, the encoder cannot keep up, L16 is recommended', () => {
  const c10 = { ...m(10, 100 / 70), wallRealTimeFactor: 65 };
  const c0 = { ...m(0, 100 / 240), wallRealTimeFactor: 230 };
  assert.equal(cpuFindings([c10, c0], machine).find((f) => f.id === 'cpu.recommend')?.severity, 'ok');
  const limit = { cores: 0.01, source: 'cgroup v1 /sys/fs/cgroup/cpu/x: cpu.cfs_quota_us 1000 / cpu.cfs_period_us 100000' };
  assert.ok(Math.abs(effectiveRealTimeFactor(c10, limit) - 0.7) < 1e-9);
  const f = cpuFindings([c10, c0], { ...machine, limit });
  assert.equal(f.find((x) => x.id === 'cpu.limit')?.severity, 'warn');
  assert.match(f.find((x) => x.id === 'cpu.limit')!.title, /1\.0% of one core/);
  const enc = f.find((x) => x.id === 'cpu.opus-encode-c10')!;
  assert.equal(enc.severity, 'problem');
  assert.match(enc.title, /0\.70x real time here \(70x on a free core; limited by the CPU quota\): CANNOT keep up/);
  const rec = f.find((x) => x.id === 'cpu.recommend')!;
  assert.equal(rec.severity, 'problem');
  assert.match(rec.title, /cannot encode Opus in real time \(0\.70x/);
  assert.match(rec.fix!, /--codec l16/);
  // no quota, the wall clock slow while measuring (a shared machine): reported, but CPU time decides
  const busy = cpuFindings([{ ...c10, wallRealTimeFactor: 20 }, { ...c0, wallRealTimeFactor: 200 }], machine);
  assert.equal(busy.find((x) => x.id === 'cpu.opus-encode-c10')!.title, 'Opus c10: 70x real time, 1.4% of one core per stream (by the wall clock 20x while measuring: other programs took the core)');
  assert.equal(busy.find((x) => x.id === 'cpu.opus-encode-c0')!.title, 'Opus c0: 240x real time, 0.4% of one core per stream');
  assert.equal(busy.find((x) => x.id === 'cpu.recommend')?.severity, 'ok');
});

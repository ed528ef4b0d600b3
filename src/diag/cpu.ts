import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { OpusEncoder } from '../codec/opus';
import { OpusDecoder } from '../codec/decoder';
import { L16Encoder } from '../codec/l16';
import { ToneGenerator } from '../audio/tone';
import type { DiagReport, Finding } from './report';

/** One measured configuration: how many times faster than real time this machine does it (one core). */
export interface CpuMeasurement {
  what: string;
  codec: 'opus' | 'l16';
  direction: 'encode' | 'decode';
  complexity?: number;
  bitrate?: number;
  /** audio seconds processed per CPU second */
  realTimeFactor: number;
  /** share of one core one stereo stream takes, % */
  corePct: number;
  /** audio seconds processed per wall-clock second (lower than realTimeFactor when other programs or a CPU limit take the core) */
  wallRealTimeFactor?: number;
}

/** A CPU limit on this process (cgroup quota): how many cores' worth of time it may use. */
export interface CpuLimit {
  cores: number;
  /** where it comes from, e.g. "cgroup v2 /sys/fs/cgroup/x/cpu.max: 1000 100000" */
  source: string;
}

/** cgroup v2 cpu.max ("max 100000" or "QUOTA PERIOD") as cores; null for no limit (pure). */
export function parseCpuMax(text: string): number | null {
  const [q, p] = text.trim().split(/\s+/);
  if (!q || q === 'max') return null;
  const quota = Number(q);
  const period = Number(p ?? 100000);
  return quota > 0 && period > 0 ? quota / period : null;
}

/**
 * The tightest CPU quota on the cgroup of this process and its ancestors, from /proc/self/cgroup
 * (cgroup v2 cpu.max; cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us). `read` returns a file's
 * text or null (pure apart from it).
 */
export function cgroupCpuLimit(procSelfCgroup: string, read: (path: string) => string | null, root = '/sys/fs/cgroup'): CpuLimit | null {
  let best: CpuLimit | null = null;
  const consider = (cores: number | null, source: string) => {
    if (cores !== null && Number.isFinite(cores) && (!best || cores < best.cores)) best = { cores, source };
  };
  const ancestors = (p: string) => {
    const parts = p.split('/').filter(Boolean);
    return parts.map((_, i) => '/' + parts.slice(0, parts.length - i).join('/')).concat('/');
  };
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, path] = m;
    if (id === '0' && controllers === '') {
      for (const a of ancestors(path)) {
        const file = `${root}${a === '/' ? '' : a}/cpu.max`;
        const t = read(file);
        if (t !== null) consider(parseCpuMax(t), `cgroup v2 ${file}: ${t.trim()}`);
      }
    } else if (controllers.split(',').includes('cpu')) {
      for (const a of ancestors(path)) {
        for (const mount of [`${root}/cpu`, `${root}/cpu,cpuacct`, `${root}/cpuacct,cpu`]) {
          const dir = `${mount}${a === '/' ? '' : a}`;
          const q = read(`${dir}/cpu.cfs_quota_us`);
          if (q === null) continue;
          const period = Number(read(`${dir}/cpu.cfs_period_us`) ?? 100000);
          const quota = Number(q.trim());
          if (quota > 0 && period > 0) consider(quota / period, `cgroup v1 ${dir}: cpu.cfs_quota_us ${quota} / cpu.cfs_period_us ${period}`);
          break;
        }
      }
    }
  }
  return best;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** This process's CPU limit (Linux cgroups; null elsewhere or unlimited). */
export function currentCpuLimit(): CpuLimit | null {
  const self = readOrNull('/proc/self/cgroup');
  return self === null ? null : cgroupCpuLimit(self, readOrNull);
}

/** A stereo music-like test signal (tones plus noise), interleaved. */
function signal(seconds: number): Float32Array {
  const g = new ToneGenerator({ rate: 48000, channels: 2 }, 440, -12).next(48000 * seconds);
  let s = 12345;
  for (let i = 0; i < g.length; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    g[i] += ((s / 0x7fffffff) - 0.5) * 0.05 + 0.1 * Math.sin((2 * Math.PI * 3520 * (i >> 1)) / 48000);
  }
  return g;
}

/** CPU seconds and wall-clock seconds fn took. */
function timed(fn: () => void): { cpu: number; wall: number } {
  const w = process.hrtime.bigint();
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return { cpu: (d.user + d.system) / 1e6, wall: Number(process.hrtime.bigint() - w) / 1e9 };
}

/** Encodes/decodes `seconds` of audio per configuration and measures CPU time (not wall time). */
export function measureCodecs(seconds = 5): CpuMeasurement[] {
  const x = signal(seconds);
  const frame = 960 * 2;
  const out: CpuMeasurement[] = [];
  const add = (m: Omit<CpuMeasurement, 'corePct' | 'realTimeFactor'>, t: { cpu: number; wall: number }) => {
    const rtf = seconds / Math.max(t.cpu, 1e-6);
    out.push({ ...m, realTimeFactor: rtf, corePct: 100 / rtf, wallRealTimeFactor: seconds / Math.max(t.wall, 1e-6) });
  };
  let packets: Uint8Array[] = [];
  for (const complexity of [10, 5, 0]) {
    const enc = new OpusEncoder({ channels: 2, bitrate: 128000, fec: true }, { complexity });
    const pk: Uint8Array[] = [];
    const cpu = timed(() => {
      for (let i = 0; i + frame <= x.length; i += frame) pk.push(Uint8Array.from(enc.encode(x.subarray(i, i + frame))));
    });
    if (complexity === 10) packets = pk;
    add({ what: `Opus encode 128 kb/s stereo, complexity ${complexity}`, codec: 'opus', direction: 'encode', complexity, bitrate: 128000 }, cpu);
  }
  const dec = new OpusDecoder(2);
  add({ what: 'Opus decode stereo (rtpcast play)', codec: 'opus', direction: 'decode' }, timed(() => packets.forEach((p) => dec.decode(p))));
  dec.close();
  const l16 = new L16Encoder();
  const l16frame = 240 * 2;
  add({ what: 'L16 packetize 48 kHz stereo', codec: 'l16', direction: 'encode' }, timed(() => {
    for (let i = 0; i + l16frame <= x.length; i += l16frame) l16.encode(x.subarray(i, i + l16frame));
  }));
  return out;
}

/**
 * The real-time factor this process can count on: the CPU-time figure scaled by the share of a core
 * a cgroup quota leaves it (an encoder is one thread: at most one core). The wall-clock figure is
 * reported beside it but does not decide: one short measurement on a shared machine is too noisy
 * (a 100 ms scheduling gap halves it). Pure.
 */
export function effectiveRealTimeFactor(m: CpuMeasurement, limit?: CpuLimit | null): number {
  const share = limit ? Math.min(1, limit.cores) : 1;
  return m.realTimeFactor * share;
}

/**
 * What to use on this machine (pure): a codec configuration is comfortable when one stream takes
 * under 5% of the CPU this process may use, tight under 25%, and too heavy above (the
 * OBS-on-a-mini-PC failure, F5); below 1x real time the encoder cannot keep up at all.
 */
export function cpuFindings(ms: CpuMeasurement[], machine: { cores: number; load1: number; model: string; limit?: CpuLimit | null }): Finding[] {
  const f: Finding[] = [];
  const lim = machine.limit ?? null;
  f.push({ id: 'cpu.machine', severity: 'info', title: `${machine.cores} core(s), ${machine.model}`, detail: `load average ${machine.load1.toFixed(2)} over the last minute${machine.load1 > machine.cores * 0.8 ? ': busy, so the figures below are pessimistic' : ''}` });
  if (lim && lim.cores < machine.cores) {
    f.push({
      id: 'cpu.limit', severity: lim.cores < 1 ? 'warn' : 'info',
      title: `this process may use ${lim.cores < 1 ? `${(lim.cores * 100).toFixed(1)}% of one core` : `${lim.cores.toFixed(2)} cores`} (CPU quota)`,
      detail: lim.source,
      ...(lim.cores < 1 ? { fix: 'raise the CPU limit of the container/service (e.g. systemd CPUQuota=, docker --cpus), or use a codec that needs less (see below)' } : {}),
    });
  }
  const eff = (m: CpuMeasurement) => effectiveRealTimeFactor(m, lim);
  const pctOf = (m: CpuMeasurement) => 100 / eff(m);
  for (const m of ms) {
    const e = eff(m);
    const pc = pctOf(m);
    const sev = pc < 5 ? 'ok' : pc < 25 ? 'warn' : 'problem';
    const limited = e < m.realTimeFactor * 0.8;
    const w = m.wallRealTimeFactor;
    const wall = w !== undefined && w < 0.5 * e ? ` (by the wall clock ${w < 10 ? w.toFixed(2) : w.toFixed(0)}x while measuring: other programs took the core)` : '';
    f.push({
      id: `cpu.${m.codec}-${m.direction}${m.complexity !== undefined ? `-c${m.complexity}` : ''}`, severity: sev,
      title: limited
        ? `${m.what}: ${e < 10 ? e.toFixed(2) : e.toFixed(0)}x real time here (${m.realTimeFactor.toFixed(0)}x on a free core; limited by the CPU quota)${e < 1 ? ': CANNOT keep up' : ''}, ${pc.toFixed(1)}% of the available CPU per stream${wall}`
        : `${m.what}: ${m.realTimeFactor.toFixed(0)}x real time, ${m.corePct.toFixed(1)}% of one core per stream${wall}`,
    });
  }
  const opus10 = ms.find((m) => m.codec === 'opus' && m.direction === 'encode' && m.complexity === 10);
  const opus0 = ms.find((m) => m.codec === 'opus' && m.direction === 'encode' && m.complexity === 0);
  if (opus10 && pctOf(opus10) < 5) {
    f.push({ id: 'cpu.recommend', severity: 'ok', title: 'this machine encodes Opus at full quality with room to spare: use the default (--codec opus)' });
  } else if (opus0 && pctOf(opus0) < 25) {
    f.push({ id: 'cpu.recommend', severity: 'warn', title: 'Opus at full complexity is heavy here', detail: `complexity 0 takes ${pctOf(opus0).toFixed(1)}% of the available CPU`, fix: 'use a lower Opus complexity, or L16 on a wired network (no encoding at all): rtpcast send --codec l16 --rate 48000' });
  } else {
    const behind = opus10 && eff(opus10) < 1;
    f.push({
      id: 'cpu.recommend', severity: 'problem',
      title: behind ? `this machine cannot encode Opus in real time (${eff(opus10!).toFixed(2)}x at full complexity): the stream would break up and fall behind` : 'this machine cannot encode Opus comfortably in real time',
      fix: 'send L16 (no encoding): rtpcast send --codec l16 --rate 44100 (1.4 Mb/s: fine on a cable; on Wi-Fi use a lower rate or mono)',
    });
  }
  return f;
}

export function checkCpu(seconds = 5): DiagReport {
  const ms = measureCodecs(seconds);
  const c = cpus();
  const limit = currentCpuLimit();
  return {
    check: 'cpu',
    findings: cpuFindings(ms, { cores: c.length, load1: loadavg()[0], model: c[0]?.model?.trim() ?? 'unknown CPU', limit }),
    data: { measurements: ms.map((m) => ({ ...m, effectiveRealTimeFactor: effectiveRealTimeFactor(m, limit) })), limit },
  };
}

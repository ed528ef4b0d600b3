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

function cpuSeconds(fn: () => void): number {
  const t = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1e6;
}

/** Encodes/decodes `seconds` of audio per configuration and measures CPU time (not wall time). */
export function measureCodecs(seconds = 5): CpuMeasurement[] {
  const x = signal(seconds);
  const frame = 960 * 2;
  const out: CpuMeasurement[] = [];
  const add = (m: Omit<CpuMeasurement, 'corePct' | 'realTimeFactor'>, cpu: number) => {
    const rtf = seconds / Math.max(cpu, 1e-6);
    out.push({ ...m, realTimeFactor: rtf, corePct: 100 / rtf });
  };
  let packets: Uint8Array[] = [];
  for (const complexity of [10, 5, 0]) {
    const enc = new OpusEncoder({ channels: 2, bitrate: 128000, fec: true }, { complexity });
    const pk: Uint8Array[] = [];
    const cpu = cpuSeconds(() => {
      for (let i = 0; i + frame <= x.length; i += frame) pk.push(Uint8Array.from(enc.encode(x.subarray(i, i + frame))));
    });
    if (complexity === 10) packets = pk;
    add({ what: `Opus encode 128 kb/s stereo, complexity ${complexity}`, codec: 'opus', direction: 'encode', complexity, bitrate: 128000 }, cpu);
  }
  const dec = new OpusDecoder(2);
  add({ what: 'Opus decode stereo (rtpcast play)', codec: 'opus', direction: 'decode' }, cpuSeconds(() => packets.forEach((p) => dec.decode(p))));
  dec.close();
  const l16 = new L16Encoder();
  const l16frame = 240 * 2;
  add({ what: 'L16 packetize 48 kHz stereo', codec: 'l16', direction: 'encode' }, cpuSeconds(() => {
    for (let i = 0; i + l16frame <= x.length; i += l16frame) l16.encode(x.subarray(i, i + l16frame));
  }));
  return out;
}

/**
 * What to use on this machine (pure): a codec configuration is comfortable when one stream takes
 * under 5% of a core, tight under 25%, and too heavy above (the OBS-on-a-mini-PC failure, F5).
 */
export function cpuFindings(ms: CpuMeasurement[], machine: { cores: number; load1: number; model: string }): Finding[] {
  const f: Finding[] = [];
  f.push({ id: 'cpu.machine', severity: 'info', title: `${machine.cores} core(s), ${machine.model}`, detail: `load average ${machine.load1.toFixed(2)} over the last minute${machine.load1 > machine.cores * 0.8 ? ': busy, so the figures below are pessimistic' : ''}` });
  for (const m of ms) {
    const sev = m.corePct < 5 ? 'ok' : m.corePct < 25 ? 'warn' : 'problem';
    f.push({ id: `cpu.${m.codec}-${m.direction}${m.complexity !== undefined ? `-c${m.complexity}` : ''}`, severity: sev, title: `${m.what}: ${m.realTimeFactor.toFixed(0)}x real time, ${m.corePct.toFixed(1)}% of one core per stream` });
  }
  const opus10 = ms.find((m) => m.codec === 'opus' && m.direction === 'encode' && m.complexity === 10);
  const opus0 = ms.find((m) => m.codec === 'opus' && m.direction === 'encode' && m.complexity === 0);
  if (opus10 && opus10.corePct < 5) {
    f.push({ id: 'cpu.recommend', severity: 'ok', title: 'this machine encodes Opus at full quality with room to spare: use the default (--codec opus)' });
  } else if (opus0 && opus0.corePct < 25) {
    f.push({ id: 'cpu.recommend', severity: 'warn', title: 'Opus at full complexity is heavy here', detail: `complexity 0 takes ${opus0.corePct.toFixed(1)}% of a core`, fix: 'use a lower Opus complexity, or L16 on a wired network (no encoding at all): rtpcast send --codec l16 --rate 48000' });
  } else {
    f.push({ id: 'cpu.recommend', severity: 'problem', title: 'this machine cannot encode Opus comfortably in real time', fix: 'send L16 (no encoding): rtpcast send --codec l16 --rate 44100 (1.4 Mb/s: fine on a cable; on Wi-Fi use a lower rate or mono)' });
  }
  return f;
}

export function checkCpu(seconds = 5): DiagReport {
  const ms = measureCodecs(seconds);
  const c = cpus();
  return { check: 'cpu', findings: cpuFindings(ms, { cores: c.length, load1: loadavg()[0], model: c[0]?.model?.trim() ?? 'unknown CPU' }), data: { measurements: ms } };
}

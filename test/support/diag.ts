/**
 * Helpers for the diag interop tests: running `rtpcast diag ...` through the CLI and reading its
 * JSON report, tshark's RTP statistics, the RFC 3550 jitter of what the relay really sent, and
 * the seed's raw-PCM sender.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { DiagReport, Finding } from '../../src/diag/report';
import type { UdpRelay } from './relay';
import { RTPCAST_CLI } from './peers';
import { sleep, type Proc, type Procs } from './procs';

export const TSHARK_INSTALL = 'DEBIAN_FRONTEND=noninteractive apt-get install -y tshark';

export function requireTshark(): void {
  const r = spawnSync('tshark', ['--version'], { timeout: 20_000 });
  if (r.error || r.status !== 0) throw new Error(`tshark not found (needed to compare with Wireshark's RTP statistics): ${TSHARK_INSTALL}`);
}

export interface TsharkStream { ssrc: number; payload: string; packets: number; lost: number; lostPct: number; maxDeltaMs: number; meanJitterMs: number; maxJitterMs: number }

/** Parses `tshark -q -z rtp,streams` output. */
export function parseTsharkStreams(text: string): TsharkStream[] {
  const out: TsharkStream[] = [];
  const re = /(0x[0-9A-Fa-f]+)\s+(.+?)\s+(\d+)\s+(-?\d+)\s+\((-?[\d.]+)%\)\s+([\d.-]+)\s+([\d.-]+)\s+([\d.-]+)\s+([\d.-]+)\s+([\d.-]+)\s+([\d.-]+)/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    out.push({ ssrc: parseInt(m[1], 16), payload: m[2], packets: Number(m[3]), lost: Number(m[4]), lostPct: Number(m[5]), maxDeltaMs: Number(m[8]), meanJitterMs: Number(m[10]), maxJitterMs: Number(m[11]) });
  }
  return out;
}

/** tshark on lo for `udp port PORT`, decoding it as RTP, with -z rtp,streams; resolves once it captures. */
export async function startTshark(procs: Procs, port: number, extra: string[] = []): Promise<Proc> {
  const p = procs.start(['tshark', '-i', 'lo', '-f', `udp port ${port}`, '-q', '-n', '-d', `udp.port==${port},rtp`, '-z', 'rtp,streams', '-a', 'duration:60', ...extra]);
  const until = Date.now() + 20_000;
  while (!/Capturing on/.test(p.stderr)) {
    if (!p.running) throw new Error(`tshark exited before capturing (capturing on lo needs root or the wireshark group):\n${p.describe()}`);
    if (Date.now() > until) throw new Error(`tshark did not start capturing within 20 s:\n${p.describe()}`);
    await sleep(50);
  }
  await sleep(300); // "Capturing on" is printed just before the capture loop starts
  return p;
}

/** RFC 3550 jitter (ms) of what the relay actually sent: transit = send time - media time, in send order. */
export function relayJitterMs(relay: UdpRelay, clockRate: number): number {
  const sent = relay.events.filter((e) => e.sentNs !== undefined && e.ts !== undefined).sort((a, b) => (a.sentNs! < b.sentNs! ? -1 : 1));
  let j = 0;
  const t0 = sent[0].sentNs!;
  const ts0 = sent[0].ts!;
  let prev: number | undefined;
  for (const e of sent) {
    const transit = Number(e.sentNs! - t0) / 1e6 - (((e.ts! - ts0) | 0) / clockRate) * 1000;
    if (prev !== undefined) j += (Math.abs(transit - prev) - j) / 16;
    prev = transit;
  }
  return j;
}

/** The seed's Python sender, in Node: parec-like s16le 44.1 kHz stereo, 4096-byte datagrams, real-time pace. argv: port seconds [host] */
export const RAW_SENDER = `
const dgram = require('node:dgram');
const [port, seconds] = process.argv.slice(1).map(Number);
const host = process.argv[3] || '127.0.0.1';
const s = dgram.createSocket('udp4');
const FRAMES = 1024, RATE = 44100;
let k = 0;
const t0 = process.hrtime.bigint();
const total = Math.ceil(seconds * RATE / FRAMES);
function chunk(k) {
  const b = Buffer.alloc(FRAMES * 4);
  for (let f = 0; f < FRAMES; f++) {
    const n = k * FRAMES + f;
    b.writeInt16LE(Math.round(8000 * Math.sin(2 * Math.PI * 440 * n / RATE)), f * 4);
    b.writeInt16LE(Math.round(6000 * Math.sin(2 * Math.PI * 660 * n / RATE)), f * 4 + 2);
  }
  return b;
}
function tick() {
  const now = Number(process.hrtime.bigint() - t0) / 1e9;
  while (k < total && k * FRAMES / RATE <= now) s.send(chunk(k++), port, host);
  if (k < total) setTimeout(tick, 3); else setTimeout(() => s.close(), 50);
}
tick();
`;

/** argv of the rtpcast CLI (as built), optionally inside a namespace. */
export function cli(args: readonly string[], prefix: readonly string[] = []): string[] {
  return [...prefix, process.execPath, RTPCAST_CLI, ...args];
}

export interface DiagRun {
  proc: Proc;
  code: number | null;
  report: DiagReport;
}

/** Runs `rtpcast diag ARGS --json` to its end (bounded) and parses the report. */
export async function runDiag(procs: Procs, args: readonly string[], o: { timeoutMs?: number; prefix?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): Promise<DiagRun> {
  const proc = await procs.run(cli(['diag', ...args, '--json'], o.prefix), o.timeoutMs ?? 60_000, { env: o.env });
  return parseDiag(proc);
}

export function parseDiag(proc: Proc): DiagRun {
  let report: DiagReport;
  try {
    report = JSON.parse(proc.stdout) as DiagReport;
  } catch {
    throw new Error(`rtpcast diag did not print a JSON report:\n${proc.describe()}`);
  }
  return { proc, code: proc.exit?.code ?? null, report };
}

/** The finding with this id (the first); fails with the whole list if there is none. */
export function finding(r: DiagReport, id: string, pred: (f: Finding) => boolean = () => true): Finding {
  const f = r.findings.find((x) => x.id === id && pred(x));
  assert.ok(f, `no ${id} finding:\n${brief(r)}`);
  return f;
}

export function brief(r: DiagReport): string {
  return r.findings.map((f) => `${f.severity} ${f.id}: ${f.title}`).join('\n') + (r.conclusion ? `\nconclusion: ${r.conclusion}` : '');
}

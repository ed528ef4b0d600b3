/**
 * Benchmark: CPU time and packet pacing of `rtpcast send` against `ffmpeg -re ... -f rtp` doing
 * the same job (same 48 kHz stereo WAV, L16 with 5 ms packets and Opus 128 kb/s with 20 ms
 * packets), measured in one run, interleaved, several repetitions; medians and ratios.
 *
 *   npm run bench                                   60 s input, 3 repetitions (~13 minutes)
 *   node dist/scripts/bench-send.js --seconds 10 --reps 1 --no-docs     a quick look
 *
 * CPU: each sender runs under GNU time (`/usr/bin/time -f '%U %S %e'`), which reports the
 * rusage of the whole waited-for process tree: rtpcast's own ffmpeg decoder child is included.
 * Pacing: a separate receiver process (started first, doing nothing else) binds the RTP port
 * (and port+1 for RTCP, which is counted and ignored) and stamps each packet's arrival with
 * process.hrtime.bigint().
 *
 * Writes a table to stdout and rewrites the section between the bench-send markers in
 * docs/BENCHMARKS.md (temp file + rename).
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { encodeWavS16 } from '../src/audio/wav';
import { writeFileAtomic } from '../src/util/atomic-write';
import {
  analyzePacing,
  describeSizes,
  fmtMs,
  markdownTable,
  median,
  parseGnuTime,
  parseProcStat,
  parseRtpHeader,
  replaceSection,
  sequenceCheck,
  testSignal,
  textTable,
  type PacingResult,
} from './bench-lib';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'BENCHMARKS.md');
const START = '<!-- bench-send:start -->';
const END = '<!-- bench-send:end -->';
const RATE = 48000;
const CHANNELS = 2;
const PT = 96;

type Tool = 'rtpcast' | 'ffmpeg';
type Codec = 'l16' | 'opus';

interface CaseSpec {
  tool: Tool;
  codec: Codec;
}

/** Exactly what is run; PORT and IN are filled in. Kept as argument arrays: nothing goes through a shell. */
function commandFor(c: CaseSpec, input: string, port: number, ffmpeg: string): string[] {
  if (c.tool === 'rtpcast') {
    return c.codec === 'l16'
      ? [process.execPath, CLI, 'send', '--input', input, '--codec', 'l16', '--rate', String(RATE), '--channels', String(CHANNELS), '--dest', `127.0.0.1:${port}`, '--quiet']
      : [process.execPath, CLI, 'send', '--input', input, '--codec', 'opus', '--dest', `127.0.0.1:${port}`, '--quiet'];
  }
  const common = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', '-re', '-i', input];
  return c.codec === 'l16'
    ? // asetnsamples: 240-sample (5 ms) frames, so every RTP packet carries 960 bytes like rtpcast's
      // (without it the muxer cuts each 1024-frame WAV packet into 960+960+960+960+256 bytes).
      [...common, '-af', 'asetnsamples=n=240', '-acodec', 'pcm_s16be', '-ar', String(RATE), '-ac', String(CHANNELS), '-payload_type', String(PT), '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=972`]
    : // -fec:a 1 -packet_loss:a 5: rtpcast's Opus defaults (in-band FEC on, 5 % expected loss); the
      // stream specifier keeps the rtp muxer from taking -fec as its own (RTP FEC) option
      [...common, '-c:a', 'libopus', '-b:a', '128k', '-frame_duration', '20', '-application', 'audio', '-fec:a', '1', '-packet_loss:a', '5', '-payload_type', String(PT), '-f', 'rtp', `rtp://127.0.0.1:${port}`];
}

// ---------------------------------------------------------------------------------------------
// Receiver (a child process: `bench-send.js __receiver <capacity>`)

interface ReceiverData {
  arrivalNs: number[];
  payloadBytes: number[];
  timestamps: number[];
  sequences: number[];
  payloadTypes: number[];
  ssrcs: number[];
  notRtp: number;
  rtcpPackets: number;
}

function receiverMain(capacity: number): void {
  let cap = Math.max(1024, capacity);
  let arrival = new Float64Array(cap);
  let size = new Int32Array(cap);
  let ts = new Float64Array(cap);
  let seq = new Int32Array(cap);
  let pt = new Int32Array(cap);
  const ssrcs = new Set<number>();
  let n = 0;
  let notRtp = 0;
  let rtcpPackets = 0;
  const base = process.hrtime.bigint();
  const grow = () => {
    cap *= 2;
    const g = <T extends Float64Array | Int32Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a as never);
      return b;
    };
    arrival = g(arrival, Float64Array);
    size = g(size, Int32Array);
    ts = g(ts, Float64Array);
    seq = g(seq, Int32Array);
    pt = g(pt, Int32Array);
  };
  const onRtp = (msg: Buffer) => {
    const t = process.hrtime.bigint();
    const h = parseRtpHeader(msg);
    if (!h) {
      notRtp++;
      return;
    }
    if (n === cap) grow();
    arrival[n] = Number(t - base);
    size[n] = h.payloadBytes;
    ts[n] = h.timestamp;
    seq[n] = h.sequence;
    pt[n] = h.payloadType;
    ssrcs.add(h.ssrc);
    n++;
  };

  const bindPair = async (): Promise<[Socket, Socket, number]> => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = 20000 + 2 * Math.floor(Math.random() * 19000);
      const a = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
      const b = createSocket({ type: 'udp4' });
      try {
        await bind(a, port);
        await bind(b, port + 1);
        return [a, b, port];
      } catch {
        a.close();
        b.close();
      }
    }
    throw new Error('no free UDP port pair found');
  };
  void bindPair().then(
    ([rtp, rtcp, port]) => {
      rtp.on('message', onRtp);
      rtcp.on('message', () => rtcpPackets++);
      process.on('message', (m: { cmd?: string }) => {
        if (m.cmd !== 'stop') return;
        rtp.removeAllListeners('message');
        const data: ReceiverData = {
          arrivalNs: Array.from(arrival.subarray(0, n)),
          payloadBytes: Array.from(size.subarray(0, n)),
          timestamps: Array.from(ts.subarray(0, n)),
          sequences: Array.from(seq.subarray(0, n)),
          payloadTypes: [...new Set(pt.subarray(0, n))],
          ssrcs: [...ssrcs],
          notRtp,
          rtcpPackets,
        };
        rtp.close();
        rtcp.close();
        process.send!({ cmd: 'data', data }, () => process.disconnect());
      });
      process.send!({ cmd: 'ready', port });
    },
    (e: Error) => {
      process.send!({ cmd: 'error', message: e.message }, () => process.exit(1));
    },
  );
}

function bind(s: Socket, port: number): Promise<void> {
  return new Promise((res, rej) => {
    s.once('error', rej);
    s.bind(port, '127.0.0.1', () => {
      s.off('error', rej);
      res();
    });
  });
}

class Receiver {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static start(capacity: number): Promise<Receiver> {
    const child = fork(__filename, ['__receiver', String(capacity)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    track(child);
    return new Promise((res, rej) => {
      child.once('message', (m: { cmd: string; port?: number; message?: string }) => {
        if (m.cmd === 'ready') res(new Receiver(child, m.port!));
        else rej(new Error(`receiver: ${m.message ?? 'did not start'}`));
      });
      child.once('exit', (code) => rej(new Error(`receiver exited (${code}) before it was ready`)));
    });
  }

  stop(): Promise<ReceiverData> {
    return new Promise((res, rej) => {
      this.child.once('message', (m: { cmd: string; data?: ReceiverData }) => (m.cmd === 'data' ? res(m.data!) : rej(new Error('receiver: unexpected reply'))));
      this.child.once('exit', (code) => rej(new Error(`receiver exited (${code}) without data`)));
      this.child.send({ cmd: 'stop' });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: only processes this script started are ever signalled, by pid.

const started = new Set<ChildProcess>();
function track(c: ChildProcess): void {
  started.add(c);
  c.once('exit', () => started.delete(c));
}
let tempDir: string | undefined;
function cleanup(): void {
  for (const c of started) if (c.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// One measured run

interface RunResult {
  tool: Tool;
  codec: Codec;
  rep: number;
  order: number;
  ok: boolean;
  error?: string;
  user: number;
  sys: number;
  cpu: number;
  elapsed: number;
  /** rtpcast only: CPU of its ffmpeg decoder child (from /proc/<pid>/stat cutime+cstime, sampled) */
  decoderCpu?: number;
  packets: number;
  lost: number;
  outOfOrder: number;
  sizes: string;
  payloadMin: number;
  payloadMax: number;
  payloadMean: number;
  payloadTypes: number[];
  rtcpPackets: number;
  pacing?: PacingResult;
  /** L16: packets whose RTP timestamp step differs from the previous payload's sample count */
  nominalMismatch: number;
}

function readStat(pid: number): ReturnType<typeof parseProcStat> {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function runOne(c: CaseSpec, rep: number, order: number, env: Env): Promise<RunResult> {
  const packetsPerSec = c.codec === 'l16' ? 200 : 50;
  const receiver = await Receiver.start(Math.ceil(env.seconds * packetsPerSec * 1.5) + 100);
  const cmd = commandFor(c, env.input, receiver.port, env.ffmpeg);
  const timeFile = join(env.dir, `time-${order}.txt`);
  const child = spawn(env.time, ['-f', '%U %S %e', '-o', timeFile, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  track(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 4000) stderr += b.toString();
  });
  // Sample the sender's /proc/<pid>/stat: cutime+cstime is what its reaped children (rtpcast's
  // ffmpeg decoder) used; GNU time's total already includes it, this only splits it out.
  let senderPid: number | undefined;
  let childTicks = 0;
  const poll = setInterval(() => {
    if (!child.pid) return;
    senderPid ??= childPids(child.pid)[0];
    if (senderPid === undefined) return;
    const s = readStat(senderPid);
    if (s) childTicks = s.cutime + s.cstime;
  }, 250);
  const code = await new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  clearInterval(poll);
  await sleep(300); // trailing packets in flight
  const data = await receiver.stop();
  const t = existsSync(timeFile) ? parseGnuTime(readFileSync(timeFile, 'utf8')) : undefined;

  const r: RunResult = {
    tool: c.tool,
    codec: c.codec,
    rep,
    order,
    ok: code === 0 && t !== undefined && data.arrivalNs.length > 1,
    user: t?.user ?? NaN,
    sys: t?.sys ?? NaN,
    cpu: t ? t.user + t.sys : NaN,
    elapsed: t?.elapsed ?? NaN,
    decoderCpu: c.tool === 'rtpcast' ? childTicks / env.clkTck : undefined,
    packets: data.arrivalNs.length,
    lost: 0,
    outOfOrder: 0,
    sizes: '',
    payloadMin: NaN,
    payloadMax: NaN,
    payloadMean: NaN,
    payloadTypes: data.payloadTypes,
    rtcpPackets: data.rtcpPackets,
    nominalMismatch: 0,
  };
  if (code !== 0) r.error = `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`;
  else if (!t) r.error = 'no GNU time output';
  else if (data.arrivalNs.length < 2) r.error = 'no packets received';
  if (data.ssrcs.length > 1) r.error = `${data.ssrcs.length} SSRCs seen: another sender on the port?`;
  const sz = describeSizes(data.payloadBytes);
  Object.assign(r, { sizes: sz.text, payloadMin: sz.min, payloadMax: sz.max, payloadMean: sz.mean });
  const sq = sequenceCheck(data.sequences);
  r.lost = sq.lost;
  r.outOfOrder = sq.outOfOrder;
  if (data.arrivalNs.length > 1) {
    const bytesPerTick = 2 * CHANNELS;
    const lastTicks = c.codec === 'l16' ? data.payloadBytes[data.payloadBytes.length - 1] / bytesPerTick : 960;
    r.pacing = analyzePacing(data.arrivalNs, data.timestamps, RATE, lastTicks);
    if (c.codec === 'l16') {
      for (let i = 1; i < data.timestamps.length; i++) {
        if (((data.timestamps[i] - data.timestamps[i - 1]) >>> 0) !== data.payloadBytes[i - 1] / bytesPerTick) r.nominalMismatch++;
      }
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Environment, aggregation, output

interface Env {
  seconds: number;
  reps: number;
  writeDocs: boolean;
  docPath: string;
  dir: string;
  input: string;
  ffmpeg: string;
  time: string;
  clkTck: number;
}

interface Machine {
  date: string;
  nproc: string;
  cpu: string;
  kernel: string;
  node: string;
  ffmpeg: string;
  time: string;
}

function machineInfo(ffmpeg: string, time: string): Machine {
  const out = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  };
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: out('nproc', []) || String(cpus().length),
    cpu,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    ffmpeg: out(ffmpeg, ['-version']).split('\n')[0].replace(/ Copyright.*$/, ''),
    time: out(time, ['--version']).split('\n')[0],
  };
}

function findOnPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const label = (c: { tool: Tool; codec: Codec }) => `${c.tool} ${c.codec === 'l16' ? 'L16' : 'Opus'}`;
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const range = (v: number[]) => (v.length > 1 ? ` (${f2(Math.min(...v))}-${f2(Math.max(...v))})` : '');
const triple = (s: { p50: number; p99: number; max: number } | undefined) => (s ? `${fmtMs(s.p50)} / ${fmtMs(s.p99)} / ${fmtMs(s.max)}` : 'n/a');

interface CaseSummary {
  tool: Tool;
  codec: Codec;
  runs: RunResult[];
  cpu: number;
  cpuAll: number[];
  decoderCpu: number;
  packets: number;
  mediaSec: number;
  sizes: string;
  interval: { p50: number; p99: number; max: number };
  schedule: { p50: number; p99: number; max: number };
  worstMax: { interval: number; schedule: number };
}

function summarize(results: RunResult[], c: CaseSpec): CaseSummary {
  const runs = results.filter((r) => r.tool === c.tool && r.codec === c.codec && r.ok);
  const pick = (f: (r: RunResult) => number) => median(runs.map(f));
  const sizeTexts = [...new Set(runs.map((r) => r.sizes))];
  return {
    ...c,
    runs,
    cpu: pick((r) => r.cpu),
    cpuAll: runs.map((r) => r.cpu),
    decoderCpu: pick((r) => r.decoderCpu ?? NaN),
    packets: pick((r) => r.packets),
    mediaSec: pick((r) => r.pacing?.mediaSec ?? NaN),
    sizes: sizeTexts.length === 1 ? sizeTexts[0] : runs.length ? `${runs[0].sizes} (run 1)` : 'n/a',
    interval: { p50: pick((r) => r.pacing!.interval.p50), p99: pick((r) => r.pacing!.interval.p99), max: pick((r) => r.pacing!.interval.max) },
    schedule: { p50: pick((r) => r.pacing!.schedule.p50), p99: pick((r) => r.pacing!.schedule.p99), max: pick((r) => r.pacing!.schedule.max) },
    worstMax: { interval: Math.max(...runs.map((r) => r.pacing!.interval.max)), schedule: Math.max(...runs.map((r) => r.pacing!.schedule.max)) },
  };
}

interface Report {
  text: string;
  markdown: string;
}

function report(env: Env, m: Machine, results: RunResult[], cases: CaseSpec[], wallSec: number): Report {
  const sums = cases.map((c) => summarize(results, c));
  const get = (tool: Tool, codec: Codec) => sums.find((s) => s.tool === tool && s.codec === codec)!;

  const mainHead = ['sender', 'runs', 'CPU s median (min-max)', 'CPU % of media time', 'packets', 'media s', 'payload sizes', 'interval dev p50 / p99 / max ms', 'schedule dev p50 / p99 / max ms'];
  const mainRows = sums.map((s) => [
    label(s),
    String(s.runs.length),
    `${f2(s.cpu)}${range(s.cpuAll)}`,
    Number.isFinite(s.cpu / s.mediaSec) ? `${((s.cpu / s.mediaSec) * 100).toFixed(2)} %` : 'n/a',
    Number.isFinite(s.packets) ? String(Math.round(s.packets)) : 'n/a',
    f2(s.mediaSec),
    s.sizes,
    triple(s.interval),
    triple(s.schedule),
  ]);

  const ratioHead = ['codec', 'rtpcast CPU s', 'ffmpeg CPU s', 'ratio rtpcast/ffmpeg (medians)', 'paired per-rep ratios', 'goal: ratio <= 1'];
  const ratioRows: string[][] = [];
  const verdicts: string[] = [];
  for (const codec of ['l16', 'opus'] as Codec[]) {
    const a = get('rtpcast', codec);
    const b = get('ffmpeg', codec);
    const ratio = a.cpu / b.cpu;
    const paired: number[] = [];
    for (const ra of a.runs) {
      const rb = b.runs.find((x) => x.rep === ra.rep);
      if (rb) paired.push(ra.cpu / rb.cpu);
    }
    const met = ratio <= 1;
    ratioRows.push([codec === 'l16' ? 'L16' : 'Opus', f2(a.cpu), f2(b.cpu), Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a', paired.map((p) => p.toFixed(2)).join(', ') || 'n/a', Number.isFinite(ratio) ? (met ? 'met' : 'NOT met') : 'n/a']);
    if (Number.isFinite(ratio)) verdicts.push(`- CPU, ${codec === 'l16' ? 'L16' : 'Opus'}: rtpcast uses ${ratio.toFixed(2)}x the CPU time of ffmpeg: goal ${met ? 'met' : `**NOT met** (${ratio.toFixed(1)}x over)`}.`);
  }

  const paceHead = ['sender', 'interval dev p99 ms', 'schedule dev p99 ms', 'worst max interval / schedule ms', 'goal: p99 < 1 ms (interval, schedule)'];
  const paceRows = sums.map((s) => {
    const mi = s.interval.p99 < 1;
    const ms = s.schedule.p99 < 1;
    return [label(s), fmtMs(s.interval.p99), fmtMs(s.schedule.p99), `${fmtMs(s.worstMax.interval)} / ${fmtMs(s.worstMax.schedule)}`, `${mi ? 'met' : 'NOT met'}, ${ms ? 'met' : 'NOT met'}`];
  });
  for (const s of sums.filter((x) => x.tool === 'rtpcast')) {
    const mi = s.interval.p99 < 1;
    const ms = s.schedule.p99 < 1;
    verdicts.push(`- Pacing, ${label(s)}: p99 interval deviation ${fmtMs(s.interval.p99)} ms, p99 schedule deviation ${fmtMs(s.schedule.p99)} ms: goal (< 1 ms) ${mi && ms ? 'met' : mi || ms ? `**met only for the ${mi ? 'interval' : 'schedule'} measure**` : '**NOT met**'}.`);
  }

  const rtpcastRuns = sums.filter((s) => s.tool === 'rtpcast');
  const breakdown = rtpcastRuns
    .map((s) => `${label(s)}: ${f2(s.cpu)} s in total, of which the ffmpeg decoder child ${f2(s.decoderCpu)} s and the Node process ${f2(s.cpu - s.decoderCpu)} s`)
    .join('; ');

  const runHead = ['#', 'rep', 'sender', 'ok', 'user s', 'sys s', 'CPU s', 'elapsed s', 'packets', 'lost', 'payload sizes', 'PT', 'RTCP', 'interval p50/p99/max ms', 'schedule p50/p99/max ms', 'slope ppm'];
  const runRows = [...results]
    .sort((a, b) => a.order - b.order)
    .map((r) => [
      String(r.order),
      String(r.rep + 1),
      label(r),
      r.ok ? 'yes' : `NO: ${(r.error ?? '').slice(0, 80)}`,
      f2(r.user),
      f2(r.sys),
      f2(r.cpu),
      f2(r.elapsed),
      String(r.packets),
      String(r.lost),
      r.sizes,
      r.payloadTypes.join(','),
      String(r.rtcpPackets),
      triple(r.pacing?.interval),
      triple(r.pacing?.schedule),
      r.pacing ? r.pacing.slopePpm.toFixed(1) : 'n/a',
    ]);
  const mismatches = results.reduce((s, r) => s + r.nominalMismatch, 0);

  const cmds = cases.map((c) => `# ${label(c)}\n${commandFor(c, 'in.wav', 'PORT' as unknown as number, 'ffmpeg').map((a, i) => (i === 0 && a === process.execPath ? 'node' : a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a)).map(shellQuote).join(' ')}`).join('\n');

  const text = [
    `bench-send: ${env.seconds} s input, ${env.reps} repetition(s), ${m.nproc} CPUs (${m.cpu}), node ${m.node}, ${m.ffmpeg}; ${(wallSec / 60).toFixed(1)} min`,
    '',
    textTable(mainHead, mainRows),
    '',
    textTable(ratioHead, ratioRows),
    '',
    textTable(paceHead, paceRows),
    '',
    verdicts.join('\n'),
    '',
    `rtpcast CPU split (medians): ${breakdown}`,
    '',
    textTable(runHead, runRows),
  ].join('\n');

  const md = [
    `Last run: **${m.date}**, ${env.seconds} s input, ${env.reps} repetition(s) of each case (interleaved), ${(wallSec / 60).toFixed(1)} minutes.`,
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}; ${m.kernel}; Node ${m.node}; ${m.ffmpeg}; ${m.time}. A shared, noisy machine: compare the tools within this run, not across runs.`,
    '',
    '### Results (medians over the repetitions)',
    '',
    markdownTable(mainHead, mainRows),
    '',
    '### CPU: rtpcast / ffmpeg',
    '',
    markdownTable(ratioHead, ratioRows),
    '',
    `rtpcast's CPU includes its ffmpeg decoder child. Split (medians): ${breakdown}.`,
    '',
    '### Pacing goal',
    '',
    markdownTable(paceHead, paceRows),
    '',
    '### Goals',
    '',
    verdicts.join('\n'),
    '',
    '### Commands (PORT: a free even port; the receiver also binds PORT+1 and ignores RTCP there)',
    '',
    '```sh',
    cmds,
    '```',
    '',
    '### Every run (in the order they ran)',
    '',
    markdownTable(runHead, runRows),
    '',
    `L16 packets whose RTP timestamp step differs from the previous payload's sample count: ${mismatches} (0 means the timestamp-based nominal interval equals the payload-size-based one).`,
  ].join('\n');
  return { text, markdown: md };
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

const INTRO = `# Benchmarks

## \`rtpcast send\` against \`ffmpeg -re ... -f rtp\`

What is measured, for the same 48 kHz stereo WAV (a 440/660 Hz tone per channel plus noise),
sent to a receiver on 127.0.0.1 by each tool in turn:

- **CPU time** (user + system) of the whole sender process tree, from GNU time
  (\`/usr/bin/time -f '%U %S %e'\`). For rtpcast this includes the ffmpeg child it spawns to decode
  the file. Reported per case as the median over the repetitions, and as the ratio rtpcast / ffmpeg.
- **Pacing**, from the arrival time of every RTP packet at a separate receiver process
  (\`process.hrtime.bigint()\` when Node delivers the datagram, so the receiver's own wake-up latency
  is included in both tools' numbers):
  - *interval deviation*: |arrival(i) - arrival(i-1) - nominal(i)| per packet, where nominal is the
    RTP timestamp step (for L16 equal to the previous payload's duration, 5 ms; 20 ms for Opus);
  - *schedule deviation*: |arrival(i) - (t0 + k * media time(i))| after fitting t0 and k by least
    squares: how far each packet is from an ideal evenly paced schedule (bursts show up here too).
- Packet sizes and counts as received (both tools should send the whole input).

L16 uses 5 ms packets (960-byte payloads) for both tools: rtpcast's default, and for ffmpeg
\`-af asetnsamples=n=240\` with \`pkt_size=972\` (RTP header + 960). Opus is 128 kb/s, 20 ms frames,
with in-band FEC for both (rtpcast's default; \`-fec:a 1 -packet_loss:a 5\` for ffmpeg).

The four cases run interleaved (rtpcast L16, ffmpeg L16, rtpcast Opus, ffmpeg Opus, then the next
repetition in swapped order), so slow phases of a shared machine hit both tools.

Goals: rtpcast's CPU time at most ffmpeg's; rtpcast's p99 pacing deviation under 1 ms.

How to run:

\`\`\`sh
npm run bench                                   # 60 s input, 3 repetitions: about 13 minutes
npx tsc -p . && node dist/scripts/bench-send.js --seconds 10 --reps 1 --no-docs   # a quick look
\`\`\`

Needs ffmpeg (with libopus) and GNU time (Debian/Ubuntu: \`sudo apt install time\`).
The section below is rewritten by the script on every full run.

${START}
${END}
`;

// ---------------------------------------------------------------------------------------------

function parseArgs(argv: string[]): { seconds: number; reps: number; writeDocs: boolean; docPath: string } {
  const o = { seconds: 60, reps: 3, writeDocs: true, docPath: DOC };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (min: number, max: number) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < min || v > max) usage(`${a} needs a number from ${min} to ${max}`);
      return v;
    };
    if (a === '--seconds') o.seconds = num(2, 3600);
    else if (a === '--reps') o.reps = Math.round(num(1, 100));
    else if (a === '--no-docs') o.writeDocs = false;
    else if (a === '--docs') o.docPath = resolve(argv[++i] ?? usage('--docs needs a path'));
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

function usage(err?: string): never {
  const text = `usage: node dist/scripts/bench-send.js [--seconds N] [--reps N] [--no-docs] [--docs FILE]
  --seconds N   length of the generated input (default 60)
  --reps N      repetitions of each of the 4 cases, interleaved (default 3)
  --no-docs     print the table only; do not rewrite docs/BENCHMARKS.md
  --docs FILE   rewrite this file's bench-send section instead of docs/BENCHMARKS.md`;
  if (err) {
    process.stderr.write(`bench-send: ${err}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const ffmpeg = findOnPath('ffmpeg');
  if (!time || !/GNU/.test(spawnSync(time, ['--version'], { encoding: 'utf8' }).stderr + spawnSync(time, ['--version'], { encoding: 'utf8' }).stdout)) {
    throw new Error('GNU time (/usr/bin/time) is needed to measure the CPU of a process tree: install it (Debian/Ubuntu: sudo apt install time)');
  }
  if (!ffmpeg) throw new Error('ffmpeg is not on PATH (Debian/Ubuntu: sudo apt install ffmpeg)');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  const clk = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

  tempDir = mkdtempSync(join(tmpdir(), 'rtpcast-bench-'));
  const input = join(tempDir, 'in.wav');
  writeFileSync(input, encodeWavS16(testSignal(args.seconds, RATE), RATE, CHANNELS));
  const env: Env = { ...args, dir: tempDir, input, ffmpeg, time, clkTck: clk };
  const machine = machineInfo(ffmpeg, time);

  const cases: CaseSpec[] = [
    { tool: 'rtpcast', codec: 'l16' },
    { tool: 'ffmpeg', codec: 'l16' },
    { tool: 'rtpcast', codec: 'opus' },
    { tool: 'ffmpeg', codec: 'opus' },
  ];
  const total = cases.length * env.reps;
  process.stderr.write(`bench-send: ${total} runs of ${env.seconds} s (about ${Math.ceil((total * (env.seconds + 2)) / 60)} min); input ${input}\n`);
  const t0 = Date.now();
  const results: RunResult[] = [];
  let order = 0;
  for (let rep = 0; rep < env.reps; rep++) {
    // A B A B, and the next repetition B A B A: neither tool always runs first.
    const seq = rep % 2 === 0 ? cases : [cases[1], cases[0], cases[3], cases[2]];
    for (const c of seq) {
      order++;
      const r = await runOne(c, rep, order, env);
      results.push(r);
      const p = r.pacing;
      process.stderr.write(
        `  [${order}/${total}] rep ${rep + 1} ${label(c).padEnd(12)} ${r.ok ? '' : `FAILED (${r.error}) `}CPU ${f2(r.cpu)} s, ${r.packets} packets (${r.sizes}), interval p50/p99/max ${triple(p?.interval)} ms, schedule ${triple(p?.schedule)} ms\n`,
      );
      await sleep(1000);
    }
  }
  const rep = report(env, machine, results, cases, (Date.now() - t0) / 1000);
  process.stdout.write(`${rep.text}\n`);
  if (env.writeDocs) {
    mkdirSync(dirname(env.docPath), { recursive: true });
    const doc = existsSync(env.docPath) ? readFileSync(env.docPath, 'utf8') : INTRO;
    writeFileAtomic(env.docPath, replaceSection(doc, START, END, rep.markdown));
    process.stderr.write(`bench-send: wrote ${env.docPath}\n`);
  }
}

if (process.argv[2] === '__receiver') {
  receiverMain(Number(process.argv[3]) || 20000);
} else {
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main().then(
    () => cleanup(),
    (e: Error) => {
      cleanup();
      process.stderr.write(`bench-send: ${e.message}\n`);
      process.exit(1);
    },
  );
}

/**
 * Benchmark: CPU and added latency of each capture path of `rtpcast send` (system sound, one
 * application, a PortAudio device) against `parec | ffmpeg -f rtp` doing the same job, in a
 * private headless PulseAudio daemon, interleaved, several repetitions; medians and ratios.
 *
 *   node dist/scripts/bench-capture.js [--seconds N] [--reps N] [--no-docs] [--docs FILE]
 *
 * Setup: a private PulseAudio daemon (test/support/pulse.ts) with one null sink `speakers`
 * (48 kHz stereo). The "application" is a PulseAudio client named `clicker` (python3 + ctypes on
 * libpulse-simple, 10 ms target latency like `pacat --latency-msec=10`) playing a click train
 * (silence, an 8-sample pulse every 500 ms, each pulse's polarity from a seeded PRNG) with
 * blocking writes, so the server paces it; it records CLOCK_MONOTONIC right after each click's
 * write returns, and the stream's playback latency at that moment.
 *
 * Each sender sends RTP to a receiver process (a Node child of this script) on 127.0.0.1, which
 * stamps each packet with process.hrtime.bigint() (CLOCK_MONOTONIC, the application's clock too)
 * and dumps the packets. Afterwards the payloads are decoded (L16 directly, Opus with the project's
 * OpusWasmDecoder), click onsets found, and matched to the written clicks by their polarity pattern.
 * Latency = arrival of the packet carrying the onset + the onset's offset in the packet's audio -
 * the click's write time. Every path sees the same PulseAudio buffering, so the difference between
 * a path and the peer is what the tool adds.
 *
 * CPU: each sender runs under GNU time (`/usr/bin/time -f '%U %S %e'`), which reports the whole
 * waited-for process tree (rtpcast's parec, pactl and PortAudio worker children). The tree is also
 * sampled from /proc every 250 ms: to check that the children are in GNU time's total, and to add
 * processes GNU time cannot see (rtpcast's detached restore watchdog for app capture, which outlives
 * rtpcast by a moment and is reaped by init). The peer is two processes, each under GNU time; their
 * CPU is summed.
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write';
import { OpusWasmDecoder } from '../src/codec/opus-wasm';
import { PulseDaemon } from '../test/support/pulse';
import { analyzePacing, fmtMs, markdownTable, median, parseGnuTime, parseRtpHeader, replaceSection, sequenceCheck, textTable, type PacingResult } from './bench-lib';
import {
  CLICK_TRAIN,
  ClickDetector,
  TreeLedger,
  clickPolarities,
  decodeDump,
  decodeL16,
  encodeDumpRecord,
  rtpPayload,
  latencyStats,
  matchClicks,
  pairedDiffs,
  parseStatLine,
  type LatencyStats,
  type WrittenClick,
} from './bench-capture-lib';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DOC = join(ROOT, 'docs', 'BENCHMARKS.md');
const START = '<!-- bench-capture:start -->';
const END = '<!-- bench-capture:end -->';
const RATE = 48000;
const CHANNELS = 2;
const PT = 96;
const SINK = 'speakers';
const APP = 'clicker';

type Codec = 'l16' | 'opus';
type Path = 'system' | 'app' | 'portaudio' | 'peer';

interface CaseSpec {
  path: Path;
  codec: Codec;
}

const PATH_LABEL: Record<Path, string> = { system: 'rtpcast system', app: `rtpcast app:${APP}`, portaudio: 'rtpcast PortAudio', peer: 'parec | ffmpeg' };
const label = (c: CaseSpec) => `${PATH_LABEL[c.path]} ${c.codec === 'l16' ? 'L16' : 'Opus'}`;

/** The programs of one case as argument arrays (the peer: two, connected stdout -> stdin). */
function commandsFor(c: CaseSpec, port: number | string, seconds: number, paDevice: string, ffmpeg: string, parec: string): string[][] {
  const dest = `127.0.0.1:${port}`;
  if (c.path !== 'peer') {
    const source = c.path === 'system' ? 'system' : c.path === 'app' ? `app:${APP}` : `device:${paDevice}`;
    const codec = c.codec === 'l16' ? ['--codec', 'l16', '--rate', String(RATE)] : ['--codec', 'opus'];
    return [[process.execPath, CLI, 'send', '--source', source, ...codec, '--dest', dest, '--duration', String(seconds), '--json']];
  }
  const rec = [parec, '-d', `${SINK}.monitor`, '--format=s16le', `--rate=${RATE}`, `--channels=${CHANNELS}`];
  const input = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', '-f', 's16le', '-ar', String(RATE), '-ac', String(CHANNELS), '-i', '-'];
  const enc =
    c.codec === 'l16'
      ? // 5 ms packets (960-byte payloads) like rtpcast's L16, as in bench-send
        ['-af', 'asetnsamples=n=240', '-acodec', 'pcm_s16be', '-payload_type', String(PT), '-t', String(seconds), '-f', 'rtp', `rtp://${dest}?pkt_size=972`]
      : ['-c:a', 'libopus', '-b:a', '128k', '-frame_duration', '20', '-application', 'audio', '-fec:a', '1', '-packet_loss:a', '5', '-payload_type', String(PT), '-t', String(seconds), '-f', 'rtp', `rtp://${dest}`];
  return [rec, [...input, ...enc]];
}

// ---------------------------------------------------------------------------------------------
// Receiver: `bench-capture.js __receiver DUMP` (forked; IPC)

function receiverMain(dumpPath: string): void {
  const records: Buffer[] = [];
  let rtcp = 0;
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
    ([rtp, ctl, port]) => {
      rtp.on('message', (msg: Buffer) => records.push(encodeDumpRecord(Number(process.hrtime.bigint()), msg)));
      ctl.on('message', () => rtcp++);
      process.on('message', (m: { cmd?: string }) => {
        if (m.cmd !== 'stop') return;
        rtp.removeAllListeners('message');
        writeFileSync(dumpPath, Buffer.concat(records));
        rtp.close();
        ctl.close();
        process.send!({ cmd: 'done', packets: records.length, rtcp }, () => process.disconnect());
      });
      process.send!({ cmd: 'ready', port });
    },
    (e: Error) => process.send!({ cmd: 'error', message: e.message }, () => process.exit(1)),
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

interface Receiver {
  port: number;
  stop(): Promise<{ packets: number; rtcp: number }>;
}

function startReceiver(dumpPath: string): Promise<Receiver> {
  const child = fork(__filename, ['__receiver', dumpPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  track(child);
  return new Promise((res, rej) => {
    child.once('message', (m: { cmd: string; port?: number; message?: string }) => {
      if (m.cmd !== 'ready') return rej(new Error(`receiver: ${m.message ?? 'did not start'}`));
      res({
        port: m.port!,
        stop: () =>
          new Promise((res2, rej2) => {
            child.once('message', (r: { cmd: string; packets: number; rtcp: number }) => (r.cmd === 'done' ? res2(r) : rej2(new Error('receiver: unexpected reply'))));
            child.once('exit', (code) => rej2(new Error(`receiver exited (${code}) without data`)));
            child.send({ cmd: 'stop' });
          }),
      });
    });
    child.once('exit', (code) => rej(new Error(`receiver exited (${code}) before it was ready`)));
  });
}

// ---------------------------------------------------------------------------------------------
// The application (python3 with ctypes on libpulse-simple, started with the daemon's env)

/**
 * A PulseAudio client named like an application ("clicker"), playing the click train with
 * blocking writes (pa_simple_write) into a stream with a 10 ms target latency (tlength, as
 * `pacat --latency-msec=10` asks for). The server paces it: each 5 ms chunk is accepted when there
 * is room, so nothing queues up ahead of PulseAudio (a pipe or socket into pacat would hold an
 * arbitrary backlog left over from start-up: 0.3-2 s, different every run). After each click's
 * chunk it records CLOCK_MONOTONIC and the stream's playback latency (pa_simple_get_latency:
 * until the last written sample is played). Prints READY, plays until a line on stdin, then
 * prints {clicks: [[k, ns, latencyUs, polarity]...], chunks} and exits.
 * argv: polarities ("+-..."), client name, sink, latency ms, rate, period frames, width, amplitude.
 */
const PY_CLICKER = String.raw`
import ctypes, json, os, select, struct, sys, time
pol, name, sink = sys.argv[1], sys.argv[2], sys.argv[3]
lat_ms, rate, period, width, amp = float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
CH, CHUNK = 2, rate // 200
lib = ctypes.CDLL('libpulse-simple.so.0')
class SS(ctypes.Structure):
    _fields_ = [('format', ctypes.c_int), ('rate', ctypes.c_uint32), ('channels', ctypes.c_uint8)]
class BA(ctypes.Structure):
    _fields_ = [('maxlength', ctypes.c_uint32), ('tlength', ctypes.c_uint32), ('prebuf', ctypes.c_uint32), ('minreq', ctypes.c_uint32), ('fragsize', ctypes.c_uint32)]
E = ctypes.POINTER(ctypes.c_int)
lib.pa_simple_new.restype = ctypes.c_void_p
lib.pa_simple_new.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(SS), ctypes.c_void_p, ctypes.POINTER(BA), E]
lib.pa_simple_write.restype = ctypes.c_int
lib.pa_simple_write.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, E]
lib.pa_simple_get_latency.restype = ctypes.c_uint64
lib.pa_simple_get_latency.argtypes = [ctypes.c_void_p, E]
lib.pa_simple_free.argtypes = [ctypes.c_void_p]
err = ctypes.c_int(0)
U = 0xffffffff
ss = SS(3, rate, CH)  # PA_SAMPLE_S16LE
ba = BA(U, int(lat_ms * rate / 1000) * CH * 2, U, U, U)
s = lib.pa_simple_new(None, name.encode(), 1, sink.encode(), b'click train', ctypes.byref(ss), None, ctypes.byref(ba), ctypes.byref(err))
if not s:
    sys.exit('pa_simple_new failed (error %d)' % err.value)
silence = bytes(CHUNK * CH * 2)
def click(p):
    return struct.pack('<hh', amp * p, amp * p) * width + bytes((CHUNK - width) * CH * 2)
pulses = {1: click(1), -1: click(-1)}
every = period // CHUNK
print('READY', flush=True)
clicks = []
n = 0
stdin = sys.stdin.fileno()
while True:
    if n % 20 == 0 and select.select([stdin], [], [], 0)[0]:
        break
    if n % every == 0:
        k = n // every
        p = 1 if pol[k % len(pol)] == '+' else -1
        if lib.pa_simple_write(s, pulses[p], len(pulses[p]), ctypes.byref(err)) < 0:
            sys.exit('pa_simple_write failed (error %d)' % err.value)
        t = time.monotonic_ns()
        lat = lib.pa_simple_get_latency(s, ctypes.byref(err))
        clicks.append([k, t, lat, p])
    elif lib.pa_simple_write(s, silence, len(silence), ctypes.byref(err)) < 0:
        sys.exit('pa_simple_write failed (error %d)' % err.value)
    n += 1
sys.stdout.write(json.dumps({'clicks': clicks, 'chunks': n}) + '\n')
sys.stdout.flush()
lib.pa_simple_free(s)
`;

interface ClickerReport {
  clicks: WrittenClick[];
  chunks: number;
  /** the stream's playback latency at the clicks, ms (median, max) */
  playLatencyP50: number;
  playLatencyMax: number;
}

interface Clicker {
  stop(): Promise<ClickerReport>;
  failed(): string | undefined;
}

const CHUNK_NS = 5e6; // the clicker's chunks: 5 ms

function startClicker(env: NodeJS.ProcessEnv, python: string, seconds: number): Promise<Clicker> {
  const pol = clickPolarities(Math.ceil(((seconds + 120) * CLICK_TRAIN.rate) / CLICK_TRAIN.periodFrames), CLICK_TRAIN.seed);
  const polText = Array.from(pol, (p) => (p > 0 ? '+' : '-')).join('');
  const s = CLICK_TRAIN;
  const child = spawn(python, ['-c', PY_CLICKER, polText, APP, SINK, '10', String(s.rate), String(s.periodFrames), String(s.widthFrames), String(s.amplitude)], { stdio: ['pipe', 'pipe', 'pipe'], env });
  track(child);
  let out = '';
  let err = '';
  let failure: string | undefined;
  let stopping = false;
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  void exited.then((code) => {
    if (!stopping) failure = `the clicker exited (${code}) while playing: ${err.trim()}`;
  });
  return new Promise((res, rej) => {
    const onData = () => {
      if (!out.startsWith('READY\n')) return;
      child.stdout!.off('data', onData);
      out = out.slice(6);
      res({
        failed: () => failure,
        stop: async () => {
          stopping = true;
          child.stdin!.end('stop\n');
          const code = await exited;
          if (code !== 0) throw new Error(`the clicker failed (${code}): ${err.trim().slice(-300)}`);
          const r = JSON.parse(out) as { clicks: [number, number, number, number][]; chunks: number };
          const clicks: WrittenClick[] = r.clicks.map(([k, ns, latUs, p]) => ({ k, ns, playNs: ns + latUs * 1000 - CHUNK_NS, polarity: p }));
          const lats = r.clicks.map((c) => c[2] / 1000);
          return { clicks, chunks: r.chunks, playLatencyP50: median(lats), playLatencyMax: lats.length ? Math.max(...lats) : NaN };
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => rej(new Error(`the clicker exited (${code}) before it was ready: ${err.trim().slice(-300)}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: only processes this script started are ever signalled, by pid.

const started = new Set<ChildProcess>();
function track(c: ChildProcess): void {
  started.add(c);
  c.once('exit', () => started.delete(c));
}
let tempDir: string | undefined;
let daemon: PulseDaemon | undefined;
async function cleanup(): Promise<void> {
  for (const c of started) if (c.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await daemon?.stop().catch(() => undefined);
  daemon = undefined;
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  tempDir = undefined;
}

// ---------------------------------------------------------------------------------------------
// /proc sampling of the sender's process tree

function readStat(pid: number): ReturnType<typeof parseStatLine> {
  try {
    return parseStatLine(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Samples every descendant of `roots` (the GNU time processes, not themselves counted). */
class TreeSampler {
  readonly ledger = new TreeLedger();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly roots: number[]) {}

  start(ms = 250): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), ms);
  }

  private poll(): void {
    const queue = this.roots.flatMap((r) => childrenOf(r));
    const seen = new Set<number>();
    while (queue.length) {
      const pid = queue.shift()!;
      if (seen.has(pid)) continue;
      seen.add(pid);
      const s = readStat(pid);
      if (!s) continue;
      this.ledger.update(s);
      queue.push(...childrenOf(pid));
    }
  }

  /**
   * After the roots exited: anything of the tree still running now was not reaped inside it (its
   * parent is gone), so GNU time cannot have counted it. Follow those until they end (at most
   * `maxMs`), keeping their last sampled CPU.
   */
  async finish(maxMs = 5000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const live = () => [...this.ledger.procs.values()].filter((p) => !p.exited);
    for (const p of live()) {
      const s = readStat(p.pid);
      if (s && s.start === p.start) {
        p.orphan = true;
        p.ticks = Math.max(p.ticks, s.ticks);
      } else p.exited = true;
    }
    const until = Date.now() + maxMs;
    while (live().length && Date.now() < until) {
      await sleep(50);
      for (const p of live()) {
        const s = readStat(p.pid);
        if (s && s.start === p.start && s.state !== 'Z') p.ticks = Math.max(p.ticks, s.ticks);
        else {
          if (s && s.start === p.start) p.ticks = Math.max(p.ticks, s.ticks);
          p.exited = true;
        }
      }
    }
  }
}

/** Busy and total jiffies of all CPUs (/proc/stat "cpu" line). */
function cpuTotals(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - f[3] - f[4], total };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// One measured run

interface RunResult {
  path: Path;
  codec: Codec;
  rep: number;
  order: number;
  ok: boolean;
  error?: string;
  /** GNU time, summed over the timed processes */
  user: number;
  sys: number;
  gnuCpu: number;
  /** CPU of processes GNU time could not see (sampled from /proc: a lower bound) */
  orphanCpu: number;
  orphanNames: string;
  /** gnuCpu + orphanCpu */
  cpu: number;
  /** the longest elapsed of the timed processes */
  elapsed: number;
  /** /proc samples (last seen, so each a slight under-estimate): the main process, the helpers */
  sampledMain: number;
  sampledHelpers: string;
  sampledHelpersSec: number;
  /** did GNU time's total contain the sampled children? (total >= sampled main + helpers - 2 ticks) */
  childrenIncluded: boolean;
  machineBusy: number;
  packets: number;
  lost: number;
  rtcp: number;
  pacing?: PacingResult;
  clicksWritten: number;
  clicksDetected: number;
  clicksUsed: number;
  agreement: number;
  peakMedian: number;
  latency: LatencyStats;
  /** every counted click's latency, ms */
  latencies: number[];
  /** median latency of the last 10 s of clicks - of the first 10 s after the warm-up, ms */
  trendMs: number;
  /** latency from the click's estimated play time (write time + the stream's playback latency) */
  capture: LatencyStats;
  /** the application stream's playback latency at the clicks, ms (median / max) */
  playLatencyP50: number;
  playLatencyMax: number;
  /** rtpcast --json: last status */
  status?: { underruns: number; resyncs: number; bufferedMs: number; bufferedMin: number; bufferedMax: number; clockPpm: number; warnings: string[] };
}

interface Env {
  verbose: boolean;
  seconds: number;
  reps: number;
  warmupSec: number;
  dir: string;
  pulseEnv: NodeJS.ProcessEnv;
  ffmpeg: string;
  parec: string;
  python: string;
  time: string;
  clkTck: number;
  paDevice: string;
}

function timed(env: Env, argv: string[], timeFile: string, stdin: 'ignore' | NodeJS.ReadableStream, stdout: 'pipe' | 'ignore'): ChildProcess {
  const child = spawn(env.time, ['-f', '%U %S %e', '-o', timeFile, ...argv], { stdio: [stdin as 'ignore', stdout, 'pipe'], env: env.pulseEnv });
  track(child);
  return child;
}

async function runOne(c: CaseSpec, rep: number, order: number, env: Env): Promise<RunResult> {
  const dump = join(env.dir, `dump-${order}.bin`);
  // a fresh application for every run: the same start conditions for every path
  const clicker = await startClicker(env.pulseEnv, env.python, env.seconds);
  const until = Date.now() + 5000;
  while (!daemon!.sinkOf(APP) && Date.now() < until) await sleep(50);
  if (!daemon!.sinkOf(APP)) throw new Error('the clicker did not show up as a playing stream');
  await sleep(1000);
  const receiver = await startReceiver(dump);
  const cmds = commandsFor(c, receiver.port, env.seconds, env.paDevice, env.ffmpeg, env.parec);
  const timeFiles = cmds.map((_, i) => join(env.dir, `time-${order}-${i}.txt`));
  const load0 = cpuTotals();
  const procs: ChildProcess[] = [];
  let stdout = '';
  let stderr = '';
  if (cmds.length === 1) {
    const p = timed(env, cmds[0], timeFiles[0], 'ignore', 'pipe');
    p.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    procs.push(p);
  } else {
    // parec | ffmpeg: parec's stdout pipe becomes ffmpeg's stdin (a kernel pipe between the two;
    // this process closes its own copy and never reads it)
    const rec = timed(env, cmds[0], timeFiles[0], 'ignore', 'pipe');
    const ff = timed(env, cmds[1], timeFiles[1], rec.stdout!, 'ignore');
    (rec.stdout as unknown as { destroy(): void }).destroy();
    procs.push(rec, ff);
  }
  for (const p of procs) p.stderr!.on('data', (b: Buffer) => stderr.length < 8000 && (stderr += b.toString()));
  const sampler = new TreeSampler(procs.map((p) => p.pid!));
  sampler.start();
  const exits = procs.map((p) => new Promise<number | null>((r) => p.once('exit', (code) => r(code))));
  const guard = setTimeout(() => {
    for (const pr of sampler.ledger.procs.values()) if (!pr.exited) try { process.kill(pr.pid, 'SIGTERM'); } catch { /* gone */ }
  }, (env.seconds + 40) * 1000);
  const codes = await Promise.all(exits);
  clearTimeout(guard);
  const load1 = cpuTotals();
  await sampler.finish();
  await sleep(300);
  const rx = await receiver.stop();
  const clickerFailure = clicker.failed();
  const clicks = await clicker.stop();

  const times = timeFiles.map((f) => (existsSync(f) ? parseGnuTime(readFileSync(f, 'utf8')) : undefined));
  const gnuOk = times.every((t) => t !== undefined);
  const user = times.reduce((s, t) => s + (t?.user ?? NaN), 0);
  const sys = times.reduce((s, t) => s + (t?.sys ?? NaN), 0);
  const elapsed = Math.max(...times.map((t) => t?.elapsed ?? NaN));
  const L = sampler.ledger;
  const tick = env.clkTck;
  const topPids = new Set(procs.map((p) => p.pid!));
  const isMain = (p: { ppid: number }) => topPids.has(p.ppid);
  const orphanCpu = L.sum((p) => p.orphan) / tick;
  const orphanNames = [...new Set([...L.procs.values()].filter((p) => p.orphan).map((p) => p.comm))].join(', ');
  const sampledMain = L.sum((p) => isMain(p) && !p.orphan) / tick;
  const helpers = new Map<string, number>();
  for (const p of L.procs.values()) if (!isMain(p) && !p.orphan) helpers.set(p.comm, (helpers.get(p.comm) ?? 0) + p.ticks / tick);
  const sampledHelpersSec = [...helpers.values()].reduce((a, b) => a + b, 0);
  const gnuCpu = user + sys;

  const r: RunResult = {
    path: c.path,
    codec: c.codec,
    rep,
    order,
    ok: false,
    user,
    sys,
    gnuCpu,
    orphanCpu,
    orphanNames,
    cpu: gnuCpu + orphanCpu,
    elapsed,
    sampledMain,
    sampledHelpers: [...helpers].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'none',
    sampledHelpersSec,
    childrenIncluded: gnuCpu >= sampledMain + sampledHelpersSec - (2 * procs.length) / tick,
    machineBusy: load0 && load1 && load1.total > load0.total ? (load1.busy - load0.busy) / (load1.total - load0.total) : NaN,
    packets: 0,
    lost: 0,
    rtcp: rx.rtcp,
    clicksWritten: clicks.clicks.length,
    clicksDetected: 0,
    clicksUsed: 0,
    agreement: NaN,
    peakMedian: NaN,
    latency: latencyStats([]),
    latencies: [],
    trendMs: NaN,
    capture: latencyStats([]),
    playLatencyP50: clicks.playLatencyP50,
    playLatencyMax: clicks.playLatencyMax,
  };

  // rtpcast's own account (--json)
  if (c.path !== 'peer') {
    const events = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return {};
        }
      });
    const st = events.filter((e) => e.event === 'status' || e.event === 'stop');
    const last = st[st.length - 1];
    const buf = st.slice(1).map((e) => Number(e.bufferedMs)).filter(Number.isFinite);
    if (last) {
      r.status = {
        underruns: Number(last.underruns),
        resyncs: Number(last.resyncs),
        bufferedMs: Number(last.bufferedMs),
        bufferedMin: buf.length ? Math.min(...buf) : NaN,
        bufferedMax: buf.length ? Math.max(...buf) : NaN,
        clockPpm: Number(last.clockPpm),
        warnings: events.filter((e) => e.event === 'warning').map((e) => String(e.message)),
      };
    }
  }

  // packets, clicks, latency
  const arrival: number[] = [];
  const ts: number[] = [];
  const seq: number[] = [];
  const detector = new ClickDetector(RATE, CHANNELS);
  const decoder = c.codec === 'opus' ? new OpusWasmDecoder(CHANNELS) : undefined;
  let lastTicks = 0;
  let decodeErrors = 0;
  for (const { arrivalNs, packet } of decodeDump(existsSync(dump) ? readFileSync(dump) : Buffer.alloc(0))) {
    const h = parseRtpHeader(packet);
    if (!h || h.payloadType !== PT) continue;
    const payload = rtpPayload(packet);
    if (!payload) continue;
    arrival.push(arrivalNs);
    ts.push(h.timestamp);
    seq.push(h.sequence);
    let pcm: Float32Array;
    try {
      pcm = decoder ? decoder.decode(payload) : decodeL16(payload);
    } catch {
      decodeErrors++;
      continue;
    }
    lastTicks = pcm.length / CHANNELS;
    detector.push(pcm, arrivalNs);
  }
  decoder?.close();
  r.packets = arrival.length;
  r.lost = sequenceCheck(seq).lost;
  // pacing after the warm-up (the peer sends what parec buffered before ffmpeg started as a burst)
  const from = arrival.findIndex((a) => a >= arrival[0] + env.warmupSec * 1e9);
  if (from >= 0 && arrival.length - from > 1) r.pacing = analyzePacing(arrival.slice(from).map((a) => a - arrival[from]), ts.slice(from), RATE, lastTicks);
  const det = detector.end();
  r.clicksDetected = det.length;
  const m = matchClicks(clicks.clicks, det, CLICK_TRAIN.periodFrames);
  r.agreement = m.agreement;
  const t0 = arrival[0] ?? 0;
  const used = det
    .map((d, i) => ({ ns: d.ns, lat: m.latencyMs[i], cap: m.writtenIndex[i] >= 0 ? (d.ns - clicks.clicks[m.writtenIndex[i]].playNs) / 1e6 : NaN, peak: d.peak }))
    .filter((x) => x.ns >= t0 + env.warmupSec * 1e9 && Number.isFinite(x.lat));
  if (env.verbose) {
    for (let i = 0; i < det.length; i++) {
      const wi = m.writtenIndex[i];
      process.stderr.write(`    click ${i}: t+${((det[i].ns - t0) / 1e6).toFixed(1)} ms pos ${det[i].pos} offset ${det[i].offsetFrames} pol ${det[i].polarity} peak ${det[i].peak.toFixed(2)} -> written #${wi} (k ${clicks.clicks[wi]?.k} pol ${clicks.clicks[wi]?.polarity}) latency ${fmtMs(m.latencyMs[i])} ms\n`);
    }
  }
  r.clicksUsed = used.length;
  r.latencies = used.map((x) => x.lat);
  r.latency = latencyStats(r.latencies);
  r.capture = latencyStats(used.map((x) => x.cap));
  r.peakMedian = median(used.map((x) => x.peak));
  if (used.length >= 4) {
    const first = used.filter((x) => x.ns < used[0].ns + 10e9).map((x) => x.lat);
    const last = used.filter((x) => x.ns > used[used.length - 1].ns - 10e9).map((x) => x.lat);
    r.trendMs = median(last) - median(first);
  }

  const problems: string[] = [];
  if (codes.some((x) => x !== 0) && !(c.path === 'peer' && codes[1] === 0)) problems.push(`exit ${codes.join('/')}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
  if (!gnuOk) problems.push('no GNU time output');
  if (r.packets < 2) problems.push('no packets received');
  if (clickerFailure) problems.push(clickerFailure);
  if (r.clicksUsed < 3) problems.push(`only ${r.clicksUsed} clicks matched`);
  if (decodeErrors) problems.push(`${decodeErrors} payloads did not decode`);
  r.ok = problems.length === 0;
  if (problems.length) r.error = problems.join('; ');
  rmSync(dump, { force: true });
  return r;
}

// ---------------------------------------------------------------------------------------------
// Aggregation and output

interface Machine {
  date: string;
  nproc: string;
  cpu: string;
  kernel: string;
  node: string;
  ffmpeg: string;
  pulse: string;
  time: string;
}

function machineInfo(env: Env): Machine {
  const out = (cmd: string, args: string[], e?: NodeJS.ProcessEnv) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env: e });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  };
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    /* not Linux */
  }
  const info = out('pactl', ['info'], { ...env.pulseEnv, LC_ALL: 'C' });
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: out('nproc', []) || String(cpus().length),
    cpu,
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    ffmpeg: out(env.ffmpeg, ['-version']).split('\n')[0].replace(/ Copyright.*$/, ''),
    pulse: /Server Version: (.+)/.exec(info)?.[1] ? `PulseAudio ${/Server Version: (.+)/.exec(info)![1]}` : 'PulseAudio ?',
    time: out(env.time, ['--version']).split('\n')[0],
  };
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : 'n/a');
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(1)}` : 'n/a');
const range = (v: number[]) => (v.length > 1 ? ` (${f2(Math.min(...v))}-${f2(Math.max(...v))})` : '');

interface Summary {
  c: CaseSpec;
  runs: RunResult[];
  cpu: number;
  cpuAll: number[];
  cpuPct: number;
  p50: number;
  p95: number;
  capP50: number;
  pooled: LatencyStats;
  packets: number;
  lost: number;
  intervalP99: number;
  scheduleP99: number;
  clicks: string;
  trend: number;
  sampledMain: number;
  sampledHelpers: number;
  orphan: number;
  helpersText: string;
}

function summarize(results: RunResult[], c: CaseSpec, pooledLat: Map<string, number[]>): Summary {
  const runs = results.filter((r) => r.path === c.path && r.codec === c.codec && r.ok);
  const pick = (f: (r: RunResult) => number) => median(runs.map(f));
  return {
    c,
    runs,
    cpu: pick((r) => r.cpu),
    cpuAll: runs.map((r) => r.cpu),
    cpuPct: pick((r) => r.cpu / r.elapsed),
    p50: pick((r) => r.latency.p50),
    p95: pick((r) => r.latency.p95),
    capP50: pick((r) => r.capture.p50),
    pooled: latencyStats(pooledLat.get(label(c)) ?? []),
    packets: pick((r) => r.packets),
    lost: runs.reduce((s, r) => s + r.lost, 0),
    intervalP99: pick((r) => r.pacing?.interval.p99 ?? NaN),
    scheduleP99: pick((r) => r.pacing?.schedule.p99 ?? NaN),
    clicks: runs.length ? `${Math.round(pick((r) => r.clicksUsed))}` : 'n/a',
    trend: pick((r) => r.trendMs),
    sampledMain: pick((r) => r.sampledMain),
    sampledHelpers: pick((r) => r.sampledHelpersSec),
    orphan: pick((r) => r.orphanCpu),
    helpersText: runs[0]?.sampledHelpers ?? 'n/a',
  };
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function report(env: Env, m: Machine, results: RunResult[], cases: CaseSpec[], wallSec: number, pooledLat: Map<string, number[]>): { text: string; markdown: string } {
  const sums = cases.map((c) => summarize(results, c, pooledLat));
  const peer = (codec: Codec) => sums.find((s) => s.c.path === 'peer' && s.c.codec === codec);
  const byRep = (s: Summary, f: (r: RunResult) => number) => new Map(s.runs.map((r) => [r.rep, f(r)]));

  const mainHead = ['sender', 'runs', 'CPU s median (min-max)', 'CPU % of one core', `CPU ratio / peer`, 'latency p50 ms', 'latency p95 ms', 'p50 - peer ms', 'p95 - peer ms', 'from play time p50 ms', 'packets', 'lost', 'interval dev p99 ms', 'schedule dev p99 ms', 'clicks used', 'latency trend ms'];
  const mainRows = sums.map((s) => {
    const p = peer(s.c.codec);
    const isPeer = s.c.path === 'peer';
    return [
      label(s.c),
      String(s.runs.length),
      `${f2(s.cpu)}${range(s.cpuAll)}`,
      Number.isFinite(s.cpuPct) ? `${(s.cpuPct * 100).toFixed(2)} %` : 'n/a',
      isPeer ? '1 (peer)' : p ? f2(s.cpu / p.cpu) : 'n/a',
      fmtMs(s.p50),
      fmtMs(s.p95),
      isPeer ? '-' : p ? signed(s.p50 - p.p50) : 'n/a',
      isPeer ? '-' : p ? signed(s.p95 - p.p95) : 'n/a',
      fmtMs(s.capP50),
      Number.isFinite(s.packets) ? String(Math.round(s.packets)) : 'n/a',
      String(s.lost),
      fmtMs(s.intervalP99),
      fmtMs(s.scheduleP99),
      s.clicks,
      signed(s.trend),
    ];
  });

  const ratioHead = ['sender', 'CPU s', 'peer CPU s', 'ratio (medians)', 'paired per-rep ratios', 'p50 - peer p50 ms (medians)', 'paired per-rep p50 differences ms', 'p95 - peer p95 ms', 'pooled p50 / p95 ms (all clicks, all reps)'];
  const ratioRows: string[][] = [];
  for (const s of sums) {
    const p = peer(s.c.codec);
    if (!p || s.c.path === 'peer') continue;
    const pr: number[] = [];
    for (const r of s.runs) {
      const q = p.runs.find((x) => x.rep === r.rep);
      if (q) pr.push(r.cpu / q.cpu);
    }
    const d50 = pairedDiffs(byRep(s, (r) => r.latency.p50), byRep(p, (r) => r.latency.p50));
    ratioRows.push([
      label(s.c),
      f2(s.cpu),
      f2(p.cpu),
      f2(s.cpu / p.cpu),
      pr.map(f2).join(', ') || 'n/a',
      signed(s.p50 - p.p50),
      d50.map(signed).join(', ') || 'n/a',
      signed(s.p95 - p.p95),
      `${fmtMs(s.pooled.p50)} / ${fmtMs(s.pooled.p95)} (peer ${fmtMs(p.pooled.p50)} / ${fmtMs(p.pooled.p95)})`,
    ]);
  }

  const splitHead = ['sender', 'GNU time CPU s (median)', 'sampled: main process s', 'sampled: children s (first run: by name)', 'not seen by GNU time s', 'children inside GNU time total (all runs)'];
  const splitRows = sums.map((s) => [
    label(s.c),
    f2(median(s.runs.map((r) => r.gnuCpu))),
    f2(s.sampledMain),
    `${f2(s.sampledHelpers)} (${s.helpersText})`,
    s.orphan > 0 ? `${f2(s.orphan)} (${[...new Set(s.runs.map((r) => r.orphanNames).filter(Boolean))].join(', ')})` : '0',
    s.runs.length ? (s.runs.every((r) => r.childrenIncluded) ? 'yes' : `NO in ${s.runs.filter((r) => !r.childrenIncluded).length} run(s)`) : 'n/a',
  ]);

  const runHead = ['#', 'rep', 'sender', 'ok', 'user s', 'sys s', 'CPU s', 'elapsed s', 'machine busy', 'packets', 'lost', 'clicks written / detected / used', 'polarity agreement', 'latency p50 / p95 / max ms', 'trend ms', 'interval p99 ms', 'from play time p50 / p95 ms', 'app stream latency p50 / max ms', 'rtpcast underruns / resyncs / buffer min-max ms / clock ppm'];
  const runRows = [...results]
    .sort((a, b) => a.order - b.order)
    .map((r) => [
      String(r.order),
      String(r.rep + 1),
      label(r),
      r.ok ? 'yes' : `NO: ${(r.error ?? '').slice(0, 100)}`,
      f2(r.user),
      f2(r.sys),
      f2(r.cpu),
      f2(r.elapsed),
      pct(r.machineBusy),
      String(r.packets),
      String(r.lost),
      `${r.clicksWritten} / ${r.clicksDetected} / ${r.clicksUsed}`,
      Number.isFinite(r.agreement) ? r.agreement.toFixed(2) : 'n/a',
      `${fmtMs(r.latency.p50)} / ${fmtMs(r.latency.p95)} / ${fmtMs(r.latency.max)}`,
      signed(r.trendMs),
      fmtMs(r.pacing?.interval.p99 ?? NaN),
      `${fmtMs(r.capture.p50)} / ${fmtMs(r.capture.p95)}`,
      `${fmtMs(r.playLatencyP50)} / ${fmtMs(r.playLatencyMax)}`,
      r.status ? `${r.status.underruns} / ${r.status.resyncs} / ${f1(r.status.bufferedMin)}-${f1(r.status.bufferedMax)} / ${f1(r.status.clockPpm)}` : '-',
    ]);

  const warnings = [...new Set(results.flatMap((r) => r.status?.warnings ?? []))];
  const busy = results.map((r) => r.machineBusy).filter(Number.isFinite);
  const busyText = busy.length ? `all CPUs were ${pct(median(busy))} busy during the median run (${pct(Math.min(...busy))}-${pct(Math.max(...busy))}), this benchmark's own processes included` : 'machine load not available';
  const failed = results.filter((r) => !r.ok);

  const cmds = cases
    .map((c) => {
      const cm = commandsFor(c, 'PORT', env.seconds, env.paDevice, 'ffmpeg', 'parec');
      const q = (argv: string[]) => argv.map((a, i) => (i === 0 && a === process.execPath ? 'node' : a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a)).map(shellQuote).join(' ');
      return `# ${label(c)}\n${cm.map(q).join(' | ')}`;
    })
    .join('\n');

  const text = [
    `bench-capture: ${env.seconds} s per run, ${env.reps} repetition(s), ${m.nproc} CPUs (${m.cpu}), node ${m.node}, ${m.ffmpeg}, ${m.pulse}; ${(wallSec / 60).toFixed(1)} min; ${busyText}`,
    '',
    textTable(mainHead, mainRows),
    '',
    textTable(ratioHead, ratioRows),
    '',
    textTable(splitHead, splitRows),
    '',
    textTable(runHead, runRows),
    '',
    warnings.length ? `rtpcast warnings: ${warnings.join(' | ')}` : 'rtpcast warnings: none',
  ].join('\n');

  const md = [
    '## Capture paths: `rtpcast send --source ...` against `parec | ffmpeg -f rtp`',
    '',
    'What each capture path costs in CPU and adds in latency, for the same sound played into the same',
    'sink. Script: `scripts/bench-capture.ts` (`npx tsc -p . && node dist/scripts/bench-capture.js',
    '[--seconds N] [--reps N] [--no-docs]`); it rewrites this section on every run without `--no-docs`.',
    'Needs pulseaudio, pulseaudio-utils (parec, pactl), python3 (the application, through ctypes on',
    'libpulse-simple), ffmpeg with libopus, GNU time, and for the PortAudio path naudiodon with the',
    'ALSA `pulse` plugin (libasound2-plugins).',
    '',
    '**Setup.** A private, headless PulseAudio daemon (`test/support/pulse.ts`: its own runtime',
    `directory, one null sink \`${SINK}\` at 48 kHz stereo, no hardware). The application is a`,
    `PulseAudio client named \`${APP}\` (a small python3 program using libpulse-simple) playing a click`,
    'train into the sink: silence with an 8-sample pulse of ±32000 (near full scale) every 500 ms,',
    'each pulse\'s polarity from a seeded PRNG (the pattern tells which click is which). Its stream asks',
    'for a 10 ms target latency (tlength, what `pacat --latency-msec=10` asks for) and it writes 5 ms',
    'chunks with blocking `pa_simple_write`, so the server paces it at real time and nothing queues up',
    'ahead of PulseAudio. Right after the write of each click\'s chunk returns it records',
    'CLOCK_MONOTONIC (the write time) and the stream\'s playback latency (`pa_simple_get_latency`).',
    '(A first version fed `pacat --latency-msec=10` from a Node child at real-time pace, as planned:',
    'latencies from the write time came out at 1.1-1.5 s, different in every run, because what Node',
    'had written sat in the socket pair into pacat, a backlog left over from start-up; that swamped',
    'the differences between paths.) A fresh application is started for every run, 1 s before the',
    'sender.',
    '',
    '**Latency.** A receiver process (Node, started before the sender, doing nothing else) stamps',
    'each RTP packet with `process.hrtime.bigint()` on arrival (CLOCK_MONOTONIC, like the',
    'application; user space, so the receiver\'s wake-up delay is in every path\'s number alike). After',
    'the run the payloads are decoded in order (L16 as big-endian int16; Opus with the project\'s',
    '`OpusWasmDecoder`), click onsets found (first sample ≥ 0.25 full scale after ≥ 200 ms below it),',
    'numbered by their position in the received audio and matched to the written clicks by their',
    'polarity pattern (the per-run table shows the agreement; 1.00 = every click has the right sign).',
    'Latency of a click = arrival of the packet carrying the onset + the onset\'s offset in that',
    'packet\'s audio − the click\'s write time: when a receiver with no jitter buffer would play it.',
    'Common to every path: the application\'s ~10 ms stream buffer, the null sink and its monitor, the',
    'receiver\'s wake-up; per codec: one packet (5 ms L16, 20 ms Opus) and for Opus the encoder\'s',
    '6.5 ms look-ahead. "From play time" subtracts the application stream\'s playback latency too',
    '(write time + reported latency = when the sink plays the click): what is left is capture only.',
    `The first ${env.warmupSec} s of each run are left out (start-up: the peer first sends what parec buffered while`,
    'ffmpeg started, up to seconds old). **The difference to the peer (`parec | ffmpeg`, same codec,',
    'same run) is what rtpcast\'s path adds**; p50/p95 per run, then the median over the',
    'repetitions; "trend" is the median latency of the last 10 s of clicks minus that of the first',
    '10 s (a growing buffer would show here). Pacing (interval/schedule deviation as in bench-send,',
    'from the user-space arrival times) is computed after the warm-up as well.',
    '',
    '**CPU.** User + system time of the sender\'s whole process tree, from GNU time',
    '(`/usr/bin/time -f \'%U %S %e\'` around each program: rtpcast; for the peer, parec and ffmpeg',
    'separately, summed; parec\'s stdout is a kernel pipe into ffmpeg\'s stdin, nothing in between).',
    'GNU time counts the children rtpcast waits for (its parec, `pactl subscribe`, the PortAudio',
    'worker). To check that, the tree is also sampled from /proc every 250 ms (last sample per',
    'process, so slightly low); processes still running when the timed process has ended were not',
    'reaped inside the tree and are invisible to GNU time: their sampled CPU is added (rtpcast\'s',
    'restore watchdog for app capture). "% of one core" = CPU time / elapsed time of the run.',
    'Also measured: packets and losses at the receiver, pacing from arrival times (as in bench-send,',
    'user-space timestamps), rtpcast\'s own status (`--json`: underruns, buffer, clock correction).',
    '',
    '**Not measured:** the receiver\'s and the application\'s CPU; PulseAudio\'s own CPU (the daemon does',
    'the mixing, monitor and, for PortAudio, the 48 → 44.1 kHz resampling for the ALSA plugin: that',
    'work is not in any sender\'s number); latency inside a real sound card (null sink only); a',
    'player\'s jitter buffer (latency is to packet arrival); memory. Kernel receive timestamps are not',
    'used (they are CLOCK_REALTIME; the application\'s are CLOCK_MONOTONIC).',
    '',
    `Last run: **${m.date}**, ${env.seconds} s per run, ${env.reps} repetition(s) of each case (interleaved: forward order, then reversed, ...), ${(wallSec / 60).toFixed(1)} minutes.`,
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}; ${m.kernel}; Node ${m.node}; ${m.ffmpeg}; ${m.pulse}; ${m.time}. Load: ${busyText}. A shared, noisy machine: compare paths within this run, not across runs.`,
    '',
    (env.paDevice ? `PortAudio device: \`${env.paDevice}\` (the ALSA \`pulse\` device from \`rtpcast devices --json\`; it opens at its default 44.1 kHz, so PulseAudio resamples 48 → 44.1 kHz and rtpcast 44.1 → 48 kHz).` : 'PortAudio path: not run (see the note at the end).') +
      (failed.length ? `\n\n**${failed.length} run(s) failed** and are left out of the medians: ${failed.map((r) => `#${r.order} ${label(r)}: ${r.error}`).join('; ')}.` : ''),
    '',
    '### Results (medians over the repetitions)',
    '',
    markdownTable(mainHead, mainRows),
    '',
    '### rtpcast against the peer (same codec, same run)',
    '',
    markdownTable(ratioHead, ratioRows),
    '',
    '### Where the CPU goes, and is every child counted?',
    '',
    markdownTable(splitHead, splitRows),
    '',
    '### Commands (PORT: the receiver\'s port; the receiver also binds PORT+1 and counts RTCP there)',
    '',
    '```sh',
    cmds,
    '```',
    '',
    '### Every run (in the order they ran)',
    '',
    markdownTable(runHead, runRows),
    '',
    `"app stream latency": the application stream's playback latency at its clicks (pa_simple_get_latency), the part of the latency before the sink plays the click. rtpcast warnings seen: ${warnings.length ? warnings.map((w) => `"${w}"`).join('; ') : 'none'}.`,
  ].join('\n');
  return { text, markdown: md };
}

// ---------------------------------------------------------------------------------------------

interface Args {
  seconds: number;
  reps: number;
  warmupSec: number;
  writeDocs: boolean;
  docPath: string;
  only?: string[];
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const o: Args = { seconds: 60, reps: 3, warmupSec: 2, writeDocs: true, docPath: DOC, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (min: number, max: number) => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < min || v > max) usage(`${a} needs a number from ${min} to ${max}`);
      return v;
    };
    if (a === '--seconds') o.seconds = num(5, 3600);
    else if (a === '--reps') o.reps = Math.round(num(1, 100));
    else if (a === '--warmup') o.warmupSec = num(0, 60);
    else if (a === '--no-docs') o.writeDocs = false;
    else if (a === '--docs') o.docPath = resolve(argv[++i] ?? usage('--docs needs a path'));
    else if (a === '--only') o.only = (argv[++i] ?? usage('--only needs a list')).split(',');
    else if (a === '--verbose') o.verbose = true;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (o.warmupSec >= o.seconds - 2) usage('--warmup must be shorter than --seconds - 2');
  return o;
}

function usage(err?: string): never {
  const text = `usage: node dist/scripts/bench-capture.js [--seconds N] [--reps N] [--warmup S] [--only LIST] [--verbose] [--no-docs] [--docs FILE]
  --seconds N    audio each sender sends per run (default 60)
  --reps N       repetitions of each case, interleaved (default 3)
  --warmup S     clicks in the first S seconds of a run are not counted (default 2)
  --only LIST    run only these paths: system,app,portaudio,peer (comma-separated)
  --verbose      print every detected click and its match
  --no-docs      print the tables only; do not rewrite docs/BENCHMARKS.md
  --docs FILE    rewrite this file's bench-capture section instead of docs/BENCHMARKS.md`;
  if (err) {
    process.stderr.write(`bench-capture: ${err}\n${text}\n`);
    process.exit(2);
  }
  process.stdout.write(`${text}\n`);
  process.exit(0);
}

function findOnPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function need(name: string, pkg: string): string {
  const p = findOnPath(name);
  if (!p) throw new Error(`${name} is not on PATH (Debian/Ubuntu: sudo apt install ${pkg})`);
  return p;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const time = '/usr/bin/time';
  const tv = existsSync(time) ? spawnSync(time, ['--version'], { encoding: 'utf8' }) : undefined;
  if (!tv || !/GNU/.test(`${tv.stdout}${tv.stderr}`)) throw new Error('GNU time (/usr/bin/time) is needed to measure the CPU of a process tree (Debian/Ubuntu: sudo apt install time)');
  const ffmpeg = need('ffmpeg', 'ffmpeg');
  const parec = need('parec', 'pulseaudio-utils');
  const python = need('python3', 'python3');
  need('pulseaudio', 'pulseaudio');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  const clk = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

  tempDir = mkdtempSync(join(tmpdir(), 'rtpcast-bench-capture-'));
  daemon = await PulseDaemon.start([{ name: SINK, rate: RATE, channels: CHANNELS }]);
  daemon.pactl(['set-default-sink', SINK]);
  daemon.pactl(['set-default-source', `${SINK}.monitor`]); // what the ALSA "pulse" device records
  const pulseEnv = { ...daemon.env };

  // the PortAudio id of the ALSA "pulse" device
  let paDevice = '';
  let paNote = '';
  const list = spawnSync(process.execPath, [CLI, 'devices', '--json'], { env: pulseEnv, encoding: 'utf8', timeout: 30_000 });
  try {
    const devs = JSON.parse(list.stdout) as { backends: { backend: string; available: boolean; detail: string }[]; devices: { id: string; name: string; backend: string }[] };
    const dev = devs.devices.find((d) => d.backend === 'portaudio' && d.name === 'pulse');
    if (dev) paDevice = dev.id;
    else paNote = `no PortAudio "pulse" device (${devs.backends.find((b) => b.backend === 'portaudio')?.detail ?? 'PortAudio not listed'})`;
  } catch (e) {
    paNote = `rtpcast devices --json failed: ${(e as Error).message}`;
  }

  const env: Env = { verbose: args.verbose, seconds: args.seconds, reps: args.reps, warmupSec: args.warmupSec, dir: tempDir, pulseEnv, ffmpeg, parec, python, time, clkTck: clk, paDevice };
  const all: CaseSpec[] = [
    { path: 'system', codec: 'l16' },
    { path: 'app', codec: 'l16' },
    { path: 'portaudio', codec: 'l16' },
    { path: 'peer', codec: 'l16' },
    { path: 'system', codec: 'opus' },
    { path: 'app', codec: 'opus' },
    { path: 'portaudio', codec: 'opus' },
    { path: 'peer', codec: 'opus' },
  ];
  const cases = all.filter((c) => (!args.only || args.only.includes(c.path)) && (c.path !== 'portaudio' || paDevice));
  if (!paDevice) process.stderr.write(`bench-capture: skipping the PortAudio path: ${paNote}\n`);
  const machine = machineInfo(env);
  const total = cases.length * env.reps;
  process.stderr.write(`bench-capture: ${total} runs of ${env.seconds} s (about ${Math.ceil((total * (env.seconds + 5)) / 60)} min); PortAudio device ${paDevice || 'none'}\n`);
  const t0 = Date.now();
  const results: RunResult[] = [];
  const pooled = new Map<string, number[]>();
  let order = 0;
  for (let rep = 0; rep < env.reps; rep++) {
    const seq = rep % 2 === 0 ? cases : [...cases].reverse();
    for (const c of seq) {
      order++;
      let r: RunResult;
      try {
        r = await runOne(c, rep, order, env);
      } catch (e) {
        process.stderr.write(`  [${order}/${total}] ${label(c)}: ${(e as Error).message}\n`);
        continue;
      }
      results.push(r);
      if (r.ok) pooled.set(label(c), [...(pooled.get(label(c)) ?? []), ...r.latencies]);
      process.stderr.write(
        `  [${order}/${total}] rep ${rep + 1} ${label(c).padEnd(24)} ${r.ok ? '' : `FAILED (${r.error}) `}CPU ${f2(r.cpu)} s (GNU ${f2(r.gnuCpu)} + unseen ${f2(r.orphanCpu)}; sampled main ${f2(r.sampledMain)}, children ${r.sampledHelpers}${r.childrenIncluded ? '' : ' NOT IN TOTAL'}), ${r.packets} packets, lost ${r.lost}, clicks ${r.clicksWritten}/${r.clicksDetected}/${r.clicksUsed} agree ${f2(r.agreement)}, latency p50/p95 ${fmtMs(r.latency.p50)}/${fmtMs(r.latency.p95)} ms trend ${signed(r.trendMs)}, interval p99 ${fmtMs(r.pacing?.interval.p99 ?? NaN)} ms, from play time p50 ${fmtMs(r.capture.p50)} ms, app stream latency ${fmtMs(r.playLatencyP50)} ms${r.status ? `, underruns ${r.status.underruns} resyncs ${r.status.resyncs} buf ${f1(r.status.bufferedMin)}-${f1(r.status.bufferedMax)} ms` : ''}, machine ${pct(r.machineBusy)} busy\n`,
      );
      await sleep(500);
    }
  }
  const rep = report(env, machine, results, cases, (Date.now() - t0) / 1000, pooled);
  process.stdout.write(`${rep.text}\n`);
  if (paNote) process.stdout.write(`PortAudio: ${paNote}\n`);
  if (args.writeDocs) {
    mkdirSync(dirname(args.docPath), { recursive: true });
    const doc = existsSync(args.docPath) ? readFileSync(args.docPath, 'utf8') : '# Benchmarks\n';
    writeFileAtomic(args.docPath, replaceSection(doc, START, END, rep.markdown + (paNote ? `\n\nPortAudio path not run: ${paNote}.` : '')));
    process.stderr.write(`bench-capture: wrote the bench-capture section of ${args.docPath}\n`);
  }
}

if (process.argv[2] === '__receiver') {
  receiverMain(process.argv[3]);
} else {
  const onSignal = () => {
    void cleanup().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  main().then(
    () => cleanup(),
    (e: Error) => {
      void cleanup().then(() => {
        process.stderr.write(`bench-capture: ${e.message}\n`);
        process.exit(1);
      });
    },
  );
}

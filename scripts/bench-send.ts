/**
 * Benchmark: CPU time and packet pacing of `rtpcast send` against `ffmpeg -re ... -f rtp` doing
 * the same job (same 48 kHz stereo WAV, L16 with 5 ms packets and Opus 128 kb/s with 20 ms
 * packets), measured in one run, interleaved, several repetitions; medians and ratios.
 *
 *   npm run bench                                   60 s input, 3 repetitions (~20 minutes)
 *   node dist/scripts/bench-send.js --seconds 10 --reps 1 --no-docs     a quick look
 *
 * CPU: each sender runs under GNU time (`/usr/bin/time -f '%U %S %e'`), which reports the
 * rusage of the whole waited-for process tree: rtpcast's own ffmpeg decoder child is included.
 * Pacing: a separate receiver process (started first, doing nothing else) binds the RTP port
 * (and port+1 for RTCP, which is counted and ignored) and stamps each packet's arrival. With
 * python3 available it is a small Python receiver that reads the kernel's receive timestamp
 * (SO_TIMESTAMPNS, taken on loopback inside the sender's sendmsg) as well as its own user-space
 * arrival time; otherwise (or with --node-receiver) a Node receiver stamps arrivals with
 * process.hrtime.bigint() (user space only: its own wake-up latency is included, which on a busy
 * machine is more than 1 ms at p99).
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

/**
 * ffmpeg: the -re peer of the goal; ffmpeg-paced: a reference that paces every packet (arealtime);
 * floor-c / floor-node: the cheapest possible per-packet-paced sender in C and in Node (sleep to
 * each packet's due time, send a fixed RTP packet; no audio, no encoding): what pacing alone costs.
 */
type Tool = 'rtpcast' | 'rtpcast-rt' | 'rtpcast-js' | 'rtpcast-packets' | 'ffmpeg' | 'ffmpeg-paced' | 'floor-c' | 'floor-node';
type Codec = 'l16' | 'opus';

const isRtpcast = (t: Tool) => t === 'rtpcast' || t === 'rtpcast-rt' || t === 'rtpcast-js' || t === 'rtpcast-packets';
/** the environment variables that choose rtpcast's pacer in each case */
const TOOL_ENV: Partial<Record<Tool, string>> = { 'rtpcast-js': 'RTPCAST_NO_NATIVE=1', 'rtpcast-rt': 'RTPCAST_PACER_RT=1', 'rtpcast-packets': 'RTPCAST_NO_FILE_RUNS=1' };

interface CaseSpec {
  tool: Tool;
  codec: Codec;
}

/** Exactly what is run; PORT and IN are filled in. Kept as argument arrays: nothing goes through a shell. */
function commandFor(c: CaseSpec, input: string, port: number, ffmpeg: string, dir = '.', seconds = 60): string[] {
  if (c.tool === 'floor-c' || c.tool === 'floor-node') {
    const [payload, ticks] = c.codec === 'l16' ? [960, 240] : [320, 960];
    const a = [String(port), String(seconds), String(payload), String(ticks)];
    return c.tool === 'floor-c' ? [join(dir, 'floor'), ...a] : [process.execPath, join(dir, 'floor.js'), ...a];
  }
  if (isRtpcast(c.tool)) {
    // rtpcast-js: the same command with RTPCAST_NO_NATIVE=1 in its environment (runOne), the event-loop pacer;
    // rtpcast-rt: with RTPCAST_PACER_RT=1, the native pacer's thread in SCHED_FIFO (when allowed);
    // rtpcast-packets: with RTPCAST_NO_FILE_RUNS=1, Node builds every L16 packet (no file runs)
    return c.codec === 'l16'
      ? [process.execPath, CLI, 'send', '--input', input, '--codec', 'l16', '--rate', String(RATE), '--channels', String(CHANNELS), '--dest', `127.0.0.1:${port}`, '--quiet']
      : [process.execPath, CLI, 'send', '--input', input, '--codec', 'opus', '--dest', `127.0.0.1:${port}`, '--quiet'];
  }
  // ffmpeg -re releases input packets (1024 frames of the WAV) at their time, polling every 10 ms,
  // and the muxer sends what each one yields at once. ffmpeg-paced instead cuts the audio into
  // packet-sized frames and lets the arealtime filter release each at its time (no -re).
  const paced = c.tool === 'ffmpeg-paced';
  const common = [ffmpeg, '-nostdin', '-hide_banner', '-loglevel', 'error', ...(paced ? [] : ['-re']), '-i', input];
  return c.codec === 'l16'
    ? // asetnsamples: 240-sample (5 ms) frames, so every RTP packet carries 960 bytes like rtpcast's
      // (without it the muxer cuts each 1024-frame WAV packet into 960+960+960+960+256 bytes).
      [...common, '-af', paced ? 'asetnsamples=n=240,arealtime' : 'asetnsamples=n=240', '-acodec', 'pcm_s16be', '-ar', String(RATE), '-ac', String(CHANNELS), '-payload_type', String(PT), '-f', 'rtp', `rtp://127.0.0.1:${port}?pkt_size=972`]
    : // -fec:a 1 -packet_loss:a 5: rtpcast's Opus defaults (in-band FEC on, 5 % expected loss); the
      // stream specifier keeps the rtp muxer from taking -fec as its own (RTP FEC) option
      [...common, ...(paced ? ['-af', 'asetnsamples=n=960,arealtime'] : []), '-c:a', 'libopus', '-b:a', '128k', '-frame_duration', '20', '-application', 'audio', '-fec:a', '1', '-packet_loss:a', '5', '-payload_type', String(PT), '-f', 'rtp', `rtp://127.0.0.1:${port}`];
}

// ---------------------------------------------------------------------------------------------
// Floor probes: argv port seconds payloadBytes ticksPerPacket (48 kHz clock); RTP to 127.0.0.1:port.

const FLOOR_C = `#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int port = atoi(argv[1]), payload = atoi(argv[3]), ticks = atoi(argv[4]);
  long n = (long)(atof(argv[2]) * 48000 / ticks), period = (long)ticks * 1000000000L / 48000;
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(0x7f000001);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
  unsigned char p[1500]; memset(p, 0, sizeof p);
  p[0] = 0x80; p[1] = 96; p[8] = 0x12; p[9] = 0x34; p[10] = 0x56; p[11] = 0x78;
  struct timespec t0, t; clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < n; i++) {
    long long due = (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec + (long long)i * period;
    t.tv_sec = due / 1000000000LL; t.tv_nsec = due % 1000000000LL;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, 0);
    unsigned seq = i & 0xffff; unsigned ts = (unsigned)(i * ticks);
    p[1] = 96 | (i == 0 ? 0x80 : 0); p[2] = seq >> 8; p[3] = seq;
    p[4] = ts >> 24; p[5] = ts >> 16; p[6] = ts >> 8; p[7] = ts;
    send(s, p, 12 + payload, 0);
  }
  return 0;
}
`;

/** The same loop as rtpcast's sender uses to wait (Atomics.wait to an absolute due time, one event-loop turn per packet). */
const FLOOR_NODE = `'use strict';
const dgram = require('node:dgram');
const [port, seconds, payload, ticks] = process.argv.slice(2).map(Number);
const n = Math.floor((seconds * 48000) / ticks);
const periodNs = BigInt(Math.round((ticks * 1e9) / 48000));
const cell = new Int32Array(new SharedArrayBuffer(4));
const s = dgram.createSocket('udp4');
s.bind(0, () => s.connect(port, '127.0.0.1', () => {
  const t0 = process.hrtime.bigint();
  let i = 0;
  const tick = () => {
    if (i >= n) return s.close();
    const left = t0 + BigInt(i) * periodNs - process.hrtime.bigint();
    if (left > 0n) Atomics.wait(cell, 0, 0, Number(left) / 1e6);
    const p = Buffer.alloc(12 + payload);
    p[0] = 0x80;
    p[1] = 96 | (i === 0 ? 0x80 : 0);
    p.writeUInt16BE(i & 0xffff, 2);
    p.writeUInt32BE((i * ticks) >>> 0, 4);
    p.writeUInt32BE(0x12345678, 8);
    s.send(p);
    i++;
    setImmediate(tick);
  };
  tick();
}));
`;

/** Writes the probes into dir (the C one only when a C compiler is there); the tools available. */
function buildFloors(dir: string): Tool[] {
  writeFileSync(join(dir, 'floor.js'), FLOOR_NODE);
  const tools: Tool[] = [];
  const cc = findOnPath('cc') ?? findOnPath('gcc');
  if (cc) {
    writeFileSync(join(dir, 'floor.c'), FLOOR_C);
    const r = spawnSync(cc, ['-O2', '-o', join(dir, 'floor'), join(dir, 'floor.c')], { encoding: 'utf8' });
    if (r.status === 0) tools.push('floor-c');
    else process.stderr.write(`bench-send: the C floor probe did not compile (${(r.stderr ?? '').trim().slice(0, 200)}); skipping it\n`);
  } else process.stderr.write('bench-send: no C compiler (cc): the C floor probe is skipped (Debian/Ubuntu: sudo apt install gcc)\n');
  tools.push('floor-node');
  return tools;
}

// ---------------------------------------------------------------------------------------------
// Receiver (a child process: `bench-send.js __receiver <capacity>`)

interface ReceiverData {
  /** user-space arrival times, ns from an arbitrary origin */
  arrivalNs: number[];
  /** kernel receive timestamps (SO_TIMESTAMPNS), ns from the first packet; Python receiver only */
  kernelNs?: number[];
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
      const [lo, hi] = benchPorts();
      const port = lo + 2 * Math.floor(Math.random() * Math.max(1, Math.floor((hi - lo) / 2)));
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

type ReceiverKind = 'kernel' | 'node';

interface Receiver {
  readonly port: number;
  stop(): Promise<ReceiverData>;
}

/** The Node receiver: this script in `__receiver` mode, talking over IPC. */
function startNodeReceiver(capacity: number): Promise<Receiver> {
  const child = fork(__filename, ['__receiver', String(capacity)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  track(child);
  return new Promise((res, rej) => {
    child.once('message', (m: { cmd: string; port?: number; message?: string }) => {
      if (m.cmd !== 'ready') return rej(new Error(`receiver: ${m.message ?? 'did not start'}`));
      res({
        port: m.port!,
        stop: () =>
          new Promise((res2, rej2) => {
            child.once('message', (r: { cmd: string; data?: ReceiverData }) => (r.cmd === 'data' ? res2(r.data!) : rej2(new Error('receiver: unexpected reply'))));
            child.once('exit', (code) => rej2(new Error(`receiver exited (${code}) without data`)));
            child.send({ cmd: 'stop' });
          }),
      });
    });
    child.once('exit', (code) => rej(new Error(`receiver exited (${code}) before it was ready`)));
  });
}

/** The receiver's ports: BENCH_PORTS=LO-HI (a machine shared by several jobs gives each its own range), else 20000-58000. */
function benchPorts(): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(process.env.BENCH_PORTS ?? '');
  if (!m) return [20000, 58000];
  const lo = Number(m[1]) + (Number(m[1]) % 2);
  const hi = Number(m[2]) - 1;
  if (!(lo >= 1024 && hi > lo + 2 && hi <= 65534)) throw new Error(`BENCH_PORTS=${process.env.BENCH_PORTS}: give LO-HI, an even range of at least 4 ports within 1024-65535`);
  return [lo, hi];
}

/**
 * The kernel-timestamp receiver (python3: Node cannot read SO_TIMESTAMPNS). Prints "READY <port>",
 * records until a line arrives on stdin, then prints one JSON object and exits.
 */
const PY_RECEIVER = String.raw`
import json, os, random, select, socket, struct, sys, time
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
def pair():
    lo, hi = (int(x) for x in os.environ.get('BENCH_PORTS', '20000-58000').split('-'))
    for _ in range(50):
        port = lo + 2 * random.randrange(max(1, (hi - lo) // 2))
        a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            a.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            a.bind(('127.0.0.1', port))
            b.bind(('127.0.0.1', port + 1))
            return a, b, port
        except OSError:
            a.close(); b.close()
    sys.exit('no free UDP port pair found')
a, b, port = pair()
K, U, SZ, TS, SQ = [], [], [], [], []
PT, SS = set(), set()
bad = 0; rtcp = 0; k0 = None
def drain():
    global bad, rtcp, k0
    while True:
        try:
            data, anc, _f, _a = a.recvmsg(4096, 64, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            break
        u = time.monotonic_ns()
        k = None
        for lvl, typ, d in anc:
            if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, ns = struct.unpack('qq', d[:16]); k = sec * 1000000000 + ns
        n = len(data)
        if n < 12 or data[0] >> 6 != 2 or k is None:
            bad += 1; continue
        off = 12 + 4 * (data[0] & 15)
        if data[0] & 16:
            if n < off + 4: bad += 1; continue
            off += 4 + 4 * ((data[off + 2] << 8) | data[off + 3])
        end = n - (data[n - 1] if data[0] & 32 else 0)
        if end < off: bad += 1; continue
        if k0 is None: k0 = k
        seq, ts, ssrc = struct.unpack_from('!HII', data, 2)
        K.append(k - k0); U.append(u); SZ.append(end - off); TS.append(ts); SQ.append(seq)
        PT.add(data[1] & 127); SS.add(ssrc)
print('READY', port, flush=True)
stdin = sys.stdin.fileno()
while True:
    r, _w, _x = select.select([a, b, stdin], [], [])
    if a in r: drain()
    if b in r:
        try:
            while True: b.recv(4096, socket.MSG_DONTWAIT); rtcp += 1
        except (BlockingIOError, InterruptedError): pass
    if stdin in r:
        os.read(stdin, 100)
        break
drain()
u0 = U[0] if U else 0
sys.stdout.write(json.dumps({'arrivalNs': [x - u0 for x in U], 'kernelNs': K, 'payloadBytes': SZ, 'timestamps': TS, 'sequences': SQ,
  'payloadTypes': sorted(PT), 'ssrcs': sorted(SS), 'notRtp': bad, 'rtcpPackets': rtcp}) + '\n')
`;

function startKernelReceiver(python: string): Promise<Receiver> {
  const child = spawn(python, ['-c', PY_RECEIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((res, rej) => {
    const onData = () => {
      const m = /^READY (\d+)\n/.exec(out);
      if (!m) return;
      child.stdout!.off('data', onData);
      out = out.slice(m[0].length);
      res({
        port: Number(m[1]),
        stop: async () => {
          child.stdin!.end('stop\n');
          const code = await exited;
          if (code !== 0) throw new Error(`kernel-timestamp receiver failed (${code}): ${err.trim().slice(-300)}`);
          return JSON.parse(out) as ReceiverData;
        },
      });
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => rej(new Error(`kernel-timestamp receiver exited (${code}) before it was ready: ${err.trim().slice(-300)}`)));
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
  /** share of all CPUs busy (anything, this run included) while the run lasted, from /proc/stat */
  machineBusy: number;
  packets: number;
  lost: number;
  outOfOrder: number;
  sizes: string;
  payloadTypes: number[];
  rtcpPackets: number;
  /** from kernel receive timestamps when the receiver has them, else from user-space arrival times */
  pacing?: PacingResult;
  /** from the receiver's user-space arrival times (includes the receiver's wake-up latency) */
  pacingUser?: PacingResult;
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

/** Busy and total jiffies of all CPUs (/proc/stat "cpu" line); undefined off Linux. */
function cpuTotals(): { busy: number; total: number } | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is inside user
    return { busy: total - f[3] - f[4], total };
  } catch {
    return undefined;
  }
}

function startReceiver(env: Env, capacity: number): Promise<Receiver> {
  return env.receiver === 'kernel' ? startKernelReceiver(env.python!) : startNodeReceiver(capacity);
}

/**
 * Variables a build or sandbox machine may set that make every Node process do work at start-up
 * before any of rtpcast's code runs (NODE_EXTRA_CA_CERTS: parse a whole certificate bundle, ~45 ms
 * of CPU on the bench machine), or change Node itself (NODE_OPTIONS). A stock Debian machine has
 * neither: the Node-run cases run without them, and the report says when they were removed.
 */
const NODE_START_VARS = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'] as const;

function toolEnv(t: Tool, e: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!isRtpcast(t) && t !== 'floor-node') return e;
  const out = { ...e };
  for (const k of NODE_START_VARS) delete out[k];
  if (!isRtpcast(t)) return out;
  delete out.RTPCAST_NO_NATIVE;
  delete out.RTPCAST_PACER_RT;
  const [k, v] = TOOL_ENV[t]?.split('=') ?? [];
  if (k) out[k] = v;
  return out;
}

async function runOne(c: CaseSpec, rep: number, order: number, env: Env): Promise<RunResult> {
  const packetsPerSec = c.codec === 'l16' ? 200 : 50;
  const receiver = await startReceiver(env, Math.ceil(env.seconds * packetsPerSec * 1.5) + 100);
  const cmd = commandFor(c, env.input, receiver.port, env.ffmpeg, env.dir, env.seconds);
  const timeFile = join(env.dir, `time-${order}.txt`);
  const load0 = cpuTotals();
  const childEnv = toolEnv(c.tool, process.env);
  const child = spawn(env.time, ['-f', '%U %S %e', '-o', timeFile, ...cmd], { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv });
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
  const load1 = cpuTotals();
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
    decoderCpu: isRtpcast(c.tool) ? childTicks / env.clkTck : undefined,
    machineBusy: load0 && load1 && load1.total > load0.total ? (load1.busy - load0.busy) / (load1.total - load0.total) : NaN,
    packets: data.arrivalNs.length,
    lost: 0,
    outOfOrder: 0,
    sizes: describeSizes(data.payloadBytes).text,
    payloadTypes: data.payloadTypes,
    rtcpPackets: data.rtcpPackets,
    nominalMismatch: 0,
  };
  if (code !== 0) r.error = `exit ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`;
  else if (!t) r.error = 'no GNU time output';
  else if (data.arrivalNs.length < 2) r.error = 'no packets received';
  if (data.ssrcs.length > 1) {
    r.ok = false;
    r.error = `${data.ssrcs.length} SSRCs seen: another sender on the port?`;
  }
  const sq = sequenceCheck(data.sequences);
  r.lost = sq.lost;
  r.outOfOrder = sq.outOfOrder;
  if (data.arrivalNs.length > 1) {
    const bytesPerTick = 2 * CHANNELS;
    const lastTicks = c.codec === 'l16' ? data.payloadBytes[data.payloadBytes.length - 1] / bytesPerTick : 960;
    r.pacingUser = analyzePacing(data.arrivalNs, data.timestamps, RATE, lastTicks);
    r.pacing = data.kernelNs ? analyzePacing(data.kernelNs, data.timestamps, RATE, lastTicks) : r.pacingUser;
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
  python?: string;
  receiver: ReceiverKind;
  clkTck: number;
  /** what the plain "rtpcast" runs use */
  rtpcastPacer: 'native pacer' | 'JS pacer';
}

interface Machine {
  date: string;
  nproc: string;
  cpu: string;
  kernel: string;
  node: string;
  ffmpeg: string;
  time: string;
  python: string;
}

function machineInfo(ffmpeg: string, time: string, python: string | undefined): Machine {
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
    python: python ? out(python, ['--version']) : 'no python3',
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

const TOOL_LABEL: Record<Tool, string> = { rtpcast: 'rtpcast', 'rtpcast-rt': 'rtpcast SCHED_FIFO pacer', 'rtpcast-js': 'rtpcast JS pacer', 'rtpcast-packets': 'rtpcast packets built in Node', ffmpeg: 'ffmpeg -re', 'ffmpeg-paced': 'ffmpeg arealtime', 'floor-c': 'floor C', 'floor-node': 'floor Node' };
const label = (c: { tool: Tool; codec: Codec }) => `${TOOL_LABEL[c.tool]} ${c.codec === 'l16' ? 'L16' : 'Opus'}`;
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const range = (v: number[]) => (v.length > 1 ? ` (${f2(Math.min(...v))}-${f2(Math.max(...v))})` : '');
const triple = (s: { p50: number; p99: number; max: number } | undefined) => (s ? `${fmtMs(s.p50)} / ${fmtMs(s.p99)} / ${fmtMs(s.max)}` : 'n/a');
const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : 'n/a');

type Triple = { p50: number; p99: number; max: number };

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
  interval: Triple;
  schedule: Triple;
  userInterval: Triple;
  worstMax: { interval: number; schedule: number };
}

function summarize(results: RunResult[], c: CaseSpec): CaseSummary {
  const runs = results.filter((r) => r.tool === c.tool && r.codec === c.codec && r.ok);
  const pick = (f: (r: RunResult) => number) => median(runs.map(f));
  const sizeTexts = [...new Set(runs.map((r) => r.sizes))];
  const tri = (f: (r: RunResult) => Triple) => ({ p50: pick((r) => f(r).p50), p99: pick((r) => f(r).p99), max: pick((r) => f(r).max) });
  return {
    ...c,
    runs,
    cpu: pick((r) => r.cpu),
    cpuAll: runs.map((r) => r.cpu),
    decoderCpu: pick((r) => r.decoderCpu ?? NaN),
    packets: pick((r) => r.packets),
    mediaSec: pick((r) => r.pacing?.mediaSec ?? NaN),
    sizes: sizeTexts.length === 1 ? sizeTexts[0] : runs.length ? `${runs[0].sizes} (run 1)` : 'n/a',
    interval: tri((r) => r.pacing!.interval),
    schedule: tri((r) => r.pacing!.schedule),
    userInterval: tri((r) => r.pacingUser!.interval),
    worstMax: { interval: Math.max(...runs.map((r) => r.pacing!.interval.max)), schedule: Math.max(...runs.map((r) => r.pacing!.schedule.max)) },
  };
}

interface Report {
  text: string;
  markdown: string;
}

function report(env: Env, m: Machine, results: RunResult[], cases: CaseSpec[], wallSec: number): Report {
  const sums = cases.map((c) => summarize(results, c));
  const get = (tool: Tool, codec: Codec) => sums.find((s) => s.tool === tool && s.codec === codec);
  const clock = env.receiver === 'kernel' ? 'kernel timestamps' : 'Node receiver timestamps';

  const mainHead = ['sender', 'runs', 'CPU s median (min-max)', 'CPU % of media time', 'packets', 'media s', 'payload sizes', `interval dev p50 / p99 / max ms (${clock})`, `schedule dev p50 / p99 / max ms (${clock})`];
  if (env.receiver === 'kernel') mainHead.push('interval dev p99 ms, user-space receiver');
  const mainRows = sums.map((s) => {
    const row = [
      label(s),
      String(s.runs.length),
      `${f2(s.cpu)}${range(s.cpuAll)}`,
      Number.isFinite(s.cpu / s.mediaSec) ? `${((s.cpu / s.mediaSec) * 100).toFixed(2)} %` : 'n/a',
      Number.isFinite(s.packets) ? String(Math.round(s.packets)) : 'n/a',
      f2(s.mediaSec),
      s.sizes,
      triple(s.interval),
      triple(s.schedule),
    ];
    if (env.receiver === 'kernel') row.push(fmtMs(s.userInterval.p99));
    return row;
  });

  const ratioHead = ['codec', 'rtpcast CPU s', 'ffmpeg -re CPU s', 'ratio rtpcast / ffmpeg -re (medians)', 'paired per-rep ratios', 'goal: ratio <= 1', 'ratio rtpcast / ffmpeg arealtime (reference)'];
  const ratioRows: string[][] = [];
  const verdicts: string[] = [];
  const pairedRatios = (a: CaseSummary, b: CaseSummary) => a.runs.flatMap((ra) => b.runs.filter((x) => x.rep === ra.rep).map((rb) => ra.cpu / rb.cpu));
  for (const codec of ['l16', 'opus'] as Codec[]) {
    const a = get('rtpcast', codec);
    const b = get('ffmpeg', codec);
    if (!a || !b) continue;
    const p = get('ffmpeg-paced', codec);
    const ratio = a.cpu / b.cpu;
    const met = ratio <= 1;
    const name = codec === 'l16' ? 'L16' : 'Opus';
    ratioRows.push([
      name,
      f2(a.cpu),
      f2(b.cpu),
      Number.isFinite(ratio) ? ratio.toFixed(2) : 'n/a',
      pairedRatios(a, b).map((x) => x.toFixed(2)).join(', ') || 'n/a',
      Number.isFinite(ratio) ? (met ? 'met' : 'NOT met') : 'n/a',
      p ? `${(a.cpu / p.cpu).toFixed(2)} (ffmpeg ${f2(p.cpu)} s)` : 'not run',
    ]);
    const js = get('rtpcast-js', codec);
    const rt = get('rtpcast-rt', codec);
    const pk = get('rtpcast-packets', codec);
    const jsText =
      (pk && pk.runs.length ? ` With every packet built in Node (RTPCAST_NO_FILE_RUNS=1, no file runs): ${f2(pk.cpu)} s, ${(pk.cpu / b.cpu).toFixed(2)}x ffmpeg -re.` : '') +
      (rt && rt.runs.length ? ` With the native pacer's thread in SCHED_FIFO (RTPCAST_PACER_RT=1): ${f2(rt.cpu)} s, ${(rt.cpu / b.cpu).toFixed(2)}x ffmpeg -re.` : '') +
      (js && js.runs.length ? ` With the JS pacer instead (RTPCAST_NO_NATIVE=1): ${f2(js.cpu)} s, ${(js.cpu / b.cpu).toFixed(2)}x ffmpeg -re.` : '');
    if (Number.isFinite(ratio)) verdicts.push(`- CPU, ${name}: rtpcast (${env.rtpcastPacer}) uses ${ratio.toFixed(2)}x the CPU time of \`ffmpeg -re\`: goal ${met ? 'met' : `**NOT met** (${ratio.toFixed(1)}x)`}.${p ? ` Against ffmpeg pacing every packet (arealtime): ${(a.cpu / p.cpu).toFixed(2)}x.` : ''}${jsText}`);
  }

  for (const codec of ['l16', 'opus'] as Codec[]) {
    const b = get('ffmpeg', codec);
    const fc = get('floor-c', codec);
    const fn = get('floor-node', codec);
    const a = get('rtpcast', codec);
    if (!b || (!fc && !fn)) continue;
    const part = (f: CaseSummary | undefined, what: string) => (f && f.runs.length ? `${what} ${f2(f.cpu)} s (${(f.cpu / b.cpu).toFixed(2)}x ffmpeg -re)` : undefined);
    const parts = [part(fc, 'C'), part(fn, 'Node')].filter(Boolean).join(', ');
    const perPacket = fn && a && fn.runs.length && Number.isFinite(a.cpu - fn.cpu) ? `; rtpcast minus the Node floor: ${f2(a.cpu - fn.cpu)} s (audio, encoding, start-up of the CLI)` : '';
    verdicts.push(`- Floor, ${codec === 'l16' ? 'L16' : 'Opus'}: a sender that only sleeps to each packet's due time and sends it (no audio) used ${parts}${perPacket}.`);
  }

  const paceHead = ['sender', `interval dev p99 ms`, `schedule dev p99 ms`, 'worst max interval / schedule ms', 'goal: p99 < 1 ms (interval, schedule)'];
  const paceRows = sums.map((s) => {
    const mi = s.interval.p99 < 1;
    const ms = s.schedule.p99 < 1;
    return [label(s), fmtMs(s.interval.p99), fmtMs(s.schedule.p99), `${fmtMs(s.worstMax.interval)} / ${fmtMs(s.worstMax.schedule)}`, `${mi ? 'met' : 'NOT met'}, ${ms ? 'met' : 'NOT met'}`];
  });
  for (const s of sums.filter((x) => isRtpcast(x.tool))) {
    const mi = s.interval.p99 < 1;
    const ms = s.schedule.p99 < 1;
    verdicts.push(`- Pacing, ${label(s)} (${clock}): p99 interval deviation ${fmtMs(s.interval.p99)} ms, p99 schedule deviation ${fmtMs(s.schedule.p99)} ms: goal (< 1 ms) ${mi && ms ? 'met' : mi || ms ? `**met only for the ${mi ? 'interval' : 'schedule'} measure**` : '**NOT met**'}.`);
  }

  const breakdown = sums
    .filter((s) => isRtpcast(s.tool))
    .map((s) => `${label(s)}: ${f2(s.cpu)} s in total, of which the ffmpeg decoder child ${f2(s.decoderCpu)} s and the Node process ${f2(s.cpu - s.decoderCpu)} s`)
    .join('; ');

  const runHead = ['#', 'rep', 'sender', 'ok', 'user s', 'sys s', 'CPU s', 'elapsed s', 'machine busy', 'packets', 'lost', 'payload sizes', 'PT', 'RTCP', 'interval p50/p99/max ms', 'schedule p50/p99/max ms', 'user-space interval p99 ms', 'slope ppm'];
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
      pct(r.machineBusy),
      String(r.packets),
      String(r.lost),
      r.sizes,
      r.payloadTypes.join(','),
      String(r.rtcpPackets),
      triple(r.pacing?.interval),
      triple(r.pacing?.schedule),
      fmtMs(r.pacingUser?.interval.p99 ?? NaN),
      r.pacing ? r.pacing.slopePpm.toFixed(1) : 'n/a',
    ]);
  const mismatches = results.reduce((s, r) => s + r.nominalMismatch, 0);
  const busy = results.map((r) => r.machineBusy).filter(Number.isFinite);
  const busyText = busy.length ? `all CPUs were ${pct(median(busy))} busy during the median run (${pct(Math.min(...busy))}-${pct(Math.max(...busy))}; an idle machine running one sender and the receiver would show a few %)` : 'machine load not available';

  const cmds = cases
    .map((c) => `# ${label(c)}\n${TOOL_ENV[c.tool] ? `${TOOL_ENV[c.tool]} ` : ''}${commandFor(c, 'in.wav', 'PORT' as unknown as number, 'ffmpeg').map((a, i) => (i === 0 && a === process.execPath ? 'node' : a.startsWith(ROOT) ? a.slice(ROOT.length + 1) : a)).map(shellQuote).join(' ')}`)
    .join('\n');
  const receiverText =
    env.receiver === 'kernel'
      ? `Pacing from kernel receive timestamps (SO_TIMESTAMPNS, ${m.python} receiver); the last column of the results is the same receiver's user-space arrival time, which adds its own wake-up latency.`
      : 'Pacing from a Node receiver (process.hrtime.bigint() on arrival): includes the receiver\'s own wake-up latency (no python3 for kernel timestamps, or --node-receiver).';

  const text = [
    `bench-send: ${env.seconds} s input, ${env.reps} repetition(s), ${m.nproc} CPUs (${m.cpu}), node ${m.node}, ${m.ffmpeg}; ${(wallSec / 60).toFixed(1)} min; ${busyText}`,
    receiverText,
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

  const removedNodeVars = NODE_START_VARS.filter((k) => process.env[k] !== undefined);
  const md = [
    `Last run: **${m.date}**, ${env.seconds} s input, ${env.reps} repetition(s) of each case (interleaved), ${(wallSec / 60).toFixed(1)} minutes.`,
    '',
    env.rtpcastPacer === 'native pacer'
      ? '"rtpcast" runs with its native pacer (native/pacer built); "rtpcast JS pacer" is the same command with `RTPCAST_NO_NATIVE=1` (the event-loop pacer).'
      : '"rtpcast" runs with its JS (event-loop) pacer: the native pacer is not built here.',
    '',
    `Machine: ${m.nproc} CPUs (\`nproc\`), ${m.cpu}; ${m.kernel}; Node ${m.node}; ${m.ffmpeg}; ${m.time}; ${m.python}. Load: ${busyText}. A shared, noisy machine: compare the tools within this run, not across runs.`,
    '',
    ...(removedNodeVars.length
      ? [`This machine's environment sets ${removedNodeVars.map((k) => `\`${k}\``).join(' and ')}, which a stock Debian machine does not: with NODE_EXTRA_CA_CERTS every Node process parses that certificate bundle at start-up (~45 ms of CPU here) before any of rtpcast's code runs. The Node-run cases (rtpcast, the Node floor) run without ${removedNodeVars.length > 1 ? 'them' : 'it'}.`, '']
      : []),
    receiverText,
    '',
    '### Results (medians over the repetitions)',
    '',
    markdownTable(mainHead, mainRows),
    '',
    '### CPU: rtpcast / ffmpeg',
    '',
    markdownTable(ratioHead, ratioRows),
    '',
    `rtpcast's CPU includes its ffmpeg decoder child when it has one (this input, a plain WAV at the stream's format, is read directly: 0 s). Split (medians): ${breakdown}.`,
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
  (\`/usr/bin/time -f '%U %S %e'\`). The input is a plain 16-bit WAV at the stream's rate and
  channel count, which rtpcast reads itself; for other files it spawns an ffmpeg decoder, whose CPU
  is then included (and split out). Reported per case as the median over the repetitions, and as
  the ratio rtpcast / ffmpeg.
- **Pacing**, from the arrival time of every RTP packet at a separate receiver process started
  before the sender. Preferably the kernel's receive timestamp (SO_TIMESTAMPNS, read by a small
  python3 receiver; on loopback it is taken inside the sender's sendmsg, so it is the departure
  time); the same receiver's user-space arrival time is shown too. Without python3 a Node receiver
  stamps arrivals with \`process.hrtime.bigint()\`, which adds the receiver's own wake-up latency
  (more than 1 ms at p99 on a busy machine, whatever the sender does).
  - *interval deviation*: |t(i) - t(i-1) - nominal(i)| per packet, where nominal is the RTP
    timestamp step (for L16 equal to the previous payload's duration, 5 ms; 20 ms for Opus);
  - *schedule deviation*: |t(i) - (t0 + k * media time(i))| after fitting t0 and k by least
    squares: how far each packet is from an ideal evenly paced schedule (bursts show up here too).
- Packet sizes and counts as received (both tools should send the whole input), and how busy the
  machine's CPUs were during each run.

L16 uses 5 ms packets (960-byte payloads) for both tools: rtpcast's default, and for ffmpeg
\`-af asetnsamples=n=240\` with \`pkt_size=972\` (RTP header + 960). Opus is 128 kb/s, 20 ms frames,
with in-band FEC for both (rtpcast's default; \`-fec:a 1 -packet_loss:a 5\` for ffmpeg). Both use
libopus with the same settings: application audio, VBR (both defaults), complexity 10 (libopus's
default, and ffmpeg's default \`compression_level\`), 5 % expected loss; rtpcast also sets the
signal hint to music (ffmpeg leaves it on auto). The encoders are different builds of libopus
(ffmpeg's system library, rtpcast's @evan/opus), so payload sizes differ slightly.

The goal's peer is \`ffmpeg -re\`, which does not pace packets: it releases input packets (1024
frames of the WAV, 21.3 ms) at their time, polling every 10 ms, and sends what each yields at once
(L16: bursts of four or five 5 ms packets). As a reference, *ffmpeg arealtime* paces every packet
(\`asetnsamples\` to one packet's worth, then the \`arealtime\` filter, no \`-re\`): the CPU ffmpeg
needs for the job rtpcast actually does.

*rtpcast* runs with the native pacer when it is built (\`native/pacer\`: a C thread sleeps to each
packet's due time and sends it; Node builds packets 1 s ahead and wakes twice a second, or
5 s ahead every 4 s when nothing shows statuses, as here with \`--quiet\`; a WAV sent as L16 is
read by that thread itself;
docs/ARCHITECTURE.md). *rtpcast JS pacer* is the same command with \`RTPCAST_NO_NATIVE=1\`: the
event-loop pacer that wakes for every packet (what runs where the addon is not built). Without
the addon only the JS pacer runs, under the name *rtpcast*.

Two more references show the floor of per-packet pacing on the machine at hand: *floor C* and
*floor Node* are tiny senders (sources in this script, the C one compiled with \`cc\` if there is
one) that do nothing but sleep to each packet's due time and send a fixed RTP packet of the same
size and rate (no audio, no decoding, no encoding): C with \`clock_nanosleep\` on an absolute
deadline, Node with the same wait rtpcast uses (\`Atomics.wait\` to the deadline, one event-loop
turn per packet). They run in the first repetition only (\`--floor-reps\`). If floor Node alone
costs more than \`ffmpeg -re\`, no Node sender that paces every packet can meet the CPU goal.

The cases run interleaved (rtpcast, ffmpeg -re, ffmpeg arealtime for L16, then the same for Opus;
the next repetition in reverse order within each codec), so slow phases of a shared machine hit
every tool.

Goals: rtpcast's CPU time at most ffmpeg's (\`-re\`); rtpcast's p99 pacing deviation under 1 ms.

How to run:

\`\`\`sh
npm run bench                                   # 60 s input, 3 repetitions: about 23 minutes
npx tsc -p . && node dist/scripts/bench-send.js --seconds 10 --reps 1 --no-docs   # a quick look
\`\`\`

Options: \`--seconds N\`, \`--reps N\`, \`--no-paced\` (skip the ffmpeg arealtime reference),
\`--floor-reps N\` (floor probes in the first N repetitions; 0: none),
\`--node-receiver\` (user-space timestamps only), \`--no-js-pacer\` (skip the "rtpcast JS pacer"
cases), \`--no-rt-pacer\` (skip "rtpcast SCHED_FIFO pacer"), \`--no-per-packet\` (skip "rtpcast packets built in Node", L16 without file runs), \`--no-docs\`, \`--docs FILE\`.
Needs ffmpeg (with libopus) and GNU time (Debian/Ubuntu: \`sudo apt install time\`); python3 for
kernel timestamps.
The section below is rewritten by the script on every run that does not pass \`--no-docs\`.

${START}
${END}
`;

// ---------------------------------------------------------------------------------------------

interface Args {
  seconds: number;
  reps: number;
  writeDocs: boolean;
  docPath: string;
  paced: boolean;
  /** repetitions that include the floor probes (the first N) */
  floorReps: number;
  nodeReceiver: boolean;
  /** also run rtpcast with the JS pacer (RTPCAST_NO_NATIVE=1) when the native one is built */
  jsPacer: boolean;
  /** also run rtpcast's native pacer in SCHED_FIFO (RTPCAST_PACER_RT=1) */
  rtPacer: boolean;
  /** the "rtpcast packets built in Node" case (RTPCAST_NO_FILE_RUNS=1, L16 only) */
  packetsCase: boolean;
}

function parseArgs(argv: string[]): Args {
  const o: Args = { seconds: 60, reps: 3, writeDocs: true, docPath: DOC, paced: true, floorReps: 1, nodeReceiver: false, jsPacer: true, rtPacer: true, packetsCase: true };
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
    else if (a === '--no-paced') o.paced = false;
    else if (a === '--floor-reps') o.floorReps = Math.round(num(0, 100));
    else if (a === '--node-receiver') o.nodeReceiver = true;
    else if (a === '--no-js-pacer') o.jsPacer = false;
    else if (a === '--no-rt-pacer') o.rtPacer = false;
    else if (a === '--no-per-packet') o.packetsCase = false;
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  return o;
}

function usage(err?: string): never {
  const text = `usage: node dist/scripts/bench-send.js [--seconds N] [--reps N] [--no-paced] [--floor-reps N] [--node-receiver] [--no-docs] [--docs FILE]
  --seconds N       length of the generated input (default 60)
  --reps N          repetitions of each case, interleaved (default 3)
  --no-paced        skip the reference cases "ffmpeg arealtime" (ffmpeg pacing every packet)
  --floor-reps N    run the floor probes (bare C / Node loops that only sleep and send) in the first N repetitions (default 1; 0: none)
  --node-receiver   stamp arrivals in a Node receiver (user space) even if python3 is there
  --no-js-pacer     when the native pacer is built, do not also run "rtpcast JS pacer" (RTPCAST_NO_NATIVE=1)
  --no-rt-pacer     nor "rtpcast SCHED_FIFO pacer" (RTPCAST_PACER_RT=1: the native pacer's thread in SCHED_FIFO)
  --no-per-packet   nor "rtpcast packets built in Node" (RTPCAST_NO_FILE_RUNS=1: L16 without file runs)
  --no-docs         print the tables only; do not rewrite docs/BENCHMARKS.md
  --docs FILE       rewrite this file's bench-send section instead of docs/BENCHMARKS.md`;
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
  const timeVersion = time ? spawnSync(time, ['--version'], { encoding: 'utf8' }) : undefined;
  if (!time || !timeVersion || !/GNU/.test(`${timeVersion.stdout}${timeVersion.stderr}`)) {
    throw new Error('GNU time (/usr/bin/time) is needed to measure the CPU of a process tree: install it (Debian/Ubuntu: sudo apt install time)');
  }
  if (!ffmpeg) throw new Error('ffmpeg is not on PATH (Debian/Ubuntu: sudo apt install ffmpeg)');
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first (npx tsc -p .)`);
  const python = args.nodeReceiver ? undefined : findOnPath('python3');
  const clk = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

  tempDir = mkdtempSync(join(tmpdir(), 'rtpcast-bench-'));
  const input = join(tempDir, 'in.wav');
  writeFileSync(input, encodeWavS16(testSignal(args.seconds, RATE), RATE, CHANNELS));
  // which pacer the rtpcast runs get (the JS one everywhere when the addon is not built)
  const { loadPacerAddon } = require(join(ROOT, 'dist', 'src', 'rtp', 'native-pacer.js')) as typeof import('../src/rtp/native-pacer');
  const pacerLoad = loadPacerAddon(toolEnv('rtpcast', process.env));
  const rtpcastPacer = pacerLoad.addon ? 'native pacer' : 'JS pacer';
  if (!pacerLoad.addon) process.stderr.write(`bench-send: rtpcast runs with its JS pacer: ${pacerLoad.error}\n`);
  const env: Env = { ...args, dir: tempDir, input, ffmpeg, time, python, receiver: python ? 'kernel' : 'node', clkTck: clk, rtpcastPacer };
  if (python) {
    // a receiver that cannot start (no SO_TIMESTAMPNS, odd python) falls back to the Node one
    try {
      await (await startKernelReceiver(python)).stop();
    } catch (e) {
      process.stderr.write(`bench-send: kernel-timestamp receiver unusable (${(e as Error).message}); using the Node receiver\n`);
      env.receiver = 'node';
    }
  }
  const machine = machineInfo(ffmpeg, time, env.receiver === 'kernel' ? python : undefined);

  const tools: Tool[] = args.paced ? ['rtpcast', 'ffmpeg', 'ffmpeg-paced'] : ['rtpcast', 'ffmpeg'];
  if (env.rtpcastPacer === 'native pacer' && args.jsPacer) tools.splice(1, 0, 'rtpcast-js');
  if (env.rtpcastPacer === 'native pacer' && args.rtPacer) tools.splice(1, 0, 'rtpcast-rt');
  if (env.rtpcastPacer === 'native pacer' && args.packetsCase) tools.splice(1, 0, 'rtpcast-packets');
  const floors: Tool[] = args.floorReps > 0 ? buildFloors(tempDir) : [];
  // file runs are for L16 only: the per-packet case of Opus would repeat "rtpcast"
  const cases: CaseSpec[] = (['l16', 'opus'] as Codec[]).flatMap((codec) => [...tools, ...floors].filter((tool) => tool !== 'rtpcast-packets' || codec === 'l16').map((tool) => ({ tool, codec })));
  const inRep = (c: CaseSpec, rep: number) => !floors.includes(c.tool) || rep < args.floorReps;
  const total = Array.from({ length: env.reps }, (_, rep) => cases.filter((c) => inRep(c, rep)).length).reduce((a, b) => a + b, 0);
  process.stderr.write(`bench-send: ${total} runs of ${env.seconds} s (about ${Math.ceil((total * (env.seconds + 2)) / 60)} min); ${env.receiver === 'kernel' ? 'kernel' : 'Node receiver'} timestamps; input ${input}\n`);
  const t0 = Date.now();
  const results: RunResult[] = [];
  let order = 0;
  for (let rep = 0; rep < env.reps; rep++) {
    // rtpcast, ffmpeg, ... then the next repetition in reverse order within each codec: no tool
    // always runs first.
    const seq = (['l16', 'opus'] as Codec[]).flatMap((codec) => {
      const cs = cases.filter((c) => c.codec === codec && inRep(c, rep));
      return rep % 2 === 0 ? cs : [...cs].reverse();
    });
    for (const c of seq) {
      order++;
      const r = await runOne(c, rep, order, env);
      results.push(r);
      const p = r.pacing;
      process.stderr.write(
        `  [${order}/${total}] rep ${rep + 1} ${label(c).padEnd(21)} ${r.ok ? '' : `FAILED (${r.error}) `}CPU ${f2(r.cpu)} s, ${r.packets} packets (${r.sizes}), interval p50/p99/max ${triple(p?.interval)} ms, schedule ${triple(p?.schedule)} ms, user-space interval p99 ${fmtMs(r.pacingUser?.interval.p99 ?? NaN)} ms, machine ${pct(r.machineBusy)} busy\n`,
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

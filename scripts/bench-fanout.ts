/**
 * Benchmark: what many listeners cost `rtpcast send`. The same sender (test tone, L16 and Opus)
 * runs three times side by side in one run:
 *   - 1 unicast destination,
 *   - 50 unicast destinations (the packet is encoded once and sent 50 times),
 *   - 1 multicast group with 50 listeners (sent once; the network copies it),
 * and the CPU time (user + system, GNU time) of each sender is reported as a ratio to the
 * 1-destination case. A counting receiver (a separate process: this script with --receive) listens
 * on all 50 unicast ports, or with 50 sockets joined to the group, and checks that every listener
 * got every packet the sender reports (RTP sequence numbers: none missing, none twice).
 *
 * Everything runs in a private network namespace (root: multicast on its loopback, never on the
 * host's interfaces); without root the unicast cases run on the host's loopback and multicast is
 * reported as not run.
 *
 *   npm run bench:fanout                                      # 30 s per case, writes docs/BENCHMARKS.md
 *   npx tsc -p . && node dist/scripts/bench-fanout.js --seconds 5 --no-docs   # a quick look
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write';
import { createMulticastNetns, type Netns } from '../test/support/netns';
import { markdownTable, parseGnuTime, parseRtpHeader, replaceSection, textTable } from './bench-lib';

const CLI = resolve(__dirname, '..', 'src', 'cli', 'main.js');
const DOC = resolve(__dirname, '..', '..', 'docs', 'BENCHMARKS.md');
const LISTENERS = 50;
const BASE_PORT = 21000;
const GROUP = '239.255.77.1';
const GROUP_PORT = 21500;
const NOTE =
  "CPU includes Node's start-up (about 0.2 s per run). On loopback the kernel copies a multicast packet to the 50 " +
  "listening sockets inside the sender's send call, so the multicast case is charged that delivery; on a real LAN " +
  "the switch makes the copies and the sender's cost stays that of one destination.";

// ---------------------------------------------------------------------------------------------
// Receiver mode: node bench-fanout.js --receive PORTS [--group G]

interface ListenerCount {
  port: number;
  packets: number;
  unique: number;
  duplicates: number;
  malformed: number;
  ssrcs: number;
}

async function receiveMode(ports: number[], group: string | undefined, listeners: number): Promise<void> {
  const socks: { s: Socket; c: ListenerCount; seen: Uint8Array; ssrc: Set<number> }[] = [];
  const n = group ? listeners : ports.length;
  for (let i = 0; i < n; i++) {
    const port = group ? ports[0] : ports[i];
    const s = createSocket({ type: 'udp4', reuseAddr: !!group });
    const entry = { s, c: { port, packets: 0, unique: 0, duplicates: 0, malformed: 0, ssrcs: 0 }, seen: new Uint8Array(65536), ssrc: new Set<number>() };
    s.on('message', (b) => {
      const h = parseRtpHeader(b);
      if (!h) {
        entry.c.malformed++;
        return;
      }
      entry.c.packets++;
      entry.ssrc.add(h.ssrc);
      if (entry.seen[h.sequence]) entry.c.duplicates++;
      else {
        entry.seen[h.sequence] = 1;
        entry.c.unique++;
      }
    });
    await new Promise<void>((r) => s.bind(port, group ? undefined : '127.0.0.1', () => r()));
    if (group) s.addMembership(group);
    socks.push(entry);
  }
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    const out = socks.map((e) => ({ ...e.c, ssrcs: e.ssrc.size }));
    process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

type CaseId = 'unicast-1' | 'unicast-50' | 'multicast';
const CASES: { id: CaseId; label: string }[] = [
  { id: 'unicast-1', label: '1 unicast destination' },
  { id: 'unicast-50', label: `${LISTENERS} unicast destinations` },
  { id: 'multicast', label: `1 multicast group, ${LISTENERS} listeners` },
];
const CODECS = ['l16', 'opus'] as const;

interface CaseResult {
  codec: string;
  id: CaseId;
  cpuSec: number;
  elapsedSec: number;
  packetsSent: number;
  listeners: number;
  /** listeners that got every packet exactly once */
  complete: number;
  worst: string;
  error?: string;
}

function portsFor(id: CaseId): number[] {
  if (id === 'multicast') return [GROUP_PORT];
  const n = id === 'unicast-1' ? 1 : LISTENERS;
  return Array.from({ length: n }, (_, i) => BASE_PORT + 2 * i); // RTCP takes port + 1
}

async function runCase(codec: string, id: CaseId, seconds: number, prefix: readonly string[], dir: string, time: string): Promise<CaseResult> {
  const ports = portsFor(id);
  const r: CaseResult = { codec, id, cpuSec: NaN, elapsedSec: NaN, packetsSent: 0, listeners: id === 'unicast-1' ? 1 : LISTENERS, complete: 0, worst: '' };
  const recvArgs = [...prefix, process.execPath, __filename, '--receive', ports.join(','), ...(id === 'multicast' ? ['--group', GROUP, '--listeners', String(LISTENERS)] : [])];
  const rx = spawn(recvArgs[0], recvArgs.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let rxOut = '';
  rx.stdout.on('data', (b: Buffer) => (rxOut += b.toString()));
  const ready = await new Promise<boolean>((res) => {
    const t = setTimeout(() => res(false), 10_000);
    rx.stdout.on('data', () => rxOut.includes('ready') && (clearTimeout(t), res(true)));
    rx.on('exit', () => (clearTimeout(t), res(false)));
  });
  if (!ready) {
    rx.kill('SIGKILL');
    r.error = 'the receiver did not start';
    return r;
  }
  const dests = id === 'multicast' ? [`${GROUP}:${GROUP_PORT}`] : ports.map((p) => `127.0.0.1:${p}`);
  const timeFile = join(dir, `time-${codec}-${id}.txt`);
  const argv = [...prefix, time, '-f', '%U %S %e', '-o', timeFile, process.execPath, CLI, 'send', '--tone', '440', '--codec', codec, ...dests.flatMap((d) => ['--dest', d]), '--duration', String(seconds), '--json'];
  const tx = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: (seconds + 60) * 1000, maxBuffer: 64 * 1024 * 1024 });
  await new Promise((res) => setTimeout(res, 500)); // the last packets in flight
  const rxDone = new Promise<void>((res) => rx.on('exit', () => res()));
  rx.kill('SIGTERM');
  await Promise.race([rxDone, new Promise((res) => setTimeout(res, 5000))]);
  rx.kill('SIGKILL');
  const stop = tx.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).find((e) => e.event === 'stop');
  const t = parseGnuTime(safeRead(timeFile));
  if (tx.status !== 0 || !stop || !t) {
    r.error = `sender failed (exit ${tx.status}): ${tx.stderr.trim().split('\n').slice(-3).join(' / ')}`;
    return r;
  }
  r.cpuSec = t.user + t.sys;
  r.elapsedSec = t.elapsed;
  r.packetsSent = stop.packets;
  const line = rxOut.split('\n').find((l) => l.startsWith('['));
  const counts: ListenerCount[] = line ? JSON.parse(line) : [];
  r.complete = counts.filter((c) => c.unique === r.packetsSent && c.packets === r.packetsSent && c.ssrcs === 1).length;
  const worst = counts.reduce<ListenerCount | undefined>((w, c) => (!w || c.unique < w.unique || c.duplicates > w.duplicates ? c : w), undefined);
  r.worst = worst ? `${worst.unique}/${r.packetsSent} unique, ${worst.duplicates} duplicates (port ${worst.port})` : 'no receiver report';
  return r;
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function fmt(v: number, d = 2): string {
  return Number.isFinite(v) ? v.toFixed(d) : '-';
}

function render(results: CaseResult[], seconds: number, started: Date, minutes: number, where: string): { text: string; md: string } {
  const head = ['codec', 'case', 'CPU s', 'CPU % of media time', 'ratio to 1 unicast', 'packets sent', 'listeners with every packet'];
  const rows = results.map((r) => {
    const base = results.find((x) => x.codec === r.codec && x.id === 'unicast-1');
    const ratio = base ? r.cpuSec / base.cpuSec : NaN;
    return [
      r.codec === 'l16' ? 'L16 48 kHz stereo, 5 ms' : 'Opus 128 kb/s, 20 ms',
      CASES.find((c) => c.id === r.id)!.label,
      r.error ? 'not run' : fmt(r.cpuSec),
      r.error ? '-' : `${fmt((100 * r.cpuSec) / seconds, 1)} %`,
      r.error ? r.error : `${fmt(ratio)}x`,
      r.error ? '-' : String(r.packetsSent),
      r.error ? '-' : `${r.complete}/${r.listeners}${r.complete < r.listeners ? ` (worst: ${r.worst})` : ''}`,
    ];
  });
  const verdicts: string[] = [];
  for (const codec of CODECS) {
    const one = results.find((r) => r.codec === codec && r.id === 'unicast-1');
    const many = results.find((r) => r.codec === codec && r.id === 'unicast-50');
    const mc = results.find((r) => r.codec === codec && r.id === 'multicast');
    if (one && many && !one.error && !many.error) {
      const extra = (many.cpuSec - one.cpuSec) / (LISTENERS - 1);
      verdicts.push(`- ${codec === 'l16' ? 'L16' : 'Opus'}: ${LISTENERS} unicast destinations cost ${fmt(many.cpuSec / one.cpuSec)}x the CPU of one (each extra destination ${fmt((100 * extra) / seconds, 2)} % of a core: one sendmsg per packet); a multicast group with ${LISTENERS} listeners costs ${mc && !mc.error ? `${fmt(mc.cpuSec / one.cpuSec)}x` : 'n/a'}.`);
    }
  }
  const body = [
    '## One sender, many listeners: 1 vs 50 unicast destinations vs multicast',
    '',
    `Last run: **${started.toISOString().replace(/\.\d+Z$/, 'Z')}**, ${seconds} s per case, ${minutes.toFixed(1)} minutes. Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? '?'}; linux ${release()}; Node ${process.version}. ${where}`,
    '',
    '`rtpcast send --tone 440 --codec CODEC --duration S` with 1, then 50 `--dest 127.0.0.1:PORT`, then one `--dest 239.255.77.1:PORT`;',
    'CPU time (user + system) of the sender from GNU time. rtpcast encodes each packet once and hands the same',
    'buffer to every destination\'s socket (src/rtp/sender.ts, src/transport/udp.ts), so the 50-destination cost is',
    '50 sendmsg() calls per packet, not 50 encoders. A counting receiver (a separate process) listens on all 50',
    'ports (or with 50 sockets in the group) and checks each listener got every packet the sender reports,',
    'by RTP sequence number, exactly once. The cases run one after the other on a shared machine: compare within a run.',
    '',
    markdownTable(head, rows),
    '',
    ...verdicts,
    '',
    NOTE,
    '',
    'How to run: `npm run bench:fanout` (30 s per case, about 4 minutes; root for the multicast case), or',
    '`npx tsc -p . && node dist/scripts/bench-fanout.js --seconds 5 --no-docs` for a quick look.',
  ].join('\n');
  return { text: textTable(head, rows) + '\n' + verdicts.join('\n'), md: body };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (args.includes('--receive')) {
    const ports = (arg('--receive') ?? '').split(',').map(Number).filter((p) => p > 0);
    await receiveMode(ports, arg('--group'), Number(arg('--listeners') ?? LISTENERS));
    return;
  }
  const seconds = Number(arg('--seconds') ?? 30);
  if (!(seconds > 0)) throw new Error('--seconds must be a positive number');
  const time = '/usr/bin/time';
  if (spawnSync(time, ['-f', '%U', 'true'], { encoding: 'utf8' }).status !== 0) throw new Error('GNU time not found: sudo apt-get install time');
  const started = new Date();
  const dir = mkdtempSync(join(tmpdir(), 'rtpcast-fanout-'));
  let ns: Netns | undefined;
  let where: string;
  try {
    try {
      ns = createMulticastNetns('fanout');
      where = 'Senders and receivers in a private network namespace (loopback with multicast).';
    } catch (e) {
      where = `Unicast on the host loopback; multicast not run (${(e as Error).message.split(':')[0]}).`;
    }
    const prefix = ns?.exec ?? [];
    const results: CaseResult[] = [];
    for (const codec of CODECS) {
      for (const c of CASES) {
        if (c.id === 'multicast' && !ns) {
          results.push({ codec, id: c.id, cpuSec: NaN, elapsedSec: NaN, packetsSent: 0, listeners: LISTENERS, complete: 0, worst: '', error: 'needs root (private network namespace)' });
          continue;
        }
        process.stderr.write(`bench-fanout: ${codec} ${c.label}, ${seconds} s...\n`);
        const r = await runCase(codec, c.id, seconds, prefix, dir, time);
        process.stderr.write(`  ${r.error ?? `CPU ${fmt(r.cpuSec)} s, ${r.complete}/${r.listeners} listeners got all ${r.packetsSent} packets`}\n`);
        results.push(r);
      }
    }
    const minutes = (Date.now() - started.getTime()) / 60000;
    const out = render(results, seconds, started, minutes, where);
    process.stdout.write(out.text + '\n');
    if (!args.includes('--no-docs')) {
      const doc = readFileSync(DOC, 'utf8');
      writeFileAtomic(DOC, replaceSection(doc, '<!-- bench-fanout:start -->', '<!-- bench-fanout:end -->', out.md));
      process.stderr.write(`bench-fanout: wrote ${DOC}\n`);
    }
    const incomplete = results.filter((r) => !r.error && r.complete < r.listeners);
    if (incomplete.length) process.exitCode = 1;
  } finally {
    ns?.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  process.stderr.write(`bench-fanout: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});

/**
 * A real UDP flood on loopback for the resource-limit tests (issue #6): test/support/udp-flood.c,
 * compiled with gcc at test time (one Node process cannot send 200,000 datagrams/s; sendmmsg from
 * C threads can), and the kernel's own UDP counters to account for every datagram.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProgram } from '../../src/os/programs';
import type { Proc } from './procs';

/** test/support/udp-flood.c in the source tree (this file runs from dist/test/support). */
const FLOOD_SOURCE = join(__dirname, '..', '..', '..', 'test', 'support', 'udp-flood.c');

/** Compiles udp-flood.c into `dir`; a missing gcc fails the test with how to install it. */
export function buildFlood(dir: string): string {
  const gcc = findProgram('gcc');
  if (!gcc) throw new Error('gcc not found: the flood generator is compiled at test time (sudo apt-get install gcc libc6-dev)');
  const bin = join(dir, 'udp-flood');
  const r = spawnSync(gcc, ['-O2', '-pthread', '-Wall', '-o', bin, FLOOD_SOURCE], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`gcc could not build ${FLOOD_SOURCE} (is libc6-dev installed? sudo apt-get install gcc libc6-dev):\n${r.stderr}${r.error ? r.error.message : ''}`);
  return bin;
}

export interface FloodResult {
  /** datagrams the kernel accepted from the generator (sendmmsg's return values) */
  sent: number;
  /** sendmmsg calls that failed */
  errors: number;
  seconds: number;
  /** datagrams sent in each 100 ms window */
  windows: number[];
}

/** The generator's command line: `threads` threads, sockets bound to `from`, `rate` datagrams/s in all to to:port for `seconds`. */
export function floodArgv(bin: string, o: { from: string; to: string; port: number; rate: number; seconds: number; threads: number }): string[] {
  return [bin, o.from, o.to, String(o.port), String(o.rate), String(o.seconds), String(o.threads)];
}

/** The generator's result line (once it has exited). */
export function floodResult(p: Proc): FloodResult {
  const line = p.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as FloodResult;
  } catch {
    throw new Error(`udp-flood printed no result:\n${p.describe()}`);
  }
}

/** The lowest rate over any whole second of the flood (10 consecutive 100 ms windows), datagrams/s. */
export function slowestSecond(windows: readonly number[]): number {
  let min = Infinity;
  for (let i = 0; i + 10 <= windows.length; i++) {
    let s = 0;
    for (let k = i; k < i + 10; k++) s += windows[k];
    min = Math.min(min, s);
  }
  return min;
}

/** The Udp line of /proc/net/snmp (this network namespace): InDatagrams, NoPorts, RcvbufErrors, OutDatagrams... */
export function udpCounters(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  if (lines.length < 2) throw new Error('no Udp counters in /proc/net/snmp');
  const names = lines[0].trim().split(/\s+/).slice(1);
  const values = lines[1].trim().split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/**
 * The sockets bound to UDP `port` in /proc/net/udp (IPv4): each one's receive queue (bytes) and
 * `drops` (datagrams the kernel dropped because its receive buffer was full).
 */
export function udpSocketDrops(port: number): { rxQueue: number; drops: number }[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: { rxQueue: number; drops: number }[] = [];
  for (const l of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length < 13 || f[1].split(':')[1] !== hexPort) continue;
    out.push({ rxQueue: parseInt(f[4].split(':')[1], 16), drops: Number(f[f.length - 1]) });
  }
  return out;
}

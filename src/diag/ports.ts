/**
 * `rtpcast diag ports --port P...`: can a receiver bind these UDP ports, and if not, who holds them?
 * A port is free when a UDP bind succeeds (on 0.0.0.0 and on ::, as a receiver binds); a busy port's
 * holder is named from `ss` (Linux), `lsof` (macOS) or Get-NetUDPEndpoint (Windows). On Windows a
 * port inside a range Hyper-V/WinNAT reserves cannot be bound although nothing listens.
 */
import { createSocket } from 'node:dgram';
import { runProgram } from '../os/run';
import { usageError } from '../errors';
import type { DiagReport, Finding } from './report';
import { whichSystemProgram, type Runner } from './firewall';
import {
  parseExcludedRanges,
  parseGetProcessJson,
  parseLsofUdp,
  parseNetUdpEndpointJson,
  parseSsUdp,
  rangeContaining,
  type ExcludedRange,
  type UdpSocketInfo,
} from '../os/ports-parse';

export type BindOutcome = 'free' | 'busy' | 'denied' | 'unavailable';

export interface PortsCheckOptions {
  platform?: NodeJS.Platform;
  run?: Runner;
  which?: (name: string) => string | undefined;
  /** addresses to try to bind (default 0.0.0.0 and ::, what a receiver binds) */
  hosts?: string[];
  /** the bind test (default: a real UDP socket, closed at once) */
  tryBind?: (port: number, host: string) => Promise<BindOutcome>;
}

/** Binds a UDP socket on host:port and closes it at once. */
export function tryBindUdp(port: number, host: string): Promise<BindOutcome> {
  return new Promise((resolve) => {
    const v6 = host.includes(':');
    let s: ReturnType<typeof createSocket>;
    try {
      s = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    } catch {
      resolve('unavailable');
      return;
    }
    s.once('error', (e: NodeJS.ErrnoException) => {
      try {
        s.close();
      } catch {
        /* never bound */
      }
      resolve(e.code === 'EADDRINUSE' ? 'busy' : e.code === 'EACCES' || e.code === 'EPERM' ? 'denied' : 'unavailable');
    });
    s.bind({ port, address: host, exclusive: true }, () => {
      s.close(() => resolve('free'));
    });
  });
}

async function runText(run: Runner, exe: string, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  try {
    const r = await run(exe, args, { timeoutMs });
    return { ok: r.code === 0 && !r.timedOut, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    return { ok: false, stdout: '', stderr: (e as Error).message };
  }
}

function powershellArgs(script: string): string[] {
  return ['-NoProfile', '-NonInteractive', '-Command', script];
}

interface Lookup {
  sockets: UdpSocketInfo[];
  /** how the holders were found, for the report */
  tool?: string;
  error?: string;
}

async function holdersOf(port: number, platform: NodeJS.Platform, run: Runner, which: (n: string) => string | undefined): Promise<Lookup> {
  if (platform === 'win32') {
    const ps = which('powershell') ?? 'powershell';
    const e = await runText(run, ps, powershellArgs(`Get-NetUDPEndpoint -LocalPort ${port} -ErrorAction SilentlyContinue | Select-Object LocalAddress,LocalPort,OwningProcess | ConvertTo-Json`), 30_000);
    if (!e.ok && !e.stdout.trim()) return { sockets: [], tool: 'Get-NetUDPEndpoint', error: e.stderr.trim() || 'PowerShell failed' };
    let sockets: UdpSocketInfo[];
    try {
      sockets = parseNetUdpEndpointJson(e.stdout).filter((s) => s.localPort === port);
    } catch (err) {
      return { sockets: [], tool: 'Get-NetUDPEndpoint', error: (err as Error).message };
    }
    const pids = [...new Set(sockets.flatMap((s) => s.holders.map((h) => h.pid)))];
    if (pids.length) {
      const p = await runText(run, ps, powershellArgs(`Get-Process -Id ${pids.join(',')} -ErrorAction SilentlyContinue | Select-Object Name,Id | ConvertTo-Json`), 30_000);
      let names = new Map<number, string>();
      try {
        names = parseGetProcessJson(p.stdout);
      } catch {
        /* names stay unknown */
      }
      for (const s of sockets) for (const h of s.holders) h.name = names.get(h.pid) ?? h.name;
    }
    return { sockets, tool: 'Get-NetUDPEndpoint' };
  }
  if (platform === 'linux') {
    const ss = which('ss');
    if (ss) {
      const r = await runText(run, ss, ['-H', '-u', '-a', '-n', '-p', `sport = :${port}`]);
      if (r.ok) return { sockets: parseSsUdp(r.stdout).filter((s) => s.localPort === port), tool: 'ss' };
    }
  }
  const lsof = which('lsof');
  if (lsof) {
    const r = await runText(run, lsof, ['-nP', `-iUDP:${port}`, '-F', 'pcn']);
    // lsof exits 1 when nothing matched
    return { sockets: parseLsofUdp(r.stdout).filter((s) => s.localPort === port), tool: 'lsof' };
  }
  return { sockets: [], error: platform === 'linux' ? 'neither ss nor lsof is installed (sudo apt-get install iproute2)' : 'lsof is not installed' };
}

function holderText(sockets: UdpSocketInfo[]): { who: string; pids: number[] } {
  const byPid = new Map<number, { name?: string; addrs: string[] }>();
  for (const s of sockets) {
    for (const h of s.holders) {
      const e = byPid.get(h.pid) ?? { name: h.name, addrs: [] };
      const a = `${s.localAddress.includes(':') ? `[${s.localAddress}]` : s.localAddress}:${s.localPort}`;
      if (!e.addrs.includes(a)) e.addrs.push(a);
      e.name ??= h.name;
      byPid.set(h.pid, e);
    }
  }
  const who = [...byPid.entries()].map(([pid, e]) => `${e.name ?? 'a program'} (pid ${pid}) on ${e.addrs.join(' and ')}`).join(', ');
  return { who, pids: [...byPid.keys()] };
}

function killCommand(platform: NodeJS.Platform, pids: number[]): string {
  if (platform === 'win32') return `Stop-Process -Id ${pids.join(',')}   (PowerShell; or: taskkill /PID ${pids.join(' /PID ')})`;
  return `kill ${pids.join(' ')}`;
}

/** A nearby even port (RTP's convention: RTP even, RTCP the next one) whose pair binds. */
async function suggestPort(port: number, tryBind: (p: number, h: string) => Promise<BindOutcome>, hosts: string[], avoid: (p: number) => boolean): Promise<number | undefined> {
  let p = port % 2 === 0 ? port + 2 : port + 1;
  for (let i = 0; i < 20 && p < 65535; i++, p += 2) {
    if (avoid(p) || avoid(p + 1)) continue;
    let ok = true;
    for (const q of [p, p + 1]) {
      for (const h of hosts) {
        const r = await tryBind(q, h);
        if (r === 'busy' || r === 'denied') ok = false;
      }
    }
    if (ok) return p;
  }
  return undefined;
}

/**
 * Checks each UDP port. Finding ids: port.free (ok), port.busy (problem: names the process and
 * pid), port.excluded (problem, Windows: inside a reserved range), port.privileged (< 1024: a note,
 * or a problem when the bind was refused), port.denied (problem: the bind was refused otherwise).
 */
export async function checkPorts(ports: number[], o: PortsCheckOptions = {}): Promise<DiagReport> {
  for (const p of ports) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw usageError(`--port must be a UDP port number (1-65535), not ${p}`);
  }
  const platform = o.platform ?? process.platform;
  const run = o.run ?? runProgram;
  const which = o.which ?? ((n: string) => whichSystemProgram(n, platform));
  const hosts = o.hosts ?? ['0.0.0.0', '::'];
  const tryBind = o.tryBind ?? tryBindUdp;
  const findings: Finding[] = [];
  const portData: unknown[] = [];

  let excluded: ExcludedRange[] = [];
  let excludedError: string | undefined;
  if (platform === 'win32') {
    const r = await runText(run, which('netsh') ?? 'netsh', ['interface', 'ipv4', 'show', 'excludedportrange', 'protocol=udp']);
    if (r.ok) excluded = parseExcludedRanges(r.stdout);
    else excludedError = r.stderr.trim() || 'netsh failed';
  }

  for (const port of [...new Set(ports)]) {
    const binds: Record<string, BindOutcome> = {};
    for (const h of hosts) binds[h] = await tryBind(port, h);
    const outcomes = Object.values(binds);
    const busy = outcomes.includes('busy');
    const denied = outcomes.includes('denied');
    const range = rangeContaining(excluded, port);
    const entry: Record<string, unknown> = { port, binds, ...(range ? { excludedRange: range } : {}) };
    portData.push(entry);

    if (range) {
      findings.push({
        id: 'port.excluded',
        severity: 'problem',
        title: `UDP port ${port} is inside the range ${range.start}-${range.end} that Windows reserves${range.administered ? ' (an administrator\'s exclusion)' : ''}`,
        detail: 'the port is inside a range Windows reserves (Hyper-V/WinNAT): a bind fails though nothing listens (netsh interface ipv4 show excludedportrange protocol=udp lists the ranges)',
        fix: range.administered
          ? `netsh int ipv4 delete excludedportrange protocol=udp startport=${range.start} numberofports=${range.end - range.start + 1}   (as administrator), or use a port outside ${range.start}-${range.end}`
          : `use a port outside ${range.start}-${range.end} on both sides (e.g. rtpcast send --dest HOST:PORT), or, as administrator: net stop winnat, then reserve yours with netsh int ipv4 add excludedportrange protocol=udp startport=${port} numberofports=2, then net start winnat`,
      });
    }

    if (busy || (platform === 'win32' && !range)) {
      const look = await holdersOf(port, platform, run, which);
      const { who, pids } = holderText(look.sockets);
      entry.holders = look.sockets;
      if (look.error) entry.lookupError = look.error;
      if (busy || pids.length) {
        const alt = await suggestPort(port, tryBind, hosts, (p) => !!rangeContaining(excluded, p));
        const altText = alt ? `or use another port on both sides, e.g. rtpcast send --dest HOST:${alt} (and receive on ${alt})` : 'or use another port on both sides';
        const cannotSee = busy && !pids.length;
        findings.push({
          id: 'port.busy',
          severity: 'problem',
          title: cannotSee ? `UDP port ${port} is in use by a program this user cannot see` : `UDP port ${port} is in use by ${who}`,
          detail: cannotSee
            ? `${look.error ? `${look.error}; ` : ''}${platform === 'win32' ? 'run PowerShell as administrator' : `run as root to see which program holds it: sudo rtpcast diag ports --port ${port}`}`
            : `a receiver cannot bind ${port} while ${pids.length > 1 ? 'they hold' : 'it holds'} it${busy ? '' : ' (Windows let the test bind succeed, but the program bound to a specific address gets the packets)'}; an old receiver (VLC, ffplay, rtpcast play) left running is the usual cause`,
          fix: cannotSee ? `sudo ss -u -a -n -p 'sport = :${port}'   then stop that program, ${altText}` : `stop it: ${killCommand(platform, pids)}\n${altText}`,
        });
        continue;
      }
    }
    if (denied && !range) {
      if (port < 1024 && platform !== 'win32') {
        findings.push({
          id: 'port.privileged',
          severity: 'problem',
          title: `binding UDP port ${port} was refused: ports below 1024 are privileged`,
          detail: 'only root (or a program with CAP_NET_BIND_SERVICE) may bind them',
          fix: 'use a port of 1024 or above on both sides, e.g. 5004 (the RTP convention)',
        });
      } else {
        findings.push({
          id: 'port.denied',
          severity: 'problem',
          title: `binding UDP port ${port} was refused (permission denied)`,
          detail: platform === 'win32' ? (excludedError ? `the reserved ranges could not be read: ${excludedError}` : 'another program may hold it exclusively') : 'a security policy (SELinux/AppArmor) or a sandbox refused the bind',
          fix: 'use another port on both sides, e.g. rtpcast send --dest HOST:5004',
        });
      }
      continue;
    }
    if (range) continue;
    if (outcomes.every((x) => x === 'unavailable')) {
      findings.push({ id: 'port.unknown', severity: 'unknown', title: `could not test UDP port ${port} (no address to bind)`, detail: JSON.stringify(binds) });
      continue;
    }
    findings.push({
      id: 'port.free',
      severity: 'ok',
      title: `UDP port ${port} is free`,
      detail: `a receiver can bind it (${Object.entries(binds)
        .filter(([, v]) => v === 'free')
        .map(([h]) => h)
        .join(' and ')})`,
    });
    if (port < 1024) {
      findings.push({
        id: 'port.privileged',
        severity: 'info',
        title: `UDP port ${port} is below 1024`,
        detail: platform === 'win32' ? 'Windows does not restrict it, but Linux and macOS receivers need root to bind it' : 'only root may bind it on Linux and macOS (this check may run as root); RTP normally uses 5004',
      });
    }
  }
  return { check: 'ports', findings, data: { platform, hosts, ports: portData, ...(excludedError ? { excludedRangesError: excludedError } : {}), ...(platform === 'win32' ? { excludedRanges: excluded } : {}) } };
}

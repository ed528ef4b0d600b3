/**
 * UDP listening for the diag checks (packets, format): bind, a large receive buffer, the multicast
 * join, the kernel's count of datagrams it dropped for our socket, and a short scan of other ports.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { classifyDatagram, type DatagramKind } from './classify';
import { fmtAddr, normalizeAddress } from './counter';

export interface ListenOptions {
  port: number;
  /** local address (default: all addresses of the family) */
  bind?: string;
  /** multicast group to join */
  group?: string;
  /** with a group: source-specific join (SSM) of this sender */
  source?: string;
  /** local interface address for the join */
  multicastInterface?: string;
  /** receive buffer to ask for (the kernel caps it at net.core.rmem_max) */
  recvBufferBytes?: number;
}

export interface Listener {
  sock: Socket;
  port: number;
  family: 4 | 6;
  bindAddress: string;
  /** what the kernel granted (Linux reports twice the usable size) */
  recvBufferBytes: number | null;
  joined: boolean;
  joinError: string | null;
  /** the socket's inode (Linux), to find it in /proc/net/udp */
  inode: number | null;
  close(): Promise<void>;
}

export class BindError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Binds (exclusively, unless a multicast group is joined) and joins; rejects with BindError. */
export async function openListener(o: ListenOptions, onMessage: (msg: Buffer, r: RemoteInfo) => void): Promise<Listener> {
  const v6 = (o.group !== undefined && isIPv6(o.group)) || (o.bind !== undefined && isIPv6(o.bind));
  const family = v6 ? 6 : 4;
  const bindAddress = o.bind ?? (v6 ? '::' : '0.0.0.0');
  const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: o.group !== undefined });
  sock.on('message', onMessage);
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      try { sock.close(); } catch { /* closed */ }
      reject(new BindError(`cannot listen on UDP ${fmtAddr(bindAddress)}:${o.port}: ${e.message}`, e.code));
    };
    sock.once('error', onError);
    sock.bind({ port: o.port, address: bindAddress, exclusive: true }, () => {
      sock.off('error', onError);
      resolve();
    });
  });
  sock.on('error', () => { /* a receive error must not crash the check */ });
  let recvBufferBytes: number | null = null;
  try {
    sock.setRecvBufferSize(o.recvBufferBytes ?? defaultRecvBuffer());
  } catch { /* capped or refused: keep the default */ }
  try {
    recvBufferBytes = sock.getRecvBufferSize();
  } catch { /* unknown */ }
  let joined = false;
  let joinError: string | null = null;
  if (o.group) {
    try {
      if (o.source) sock.addSourceSpecificMembership(o.source, o.group, o.multicastInterface);
      else sock.addMembership(o.group, o.multicastInterface);
      joined = true;
    } catch (e) {
      joinError = (e as Error).message;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    sock, port: sock.address().port, family, bindAddress, recvBufferBytes, joined, joinError, inode: socketInode(sock.address().port, family),
    close() {
      closing ??= new Promise<void>((resolve) => {
        try { sock.close(() => resolve()); } catch { resolve(); }
      });
      return closing;
    },
  };
}

/**
 * The receive buffer to ask for: as much as the kernel allows (net.core.rmem_max), at least 8 MiB,
 * at most 64 MiB. The buffer is what carries a capture through the moments the process does not
 * run (a busy machine): at 100k packets/s of ~1 KiB kernel truesize, 8 MiB is about 80 ms.
 */
export function defaultRecvBuffer(rmemMaxText?: string | null): number {
  let text = rmemMaxText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/sys/net/core/rmem_max', 'utf8');
    } catch {
      text = null;
    }
  }
  const max = Number(text?.trim());
  return Math.min(64 << 20, Math.max(8 << 20, Number.isFinite(max) ? max : 0));
}

/**
 * The inode of our socket bound to `port`: the /proc/net/udp row for the port whose inode is one of
 * this process's open sockets (Linux; null elsewhere or when ambiguous).
 */
function socketInode(port: number, family: 4 | 6): number | null {
  try {
    const mine = new Set<number>();
    for (const fd of readdirSync('/proc/self/fd')) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
        if (m) mine.add(Number(m[1]));
      } catch { /* closed meanwhile */ }
    }
    const rows = parseProcNetUdp(readFileSync(family === 6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8')).filter((r) => r.port === port && mine.has(r.inode));
    return rows.length === 1 ? rows[0].inode : null;
  } catch {
    return null;
  }
}

function parseProcNetUdp(text: string): { port: number; inode: number; drops: number }[] {
  const rows: { port: number; inode: number; drops: number }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const local = f[1].split(':');
    rows.push({ port: parseInt(local[local.length - 1], 16), inode: Number(f[9]), drops: Number(f[f.length - 1]) });
  }
  return rows;
}

/**
 * Datagrams the kernel dropped for this socket (receive buffer full), from /proc/net/udp{,6}'s
 * "drops" column: by inode, else by port when exactly one socket holds it. null when unknown.
 */
export function kernelDrops(l: Pick<Listener, 'inode' | 'port' | 'family'>): number | null {
  let text: string;
  try {
    text = readFileSync(l.family === 6 ? '/proc/net/udp6' : '/proc/net/udp', 'utf8');
  } catch {
    return null;
  }
  return parseProcNetUdpDrops(text, l.inode, l.port);
}

/** Pure part of kernelDrops (exported for tests). */
export function parseProcNetUdpDrops(text: string, inode: number | null, port: number): number | null {
  const rows = parseProcNetUdp(text);
  if (inode !== null) {
    const r = rows.find((x) => x.inode === inode);
    if (r) return r.drops;
  }
  const same = rows.filter((x) => x.port === port);
  return same.length === 1 ? same[0].drops : null;
}

export interface ScanPortResult {
  port: number;
  datagrams: number;
  bytes: number;
  senders: string[];
  kinds: Partial<Record<DatagramKind, number>>;
  /** payload types of RTP-looking datagrams */
  payloadTypes: number[];
}

export interface ScanResult {
  seconds: number;
  listened: number[];
  /** ports another program holds (we could not listen there) */
  busy: number[];
  /** ports that received something */
  active: ScanPortResult[];
}

/** The ports to try when nothing arrives on `port`: port-10..port+10 and the usual RTP ports. */
export function nearbyPorts(port: number, exclude: number[] = []): number[] {
  const usual = [5004, 5006, 5008, 5002, 46000, 46002, 50500, 1234, 9875];
  const out: number[] = [];
  for (let p = port - 10; p <= port + 10; p++) out.push(p);
  out.push(...usual);
  return [...new Set(out)].filter((p) => p >= 1 && p <= 65535 && p !== port && !exclude.includes(p));
}

/** Listens on each port for `seconds` (bounded) and reports which received datagrams. */
export async function scanPorts(ports: number[], o: { bind?: string; group?: string; seconds: number; family?: 4 | 6 }): Promise<ScanResult> {
  const listeners: Listener[] = [];
  const busy: number[] = [];
  const results = new Map<number, ScanPortResult & { senderSet: Set<string>; ptSet: Set<number> }>();
  await Promise.all(ports.map(async (port) => {
    try {
      const l = await openListener({ port, bind: o.bind, group: o.group, recvBufferBytes: 1 << 20 }, (msg, r) => {
        let x = results.get(port);
        if (!x) {
          x = { port, datagrams: 0, bytes: 0, senders: [], kinds: {}, payloadTypes: [], senderSet: new Set(), ptSet: new Set() };
          results.set(port, x);
        }
        x.datagrams++;
        x.bytes += msg.length;
        if (x.senderSet.size < 8) x.senderSet.add(`${fmtAddr(normalizeAddress(r.address))}:${r.port}`);
        if (x.datagrams <= 32) {
          const c = classifyDatagram(msg);
          x.kinds[c.kind] = (x.kinds[c.kind] ?? 0) + 1;
          if (c.detail.kind === 'rtp' && x.ptSet.size < 8) x.ptSet.add(c.detail.payloadType);
        }
      });
      listeners.push(l);
    } catch (e) {
      if (e instanceof BindError && e.code === 'EADDRINUSE') busy.push(port);
    }
  }));
  await new Promise((r) => setTimeout(r, Math.max(0, o.seconds * 1000)));
  await Promise.all(listeners.map((l) => l.close()));
  const active = [...results.values()]
    .map(({ senderSet, ptSet, ...r }) => ({ ...r, senders: [...senderSet], payloadTypes: [...ptSet] }))
    .sort((a, b) => b.datagrams - a.datagrams);
  return { seconds: o.seconds, listened: listeners.map((l) => l.port).sort((a, b) => a - b), busy: busy.sort((a, b) => a - b), active };
}

/** Multicast groups joined per device, from /proc/net/igmp (IPv4; pure parser exported for tests). */
export function parseProcNetIgmp(text: string): { device: string; group: string }[] {
  const out: { device: string; group: string }[] = [];
  let device = '';
  for (const line of text.split('\n').slice(1)) {
    const dev = /^\d+\s+(\S+)\s*:/.exec(line);
    if (dev) {
      device = dev[1];
      continue;
    }
    const g = /^\s+([0-9A-Fa-f]{8})\s/.exec(line);
    if (g && device) {
      const v = parseInt(g[1], 16);
      // host byte order (little-endian on the machines Linux runs on here)
      const ip = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff].join('.');
      out.push({ device, group: ip });
    }
  }
  return out;
}

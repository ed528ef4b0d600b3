import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import { ExitCode, RtpcastError, usageError } from '../errors';

/** Where RTP goes: one receiver (unicast) or one group (multicast). RTCP goes to port + 1. */
export interface Destination {
  /** what the user wrote (a name or an address) */
  host: string;
  /** the resolved numeric address */
  address: string;
  family: 4 | 6;
  port: number;
  multicast: boolean;
}

export const DEFAULT_PORT = 5004;

/** Parses `host:port`, `host`, `[v6]:port`, `v6` (bare IPv6 takes the default port). Pure. */
export function parseHostPort(text: string, defaultPort = DEFAULT_PORT): { host: string; port: number } {
  const t = text.trim();
  if (t === '') throw usageError('empty destination', 'write --dest HOST:PORT, e.g. --dest 192.168.1.20:5004');
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
  if (bracket) {
    host = bracket[1];
    portText = bracket[2];
  } else if (t.indexOf(':') !== t.lastIndexOf(':') && isIP(t) === 6) {
    // (isIP only with two colons or more: its IPv6 pattern costs ~7 ms to compile at start-up)
    host = t;
  } else {
    const i = t.lastIndexOf(':');
    if (i >= 0 && t.indexOf(':') !== i) {
      throw usageError(`"${text}" looks like an IPv6 address with a port but has no brackets`, 'write it as [ADDRESS]:PORT, e.g. [::1]:5004');
    }
    host = i >= 0 ? t.slice(0, i) : t;
    portText = i >= 0 ? t.slice(i + 1) : undefined;
  }
  const port = portText === undefined || portText === '' ? defaultPort : parsePort(portText, text);
  if (host === '') throw usageError(`no host in destination "${text}"`, 'write --dest HOST:PORT, e.g. --dest 127.0.0.1:5004');
  return { host, port };
}

export function parsePort(text: string, context = text): number {
  if (!/^\d+$/.test(text)) throw usageError(`"${text}" is not a port number (in "${context}")`, 'a port is a whole number from 1 to 65534');
  const port = Number(text);
  // RTP uses the even port, RTCP port + 1: the last usable RTP port is 65534.
  if (port < 1 || port > 65534) throw usageError(`port ${port} is out of range (in "${context}")`, 'use a port from 1 to 65534 (RTCP takes port + 1); 5004 is the usual RTP port');
  return port;
}

export function isMulticast(address: string): boolean {
  const fam = isIP(address);
  if (fam === 4) {
    const first = Number(address.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  if (fam === 6) return /^ff/i.test(address);
  return false;
}

/** Resolves a destination's host to an address (numeric ones need no DNS). */
export async function resolveDestination(text: string, defaultPort = DEFAULT_PORT): Promise<Destination> {
  const { host, port } = parseHostPort(text, defaultPort);
  let address = host;
  let family = isIP(host) as 0 | 4 | 6;
  if (family === 0) {
    try {
      const r = await lookup(host);
      address = r.address;
      family = r.family as 4 | 6;
    } catch (e) {
      throw new RtpcastError(
        `cannot resolve "${host}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        ExitCode.network,
        'check the name, or give the receiver\'s IP address instead (on Windows: ipconfig; on Linux: ip -brief addr)',
      );
    }
  }
  return { host, address, family: family as 4 | 6, port, multicast: isMulticast(address) };
}

/** How a destination is written back for people: `127.0.0.1:5004`, `[::1]:5004`. */
export function formatDestination(d: Pick<Destination, 'address' | 'family' | 'port'>): string {
  return d.family === 6 ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;
}

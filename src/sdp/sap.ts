import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ExitCode, RtpcastError } from '../errors';
import { parseSdpStream, type SdpStream } from './parse';

/** A SAP announcement (RFC 2974 3). */
export interface SapMessage {
  /** false: announcement; true: deletion */
  deletion: boolean;
  msgIdHash: number;
  origin: string;
  payloadType: string;
  sdp: string;
}

export { SAP_PORT, SAP_GLOBAL_V4, SAP_PULSE_V4, SAP_GROUPS, SAP_LISTEN_GROUPS, DEFAULT_ANNOUNCE_GROUPS } from './sap-groups';
import { SAP_PORT, SAP_LISTEN_GROUPS } from './sap-groups';
/** RFC 2974 3.1: the bandwidth all announcements of one scope may use (bit/s). */
export const SAP_BANDWIDTH_BPS = 4000;
/**
 * The shortest base interval between two announcements of one session. RFC 2974 says 300 s, but
 * PulseAudio's module-rtp-send and PipeWire's module-rtp-sap announce every 5 s, PulseAudio drops a
 * session not refreshed for 20 s, and a listener started later waits a whole interval: 5 s.
 */
export const SAP_MIN_INTERVAL_SEC = 5;
/** SAP packets should stay under 1 kB (RFC 2974 6); PipeWire drops packets of 2048 bytes or more. */
export const SAP_MAX_PACKET = 1024;
const MIME = 'application/sdp';

/** Parses one SAP datagram; never throws; undefined for anything malformed, encrypted or compressed. */
export function parseSap(b: Uint8Array): SapMessage | undefined {
  if (b.length < 8) return undefined;
  const version = b[0] >> 5;
  if (version !== 1) return undefined;
  const ipv6 = (b[0] & 0x10) !== 0;
  const deletion = (b[0] & 0x04) !== 0;
  if (b[0] & 0x03) return undefined; // encrypted or compressed payloads are not supported
  const authWords = b[1];
  const msgIdHash = (b[2] << 8) | b[3];
  const originLen = ipv6 ? 16 : 4;
  let off = 4 + originLen + authWords * 4;
  if (off > b.length) return undefined;
  const o = b.subarray(4, 4 + originLen);
  const origin = ipv6 ? Array.from({ length: 8 }, (_, i) => ((o[2 * i] << 8) | o[2 * i + 1]).toString(16)).join(':') : Array.from(o).join('.');
  let payloadType = MIME;
  const rest = Buffer.from(b.subarray(off));
  if (!rest.subarray(0, 3).equals(Buffer.from('v=0'))) {
    const nul = rest.indexOf(0);
    if (nul < 0 || nul > 64) return undefined;
    payloadType = rest.subarray(0, nul).toString('latin1');
    off += nul + 1;
  }
  const sdp = Buffer.from(b.subarray(off)).toString('utf8');
  if (payloadType !== MIME || !sdp.startsWith('v=0')) return undefined;
  return { deletion, msgIdHash, origin, payloadType, sdp };
}

/** The 16 bytes of an IPv6 address in text form (with ::, an embedded IPv4 tail, no zone); undefined if invalid. */
export function ipv6Bytes(text: string): Buffer | undefined {
  const addr = text.replace(/%.*$/, '');
  if (isIP(addr) !== 6) return undefined;
  let s = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const p = v4[1].split('.').map(Number);
    s = s.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

/**
 * Builds a SAP v1 packet (RFC 2974 3): header (V=1, A=IPv6 origin, T=deletion, no encryption or
 * compression, no authentication), message id hash, originating source, "application/sdp\0", SDP.
 */
export function buildSap(m: { deletion?: boolean; msgIdHash: number; origin: string; sdp: string }): Buffer {
  if (!Number.isInteger(m.msgIdHash) || m.msgIdHash < 1 || m.msgIdHash > 0xffff) {
    throw new RangeError(`SAP message id hash ${m.msgIdHash} must be 1..65535 (VLC ignores 0)`);
  }
  const fam = isIP(m.origin.replace(/%.*$/, ''));
  if (fam === 0) throw new RangeError(`SAP origin "${m.origin}" is not an IP address`);
  const origin = fam === 4 ? Buffer.from(m.origin.split('.').map(Number)) : ipv6Bytes(m.origin)!;
  const head = Buffer.alloc(4);
  head[0] = (1 << 5) | (fam === 6 ? 0x10 : 0) | (m.deletion ? 0x04 : 0);
  head[1] = 0;
  head.writeUInt16BE(m.msgIdHash, 2);
  return Buffer.concat([head, origin, Buffer.from(`${MIME}\0`, 'latin1'), Buffer.from(m.sdp, 'utf8')]);
}

/**
 * The SDP as it goes into SAP: LF line ends. PulseAudio's module-rtp-recv only accepts an SDP that
 * starts with "v=0\n" (CRLF is refused as an invalid header); VLC and PipeWire take either.
 */
export function sapSdp(sdp: string): string {
  return sdp.replace(/\r\n/g, '\n');
}

/** The message id hash of an SDP (RFC 2974 3: changes when the SDP changes); never 0. */
export function sapHash(sdp: string): number {
  const h = createHash('sha256').update(sdp, 'utf8').digest().readUInt16BE(0);
  return h === 0 ? 1 : h;
}

/**
 * RFC 2974 3.1: the base interval between announcements of one session in a scope where `ads`
 * sessions of `adBytes` each are announced: the time the 4000 bit/s budget needs for all of
 * them, but at least SAP_MIN_INTERVAL_SEC (see there why 5 s rather than the RFC's 300 s).
 */
export function sapBaseIntervalSec(ads: number, adBytes: number, o: { limitBps?: number; minSec?: number } = {}): number {
  return Math.max(o.minSec ?? SAP_MIN_INTERVAL_SEC, (8 * ads * adBytes) / (o.limitBps ?? SAP_BANDWIDTH_BPS));
}

/** RFC 2974 3.1: the next interval, the base spread by a random offset of up to +-1/3 (rand in [0, 1)). */
export function sapNextIntervalSec(baseSec: number, rand: number): number {
  return baseSec * (2 / 3 + (2 / 3) * rand);
}

/** The session name (s=) of an SDP. */
export function sdpName(sdp: string): string {
  return /^s=(.*)$/m.exec(sdp)?.[1]?.trim() ?? '';
}

/** The o= line's value (username, session id, version, address): what identifies a session to PulseAudio. */
export function sdpOrigin(sdp: string): string {
  return /^o=(.*)$/m.exec(sdp)?.[1]?.trim() ?? '';
}

// ---------------------------------------------------------------------------------------------
// Announcing

export interface SapTarget {
  address: string;
  family: 4 | 6;
  port: number;
}

export interface SapAnnouncerOptions {
  /** multicast TTL of the announcements (RFC 2974 3: the session's) */
  ttl: number;
  multicastLoop?: boolean;
  multicastInterface?: string;
  /** for tests: the random source of the interval spread */
  random?: () => number;
}

interface SapLeg {
  target: SapTarget;
  socket: Socket;
  origin: string;
  announce: Buffer[];
  remove: Buffer[];
  baseSec: number;
  timer?: NodeJS.Timeout;
}

/**
 * Announces SDPs with SAP to one or more groups (or unicast addresses) until stop(), which sends
 * the deletion packets. One connected UDP socket per target: the kernel picks the source address,
 * which is the "originating source" of the header.
 */
export class SapAnnouncer {
  private warn: ((m: string) => void) | undefined;
  private stopped = false;
  /** packets sent per target, announcements and deletions (for tests and status) */
  sent = 0;

  private constructor(
    private readonly legs: SapLeg[],
    private readonly random: () => number,
  ) {}

  static async open(targets: SapTarget[], sdps: string[], o: SapAnnouncerOptions): Promise<SapAnnouncer> {
    const legs: SapLeg[] = [];
    try {
      for (const target of targets) {
        const socket = await openSender(target, o);
        const origin = await originAddress(socket, target, o);
        const texts = sdps.map(sapSdp);
        const announce = texts.map((sdp) => buildSap({ msgIdHash: sapHash(sdp), origin, sdp }));
        const remove = texts.map((sdp) => buildSap({ deletion: true, msgIdHash: sapHash(sdp), origin, sdp }));
        const big = announce.find((b) => b.length > SAP_MAX_PACKET);
        if (big) throw new RtpcastError(`the SAP announcement is ${big.length} bytes, more than the ${SAP_MAX_PACKET} that receivers accept`, ExitCode.usage, 'shorten --name');
        const mean = announce.reduce((n, b) => n + b.length, 0) / Math.max(1, announce.length);
        legs.push({ target, socket, origin, announce, remove, baseSec: sapBaseIntervalSec(announce.length, mean) });
      }
    } catch (e) {
      for (const l of legs) l.socket.close();
      throw e;
    }
    return new SapAnnouncer(legs, o.random ?? Math.random);
  }

  onWarning(fn: (m: string) => void): void {
    this.warn = fn;
  }

  /** where and how often: for the banner */
  describe(): { targets: string[]; intervalSec: number } {
    return { targets: this.legs.map((l) => fmt(l.target)), intervalSec: Math.max(...this.legs.map((l) => l.baseSec)) };
  }

  /** Sends the announcements now, then again after every (spread) interval. */
  start(): void {
    for (const l of this.legs) this.tick(l);
  }

  private tick(l: SapLeg): void {
    if (this.stopped) return;
    for (const b of l.announce) this.send(l, b);
    l.timer = setTimeout(() => this.tick(l), sapNextIntervalSec(l.baseSec, this.random()) * 1000);
    l.timer.unref();
  }

  private send(l: SapLeg, b: Buffer): Promise<void> {
    return new Promise((resolve) => {
      l.socket.send(b, (e) => {
        if (e) this.warn?.(`SAP announcement to ${fmt(l.target)} failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        else this.sent++;
        resolve();
      });
    });
  }

  /** Stops announcing and sends a deletion for every announced session (idempotent). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of this.legs) clearTimeout(l.timer);
    await Promise.all(this.legs.flatMap((l) => l.remove.map((b) => this.send(l, b))));
    await Promise.all(this.legs.map((l) => new Promise<void>((r) => l.socket.close(() => r()))));
  }
}

/**
 * The "originating source" of the header: the socket's source address. Linux leaves it unset
 * (0.0.0.0) on a socket connected to a multicast group; then the --multicast-if address, else the
 * address this machine reaches the network from (its default route), else its first
 * non-loopback address, else loopback.
 */
async function originAddress(socket: Socket, t: SapTarget, o: SapAnnouncerOptions): Promise<string> {
  const own = socket.address().address;
  if (own !== '0.0.0.0' && own !== '::') return own;
  if (o.multicastInterface && isIP(o.multicastInterface) === t.family) return o.multicastInterface;
  const probe = createSocket(t.family === 6 ? 'udp6' : 'udp4');
  probe.on('error', () => undefined);
  try {
    // connect() sends nothing: it only asks the kernel for a route (TEST-NET / documentation prefix).
    const a = await new Promise<string | undefined>((resolve) => {
      probe.once('error', () => resolve(undefined));
      probe.connect(9, t.family === 6 ? '2001:db8::1' : '192.0.2.1', () => resolve(probe.address().address));
    });
    if (a && a !== '0.0.0.0' && a !== '::') return a;
  } catch {
    /* no route */
  } finally {
    probe.close();
  }
  const fam = t.family === 6 ? 'IPv6' : 'IPv4';
  const all = Object.values(networkInterfaces()).flatMap((l) => l ?? []).filter((i) => i.family === fam);
  return all.find((i) => !i.internal && !i.address.startsWith('fe80'))?.address ?? (t.family === 6 ? '::1' : '127.0.0.1');
}

function fmt(t: SapTarget): string {
  return t.family === 6 ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

async function openSender(t: SapTarget, o: SapAnnouncerOptions): Promise<Socket> {
  const s = createSocket({ type: t.family === 6 ? 'udp6' : 'udp4' });
  s.on('error', () => undefined); // per-send errors are reported by the send callbacks
  const fail = (e: unknown, what: string): never => {
    s.close();
    throw new RtpcastError(`cannot ${what} SAP announcements to ${fmt(t)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, ExitCode.network, 'check --announce-group (a multicast group, or a listener\'s address) and that this machine has a network route to it');
  };
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, () => {
      s.off('error', reject);
      resolve();
    });
  }).catch((e) => fail(e, 'open a socket for'));
  try {
    s.setMulticastTTL(o.ttl);
    s.setMulticastLoopback(o.multicastLoop ?? true);
    if (o.multicastInterface) s.setMulticastInterface(o.multicastInterface);
  } catch (e) {
    fail(e, 'set up multicast for');
  }
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.connect(t.port, t.address, () => {
      s.off('error', reject);
      resolve();
    });
  }).catch((e) => fail(e, 'send'));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Listening

/** A stream seen in SAP announcements (what `rtpcast list` shows). */
export interface AnnouncedStream {
  /** SAP originating source and message id hash: what identifies an announcement (RFC 2974 3) */
  origin: string;
  msgIdHash: number;
  /** the address the packets came from (may differ from origin behind NAT) */
  from?: string;
  name: string;
  /** the SDP o= line's value */
  sdpOrigin: string;
  sdp: string;
  stream?: SdpStream;
  /** why the SDP could not be read as an audio stream */
  sdpError?: string;
  firstSeenMs: number;
  lastSeenMs: number;
  announcements: number;
  deleted: boolean;
  deletedMs?: number;
}

/** Copies of one announcement (sent to several groups) arrive within this; announcers repeat after seconds. */
const SAME_ANNOUNCEMENT_MS = 1000;

/** Announcements heard, by session; deletions mark them deleted. Pure: times come from the caller. */
export class SapDirectory {
  private readonly byKey = new Map<string, AnnouncedStream>();

  ingest(m: SapMessage, nowMs: number, from?: string): AnnouncedStream {
    const key = `${m.origin}/${m.msgIdHash}`;
    let s = this.byKey.get(key);
    if (!s && m.deletion) {
      // RFC 2974 3: a deletion may carry only the o= line: match the session by it.
      const o = sdpOrigin(m.sdp);
      s = o ? [...this.byKey.values()].find((x) => x.sdpOrigin === o && !x.deleted) : undefined;
    }
    if (!s) {
      let stream: SdpStream | undefined;
      let sdpError: string | undefined;
      try {
        stream = parseSdpStream(m.sdp);
      } catch (e) {
        sdpError = (e as Error).message;
      }
      s = { origin: m.origin, msgIdHash: m.msgIdHash, from, name: sdpName(m.sdp), sdpOrigin: sdpOrigin(m.sdp), sdp: m.sdp, stream, sdpError, firstSeenMs: nowMs, lastSeenMs: nowMs, announcements: 0, deleted: false };
      this.byKey.set(key, s);
    }
    if (m.deletion) {
      s.deleted = true;
      s.deletedMs = nowMs;
    } else {
      // The same announcement sent to several groups this listener joined arrives more than once.
      if (s.announcements === 0 || nowMs - s.lastSeenMs >= SAME_ANNOUNCEMENT_MS) s.announcements++;
      s.lastSeenMs = nowMs;
      s.deleted = false;
      s.deletedMs = undefined;
    }
    return s;
  }

  /** Streams by name, then origin. */
  list(): AnnouncedStream[] {
    return [...this.byKey.values()].sort((a, b) => a.name.localeCompare(b.name) || a.origin.localeCompare(b.origin));
  }

  /** The live stream named `name`: an exact (case-insensitive) name first, else one that contains it. */
  find(name: string): AnnouncedStream | undefined {
    const live = this.list().filter((s) => !s.deleted);
    const n = name.toLowerCase();
    return live.find((s) => s.name.toLowerCase() === n) ?? live.find((s) => s.name.toLowerCase().includes(n));
  }
}

export interface SapListenOptions {
  port?: number;
  groups?: string[];
}

/** Binds the SAP port (shared with other listeners) and joins the groups; returns the groups joined. */
async function openListener(o: SapListenOptions): Promise<{ sock: Socket; joined: string[] }> {
  const port = o.port ?? SAP_PORT;
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    sock.close();
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new RtpcastError(`cannot listen for SAP on UDP ${port}: in use`, ExitCode.network, 'another program holds the port without sharing it: stop it, or use --port');
    throw e;
  }
  const joined: string[] = [];
  for (const g of o.groups ?? SAP_LISTEN_GROUPS) {
    try {
      sock.addMembership(g);
      joined.push(g);
    } catch {
      /* no multicast route for this group: others may still work */
    }
  }
  return { sock, joined };
}

/** Listens for `durationMs` (or until `signal`) and returns what was heard. */
export async function collectSap(durationMs: number, o: SapListenOptions & { signal?: AbortSignal; clock?: () => number; onMessage?: (s: AnnouncedStream, m: SapMessage) => void } = {}): Promise<{ directory: SapDirectory; joined: string[]; malformed: number }> {
  const { sock, joined } = await openListener(o);
  const dir = new SapDirectory();
  const clock = o.clock ?? Date.now;
  let malformed = 0;
  sock.on('message', (b, rinfo) => {
    const m = parseSap(b);
    if (!m) {
      malformed++;
      return;
    }
    const s = dir.ingest(m, clock(), rinfo.address);
    o.onMessage?.(s, m);
  });
  try {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, durationMs);
      o.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  } finally {
    await new Promise<void>((r) => sock.close(() => r()));
  }
  return { directory: dir, joined, malformed };
}

/**
 * Listens for SAP announcements for up to `timeoutMs` and returns the first whose session name
 * is `name` (case-insensitive), else contains it (any session when `name` is empty). Deleted
 * sessions are forgotten.
 */
export async function waitForSap(name: string, timeoutMs = 10000, o: { port?: number; groups?: string[]; onSeen?: (m: SapMessage) => void } = {}): Promise<SapMessage> {
  const { sock } = await openListener(o);
  const seen = new Map<string, SapMessage>();
  const want = name.toLowerCase();
  try {
    return await new Promise<SapMessage>((resolve, reject) => {
      const t = setTimeout(() => {
        const names = [...seen.values()].map((m) => `"${sdpName(m.sdp)}" from ${m.origin}`);
        reject(new RtpcastError(
          names.length ? `no announced stream matches "${name}" (seen: ${names.join(', ')})` : `no SAP announcement arrived within ${timeoutMs / 1000} s`,
          ExitCode.failure,
          names.length ? 'use one of the names shown: rtpcast play --sap NAME (rtpcast list shows every announced stream)' : 'is the sender announcing (PulseAudio module-rtp-send does; so does rtpcast send --announce)? multicast must reach this machine (rtpcast diag packets --port 9875 --group 224.0.0.56)',
        ));
      }, timeoutMs);
      sock.on('message', (b) => {
        const m = parseSap(b);
        if (!m) return;
        const key = `${m.origin}/${m.msgIdHash}`;
        if (m.deletion) {
          seen.delete(key);
          return;
        }
        seen.set(key, m);
        o.onSeen?.(m);
        const n = sdpName(m.sdp).toLowerCase();
        if (n === want || n.includes(want)) {
          clearTimeout(t);
          resolve(m);
        }
      });
    });
  } finally {
    sock.close();
  }
}

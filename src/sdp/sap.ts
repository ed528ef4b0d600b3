import { createSocket } from 'node:dgram';
import { ExitCode, RtpcastError } from '../errors';

/** A SAP announcement (RFC 2974 3). */
export interface SapMessage {
  /** false: announcement; true: deletion */
  deletion: boolean;
  msgIdHash: number;
  origin: string;
  payloadType: string;
  sdp: string;
}

export const SAP_PORT = 9875;
/** where announcers send: PulseAudio's module-rtp-send (224.0.0.56), the SAP global scope (224.2.127.254) */
export const SAP_GROUPS = ['224.0.0.56', '224.2.127.254'];

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
  let payloadType = 'application/sdp';
  const rest = Buffer.from(b.subarray(off));
  if (!rest.subarray(0, 3).equals(Buffer.from('v=0'))) {
    const nul = rest.indexOf(0);
    if (nul < 0 || nul > 64) return undefined;
    payloadType = rest.subarray(0, nul).toString('latin1');
    off += nul + 1;
  }
  const sdp = Buffer.from(b.subarray(off)).toString('utf8');
  if (payloadType !== 'application/sdp' || !sdp.startsWith('v=0')) return undefined;
  return { deletion, msgIdHash, origin, payloadType, sdp };
}

/** Builds a SAP packet (for tests and, later, for announcing). */
export function buildSap(m: { deletion?: boolean; msgIdHash: number; origin: string; sdp: string }): Buffer {
  const head = Buffer.alloc(8);
  head[0] = (1 << 5) | (m.deletion ? 0x04 : 0);
  head[1] = 0;
  head.writeUInt16BE(m.msgIdHash & 0xffff, 2);
  m.origin.split('.').forEach((p, i) => (head[4 + i] = Number(p)));
  return Buffer.concat([head, Buffer.from('application/sdp\0', 'latin1'), Buffer.from(m.sdp, 'utf8')]);
}

/** The session name (s=) of an SDP. */
export function sdpName(sdp: string): string {
  return /^s=(.*)$/m.exec(sdp)?.[1]?.trim() ?? '';
}

/**
 * Listens for SAP announcements for up to `timeoutMs` and returns the first whose session name
 * contains `name` (case-insensitive; any session when `name` is empty).
 */
export async function waitForSap(name: string, timeoutMs = 10000, o: { port?: number; groups?: string[]; onSeen?: (m: SapMessage) => void } = {}): Promise<SapMessage> {
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  const seen = new Map<string, SapMessage>();
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(o.port ?? SAP_PORT, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    for (const g of o.groups ?? SAP_GROUPS) {
      try {
        sock.addMembership(g);
      } catch {
        /* no multicast route for this group: others may still work */
      }
    }
    return await new Promise<SapMessage>((resolve, reject) => {
      const t = setTimeout(() => {
        const names = [...seen.values()].map((m) => `"${sdpName(m.sdp)}" from ${m.origin}`);
        reject(new RtpcastError(
          names.length ? `no announced stream matches "${name}" (seen: ${names.join(', ')})` : `no SAP announcement arrived within ${timeoutMs / 1000} s`,
          ExitCode.failure,
          names.length ? 'use one of the names shown: rtpcast play --sap NAME' : 'is the sender announcing (PulseAudio module-rtp-send does; rtpcast send --announce will)? multicast must reach this machine (rtpcast diag packets --port 9875 --group 224.0.0.56)',
        ));
      }, timeoutMs);
      sock.on('message', (b) => {
        const m = parseSap(b);
        if (!m || m.deletion) return;
        seen.set(`${m.origin}/${m.msgIdHash}`, m);
        o.onSeen?.(m);
        if (sdpName(m.sdp).toLowerCase().includes(name.toLowerCase())) {
          clearTimeout(t);
          resolve(m);
        }
      });
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new RtpcastError(`cannot listen for SAP on UDP ${o.port ?? SAP_PORT}: in use`, ExitCode.network);
    throw e;
  } finally {
    sock.close();
  }
}

/**
 * The time-sync exchange between `rtpcast play --sync` and `rtpcast send` (UDP, default port
 * SYNC_PORT): a receiver learns the sender's clock without an NTP daemon and without root.
 *
 * Every message is exactly SYNC_MESSAGE_BYTES long (a request as long as its reply: answering
 * amplifies nothing), big-endian:
 *
 *   0  4  magic "RTCS"
 *   4  1  version (1)
 *   5  1  kind: 1 request, 2 reply
 *   6  2  reserved, 0
 *   8  4  sequence (chosen by the client, echoed)
 *  12  8  t0: the client's clock when it sent the request (ns, opaque to the server, echoed)
 *  20  8  t1: the sender clock when the request arrived (ns since 1970-01-01 UTC; 0 in a request)
 *  28  8  t2: the sender clock when the reply left (same; 0 in a request)
 *
 * The sender clock is the clock of the RTCP sender reports' NTP timestamps (Unix time anchored
 * once to a monotonic clock, see SenderClock): both say the same time for the same instant.
 */
export const SYNC_MAGIC = 0x52544353; // "RTCS"
export const SYNC_VERSION = 1;
export const SYNC_MESSAGE_BYTES = 36;
export const SYNC_PORT = 5079;

export interface SyncRequest {
  kind: 'request';
  seq: number;
  /** client send time, client clock, ns */
  t0: bigint;
}
export interface SyncReply {
  kind: 'reply';
  seq: number;
  t0: bigint;
  /** sender clock at reception, ns since the Unix epoch */
  t1: bigint;
  /** sender clock at sending, ns since the Unix epoch */
  t2: bigint;
}
export type SyncMessage = SyncRequest | SyncReply;

export type SyncParseError = 'wrong-size' | 'bad-magic' | 'unsupported-version' | 'bad-kind' | 'bad-reserved' | 'bad-times';

export function encodeSync(m: SyncMessage): Buffer {
  const b = Buffer.alloc(SYNC_MESSAGE_BYTES);
  b.writeUInt32BE(SYNC_MAGIC, 0);
  b[4] = SYNC_VERSION;
  b[5] = m.kind === 'request' ? 1 : 2;
  b.writeUInt32BE(m.seq >>> 0, 8);
  b.writeBigUInt64BE(BigInt.asUintN(64, m.t0), 12);
  if (m.kind === 'reply') {
    b.writeBigUInt64BE(BigInt.asUintN(64, m.t1), 20);
    b.writeBigUInt64BE(BigInt.asUintN(64, m.t2), 28);
  }
  return b;
}

/** Strict: anything not exactly a message of this version is refused with the reason (never throws). */
export function parseSync(b: Uint8Array): { ok: true; message: SyncMessage } | { ok: false; error: SyncParseError } {
  if (b.length !== SYNC_MESSAGE_BYTES) return { ok: false, error: 'wrong-size' };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(0) !== SYNC_MAGIC) return { ok: false, error: 'bad-magic' };
  if (b[4] !== SYNC_VERSION) return { ok: false, error: 'unsupported-version' };
  if (dv.getUint16(6) !== 0) return { ok: false, error: 'bad-reserved' };
  const seq = dv.getUint32(8);
  const t0 = dv.getBigUint64(12);
  const t1 = dv.getBigUint64(20);
  const t2 = dv.getBigUint64(28);
  if (b[5] === 1) {
    if (t1 !== 0n || t2 !== 0n) return { ok: false, error: 'bad-times' };
    return { ok: true, message: { kind: 'request', seq, t0 } };
  }
  if (b[5] === 2) {
    if (t1 === 0n || t2 < t1) return { ok: false, error: 'bad-times' };
    return { ok: true, message: { kind: 'reply', seq, t0, t1, t2 } };
  }
  return { ok: false, error: 'bad-kind' };
}

/** Counts of refused datagrams by reason (what a strict parser skipped). */
export type SyncRefusals = Record<SyncParseError | 'wrong-kind' | 'unexpected', number>;
export function emptyRefusals(): SyncRefusals {
  return { 'wrong-size': 0, 'bad-magic': 0, 'unsupported-version': 0, 'bad-kind': 0, 'bad-reserved': 0, 'bad-times': 0, 'wrong-kind': 0, unexpected: 0 };
}

/**
 * SRTP and SRTCP (RFC 3711) with the one suite rtpcast speaks: AES_CM_128_HMAC_SHA1_80
 * (AES-128 in counter mode, HMAC-SHA1 tag truncated to 80 bits), key derivation rate 0, no MKI.
 *
 * - Key derivation (4.3.1): session key/salt/auth key = AES-CM keystream of the master key at
 *   IV = (master_salt XOR label << 48) << 16; labels 0/1/2 for SRTP, 3/4/5 for SRTCP.
 * - Encryption (4.1.1): IV = (session_salt << 16) XOR (SSRC << 64) XOR (index << 16); the
 *   RTP payload (after CSRCs and header extension, padding included) is encrypted; SRTCP
 *   encrypts everything after the first 8 octets and appends E-flag | 31-bit index.
 * - Authentication (4.2): HMAC-SHA1 over the (encrypted) packet, plus the ROC for SRTP; the
 *   first 10 octets are the tag.
 * - Receive: the ROC is estimated from the highest sequence number seen (Appendix A), a
 *   128-packet replay window rejects repeats and packets older than the window (3.3.2), and the
 *   per-SSRC state changes only after a packet authenticates, so forged packets cannot move it.
 *
 * node:crypto does the AES and the HMAC (OpenSSL). The test vectors of RFC 3711 Appendix B and
 * libsrtp's reference packets are checked byte for byte in test/rtp/srtp.test.ts.
 */
import { createCipheriv, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const SRTP_SUITE = 'AES_CM_128_HMAC_SHA1_80';
export const MASTER_KEY_BYTES = 16;
export const MASTER_SALT_BYTES = 14;
/** key || salt, as carried base64-encoded in a=crypto inline: */
export const KEY_AND_SALT_BYTES = MASTER_KEY_BYTES + MASTER_SALT_BYTES;
export const AUTH_TAG_BYTES = 10;
/** what protection adds: the tag for SRTP; E|index and the tag for SRTCP */
export const SRTP_OVERHEAD = AUTH_TAG_BYTES;
export const SRTCP_OVERHEAD = 4 + AUTH_TAG_BYTES;
/** replay window, in packets (RFC 3711 requires at least 64; libsrtp uses 128) */
export const REPLAY_WINDOW = 128;

export interface MasterKey {
  /** 16 octets */
  key: Buffer;
  /** 14 octets */
  salt: Buffer;
}

/** Splits the 30 octets of an a=crypto inline key into master key and salt. */
export function masterKeyFrom(keyAndSalt: Uint8Array): MasterKey {
  if (keyAndSalt.length !== KEY_AND_SALT_BYTES) throw new RangeError(`an ${SRTP_SUITE} master key and salt are ${KEY_AND_SALT_BYTES} octets, not ${keyAndSalt.length}`);
  const b = Buffer.from(keyAndSalt);
  return { key: b.subarray(0, MASTER_KEY_BYTES), salt: b.subarray(MASTER_KEY_BYTES) };
}

/** AES-128 counter-mode keystream starting at the 128-bit counter `iv` (the counter wraps mod 2^128, as RFC 3711 4.1.1 says). */
export function aesCmKeystream(key: Uint8Array, iv: Uint8Array, length: number): Buffer {
  const c = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

/** XORs `data[start..end)` in place with the AES-CM keystream of `iv`. */
function aesCmInPlace(key: Uint8Array, iv: Uint8Array, data: Buffer, start: number, end: number): void {
  if (end <= start) return;
  const c = createCipheriv('aes-128-ctr', key, iv);
  const out = c.update(data.subarray(start, end));
  out.copy(data, start);
}

/** The SRTP key derivation with key_derivation_rate 0 (RFC 3711 4.3.1): `length` octets for `label`. */
export function deriveKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(masterSalt).copy(iv, 0, 0, MASTER_SALT_BYTES);
  // key_id = label || r (r = 0, 48 bits): XORed into the low 56 bits of the 112-bit salt
  iv[7] ^= label;
  return aesCmKeystream(masterKey, iv, length);
}

export interface SessionKeys {
  cipherKey: Buffer;
  /** 14 octets */
  salt: Buffer;
  /** 20 octets (HMAC-SHA1 key) */
  authKey: Buffer;
}

/** The session keys of SRTP (labels 0, 1, 2) or SRTCP (labels 3, 4, 5). */
export function sessionKeys(master: MasterKey, kind: 'rtp' | 'rtcp'): SessionKeys {
  const base = kind === 'rtp' ? 0 : 3;
  return {
    cipherKey: deriveKey(master.key, master.salt, base, 16),
    authKey: deriveKey(master.key, master.salt, base + 1, 20),
    salt: deriveKey(master.key, master.salt, base + 2, 14),
  };
}

/** IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16), index up to 48 bits (RFC 3711 4.1.1). */
export function srtpIv(salt: Uint8Array, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  Buffer.from(salt).copy(iv, 0, 0, 14);
  iv[4] ^= ssrc >>> 24;
  iv[5] ^= (ssrc >>> 16) & 0xff;
  iv[6] ^= (ssrc >>> 8) & 0xff;
  iv[7] ^= ssrc & 0xff;
  const hi = Math.floor(index / 0x1_0000_0000); // top 16 bits of the 48-bit index
  const lo = index >>> 0;
  iv[8] ^= (hi >>> 8) & 0xff;
  iv[9] ^= hi & 0xff;
  iv[10] ^= lo >>> 24;
  iv[11] ^= (lo >>> 16) & 0xff;
  iv[12] ^= (lo >>> 8) & 0xff;
  iv[13] ^= lo & 0xff;
  return iv;
}

/** Length of the RTP header (fixed part, CSRCs, extension), or -1 if it runs past `len`. */
export function rtpHeaderLength(p: Uint8Array, len = p.length): number {
  if (len < 12 || p[0] >> 6 !== 2) return -1;
  let off = 12 + (p[0] & 0x0f) * 4;
  if (p[0] & 0x10) {
    if (off + 4 > len) return -1;
    off += 4 + ((p[off + 2] << 8) | p[off + 3]) * 4;
  }
  return off > len ? -1 : off;
}

class Keys {
  readonly cipherKey: Buffer;
  readonly salt: Buffer;
  readonly authKey: KeyObject;
  constructor(k: SessionKeys) {
    this.cipherKey = k.cipherKey;
    this.salt = k.salt;
    this.authKey = createSecretKey(k.authKey);
  }
  tag(data: Uint8Array, trailer?: Uint8Array): Buffer {
    const h = createHmac('sha1', this.authKey).update(data);
    if (trailer) h.update(trailer);
    return h.digest().subarray(0, AUTH_TAG_BYTES);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * The sending side: protects RTP and RTCP of any number of SSRCs under one master key
 * (the ROC and the SRTCP index are kept per SSRC).
 */
export class SrtpProtector {
  private readonly rtp: Keys;
  private readonly rtcp: Keys;
  private readonly send = new Map<number, { lastSeq: number; roc: number; rtcpIndex: number }>();

  constructor(master: MasterKey) {
    this.rtp = new Keys(sessionKeys(master, 'rtp'));
    this.rtcp = new Keys(sessionKeys(master, 'rtcp'));
  }

  private state(ssrc: number, seq: number) {
    let s = this.send.get(ssrc);
    if (!s) {
      s = { lastSeq: seq, roc: 0, rtcpIndex: 0 };
      this.send.set(ssrc, s);
    }
    return s;
  }

  /** An SRTP packet (a new buffer, 10 octets longer) from an RTP packet. Throws on a broken header. */
  protectRtp(packet: Uint8Array): Buffer {
    const hl = rtpHeaderLength(packet);
    if (hl < 0) throw new RangeError('not an RTP packet (header runs past the end)');
    const out = Buffer.alloc(packet.length + AUTH_TAG_BYTES);
    out.set(packet);
    const seq = (packet[2] << 8) | packet[3];
    const ssrc = out.readUInt32BE(8);
    const s = this.state(ssrc, seq);
    // the sequence number wrapped: a new roll-over (a small step back is reordering by the caller, not a wrap)
    if (seq < s.lastSeq && s.lastSeq - seq > 0x8000) s.roc = (s.roc + 1) >>> 0;
    if (seq > s.lastSeq && seq - s.lastSeq > 0x8000 && s.roc > 0) {
      // a late packet from before the last wrap: protect it under the previous ROC
      const roc = s.roc - 1;
      return this.finishRtp(out, packet.length, hl, ssrc, roc, seq);
    }
    s.lastSeq = seq;
    return this.finishRtp(out, packet.length, hl, ssrc, s.roc, seq);
  }

  private finishRtp(out: Buffer, len: number, hl: number, ssrc: number, roc: number, seq: number): Buffer {
    aesCmInPlace(this.rtp.cipherKey, srtpIv(this.rtp.salt, ssrc, roc * 0x10000 + seq), out, hl, len);
    this.rtp.tag(out.subarray(0, len), u32(roc)).copy(out, len);
    return out;
  }

  /** An SRTCP packet (encrypted, E flag set, 14 octets longer) from an RTCP compound packet. */
  protectRtcp(packet: Uint8Array): Buffer {
    if (packet.length < 8 || packet[0] >> 6 !== 2) throw new RangeError('not an RTCP packet');
    const out = Buffer.alloc(packet.length + SRTCP_OVERHEAD);
    out.set(packet);
    const ssrc = out.readUInt32BE(4);
    const s = this.state(ssrc, 0);
    const index = s.rtcpIndex;
    s.rtcpIndex = (s.rtcpIndex + 1) & 0x7fffffff;
    aesCmInPlace(this.rtcp.cipherKey, srtpIv(this.rtcp.salt, ssrc, index), out, 8, packet.length);
    out.writeUInt32BE((0x80000000 | index) >>> 0, packet.length);
    const authEnd = packet.length + 4;
    this.rtcp.tag(out.subarray(0, authEnd)).copy(out, authEnd);
    return out;
  }
}

export type UnprotectError =
  /** shorter than a header and a tag, or the header runs past the end */
  | 'malformed'
  /** the tag does not match: wrong key, or forged / corrupted */
  | 'auth'
  /** authenticated before (a duplicate or a replay), or older than the replay window */
  | 'replay';

export type UnprotectResult = { ok: true; packet: Buffer; ssrc: number; index: number } | { ok: false; error: UnprotectError };

/** A 128-packet sliding window over 48-bit (SRTP) or 31-bit (SRTCP) indices (RFC 3711 3.3.2). */
export class ReplayWindow {
  private highest = -1;
  private mask = 0n; // bit d: index highest - d was received
  private static readonly ALL = (1n << BigInt(REPLAY_WINDOW)) - 1n;

  get top(): number {
    return this.highest;
  }

  /** 'new' if the index may be accepted, 'replay' otherwise (duplicate, or too old). Does not record. */
  check(index: number): 'new' | 'replay' {
    if (this.highest < 0 || index > this.highest) return 'new';
    const d = this.highest - index;
    if (d >= REPLAY_WINDOW) return 'replay';
    return (this.mask >> BigInt(d)) & 1n ? 'replay' : 'new';
  }

  /** Records an authenticated index. */
  accept(index: number): void {
    if (this.highest < 0) {
      this.highest = index;
      this.mask = 1n;
    } else if (index > this.highest) {
      const shift = index - this.highest;
      this.mask = shift >= REPLAY_WINDOW ? 1n : ((this.mask << BigInt(shift)) | 1n) & ReplayWindow.ALL;
      this.highest = index;
    } else {
      this.mask |= 1n << BigInt(this.highest - index);
    }
  }
}

interface RecvState {
  /** highest authenticated sequence number and its ROC */
  sl: number;
  roc: number;
  window: ReplayWindow;
}

/** A map that forgets its least recently used entry beyond `max` (bounded state per SSRC). */
class LruMap<V> {
  private readonly m = new Map<number, V>();
  constructor(private readonly max: number) {}
  get(k: number): V | undefined {
    return this.m.get(k);
  }
  /** stores and marks most recently used */
  set(k: number, v: V): void {
    this.m.delete(k);
    if (this.m.size >= this.max) this.m.delete(this.m.keys().next().value as number);
    this.m.set(k, v);
  }
}

export interface UnprotectorOptions {
  /** SSRCs tracked at once (least recently used forgotten first); default 64 */
  maxSsrcs?: number;
  /**
   * ROC values tried for the first packet of an SSRC (default 8): a receiver that joins a stream
   * after its sequence number wrapped cannot know the sender's ROC (SDES does not carry it).
   */
  rocSearch?: number;
}

/**
 * The receiving side: unprotects SRTP and SRTCP under one master key, any number of SSRCs.
 * Returns the plain packet (a new buffer without the tag) or why the packet is dropped.
 */
export class SrtpUnprotector {
  private readonly rtp: Keys;
  private readonly rtcp: Keys;
  private readonly states: LruMap<RecvState>;
  private readonly rtcpWindows: LruMap<ReplayWindow>;
  private readonly rocSearch: number;

  constructor(master: MasterKey, o: UnprotectorOptions = {}) {
    this.rtp = new Keys(sessionKeys(master, 'rtp'));
    this.rtcp = new Keys(sessionKeys(master, 'rtcp'));
    this.states = new LruMap(o.maxSsrcs ?? 64);
    this.rtcpWindows = new LruMap(o.maxSsrcs ?? 64);
    this.rocSearch = Math.max(1, o.rocSearch ?? 8);
  }

  /** SRTP -> RTP. */
  unprotectRtp(packet: Uint8Array): UnprotectResult {
    const len = packet.length - AUTH_TAG_BYTES;
    const hl = rtpHeaderLength(packet, len);
    if (hl < 0) return { ok: false, error: 'malformed' };
    const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const seq = (buf[2] << 8) | buf[3];
    const ssrc = buf.readUInt32BE(8);
    const st = this.states.get(ssrc);
    const tag = buf.subarray(len);
    const authed = buf.subarray(0, len);
    let roc: number | undefined;
    if (st) {
      // RFC 3711 Appendix A: the ROC that puts seq nearest the highest sequence number seen
      let v = st.roc;
      if (st.sl < 0x8000) {
        if (seq - st.sl > 0x8000) v = st.roc - 1;
      } else if (st.sl - 0x8000 > seq) {
        v = st.roc + 1;
      }
      // Before the first ROC, or already seen / older than the window: a replay if it
      // authenticates, else a forgery (counted apart: "wrong key?" must not hide as "replay").
      const stale = v < 0 || v > 0xffffffff || st.window.check(v * 0x10000 + seq) === 'replay';
      v = Math.min(Math.max(v, 0), 0xffffffff);
      const good = timingSafeEqual(this.rtp.tag(authed, u32(v)), tag);
      if (stale) return { ok: false, error: good ? 'replay' : 'auth' };
      if (good) roc = v;
    } else {
      for (let v = 0; v < this.rocSearch && roc === undefined; v++) {
        if (timingSafeEqual(this.rtp.tag(authed, u32(v)), tag)) roc = v;
      }
    }
    if (roc === undefined) return { ok: false, error: 'auth' };
    const index = roc * 0x10000 + seq;
    const s = st ?? { sl: seq, roc, window: new ReplayWindow() };
    if (index > s.window.top) {
      s.sl = seq;
      s.roc = roc;
    }
    s.window.accept(index);
    this.states.set(ssrc, s);
    const out = Buffer.from(authed);
    aesCmInPlace(this.rtp.cipherKey, srtpIv(this.rtp.salt, ssrc, index), out, hl, len);
    return { ok: true, packet: out, ssrc, index };
  }

  /** SRTCP -> RTCP. */
  unprotectRtcp(packet: Uint8Array): UnprotectResult {
    if (packet.length < 8 + SRTCP_OVERHEAD || packet[0] >> 6 !== 2) return { ok: false, error: 'malformed' };
    const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    const authEnd = buf.length - AUTH_TAG_BYTES;
    const rtcpEnd = authEnd - 4;
    const word = buf.readUInt32BE(rtcpEnd);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    const ssrc = buf.readUInt32BE(4);
    const w = this.rtcpWindows.get(ssrc);
    if (!timingSafeEqual(this.rtcp.tag(buf.subarray(0, authEnd)), buf.subarray(authEnd))) return { ok: false, error: 'auth' };
    if (w && w.check(index) === 'replay') return { ok: false, error: 'replay' };
    const win = w ?? new ReplayWindow();
    win.accept(index);
    this.rtcpWindows.set(ssrc, win);
    const out = Buffer.from(buf.subarray(0, rtcpEnd));
    if (encrypted) aesCmInPlace(this.rtcp.cipherKey, srtpIv(this.rtcp.salt, ssrc, index), out, 8, rtcpEnd);
    return { ok: true, packet: out, ssrc, index };
  }
}

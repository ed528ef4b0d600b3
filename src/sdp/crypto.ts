/**
 * SDP Security Descriptions (RFC 4568): the a=crypto line that carries an SRTP master key.
 *
 *   a=crypto:<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [<session params>]
 *
 * rtpcast writes `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<40 base64 characters>` and reads
 * that suite only, without MKI and with the default key derivation rate; anything else is refused
 * with the reason, never guessed at (a wrong guess would be silence, or noise).
 */
import { randomBytes } from 'node:crypto';
import { ExitCode, RtpcastError } from '../errors';
import { KEY_AND_SALT_BYTES, SRTP_SUITE } from '../rtp/srtp';
import { displayPath, type ReceiverCommand } from './receivers';

export interface CryptoAttribute {
  tag: number;
  suite: string;
  /** key||salt, 30 octets */
  keyAndSalt: Buffer;
  /** the a=crypto value, for messages */
  text: string;
}

/** A fresh random master key and salt (30 octets). */
export function generateSrtpKey(): Buffer {
  return randomBytes(KEY_AND_SALT_BYTES);
}

/** The value of the a=crypto attribute (what follows "a=crypto:"). */
export function cryptoAttributeValue(keyAndSalt: Uint8Array, tag = 1): string {
  if (keyAndSalt.length !== KEY_AND_SALT_BYTES) throw new RangeError(`SRTP key and salt must be ${KEY_AND_SALT_BYTES} octets`);
  return `${tag} ${SRTP_SUITE} inline:${Buffer.from(keyAndSalt).toString('base64')}`;
}

const B64_30 = /^[A-Za-z0-9+/]{40}$/;

function bad(message: string, hint?: string): RtpcastError {
  return new RtpcastError(message, ExitCode.usage, hint);
}

/** Decodes a base64 key||salt (30 octets: 40 base64 characters), for --srtp-key and inline:. */
export function decodeSrtpKey(text: string, what = 'the SRTP key'): Buffer {
  const t = text.trim();
  if (!B64_30.test(t)) {
    const n = /^[A-Za-z0-9+/]*={0,2}$/.test(t) ? Buffer.from(t, 'base64').length : -1;
    throw bad(
      `${what} must be ${KEY_AND_SALT_BYTES} octets in base64 (40 characters: 16 of master key, 14 of salt)${n >= 0 ? `; this is ${n} octets` : '; this is not base64'}`,
      'generate one with: openssl rand -base64 30   (or leave --srtp-key out and rtpcast generates one)',
    );
  }
  return Buffer.from(t, 'base64');
}

/** Session parameters that change how packets are processed (RFC 4568 6.3): refused. */
const UNSUPPORTED_PARAMS = ['UNENCRYPTED_SRTP', 'UNENCRYPTED_SRTCP', 'UNAUTHENTICATED_SRTP', 'FEC_ORDER', 'FEC_KEY'];

/**
 * Parses one a=crypto value. Throws an RtpcastError naming what is wrong (unsupported suite,
 * malformed key, MKI, key derivation rate, session parameters).
 */
export function parseCryptoAttribute(value: string): CryptoAttribute {
  const text = value.trim();
  const m = /^(\d{1,9})\s+(\S+)\s+(\S+)(?:\s+(.*))?$/.exec(text);
  if (!m) throw bad(`a=crypto:${text}: expected "<tag> <suite> inline:<key>" (RFC 4568 9.1)`);
  const [, tagText, suite, keyParams, sessionParams] = m;
  if (suite !== SRTP_SUITE) {
    throw bad(`a=crypto suite ${suite} is not supported: rtpcast speaks ${SRTP_SUITE} only`, `make the sender use ${SRTP_SUITE} (ffmpeg: -srtp_out_suite ${SRTP_SUITE}; rtpcast send --srtp does)`);
  }
  const keys = keyParams.split(';');
  if (keys.length > 1) throw bad(`a=crypto:${tagText} carries ${keys.length} keys: rtpcast reads one key per a=crypto line (no MKI)`);
  const km = /^inline:([^|]*)((?:\|[^|]*)*)$/.exec(keys[0]);
  if (!km) throw bad(`a=crypto:${tagText}: the key must be "inline:<base64>" (RFC 4568 6.1); got "${keys[0].split(':')[0]}:..."`);
  const keyAndSalt = decodeSrtpKey(km[1], `the a=crypto:${tagText} key`);
  for (const part of km[2].split('|').slice(1)) {
    if (/^(2\^)?\d+$/.test(part)) continue; // lifetime: rtpcast never sends that many packets with one key
    if (/^\d+:\d+$/.test(part)) throw bad(`a=crypto:${tagText} uses an MKI (${part}): rtpcast does not support MKIs`, 'have the sender leave the MKI out');
    throw bad(`a=crypto:${tagText}: "${part}" after the key is neither a lifetime nor an MKI (RFC 4568 6.1)`);
  }
  for (const p of (sessionParams ?? '').split(/\s+/).filter(Boolean)) {
    const name = p.split('=')[0].toUpperCase();
    if (name === 'KDR') {
      if (p.split('=')[1] !== '0') throw bad(`a=crypto:${tagText}: key derivation rate ${p} is not supported (rtpcast derives once: KDR=0)`);
      continue;
    }
    if (name === 'WSH' || p.startsWith('-')) continue; // window size hint; optional parameters
    if (UNSUPPORTED_PARAMS.includes(name)) throw bad(`a=crypto:${tagText}: session parameter ${name} is not supported (rtpcast always encrypts and authenticates)`);
    throw bad(`a=crypto:${tagText}: unknown session parameter "${p}" (RFC 4568 6.3: an unknown mandatory parameter makes the line unusable)`);
  }
  return { tag: Number(tagText), suite, keyAndSalt, text };
}

/**
 * The key to use from an m= section's a=crypto values: the first that rtpcast supports. When none
 * is usable, the error of the first is thrown (with how many others there were).
 */
export function selectCrypto(values: string[]): CryptoAttribute {
  if (!values.length) throw bad('no a=crypto line');
  let first: unknown;
  for (const v of values) {
    try {
      return parseCryptoAttribute(v);
    } catch (e) {
      first ??= e;
    }
  }
  if (values.length > 1 && first instanceof RtpcastError) throw new RtpcastError(`${first.message} (and none of the other ${values.length - 1} a=crypto lines is usable)`, first.exitCode, first.hint);
  throw first;
}

/** Receiver commands for an SRTP stream: players that read a=crypto from the SDP (never the key on a command line). */
export function srtpReceiverCommands(sdpPath?: string): ReceiverCommand[] {
  if (!sdpPath) return [{ player: 'rtpcast', command: 'rtpcast play stream.sdp', note: 'SRTP: the receiver needs an SDP holding the key (rtpcast send --sdp FILE writes it)' }];
  const sdp = displayPath(sdpPath);
  return [
    { player: 'rtpcast', command: `rtpcast play ${sdp}` },
    { player: 'ffplay', command: `ffplay -nodisp -protocol_whitelist ${FFMPEG_SRTP_PROTOCOLS} -i ${sdp}` },
    { player: 'ffmpeg', command: `ffmpeg -protocol_whitelist ${FFMPEG_SRTP_PROTOCOLS} -i ${sdp} out.wav` },
  ];
}

/** What ffmpeg must be allowed to open to play an SDP with a=crypto. */
export const FFMPEG_SRTP_PROTOCOLS = 'file,udp,rtp,srtp';

/** The warning printed when a key is handed out: where it is and what holding it allows. */
export function srtpNotice(where: '-' | string[]): string {
  const place = where === '-' ? 'the SDP printed on stdout' : where.length ? `the SDP (${where.join(', ')}; readable by you only)` : 'the key given with --srtp-key';
  return `SRTP: ${place} holds the key: anyone who has it can listen to this stream and inject audio into it. Copy it over ssh (scp), never by chat or e-mail; a new key each run. See docs/SECURITY.md`;
}

/**
 * The SRTP key of an SDP's audio stream (key||salt), or undefined for plain RTP. Throws an
 * RtpcastError naming the file when the SDP asks for SRTP that rtpcast cannot do.
 */
export function srtpKeyOfSdp(s: { protocol: string; crypto: string[] }, name: string): Buffer | undefined {
  if (s.crypto.length) {
    try {
      return selectCrypto(s.crypto).keyAndSalt;
    } catch (e) {
      if (e instanceof RtpcastError) throw new RtpcastError(`${name}: ${e.message}`, e.exitCode, e.hint);
      throw e;
    }
  }
  if (/SAVP/i.test(s.protocol)) {
    throw bad(
      `${name}: the stream is ${s.protocol} (SRTP) but the SDP has no a=crypto key: rtpcast takes SRTP keys from a=crypto only (no DTLS-SRTP, no MIKEY)`,
      'ask the sender for an SDP with a=crypto (rtpcast send --srtp writes one; ffmpeg: -srtp_out_suite/-srtp_out_params with -sdp_file)',
    );
  }
  return undefined;
}

/**
 * What a UDP datagram is, from its bytes alone (pure): RTP, RTCP, raw PCM audio without any header
 * (like the seed's Python sender: 4096-byte datagrams of s16le 44.1 kHz stereo), or unknown.
 *
 * One datagram cannot prove it is RTP: a random buffer has a 25% chance of starting with version 2,
 * and about 1% of raw PCM datagrams pass every RTP header check. So `'rtp'` here means "a valid and
 * plausible RTP header"; whether it is a stream (a stable SSRC, sequence numbers that advance) is
 * decided by the caller across packets (PacketCounter confirms an SSRC on its second packet).
 *
 * Raw PCM is recognised by what audio looks like as 16-bit samples:
 * - smoothness: consecutive samples of one channel are close. ratio = mean |x[n] - x[n-s]| / RMS
 *   (s = 1 for mono, 2 for interleaved stereo; the smaller wins). A sine of f Hz at rate R gives
 *   about 0.9 * 2 sin(pi f / R) (0.056 for 440 Hz at 44.1 kHz); white noise and random bytes give
 *   about 1.13, and so does audio read with the wrong byte order (its low bytes, which are noise,
 *   become the high bytes). Audio-like: ratio < SMOOTH_MAX.
 * - byte statistics: in 16-bit audio of ordinary level the high-order bytes take few values (near
 *   0x00/0xff) while the low-order bytes are spread: entropy(high) is well below entropy(low). This
 *   still works for quiet, noise-like audio (room hiss) where smoothness does not.
 * - byte order: the interpretation that is smoother (or, when neither is smooth, whose high-order
 *   bytes have the lower entropy) wins, by a margin; otherwise it is reported as unknown.
 */
import { parseRtp, rtcpSummary } from '../rtp/parse';

export type DatagramKind = 'rtp' | 'rtcp' | 'raw-pcm' | 'unknown';

/** Evidence that a buffer holds 16-bit PCM, and in which byte order / channel layout. */
export interface PcmEvidence {
  /** number of 16-bit samples looked at */
  samples: number;
  /** smoothness ratio (see the file comment) of each byte order, the better stride of each */
  ratioLe: number;
  ratioBe: number;
  /** Shannon entropy (bits) of the even- and odd-offset bytes */
  entropyEven: number;
  entropyOdd: number;
  /** all samples (nearly) zero: digital silence, byte order cannot be told */
  silent: boolean;
  /** does it look like 16-bit audio at all */
  audioLike: boolean;
  byteOrder: 's16le' | 's16be' | 'unknown';
  /** how the winning byte order was decided */
  byteOrderBy: 'smoothness' | 'byte-statistics' | 'undecided';
  /** in the winning byte order: 1 = consecutive samples continue one signal, 2 = interleaved pairs */
  channels: 1 | 2 | null;
  /** interleaved pairs identical (|L - R| <= 1 LSB everywhere): mono sent as stereo */
  identicalChannels: boolean;
  /** RMS of the winning interpretation, dBFS */
  rmsDbfs: number | null;
}

export type ClassifyDetail =
  | { kind: 'rtp'; payloadType: number; sequence: number; timestamp: number; ssrc: number; payloadBytes: number; marker: boolean; csrcCount: number }
  | { kind: 'rtcp'; types: number[]; byeSsrcs: number[] }
  | { kind: 'raw-pcm'; pcm: PcmEvidence; rtpLikeHeader: boolean; why: string }
  | { kind: 'unknown'; why: string; rtpError?: string; pcm?: PcmEvidence };

export interface Classification {
  kind: DatagramKind;
  detail: ClassifyDetail;
}

/** Audio-like when the better stride of the better byte order has a ratio below this. */
export const SMOOTH_MAX = 0.75;
/** Byte order decided by smoothness when the other order is rougher by this factor. */
export const BYTE_ORDER_MARGIN = 1.6;
/** Byte statistics: high bytes at least this many bits below the low bytes... */
export const ENTROPY_GAP_BITS = 1.5;
/** ...and at most this many bits (random bytes give ~7.9 over 2 KiB). */
export const ENTROPY_HIGH_MAX = 6;
/** Samples looked at, at most (spread over the whole buffer in whole chunks). */
const MAX_SAMPLES = 8192;

const hist = new Uint32Array(256);
function entropyOf(b: Uint8Array, start: number, step: number, end: number): number {
  hist.fill(0);
  let n = 0;
  for (let i = start; i < end; i += step) {
    hist[b[i]]++;
    n++;
  }
  if (n === 0) return 0;
  let h = 0;
  for (let v = 0; v < 256; v++) {
    const c = hist[v];
    if (c) {
      const p = c / n;
      h -= p * Math.log2(p);
    }
  }
  return h;
}

interface OrderStats {
  ratio1: number;
  ratio2: number;
  rms: number;
  identical: boolean;
}

function orderStats(b: Uint8Array, off: number, n: number, bigEndian: boolean): OrderStats {
  const hiOff = bigEndian ? 0 : 1;
  const loOff = bigEndian ? 1 : 0;
  const at = (i: number) => {
    const p = off + 2 * i;
    const v = (b[p + hiOff] << 8) | b[p + loOff];
    return v >= 0x8000 ? v - 0x10000 : v;
  };
  let sum = 0;
  let sum2 = 0;
  let d1 = 0;
  let d2 = 0;
  let identical = n >= 4 && n % 2 === 0;
  let p1 = at(0);
  let p2 = 0;
  sum += p1;
  sum2 += p1 * p1;
  for (let i = 1; i < n; i++) {
    const x = at(i);
    sum += x;
    sum2 += x * x;
    d1 += Math.abs(x - p1);
    if (i >= 2) d2 += Math.abs(x - p2);
    if (identical && i % 2 === 1 && Math.abs(x - p1) > 1) identical = false;
    p2 = p1;
    p1 = x;
  }
  const mean = sum / n;
  const rms = Math.sqrt(Math.max(0, sum2 / n - mean * mean));
  const denom = rms + 1;
  return { ratio1: n > 1 ? d1 / (n - 1) / denom : Infinity, ratio2: n > 2 ? d2 / (n - 2) / denom : Infinity, rms, identical };
}

/**
 * 16-bit PCM evidence for `bytes[offset..]` (pure). Looks at up to 8192 samples from the start.
 * With fewer than 16 samples nothing is decided (audioLike false, byte order unknown).
 */
export function pcmEvidence(bytes: Uint8Array, offset = 0): PcmEvidence {
  const avail = Math.max(0, bytes.length - offset);
  const n = Math.min(MAX_SAMPLES, avail >> 1);
  const end = offset + 2 * n;
  const none: PcmEvidence = {
    samples: n, ratioLe: Infinity, ratioBe: Infinity, entropyEven: 0, entropyOdd: 0, silent: false, audioLike: false,
    byteOrder: 'unknown', byteOrderBy: 'undecided', channels: null, identicalChannels: false, rmsDbfs: null,
  };
  if (n < 16) return none;
  const le = orderStats(bytes, offset, n, false);
  const be = orderStats(bytes, offset, n, true);
  const entropyEven = entropyOf(bytes, offset, 2, end);
  const entropyOdd = entropyOf(bytes, offset + 1, 2, end);
  const ratioLe = Math.min(le.ratio1, le.ratio2);
  const ratioBe = Math.min(be.ratio1, be.ratio2);
  // digital silence (or a constant): every sample within 2 LSB of the mean in both readings
  const silent = le.rms < 2 && be.rms < 2;
  let byteOrder: PcmEvidence['byteOrder'] = 'unknown';
  let byteOrderBy: PcmEvidence['byteOrderBy'] = 'undecided';
  let audioLike = false;
  if (silent) {
    audioLike = true;
  } else {
    const best = Math.min(ratioLe, ratioBe);
    if (best < SMOOTH_MAX) {
      audioLike = true;
      if (ratioBe >= ratioLe * BYTE_ORDER_MARGIN) { byteOrder = 's16le'; byteOrderBy = 'smoothness'; }
      else if (ratioLe >= ratioBe * BYTE_ORDER_MARGIN) { byteOrder = 's16be'; byteOrderBy = 'smoothness'; }
    }
    if (byteOrder === 'unknown') {
      // high-order bytes take few values in audio of ordinary level
      if (entropyOdd <= ENTROPY_HIGH_MAX && entropyEven - entropyOdd >= ENTROPY_GAP_BITS) {
        audioLike = true; byteOrder = 's16le'; byteOrderBy = 'byte-statistics';
      } else if (entropyEven <= ENTROPY_HIGH_MAX && entropyOdd - entropyEven >= ENTROPY_GAP_BITS) {
        audioLike = true; byteOrder = 's16be'; byteOrderBy = 'byte-statistics';
      }
    }
  }
  const win = byteOrder === 's16be' ? be : byteOrder === 's16le' ? le : ratioBe < ratioLe ? be : le;
  let channels: 1 | 2 | null = null;
  if (audioLike && !silent) {
    if (win.identical) channels = 2;
    else if (win.ratio2 < win.ratio1 * 0.8) channels = 2;
    else if (win.ratio1 < win.ratio2 * 0.8) channels = 1;
  }
  return {
    samples: n, ratioLe, ratioBe, entropyEven, entropyOdd, silent, audioLike, byteOrder, byteOrderBy, channels,
    identicalChannels: !silent && win.identical,
    rmsDbfs: silent ? null : 20 * Math.log10(Math.max(win.rms, 1e-9) / 32768),
  };
}

/**
 * A buffer that parses as RTP but is really PCM: the 12 "header" bytes continue the waveform of the
 * rest. In a real RTP packet the sequence number, timestamp and SSRC are unrelated to the payload,
 * so they jump far outside the payload's sample-to-sample steps.
 */
function headerContinuesSignal(b: Uint8Array, pcm: PcmEvidence): boolean {
  if (pcm.silent) return b.subarray(0, 12).every((x) => x === 0 || x === 0xff);
  if (!pcm.audioLike || pcm.byteOrderBy !== 'smoothness') return false;
  const be = pcm.byteOrder === 's16be';
  const s = (i: number) => {
    const v = be ? (b[2 * i] << 8) | b[2 * i + 1] : (b[2 * i + 1] << 8) | b[2 * i];
    return v >= 0x8000 ? v - 0x10000 : v;
  };
  const stride = pcm.channels === 2 ? 2 : 1;
  // typical step of the rest of the buffer
  const n = Math.min(b.length >> 1, 2048);
  let sum = 0;
  for (let i = 6 + stride; i < n; i++) sum += Math.abs(s(i) - s(i - stride));
  const typical = sum / Math.max(1, n - 6 - stride) + 2;
  let worst = 0;
  for (let i = stride; i < 6 + stride && i < n; i++) worst = Math.max(worst, Math.abs(s(i) - s(i - stride)));
  return worst <= typical * 8;
}

/** See the file comment. Pure; never throws. */
export function classifyDatagram(buf: Uint8Array): Classification {
  const b1 = buf.length > 1 ? buf[1] : -1;
  if (buf.length >= 4 && buf[0] >> 6 === 2 && b1 >= 192 && b1 <= 223) {
    // RTCP packet types 192-223 (RFC 5761 4: what RTP must not use as marker+PT)
    const r = rtcpSummary(buf);
    if (r.valid) return { kind: 'rtcp', detail: { kind: 'rtcp', types: r.types, byeSsrcs: r.byeSsrcs } };
  }
  const r = parseRtp(buf);
  const even = buf.length % 2 === 0 && buf.length >= 32;
  if (r.ok) {
    const p = r.packet;
    const pcm = even ? pcmEvidence(buf) : undefined;
    if (pcm && pcm.audioLike && headerContinuesSignal(buf, pcm)) {
      return { kind: 'raw-pcm', detail: { kind: 'raw-pcm', pcm, rtpLikeHeader: true, why: 'passes the RTP header checks, but its 12 "header" bytes continue the waveform of the rest: headerless PCM' } };
    }
    const plausible = p.csrcs.length <= 4 && !(p.payloadType >= 72 && p.payloadType <= 76);
    if (plausible) {
      return {
        kind: 'rtp',
        detail: { kind: 'rtp', payloadType: p.payloadType, sequence: p.sequence, timestamp: p.timestamp, ssrc: p.ssrc, payloadBytes: p.payload.length, marker: p.marker, csrcCount: p.csrcs.length },
      };
    }
    if (pcm?.audioLike) return { kind: 'raw-pcm', detail: { kind: 'raw-pcm', pcm, rtpLikeHeader: true, why: 'an implausible RTP header (many CSRCs or an RTCP payload type) over audio-like samples' } };
    return { kind: 'unknown', detail: { kind: 'unknown', why: `RTP header with ${p.csrcs.length} CSRCs and payload type ${p.payloadType}: not plausible` } };
  }
  if (!even) {
    return { kind: 'unknown', detail: { kind: 'unknown', rtpError: r.error, why: buf.length % 2 ? 'odd length: not 16-bit PCM, and not RTP' : 'too short to tell' } };
  }
  const pcm = pcmEvidence(buf);
  if (pcm.audioLike) {
    return {
      kind: 'raw-pcm',
      detail: { kind: 'raw-pcm', pcm, rtpLikeHeader: false, why: pcm.silent ? 'all samples zero: digital silence without any header' : `no RTP header (${r.error}); the bytes read as ${pcm.byteOrder === 'unknown' ? '16-bit' : pcm.byteOrder} audio (smoothness ${Math.min(pcm.ratioLe, pcm.ratioBe).toFixed(2)})` },
    };
  }
  return { kind: 'unknown', detail: { kind: 'unknown', rtpError: r.error, pcm, why: `not RTP (${r.error}) and not audio-like 16-bit samples` } };
}

/**
 * Which PCM layouts fit `bytesPerSec` of raw s16 audio: standard rate x channels x 2 within `tol`
 * (default 3%). `channels` narrows the answer when the signal told it.
 */
export function rawPcmRateGuesses(bytesPerSec: number, channels?: 1 | 2 | null, tol = 0.03): { rate: number; channels: number }[] {
  const out: { rate: number; channels: number }[] = [];
  for (const ch of channels ? [channels] : [2, 1]) {
    for (const rate of STANDARD_RATES) {
      const want = rate * ch * 2;
      if (Math.abs(bytesPerSec / want - 1) <= tol) out.push({ rate, channels: ch });
    }
  }
  return out;
}

/** Audio sample rates seen in the wild, for snapping measured rates. */
export const STANDARD_RATES = [8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 176400, 192000];

/** The standard rate within `tol` (relative) of `hz`, else null. */
export function snapRate(hz: number, tol = 0.04): number | null {
  let best: number | null = null;
  let bestErr = Infinity;
  for (const r of STANDARD_RATES) {
    const e = Math.abs(hz / r - 1);
    if (e < bestErr) { bestErr = e; best = r; }
  }
  return bestErr <= tol ? best : null;
}

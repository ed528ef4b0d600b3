/**
 * Fuzz targets: each generates input i deterministically from (seed, i) and runs it through the
 * real code, checking that nothing but the documented error escapes and that what is accepted is
 * consistent (an independent reference validator for RTP and RTCP, the diag counter's own copy of
 * the RTP checks, invariants on what the SDP parser hands to the player).
 *
 * Used by scripts/fuzz.ts (the long pass, `npm run fuzz`) and test/fuzz/fuzz.test.ts (a short pass
 * and the replay of test/fixtures/fuzz).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpusEncoder } from '../../src/codec/opus';
import { classifyDatagram } from '../../src/diag/classify';
import { PacketCounter, readRtpHeader, RTP_HEADER_ERRORS, type RtpHeaderFields } from '../../src/diag/counter';
import { lintSdp } from '../../src/diag/sdp';
import { RtpcastError } from '../../src/errors';
import { parseRtp, rtcpSummary } from '../../src/rtp/parse';
import { buildBye, buildGoodbye, buildSdes, buildSenderReport } from '../../src/rtp/rtcp';
import { parseSdpStream, SdpError } from '../../src/sdp/parse';
import { gstCaps, receiverCommands } from '../../src/sdp/receivers';
import { buildSap, parseSap, sdpName } from '../../src/sdp/sap';
import { receiveSpec } from '../../src/session/play';
import type { StreamDescription } from '../../src/stream/description';
import { hash32 } from '../support/prng';
import { inputRand, int, mutateBytes, mutateRtpHeader, mutateSdpText, pick, randomBytes } from './mutate';
import { RtpReceiver } from '../../src/session/receiver';

/** An accepted input that breaks a documented property (a mis-parse, not a crash). */
export class FuzzViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzViolation';
  }
}

function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new FuzzViolation(message);
}

export interface TargetInstance {
  generate(index: number): Uint8Array;
  /** throws on a bug: any exception other than the parser's documented error, or a FuzzViolation */
  run(input: Uint8Array, index: number): void;
  close(): void;
}

export interface FuzzTarget {
  name: string;
  what: string;
  create(seed: number): TargetInstance;
}

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');

// ---------------------------------------------------------------- seeds

function rtpPacket(o: { pt: number; seq: number; ts: number; ssrc: number; payload: Uint8Array; marker?: boolean; csrcs?: number[]; ext?: Uint8Array; pad?: number }): Uint8Array {
  const cc = o.csrcs?.length ?? 0;
  const extLen = o.ext ? 4 + Math.ceil(o.ext.length / 4) * 4 : 0;
  const pad = o.pad ?? 0;
  const b = Buffer.alloc(12 + cc * 4 + extLen + o.payload.length + pad);
  b[0] = 0x80 | (pad ? 0x20 : 0) | (o.ext ? 0x10 : 0) | cc;
  b[1] = (o.marker ? 0x80 : 0) | o.pt;
  b.writeUInt16BE(o.seq & 0xffff, 2);
  b.writeUInt32BE(o.ts >>> 0, 4);
  b.writeUInt32BE(o.ssrc >>> 0, 8);
  let off = 12;
  for (const c of o.csrcs ?? []) {
    b.writeUInt32BE(c >>> 0, off);
    off += 4;
  }
  if (o.ext) {
    b.writeUInt16BE(0xbede, off);
    b.writeUInt16BE((extLen - 4) / 4, off + 2);
    b.set(o.ext, off + 4);
    off += extLen;
  }
  b.set(o.payload, off);
  if (pad) b[b.length - 1] = pad;
  return b;
}

let opusFrames: Uint8Array[] | undefined;
/** Real Opus payloads (20 ms stereo, a 440 Hz tone with FEC), made once. */
export function opusPayloads(): Uint8Array[] {
  if (opusFrames) return opusFrames;
  const enc = new OpusEncoder({ channels: 2, bitrate: 96000, fec: true });
  const out: Uint8Array[] = [];
  for (let k = 0; k < 25; k++) {
    const f = new Float32Array(960 * 2);
    for (let i = 0; i < 960; i++) f[2 * i] = f[2 * i + 1] = 0.25 * Math.sin((2 * Math.PI * 440 * (k * 960 + i)) / 48000);
    out.push(new Uint8Array(enc.encode(f)));
  }
  enc.close();
  return (opusFrames = out);
}

function l16Payload(frames: number, channels: number, phase: number): Uint8Array {
  const b = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * (phase + i)) / 48000));
    for (let c = 0; c < channels; c++) b.writeInt16BE(v, (i * channels + c) * 2);
  }
  return b;
}

function rtpSeeds(): Uint8Array[] {
  const op = opusPayloads();
  return [
    rtpPacket({ pt: 96, seq: 1, ts: 1000, ssrc: 0x11223344, payload: l16Payload(240, 2, 0), marker: true }),
    rtpPacket({ pt: 10, seq: 65535, ts: 0xffffff00, ssrc: 0xdeadbeef, payload: l16Payload(441, 2, 0) }),
    rtpPacket({ pt: 97, seq: 7, ts: 960, ssrc: 1, payload: op[3] }),
    rtpPacket({ pt: 97, seq: 8, ts: 1920, ssrc: 1, payload: op[4], csrcs: [1, 2, 3] }),
    rtpPacket({ pt: 96, seq: 9, ts: 0, ssrc: 2, payload: l16Payload(48, 1, 0), ext: Uint8Array.of(0x10, 0xaa, 0, 0) }),
    rtpPacket({ pt: 96, seq: 10, ts: 0, ssrc: 2, payload: l16Payload(48, 1, 0), pad: 4 }),
    rtpPacket({ pt: 97, seq: 11, ts: 0, ssrc: 3, payload: op[5], csrcs: [9], ext: new Uint8Array(8), pad: 3 }),
    rtpPacket({ pt: 0, seq: 0, ts: 0, ssrc: 0, payload: Uint8Array.of(0xff) }),
  ];
}

function rtcpSeeds(): Uint8Array[] {
  const i = { ssrc: 0x01020304, ntp: 0xe0000000_80000000n, rtpTimestamp: 12345, packetCount: 10, octetCount: 9000, cname: 'rtpcast@host' };
  const rr = Buffer.alloc(32);
  rr[0] = 0x81;
  rr[1] = 201;
  rr.writeUInt16BE(7, 2);
  rr.writeUInt32BE(5, 4);
  rr.writeUInt32BE(i.ssrc, 8);
  return [
    buildGoodbye(i),
    buildSenderReport(i),
    buildSdes(i.ssrc, 'a'),
    buildBye(i.ssrc),
    buildBye(7, 'gone'),
    rr,
    Buffer.concat([rr, buildBye(i.ssrc, 'x'.repeat(40))]),
  ];
}

function sdpSeeds(): string[] {
  const dir = join(FIXTURES, 'sdp');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sdp'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'latin1'));
}

function sapSeeds(sdps: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const [k, s] of sdps.entries()) {
    const b = buildSap({ msgIdHash: 1 + ((k * 7919) % 65535), origin: `192.168.1.${k}`, sdp: s, deletion: k % 5 === 0 });
    out.push(b);
    if (k % 3 === 0) out.push(Buffer.concat([b.subarray(0, 8), Buffer.from(s, 'latin1')])); // no payload type: SDP straight after the header
  }
  // IPv6 origin, two words of authentication data
  const v6 = Buffer.alloc(4 + 16 + 8);
  v6[0] = (1 << 5) | 0x10;
  v6[1] = 2;
  v6.writeUInt16BE(0xabcd, 2);
  v6[4] = 0xfe;
  v6[5] = 0x80;
  out.push(Buffer.concat([v6, Buffer.from('application/sdp\0', 'latin1'), Buffer.from(sdps[0], 'latin1')]));
  return out;
}

// ---------------------------------------------------------------- reference validators

interface RefRtp {
  error?: string;
  payloadStart?: number;
  payloadEnd?: number;
}

/** RFC 3550 5.1 checks written independently of parseRtp, for comparison. */
export function referenceRtp(b: Uint8Array): RefRtp {
  if (b.length < 12) return { error: 'too-short' };
  if ((b[0] & 0xc0) !== 0x80) return { error: 'not-version-2' };
  if ([200, 201, 202, 203, 204].includes(b[1])) return { error: 'rtcp' };
  const cc = b[0] % 16;
  let start = 12 + 4 * cc;
  if (start > b.length) return { error: 'csrc-past-end' };
  if ((b[0] & 0x10) !== 0) {
    if (b.length - start < 4) return { error: 'extension-past-end' };
    start += 4 + 4 * (b[start + 2] * 256 + b[start + 3]);
    if (start > b.length) return { error: 'extension-past-end' };
  }
  let end = b.length;
  if ((b[0] & 0x20) !== 0) {
    const p = b[b.length - 1];
    if (p < 1 || p > b.length - start) return { error: 'bad-padding' };
    end = b.length - p;
  }
  if (end - start < 1) return { error: 'empty-payload' };
  return { payloadStart: start, payloadEnd: end };
}

/** RTCP compound walk (RFC 3550 6.4): every packet version 2, lengths adding up exactly. */
export function referenceRtcp(b: Uint8Array): { valid: boolean; types: number[]; bye: number[] } {
  const types: number[] = [];
  const bye: number[] = [];
  let off = 0;
  while (b.length - off >= 4) {
    if (b[off] >>> 6 !== 2) return { valid: false, types, bye };
    const words = b[off + 2] * 256 + b[off + 3];
    const len = 4 * (words + 1);
    if (len > b.length - off) return { valid: false, types, bye };
    types.push(b[off + 1]);
    if (b[off + 1] === 203) {
      const sc = b[off] & 31;
      for (let k = 0; k < sc && 4 + 4 * (k + 1) <= len; k++) bye.push(Buffer.from(b.buffer, b.byteOffset + off + 4 + 4 * k, 4).readUInt32BE(0));
    }
    off += len;
  }
  return { valid: off === b.length && types.length > 0, types, bye };
}

const EXPECTED_SDP_ERRORS = (e: unknown) => e instanceof SdpError || e instanceof RtpcastError;

// ---------------------------------------------------------------- targets

const rtpTarget: FuzzTarget = {
  name: 'rtp',
  what: 'parseRtp (src/rtp/parse.ts) and readRtpHeader (src/diag/counter.ts) against a reference validator',
  create(seed) {
    const seeds = rtpSeeds();
    const h: RtpHeaderFields = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, payloadBytes: 0 };
    return {
      generate(i) {
        const r = inputRand(seed, i, 1);
        const u = r();
        if (u < 0.05) return randomBytes(r, int(r, 64));
        let b: Uint8Array = pick(r, seeds).slice();
        if (u < 0.45) b = mutateRtpHeader(r, b);
        if (u >= 0.3) b = mutateBytes(r, b, seeds);
        if (r() < 0.2) b = mutateRtpHeader(r, b);
        return b;
      },
      run(b) {
        const p = parseRtp(b);
        const ref = referenceRtp(b);
        const e = readRtpHeader(b, h);
        if (!p.ok) {
          check(ref.error === p.error, `parseRtp says ${p.error}, reference says ${ref.error ?? 'valid'}`);
          check(e >= 0 && RTP_HEADER_ERRORS[e] === p.error, `readRtpHeader says ${e < 0 ? 'valid' : RTP_HEADER_ERRORS[e]}, parseRtp ${p.error}`);
          return;
        }
        const k = p.packet;
        check(ref.error === undefined, `parseRtp accepted what the reference rejects (${ref.error})`);
        check(k.payload.byteOffset - b.byteOffset === ref.payloadStart && k.payload.length === ref.payloadEnd! - ref.payloadStart!, `payload at ${k.payload.byteOffset - b.byteOffset}+${k.payload.length}, reference ${ref.payloadStart}..${ref.payloadEnd}`);
        check(k.payload.length > 0 && k.payload.buffer === b.buffer, 'payload empty or not a view of the datagram');
        check(k.csrcs.length === (b[0] & 15), 'CSRC count');
        check(e === -1 && h.payloadOffset === ref.payloadStart && h.payloadBytes === k.payload.length && h.ssrc === k.ssrc && h.sequence === k.sequence && h.timestamp === k.timestamp && h.payloadType === k.payloadType && h.marker === k.marker, 'readRtpHeader disagrees with parseRtp on a valid packet');
      },
      close() {},
    };
  },
};

const rtcpTarget: FuzzTarget = {
  name: 'rtcp',
  what: "rtcpSummary (src/rtp/parse.ts), PacketCounter's RTCP walk (addRtcpPort) and classifyDatagram (src/diag/classify.ts)",
  create(seed) {
    const seeds = rtcpSeeds();
    let counter = new PacketCounter();
    let lastValid = 0;
    let n = 0;
    return {
      generate(i) {
        const r = inputRand(seed, i, 2);
        const u = r();
        if (u < 0.05) return randomBytes(r, int(r, 80));
        let b: Uint8Array;
        if (u < 0.2) b = Buffer.concat([pick(r, seeds), pick(r, seeds), pick(r, seeds)]);
        else b = pick(r, seeds).slice();
        if (r() < 0.5) {
          // RTCP-aware: a length or a source count that lies, in one of the compound's packets
          const off = r() < 0.5 ? 0 : b.length > 36 ? 4 * int(r, b.length / 4 - 1) : 0;
          if (off + 4 <= b.length) {
            if (r() < 0.5) b[off] = (b[off] & 0xe0) | int(r, 32);
            else {
              const w = pick(r, [0, 1, 2, 0xffff, int(r, 20)]);
              b[off + 2] = w >> 8;
              b[off + 3] = w & 0xff;
            }
          }
        }
        if (u > 0.3) b = mutateBytes(r, b, seeds);
        return b;
      },
      run(b) {
        const s = rtcpSummary(b);
        const ref = referenceRtcp(b);
        check(s.valid === ref.valid, `rtcpSummary valid=${s.valid}, reference ${ref.valid}`);
        if (ref.valid) {
          check(s.types.join() === ref.types.join(), `types ${s.types} vs ${ref.types}`);
          check(s.byeSsrcs.join() === ref.bye.join(), `BYE SSRCs ${s.byeSsrcs} vs ${ref.bye}`);
        }
        counter.addRtcpPort(b, { address: '127.0.0.1', port: 5005 });
        const valid = counter.snapshot().rtcpPort.valid;
        check(valid - lastValid === (ref.valid ? 1 : 0), `PacketCounter counted the RTCP datagram ${valid > lastValid ? 'valid' : 'invalid'}, reference ${ref.valid}`);
        lastValid = valid;
        const c = classifyDatagram(b);
        check(typeof c.kind === 'string', 'classifyDatagram result');
        if (++n % 50_000 === 0) {
          counter = new PacketCounter();
          lastValid = 0;
        }
      },
      close() {},
    };
  },
};

function sdpInvariants(text: string): void {
  let spec;
  try {
    spec = receiveSpec({ sdp: { text, name: 'fuzz.sdp' } });
  } catch (e) {
    if (EXPECTED_SDP_ERRORS(e)) return;
    throw e;
  }
  checkReceiveSpec(spec);
}

/** What runPlay needs from an accepted SDP; a FuzzViolation otherwise. */
export function checkReceiveSpec(spec: ReturnType<typeof receiveSpec>): void {
  if ('pending' in spec) throw new FuzzViolation('an SDP gave a pending spec');
  // what runPlay builds its socket, decoder and player from
  check(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535, `port ${spec.port} accepted`);
  check(Number.isInteger(spec.clockRate) && spec.clockRate >= 1000 && spec.clockRate <= 768000, `clock rate ${spec.clockRate} accepted`);
  check(Number.isInteger(spec.channels) && spec.channels >= 1 && spec.channels <= 255, `channel count ${spec.channels} accepted`);
  check(Number.isInteger(spec.payloadType) && spec.payloadType >= 0 && spec.payloadType <= 127, `payload type ${spec.payloadType} accepted`);
  check(typeof spec.address === 'string', 'address');
  const d = { codec: spec.codec, payloadType: spec.payloadType, clockRate: spec.clockRate, sampleRate: spec.clockRate, channels: spec.channels } as StreamDescription;
  const cmds = receiverCommands(d, { host: spec.address!, address: spec.address!, family: spec.family, port: spec.port, multicast: spec.multicast }, 'fuzz.sdp');
  check(cmds.length > 0 && gstCaps(d).length > 0, 'receiver commands');
}

const sdpTarget: FuzzTarget = {
  name: 'sdp',
  what: 'parseSdpStream (src/sdp/parse.ts) via receiveSpec (src/session/play.ts), receiverCommands (src/sdp/receivers.ts), lintSdp (src/diag/sdp.ts); UTF-8 and Latin-1 decodings',
  create(seed) {
    const texts = sdpSeeds();
    const bytes = texts.map((t) => Buffer.from(t, 'latin1'));
    return {
      generate(i) {
        const r = inputRand(seed, i, 3);
        const u = r();
        if (u < 0.03) return randomBytes(r, int(r, 300));
        let t = pick(r, texts);
        t = mutateSdpText(r, t, texts);
        if (r() < 0.3) t = mutateSdpText(r, t, texts);
        let b: Uint8Array = Buffer.from(t, r() < 0.5 ? 'utf8' : 'latin1');
        if (u > 0.75) b = mutateBytes(r, b, bytes); // bytes: non-UTF-8, split lines, NULs
        return b;
      },
      run(b) {
        const utf8 = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
        const latin1 = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
        for (const text of utf8 === latin1 ? [utf8] : [utf8, latin1]) {
          try {
            const s = parseSdpStream(text);
            check(typeof s.encoding === 'string', 'encoding');
          } catch (e) {
            if (!(e instanceof SdpError)) throw e;
          }
          sdpInvariants(text);
        }
        const rep = lintSdp(b, { name: 'fuzz.sdp' });
        check(rep.check === 'sdp' && Array.isArray(rep.findings), 'lintSdp report');
        JSON.stringify(rep); // what --json prints
      },
      close() {},
    };
  },
};

const sapTarget: FuzzTarget = {
  name: 'sap',
  what: 'parseSap and sdpName (src/sdp/sap.ts), then parseSdpStream on what it returns',
  create(seed) {
    const texts = sdpSeeds();
    const seeds = sapSeeds(texts);
    return {
      generate(i) {
        const r = inputRand(seed, i, 4);
        const u = r();
        if (u < 0.05) return randomBytes(r, int(r, 64));
        let b: Uint8Array = pick(r, seeds).slice();
        if (u < 0.4) {
          // SAP-aware: flags/version byte, authentication length, the payload-type string
          const f = int(r, 3);
          if (f === 0) b[0] = int(r, 256);
          else if (f === 1) b[1] = pick(r, [0, 1, 2, 0x7f, 0xff, int(r, 256)]);
          else {
            const at = b.indexOf(0, 8);
            if (at > 0) b[at] = pick(r, [0x20, 0x41]); // the terminating NUL gone
          }
        }
        if (u > 0.3) b = mutateBytes(r, b, seeds);
        if (r() < 0.1) {
          // a mutated SDP inside an intact header
          const at = Math.min(b.length, 24);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(mutateSdpText(r, pick(r, texts), texts), 'utf8')]);
        }
        return b;
      },
      run(b) {
        const m = parseSap(b);
        const version = b.length ? b[0] >> 5 : -1;
        if (b.length < 8 || version !== 1 || (b[0] & 3) !== 0) check(m === undefined, 'parseSap accepted a short, non-version-1, encrypted or compressed packet');
        if (!m) return;
        check(m.sdp.startsWith('v=0') && m.payloadType === 'application/sdp', 'parseSap returned something that is not an SDP');
        check(typeof m.origin === 'string' && m.origin.length > 0 && m.msgIdHash >= 0 && m.msgIdHash <= 0xffff, 'origin / hash');
        sdpName(m.sdp);
        try {
          parseSdpStream(m.sdp);
        } catch (e) {
          if (!(e instanceof SdpError)) throw e;
        }
      },
      close() {},
    };
  },
};

/** Index i -> (codec, position in that codec's stream). */
function playSlot(i: number): { opus: boolean; pos: number } {
  return { opus: (i & 1) === 1, pos: Math.floor(i / 2) };
}

const EPOCH = 3000; // packets per sender run: then the sender "restarts" (new SSRC, sequence, timestamp)

/**
 * The receiver `rtpcast play` uses, for a stream it knows from an SDP: L16 (payload type 96,
 * with a=source-filter for 127.0.0.1, so the fuzzer's other address is filtered) or Opus
 * (payload type 97, no filter, so the other address is another sender, counted).
 */
function playReceiver(codec: 'l16' | 'opus'): RtpReceiver {
  const spec = { codec, payloadType: codec === 'l16' ? 96 : 97, clockRate: 48000, channels: 2, port: 5004, family: 4 as const, multicast: false, from: 'fuzz' };
  return new RtpReceiver({ spec: codec === 'l16' ? { ...spec, sourceFilter: '127.0.0.1' } : spec });
}

/** An RTCP BYE (RFC 3550 6.6) for one SSRC. */
function rtcpBye(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x81;
  b[1] = 203;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

const playTarget: FuzzTarget = {
  name: 'play',
  what: "rtpcast play's datagram path without the socket (RtpReceiver, src/session/receiver.ts, the class play uses: source filter, parseRtp, sender lock, RtpStreamStats, Player with the L16 and Opus decoders, RTCP BYE), output pulled at real-time pace",
  create(seed) {
    const op = opusPayloads();
    let l16 = playReceiver('l16');
    let opus = playReceiver('opus');
    const L16_FRAMES = 240; // 5 ms
    const OPUS_FRAMES = 960; // 20 ms
    return {
      generate(i) {
        const r = inputRand(seed, i, 5);
        const { opus: isOpus, pos } = playSlot(i);
        const epoch = Math.floor(pos / EPOCH);
        const frames = isOpus ? OPUS_FRAMES : L16_FRAMES;
        let b = rtpPacket({
          pt: isOpus ? 97 : 96,
          seq: hash32(seed, epoch, 50) + pos,
          ts: (hash32(seed, epoch, 51) + pos * frames) >>> 0,
          ssrc: hash32(seed, epoch, 52),
          payload: isOpus ? op[pos % op.length] : l16Payload(L16_FRAMES, 2, pos * L16_FRAMES),
          marker: pos % EPOCH === 0,
        });
        const u = r();
        if (u < 0.25) b = mutateRtpHeader(r, b);
        else if (u < 0.5) b = mutateBytes(r, b);
        else if (u < 0.52) b = randomBytes(r, int(r, 100));
        return b;
      },
      run(b, i) {
        const r = inputRand(seed, i, 6);
        const { opus: isOpus, pos } = playSlot(i);
        const h = isOpus ? opus : l16;
        const frames = isOpus ? OPUS_FRAMES : L16_FRAMES;
        const ms = (frames / 48000) * 1000;
        // arrival: on time plus up to 8 ms of jitter; 1 in 500 from another address
        const now = BigInt(Math.round((pos * ms + r() * 8) * 1e6));
        const from = r() < 0.002 ? { address: '127.0.0.2', port: 40000 } : { address: '127.0.0.1', port: 40000 };
        h.datagram(b, from, now);
        if (r() < 0.0005) h.rtcp(rtcpBye(hash32(seed, Math.floor(pos / EPOCH), 52)), { address: '127.0.0.1', port: 40001 });
        const out = h.player!.read(frames);
        check(out.length === frames * 2, `read(${frames}) returned ${out.length} samples`);
        for (let k = 0; k < out.length; k++) if (!(Math.abs(out[k]) <= 4)) throw new FuzzViolation(`output sample ${out[k]} at ${k}`);
        if (i % 10_000 === 1) {
          const st = h.player!.stats();
          check(Number.isFinite(st.bufferedMs) && Number.isFinite(st.targetMs), `player stats not finite: ${JSON.stringify(st)}`);
          const c = h.counters();
          check(c.others.length <= 32 && Object.keys(c.filteredFrom).length <= 32, `receiver tracks too much: ${c.others.length} others, ${Object.keys(c.filteredFrom).length} filtered addresses`);
        }
        // a fresh pair now and then (the long-lived ones stay for memory flatness across restarts)
        if (i % 400_000 === 399_999) {
          l16.close();
          opus.close();
          l16 = playReceiver('l16');
          opus = playReceiver('opus');
        }
      },
      close() {
        l16.close();
        opus.close();
      },
    };
  },
};

const counterTarget: FuzzTarget = {
  name: 'counter',
  what: 'PacketCounter.add / snapshot (src/diag/counter.ts, `rtpcast diag packets`), many senders and SSRCs, RTP, RTCP, raw PCM and garbage',
  create(seed) {
    const rtp = rtpSeeds();
    const rtcp = rtcpSeeds();
    let counter = new PacketCounter();
    let added = 0;
    return {
      generate(i) {
        const r = inputRand(seed, i, 7);
        const u = r();
        if (u < 0.1) return randomBytes(r, int(r, 1500));
        if (u < 0.2) return mutateBytes(r, pick(r, rtcp), rtcp);
        // a plausible stream: sequence and timestamp follow i, SSRC one of a few
        const base = pick(r, rtp).slice();
        const ssrc = hash32(seed, int(r, 8), 70);
        Buffer.from(base.buffer, base.byteOffset).writeUInt16BE((i >> 1) & 0xffff, 2);
        Buffer.from(base.buffer, base.byteOffset).writeUInt32BE(((i >> 1) * 960) >>> 0, 4);
        Buffer.from(base.buffer, base.byteOffset).writeUInt32BE(ssrc, 8);
        if (u < 0.6) return base;
        if (u < 0.8) return mutateRtpHeader(r, base);
        return mutateBytes(r, base, rtp);
      },
      run(b, i) {
        const r = inputRand(seed, i, 8);
        // 90 addresses: more than the 64-sender limit, so the over-limit path runs too
        const from = { address: r() < 0.9 ? '127.0.0.1' : `127.0.1.${int(r, 90)}`, port: 40000 + int(r, 2) };
        counter.add(b, from, BigInt(i) * 5_000_000n);
        added++;
        if (i % 7 === 0) counter.addRtcpPort(b, from);
        if (i % 5000 === 4999) {
          const s = counter.snapshot({ finish: i % 20000 === 19999 });
          check(s.datagrams === added, `snapshot counts ${s.datagrams} datagrams, ${added} were added`);
          JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
        }
        if (i % 200_000 === 199_999) {
          counter = new PacketCounter();
          added = 0;
        }
      },
      close() {},
    };
  },
};

export const TARGETS: readonly FuzzTarget[] = [rtpTarget, rtcpTarget, sdpTarget, sapTarget, playTarget, counterTarget];

export function target(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`unknown fuzz target "${name}" (targets: ${TARGETS.map((x) => x.name).join(', ')})`);
  return t;
}

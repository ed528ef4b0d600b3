/**
 * `rtpcast diag sdp`: lints an SDP file line by line against RFC 4566 (SDP), RFC 3551 (RTP/AVP
 * payload types, L16), RFC 7587 (Opus), RFC 4570 (source filters) and RFC 3605 (a=rtcp), and
 * against what the real receivers (VLC, ffmpeg/ffplay, GStreamer, PulseAudio, PipeWire) are known
 * to trip on. Every finding names its line, the rule and the fix. When nothing blocks playback the
 * report carries the exact commands that play the stream. Pure: no I/O, no clock, never throws.
 *
 * Peer behaviour cited in the findings was read in the peers' source and, where marked "tested",
 * reproduced here (Debian 12: VLC 3.0.24, ffmpeg 5.1, PulseAudio 16.1, PipeWire 0.3.65).
 */
import { isIP } from 'node:net';
import type { DiagReport, Finding, Severity } from './report';
import { parseSdpStream } from '../sdp/parse';
import { receiverCommands, type ReceiverCommand } from '../sdp/receivers';
import { srtpReceiverCommands } from '../sdp/crypto';
import { L16_RATES, type StreamDescription } from '../stream/description';
import { isMulticast, type Destination } from '../transport/destination';

export interface SdpLintOptions {
  /** this machine's addresses (e.g. from os.networkInterfaces()); enables the "c= is not mine" check */
  localAddresses?: string[];
  /** the SDP file's path as the user gave it: shown in the report and used in the play commands */
  name?: string;
}

/** A finding plus the rule it applies, for scripts (`--json`); the rule is also in `detail`. */
export interface SdpFinding extends Finding {
  rule?: string;
}

/** What the SDP says about its (first) audio stream. */
export interface SdpLintStream {
  encoding?: string;
  /** RTP clock rate from a=rtpmap or the static payload type */
  rate?: number;
  /** channels the receiver should output (Opus: from a=fmtp stereo/sprop-stereo, like `rtpcast play`) */
  channels?: number;
  pt?: number;
  address?: string;
  family?: 4 | 6;
  multicast?: boolean;
  ttl?: number;
  port?: number;
  ptime?: number;
  proto?: string;
  fmtp: Record<string, string>;
  direction?: string;
  /** L16 only: bytes of one packet on the wire (IP + UDP + RTP + payload) at a=ptime */
  packetBytes?: number;
}

export interface SdpLintData {
  file?: string;
  lines: number;
  lineEndings: 'CRLF' | 'LF' | 'mixed' | 'none';
  sessionName?: string;
  tool?: string;
  stream: SdpLintStream;
  /** true when nothing blocks playback and rtpcast knows the codec (L16, Opus) */
  playable: boolean;
  /** the commands that play it (only when playable) */
  commands?: ReceiverCommand[];
}

// ---------------------------------------------------------------------------------------------
// rules and peer facts, named once

const R = {
  lines: 'RFC 4566 5',
  version: 'RFC 4566 5.1',
  origin: 'RFC 4566 5.2',
  name: 'RFC 4566 5.3',
  conn: 'RFC 4566 5.7',
  timing: 'RFC 4566 5.9',
  media: 'RFC 4566 5.14',
  attrs: 'RFC 4566 6',
  rtpPorts: 'RFC 3550 11',
  pts: 'RFC 3551 6',
  dynPt: 'RFC 3551 3',
  l16: 'RFC 3551 4.5.11',
  opusSdp: 'RFC 7587 7',
  opusParams: 'RFC 7587 6.1',
  opusPtime: 'RFC 7587 4.2',
  srcFilter: 'RFC 4570 3',
  rtcp: 'RFC 3605 2.1',
  rtcpMux: 'RFC 5761',
  ipv6Scope: 'RFC 4291 2.7',
  srtp: 'RFC 3711',
  sap: 'RFC 2974',
} as const;

const TYPE_LETTERS = 'vosiuepcbtrzkam';
/** RFC 4566 5 order of the session-level lines (t and r repeat together) */
const SESSION_RANK: Record<string, number> = { v: 0, o: 1, s: 2, i: 3, u: 4, e: 5, p: 6, c: 7, b: 8, t: 9, r: 9, z: 10, k: 11, a: 12 };
const MEDIA_RANK: Record<string, number> = { m: 0, i: 1, c: 2, b: 3, k: 4, a: 5 };
/** lines that appear at most once at session level */
const SESSION_ONCE = new Set(['v', 'o', 's', 'i', 'u', 'c', 'z', 'k']);
/** media-level attributes (RFC 4566 6) that receivers look for only inside an m= section */
const MEDIA_ONLY_ATTRS = new Set(['rtpmap', 'fmtp', 'ptime', 'maxptime']);
const DIRECTIONS = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive']);

/** RFC 3551 table 4: static audio payload types (channels 1 unless given; MPA leaves it open). */
const STATIC_AUDIO: Record<number, { enc: string; rate: number; ch?: number }> = {
  0: { enc: 'PCMU', rate: 8000, ch: 1 },
  3: { enc: 'GSM', rate: 8000, ch: 1 },
  4: { enc: 'G723', rate: 8000, ch: 1 },
  5: { enc: 'DVI4', rate: 8000, ch: 1 },
  6: { enc: 'DVI4', rate: 16000, ch: 1 },
  7: { enc: 'LPC', rate: 8000, ch: 1 },
  8: { enc: 'PCMA', rate: 8000, ch: 1 },
  9: { enc: 'G722', rate: 8000, ch: 1 },
  10: { enc: 'L16', rate: 44100, ch: 2 },
  11: { enc: 'L16', rate: 44100, ch: 1 },
  12: { enc: 'QCELP', rate: 8000, ch: 1 },
  13: { enc: 'CN', rate: 8000, ch: 1 },
  14: { enc: 'MPA', rate: 90000 },
  15: { enc: 'G728', rate: 8000, ch: 1 },
  16: { enc: 'DVI4', rate: 11025, ch: 1 },
  17: { enc: 'DVI4', rate: 22050, ch: 1 },
  18: { enc: 'G729', rate: 8000, ch: 1 },
};

const MTU = 1500;
const RTP_UDP = 12 + 8;
/** ffmpeg reads at most SDP_MAX_SIZE - 1 bytes of an .sdp file (libavformat/rtsp.c) */
const FFMPEG_SDP_MAX = 16383;
const LONG_LINE = 1024;

// ---------------------------------------------------------------------------------------------

interface Line {
  n: number;
  type: string;
  value: string;
  /** -1: session level; otherwise the index of the m= section */
  section: number;
}

interface Attr {
  line: Line;
  name: string;
  value?: string;
}

interface Section {
  index: number;
  mLine: Line;
  lines: Line[];
  attrs: Attr[];
}

class Findings {
  readonly list: SdpFinding[] = [];
  add(severity: Severity, id: string, title: string, o: { line?: number; detail?: string; fix?: string; rule?: string } = {}): void {
    const detail = o.rule ? `${o.detail ? `${o.detail} ` : ''}[${o.rule}]` : o.detail;
    const f: SdpFinding = { id, severity, title };
    if (detail) f.detail = detail;
    if (o.fix) f.fix = o.fix;
    if (o.line !== undefined) f.line = o.line;
    if (o.rule) f.rule = o.rule;
    this.list.push(f);
  }
  has(sev: Severity): boolean {
    return this.list.some((f) => f.severity === sev);
  }
}

function attrOf(line: Line): Attr {
  const i = line.value.indexOf(':');
  return i < 0 ? { line, name: line.value } : { line, name: line.value.slice(0, i), value: line.value.slice(i + 1) };
}

/** Canonical text of an IP address (IPv6 zero-compressed forms and case unified, zone dropped). */
export function canonicalIp(a: string): string {
  const s = a.trim().replace(/%.*$/, '').toLowerCase();
  if (isIP(s) !== 6) return s;
  let text = s;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

function fmtpParams(value: string): { params: Record<string, string>; bad: string[] } {
  const params: Record<string, string> = {};
  const bad: string[] = [];
  for (const part of value.split(';')) {
    const kv = part.trim();
    if (!kv) continue;
    const eq = kv.indexOf('=');
    if (eq <= 0) {
      bad.push(kv);
      continue;
    }
    params[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim();
  }
  return { params, bad };
}

/** In line order; findings about the whole file first, the verdict (playable or not) last. */
function sortFindings(list: SdpFinding[]): SdpFinding[] {
  const key = (f: SdpFinding) => (f.id === 'sdp.playable' || f.id === 'sdp.rtpcast-unreadable' ? Infinity : f.line ?? 0);
  return list.map((f, i) => ({ f, i })).sort((a, b) => key(a.f) - key(b.f) || a.i - b.i).map((x) => x.f);
}

const fmt1 = (x: number) => String(Math.round(x * 10) / 10);

/**
 * Lints an SDP. `text` may be the file's bytes (then invalid UTF-8 is detected exactly) or a
 * string already decoded.
 */
export function lintSdp(text: string | Uint8Array, o: SdpLintOptions = {}): DiagReport {
  const F = new Findings();
  const stream: SdpLintStream = { fmtp: {} };
  const data: SdpLintData = { lines: 0, lineEndings: 'none', stream, playable: false };
  if (o.name !== undefined) data.file = o.name;
  const report = (): DiagReport => ({ check: 'sdp', findings: sortFindings(F.list), data });

  // ---- bytes and characters ------------------------------------------------------------------
  let src: string;
  if (typeof text === 'string') {
    src = text;
    if (src.includes('\uFFFD')) {
      F.add('warn', 'sdp.not-utf8', 'The text contains U+FFFD replacement characters: the file was not valid UTF-8', {
        line: src.slice(0, src.indexOf('\uFFFD')).split('\n').length,
        detail: 'Names (s=, i=) will show garbled; if the bytes are in c=, m= or a=rtpmap lines, no receiver can read them.',
        fix: 'Save the file as UTF-8 (or plain ASCII), e.g. iconv -f latin1 -t utf-8 in.sdp > out.sdp',
        rule: 'RFC 4566 5 (text is UTF-8 unless a=charset says otherwise)',
      });
    }
  } else {
    try {
      src = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(text);
    } catch {
      src = new TextDecoder('utf-8', { ignoreBOM: true }).decode(text);
      F.add('warn', 'sdp.not-utf8', 'The file is not valid UTF-8', {
        line: src.slice(0, Math.max(0, src.indexOf('\uFFFD'))).split('\n').length,
        detail: 'Names (s=, i=) will show garbled; if the bytes are in c=, m= or a=rtpmap lines, no receiver can read them.',
        fix: 'Save the file as UTF-8 (or plain ASCII), e.g. iconv -f latin1 -t utf-8 in.sdp > out.sdp',
        rule: 'RFC 4566 5 (text is UTF-8 unless a=charset says otherwise)',
      });
    }
  }
  const original = src;
  const bom = src.startsWith('\uFEFF');
  if (bom) {
    src = src.slice(1);
    F.add('warn', 'sdp.bom', 'The file starts with a byte-order mark (EF BB BF) before v=0', {
      line: 1,
      detail: 'Editors such as Windows Notepad add it. VLC recognises an SDP file only when it starts exactly with "v=0"; a SAP receiver sees a broken first line.',
      fix: 'Save without BOM ("UTF-8" rather than "UTF-8 with BOM"), or: sed -i \'1s/^\\xEF\\xBB\\xBF//\' FILE',
      rule: R.lines,
    });
  }
  const byteLength = Buffer.byteLength(src, 'utf8');
  if (src.trim() === '') {
    F.add('problem', 'sdp.empty', 'The SDP is empty', { fix: 'Write it again: rtpcast send ... --sdp FILE writes a complete one', rule: R.lines });
    return report();
  }
  if (byteLength > FFMPEG_SDP_MAX) {
    F.add('warn', 'sdp.too-big', `The SDP is ${byteLength} bytes: ffmpeg/ffplay read only the first ${FFMPEG_SDP_MAX}`, {
      detail: 'libavformat reads an .sdp file into a 16 KiB buffer and silently drops the rest, including any m= sections there.',
      fix: 'Keep only the audio stream you want to play in the file',
    });
  }

  // ---- split into lines (numbers are 1-based, as an editor shows them) ------------------------
  const raw = src.split('\n');
  const terminated = raw.length - 1; // lines followed by \n
  if (raw[raw.length - 1] === '') raw.pop();
  data.lines = raw.length;
  let crlf = 0;
  let lf = 0;
  const lines: Line[] = [];
  const blank: number[] = [];
  let section = -1;
  raw.forEach((r, i) => {
    const n = i + 1;
    let t = r;
    if (t.endsWith('\r')) {
      t = t.slice(0, -1);
      if (i < terminated) crlf++;
    } else if (i < terminated) lf++;
    if (t.includes('\0')) {
      F.add('problem', 'sdp.nul', `Line ${n} contains a NUL byte`, {
        line: n,
        detail: 'C programs (VLC, PulseAudio, PipeWire, ffmpeg) stop reading the SDP at the NUL: everything after it is lost.',
        fix: 'Remove the NUL bytes: tr -d \'\\000\' < in.sdp > out.sdp',
        rule: R.lines,
      });
      t = t.replace(/\0/g, '');
    }
    if (t === '') {
      blank.push(n);
      return;
    }
    if (t.length > LONG_LINE) {
      F.add('warn', 'sdp.line-long', `Line ${n} is ${t.length} characters long`, {
        line: n,
        detail: 'Receivers copy fields into small fixed buffers (PulseAudio: 64 bytes for the address and the rtpmap) and a SAP announcement should stay under 1 KB in total.',
        fix: 'Shorten it (long s=/i= texts are the usual cause)',
        rule: R.sap,
      });
    }
    // eslint-disable-next-line no-control-regex
    const ctl = /[\x01-\x08\x0b-\x1f\x7f\r]/.exec(t);
    if (ctl) {
      F.add('warn', 'sdp.control-char', `Line ${n} contains the control character 0x${ctl[0].charCodeAt(0).toString(16).padStart(2, '0')}`, {
        line: n,
        detail: ctl[0] === '\r' ? 'A carriage return inside a line (not before its newline): some parsers end the line there.' : 'Control characters are not allowed in SDP text; parsers that meet them in an address or a number reject the line.',
        fix: 'Remove it (e.g. retype the line in a plain-text editor)',
        rule: R.lines,
      });
    }
    const m = /^([A-Za-z])=(.*)$/.exec(t);
    if (!m) {
      const spaced = /^\s*([A-Za-z])\s*=\s*/.exec(t);
      F.add('problem', 'sdp.garbage', `Line ${n} is not of the form x=value: "${t.length > 60 ? `${t.slice(0, 57)}...` : t}"`, {
        line: n,
        detail: spaced
          ? 'No whitespace is allowed around "=" or before the type letter. VLC and live555 reject the whole SDP; ffmpeg skips the line.'
          : 'Every SDP line is one type letter, "=", and a value. VLC and live555 reject the whole SDP; ffmpeg skips the line (so what it said is lost).',
        fix: spaced ? `Write it as ${spaced[1]}=${t.slice(spaced[0].length)}` : 'Delete the line (text pasted from a mail, an HTTP header or a shell prompt is a common cause)',
        rule: R.lines,
      });
      return;
    }
    const type = m[1];
    if (!TYPE_LETTERS.includes(type)) {
      F.add('problem', 'sdp.unknown-type', `Line ${n} has the unknown type "${type}="`, {
        line: n,
        detail: `SDP defines only the types ${TYPE_LETTERS.split('').join(' ')} (case matters) and a parser MUST ignore an SDP that contains any other; VLC does.`,
        fix: /[A-Z]/.test(type) && TYPE_LETTERS.includes(type.toLowerCase()) ? `Use lower case: ${type.toLowerCase()}=${m[2]}` : 'Delete the line, or turn the information into an a= attribute',
        rule: R.lines,
      });
      return;
    }
    if (type === 'm') section++;
    if (/\s$/.test(m[2]) && 'cmat'.includes(type)) {
      F.add('warn', 'sdp.trailing-space', `Line ${n} ends with whitespace`, {
        line: n,
        detail: 'PulseAudio and PipeWire read addresses and numbers with inet_pton/sscanf and reject "192.168.1.20 " with its trailing blank.',
        fix: 'Remove the trailing spaces: sed -i \'s/[ \\t]*\\r\\?$//\' FILE (this also makes the line endings LF)',
        rule: R.lines,
      });
    }
    lines.push({ n, type, value: m[2], section });
  });

  if (crlf + lf > 0) {
    data.lineEndings = crlf && lf ? 'mixed' : crlf ? 'CRLF' : 'LF';
    const paNote = 'PulseAudio\'s module-rtp-recv (16.1, tested) accepts only LF: it compares the start with "v=0\\n" and ignores a CRLF announcement ("invalid header").';
    if (data.lineEndings === 'CRLF') {
      F.add('info', 'sdp.line-endings', 'Lines end with CRLF, as RFC 4566 specifies', {
        detail: `VLC, ffmpeg, GStreamer and PipeWire accept CRLF and LF. ${paNote} This matters only when the SDP is announced over SAP to PulseAudio.`,
        fix: 'For PulseAudio\'s SAP receiver convert to LF: sed -i \'s/\\r$//\' FILE',
        rule: R.lines,
      });
    } else if (data.lineEndings === 'LF') {
      F.add('info', 'sdp.line-endings', 'Lines end with LF only', {
        detail: 'RFC 4566 ends lines with CRLF and asks parsers to accept LF too; VLC, ffmpeg, GStreamer, PulseAudio and PipeWire all do (PulseAudio and PipeWire write LF themselves).',
        rule: R.lines,
      });
    } else {
      F.add('info', 'sdp.line-endings', `Line endings are mixed (${crlf} CRLF, ${lf} LF)`, {
        detail: `Tolerated by VLC, ffmpeg and PipeWire. ${paNote}`,
        fix: 'Make them uniform: sed -i \'s/\\r$//\' FILE (LF) or unix2dos FILE (CRLF)',
        rule: R.lines,
      });
    }
  }
  if (blank.length) {
    F.add('warn', 'sdp.blank-line', blank.length === 1 ? `Line ${blank[0]} is empty` : `${blank.length} empty lines (first: line ${blank[0]})`, {
      line: blank[0],
      detail: 'An empty line is not an SDP line. VLC\'s SDP reader (its SAP list, and .sdp files on builds without live555) and PulseAudio\'s SAP receiver (tested) reject the whole description; ffmpeg and live555 skip it.',
      fix: 'Delete the empty lines: sed -i \'/^\\r\\?$/d\' FILE',
      rule: R.lines,
    });
  }

  // ---- structure: v o s t, order, duplicates --------------------------------------------------
  const first = lines[0];
  const vLine = lines.find((l) => l.type === 'v');
  if (!first || first.type !== 'v' || first.n !== 1) {
    F.add('problem', 'sdp.v-first', vLine ? `The SDP does not start with v=0 (v= is on line ${vLine.n})` : 'The SDP does not start with v=0', {
      line: 1,
      detail: 'The first line of every SDP is the version line "v=0". VLC, PipeWire and PulseAudio check exactly that before reading anything else, and rtpcast play refuses the file.',
      fix: vLine ? 'Move v=0 to the first line (delete whatever is above it)' : 'Add "v=0" as the first line',
      rule: R.version,
    });
  } else if (first.value !== '0') {
    F.add('problem', 'sdp.v-version', `v=${first.value}: the only SDP version is 0`, { line: first.n, fix: 'Write v=0', rule: R.version });
  }

  const session = lines.filter((l) => l.section === -1);
  const sections: Section[] = [];
  for (const l of lines) {
    if (l.section < 0) continue;
    if (l.type === 'm') sections.push({ index: l.section, mLine: l, lines: [], attrs: [] });
    const sec = sections[l.section];
    sec.lines.push(l);
    if (l.type === 'a') sec.attrs.push(attrOf(l));
  }
  const sessionAttrs = session.filter((l) => l.type === 'a').map(attrOf);

  const afterLine = sections[0]?.mLine.n;
  for (const [type, id, what, fix] of [
    ['o', 'sdp.o-missing', 'origin', 'Add after v=0: o=- 1 1 IN IP4 <sender address>'],
    ['s', 'sdp.s-missing', 'session name', 'Add after o=: s=<a name> (a single space if there is no name)'],
    ['t', 'sdp.t-missing', 'timing', 'Add before the first m= line: t=0 0 (an unbounded session)'],
  ] as const) {
    if (!session.some((l) => l.type === type)) {
      F.add('problem', id, `No ${type}= (${what}) line at session level`, {
        line: type === 't' ? afterLine : undefined,
        detail: `${type}= is required in every SDP. ${type === 'o' ? 'PulseAudio\'s SAP receiver and VLC\'s SDP reader reject an SDP without it.' : 'VLC\'s SDP reader rejects an SDP without it.'}`,
        fix,
        rule: type === 'o' ? R.origin : type === 's' ? R.name : R.timing,
      });
    }
  }

  // order: RFC 4566 5 fixes it; VLC's own reader rejects anything else (tested)
  const checkOrder = (ls: Line[], rank: Record<string, number>, level: string) => {
    let max = -1;
    let maxLine: Line | undefined;
    let seenT = false;
    for (const l of ls) {
      const r = rank[l.type];
      if (r === undefined) {
        F.add('warn', 'sdp.order', `${l.type}= (line ${l.n}) does not belong ${level}`, {
          line: l.n,
          detail: level === 'in a media section' ? 'Only m i c b k a lines may follow an m= line.' : 'Only v o s i u e p c b t r z k a lines may come before the first m= line.',
          fix: level === 'in a media section' ? 'Move the line above the first m= line' : 'Move the line into the media section, after m=',
          rule: R.lines,
        });
        continue;
      }
      if (l.type === 'r' && !seenT) {
        F.add('warn', 'sdp.order', `r= (line ${l.n}) comes before any t=`, { line: l.n, fix: 'Put r= lines right after their t= line', rule: R.timing });
        continue;
      }
      if (l.type === 't') seenT = true;
      if (r < max && maxLine) {
        F.add('warn', 'sdp.order', `${l.type}= (line ${l.n}) comes after ${maxLine.type}= (line ${maxLine.n})`, {
          line: l.n,
          detail: `RFC 4566 fixes the order: ${level === 'in a media section' ? 'm i c b k a within each media section' : 'v o s i u e p c b t r z k a at session level'}. VLC's SDP reader (its SAP list, and .sdp files without live555) rejects the whole SDP (tested); ffmpeg, live555, PulseAudio and PipeWire do not mind.`,
          fix: `Move ${l.type}= above ${maxLine.type}=`,
          rule: R.lines,
        });
        continue;
      }
      if (r >= max) {
        max = r;
        maxLine = l;
      }
    }
  };
  checkOrder(session, SESSION_RANK, 'at session level');
  for (const s of sections) checkOrder(s.lines, MEDIA_RANK, 'in a media section');

  const seen = new Map<string, Line>();
  for (const l of session) {
    if (!SESSION_ONCE.has(l.type)) continue;
    const prev = seen.get(l.type);
    if (prev) {
      F.add('warn', 'sdp.duplicate', `A second ${l.type}= line at session level (line ${l.n}; the first is line ${prev.n})`, {
        line: l.n,
        detail: 'Receivers disagree on which one counts: some take the first, some the last.',
        fix: 'Keep one of them',
        rule: R.lines,
      });
    } else seen.set(l.type, l);
  }

  // o= and s= and t= content
  const oLine = session.find((l) => l.type === 'o');
  if (oLine) {
    const p = oLine.value.split(' ');
    if (p.length !== 6 || !/^\d+$/.test(p[1]) || !/^\d+$/.test(p[2]) || p[3] !== 'IN' || (p[4] !== 'IP4' && p[4] !== 'IP6') || !p[5]) {
      F.add('warn', 'sdp.o-malformed', `o= is not "<username> <sess-id> <sess-version> IN IP4|IP6 <address>"`, {
        line: oLine.n,
        detail: 'VLC\'s SDP reader ignores the whole SDP unless o= has six fields with numeric session id and version and IN IP4/IP6.',
        fix: 'Write e.g. o=- 1 1 IN IP4 192.168.1.10 (the sender\'s address)',
        rule: R.origin,
      });
    }
  }
  const sLine = session.find((l) => l.type === 's');
  if (sLine) {
    data.sessionName = sLine.value;
    if (sLine.value === '') {
      F.add('warn', 'sdp.s-empty', 's= is empty', {
        line: sLine.n,
        detail: 'The session name must not be empty; VLC\'s SDP reader (tested) and PulseAudio\'s SAP receiver ("line too short") reject the whole SDP.',
        fix: 'Give it a name, or a single space: "s= "',
        rule: R.name,
      });
    }
  }
  for (const l of session.filter((x) => x.type === 't')) {
    if (!/^\d+ \d+$/.test(l.value)) {
      F.add('warn', 'sdp.t-malformed', `t= is not "<start> <stop>" (two NTP seconds values)`, { line: l.n, fix: 'Write t=0 0 for a session without time limits', rule: R.timing });
    }
  }
  const tool = [...sessionAttrs].find((a) => a.name === 'tool');
  if (tool?.value) data.tool = tool.value;

  // media-level attributes written at session level
  for (const a of sessionAttrs) {
    if (MEDIA_ONLY_ATTRS.has(a.name)) {
      F.add('warn', 'sdp.attr-level', `a=${a.name} (line ${a.line.n}) is at session level, before any m= line`, {
        line: a.line.n,
        detail: `a=${a.name} is a media-level attribute; ffmpeg and live555 look for it only after the m= line it belongs to${a.name === 'rtpmap' ? ', so the payload type stays unmapped' : ''}.`,
        fix: `Move a=${a.name} below the m=audio line`,
        rule: R.attrs,
      });
    }
  }

  // ---- the audio section ----------------------------------------------------------------------
  const audio = sections.filter((s) => s.mLine.value.split(' ')[0] === 'audio');
  for (const s of sections) {
    const media = s.mLine.value.split(' ')[0];
    if (media !== 'audio') {
      F.add('info', 'sdp.m-other', `m=${media} (line ${s.mLine.n}) is not audio: ignored`, { line: s.mLine.n, rule: R.media });
    }
  }
  if (audio.length === 0) {
    F.add('problem', 'sdp.m-missing', sections.length ? 'No m=audio line (only other media)' : 'No m= line: the SDP describes no stream', {
      detail: 'Without "m=audio <port> RTP/AVP <payload type>" no receiver knows which port to listen on or what arrives there.',
      fix: 'Add e.g. m=audio 5004 RTP/AVP 96 followed by a=rtpmap:96 L16/48000/2',
      rule: R.media,
    });
    return finish();
  }
  if (audio.length > 1) {
    F.add('info', 'sdp.m-multiple-audio', `${audio.length} m=audio sections: the first (line ${audio[0].mLine.n}) is checked and played`, {
      line: audio[1].mLine.n,
      detail: 'rtpcast, PulseAudio and PipeWire take one audio stream; VLC without live555 refuses SDPs whose media use different ports.',
      rule: R.media,
    });
  }
  const sec = audio[0];
  const mm = /^audio (\d+)(?:\/(\d+))? (\S+)((?: +\S+)+) *$/.exec(sec.mLine.value);
  if (!mm) {
    F.add('problem', 'sdp.m-malformed', `m= is not "audio <port> <proto> <payload types>": "${sec.mLine.value}"`, {
      line: sec.mLine.n,
      fix: 'Write e.g. m=audio 5004 RTP/AVP 96',
      rule: R.media,
    });
    return finish();
  }
  const port = Number(mm[1]);
  const proto = mm[3];
  const fmts = mm[4].trim().split(/ +/);
  stream.proto = proto;
  if (port === 0) {
    F.add('problem', 'sdp.m-port-zero', 'm=audio port 0: the stream is switched off', {
      line: sec.mLine.n,
      detail: 'Port 0 means "this stream is disabled"; no receiver listens.',
      fix: 'Write the port the sender sends to (e.g. 5004)',
      rule: R.media,
    });
  } else if (port > 65535) {
    F.add('problem', 'sdp.m-malformed', `m=audio port ${port} is not a UDP port`, { line: sec.mLine.n, fix: 'Use a port from 1024 to 65534, even (5004 is usual)', rule: R.media });
  } else {
    stream.port = port;
    if (port % 2 === 1) {
      F.add('warn', 'sdp.m-port-odd', `m=audio port ${port} is odd: RTP should use an even port, RTCP the next one`, {
        line: sec.mLine.n,
        detail: `RTCP uses port + 1 and RTP should be even. VLC's own SDP reader takes an odd port for RTCP and listens for RTP on ${port + 1}; PulseAudio\'s sender warns about odd ports.`,
        fix: `Send to and announce an even port: rtpcast send --dest HOST:${port - 1}`,
        rule: R.rtpPorts,
      });
    }
  }
  if (mm[2] !== undefined && Number(mm[2]) > 1) {
    F.add('warn', 'sdp.m-port-count', `m=audio ${mm[1]}/${mm[2]} declares ${mm[2]} port pairs (layered encoding)`, {
      line: sec.mLine.n,
      detail: 'Players use the first port only.',
      fix: `Write m=audio ${mm[1]} ${proto} ...`,
      rule: R.media,
    });
  }
  const crypto = [...sec.attrs, ...sessionAttrs].find((a) => a.name === 'crypto');
  if (proto === 'RTP/SAVP' || proto === 'RTP/SAVPF' || crypto) {
    F.add('info', 'sdp.srtp', proto.includes('SAVP') ? `${proto}: the stream is encrypted (SRTP)` : 'a=crypto: the stream is encrypted (SRTP) although m= says RTP/AVP', {
      line: crypto?.line.n ?? sec.mLine.n,
      detail: 'Only receivers given the key can play it: ffmpeg/ffplay with the a=crypto line in the file and "srtp" in -protocol_whitelist; PulseAudio and PipeWire cannot (their SAP receivers accept only "RTP/AVP"). ffmpeg writes a=crypto but keeps RTP/AVP on the m= line.',
      fix: 'ffplay -protocol_whitelist file,udp,rtp,srtp -i FILE (the key must be in a=crypto)',
      rule: R.srtp,
    });
  } else if (proto === 'RTP/AVPF') {
    F.add('info', 'sdp.m-proto', 'RTP/AVPF (RTP with RTCP feedback)', {
      line: sec.mLine.n,
      detail: 'ffmpeg plays it; PulseAudio\'s and PipeWire\'s SAP receivers accept only the exact text "RTP/AVP".',
      fix: 'Write RTP/AVP unless RTCP feedback is really used',
      rule: R.media,
    });
  } else if (proto !== 'RTP/AVP') {
    const udp = proto.toLowerCase() === 'udp';
    F.add('problem', 'sdp.m-proto', udp ? 'm=audio ... udp: raw UDP, not RTP' : `Transport "${proto}" is not RTP/AVP`, {
      line: sec.mLine.n,
      detail: udp
        ? 'Raw UDP carries no timestamps, sequence numbers or format; audio players cannot play raw PCM from it (field note F6).'
        : proto.includes('TLS') || proto.includes('DTLS')
          ? 'DTLS-SRTP (WebRTC) needs an ICE/DTLS handshake that file-based players never do.'
          : 'VLC, ffmpeg, PulseAudio and PipeWire play audio over RTP/AVP.',
      fix: 'Send RTP: rtpcast send --dest HOST:PORT --sdp FILE writes a matching SDP',
      rule: R.media,
    });
  }
  if (fmts.length > 1) {
    F.add('info', 'sdp.m-multiple-pt', `m=audio lists ${fmts.length} payload types (${fmts.join(' ')}): the first, ${fmts[0]}, is checked`, {
      line: sec.mLine.n,
      detail: 'PulseAudio, PipeWire and VLC\'s own reader use only the first payload type; packets with another one may be dropped.',
      fix: `List only the payload type the sender uses: m=audio ${mm[1]} ${proto} ${fmts[0]}`,
      rule: R.media,
    });
  }
  const ptText = fmts[0];
  const pt = /^\d+$/.test(ptText) ? Number(ptText) : NaN;
  if (!(pt >= 0 && pt <= 127)) {
    F.add('problem', 'sdp.pt-invalid', `Payload type "${ptText}" is not a number from 0 to 127`, { line: sec.mLine.n, fix: 'Use the payload type the sender uses (96-127 for dynamic types)', rule: R.pts });
  } else if (pt >= 72 && pt <= 76) {
    F.add('problem', 'sdp.pt-invalid', `Payload type ${pt} collides with RTCP packet types`, {
      line: sec.mLine.n,
      detail: 'Payload types 72-76 are reserved: with RTCP on the same port they are indistinguishable from RTCP.',
      fix: 'Use a dynamic payload type (96-127)',
      rule: R.rtcpMux,
    });
  } else {
    stream.pt = pt;
  }

  // ---- connection ----------------------------------------------------------------------------
  const cLine = sec.lines.find((l) => l.type === 'c') ?? session.find((l) => l.type === 'c');
  if (!cLine) {
    F.add('problem', 'sdp.c-missing', 'No c= line, neither at session level nor in the m=audio section', {
      line: sec.mLine.n,
      detail: 'c= says which address the stream goes to; without it receivers do not know whether to join a multicast group or which address to listen on.',
      fix: 'Add before t=: c=IN IP4 <receiver address or multicast group>[/ttl]',
      rule: R.conn,
    });
  } else {
    checkConnection(cLine);
  }

  function checkConnection(l: Line): void {
    const p = l.value.split(' ');
    const [addrText, n1, n2, ...more] = (p[2] ?? '').split('/');
    const fam = isIP(addrText);
    if (p.length !== 3 || p[0] !== 'IN' || (p[1] !== 'IP4' && p[1] !== 'IP6') || more.length) {
      F.add('problem', 'sdp.c-malformed', `c= is not "IN IP4|IP6 <address>[/ttl]": "${l.value}"`, { line: l.n, fix: 'Write e.g. c=IN IP4 192.168.1.20 or c=IN IP4 239.255.12.42/1', rule: R.conn });
      return;
    }
    if (fam === 0) {
      const host = /^[A-Za-z0-9.-]+$/.test(addrText);
      F.add('problem', host ? 'sdp.c-hostname' : 'sdp.c-malformed', host ? `c= names a host ("${addrText}"), not an address` : `"${addrText}" is not an IP address`, {
        line: l.n,
        detail: host ? 'RFC 4566 allows a domain name here, but VLC, PulseAudio and PipeWire parse only numeric addresses and reject the SDP, and ffmpeg ignores the line.' : undefined,
        fix: 'Write the numeric address (ip -brief addr on Linux, ipconfig on Windows)',
        rule: R.conn,
      });
      return;
    }
    if ((fam === 4) !== (p[1] === 'IP4')) {
      F.add('problem', 'sdp.c-malformed', `c= says ${p[1]} but ${addrText} is an IPv${fam} address`, { line: l.n, fix: `Write c=IN IP${fam} ${p[2]}`, rule: R.conn });
      return;
    }
    const address = addrText;
    const mc = isMulticast(address);
    stream.address = address;
    stream.family = fam as 4 | 6;
    stream.multicast = mc;
    if (fam === 4 && mc) {
      if (n1 === undefined) {
        F.add('warn', 'sdp.c-ttl-missing', `IPv4 multicast ${address} without a TTL`, {
          line: l.n,
          detail:
            'RFC 4566 requires "/ttl" after an IPv4 multicast address. Receivers play it anyway (tested with ffmpeg, which assumes 16; VLC, PulseAudio and PipeWire do not read the TTL) and PulseAudio\'s module-rtp-send never writes one; what goes missing is the sender\'s scope, which other tools need to join or relay the session.',
          fix: `Write c=IN IP4 ${address}/1 (1 = this network segment; the sender's TTL, rtpcast send --ttl)`,
          rule: R.conn,
        });
      } else if (!/^\d+$/.test(n1) || Number(n1) > 255) {
        F.add('problem', 'sdp.c-ttl-range', `TTL "${n1}" is not a number from 0 to 255`, { line: l.n, fix: `Write c=IN IP4 ${address}/1`, rule: R.conn });
      } else {
        stream.ttl = Number(n1);
        if (stream.ttl === 0) {
          F.add('problem', 'sdp.c-ttl-zero', `TTL 0: the multicast stream is not meant to leave the sending machine`, {
            line: l.n,
            detail: 'TTL 0 means "this host only": routers drop such packets and most systems do not send them out at all, so only receivers on the sender itself get them (field note F2).',
            fix: 'Send with a TTL of at least 1: rtpcast send --ttl 1, and write c=IN IP4 ' + `${address}/1`,
            rule: R.conn,
          });
        }
      }
      if (n2 !== undefined && Number(n2) > 1) {
        F.add('warn', 'sdp.c-address-count', `c= declares ${n2} multicast groups starting at ${address} (layered encoding)`, {
          line: l.n,
          detail: 'Players join only the first group; VLC without live555 refuses the SDP.',
          fix: `Write c=IN IP4 ${address}/${n1}`,
          rule: R.conn,
        });
      }
      const linkLocal = address.startsWith('224.0.0.');
      F.add('info', 'sdp.c-multicast', `Multicast group ${address}${stream.ttl !== undefined ? `, TTL ${stream.ttl}` : ''}`, {
        line: l.n,
        detail:
          (linkLocal ? '224.0.0.0/24 is link-local: routers never forward it, whatever the TTL. ' : '') +
          'Every receiver on the network joins the group. Wi-Fi often drops or throttles multicast, and switches with IGMP snooping but no querier stop forwarding it after a few minutes (field note F2); unicast (c= with the receiver\'s address) avoids both.',
        fix: 'If nothing arrives: rtpcast diag packets on the receiver; or send unicast with rtpcast send --dest RECEIVER:PORT',
        rule: R.conn,
      });
    } else if (fam === 6 && mc) {
      if (n2 !== undefined) {
        F.add('problem', 'sdp.c-malformed', 'IPv6 c= has two "/" numbers: IPv6 carries only an address count', { line: l.n, fix: `Write c=IN IP6 ${address}`, rule: R.conn });
      } else if (n1 !== undefined) {
        F.add('warn', 'sdp.c-address-count', `"/${n1}" after an IPv6 multicast address is an address count, not a TTL`, {
          line: l.n,
          detail: 'IPv6 multicast has no TTL in SDP (the scope is in the address); a number after it declares that many consecutive groups. VLC without live555 refuses more than one.',
          fix: `Write c=IN IP6 ${address}`,
          rule: R.conn,
        });
      }
      const scope = parseInt(canonicalIp(address).split(':')[0].slice(-1), 16);
      const names: Record<number, string> = { 1: 'interface-local', 2: 'link-local', 3: 'realm-local', 4: 'admin-local', 5: 'site-local', 8: 'organization-local', 14: 'global' };
      if (scope <= 1) {
        F.add('problem', 'sdp.c-ipv6-scope', `${address} has ${scope === 1 ? 'interface-local' : 'reserved'} scope: nothing leaves the sending machine`, {
          line: l.n,
          detail: 'The fourth hex digit of an IPv6 multicast address is its scope; ff01:: and ff00:: never reach the network.',
          fix: 'Use a link-local (ff02::...) or site-local (ff05::...) group',
          rule: R.ipv6Scope,
        });
      } else {
        F.add('info', 'sdp.c-ipv6-scope', `IPv6 multicast ${address}: ${names[scope] ?? `scope ${scope}`} scope`, {
          line: l.n,
          detail: 'IPv6 has no TTL in c=: the scope digit in the address (ff0X::) limits how far the stream travels; ff02:: stays on this link. Receivers need the interface (e.g. [ff02::1%eth0]) for link-local groups.',
          rule: R.ipv6Scope,
        });
      }
    } else {
      if (n1 !== undefined) {
        F.add('warn', 'sdp.c-ttl-unicast', `"/${n1}" after the unicast address ${address}: TTL and address count are for multicast only`, {
          line: l.n,
          detail: 'Most receivers strip it; strict parsers reject the line.',
          fix: `Write c=IN IP${fam} ${address}`,
          rule: R.conn,
        });
      }
      const any = address === '0.0.0.0' || canonicalIp(address) === '0:0:0:0:0:0:0:0';
      if (any) {
        F.add('info', 'sdp.c-any', `c= is ${address}: receivers listen on all their addresses`, {
          line: l.n,
          detail: 'Players bind the "any" address; RTCP cannot be sent back to the sender.',
          rule: R.conn,
        });
      } else if (o.localAddresses) {
        const mine = o.localAddresses.some((x) => canonicalIp(x) === canonicalIp(address));
        if (mine) {
          F.add('ok', 'sdp.c-local', `${address} is an address of this machine: the stream is meant for this receiver`, { line: l.n, rule: R.conn });
        } else {
          F.add('warn', 'sdp.c-not-local', `${address} is not an address of this machine`, {
            line: l.n,
            detail: `A receiver binds/expects the address in c=: on the receiving machine the address must be its own (or use 0.0.0.0). VLC binds ${address} and fails ("socket bind error: Cannot assign requested address", tested); ffmpeg listens on all addresses and plays it. This machine has: ${o.localAddresses.join(', ') || 'no addresses'}.`,
            fix: `Play this SDP on the machine that owns ${address}, or edit c= to this machine's address (or c=IN IP${fam} ${fam === 4 ? '0.0.0.0' : '::'}); the sender must send to that address too (rtpcast send --dest ADDRESS:PORT)`,
            rule: R.conn,
          });
        }
      } else {
        F.add('info', 'sdp.c-unicast', `Unicast to ${address}`, {
          line: l.n,
          detail: `Play it on the machine that owns ${address}: VLC binds that address and fails elsewhere.`,
          rule: R.conn,
        });
      }
    }
  }

  // ---- rtpmap / fmtp / ptime -----------------------------------------------------------------
  const rtpmaps = new Map<number, { line: Line; enc: string; rate: number; ch?: number }>();
  const fmtps = new Map<number, { line: Line; params: Record<string, string> }>();
  const ptimes: Attr[] = [];
  for (const a of sec.attrs) {
    if (a.name === 'rtpmap') {
      const r = /^(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?$/.exec(a.value ?? '');
      if (!r) {
        F.add('problem', 'sdp.rtpmap-malformed', `a=rtpmap is not "<pt> <encoding>/<clock rate>[/<channels>]": "a=${a.line.value}"`, {
          line: a.line.n,
          fix: 'Write e.g. a=rtpmap:96 L16/48000/2 (no spaces around "/")',
          rule: R.attrs,
        });
        continue;
      }
      const p = Number(r[1]);
      if (rtpmaps.has(p)) {
        F.add('warn', 'sdp.rtpmap-duplicate', `A second a=rtpmap for payload type ${p} (the first is line ${rtpmaps.get(p)!.line.n})`, {
          line: a.line.n,
          detail: 'At most one rtpmap per payload type; receivers disagree on which one counts.',
          fix: 'Delete the wrong one',
          rule: R.attrs,
        });
        continue;
      }
      rtpmaps.set(p, { line: a.line, enc: r[2], rate: Number(r[3]), ch: r[4] !== undefined ? Number(r[4]) : undefined });
      if (!fmts.includes(String(p))) {
        F.add('info', 'sdp.rtpmap-unused', `a=rtpmap:${p} maps a payload type that m= does not list`, { line: a.line.n, detail: 'It is ignored.', rule: R.attrs });
      }
    } else if (a.name === 'fmtp') {
      const r = /^(\d+) (.*)$/.exec(a.value ?? '');
      if (!r) {
        F.add('warn', 'sdp.fmtp-malformed', `a=fmtp is not "<pt> <parameters>": "a=${a.line.value}"`, { line: a.line.n, fix: 'Write e.g. a=fmtp:96 stereo=1; sprop-stereo=1', rule: R.attrs });
        continue;
      }
      const { params, bad } = fmtpParams(r[2]);
      if (bad.length) {
        F.add('warn', 'sdp.fmtp-malformed', `a=fmtp has parts that are not name=value: ${bad.join(', ')}`, {
          line: a.line.n,
          fix: 'Separate parameters with "; ", each as name=value',
          rule: R.attrs,
        });
      }
      fmtps.set(Number(r[1]), { line: a.line, params });
    } else if (a.name === 'ptime') {
      ptimes.push(a);
    }
  }

  const dirs = (attrs: Attr[]) => attrs.filter((a) => DIRECTIONS.has(a.name));
  for (const group of [dirs(sessionAttrs), dirs(sec.attrs)]) {
    if (group.length > 1) {
      F.add('warn', 'sdp.direction-duplicate', `${group.length} direction attributes at the same level (${group.map((a) => `a=${a.name}`).join(', ')})`, {
        line: group[1].line.n,
        fix: 'Keep one (a=recvonly for a broadcast)',
        rule: R.attrs,
      });
    }
  }
  const dir = dirs(sec.attrs)[0] ?? dirs(sessionAttrs)[0];
  if (dir) {
    stream.direction = dir.name;
    if (dir.name === 'inactive') {
      F.add('warn', 'sdp.direction', 'a=inactive: the description says no media flows', {
        line: dir.line.n,
        detail: 'Receivers that honour it do not set up the stream.',
        fix: 'Write a=recvonly (as rtpcast, PulseAudio, PipeWire and VLC do for a broadcast)',
        rule: R.attrs,
      });
    } else if (dir.name === 'sendonly') {
      F.add('info', 'sdp.direction', 'a=sendonly in a description handed to receivers', {
        line: dir.line.n,
        detail: 'In a declarative SDP it tells the receiving tool to start in send-only mode; players ignore it. Broadcasts announce a=recvonly.',
        fix: 'Write a=recvonly',
        rule: R.attrs,
      });
    }
  }

  for (const a of [...sessionAttrs, ...sec.attrs]) {
    if (a.name === 'source-filter') checkSourceFilter(a);
    else if (a.name === 'rtcp') {
      const r = /^(\d+)(?: (IN) (IP4|IP6) (\S+))?$/.exec((a.value ?? '').trim());
      if (!r || Number(r[1]) < 1 || Number(r[1]) > 65535) {
        F.add('warn', 'sdp.rtcp-malformed', `a=rtcp is not "<port> [IN IP4|IP6 <address>]": "a=${a.line.value}"`, { line: a.line.n, fix: 'Write e.g. a=rtcp:5005, or delete it (RTCP then uses RTP port + 1)', rule: R.rtcp });
      } else {
        F.add('info', 'sdp.rtcp', `RTCP on port ${r[1]}${r[4] ? ` at ${r[4]}` : ''}${stream.port !== undefined && Number(r[1]) !== stream.port + 1 ? ` (not RTP port + 1 = ${stream.port + 1})` : ''}`, {
          line: a.line.n,
          detail: 'VLC honours a=rtcp; a firewall must let this port through too if sender reports matter (they carry the timing that keeps several receivers in sync).',
          rule: R.rtcp,
        });
      }
    } else if (a.name === 'rtcp-mux') {
      F.add('info', 'sdp.rtcp-mux', 'a=rtcp-mux: RTCP shares the RTP port', { line: a.line.n, detail: 'VLC then sends and expects no separate RTCP port.', rule: R.rtcpMux });
    }
  }

  function checkSourceFilter(a: Attr): void {
    const p = (a.value ?? '').trim().split(/ +/);
    const [mode, net, types, dest, ...srcs] = p;
    const addrOk = (x: string) => isIP(x) !== 0 || /^[A-Za-z0-9.-]+$/.test(x);
    if (p.length < 5 || (mode !== 'incl' && mode !== 'excl') || net !== 'IN' || !['IP4', 'IP6', '*'].includes(types) || !(dest === '*' || addrOk(dest)) || !srcs.every(addrOk)) {
      F.add('warn', 'sdp.source-filter-malformed', `a=source-filter is not "incl|excl IN IP4|IP6|* <group> <source>...": "a=${a.line.value}"`, {
        line: a.line.n,
        detail: 'Receivers skip a filter they cannot parse and then accept every sender (or, for source-specific multicast, join nothing).',
        fix: 'Write e.g. a=source-filter: incl IN IP4 232.1.2.3 192.168.1.10',
        rule: R.srcFilter,
      });
      return;
    }
    if (dest !== '*' && stream.address !== undefined && canonicalIp(dest) !== canonicalIp(stream.address)) {
      F.add('warn', 'sdp.source-filter-mismatch', `a=source-filter names ${dest}, but c= says ${stream.address}`, {
        line: a.line.n,
        detail: 'The filter\'s destination must be the c= address (or *); otherwise it applies to nothing.',
        fix: `Write ${dest === '*' ? '*' : stream.address} as the filter's destination`,
        rule: R.srcFilter,
      });
      return;
    }
    F.add('info', 'sdp.source-filter', `${mode === 'incl' ? 'Only' : 'Everything except'} packets from ${srcs.join(', ')} are accepted`, {
      line: a.line.n,
      detail: mode === 'incl' ? 'Receivers join the group for these sources only (IGMPv3/MLDv2 source-specific multicast); if the sender\'s address differs, nothing plays. VLC uses the first listed source.' : 'Packets from the listed sources are dropped.',
      rule: R.srcFilter,
    });
  }

  // ---- encoding of the first payload type ------------------------------------------------------
  if (stream.pt !== undefined) checkEncoding(stream.pt);

  function checkEncoding(p: number): void {
    const map = rtpmaps.get(p);
    const st = STATIC_AUDIO[p];
    const ffmpegTool = data.tool?.startsWith('libavformat');
    if (!map && !st) {
      F.add('problem', 'sdp.rtpmap-missing', `Payload type ${p} is ${p >= 96 ? 'dynamic' : 'not statically assigned'} and has no a=rtpmap`, {
        line: sec.mLine.n,
        detail:
          'Only RFC 3551\'s static payload types (e.g. 10 = L16/44100/2, 11 = L16/44100/1) say their format by number; for any other type VLC and ffmpeg cannot know the encoding, rate or channels and play nothing (field note F1).' +
          (ffmpegTool ? ' This SDP was written by ffmpeg, which writes no rtpmap when the codec has no RTP payload format, e.g. -acodec pcm_s16le (little-endian PCM is not L16).' : ''),
        fix: ffmpegTool
          ? 'Send big-endian L16 (ffmpeg ... -acodec pcm_s16be -f rtp ...) or Opus (-acodec libopus), then write the SDP again'
          : `Add after line ${sec.mLine.n}: a=rtpmap:${p} <encoding>/<rate>/<channels>, e.g. a=rtpmap:${p} L16/48000/2 or a=rtpmap:${p} opus/48000/2 (what the sender really sends)`,
        rule: `${R.attrs}; ${R.dynPt}`,
      });
      return;
    }
    let enc: string;
    let rate: number;
    let ch: number | undefined;
    if (map) {
      enc = map.enc;
      rate = map.rate;
      ch = map.ch;
      if (st) {
        const conflict = enc.toUpperCase() !== st.enc || rate !== st.rate || (st.ch !== undefined && (ch ?? 1) !== st.ch);
        if (conflict) {
          F.add('problem', 'sdp.rtpmap-static-conflict', `a=rtpmap:${p} ${enc}/${rate}${ch !== undefined ? `/${ch}` : ''} contradicts static payload type ${p} (${st.enc}/${st.rate}${st.ch ? `/${st.ch}` : ''})`, {
            line: map.line.n,
            detail: 'A static payload type always means its RFC 3551 format. Players disagree: VLC\'s own reader plays the static format and ignores the rtpmap, ffmpeg follows the rtpmap; one of them plays at the wrong speed or as noise (field note F4).',
            fix: `Use a dynamic payload type for this format: m=audio ... RTP/AVP 96 with a=rtpmap:96 ${enc}/${rate}${ch !== undefined ? `/${ch}` : ''} (rtpcast send does this)`,
            rule: R.pts,
          });
          return;
        }
      }
    } else {
      enc = st!.enc;
      rate = st!.rate;
      ch = st!.ch;
      F.add('info', 'sdp.rtpmap-implicit', `Static payload type ${p} = ${enc}/${rate}${ch ? `/${ch}` : ''} (no a=rtpmap)`, {
        line: sec.mLine.n,
        detail: 'Fine by RFC 3551 and for VLC, ffmpeg and PulseAudio; PipeWire\'s SAP receiver and some players look only at a=rtpmap.',
        fix: `Add a=rtpmap:${p} ${enc}/${rate}${ch && ch > 1 ? `/${ch}` : ''} to be explicit`,
        rule: R.pts,
      });
    }
    stream.encoding = enc;
    stream.rate = rate;
    const fmtp = fmtps.get(p);
    if (fmtp) stream.fmtp = fmtp.params;
    for (const [q, f] of fmtps) {
      if (!fmts.includes(String(q))) F.add('info', 'sdp.fmtp-unused', `a=fmtp:${q} belongs to a payload type that m= does not list`, { line: f.line.n, detail: 'It is ignored.', rule: R.attrs });
    }
    const ptime = checkPtime();
    const upper = enc.toUpperCase();
    if (upper === 'L16') checkL16(map, rate, ch, ptime);
    else if (upper === 'OPUS') checkOpus(map, rate, ch, fmtp, ptime);
    else {
      stream.channels = ch ?? 1;
      F.add('info', 'sdp.encoding-other', `Encoding ${enc}/${rate}: rtpcast plays L16 and Opus only`, {
        line: map?.line.n ?? sec.mLine.n,
        detail: 'VLC and ffplay may play it.',
        fix: `ffplay -nodisp -protocol_whitelist file,udp,rtp -i ${o.name ?? 'FILE.sdp'}`,
      });
    }
  }

  function checkPtime(): number | undefined {
    if (ptimes.length === 0) {
      F.add('info', 'sdp.ptime-missing', 'No a=ptime: the packet duration is not stated', {
        line: sec.mLine.n,
        detail: 'Receivers cope (they read the timestamps); the SDP just cannot tell whether packets fit the network MTU. ffmpeg fills L16 packets with up to 1460 bytes of audio; PulseAudio puts 1280 bytes of audio in each by default.',
        rule: R.attrs,
      });
      return undefined;
    }
    const a = ptimes[0];
    const v = Number((a.value ?? '').trim());
    if (!(v > 0) || !/^\d+(\.\d+)?$/.test((a.value ?? '').trim())) {
      F.add('warn', 'sdp.ptime-invalid', `a=ptime:${a.value ?? ''} is not a positive number of milliseconds`, { line: a.line.n, fix: 'Write e.g. a=ptime:20', rule: R.attrs });
      return undefined;
    }
    stream.ptime = v;
    return v;
  }

  function checkL16(map: { line: Line } | undefined, rate: number, ch: number | undefined, ptime: number | undefined): void {
    const line = map?.line.n ?? sec.mLine.n;
    const channels = ch ?? 1;
    stream.channels = channels;
    if (map && ch === undefined) {
      F.add('info', 'sdp.rtpmap-channels-default', `a=rtpmap:${stream.pt} L16/${rate} names no channel count: mono`, {
        line,
        detail: 'Without "/2" receivers play one channel; a stereo sender then sounds slowed down by half (field note F4).',
        fix: `If the sender sends stereo, write a=rtpmap:${stream.pt} L16/${rate}/2`,
        rule: R.attrs,
      });
    }
    if (map && stream.encoding !== 'L16') {
      F.add('info', 'sdp.rtpmap-case', `Encoding written as "${stream.encoding}"`, {
        line,
        detail: 'Encoding names are case-insensitive, but PulseAudio\'s SAP receiver recognises only "L16".',
        fix: `Write a=rtpmap:${stream.pt} L16/${rate}${ch !== undefined ? `/${ch}` : ''}`,
        rule: R.attrs,
      });
    }
    F.add('info', 'sdp.l16-byte-order', 'L16 is 16-bit big-endian PCM by definition', {
      line,
      detail: 'A sender that puts little-endian PCM (s16le, what sound cards and WAV files use) behind L16 plays as loud noise; a wrong rate or channel count plays too slow or too fast (field note F4). `rtpcast diag format` tells from the payload itself.',
      fix: 'If it sounds like noise: rtpcast diag format; senders must convert to s16be (ffmpeg -acodec pcm_s16be, rtpcast send does it)',
      rule: R.l16,
    });
    if (!L16_RATES.includes(rate)) {
      F.add('warn', 'sdp.l16-rate', `L16 at ${rate} Hz is an unusual rate`, {
        line,
        detail: `Usual rates: ${L16_RATES.join(', ')} Hz. A rate that differs slightly from the sender's real one plays at the wrong pitch and drifts.`,
        fix: 'Write the sender\'s real sample rate (pactl list short sources shows it for PulseAudio)',
        rule: R.l16,
      });
    }
    if (channels < 1 || channels > 8) {
      F.add('warn', 'sdp.l16-channels', `L16 with ${channels} channels`, { line, fix: 'Write the real channel count (1 or 2 usually)', rule: R.l16 });
    }
    if (ptime !== undefined && stream.family !== undefined && channels >= 1) {
      const ip = stream.family === 6 ? 40 : 20;
      const payload = Math.round((rate * ptime) / 1000) * channels * 2;
      const total = payload + RTP_UDP + ip;
      // a=ptime is usually rounded to 0.1 ms (rtpcast, PipeWire): flag only what is too big even
      // at the shortest duration the stated value can stand for
      const smallest = Math.floor((rate * Math.max(0, ptime - 0.05)) / 1000) * channels * 2 + RTP_UDP + ip;
      stream.packetBytes = total;
      const bytesPerMs = (rate * channels * 2) / 1000;
      // rtpcast send budgets the IPv6 header whatever the family: suggest what it accepts too
      const maxPtime = Math.floor(((MTU - RTP_UDP - 40) / bytesPerMs) * 10) / 10;
      const pline = ptimes[0].line.n;
      if (smallest > MTU) {
        F.add('problem', 'sdp.ptime-mtu', `${ptime} ms of L16 ${rate} Hz ${channels} ch = ${total}-byte packets, more than the ${MTU}-byte MTU`, {
          line: pline,
          detail: `${payload} bytes of audio + 12 RTP + 8 UDP + ${ip} IPv${stream.family} = ${total} bytes: every packet is split into IP fragments, and on Wi-Fi a lost fragment loses the whole packet; some firewalls and NATs drop fragments outright.`,
          fix: `Use a=ptime:${fmt1(maxPtime)} or less (rtpcast send --ptime ${fmt1(maxPtime)}), or fewer channels / a lower rate`,
          rule: `${R.attrs}; ${R.l16}`,
        });
      } else {
        const shown = Math.min(total, MTU);
        F.add('ok', 'sdp.ptime-mtu', `${ptime} ms packets of ${shown < total ? 'up to ' : ''}${shown} bytes fit the ${MTU}-byte MTU`, {
          line: pline,
          detail: `${shown - RTP_UDP - ip} bytes of audio + 12 RTP + 8 UDP + ${ip} IPv${stream.family}.`,
        });
      }
    }
  }

  function checkOpus(map: { line: Line } | undefined, rate: number, ch: number | undefined, fmtp: { line: Line; params: Record<string, string> } | undefined, ptime: number | undefined): void {
    const line = map?.line.n ?? sec.mLine.n;
    if (rate !== 48000 || ch !== 2) {
      F.add('problem', 'sdp.opus-rtpmap', `a=rtpmap:${stream.pt} ${stream.encoding}/${rate}${ch !== undefined ? `/${ch}` : ''}: Opus must be written opus/48000/2`, {
        line,
        detail:
          'RFC 7587 fixes the rtpmap at 48000 Hz and 2 channels whatever the audio is: the RTP clock of Opus is always 48 kHz, and mono or stereo is said in a=fmtp (stereo, sprop-stereo). ' +
          (rate !== 48000 ? `A receiver that believes the ${rate} Hz clock converts timestamps wrongly (jitter buffer and sync misbehave). ` : '') +
          (ch !== 2 ? 'Implementations built on the RFC (WebRTC stacks among them) match only opus/48000/2.' : ''),
        fix: `Write a=rtpmap:${stream.pt} opus/48000/2${ch === 1 ? ` and a=fmtp:${stream.pt} stereo=0; sprop-stereo=0 for mono` : ''}`,
        rule: R.opusSdp,
      });
    }
    const p = fmtp?.params ?? {};
    stream.channels = p.stereo === '1' || p['sprop-stereo'] === '1' ? 2 : 1;
    for (const k of ['stereo', 'sprop-stereo', 'cbr', 'useinbandfec', 'usedtx']) {
      if (p[k] !== undefined && p[k] !== '0' && p[k] !== '1') {
        F.add('warn', 'sdp.opus-param', `${k}=${p[k]}: must be 0 or 1`, { line: fmtp!.line.n, fix: `Write ${k}=0 or ${k}=1`, rule: R.opusParams });
      }
    }
    for (const [k, lo, hi] of [['maxplaybackrate', 8000, 48000], ['sprop-maxcapturerate', 8000, 48000], ['maxaveragebitrate', 6000, 510000]] as const) {
      if (p[k] === undefined) continue;
      const v = Number(p[k]);
      if (!/^\d+$/.test(p[k]) || v < lo || v > hi) {
        F.add('warn', 'sdp.opus-param', `${k}=${p[k]} is outside ${lo}-${hi}`, { line: fmtp!.line.n, detail: 'Receivers ignore out-of-range values.', fix: `Write a value from ${lo} to ${hi}, or leave it out`, rule: R.opusParams });
      } else if (k !== 'maxaveragebitrate' && v < 48000) {
        F.add('info', 'sdp.opus-param', `${k}=${v}: audio above ${v / 2} Hz is not wanted`, {
          line: fmtp!.line.n,
          detail: 'A bandwidth hint: the encoder may drop higher frequencies (sounds dull for music).',
          rule: R.opusParams,
        });
      }
    }
    const st = p.stereo;
    const sp = p['sprop-stereo'];
    if (st === undefined && sp === undefined) {
      F.add('info', 'sdp.opus-stereo', 'No stereo/sprop-stereo in a=fmtp: receivers assume mono', {
        line: fmtp?.line.n ?? line,
        detail: 'Both default to 0 (mono). ffmpeg outputs the 2 channels of the rtpmap, but rtpcast play outputs mono, downmixing a stereo sender.',
        fix: `If the sender sends stereo: a=fmtp:${stream.pt} stereo=1; sprop-stereo=1`,
        rule: R.opusParams,
      });
    } else if ((st ?? '0') !== (sp ?? '0')) {
      // ffmpeg writes only sprop-stereo=1 for stereo: that is an info; both present and different is odd
      F.add(st !== undefined && sp !== undefined ? 'warn' : 'info', 'sdp.opus-stereo', `stereo=${st ?? '0 (default)'} but sprop-stereo=${sp ?? '0 (default)'}`, {
        line: fmtp!.line.n,
        detail: 'sprop-stereo says whether the sender sends stereo, stereo whether the receiver wants it; in an SDP written by the sender they should agree. rtpcast play outputs stereo when either is 1.',
        fix: `Write both: stereo=${stream.channels === 2 ? '1; sprop-stereo=1' : '0; sprop-stereo=0'}`,
        rule: R.opusParams,
      });
    } else {
      F.add('info', 'sdp.opus-stereo', stream.channels === 2 ? 'Opus stereo (stereo=1, sprop-stereo=1)' : 'Opus mono (stereo=0, sprop-stereo=0)', { line: fmtp!.line.n, rule: R.opusParams });
    }
    if (p.useinbandfec === '1') {
      F.add('info', 'sdp.opus-fec', 'useinbandfec=1: packets carry forward error correction', {
        line: fmtp!.line.n,
        detail: 'A lost packet can be rebuilt from the next one (rtpcast play and ffmpeg use it); it costs some bitrate.',
        rule: R.opusParams,
      });
    }
    if (ptime !== undefined && (ptime > 120 || Math.abs(ptime / 2.5 - Math.round(ptime / 2.5)) > 1e-9)) {
      F.add('warn', 'sdp.opus-ptime', `a=ptime:${ptime} is not an Opus packet duration`, {
        line: ptimes[0].line.n,
        detail: 'Opus packets hold 2.5 to 120 ms in steps of 2.5 ms (usually 20).',
        fix: 'Write a=ptime:20',
        rule: R.opusPtime,
      });
    }
  }

  return finish();

  // ---- playable? ------------------------------------------------------------------------------
  function finish(): DiagReport {
    const s = stream;
    const codec = s.encoding?.toUpperCase() === 'L16' ? 'l16' : s.encoding?.toUpperCase() === 'OPUS' ? 'opus' : undefined;
    const determined = codec && s.pt !== undefined && s.port !== undefined && s.address && s.family && s.rate && s.channels;
    if (determined && !F.has('problem')) {
      // what `rtpcast play --sdp FILE` does with the same text (it reads the file as it is)
      try {
        parseSdpStream(original);
      } catch (e) {
        F.add('problem', 'sdp.rtpcast-unreadable', `rtpcast play cannot read this SDP: ${(e as Error).message}`, {
          line: (e as { line?: number }).line,
          fix: bom ? 'Save the file without the byte-order mark (see above)' : 'Please report this SDP to rtpcast: the checks above found nothing that explains it',
        });
      }
    }
    if (determined && !F.has('problem')) {
      const dest: Destination = { host: s.address!, address: s.address!, family: s.family!, port: s.port!, multicast: !!s.multicast };
      const ptimeMs = s.ptime ?? (codec === 'opus' ? 20 : 5);
      const sampleRate = codec === 'opus' ? 48000 : s.rate!;
      const d: StreamDescription = {
        codec: codec!,
        payloadType: s.pt!,
        clockRate: s.rate!,
        sampleRate,
        channels: s.channels!,
        frameSamples: Math.round((sampleRate * ptimeMs) / 1000),
        ptimeMs,
        destinations: [dest],
        ttl: s.ttl ?? 1,
        name: data.sessionName ?? 'rtpcast',
      };
      if (codec === 'opus') d.fec = s.fmtp.useinbandfec === '1';
      const file = o.name ?? 'stream.sdp';
      data.commands = F.list.some((f) => f.id === 'sdp.srtp') ? srtpReceiverCommands(file) : receiverCommands(d, dest, file);
      data.playable = true;
      const dynamic = s.pt! >= 96;
      const at = s.family === 6 ? `[${s.address}]` : s.address;
      F.add('ok', 'sdp.playable', `Playable: ${codec === 'opus' ? 'Opus' : 'L16'} ${s.rate} Hz ${s.channels === 1 ? 'mono' : s.channels === 2 ? 'stereo' : `${s.channels} ch`}, payload type ${s.pt}, to ${at}:${s.port}`, {
        detail:
          'The commands that play it are in the report data. ffplay/ffmpeg open an .sdp only with -protocol_whitelist file,udp,rtp (field note F6)' +
          (dynamic ? '; VLC on Debian/Ubuntu (no live555) plays a dynamic payload type only with cvlc --demux=avformat.' : '.'),
      });
    }
    return report();
  }
}

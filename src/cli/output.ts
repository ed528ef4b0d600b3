import type { SenderStatus } from '../rtp/sender';
import type { SendStartInfo } from '../session/send';
import { describeFormat } from '../stream/description';

/** Where the CLI writes: human text on stderr, machine events (--json) and SDP (--sdp -) on stdout. */
export interface Output {
  json: boolean;
  quiet: boolean;
  tty: boolean;
  err: NodeJS.WritableStream;
  out: NodeJS.WritableStream;
}

export function event(o: Output, name: string, data: Record<string, unknown>): void {
  if (o.json) o.out.write(JSON.stringify({ event: name, time: new Date().toISOString(), ...data }, jsonSafe) + '\n');
}

function jsonSafe(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

export function say(o: Output, text: string): void {
  if (!o.quiet && !o.json) o.err.write(text + '\n');
}

/** The banner: what is sent, where, and the exact commands that play it. */
export function renderStart(info: SendStartInfo): string {
  const d = info.description;
  const lines: string[] = [];
  lines.push(`rtpcast send: ${info.source}`);
  for (const n of info.notes) lines.push(`  note      ${n}`);
  if (info.sourceFormat.rate !== d.sampleRate || info.sourceFormat.channels !== d.channels) {
    lines.push(`  convert   source ${info.sourceFormat.rate} Hz ${info.sourceFormat.channels} ch -> stream ${d.sampleRate} Hz ${d.channels} ch (pitch and speed kept)`);
  }
  lines.push(`  stream    ${describeFormat(d)}, SSRC 0x${info.ssrc.toString(16).padStart(8, '0')}`);
  for (const dest of info.destinations) lines.push(`  sending   RTP to ${dest} (RTCP to port ${Number(dest.split(':').pop()) + 1})`);
  if (info.defaultDestination) lines.push('            (no --dest given: this machine only; for another computer use --dest ITS_IP:5004)');
  for (const s of info.sdps) {
    if (s.path) lines.push(`  SDP       ${s.path}${info.sdps.length > 1 ? `  (for the receiver at ${s.destination})` : ''}`);
  }
  if (!info.sdps.some((s) => s.path)) {
    lines.push('  SDP       (not written: add --sdp stream.sdp; VLC, ffmpeg and PulseAudio need it for anything but PT 10/11)');
  }
  if (info.announce) lines.push(`  announce  SAP to ${info.announce.targets.join(', ')} every ~${Math.round(info.announce.intervalSec)} s (listeners: rtpcast list; rtpcast play --sap "${info.description.name}")`);
  if (info.web) {
    lines.push(`  web       ${info.web.urls[0]}`);
    for (const u of info.web.urls.slice(1)) lines.push(`            ${u}`);
    lines.push(`            browsers: open it (or scan the code below) and press Play; up to ${info.web.maxListeners} at once`);
    if (info.web.host === '127.0.0.1' || info.web.host === '::1') lines.push('            (this machine only: for phones on the LAN use --web :8080)');
  }
  lines.push(`  pacing    ${info.pacer.pacer === 'native' ? `native thread (clock_nanosleep per packet, rtpcast-pacer${info.pacer.fileRuns ? '; it reads the WAV file itself' : ''})` : `event loop (${info.pacer.reason ?? 'JS pacer'})`}`);
  if (info.sync) lines.push(`  sync      time-sync service on UDP ${info.sync} (several rooms in step: rtpcast play --sync)`);
  lines.push('  play it with:');
  const shown = info.sdps.slice(0, 3);
  for (const s of shown) {
    if (info.sdps.length > 1) lines.push(`    receiver ${s.destination}:`);
    for (const c of s.commands) lines.push(`    ${c.player.padEnd(10)} ${c.command}${c.note ? `\n    ${''.padEnd(10)} (${c.note})` : ''}`);
  }
  if (info.sdps.length > shown.length) lines.push(`    ... and ${info.sdps.length - shown.length} more receivers (same commands, their own SDP file)`);
  lines.push('  Ctrl-C stops (a BYE is sent; the SDP file stays).');
  return lines.join('\n');
}

const BARS = ' ▁▂▃▄▅▆▇█';
/** A 10-cell level meter from -60 to 0 dBFS. */
export function meter(db: number): string {
  const cells = 10;
  const v = Number.isFinite(db) ? Math.max(0, Math.min(1, (db + 60) / 60)) : 0;
  const full = v * cells;
  let s = '';
  for (let i = 0; i < cells; i++) {
    const f = Math.max(0, Math.min(1, full - i));
    s += BARS[Math.round(f * (BARS.length - 1))];
  }
  return s;
}

export function formatClock(sec: number): string {
  const s = Math.floor(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function renderStatus(s: SenderStatus): string {
  const lv = s.peakDb.map((db, i) => `${s.peakDb.length === 2 ? (i ? 'R' : 'L') : `${i + 1}`} ${meter(db)} ${Number.isFinite(db) ? db.toFixed(1).padStart(5) : ' -inf'}`).join('  ');
  const extra = [
    s.bufferedMs !== undefined ? `buf ${s.bufferedMs} ms` : '',
    s.clockPpm ? `clock ${s.clockPpm > 0 ? '+' : ''}${s.clockPpm} ppm` : '',
    s.underruns ? `${s.underruns} underruns` : '',
    s.droppedMs ? `${s.droppedMs} ms dropped` : '',
    s.resyncs ? `${s.resyncs} resyncs` : '',
  ].filter(Boolean).join(' ');
  return `${formatClock(s.elapsedSec)}  ${String(s.packets).padStart(7)} pkts  ${s.kbps.toFixed(0).padStart(5)} kb/s  ${lv} dBFS${extra ? '  ' + extra : ''}`;
}

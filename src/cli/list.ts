import { Command, Option } from 'commander';
import { ExitCode } from '../errors';
import type { AnnouncedStream, collectSap } from '../sdp/sap';
import { SAP_LISTEN_GROUPS, SAP_PORT } from '../sdp/sap-groups';
import { collect, intArg, numberArg } from './parse';

const EXAMPLES = `
Examples:
  rtpcast list
      the streams announced on this LAN (rtpcast send --announce, PulseAudio module-rtp-send,
      PipeWire module-rtp-sap, VLC --sout ...sap), heard for 8 s
  rtpcast play --sap "Living room"
      play one of them by its name (exact, else the first whose name contains the text)
  rtpcast list --duration 60 --json
      a minute of listening, machine-readable: announcements, withdrawals (deleted), last seen

PulseAudio's module-rtp-send announces to its destination group: when that is not 224.0.0.56, add
--group ADDRESS (the destination_ip it was loaded with).
Announcers repeat every 5 s or so (RFC 2974, PulseAudio, PipeWire) and send a deletion when they
stop; a stream that stops without one just is not seen again ("last seen" grows).
`;

interface ListFlags {
  duration: number;
  port: number;
  group?: string[];
  json?: boolean;
}

/** A stream as `rtpcast list --json` prints it. */
export function streamJson(s: AnnouncedStream, nowMs: number): Record<string, unknown> {
  const st = s.stream;
  return {
    name: s.name,
    origin: s.origin,
    from: s.from ?? null,
    sdpOrigin: s.sdpOrigin,
    msgIdHash: s.msgIdHash,
    address: st ? st.address : null,
    port: st ? st.port : null,
    multicast: st ? st.multicast : null,
    codec: st ? st.encoding : null,
    payloadType: st ? st.payloadType : null,
    rate: st ? st.clockRate : null,
    channels: st ? st.channels : null,
    sdpError: s.sdpError ?? null,
    announcements: s.announcements,
    firstSeen: new Date(s.firstSeenMs).toISOString(),
    lastSeen: new Date(s.lastSeenMs).toISOString(),
    lastSeenAgoSec: Math.round((nowMs - s.lastSeenMs) / 100) / 10,
    deleted: s.deleted,
    deletedAt: s.deletedMs === undefined ? null : new Date(s.deletedMs).toISOString(),
    sdp: s.sdp,
  };
}

function where(s: AnnouncedStream): string {
  const st = s.stream;
  if (!st) return '?';
  return st.family === 6 ? `[${st.address}]:${st.port}` : `${st.address}:${st.port}`;
}

function format(s: AnnouncedStream): string {
  const st = s.stream;
  if (!st) return `unreadable SDP: ${s.sdpError ?? '?'}`;
  return `${st.encoding} ${st.clockRate} Hz ${st.channels === 1 ? 'mono' : st.channels === 2 ? 'stereo' : `${st.channels} ch`} (PT ${st.payloadType})`;
}

function ago(ms: number): string {
  const s = Math.max(0, ms / 1000);
  return s < 1 ? 'just now' : s < 90 ? `${s.toFixed(0)} s ago` : `${(s / 60).toFixed(0)} min ago`;
}

/** The table of announced streams (pure). */
export function renderStreams(streams: AnnouncedStream[], nowMs: number): string {
  if (!streams.length) return '';
  const Table = require('cli-table3') as typeof import('cli-table3');
  const t = new Table({ head: ['name (s=)', 'origin', 'stream', 'format', 'last seen', 'state'], style: { head: [], border: [] }, wordWrap: true });
  for (const s of streams) {
    const state = s.deleted ? `deleted ${ago(nowMs - (s.deletedMs ?? nowMs))}` : `announced (${s.announcements}x)`;
    t.push([s.name || '(no name)', s.origin, where(s), format(s), s.announcements ? ago(nowMs - s.lastSeenMs) : '-', state]);
  }
  return t.toString();
}

export function listCommand(): Command {
  return new Command('list')
    .summary('show the audio streams announced on the LAN (SAP): name, sender, address, format')
    .description('Listen for SAP announcements (RFC 2974) for a few seconds and show every stream announced on this LAN:\nits name, who sends it, where (address:port), its format, when it was last announced, and whether it was withdrawn.')
    .addOption(new Option('-d, --duration <seconds>', 'how long to listen').default(8).argParser(numberArg('--duration', 0.1, 86400)))
    .addOption(new Option('-p, --port <port>', 'SAP port').default(SAP_PORT).argParser(intArg('--port', 1, 65535)))
    .addOption(new Option('--group <address>', `multicast group to join (repeat; default ${SAP_LISTEN_GROUPS.join(', ')})`).argParser(collect))
    .option('--json', 'print one JSON document on stdout: {"streams": [...]}')
    .addHelpText('after', EXAMPLES)
    .action(async (f: ListFlags) => {
      process.exitCode = await listAction(f);
    });
}

async function listAction(f: ListFlags): Promise<number> {
  const groups = f.group ?? SAP_LISTEN_GROUPS;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (!f.json) process.stderr.write(`rtpcast list: listening for SAP announcements on UDP ${f.port} for ${f.duration} s (Ctrl-C ends early)...\n`);
  let r: Awaited<ReturnType<typeof collectSap>>;
  try {
    r = await (require('../sdp/sap') as typeof import('../sdp/sap')).collectSap(f.duration * 1000, { port: f.port, groups, signal: abort.signal });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const now = Date.now();
  const streams = r.directory.list();
  if (f.json) {
    process.stdout.write(JSON.stringify({ listenedSec: f.duration, port: f.port, groups: r.joined, malformed: r.malformed, streams: streams.map((s) => streamJson(s, now)) }, null, 2) + '\n');
  } else if (streams.length) {
    process.stdout.write(renderStreams(streams, now) + '\n');
    const live = streams.find((s) => !s.deleted);
    if (live) process.stderr.write(`play one: rtpcast play --sap "${live.name}"\n`);
  }
  const missing = groups.filter((g) => !r.joined.includes(g));
  if (!f.json && missing.length) process.stderr.write(`note: could not join ${missing.join(', ')} (no multicast route?)\n`);
  if (!f.json && r.malformed) process.stderr.write(`note: ${r.malformed} packet(s) on port ${f.port} were not SAP announcements rtpcast reads (malformed, encrypted or compressed): skipped\n`);
  if (!streams.length) {
    process.stderr.write(
      `rtpcast list: no SAP announcement heard in ${f.duration} s\n` +
        '  try: announcers repeat every ~5 s: listen longer (--duration 20); start the sender with --announce; multicast must reach this machine (Wi-Fi and some switches drop it): rtpcast diag packets --port 9875 --group 224.0.0.56\n',
    );
    return ExitCode.failure;
  }
  return 0;
}

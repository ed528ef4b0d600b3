import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EXIT_CODES_HELP, usageError } from '../errors';
import { SAMPLE_FORMATS, type SampleFormat } from '../audio/pcm';
import type { SendRequest, SourceRequest } from '../session/send';
import type { SenderStatus } from '../rtp/sender';
import type { WebAddress } from '../web/server';
import { bitrateArg, collect, intArg, numberArg } from './parse';
import { event, renderStart, renderStatus, say, type Output } from './output';
import { memoryStats } from '../util/memory';
import { SYNC_PORT } from '../sync/protocol';

interface SendFlags {
  source?: string;
  keepLocal?: boolean;
  tone?: number | true;
  toneLevel: number;
  input?: string;
  format: string;
  inputRate?: number;
  inputChannels?: number;
  live?: boolean;
  codec: string;
  rate?: number;
  channels?: number;
  ptime?: number;
  bitrate?: number;
  fec: boolean;
  pt?: number;
  mtu?: number;
  dest?: string[];
  ttl?: number;
  multicastLoop: boolean;
  multicastIf?: string;
  sdp?: string;
  srtp?: boolean;
  srtpKey?: string;
  name?: string;
  announce?: boolean;
  announceGroup?: string[];
  announceTtl?: number;
  web?: string | true;
  webToken?: string;
  webMax?: number;
  webUdpPorts?: string;
  duration?: number;
  quiet?: boolean;
  json?: boolean;
  sync?: boolean;
  syncPort?: number;
  syncBind?: string;
}

const EXAMPLES = `
Examples:
  rtpcast send --sdp stream.sdp
      what this machine plays (or a test tone if no sound server runs), Opus, to this machine;
      then: ffplay -protocol_whitelist file,udp,rtp -i stream.sdp
  rtpcast send --source app:firefox --keep-local --dest 192.168.1.20 --sdp stream.sdp
      only Firefox's sound, to the PC at 192.168.1.20, still audible here
  rtpcast send --input song.flac --dest 192.168.1.20:5004 --sdp stream.sdp
      a file (anything ffmpeg decodes) to the PC at 192.168.1.20; copy stream.sdp there and open it in VLC
  parec --latency-msec=20 --format=s16le --rate=44100 --channels=2 | rtpcast send --input - --live --codec l16 --rate 44100 --dest 192.168.1.20
      what this Linux box plays, uncompressed, as PT 10 (VLC on the PC: vlc rtp://@:5004); --live: parec runs
      in real time, so rtpcast follows it and keeps the delay low (cat file.raw | ... --no-live sends a file whole)
  rtpcast send --codec l16 --dest 239.1.2.3:5004 --ttl 1 --sdp room.sdp
      multicast to every listener on the LAN segment (wired networks; Wi-Fi often drops multicast)
  rtpcast send --srtp --dest 192.168.1.20 --sdp stream.sdp
      encrypted and authenticated (SRTP); the key is in stream.sdp (mode 0600): copy it over ssh only,
      e.g. from another terminal: scp stream.sdp 192.168.1.20:   then there: rtpcast play stream.sdp
  rtpcast send --dest 192.168.1.20 --dest 192.168.1.21 --sdp stream.sdp
      two listeners: one SDP per listener (stream-192.168.1.20-5004.sdp, ...)
  rtpcast send --source system --web :8080
      browsers listen too: phones on the LAN scan the QR code (or open the printed URL) and press Play;
      WebRTC, about 0.1 s behind, any number of listeners for one encoding (docs/WEB.md)
  rtpcast send --codec l16 --dest 239.255.12.34:5004 --announce --name "Living room"
      every listener on the LAN finds it without a file: VLC (Playlist: Local Network > Network streams (SAP)),
      PulseAudio (pactl load-module module-rtp-recv), PipeWire (module-rtp-sap), rtpcast list

Defaults: Opus 128 kb/s stereo 48 kHz with in-band FEC, 20 ms packets; L16 48 kHz stereo
uses 5 ms packets (960-byte payloads); every packet fits a 1500-byte MTU.

Pacing: each packet leaves at its media time (p99 under 1 ms). On Linux, when npm built the
native pacer (native/pacer), a C thread sends the packets from a queue Node fills 1 s ahead,
waking twice a second (5 s ahead, every 4 s, when nothing shows status: --quiet, or no
terminal and no --json); for a 16-bit WAV sent as L16 the thread reads the file itself.
Otherwise Node's event loop paces (more CPU). The banner's "pacing" line says which.
Environment: RTPCAST_NO_NATIVE=1 always uses the event-loop pacer; RTPCAST_NO_FILE_RUNS=1 keeps
the native pacer but builds every packet in Node; RTPCAST_PACER_RT=1 puts the
native thread in the real-time class (SCHED_FIFO, where allowed: root, or an rtprio limit such
as the audio group's) for a machine so loaded that packets leave late; on a VM it can cost a
lot of CPU time. Without it the thread asks for a short time slice (Linux 6.12+).

${EXIT_CODES_HELP}`;

export function sendCommand(): Command {
  return new Command('send')
    .summary('capture or generate audio and send it as standard RTP (L16 or Opus) with an SDP')
    .description('Send audio as standard RTP (RFC 3550) that VLC, ffmpeg/ffplay, GStreamer, PulseAudio and PipeWire play, and write the SDP they need.\nWithout a source option a test tone is sent.')
    .option('-s, --source <source>', 'what to capture: system (what this machine plays; the default when PulseAudio/PipeWire runs), app:NAME or app:PID (one application only), device:ID (see rtpcast devices)')
    .option('--keep-local', 'with --source app: keep the application audible here too')
    .addOption(new Option('-t, --tone [hz]', 'send a sine test tone (the default when no sound server runs; 440 Hz unless given)').argParser(numberArg('--tone', 20, 20000)))
    .addOption(new Option('--tone-level <dBFS>', 'tone level').default(-12).argParser(numberArg('--tone-level', -90, 0)))
    .option('-i, --input <file|->', 'audio file (anything ffmpeg decodes), or - for raw PCM on stdin')
    .addOption(new Option('--format <fmt>', 'raw PCM sample format on stdin').choices(SAMPLE_FORMATS).default('s16le'))
    .addOption(new Option('--input-rate <hz>', 'sample rate of raw PCM on stdin (default: --rate, else 48000)').argParser(intArg('--input-rate', 1000, 384000)))
    .addOption(new Option('--input-channels <n>', 'channels of raw PCM on stdin (default: --channels, else 2)').argParser(intArg('--input-channels', 1, 32)))
    .option('--live', 'with --input -: the producer runs in real time, like parec or arecord: follow its clock and keep the delay low (about 50 ms); audio that piled up beyond that (written before rtpcast started reading, or while it was held up) is dropped, counted and reported. Without --live or --no-live a pipe is measured over its first second and treated as live if it arrives at about the real-time rate (a notice says which)')
    .option('--no-live', 'with --input -: the input is a file being piped (cat, a decoder): send every sample, paced by rtpcast\'s clock')
    .addOption(new Option('-c, --codec <codec>', 'l16 (uncompressed, big-endian) or opus (RFC 7587)').choices(['l16', 'opus']).default('opus'))
    .addOption(new Option('-r, --rate <hz>', 'stream sample rate (L16; Opus is always 48000)').argParser(intArg('--rate', 1000, 384000)))
    .addOption(new Option('--channels <n>', 'stream channels (default 2)').argParser(intArg('--channels', 1, 8)))
    .addOption(new Option('--ptime <ms>', 'packet duration in ms (Opus default 20; L16 default 5)').argParser(numberArg('--ptime', 0.1, 120)))
    .addOption(new Option('-b, --bitrate <bits>', 'Opus bitrate, e.g. 128k (default 128k stereo, 64k mono)').argParser(bitrateArg))
    .option('--no-fec', 'Opus: turn off in-band forward error correction (on by default: a lost packet is rebuilt from the next)')
    .addOption(new Option('--pt <type>', 'RTP payload type (default: 10/11 for L16 44.1 kHz stereo/mono, else 96; 127 for announced L16, as PulseAudio and PipeWire expect)').argParser(intArg('--pt', 0, 127)))
    .addOption(new Option('--mtu <bytes>', 'largest IP packet on the path (default 1500)').argParser(intArg('--mtu', 576, 65535)))
    .addOption(new Option('-d, --dest <host:port>', 'receiver (repeat for several); IPv6 as [addr]:port; multicast groups allowed (default 127.0.0.1:5004)').argParser(collect))
    .addOption(new Option('--ttl <hops>', 'multicast TTL (default 1: this LAN segment)').argParser(intArg('--ttl', 0, 255)))
    .option('--no-multicast-loop', 'do not deliver our multicast to receivers on this machine')
    .option('--multicast-if <address>', 'local interface address to send multicast from')
    .option('--sdp <file|->', 'write the SDP to this file (atomically), or - to print it on stdout')
    .option('--srtp', 'encrypt and authenticate with SRTP (AES_CM_128_HMAC_SHA1_80): a new random key goes into the SDP (a=crypto, file mode 0600); whoever has the SDP can listen and inject, so copy it over ssh (docs/SECURITY.md)')
    .option('--srtp-key <base64|@file>', 'with --srtp: use this key instead of a new one (30 octets in base64: openssl rand -base64 30); @file reads it from a file (a key on the command line shows in ps and shell history)')
    .option('--name <text>', 'session name in the SDP (s= line); listeners show it')
    .option('--announce', 'announce the SDP on the LAN with SAP (RFC 2974) every ~5 s, and withdraw it on exit: VLC, PulseAudio, PipeWire and rtpcast list/play --sap find the stream without a file')
    .addOption(new Option('--announce-group <addr[:port]>', 'where to announce (repeat for several; default 224.2.127.254 for VLC and 224.0.0.56 for PulseAudio/PipeWire, port 9875); a listener\'s own address works where multicast does not').argParser(collect))
    .addOption(new Option('--announce-ttl <hops>', 'multicast TTL of the announcements (default: --ttl)').argParser(intArg('--announce-ttl', 0, 255)))
    .option('--web [host:port]', `also serve a page where browsers listen over WebRTC (Opus; QR code printed here). Alone: this machine only (127.0.0.1:8080); :8080 for every interface (phones on the LAN); or an address of this machine, e.g. 192.168.1.5:8080. The URL carries a secret token: whoever has it can listen`)
    .option('--web-token <text>', 'with --web: the URL\'s access token (8-64 letters, digits, - or _), so bookmarks survive a restart (default: a new random one each run)')
    .option('--web-udp-ports <first-last>', 'with --web: the UDP ports the browsers\' audio may use (one per listener), to open in a firewall, e.g. 40000-40049 (default: any free port)')
    .addOption(new Option('--web-max <n>', 'with --web: most browser listeners at once (default 50)').argParser(intArg('--web-max', 1, 1000)))
    .option('--sync', `also answer the time-sync exchange of rtpcast play --sync (UDP ${SYNC_PORT}), so several rooms play in step (docs/SYNC.md)`)
    .addOption(new Option('--sync-port <port>', `with --sync: its UDP port (default ${SYNC_PORT}); implies --sync`).argParser(intArg('--sync-port', 1, 65535)))
    .option('--sync-bind <address>', 'with --sync: the local address it listens on (default: all IPv4 interfaces; :: for IPv6); implies --sync')
    .addOption(new Option('--duration <seconds>', 'stop after this much audio').argParser(numberArg('--duration', 0.001, 1e9)))
    .option('-q, --quiet', 'print only errors')
    .option('--json', 'print machine-readable events (one JSON object a line) on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: SendFlags) => {
      process.exitCode = await sendAction(flags);
    });
}

/** See toSendRequest. */
export const ANNOUNCED_L16_PT = 127;

export function toSendRequest(f: SendFlags): SendRequest {
  const chosen = [f.input !== undefined && '--input', f.tone !== undefined && '--tone', f.source !== undefined && '--source'].filter(Boolean);
  if (chosen.length > 1) throw usageError(`${chosen.join(' and ')} each choose the source`, 'give only one of them');
  if (f.live !== undefined && f.input !== '-') throw usageError(`--${f.live ? '' : 'no-'}live describes raw PCM on stdin (--input -)`, 'capture sources (--source) always follow the device\'s clock; files are always sent whole');
  if (f.keepLocal && !f.source?.startsWith('app:')) throw usageError('--keep-local goes with --source app:NAME', 'system sound and devices stay audible anyway');
  let source: SourceRequest;
  if (f.source !== undefined) {
    const { parseSourceSpec } = require('../session/capture') as typeof import('../session/capture');
    const spec = parseSourceSpec(f.source, f.keepLocal);
    source = spec.kind === 'tone' ? { kind: 'tone', hz: 440, dbfs: f.toneLevel } : spec;
  } else if (f.input === '-') {
    source = { kind: 'stdin', format: f.format as SampleFormat, rate: f.inputRate ?? f.rate ?? 48000, channels: f.inputChannels ?? f.channels ?? 2, ...(f.live !== undefined ? { live: f.live } : {}) };
  } else if (f.input !== undefined) {
    if (f.inputRate || f.inputChannels) throw usageError('--input-rate/--input-channels describe raw PCM on stdin (--input -)', 'files carry their own format: leave these out');
    source = { kind: 'file', path: f.input };
  } else if (f.tone !== undefined) {
    source = { kind: 'tone', hz: f.tone === true ? 440 : f.tone, dbfs: f.toneLevel };
  } else {
    source = { kind: 'default', hz: 440, dbfs: f.toneLevel };
  }
  if ((f.announceGroup || f.announceTtl !== undefined) && !f.announce) throw usageError('--announce-group/--announce-ttl go with --announce', 'add --announce');
  if (f.json && f.sdp === '-') throw usageError('--sdp - and --json both want stdout', 'write the SDP to a file: --sdp stream.sdp');
  if (f.srtpKey !== undefined && !f.srtp) throw usageError('--srtp-key goes with --srtp', 'add --srtp');
  if ((f.webToken !== undefined || f.webMax !== undefined || f.webUdpPorts !== undefined) && f.web === undefined) throw usageError('--web-token/--web-max/--web-udp-ports go with --web', 'add --web');
  if (f.webToken !== undefined && !/^[A-Za-z0-9_-]{8,64}$/.test(f.webToken)) throw usageError('--web-token must be 8 to 64 letters, digits, - or _ (it goes into the URL)', 'e.g. --web-token $(openssl rand -hex 12)');
  if (f.web !== undefined && f.codec === 'l16') throw usageError('--web sends the stream to browsers over WebRTC, which carries Opus, not L16', 'drop --codec l16 (Opus is the default), or run a second rtpcast send --web for browsers');
  if (f.web !== undefined && f.srtp) throw usageError('--web with --srtp: anyone who can open the page would hear what SRTP is there to keep private', 'use one or the other (see docs/WEB.md)');
  if (f.srtp && f.announce) throw usageError('--announce would broadcast the SRTP key (it is in the SDP) to the whole LAN', 'drop --announce and copy the SDP over ssh (docs/SECURITY.md)');
  // Announced L16 gets payload type 127 unless static (44.1 kHz) or given: PulseAudio's module-rtp-recv
  // (GStreamer RTP backend, PulseAudio 15+) receives dynamic L16 only as 127, PipeWire's default too.
  const pt = f.pt ?? (f.announce && f.codec === 'l16' && (f.rate ?? 48000) !== 44100 ? ANNOUNCED_L16_PT : undefined);
  return {
    source,
    stream: { codec: f.codec, rate: f.rate, channels: f.channels, ptime: f.ptime, bitrate: f.bitrate, fec: f.fec, payloadType: pt, mtu: f.mtu, ttl: f.ttl, name: f.name },
    dests: f.dest ?? [],
    multicastLoop: f.multicastLoop,
    multicastInterface: f.multicastIf,
    sdp: f.sdp,
    durationSec: f.duration,
    ...(f.srtp ? { srtp: { key: f.srtpKey === undefined ? undefined : srtpKeyArg(f.srtpKey) } } : {}),
    announce: f.announce ? { groups: f.announceGroup, ttl: f.announceTtl } : undefined,
    ...(f.web !== undefined ? { web: { address: webAddressArg(f.web), token: f.webToken, maxListeners: f.webMax, ...(f.webUdpPorts !== undefined ? { icePorts: portRangeArg(f.webUdpPorts) } : {}) } } : {}),
    // the time-sync service binds a UDP port: only when asked (--sync, --sync-port or --sync-bind)
    ...(f.sync || f.syncPort !== undefined || f.syncBind !== undefined ? { sync: { port: f.syncPort ?? SYNC_PORT, host: f.syncBind, required: true } } : {}),
  };
}

/** `--web [host:port]`; the web server's module (and werift) load only when --web is given */
function webAddressArg(v: string | true): WebAddress {
  const { parseWebAddress } = require('../web/server') as typeof import('../web/server');
  return parseWebAddress(v);
}

/** `--web-udp-ports 40000-40049` */
export function portRangeArg(v: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v.trim());
  const a = m ? Number(m[1]) : NaN;
  const b = m ? Number(m[2]) : NaN;
  if (!m || a < 1024 || b > 65535 || a > b) throw usageError(`--web-udp-ports ${v}: expected FIRST-LAST, two ports from 1024 to 65535, e.g. 40000-40049`);
  return [a, b];
}

function srtpKeyArg(v: string): Buffer {
  const { decodeSrtpKey } = require('../sdp/crypto') as typeof import('../sdp/crypto');
  if (!v.startsWith('@')) return decodeSrtpKey(v, '--srtp-key');
  let text: string;
  try {
    text = readFileSync(v.slice(1), 'utf8');
  } catch (e) {
    throw usageError(`--srtp-key ${v}: cannot read the key file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  return decodeSrtpKey(text, `the key in ${v.slice(1)}`);
}

async function sendAction(f: SendFlags): Promise<number> {
  const o: Output = { json: !!f.json, quiet: !!f.quiet, tty: !!process.stderr.isTTY, err: process.stderr, out: process.stdout };
  const req = toSendRequest(f);
  // loaded here, not at start-up: `rtpcast --help` and the other commands never need it
  const { runSend } = require('../session/send') as typeof import('../session/send');
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C: leave now
    say(o, `\n${sig === 'SIGINT' ? 'Ctrl-C' : sig}: stopping (sending RTCP BYE)...`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let statusShown = false;
  const { reason, status } = await runSend(
    req,
    {
      onStart(info) {
        if (req.sdp === '-') o.out.write(info.sdps.map((s) => s.text).join('\n'));
        say(o, renderStart(info));
        if (info.web) say(o, (require('../web/qr') as typeof import('../web/qr')).qrTerminal(info.web.qr, o.tty));
        event(o, 'start', {
          source: info.source,
          notes: info.notes,
          stream: { ...info.description, destinations: info.destinations },
          ssrc: info.ssrc,
          sdp: info.sdps.map((s) => ({ destination: s.destination, path: s.path ?? null, commands: s.commands })),
          announce: info.announce ?? null,
          web: info.web ? { urls: info.web.urls, maxListeners: info.web.maxListeners } : null,
          pacer: info.pacer,
        });
      },
      // statuses only when something shows them (--json events, or the status line on a terminal):
      // without a listener the sender sleeps seconds at a time (PacedQueue.unwatched)
      ...(o.json || (o.tty && !o.quiet)
        ? {
            onStatus(s: SenderStatus) {
              // memoryStats reads /proc: only when someone reads the events
              if (o.json) event(o, 'status', { ...s, memory: memoryStats() });
              if (o.tty && !o.quiet && !o.json) {
                o.err.write(`\r\x1b[2K${renderStatus(s)}`);
                statusShown = true;
              }
            },
          }
        : {}),
      onWebListener(kind, l, count) {
        event(o, 'web', { listener: kind, id: l.id, remote: l.remote, listeners: count });
        if (!o.json && !o.quiet) o.err.write(`${statusShown ? '\n' : ''}web: listener ${l.id} ${kind === 'join' ? 'joined' : 'left'} (${l.remote}); ${count} listening\n`);
        statusShown = false;
      },
      onWarning(m) {
        event(o, 'warning', { message: m });
        if (!o.json && !o.quiet) o.err.write(`${statusShown ? '\n' : ''}warning: ${m}\n`);
        statusShown = false;
      },
    },
    abort.signal,
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (statusShown) o.err.write('\n');
  const why = { duration: 'duration reached', 'input-ended': 'input ended', stopped: 'stopped', error: 'the source failed' }[reason];
  say(o, `rtpcast send: ${why}: ${status.packets} packets, ${(status.octets / 1e6).toFixed(2)} MB of payload, ${status.elapsedSec.toFixed(2)} s of audio${status.underruns ? `, ${status.underruns} underruns (silence sent while the input was late)` : ''}${status.droppedMs ? `, ${status.droppedMs} ms of audio dropped (it piled up beyond the latency target)` : ''}`);
  event(o, 'stop', { reason, ...status });
  return reason === 'error' ? 1 : 0;
}

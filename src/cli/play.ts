import { Command, Option } from 'commander';
import { EXIT_CODES_HELP } from '../errors';
import { SAMPLE_FORMATS, type SampleFormat } from '../audio/pcm';
import type { PlayRequest, PlayStatus } from '../session/play';
import { intArg, numberArg } from './parse';
import { event, formatClock, say, type Output } from './output';
import { usageError } from '../errors';
import { monotonicClock } from '../rtp/clock';
import { holdYoungGeneration, memoryStats } from '../util/memory';
import { opusWasmMemoryBytes } from '../codec/opus-wasm';
import { SYNC_PORT } from '../sync/protocol';
import type { SyncStatus } from '../sync/sync-play';

interface PlayFlags {
  port?: number;
  codec?: string;
  rate?: number;
  channels?: number;
  pt?: number;
  bind?: string;
  source?: string;
  latency?: number;
  outputLatency?: number;
  out?: string;
  format: string;
  duration?: number;
  untilBye?: boolean;
  quiet?: boolean;
  json?: boolean;
  sap?: string | true;
  sync?: string | true;
  clockOffsetMs?: number;
  clockDriftPpm?: number;
  timelineOut?: string;
}

/** play --sync without --latency: sender time to output, ms (room for the network, a packet and an output block, with margin) */
export const SYNC_DEFAULT_LATENCY_MS = 200;

const EXAMPLES = `
Examples:
  rtpcast play stream.sdp
      play what rtpcast send (or ffmpeg, GStreamer, PulseAudio) sends, described by its SDP
  rtpcast play --port 5004
      L16 44.1 kHz (payload type 10/11) needs no SDP
  rtpcast play stream.sdp --latency 60 --out device:portaudio:3
      a fixed 60 ms playout latency, on a chosen output (rtpcast devices --outputs)
  rtpcast play stream.sdp --source 192.168.1.10 --out recording.wav --duration 60
      only packets from 192.168.1.10, recorded to a WAV file for a minute
  rtpcast play stream.sdp --out - --json 2>events.jsonl | aplay -f S16_LE -r 48000 -c 2
      raw PCM on stdout for another program; the JSON events then go to stderr
  rtpcast play room.sdp --sync --latency 250
      in step with every other player of this sender (kitchen, living room...): each sample is
      played 250 ms after the sender sent it, by the sender's clock (no NTP needed; docs/SYNC.md)

Senders: play locks onto the first sender (or the one --source, or the SDP's a=source-filter,
names) and never mixes another in; other senders are reported (a warning with their address and
SSRC, "others" in --json) and counted. A flood of packets from elsewhere makes play listen to its
sender only until it is over (the status shows it).

The status line shows: latency (target/actual), network jitter, loss, audio rebuilt by Opus FEC,
audio concealed, and the clock drift being compensated (ppm).

${EXIT_CODES_HELP}`;

export function playCommand(): Command {
  return new Command('play')
    .summary('receive RTP audio and play it: jitter buffer, loss concealment, drift compensation')
    .description('Play an RTP audio stream (L16 or Opus) from its SDP, or from flags, with an adaptive jitter buffer,\nOpus FEC and concealment of lost packets, and compensation of clock drift between sender and sound card.')
    .argument('[sdp]', 'the SDP file the sender wrote (- for stdin)')
    .addOption(new Option('-p, --port <port>', 'UDP port (overrides the SDP\'s)').argParser(intArg('--port', 1, 65534)))
    .addOption(new Option('-c, --codec <codec>', 'without an SDP: l16 or opus').choices(['l16', 'opus']))
    .addOption(new Option('-r, --rate <hz>', 'without an SDP: L16 sample rate').argParser(intArg('--rate', 1000, 384000)))
    .addOption(new Option('--channels <n>', 'without an SDP: channels').argParser(intArg('--channels', 1, 8)))
    .addOption(new Option('--pt <type>', 'without an SDP: payload type').argParser(intArg('--pt', 0, 127)))
    .option('--sap [name]', 'take the SDP from a SAP announcement on the LAN (PulseAudio module-rtp-send, rtpcast send --announce): the first, or the one whose name contains NAME')
    .option('--bind <address>', 'local address to listen on (default: the SDP\'s if it is this machine\'s, else all); a multicast group to join')
    .option('--source <address>', 'accept packets from this sender only (others are counted and dropped)')
    .addOption(new Option('-l, --latency <ms>', 'fixed playout latency (default: chosen from the measured jitter)').argParser(numberArg('--latency', 1, 5000)))
    .option('-o, --out <where>', 'output: device:ID (rtpcast devices --outputs), pulse, pipewire, portaudio, file.wav, or - for raw PCM on stdout (default: the sound server on Linux, PortAudio on Windows and macOS)')
    .addOption(new Option('--output-latency <ms>', 'what the output device buffers (sound server: pacat --latency-msec / pw-play --latency, default 50; PortAudio: its buffer size, default about 120 ms in all); lower it for less delay, raise it if the output underruns').argParser(numberArg('--output-latency', 5, 2000)))
    .addOption(new Option('--format <fmt>', 'raw PCM format for --out -').choices(SAMPLE_FORMATS).default('s16le'))
    .addOption(new Option('--duration <seconds>', 'stop after this long').argParser(numberArg('--duration', 0.001, 1e9)))
    .option('--until-bye', 'stop when the sender says goodbye (RTCP BYE)')
    .option('--sync [host[:port]]', `play in step with the other --sync players of the same sender: learn the sender's clock from its time-sync service (default: the address the stream comes from, port ${SYNC_PORT}) and play each sample at its sender time + --latency (default ${SYNC_DEFAULT_LATENCY_MS} ms here)`)
    .addOption(new Option('--clock-offset-ms <ms>', 'measurement: play on a clock this far ahead of the real one').argParser(numberArg('--clock-offset-ms', -1e6, 1e6)).hideHelp())
    .addOption(new Option('--clock-drift-ppm <ppm>', 'measurement: play on a clock running this much fast').argParser(numberArg('--clock-drift-ppm', -1e4, 1e4)).hideHelp())
    .addOption(new Option('--timeline-out <file>', 'measurement (--sync): log each output block\'s first RTP timestamp and the true time it left').hideHelp())
    .option('-q, --quiet', 'print only errors')
    .option('--json', 'print machine-readable events (one JSON object a line) on stdout; with --out - (audio on stdout) on stderr instead')
    .addHelpText('after', EXAMPLES)
    .action(async (sdp: string | undefined, flags: PlayFlags) => {
      process.exitCode = await playAction(sdp, flags);
    });
}

/** The one-line status (pure). */
export function renderPlayStatus(s: PlayStatus): string {
  const p = s.player;
  const st = s.stream;
  const parts = [
    formatClock(s.elapsedSec),
    p.state.padEnd(9),
    `latency ${p.bufferedMs.toFixed(0)}/${p.targetMs.toFixed(0)} ms`,
    st ? `jitter ${st.jitterMs.toFixed(1)} ms` : '',
    st ? `loss ${st.lostPct.toFixed(1)}%` : '',
    p.concealedMs.fec ? `fec ${p.concealedMs.fec.toFixed(0)} ms` : '',
    `concealed ${(p.concealedMs.plc + p.concealedMs.fade).toFixed(0)} ms`,
    `drift ${p.driftPpm > 0 ? '+' : ''}${p.driftPpm} ppm`,
    s.others.length ? `${s.others.length} other sender(s)` : '',
    s.srtp?.authFailed ? `${s.srtp.authFailed} failed SRTP auth` : '',
    s.srtp?.replayed ? `${s.srtp.replayed} replayed` : '',
    s.dropped.filtered ? `${s.dropped.filtered} from other addresses dropped` : '',
    s.dropped.malformed + s.dropped.untracked ? `${s.dropped.malformed + s.dropped.untracked} malformed/untracked dropped` : '',
    s.flood.active ? 'FLOOD: listening to the sender only' : s.flood.episodes ? `${s.flood.episodes} flood(s)` : '',
    s.sync ? renderSync(s.sync) : '',
  ];
  return parts.filter(Boolean).join('  ');
}

function renderSync(y: SyncStatus): string {
  if (y.state === 'locked') return `sync ${y.errorUs >= 0 ? '+' : ''}${y.errorUs} us (clock ${y.offsetMs! >= 0 ? '+' : ''}${y.offsetMs!.toFixed(1)} ms, ${y.driftPpm! >= 0 ? '+' : ''}${y.driftPpm} ppm)`;
  const why = { waiting: y.exchanges ? 'waiting for a sender report' : 'waiting for the time-sync service', early: 'waiting for the audio due', late: 'audio late: raise --latency' }[y.state] ?? y.state;
  return `sync: ${why}`;
}

async function playAction(sdpArg: string | undefined, f: PlayFlags): Promise<number> {
  // a player runs for hours: no RSS steps from V8 growing its new space (src/util/memory.ts)
  holdYoungGeneration();
  // --out - puts the audio on stdout: the JSON events then go to stderr (human text is off with --json)
  const o: Output = { json: !!f.json, quiet: !!f.quiet, tty: !!process.stderr.isTTY, err: process.stderr, out: f.out === '-' ? process.stderr : process.stdout };
  // loaded here, not at start-up: `rtpcast send` and `rtpcast --help` never need them
  const { readSdpArg, runPlay } = require('../session/play') as typeof import('../session/play');
  const { createSink } = require('../audio/output-devices') as typeof import('../audio/output-devices');
  const { sdpName, waitForSap } = require('../sdp/sap') as typeof import('../sdp/sap');
  const { srtpSummary } = require('../transport/srtp') as typeof import('../transport/srtp');
  let sdp = sdpArg !== undefined ? readSdpArg(sdpArg) : undefined;
  if (f.sap !== undefined) {
    const name = f.sap === true ? '' : f.sap;
    say(o, `rtpcast play: waiting for a SAP announcement${name ? ` of "${name}"` : ''} (up to 10 s)...`);
    const m = await waitForSap(name, 10000);
    sdp = { text: m.sdp, name: `SAP announcement "${sdpName(m.sdp)}" from ${m.origin}` };
  }
  if (f.timelineOut !== undefined && f.sync === undefined) throw usageError('--timeline-out logs what --sync plays', 'add --sync');
  const { SkewedClock } = require('../sync/test-clock') as typeof import('../sync/test-clock');
  const skewed = f.clockOffsetMs !== undefined || f.clockDriftPpm !== undefined ? new SkewedClock(f.clockOffsetMs ?? 0, f.clockDriftPpm ?? 0) : undefined;
  const clock = skewed ?? monotonicClock;
  const latencyMs = f.latency ?? (f.sync !== undefined ? SYNC_DEFAULT_LATENCY_MS : undefined);
  let tap: PlayRequest['tap'];
  if (f.sync !== undefined) {
    // the sync client and its controller load only for --sync (and never for rtpcast send)
    const { parseSyncTarget } = require('../sync/client') as typeof import('../sync/client');
    const { createSyncTap } = require('../sync/sync-play') as typeof import('../sync/sync-play');
    const target = f.sync === true ? undefined : parseSyncTarget(f.sync);
    if (f.sync !== true && !target) throw usageError(`--sync ${f.sync}: not a host or host:port`, `e.g. --sync 192.168.1.10 or --sync 192.168.1.10:${SYNC_PORT}`);
    tap = createSyncTap({
      host: target?.host, port: target?.port, latencyMs: latencyMs!, clock,
      toTrue: skewed ? (ns) => skewed.toTrue(ns) : undefined,
      timelineOut: f.timelineOut,
      onWarning: (m) => warn(m),
    });
  }
  const req: PlayRequest = {
    sdp,
    port: f.port, codec: f.codec, rate: f.rate, channels: f.channels, pt: f.pt, bind: f.bind, source: f.source,
    latencyMs, durationSec: f.duration, untilBye: f.untilBye, clock, tap,
  };
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let shown = false;
  function warn(m: string): void {
    event(o, 'warning', { message: m });
    if (!o.json && !o.quiet) o.err.write(`${shown ? '\n' : ''}warning: ${m}\n`);
    shown = false;
  }
  const final = await runPlay(
    req,
    (format) => createSink(f.out, format, { rawFormat: f.format as SampleFormat, latencyMs: f.outputLatency }),
    {
      onStart({ spec, bound, sink }) {
        say(o, `rtpcast play: ${spec.codec === 'opus' ? 'Opus' : 'L16'} ${spec.clockRate} Hz ${spec.channels} ch, payload type ${spec.payloadType} (from ${spec.from})${spec.security ? `, ${spec.security}` : ''}\n  listening ${bound}${spec.sourceFilter ? `, only from ${spec.sourceFilter}` : ''}\n  output    ${sink}\n  Ctrl-C stops.`);
        event(o, 'start', { stream: spec, listening: bound, output: sink });
      },
      onStatus(s) {
        // memory: where the process's memory is (the soak tells heap growth from native growth by it)
        if (o.json) event(o, 'status', { ...(s as unknown as Record<string, unknown>), memory: memoryStats(opusWasmMemoryBytes()) });
        if (o.tty && !o.quiet && !o.json) {
          o.err.write(`\r\x1b[2K${renderPlayStatus(s)}`);
          shown = true;
        }
      },
      onWarning: warn,
    },
    abort.signal,
  );
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (shown) o.err.write('\n');
  say(o, `rtpcast play: stopped. ${renderPlayStatus(final)}${final.beforeOutput ? `\n  ${final.beforeOutput} packet(s) arrived while the output was opening: playback started on the newest (${final.player.skippedMs.toFixed(0)} ms skipped)` : ''}`);
  const srtpVerdict = final.srtp && srtpSummary(final.srtp);
  if (srtpVerdict) say(o, srtpVerdict);
  event(o, 'stop', final as unknown as Record<string, unknown>);
  return 0;
}

import { Pactl } from '../os/pactl';
import { findProgram } from '../os/programs';
import { parsePwDump } from '../os/pwdump-parse';
import { runProgram } from '../os/run';
import { ExitCode, RtpcastError, usageError } from '../errors';
import type { PcmFormat, SampleFormat } from './pcm';
import { PORTAUDIO_WORKER } from './sources/portaudio';
import type { AudioSink } from './sinks/sink';
import { WavFileSink } from './sinks/wav-file';
import { RawStdoutSink } from './sinks/raw-stdout';
import { PulseSink } from './sinks/pulse';
import { PwPlaySink } from './sinks/pipewire';
import { PortAudioSink } from './sinks/portaudio';

/** pulse: played with pacat; pipewire: played with pw-play (PipeWire without pacat); portaudio: naudiodon */
export type OutputBackend = 'pulse' | 'pipewire' | 'portaudio';

export interface OutputDevice {
  backend: OutputBackend;
  /** what --out device:ID takes: a sound-server sink name, or portaudio:N */
  id: string;
  name: string;
  description: string;
  channels: number;
  rate: number;
  isDefault: boolean;
  hostApi?: string;
}

export interface OutputBackendStatus {
  backend: OutputBackend;
  available: boolean;
  detail: string;
}

export interface OutputDeviceList {
  backends: OutputBackendStatus[];
  devices: OutputDevice[];
}

interface WorkerList {
  hostApis: { defaultHostAPI: number; HostAPIs: { id: number; name: string; defaultOutput: number }[] };
  devices: { id: number; name: string; maxOutputChannels: number; defaultSampleRate: number; hostAPIName: string }[];
}

/** PortAudio's outputs (pure mapping of the list worker's JSON). */
export function portAudioOutputs(list: WorkerList): OutputDevice[] {
  const defaults = new Set(list.hostApis.HostAPIs.filter((h) => h.id === list.hostApis.defaultHostAPI).map((h) => h.defaultOutput));
  return list.devices
    .filter((d) => d.maxOutputChannels > 0)
    .map((d) => ({
      backend: 'portaudio' as const,
      id: `portaudio:${d.id}`,
      name: d.name,
      description: d.name,
      channels: Math.min(2, d.maxOutputChannels),
      rate: d.defaultSampleRate,
      isDefault: defaults.has(d.id),
      hostApi: d.hostAPIName,
    }));
}

async function listSoundServer(env: NodeJS.ProcessEnv): Promise<{ status: OutputBackendStatus; devices: OutputDevice[] }> {
  const pacat = findProgram('pacat', env);
  const pwPlay = findProgram('pw-play', env);
  const backend: OutputBackend = pacat || !pwPlay ? 'pulse' : 'pipewire';
  const player = pacat ? 'pacat' : pwPlay ? 'pw-play' : undefined;
  const pactl = Pactl.find(env);
  if (pactl) {
    try {
      const [info, sinks] = await Promise.all([pactl.info(), pactl.sinks()]);
      const server = `${info.isPipeWire ? 'PipeWire' : 'PulseAudio'} ${info.serverVersion}`;
      return {
        status: player
          ? { backend, available: true, detail: `${server}, played with ${player}` }
          : { backend, available: false, detail: `${server} runs, but pacat is not installed (sudo apt install pulseaudio-utils)` },
        devices: sinks.map((s) => ({ backend, id: s.name, name: s.name, description: s.description, channels: s.channels, rate: s.rate, isDefault: s.name === info.defaultSink })),
      };
    } catch (e) {
      return { status: { backend, available: false, detail: `no sound server answered: ${(e as Error).message}` }, devices: [] };
    }
  }
  const pwDump = findProgram('pw-dump', env);
  if (pwPlay && pwDump) {
    const r = await runProgram(pwDump, [], { timeoutMs: 5000, env }).catch(() => undefined);
    if (r?.code === 0) {
      try {
        const d = parsePwDump(r.stdout);
        return {
          status: { backend: 'pipewire', available: true, detail: 'PipeWire, played with pw-play' },
          devices: d.sinks.map((s) => ({ backend: 'pipewire' as const, id: s.name, name: s.name, description: s.description, channels: s.channels, rate: s.rate, isDefault: s.name === d.info?.defaultSink })),
        };
      } catch (e) {
        return { status: { backend: 'pipewire', available: false, detail: `pw-dump output not understood: ${(e as Error).message}` }, devices: [] };
      }
    }
    return { status: { backend: 'pipewire', available: false, detail: 'PipeWire is not running (pw-dump failed)' }, devices: [] };
  }
  return { status: { backend: 'pulse', available: false, detail: 'no sound server tools (sudo apt install pulseaudio-utils)' }, devices: [] };
}

async function listPortAudio(env: NodeJS.ProcessEnv): Promise<{ status: OutputBackendStatus; devices: OutputDevice[] }> {
  try {
    const r = await runProgram(process.execPath, [PORTAUDIO_WORKER, 'list'], { timeoutMs: 15000, env });
    if (r.code === 3) {
      const why = (JSON.parse(r.stdout || '{}') as { error?: string }).error ?? 'cannot load';
      return { status: { backend: 'portaudio', available: false, detail: `naudiodon is not installed or did not build (${why}); it is optional: play through the sound server instead` }, devices: [] };
    }
    if (r.code !== 0) return { status: { backend: 'portaudio', available: false, detail: `PortAudio failed (${r.timedOut ? 'timed out' : `exit ${r.code}`})` }, devices: [] };
    const list = JSON.parse(r.stdout) as WorkerList;
    const apis = list.hostApis.HostAPIs.map((h) => h.name).join(', ');
    return { status: { backend: 'portaudio', available: true, detail: `PortAudio via naudiodon (${apis})` }, devices: portAudioOutputs(list) };
  } catch (e) {
    return { status: { backend: 'portaudio', available: false, detail: (e as Error).message }, devices: [] };
  }
}

/** Every output rtpcast can play to: sound-server sinks and PortAudio devices with output channels. */
export async function listOutputDevices(env: NodeJS.ProcessEnv = process.env): Promise<OutputDeviceList> {
  const [server, pa] = await Promise.all([listSoundServer(env), listPortAudio(env)]);
  return { backends: [server.status, pa.status], devices: [...server.devices, ...pa.devices] };
}

/** What `--out SPEC` resolves to (pure, see chooseSink). */
export type SinkChoice =
  | { kind: 'wav'; path: string }
  | { kind: 'stdout' }
  | { kind: 'pulse'; device?: string; label: string }
  | { kind: 'pipewire'; device?: string; label: string }
  | { kind: 'portaudio'; deviceId: number; label: string };

/** Does this spec need the device list? (files and stdout do not) */
export function specNeedsDevices(spec: string | undefined): boolean {
  return !(spec === '-' || (spec !== undefined && /\.wav$/i.test(spec)));
}

function describeOutputs(list: OutputDeviceList): string {
  const lines = list.backends.map((b) => `${b.available ? '✔' : '✘'} ${b.backend}: ${b.detail}`);
  for (const d of list.devices) lines.push(`  device:${d.id}  ${d.description}${d.isDefault ? ' (default)' : ''}`);
  return lines.join('\n');
}

type DeviceChoice = Extract<SinkChoice, { label: string }>;

function choiceFor(d: OutputDevice): DeviceChoice {
  const label = `${d.description}${d.description === d.name ? '' : ` (${d.name})`}`;
  if (d.backend === 'portaudio') return { kind: 'portaudio', deviceId: Number(d.id.split(':')[1]), label: `${label} (PortAudio ${d.hostApi ?? ''})`.replace(/ \)$/, ')') };
  return { kind: d.backend, device: d.name, label: `${label} (${d.backend === 'pulse' ? 'sound server' : 'PipeWire'})` };
}

/**
 * Resolves `--out SPEC` (pure: the device list is passed in).
 * - `NAME.wav` → a WAV file; `-` → raw PCM on stdout;
 * - `device:ID` → that output: an exact id (sink name, portaudio:N), else an exact name, else a
 *   unique part of a name or description (case-insensitive);
 * - `pulse` / `pipewire` / `portaudio` → that backend's default output;
 * - nothing → on Linux the sound server's default sink (PulseAudio or PipeWire, through pacat or
 *   pw-play: about 80 ms from rtpcast to the speaker, where PortAudio through ALSA's "pulse"
 *   device measured 120 ms), else PortAudio's default output; on Windows and macOS (no sound
 *   server tools) PortAudio's default output first. Else an error that lists what exists.
 */
export function chooseSink(spec: string | undefined, list: OutputDeviceList | undefined, platform: NodeJS.Platform = process.platform): SinkChoice {
  if (spec === '-') return { kind: 'stdout' };
  if (spec !== undefined && /\.wav$/i.test(spec)) return { kind: 'wav', path: spec };
  const l = list ?? { backends: [], devices: [] };
  const ok = (b: OutputBackend) => l.backends.some((s) => s.backend === b && s.available);
  const server = l.backends.find((s) => s.backend === 'pulse' || s.backend === 'pipewire');
  const serverDefault = (): SinkChoice | undefined => {
    if (!server?.available) return undefined;
    const d = l.devices.find((x) => x.backend === server.backend && x.isDefault);
    return { kind: server.backend as 'pulse' | 'pipewire', label: d ? choiceFor(d).label : `default output (${server.backend === 'pulse' ? 'sound server' : 'PipeWire'})` };
  };
  const portAudioDefault = (): SinkChoice | undefined => {
    if (!ok('portaudio')) return undefined;
    const d = l.devices.find((x) => x.backend === 'portaudio' && x.isDefault);
    return d ? choiceFor(d) : undefined;
  };
  const unavailable = (what: string) => new RtpcastError(`${what} is not available:\n${describeOutputs(l)}`, ExitCode.missingProgram, 'record to a file instead: --out FILE.wav');

  if (spec === undefined) {
    const c = platform === 'linux' ? serverDefault() ?? portAudioDefault() : portAudioDefault() ?? serverDefault();
    if (c) return c;
    throw new RtpcastError(`no audio output is available:\n${describeOutputs(l)}`, ExitCode.missingProgram, 'install the sound server tools (sudo apt install pulseaudio-utils), or record to a file: --out FILE.wav');
  }
  if (spec === 'pulse' || spec === 'pipewire') {
    const c = serverDefault();
    if (!c) throw unavailable('the sound server');
    return spec === 'pipewire' && c.kind === 'pulse' ? { kind: 'pipewire', label: 'default output (PipeWire)' } : c;
  }
  if (spec === 'portaudio') {
    const c = portAudioDefault();
    if (!c) throw unavailable('a PortAudio default output');
    return c;
  }
  const m = /^device:(.+)$/.exec(spec);
  if (!m) throw usageError(`--out ${spec}: expected FILE.wav, - (stdout), device:ID, pulse, pipewire or portaudio`, 'list outputs: rtpcast devices --outputs');
  const want = m[1];
  const low = want.toLowerCase();
  const usable = l.devices.filter((d) => ok(d.backend));
  let matches = usable.filter((d) => d.id === want).slice(0, 1);
  if (!matches.length) matches = usable.filter((d) => d.name.toLowerCase() === low);
  if (!matches.length) matches = usable.filter((d) => d.name.toLowerCase().includes(low) || d.description.toLowerCase().includes(low));
  if (matches.length === 1) return choiceFor(matches[0]);
  if (matches.length > 1) throw usageError(`--out device:${want} matches ${matches.length} outputs: ${matches.map((d) => `device:${d.id}`).join(', ')}`, 'give the exact id');
  const elsewhere = l.devices.find((d) => d.id === want || d.name.toLowerCase() === low);
  if (elsewhere) throw unavailable(`${elsewhere.backend} (for device:${want})`);
  throw usageError(`no output matches device:${want}:\n${describeOutputs(l)}`, 'list outputs: rtpcast devices --outputs');
}

export interface CreateSinkOptions {
  /** --format for `--out -` (default s16le) */
  rawFormat?: SampleFormat;
  /** --output-latency: sound-server latency (pacat --latency-msec, pw-play --latency); PortAudio: its buffers sized for about this */
  latencyMs?: number;
  env?: NodeJS.ProcessEnv;
  /** the device list (injected by tests; default listOutputDevices) */
  list?: () => Promise<OutputDeviceList>;
}

/** The sink for a resolved choice (not opened). */
export function sinkFor(c: SinkChoice, o: CreateSinkOptions = {}): AudioSink {
  switch (c.kind) {
    case 'wav':
      return new WavFileSink(c.path);
    case 'stdout':
      return new RawStdoutSink(o.rawFormat ?? 's16le');
    case 'pulse':
      return new PulseSink({ device: c.device, latencyMs: o.latencyMs, env: o.env, pacat: findProgram('pacat', o.env) });
    case 'pipewire':
      return new PwPlaySink({ device: c.device, latencyMs: o.latencyMs, env: o.env, pwPlay: findProgram('pw-play', o.env) });
    case 'portaudio':
      // --output-latency: PortAudio's latency is about 6 buffers (see PortAudioSink)
      return new PortAudioSink(c.deviceId, c.label, { env: o.env, framesPerBufferMs: o.latencyMs !== undefined ? o.latencyMs / 6 : undefined });
  }
}

/**
 * The sink for `--out SPEC` (see chooseSink), not yet opened: the caller registers onPull (device
 * sinks) and opens it with `format`. Lists the outputs only when the spec names a device or is
 * the default.
 */
export async function createSink(spec: string | undefined, format: PcmFormat, o: CreateSinkOptions = {}): Promise<AudioSink> {
  if (!(format.rate > 0) || !(format.channels > 0)) throw usageError(`cannot play ${format.rate} Hz, ${format.channels} channels`);
  const list = specNeedsDevices(spec) ? await (o.list ?? (() => listOutputDevices(o.env)))() : undefined;
  return sinkFor(chooseSink(spec, list), o);
}

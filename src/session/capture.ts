import type { AudioSource } from '../audio/source';
import { ParecSource } from '../audio/sources/parec';
import { SystemSource } from '../audio/sources/system';
import { ExitCode, RtpcastError, usageError } from '../errors';
import { AppRoute } from '../os/app-route';
import { Pactl } from '../os/pactl';
import { findProgram } from '../os/programs';
import { listCaptureDevices, sourceForDevice, type CaptureDevice } from '../audio/devices';

export type CaptureRequest = { kind: 'system' } | { kind: 'app'; query: string; keepLocal: boolean } | { kind: 'device'; query: string };

/** Parses `--source`: system | app:NAME|PID | device:ID|NAME | tone. Pure. */
export function parseSourceSpec(spec: string, keepLocal = false): CaptureRequest | { kind: 'tone' } {
  const s = spec.trim();
  if (s === 'system') return { kind: 'system' };
  if (s === 'tone') return { kind: 'tone' };
  const m = /^(app|device):(.+)$/.exec(s);
  if (m && m[1] === 'app') return { kind: 'app', query: m[2], keepLocal };
  if (m && m[1] === 'device') return { kind: 'device', query: m[2] };
  throw usageError(`unknown source "${spec}"`, 'use --source system, --source app:NAME (or app:PID), --source device:ID, or --tone / --input FILE; list them: rtpcast devices');
}

export interface OpenedCapture {
  source: AudioSource;
  /** undo anything changed on the sound server (app routing) */
  cleanup(): Promise<void>;
  onNotice(fn: (m: string) => void): void;
}

function needPulse(): { pactl: Pactl; parec: string } {
  const pactl = Pactl.find();
  const parec = findProgram('parec');
  if (!pactl || !parec) {
    throw new RtpcastError('capturing from the sound server needs pactl and parec, which are not installed', ExitCode.missingProgram, 'install them: sudo apt install pulseaudio-utils (works with PulseAudio and PipeWire)');
  }
  return { pactl, parec };
}

/** Is a PulseAudio-compatible server answering? (decides the default source) */
export async function soundServerAvailable(): Promise<boolean> {
  const pactl = Pactl.find();
  if (!pactl || !findProgram('parec')) return false;
  return pactl.info().then(() => true, () => false);
}

export async function openCapture(req: CaptureRequest): Promise<OpenedCapture> {
  if (req.kind === 'device') {
    return openDevice(req.query);
  }
  const { pactl, parec } = needPulse();
  const info = await pactl.info();
  if (req.kind === 'system') {
    const [sinks, sources] = await Promise.all([pactl.sinks(), pactl.sources()]);
    const sink = sinks.find((s) => s.name === info.defaultSink) ?? sinks[0];
    if (!sink) throw new RtpcastError('the sound server has no output (sink) to capture', ExitCode.failure, 'list what exists: rtpcast devices');
    const monitor = sources.find((s) => s.name === sink.monitorSource);
    const format = { rate: monitor?.rate ?? sink.rate, channels: monitor?.channels ?? sink.channels };
    const src = new SystemSource(pactl, parec, sink.name, sink.monitorSource, format);
    let notice: (m: string) => void = () => undefined;
    src.onNotice = (m) => notice(m);
    return { source: src, cleanup: async () => undefined, onNotice: (fn) => (notice = fn) };
  }
  const route = await AppRoute.create(pactl, req.query, { keepLocal: req.keepLocal });
  let notice: (m: string) => void = () => undefined;
  route.onWarning = (m) => notice(m);
  const source = new ParecSource(route.sink.monitor, { rate: route.sink.rate, channels: route.sink.channels }, `application "${req.query}" (${route.inputs.length} stream${route.inputs.length === 1 ? '' : 's'} routed to ${route.sink.name}${req.keepLocal ? ', still audible here' : ''})`, parec);
  route.onLost = (m) => source.abort(new RtpcastError(m, ExitCode.failure, `start it again when the application plays: rtpcast send --source app:${req.query}`));
  return { source, cleanup: () => route.close(), onNotice: (fn) => (notice = fn) };
}

/** Which listed device `device:QUERY` means: an exact id, then a name, then a unique substring. Pure. */
export function pickDevice(devices: CaptureDevice[], query: string): CaptureDevice | CaptureDevice[] | undefined {
  const q = query.trim();
  const exact = devices.find((d) => d.id === q || `${d.backend}:${d.name}` === q);
  if (exact) return exact;
  const byName = devices.filter((d) => d.name.toLowerCase() === q.toLowerCase() || d.description.toLowerCase() === q.toLowerCase());
  if (byName.length === 1) return byName[0];
  const partial = devices.filter((d) => `${d.name} ${d.description}`.toLowerCase().includes(q.toLowerCase()));
  if (partial.length === 1) return partial[0];
  return partial.length > 1 ? partial : undefined;
}

async function openDevice(query: string): Promise<OpenedCapture> {
  const list = await listCaptureDevices();
  const pick = pickDevice(list.devices, query);
  if (pick && !Array.isArray(pick)) return { source: sourceForDevice(pick), cleanup: async () => undefined, onNotice: () => undefined };
  const rows = (Array.isArray(pick) ? pick : list.devices).map((d) => `${d.id}  ${d.description}${d.isDefault ? ' (default)' : ''}`);
  const off = list.backends.filter((b) => !b.available).map((b) => `${b.backend}: ${b.detail}`);
  throw new RtpcastError(
    Array.isArray(pick) ? `"${query}" matches ${pick.length} devices` : `no capture device matches "${query}"`,
    ExitCode.usage,
    (rows.length ? `devices:\n    ${rows.join('\n    ')}` : 'no capture devices were found') + (off.length ? `\n  unavailable: ${off.join('; ')}` : '') + '\n  use --source device:ID with an id from: rtpcast devices',
  );
}

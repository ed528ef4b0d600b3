import { runProgram } from '../os/run';
import { Pactl } from '../os/pactl';
import { findProgram } from '../os/programs';
import type { AudioSource } from './source';
import { levels } from './pcm';
import { ParecSource } from './sources/parec';
import { PORTAUDIO_WORKER, PortAudioSource } from './sources/portaudio';

export type Backend = 'pulse' | 'portaudio';

export interface CaptureDevice {
  backend: Backend;
  /** what --source device:ID takes */
  id: string;
  name: string;
  description: string;
  channels: number;
  rate: number;
  isDefault: boolean;
  /** monitor: what an output plays (system sound); input: a microphone or line in */
  kind: 'monitor' | 'input';
  hostApi?: string;
  /** peak and RMS over a short capture (devices --level) */
  peakDb?: number;
  rmsDb?: number;
  levelError?: string;
}

export interface BackendStatus {
  backend: Backend;
  available: boolean;
  detail: string;
}

export interface DeviceList {
  backends: BackendStatus[];
  devices: CaptureDevice[];
  notes: string[];
}

interface WorkerList {
  hostApis: { defaultHostAPI: number; HostAPIs: { id: number; name: string; defaultInput: number }[] };
  devices: { id: number; name: string; maxInputChannels: number; defaultSampleRate: number; hostAPIName: string }[];
}

/** PortAudio's device list (pure mapping of the worker's JSON). */
export function portAudioDevices(list: WorkerList): CaptureDevice[] {
  const defaults = new Set(list.hostApis.HostAPIs.map((h) => h.defaultInput));
  return list.devices
    .filter((d) => d.maxInputChannels > 0)
    .map((d) => ({
      backend: 'portaudio' as const,
      id: `portaudio:${d.id}`,
      name: d.name,
      description: d.name,
      channels: Math.min(2, d.maxInputChannels),
      rate: d.defaultSampleRate,
      isDefault: defaults.has(d.id),
      kind: /stereo mix|what u hear|loopback|monitor|wave out/i.test(d.name) ? ('monitor' as const) : ('input' as const),
      hostApi: d.hostAPIName,
    }));
}

/** Windows without a loopback device: say what to do (pure). */
export function windowsLoopbackNote(devices: CaptureDevice[], platform: NodeJS.Platform): string | undefined {
  if (platform !== 'win32') return undefined;
  if (devices.some((d) => d.backend === 'portaudio' && d.kind === 'monitor')) return undefined;
  return 'no device carries what this PC plays ("Stereo Mix"): enable it in Sound settings > More sound settings > Recording (right-click, Show Disabled Devices), or install a virtual cable (VB-CABLE) and select it as the output';
}

async function listPulse(): Promise<{ status: BackendStatus; devices: CaptureDevice[] }> {
  const pactl = Pactl.find();
  if (!pactl || !findProgram('parec')) return { status: { backend: 'pulse', available: false, detail: 'pactl/parec not installed (sudo apt install pulseaudio-utils)' }, devices: [] };
  try {
    const [info, sources] = await Promise.all([pactl.info(), pactl.sources()]);
    const sinks = await pactl.sinks();
    const defaultMonitor = sinks.find((s) => s.name === info.defaultSink)?.monitorSource;
    return {
      status: { backend: 'pulse', available: true, detail: `${info.isPipeWire ? 'PipeWire' : 'PulseAudio'} ${info.serverVersion} (${info.serverName})` },
      devices: sources.map((s) => ({
        backend: 'pulse' as const,
        id: s.name,
        name: s.name,
        description: s.description + (s.name === defaultMonitor ? ' [system sound]' : ''),
        channels: s.channels,
        rate: s.rate,
        isDefault: s.name === info.defaultSource,
        kind: s.monitorOfSink ? ('monitor' as const) : ('input' as const),
      })),
    };
  } catch (e) {
    return { status: { backend: 'pulse', available: false, detail: `no sound server answered: ${(e as Error).message}` }, devices: [] };
  }
}

async function listPortAudio(): Promise<{ status: BackendStatus; devices: CaptureDevice[] }> {
  try {
    const r = await runProgram(process.execPath, [PORTAUDIO_WORKER, 'list'], { timeoutMs: 15000 });
    if (r.code === 3) {
      const why = (JSON.parse(r.stdout || '{}') as { error?: string }).error ?? 'cannot load';
      return { status: { backend: 'portaudio', available: false, detail: `naudiodon is not installed or did not build (${why}); it is optional: on arm64 Linux use the sound server (PulseAudio/PipeWire) instead` }, devices: [] };
    }
    if (r.code !== 0) return { status: { backend: 'portaudio', available: false, detail: `PortAudio failed (${r.timedOut ? 'timed out' : `exit ${r.code}`})` }, devices: [] };
    const list = JSON.parse(r.stdout) as WorkerList;
    const apis = list.hostApis.HostAPIs.map((h) => h.name).join(', ');
    return { status: { backend: 'portaudio', available: true, detail: `PortAudio via naudiodon (${apis})` }, devices: portAudioDevices(list) };
  } catch (e) {
    return { status: { backend: 'portaudio', available: false, detail: (e as Error).message }, devices: [] };
  }
}

export async function listCaptureDevices(): Promise<DeviceList> {
  const [pulse, pa] = await Promise.all([listPulse(), listPortAudio()]);
  const devices = [...pulse.devices, ...pa.devices];
  const notes: string[] = [];
  const win = windowsLoopbackNote(devices, process.platform);
  if (win) notes.push(win);
  return { backends: [pulse.status, pa.status], devices, notes };
}

/** The source that captures a listed device in its own format. */
export function sourceForDevice(d: CaptureDevice): AudioSource {
  const f = { rate: d.rate, channels: d.channels };
  if (d.backend === 'pulse') return new ParecSource(d.name, f, `${d.description} (${d.name})`, findProgram('parec') ?? 'parec');
  return new PortAudioSource(Number(d.id.split(':')[1]), f, `${d.name} (PortAudio ${d.hostApi ?? ''})`.trim());
}

/** Captures every device at once for `seconds` and fills in its peak/RMS level. */
export async function measureLevels(devices: CaptureDevice[], seconds = 2): Promise<void> {
  await Promise.all(
    devices.map(async (d) => {
      const src = sourceForDevice(d);
      try {
        await src.open();
        await new Promise((r) => setTimeout(r, seconds * 1000));
        const all = src.read(d.rate * (seconds + 2)) ?? new Float32Array(0);
        const lv = levels(all, d.channels);
        d.peakDb = Math.max(...lv.peakDb);
        d.rmsDb = Math.max(...lv.rmsDb);
      } catch (e) {
        d.levelError = (e as Error).message;
      } finally {
        await src.close();
      }
    }),
  );
}

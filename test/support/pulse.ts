/**
 * A private PulseAudio daemon for tests: its own runtime directory, null sinks only (no
 * hardware), killed at the end. Applications are `paplay --client-name=NAME` processes playing
 * tone WAVs we generate.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWavS16 } from '../../src/audio/wav';
import { ToneGenerator } from '../../src/audio/tone';
import { findProgram } from '../../src/os/programs';
import { parsePactlSinkInputsJson, parsePactlSinksJson } from '../../src/os/pactl-parse';
import type { Sink, SinkInput } from '../../src/os/sound-server-types';
import { Procs, sleep, type Proc } from './procs';

export interface NullSink {
  name: string;
  rate: number;
  channels: number;
}

export function requirePulse(): void {
  for (const p of ['pulseaudio', 'pactl', 'paplay', 'parec']) {
    if (!findProgram(p)) throw new Error(`${p} not found: sudo apt-get install pulseaudio pulseaudio-utils`);
  }
}

export class PulseDaemon {
  readonly procs = new Procs();
  private constructor(
    readonly dir: string,
    readonly env: NodeJS.ProcessEnv,
    readonly daemon: Proc,
  ) {}

  static async start(sinks: NullSink[]): Promise<PulseDaemon> {
    requirePulse();
    const dir = mkdtempSync(join(tmpdir(), 'rtpcast-pulse-'));
    chmodSync(dir, 0o700);
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_RUNTIME_DIR: dir, HOME: dir, PULSE_RUNTIME_PATH: join(dir, "pulse") };
    delete env.PULSE_SERVER;
    const args = ['pulseaudio', '--daemonize=no', '--exit-idle-time=-1', '-n', '--use-pid-file=no', '--load=module-native-protocol-unix'];
    for (const s of sinks) args.push(`--load=module-null-sink sink_name=${s.name} rate=${s.rate} channels=${s.channels} sink_properties=device.description=${s.name}`);
    const procs = new Procs();
    const daemon = procs.start(args, { env });
    const d = new PulseDaemon(dir, env, daemon);
    (d as unknown as { procs: Procs }).procs = procs;
    const until = Date.now() + 10_000;
    while (spawnSync('pactl', ['info'], { env, timeout: 3000 }).status !== 0) {
      if (!daemon.running || Date.now() > until) throw new Error(`PulseAudio did not start:\n${daemon.describe()}`);
      await sleep(100);
    }
    return d;
  }

  pactl(args: string[]): string {
    const r = spawnSync('pactl', args, { env: { ...this.env, LC_ALL: 'C' }, encoding: 'utf8', timeout: 5000 });
    if (r.status !== 0) throw new Error(`pactl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  sinks(): Sink[] {
    return parsePactlSinksJson(this.pactl(['-f', 'json', 'list', 'sinks']));
  }
  sinkInputs(): SinkInput[] {
    return parsePactlSinkInputsJson(this.pactl(['-f', 'json', 'list', 'sink-inputs']));
  }
  /** the sink name an application's stream plays to */
  sinkOf(app: string): string | undefined {
    const i = this.sinkInputs().find((x) => x.appName === app);
    return i && this.sinks().find((s) => s.index === i.sink)?.name;
  }

  /** An "application": paplay playing a tone, with its own client name. */
  async playTone(app: string, hz: number, sink: string, seconds = 60, rate = 48000): Promise<Proc> {
    const g = new ToneGenerator({ rate, channels: 2 }, hz, -12);
    const wav = join(this.dir, `${app}.wav`);
    writeFileSync(wav, encodeWavS16(g.next(rate * seconds), rate, 2));
    const p = this.procs.start(['paplay', `--client-name=${app}`, `--device=${sink}`, wav], { env: this.env });
    const until = Date.now() + 5000;
    while (!this.sinkOf(app)) {
      if (!p.running || Date.now() > until) throw new Error(`${app} did not start playing:\n${p.describe()}`);
      await sleep(50);
    }
    return p;
  }

  async stop(): Promise<void> {
    await this.procs.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `cond` every 50 ms for at most `ms`; returns whether it became true. */
export async function eventually(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (cond()) return true;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) return false;
    await sleep(50);
  }
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ExitCode, RtpcastError } from '../errors';
import { findProgram } from './programs';
import { runProgram } from './run';
import type { ServerInfo, Sink, SinkInput, Source } from './sound-server-types';
import {
  parsePactlInfoJson, parsePactlInfoText, parsePactlSinkInputsJson, parsePactlSinkInputsText,
  parsePactlSinksJson, parsePactlSinksText, parsePactlSourcesJson, parsePactlSourcesText,
} from './pactl-parse';

export interface PactlEvent {
  /** new | change | remove */
  kind: string;
  /** sink-input | sink | source | server | module | client ... */
  facility: string;
  index?: number;
}

/** Parses one `pactl subscribe` line: "Event 'new' on sink-input #12". Pure. */
export function parseSubscribeLine(line: string): PactlEvent | undefined {
  const m = /^Event '([a-z]+)' on ([a-z-]+)(?: #(\d+))?/.exec(line.trim());
  return m ? { kind: m[1], facility: m[2], index: m[3] === undefined ? undefined : Number(m[3]) } : undefined;
}

/**
 * The PulseAudio (and pipewire-pulse) control client. Uses `pactl -f json` where the server's
 * pactl has it (PulseAudio 16+), the text listing otherwise (always in the C locale).
 */
export class Pactl {
  private json: boolean | undefined;

  constructor(
    readonly exe: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The pactl client, or undefined when it is not installed. */
  static find(env: NodeJS.ProcessEnv = process.env): Pactl | undefined {
    const exe = findProgram('pactl', env);
    return exe ? new Pactl(exe, env) : undefined;
  }

  private async run(args: string[], timeoutMs = 5000): Promise<string> {
    const r = await runProgram(this.exe, args, { timeoutMs, env: this.env });
    if (r.timedOut) throw new RtpcastError(`pactl ${args.join(' ')} did not answer within ${timeoutMs} ms`, ExitCode.failure, 'is the sound server hung? try: pactl info');
    if (r.code !== 0) {
      const msg = r.stderr.trim() || `exit code ${r.code}`;
      throw new RtpcastError(`pactl ${args.join(' ')} failed: ${msg}`, ExitCode.failure, /Connection refused|Connection failure/.test(msg) ? 'no sound server is running for this user: start PulseAudio or PipeWire (pipewire-pulse)' : undefined);
    }
    return r.stdout;
  }

  private async list<T>(what: string, fromJson: (t: string) => T, fromText: (t: string) => T): Promise<T> {
    if (this.json !== false) {
      try {
        const out = await this.run(['-f', 'json', ...what.split(' ')]);
        this.json = true;
        return fromJson(out);
      } catch (e) {
        if (this.json === true) throw e;
        this.json = false; // pactl older than 16: no JSON output
      }
    }
    return fromText(await this.run(what.split(' ')));
  }

  info(): Promise<ServerInfo> {
    return this.list('info', parsePactlInfoJson, parsePactlInfoText);
  }
  sinks(): Promise<Sink[]> {
    return this.list('list sinks', parsePactlSinksJson, parsePactlSinksText);
  }
  sources(): Promise<Source[]> {
    return this.list('list sources', parsePactlSourcesJson, parsePactlSourcesText);
  }
  sinkInputs(): Promise<SinkInput[]> {
    return this.list('list sink-inputs', parsePactlSinkInputsJson, parsePactlSinkInputsText);
  }

  async loadModule(name: string, args: string[]): Promise<number> {
    const out = await this.run(['load-module', name, ...args]);
    const idx = Number(out.trim().split('\n').pop());
    if (!Number.isInteger(idx)) throw new RtpcastError(`pactl load-module ${name} gave no module index ("${out.trim()}")`);
    return idx;
  }
  async unloadModule(index: number): Promise<void> {
    await this.run(['unload-module', String(index)]);
  }
  async moveSinkInput(input: number, sink: string | number): Promise<void> {
    await this.run(['move-sink-input', String(input), String(sink)]);
  }

  /** Follows server events until `stop()` is called. */
  subscribe(onEvent: (e: PactlEvent) => void): { stop(): void; child: ChildProcess } {
    const child = spawn(this.exe, ['subscribe'], { env: { ...this.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (l) => {
      const e = parseSubscribeLine(l);
      if (e) onEvent(e);
    });
    child.on('error', () => undefined);
    return { child, stop: () => child.kill('SIGTERM') };
  }
}

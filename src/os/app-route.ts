import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, RtpcastError } from '../errors';
import { writeFileAtomic } from '../util/atomic-write';
import { describeInputs, matchApps, moduleArgSafe } from './app-match';
import type { Pactl } from './pactl';
import type { Sink, SinkInput } from './sound-server-types';

/** What must be undone, written to a file the watchdog reads if rtpcast dies without cleaning up. */
export interface RouteState {
  pactl: string;
  env: { PULSE_SERVER?: string; XDG_RUNTIME_DIR?: string; PULSE_RUNTIME_PATH?: string };
  nullSinkModule: number;
  nullSinkName: string;
  loopbackModule?: number;
  /** sink-input index -> the sink name it came from */
  moved: Record<string, string>;
}

/** how many listings wait for `pactl subscribe` to connect, and the pause between them */
const SETTLE_ATTEMPTS = 50;
const SETTLE_PAUSE_MS = 100;

export const OWNER_PROP = 'rtpcast.owner_pid';
export const ORIGINAL_PROP = 'rtpcast.original_sink';

/**
 * Routes one application's sound into a sink of its own so its monitor carries that application
 * only: a null sink, the app's streams moved there (and any it opens later), optionally a
 * loopback to the original output so it stays audible (--keep-local). Everything is undone on
 * close; a detached watchdog process undoes it if rtpcast is killed outright.
 */
export class AppRoute {
  private readonly tracked = new Set<number>();
  private subscription: { stop(): void } | undefined;
  private watchdog: ChildProcess | undefined;
  private closed = false;
  private readonly stateFile: string;
  onWarning: (m: string) => void = () => undefined;
  /** the capture sink was removed under us (another program unloaded it): capture cannot go on */
  onLost: (m: string) => void = () => undefined;
  private sinkIndex: number | undefined;
  private subscriptionLive = false;
  private settled: Promise<void> = Promise.resolve();

  private constructor(
    private readonly pactl: Pactl,
    readonly query: string,
    readonly sink: { name: string; monitor: string; rate: number; channels: number; module: number },
    private readonly state: RouteState,
  ) {
    this.stateFile = join(tmpdir(), `rtpcast-route-${process.pid}.json`);
  }

  static async create(pactl: Pactl, query: string, o: { keepLocal?: boolean; watchdogScript?: string } = {}): Promise<AppRoute> {
    await cleanupStale(pactl);
    const [inputs, sinks] = await Promise.all([pactl.sinkInputs(), pactl.sinks()]);
    const mine = matchApps(inputs.filter((i) => !isOurs(i, sinks)), query);
    if (mine.length === 0) {
      const playing = describeInputs(inputs.filter((i) => !isOurs(i, sinks)), sinks);
      throw new RtpcastError(
        `no application matching "${query}" is playing sound`,
        ExitCode.usage,
        playing.length ? `applications playing now:\n    ${playing.join('\n    ')}\n  use --source app:NAME or app:PID` : 'nothing is playing right now: start the application\'s playback first, then run rtpcast',
      );
    }
    const original = sinks.find((s) => s.index === mine[0].sink);
    const rate = original?.rate ?? mine[0].rate;
    const channels = original?.channels ?? mine[0].channels;
    const label = moduleArgSafe(mine[0].appName ?? mine[0].binary ?? query);
    const name = `rtpcast_app_${process.pid}`;
    const props = `device.description=rtpcast-capture-of-${label} ${OWNER_PROP}=${process.pid} ${ORIGINAL_PROP}=${moduleArgSafe(original?.name ?? '')}`;
    const module = await pactl.loadModule('module-null-sink', [`sink_name=${name}`, `rate=${rate}`, `channels=${channels}`, `sink_properties='${props}'`]);
    const state: RouteState = { pactl: pactl.exe, env: pulseEnv(), nullSinkModule: module, nullSinkName: name, moved: {} };
    const route = new AppRoute(pactl, query, { name, monitor: `${name}.monitor`, rate, channels, module }, state);
    try {
      route.startWatchdog(o.watchdogScript);
      for (const i of mine) await route.take(i, sinks);
      if (o.keepLocal && original) {
        state.loopbackModule = await pactl.loadModule('module-loopback', [`source=${name}.monitor`, `sink=${original.name}`, 'latency_msec=40', 'source_dont_move=true', 'sink_dont_move=true']);
        route.saveState();
      }
      route.sinkIndex = (await pactl.sinks()).find((s) => s.name === name)?.index;
      route.follow();
    } catch (e) {
      await route.close();
      throw e;
    }
    return route;
  }

  /** sink-input indices currently routed */
  get inputs(): number[] {
    return [...this.tracked];
  }

  private async take(i: SinkInput, sinks: Sink[]): Promise<void> {
    const from = sinks.find((s) => s.index === i.sink)?.name;
    if (!from || from === this.sink.name || this.tracked.has(i.index)) return;
    // tracked before the move, so a close reported while the move runs is not lost
    this.tracked.add(i.index);
    this.state.moved[String(i.index)] = from;
    this.saveState();
    try {
      await this.pactl.moveSinkInput(i.index, this.sink.name);
    } catch (e) {
      this.tracked.delete(i.index);
      delete this.state.moved[String(i.index)];
      this.saveState();
      throw e;
    }
  }

  /**
   * New streams of the same application (next track, a new tab) are routed too, and a stream
   * that closes is noticed. `pactl subscribe` sees nothing until it has connected, which takes a
   * while on a loaded machine: a stream that closed or opened between our listing and that moment
   * would go unseen. So the listing is taken again until the subscription has shown it is live
   * (it has seen an event: every listing's own client makes one), and once more after that.
   */
  private follow(): void {
    this.subscription = this.pactl.subscribe((e) => {
      this.subscriptionLive = true;
      if (e.facility === 'sink' && e.kind === 'remove' && e.index !== undefined && e.index === this.sinkIndex && !this.closed) {
        // the server moves our recording to another source (the default sink's monitor): going
        // on would capture every application, or nothing, under the name of this one
        this.onLost(`the capture sink ${this.sink.name} was removed (another program unloaded it, or the sound server restarted): "${this.query}" can no longer be captured on its own`);
        return;
      }
      if (e.facility !== 'sink-input' || e.index === undefined || this.closed) return;
      if (e.kind === 'remove') this.gone(e.index);
      if (e.kind === 'new') {
        void (async () => {
          const [inputs, sinks] = await Promise.all([this.pactl.sinkInputs(), this.pactl.sinks()]);
          const i = inputs.find((x) => x.index === e.index);
          if (i && !this.closed && matchApps([i], this.query).length) await this.take(i, sinks);
        })().catch((err: Error) => this.onWarning(`could not route a new stream of "${this.query}": ${err.message}`));
      }
    });
    this.settled = this.settle().catch((err: Error) => this.onWarning(`could not follow the streams of "${this.query}": ${err.message}`));
  }

  /** Re-lists until the subscription is live, then once more (see follow). */
  private async settle(): Promise<void> {
    for (let attempt = 0; attempt < SETTLE_ATTEMPTS && !this.closed; attempt++) {
      const liveBefore = this.subscriptionLive;
      await this.reconcile();
      if (liveBefore) return;
      await new Promise((r) => setTimeout(r, SETTLE_PAUSE_MS));
    }
    if (!this.closed) this.onWarning(`the sound server's event feed (pactl subscribe) did not start: new streams of "${this.query}" will not be routed`);
  }

  /** Brings the tracked set in line with the server's listing: closed streams dropped, new ones taken. */
  private async reconcile(): Promise<void> {
    const [inputs, sinks] = await Promise.all([this.pactl.sinkInputs(), this.pactl.sinks()]);
    if (this.closed) return;
    const present = new Set(inputs.map((i) => i.index));
    for (const t of [...this.tracked]) if (!present.has(t)) this.gone(t);
    const fresh = inputs.filter((i) => !this.tracked.has(i.index) && !isOurs(i, sinks) && i.sink !== this.sinkIndex);
    for (const i of matchApps(fresh, this.query)) await this.take(i, sinks);
  }

  /** A routed stream closed. Idempotent: the event and a listing may both report it. */
  private gone(index: number): void {
    if (!this.tracked.delete(index)) return;
    delete this.state.moved[String(index)];
    this.saveState();
    if (this.tracked.size === 0) this.onWarning(`"${this.query}" stopped playing (its stream closed); waiting for it to play again`);
  }

  /** For tests: resolves once the start-up re-listing is done. */
  whenSettled(): Promise<void> {
    return this.settled;
  }

  private saveState(): void {
    writeFileAtomic(this.stateFile, JSON.stringify(this.state));
  }

  private startWatchdog(script = join(__dirname, 'restore-watchdog.js')): void {
    this.saveState();
    if (!existsSync(script)) return;
    // Its stdin is a pipe from us: when we die, even by SIGKILL, it reads EOF and restores.
    this.watchdog = spawn(process.execPath, [script, this.stateFile], { stdio: ['pipe', 'ignore', 'ignore'], detached: process.platform !== 'win32' });
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  }

  /** Moves every stream back where it came from and removes what we loaded. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscription?.stop();
    await restore(this.pactl, this.state);
    try {
      unlinkSync(this.stateFile);
    } catch {
      /* already gone */
    }
    // tell the watchdog all is done: it exits without touching anything
    this.watchdog?.stdin?.end('done\n');
  }
}

function pulseEnv(): RouteState['env'] {
  const e = process.env;
  return { PULSE_SERVER: e.PULSE_SERVER, XDG_RUNTIME_DIR: e.XDG_RUNTIME_DIR, PULSE_RUNTIME_PATH: e.PULSE_RUNTIME_PATH };
}

/** rtpcast's own streams: the --keep-local loopback (named after our capture sink). */
function isOurs(i: SinkInput, _sinks: Sink[]): boolean {
  return (i.mediaName ?? '').includes('rtpcast-capture-of-');
}

/** Undo a route: streams back to their sinks (those that still exist), modules unloaded. */
export async function restore(pactl: Pactl, s: RouteState): Promise<void> {
  for (const [input, sink] of Object.entries(s.moved)) {
    await pactl.moveSinkInput(Number(input), sink).catch(() => undefined); // the stream may be gone
  }
  if (s.loopbackModule !== undefined) await pactl.unloadModule(s.loopbackModule).catch(() => undefined);
  await pactl.unloadModule(s.nullSinkModule).catch(() => undefined);
}

/**
 * Routes left by an rtpcast that died without its watchdog (e.g. the whole session was killed):
 * sinks named rtpcast_app_PID whose PID is gone. Their streams go back to the sink recorded in
 * the sink's properties (or the default sink), and the sink is removed.
 */
export async function cleanupStale(pactl: Pactl, isAlive: (pid: number) => boolean = pidAlive): Promise<string[]> {
  const sinks = await pactl.sinks();
  const stale = sinks.filter((s) => /^rtpcast_app_\d+$/.test(s.name) && !isAlive(Number(s.properties[OWNER_PROP] ?? s.name.split('_').pop())));
  if (stale.length === 0) return [];
  const inputs = await pactl.sinkInputs();
  const info = await pactl.info();
  for (const s of stale) {
    const back = s.properties[ORIGINAL_PROP] && sinks.some((x) => x.name === s.properties[ORIGINAL_PROP]) ? s.properties[ORIGINAL_PROP] : info.defaultSink;
    for (const i of inputs.filter((x) => x.sink === s.index)) await pactl.moveSinkInput(i.index, back).catch(() => undefined);
    if (s.ownerModule !== undefined) await pactl.unloadModule(s.ownerModule).catch(() => undefined);
  }
  return stale.map((s) => s.name);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** For the watchdog: read a state file if it is still there. */
export function readRouteState(file: string): RouteState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RouteState;
  } catch {
    return undefined;
  }
}

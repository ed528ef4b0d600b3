import type { AudioSource } from '../source';
import type { PcmFormat } from '../pcm';
import { ParecSource } from './parec';
import type { Pactl } from '../../os/pactl';

/**
 * What the default output plays: the default sink's monitor. When the user switches the default
 * output (headphones to HDMI), capture moves to the new sink's monitor within about a second,
 * in the format it started with (the server converts), so the stream never changes format.
 */
export class SystemSource implements AudioSource {
  readonly pacing = 'source' as const;
  private current: ParecSource;
  private subscription: { stop(): void } | undefined;
  private readableFn: (() => void) | undefined;
  private errorFn: ((e: Error) => void) | undefined;
  private switching = false;
  onNotice: (m: string) => void = () => undefined;

  constructor(
    private readonly pactl: Pactl,
    private readonly parec: string,
    private sinkName: string,
    monitor: string,
    readonly format: PcmFormat,
  ) {
    this.current = this.make(monitor);
  }

  get label(): string {
    return `system sound (monitor of ${this.sinkName})`;
  }

  private make(monitor: string): ParecSource {
    const p = new ParecSource(monitor, this.format, `monitor ${monitor}`, this.parec);
    if (this.readableFn) p.onReadable(this.readableFn);
    p.onError((e) => {
      if (!this.switching) this.errorFn?.(e);
    });
    return p;
  }

  async open(): Promise<PcmFormat> {
    await this.current.open();
    this.subscription = this.pactl.subscribe((e) => {
      if (e.facility === 'server' && e.kind === 'change') void this.checkDefault();
    });
    return this.format;
  }

  private async checkDefault(): Promise<void> {
    const info = await this.pactl.info().catch(() => undefined);
    if (!info || !info.defaultSink || info.defaultSink === this.sinkName || this.switching) return;
    const sinks = await this.pactl.sinks().catch(() => []);
    const sink = sinks.find((s) => s.name === info.defaultSink);
    if (!sink) return;
    this.switching = true;
    const next = this.make(sink.monitorSource);
    try {
      await next.open();
      const old = this.current;
      this.current = next;
      this.sinkName = sink.name;
      await old.close();
      this.onNotice(`the default output changed: now capturing ${sink.description || sink.name}`);
    } catch (e) {
      this.onNotice(`the default output changed to ${sink.name} but capturing it failed (${(e as Error).message}); still on the previous one`);
    } finally {
      this.switching = false;
    }
  }

  read(frames: number): Float32Array | null {
    return this.current.read(frames);
  }
  get buffered(): number {
    return this.current.buffered;
  }
  onReadable(fn: () => void): void {
    this.readableFn = fn;
    this.current.onReadable(fn);
  }
  onError(fn: (e: Error) => void): void {
    this.errorFn = fn;
  }
  async close(): Promise<void> {
    this.subscription?.stop();
    await this.current.close();
  }
}

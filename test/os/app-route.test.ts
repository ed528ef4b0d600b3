import assert from 'node:assert/strict';
import test from 'node:test';
import { AppRoute } from '../../src/os/app-route';
import type { Pactl, PactlEvent } from '../../src/os/pactl';
import type { Sink, SinkInput } from '../../src/os/sound-server-types';

/**
 * A sound server in memory whose event feed (`pactl subscribe`) connects only after a given
 * number of commands: what a loaded machine does. Every command is a client connecting and
 * leaving, and, once the feed is connected, it sees that as events, as PulseAudio's does.
 */
class FakeServer {
  sinks: Sink[] = [sink(0, 'speakers')];
  inputs: SinkInput[] = [];
  private listener: ((e: PactlEvent) => void) | undefined;
  private commands = 0;
  private nextModule = 10;
  /** the feed connects once this many commands have run */
  constructor(public feedConnectsAfter: number) {}

  private command(): void {
    this.commands++;
    this.emit({ kind: 'new', facility: 'client', index: 100 + this.commands });
  }
  private emit(e: PactlEvent): void {
    if (this.listener && this.commands > this.feedConnectsAfter) queueMicrotask(() => this.listener?.(e));
  }
  /** an application's stream closes (the app crashed) */
  close(index: number): void {
    this.inputs = this.inputs.filter((i) => i.index !== index);
    this.emit({ kind: 'remove', facility: 'sink-input', index });
  }
  open(i: SinkInput): void {
    this.inputs.push(i);
    this.emit({ kind: 'new', facility: 'sink-input', index: i.index });
  }

  pactl(): Pactl {
    const later = <T>(f: () => T) => new Promise<T>((r) => setImmediate(() => { this.command(); r(f()); }));
    return {
      exe: '/bin/false',
      sinks: () => later(() => this.sinks.map((s) => ({ ...s }))),
      sinkInputs: () => later(() => this.inputs.map((i) => ({ ...i }))),
      info: () => later(() => ({ serverName: 'fake', serverVersion: '1', isPipeWire: false, defaultSink: 'speakers', defaultSource: 'speakers.monitor' })),
      loadModule: (name: string, args: string[]) =>
        later(() => {
          const m = this.nextModule++;
          const sinkName = /sink_name=(\S+)/.exec(args.join(' '))?.[1];
          if (name === 'module-null-sink' && sinkName) this.sinks.push({ ...sink(m, sinkName), ownerModule: m });
          return m;
        }),
      unloadModule: (m: number) => later(() => void (this.sinks = this.sinks.filter((s) => s.ownerModule !== m))),
      moveSinkInput: (input: number, to: string | number) =>
        later(() => {
          const i = this.inputs.find((x) => x.index === input);
          const s = this.sinks.find((x) => x.name === to || x.index === to);
          if (!i || !s) throw new Error('No such entity');
          i.sink = s.index;
        }),
      subscribe: (on: (e: PactlEvent) => void) => {
        this.listener = on;
        return { stop: () => void (this.listener = undefined), child: undefined as never };
      },
    } as unknown as Pactl;
  }
  sinkOf(index: number): string | undefined {
    const i = this.inputs.find((x) => x.index === index);
    return this.sinks.find((s) => s.index === i?.sink)?.name;
  }
}

function sink(index: number, name: string): Sink {
  return { index, name, description: name, monitorSource: `${name}.monitor`, state: 'RUNNING', format: 's16le', rate: 48000, channels: 2, properties: {} };
}
function app(index: number, name: string): SinkInput {
  return { index, sink: 0, appName: name, binary: name, format: 's16le', rate: 48000, channels: 2, corked: false, properties: {} };
}

const NO_WATCHDOG = { watchdogScript: '/nonexistent/watchdog.js' };

test('an application that closes its stream before the event feed connects is still noticed', async () => {
  // the feed is not connected yet when the application crashes
  const server = new FakeServer(Number.MAX_SAFE_INTEGER);
  server.open(app(5, 'crashy'));
  const route = await AppRoute.create(server.pactl(), 'crashy', NO_WATCHDOG);
  const warnings: string[] = [];
  route.onWarning = (m) => warnings.push(m);
  assert.deepEqual(route.inputs, [5]);
  assert.match(server.sinkOf(5) ?? '', /^rtpcast_app_/);
  server.close(5); // unseen by the feed: it is not connected yet
  server.feedConnectsAfter = 0; // now it connects
  await route.whenSettled();
  assert.deepEqual(warnings, ['"crashy" stopped playing (its stream closed); waiting for it to play again']);
  assert.deepEqual(route.inputs, []);
  await route.close();
  assert.ok(!server.sinks.some((s) => s.name.startsWith('rtpcast')), 'capture sink removed');
});

test('a stream the application opens before the event feed connects is routed too, and restored at the end', async () => {
  const server = new FakeServer(Number.MAX_SAFE_INTEGER);
  server.sinks.push(sink(1, 'headphones'));
  server.open(app(5, 'player'));
  const route = await AppRoute.create(server.pactl(), 'player', NO_WATCHDOG);
  server.open({ ...app(6, 'player'), sink: 1 }); // unseen by the feed
  server.open(app(7, 'other'));
  server.feedConnectsAfter = 0;
  await route.whenSettled();
  assert.deepEqual(route.inputs.sort(), [5, 6]);
  assert.match(server.sinkOf(6) ?? '', /^rtpcast_app_/);
  assert.equal(server.sinkOf(7), 'speakers', 'another application is left alone');
  await route.close();
  assert.equal(server.sinkOf(5), 'speakers');
  assert.equal(server.sinkOf(6), 'headphones', 'back to the sink it opened on');
});

test('once the feed is live, a close is reported once, whether the event or a listing sees it first', async () => {
  const server = new FakeServer(0);
  server.open(app(5, 'crashy'));
  const route = await AppRoute.create(server.pactl(), 'crashy', NO_WATCHDOG);
  const warnings: string[] = [];
  route.onWarning = (m) => warnings.push(m);
  await route.whenSettled();
  server.close(5);
  await new Promise((r) => setImmediate(r));
  assert.equal(warnings.length, 1);
  assert.deepEqual(route.inputs, []);
  await route.close();
});

test('a feed that never connects is reported, not waited on forever', { timeout: 20_000 }, async () => {
  const server = new FakeServer(Number.MAX_SAFE_INTEGER);
  server.open(app(5, 'quiet'));
  const route = await AppRoute.create(server.pactl(), 'quiet', NO_WATCHDOG);
  const warnings: string[] = [];
  route.onWarning = (m) => warnings.push(m);
  await route.whenSettled();
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /event feed \(pactl subscribe\) did not start/);
  await route.close();
});

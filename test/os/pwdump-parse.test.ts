import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePwDump, PIPEWIRE_DEFAULT_SPEC, spaFormatToPulse } from '../../src/os/pwdump-parse';
import { parsePactlSinkInputsJson, parsePactlSinksJson, parsePactlSourcesJson } from '../../src/os/pactl-parse';

// tests run from dist/test/os
const fixture = (name: string): string => readFileSync(join(__dirname, '../../../test/fixtures/os', name), 'utf8');

function bare<T extends { properties: Record<string, string> }>(items: T[]): Omit<T, 'properties'>[] {
  return items.map(({ properties: _p, ...rest }) => rest);
}

function throwsWith(fn: () => unknown, ...parts: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'expected an Error');
    for (const p of parts) assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(p)}`);
    return true;
  });
}

// ------------------------------------------------------------------------------------------------
// PipeWire 0.3.65 (recorded, same session as the pipewire-0.3.65 pactl fixtures)

test('pw-dump 0.3.65: server info and defaults from the "default" metadata', () => {
  assert.deepEqual(parsePwDump(fixture('pipewire-0.3.65-pw-dump.json')).info, {
    serverName: 'PipeWire', serverVersion: '0.3.65', isPipeWire: true, defaultSink: 'speakers', defaultSource: 'mic',
  });
});

test('pw-dump 0.3.65: sinks (null sinks made through pipewire-pulse)', () => {
  const { sinks } = parsePwDump(fixture('pipewire-0.3.65-pw-dump.json'));
  assert.deepEqual(bare(sinks), [
    { index: 43, name: 'speakers', description: 'Speakers', format: 'float32le', rate: 48000, channels: 2, monitorSource: 'speakers.monitor', state: 'RUNNING', ownerModule: 536870913 },
    { index: 44, name: 'hdmi', description: 'hdmi Audio/Sink sink', format: 'float32le', rate: 44100, channels: 2, monitorSource: 'hdmi.monitor', state: 'RUNNING', ownerModule: 536870914 },
  ]);
  assert.equal(sinks[0].properties['factory.name'], 'support.null-audio-sink');
  assert.equal(sinks[0].properties['object.serial'], '45');
});

test('pw-dump 0.3.65: sources are the virtual source plus one monitor per sink', () => {
  const { sources } = parsePwDump(fixture('pipewire-0.3.65-pw-dump.json'));
  assert.deepEqual(bare(sources), [
    { index: 43, name: 'speakers.monitor', description: 'Monitor of Speakers', format: 'float32le', rate: 48000, channels: 2, monitorOfSink: 'speakers', state: 'RUNNING' },
    { index: 44, name: 'hdmi.monitor', description: 'Monitor of hdmi Audio/Sink sink', format: 'float32le', rate: 44100, channels: 2, monitorOfSink: 'hdmi', state: 'IDLE' },
    { index: 50, name: 'mic', description: 'Microphone', format: 'float32le', rate: 48000, channels: 1, state: 'SUSPENDED' },
  ]);
  assert.equal(sources[0].properties['device.class'], 'monitor');
  assert.equal(sources[2].properties['media.class'], 'Audio/Source/Virtual');
});

test('pw-dump 0.3.65: streams, their sinks (from links), cork state, and the app behind each', () => {
  const { sinkInputs } = parsePwDump(fixture('pipewire-0.3.65-pw-dump.json'));
  assert.deepEqual(bare(sinkInputs), [
    { index: 57, sink: 43, format: 's16le', rate: 48000, channels: 2, corked: false, appName: 'toneplayer', binary: 'pacat', pid: 17553, mediaName: 'tone' },
    { index: 58, sink: 43, format: 'float32le', rate: 48000, channels: 2, corked: true, appName: 'podcastapp', binary: 'corked-client', pid: 17556, mediaName: 'episode' },
    { index: 59, sink: 44, format: 's32le', rate: 44100, channels: 1, corked: false, appName: 'bellapp', binary: 'pacat', pid: 17555, mediaName: 'chime' },
    // a native PipeWire client: binary and pid come from its Client object
    { index: 79, sink: 44, format: 's16le', rate: 48000, channels: 2, corked: false, appName: 'pw-play', binary: 'pw-cat', pid: 17559, mediaName: '/tmp/pw-fixtures-tone.wav' },
  ]);
  // the Stream/Input/Audio recorder (parec) is not a sink input
  assert.equal(sinkInputs.some((s) => s.appName === 'recorder'), false);
});

test('pw-dump 0.3.65 agrees with pactl on the same server, mapping node ids to object serials', () => {
  const dump = parsePwDump(fixture('pipewire-0.3.65-pw-dump.json'));
  const serialOf = (props: Record<string, string>): number => Number(props['object.serial']);
  const sinkSerial = new Map(dump.sinks.map((s) => [s.index, serialOf(s.properties)]));

  const pactlSinks = parsePactlSinksJson(fixture('pipewire-0.3.65-sinks.json'));
  assert.deepEqual(
    dump.sinks.map((s) => ({ ...s, index: serialOf(s.properties), properties: undefined })),
    pactlSinks.map((s) => ({ ...s, properties: undefined })),
  );

  const pactlSources = parsePactlSourcesJson(fixture('pipewire-0.3.65-sources.json'));
  assert.deepEqual(
    dump.sources.map((s) => ({ index: serialOf(s.properties), name: s.name, monitorOfSink: s.monitorOfSink, rate: s.rate, channels: s.channels, format: s.format, state: s.state })),
    pactlSources.map((s) => ({ index: s.index, name: s.name, monitorOfSink: s.monitorOfSink, rate: s.rate, channels: s.channels, format: s.format, state: s.state })),
  );

  const pactlInputs = parsePactlSinkInputsJson(fixture('pipewire-0.3.65-sink-inputs.json'));
  assert.deepEqual(
    dump.sinkInputs.map((s) => ({ index: serialOf(s.properties), sink: sinkSerial.get(s.sink), corked: s.corked, format: s.format, rate: s.rate, channels: s.channels, appName: s.appName })),
    pactlInputs.map((s) => ({ index: s.index, sink: s.sink, corked: s.corked, format: s.format, rate: s.rate, channels: s.channels, appName: s.appName })),
  );
});

// ------------------------------------------------------------------------------------------------
// PipeWire 1.x (a composite fixture, see test/fixtures/os/README.md)

test('pw-dump 1.x: server info and defaults', () => {
  assert.deepEqual(parsePwDump(fixture('pipewire-1.x-pw-dump.json')).info, {
    serverName: 'PipeWire',
    serverVersion: '1.0.5',
    isPipeWire: true,
    defaultSink: 'alsa_output.pci-0000_00_1f.3.analog-stereo',
    defaultSource: 'alsa_input.pci-0000_00_1f.3.analog-stereo',
  });
});

test('pw-dump 1.x: ALSA sinks; a suspended sink takes the defaults of its EnumFormat choices', () => {
  const { sinks } = parsePwDump(fixture('pipewire-1.x-pw-dump.json'));
  assert.deepEqual(bare(sinks), [
    {
      index: 55, name: 'alsa_output.pci-0000_01_00.1.hdmi-stereo', description: 'GA104 High Definition Audio Controller Digital Stereo (HDMI)',
      format: 's32le', rate: 48000, channels: 2, monitorSource: 'alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor', state: 'SUSPENDED',
    },
    {
      index: 57, name: 'alsa_output.pci-0000_00_1f.3.analog-stereo', description: 'Built-in Audio Analog Stereo',
      format: 's32le', rate: 48000, channels: 2, monitorSource: 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', state: 'RUNNING',
    },
  ]);
  assert.equal(sinks[1].properties['node.loop.name'], 'data-loop.0');
  assert.equal(sinks[1].ownerModule, undefined, 'not made by a pulse module');
});

test('pw-dump 1.x: sources, with monitors and an ALSA capture device', () => {
  const { sources } = parsePwDump(fixture('pipewire-1.x-pw-dump.json'));
  assert.deepEqual(bare(sources), [
    {
      index: 55, name: 'alsa_output.pci-0000_01_00.1.hdmi-stereo.monitor', description: 'Monitor of GA104 High Definition Audio Controller Digital Stereo (HDMI)',
      format: 's32le', rate: 48000, channels: 2, monitorOfSink: 'alsa_output.pci-0000_01_00.1.hdmi-stereo', state: 'SUSPENDED',
    },
    {
      index: 57, name: 'alsa_output.pci-0000_00_1f.3.analog-stereo.monitor', description: 'Monitor of Built-in Audio Analog Stereo',
      format: 's32le', rate: 48000, channels: 2, monitorOfSink: 'alsa_output.pci-0000_00_1f.3.analog-stereo', state: 'RUNNING',
    },
    { index: 64, name: 'alsa_input.pci-0000_00_1f.3.analog-stereo', description: 'Built-in Audio Analog Stereo', format: 's16le', rate: 44100, channels: 2, state: 'SUSPENDED' },
  ]);
});

test('pw-dump 1.x: streams; pulse.corked, a move recorded in metadata, and a native client', () => {
  const { sinkInputs } = parsePwDump(fixture('pipewire-1.x-pw-dump.json'));
  assert.deepEqual(bare(sinkInputs), [
    { index: 74, sink: 57, format: 'float32le', rate: 48000, channels: 2, corked: false, appName: 'Firefox', binary: 'firefox', pid: 2487699, mediaName: 'Big Buck Bunny - YouTube' },
    // corked and unlinked: its sink comes from the "default" metadata target.node entry
    { index: 90, sink: 55, format: 'float32le', rate: 44100, channels: 2, corked: true, appName: 'Firefox', binary: 'firefox', pid: 2487699, mediaName: 'Checking your Browser…' },
    { index: 95, sink: 57, format: 's16le', rate: 44100, channels: 1, corked: false, appName: 'pw-play', binary: 'pw-cat', pid: 3301, mediaName: '/home/user/bell.wav' },
  ]);
  assert.equal(sinkInputs[0].properties['pulse.corked'], 'false');
  assert.equal(sinkInputs[0].properties['object.serial'], '92961');
});

// ------------------------------------------------------------------------------------------------
// resolution rules, on small hand-made dumps

const sinkNode = (id: number, name: string, serial: number, extra: Record<string, unknown> = {}) => ({
  id, type: 'PipeWire:Interface:Node', info: { state: 'idle', props: { 'media.class': 'Audio/Sink', 'node.name': name, 'object.serial': serial, ...extra }, params: {} },
});
const stream = (id: number, props: Record<string, unknown>, state = 'running', params: Record<string, unknown> = {}) => ({
  id, type: 'PipeWire:Interface:Node', info: { state, props: { 'media.class': 'Stream/Output/Audio', 'node.name': `s${id}`, ...props }, params },
});
const defaults = (entries: unknown[]) => ({ id: 9, type: 'PipeWire:Interface:Metadata', props: { 'metadata.name': 'default' }, metadata: entries });
const two = [sinkNode(10, 'alpha', 110), sinkNode(20, 'beta', 120)];
const sinkOf = (objects: unknown[], streamId: number): number => parsePwDump(JSON.stringify(objects)).sinkInputs.find((s) => s.index === streamId)!.sink;

test('stream → sink: links first, then target.object (name or serial), node.target, metadata, default sink', () => {
  const link = { id: 50, type: 'PipeWire:Interface:Link', info: { 'output-node-id': 30, 'input-node-id': 20 } };
  assert.equal(sinkOf([...two, stream(30, { 'target.object': 'alpha' }), link], 30), 20, 'a link beats target.object');
  assert.equal(sinkOf([...two, stream(30, { 'target.object': 'beta' })], 30), 20, 'target.object as a name');
  assert.equal(sinkOf([...two, stream(30, { 'target.object': '110' })], 30), 10, 'target.object as an object.serial');
  assert.equal(sinkOf([...two, stream(30, { 'node.target': '20' })], 30), 20, 'legacy node.target as a node id');
  assert.equal(sinkOf([...two, stream(30, {}), defaults([{ subject: 30, key: 'target.node', type: 'Spa:Id', value: 20 }])], 30), 20, 'metadata target.node');
  assert.equal(sinkOf([...two, stream(30, {}), defaults([{ subject: 30, key: 'target.object', type: 'Spa:Id', value: 110 }])], 30), 10, 'metadata target.object (serial)');
  const dflt = { subject: 0, key: 'default.audio.sink', type: 'Spa:String:JSON', value: { name: 'beta' } };
  assert.equal(sinkOf([...two, stream(30, {}), defaults([dflt, { subject: 30, key: 'target.node', type: 'Spa:Id', value: -1 }])], 30), 20, '-1 is no target: the default sink');
  assert.equal(sinkOf([...two, stream(30, { 'target.object': 'gone' })], 30), -1, 'nothing resolves: -1');
});

test('metadata values given as JSON strings are read too', () => {
  const r = parsePwDump(JSON.stringify([...two, defaults([
    { subject: 0, key: 'default.audio.sink', type: 'Spa:String:JSON', value: '{"name":"alpha"}' },
    { subject: 0, key: 'default.audio.source', type: 'Spa:String:JSON', value: '{ "name": "alpha.monitor" }' },
  ])]));
  assert.deepEqual(r.info, { defaultSink: 'alpha', defaultSource: 'alpha.monitor' });
});

test('sample spec: Format, then EnumFormat, then audio.* props, then PipeWire defaults', () => {
  const raw = (format: unknown, rate: unknown, channels: unknown) => ({ mediaType: 'audio', mediaSubtype: 'raw', format, rate, channels });
  const spec = (params: Record<string, unknown>, props: Record<string, unknown> = {}) => {
    const s = parsePwDump(JSON.stringify([stream(30, props, 'running', params)])).sinkInputs[0];
    return { format: s.format, rate: s.rate, channels: s.channels };
  };
  assert.deepEqual(spec({ Format: [raw('S24_32LE', 96000, 6)], EnumFormat: [raw('S16LE', 44100, 2)] }), { format: 's24-32le', rate: 96000, channels: 6 });
  assert.deepEqual(spec({ Format: [], EnumFormat: [raw({ default: 'F32P', alt1: 'F32P', alt2: 'F32LE' }, { default: 44100, min: 8000, max: 192000 }, 1)] }), { format: 'float32le', rate: 44100, channels: 1 });
  assert.deepEqual(spec({}, { 'audio.format': 'S16LE', 'audio.rate': 32000, 'audio.channels': 1 }), { format: 's16le', rate: 32000, channels: 1 });
  assert.deepEqual(spec({}), { ...PIPEWIRE_DEFAULT_SPEC });
  assert.deepEqual(PIPEWIRE_DEFAULT_SPEC, { format: 'float32le', rate: 48000, channels: 2 });
});

test('SPA formats map to PulseAudio names', () => {
  assert.equal(spaFormatToPulse('S16LE'), 's16le');
  assert.equal(spaFormatToPulse('F32P'), 'float32le');
  assert.equal(spaFormatToPulse('S24_32LE'), 's24-32le');
  assert.equal(spaFormatToPulse('U8'), 'u8');
  assert.equal(spaFormatToPulse('S32BE'), 's32be');
});

test('corked: pulse.corked when present, otherwise a stream that is not running', () => {
  const corked = (props: Record<string, unknown>, state: string) => parsePwDump(JSON.stringify([stream(30, props, state)])).sinkInputs[0].corked;
  assert.equal(corked({ 'pulse.corked': true }, 'running'), true);
  assert.equal(corked({ 'pulse.corked': false }, 'idle'), false);
  assert.equal(corked({}, 'suspended'), true);
  assert.equal(corked({}, 'idle'), true);
  assert.equal(corked({}, 'running'), false);
});

test('a dump without Core or default metadata has no info; removal entries are skipped', () => {
  const r = parsePwDump(JSON.stringify([...two, { id: 77, type: 'PipeWire:Interface:Node', info: null }]));
  assert.equal(r.info, undefined);
  assert.deepEqual(r.sinks.map((s) => s.index), [10, 20]);
  assert.deepEqual(r.sinkInputs, []);
});

// ------------------------------------------------------------------------------------------------
// malformed input

test('errors: malformed pw-dump output', () => {
  throwsWith(() => parsePwDump(''), 'pw-dump', 'expected a JSON array of PipeWire objects', 'got nothing');
  throwsWith(() => parsePwDump('[{"id": 1,'), 'pw-dump', 'expected a JSON array of PipeWire objects');
  throwsWith(() => parsePwDump('{"id": 0}'), 'expected a JSON array');
  throwsWith(() => parsePwDump('[42]'), 'item 0', 'expected an object');
  throwsWith(() => parsePwDump('[{"type": "PipeWire:Interface:Node"}]'), 'item 0', '"id" (number) and "type" (string)');
  throwsWith(() => parsePwDump('[{"id": 5, "type": "PipeWire:Interface:Node", "info": {"state": "idle"}}]'), 'node 5', '"info.props"');
  throwsWith(() => parsePwDump('[{"id": 6, "type": "PipeWire:Interface:Link", "info": {"state": "active"}}]'), 'link 6', '"output-node-id" and "input-node-id"');
});

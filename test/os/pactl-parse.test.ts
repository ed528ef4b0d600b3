import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  parsePactlInfoJson, parsePactlInfoText, parsePactlSinkInputsJson, parsePactlSinkInputsText,
  parsePactlSinksJson, parsePactlSinksText, parsePactlSourcesJson, parsePactlSourcesText, parseSampleSpec,
} from '../../src/os/pactl-parse';
import type { Sink, SinkInput, Source } from '../../src/os/sound-server-types';

// tests run from dist/test/os
const fixture = (name: string): string => readFileSync(join(__dirname, '../../../test/fixtures/os', name), 'utf8');

/** Everything but the property bag, for compact exact comparisons. */
function bare<T extends { properties: Record<string, string> }>(items: T[]): Omit<T, 'properties'>[] {
  return items.map(({ properties: _p, ...rest }) => rest);
}

function throwsWith(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, 'expected an Error');
    for (const p of parts) {
      if (typeof p === 'string') assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} should contain ${JSON.stringify(p)}`);
      else assert.match(e.message, p);
    }
    return true;
  });
}

// ------------------------------------------------------------------------------------------------
// sample specs

test('parseSampleSpec reads pactl sample specifications', () => {
  assert.deepEqual(parseSampleSpec('s16le 2ch 48000Hz'), { format: 's16le', channels: 2, rate: 48000 });
  assert.deepEqual(parseSampleSpec('float32le 2ch 48000Hz'), { format: 'float32le', channels: 2, rate: 48000 });
  assert.deepEqual(parseSampleSpec('s32le 1ch 44100Hz'), { format: 's32le', channels: 1, rate: 44100 });
  assert.deepEqual(parseSampleSpec('s24-32le 6ch 96000Hz'), { format: 's24-32le', channels: 6, rate: 96000 });
});

test('parseSampleSpec rejects what is not a sample specification', () => {
  throwsWith(() => parseSampleSpec('stereo 48 kHz'), 'expected a sample specification like "s16le 2ch 48000Hz"', '"stereo 48 kHz"');
  throwsWith(() => parseSampleSpec('s16le 0ch 48000Hz'), 'no channels');
  throwsWith(() => parseSampleSpec(''), 'expected a sample specification');
});

// ------------------------------------------------------------------------------------------------
// PulseAudio 16.1 (recorded from a private pulseaudio daemon, see test/fixtures/os/README.md)

test('PulseAudio 16.1: info, JSON and text', () => {
  const expected = { serverName: 'pulseaudio', serverVersion: '16.1', isPipeWire: false, defaultSink: 'speakers', defaultSource: 'mic' };
  assert.deepEqual(parsePactlInfoJson(fixture('pulseaudio-16.1-info.json')), expected);
  assert.deepEqual(parsePactlInfoText(fixture('pulseaudio-16.1-info.txt')), expected);
});

test('PulseAudio 16.1: sinks (JSON)', () => {
  const sinks = parsePactlSinksJson(fixture('pulseaudio-16.1-sinks.json'));
  assert.deepEqual(bare(sinks), [
    { index: 0, name: 'speakers', description: 'Speakers', format: 's16le', rate: 48000, channels: 2, monitorSource: 'speakers.monitor', state: 'RUNNING', ownerModule: 1 },
    { index: 1, name: 'hdmi', description: 'Null Output', format: 's16le', rate: 44100, channels: 2, monitorSource: 'hdmi.monitor', state: 'RUNNING', ownerModule: 2 },
  ]);
  assert.deepEqual(sinks[0].properties, { 'device.description': 'Speakers', 'device.class': 'abstract', 'device.icon_name': 'audio-card' });
});

test('PulseAudio 16.1: sources, monitors and a real source (JSON)', () => {
  const sources = parsePactlSourcesJson(fixture('pulseaudio-16.1-sources.json'));
  assert.deepEqual(bare(sources), [
    { index: 0, name: 'speakers.monitor', description: 'Monitor of Speakers', format: 's16le', rate: 48000, channels: 2, state: 'RUNNING', monitorOfSink: 'speakers' },
    { index: 1, name: 'hdmi.monitor', description: 'Monitor of Null Output', format: 's16le', rate: 44100, channels: 2, state: 'IDLE', monitorOfSink: 'hdmi' },
    { index: 2, name: 'mic', description: 'Microphone', format: 'float32le', rate: 48000, channels: 1, state: 'IDLE' },
  ]);
  assert.equal('monitorOfSink' in sources[2], false, 'a non-monitor source has no monitorOfSink key');
  assert.equal(sources[0].properties['device.class'], 'monitor');
});

test('PulseAudio 16.1: sink inputs with app, pid, binary, sink index and cork state (JSON)', () => {
  const inputs = parsePactlSinkInputsJson(fixture('pulseaudio-16.1-sink-inputs.json'));
  assert.deepEqual(bare(inputs), [
    { index: 0, sink: 1, format: 's32le', rate: 44100, channels: 1, appName: 'bellapp', binary: 'pacat', pid: 15681, mediaName: 'chime', corked: false },
    { index: 1, sink: 0, format: 's16le', rate: 48000, channels: 2, appName: 'toneplayer', binary: 'pacat', pid: 15679, mediaName: 'tone', corked: false },
    { index: 2, sink: 0, format: 'float32le', rate: 48000, channels: 2, appName: 'podcastapp', binary: 'corked-client', pid: 15682, mediaName: 'episode', corked: true },
  ]);
  assert.equal(inputs[0].properties['application.process.machine_id'], '00000000000000000000000000000000');
});

test('PulseAudio 16.1: the text listings give exactly what the JSON gives', () => {
  assert.deepEqual(parsePactlSinksText(fixture('pulseaudio-16.1-sinks.txt')), parsePactlSinksJson(fixture('pulseaudio-16.1-sinks.json')));
  assert.deepEqual(parsePactlSourcesText(fixture('pulseaudio-16.1-sources.txt')), parsePactlSourcesJson(fixture('pulseaudio-16.1-sources.json')));
  assert.deepEqual(parsePactlSinkInputsText(fixture('pulseaudio-16.1-sink-inputs.txt')), parsePactlSinkInputsJson(fixture('pulseaudio-16.1-sink-inputs.json')));
});

// ------------------------------------------------------------------------------------------------
// PipeWire 0.3.65 through pipewire-pulse (recorded, see README.md)

test('PipeWire 0.3.65: info, JSON and text', () => {
  const expected = { serverName: 'PulseAudio (on PipeWire 0.3.65)', serverVersion: '15.0.0', isPipeWire: true, defaultSink: 'speakers', defaultSource: 'mic' };
  assert.deepEqual(parsePactlInfoJson(fixture('pipewire-0.3.65-info.json')), expected);
  assert.deepEqual(parsePactlInfoText(fixture('pipewire-0.3.65-info.txt')), expected);
});

test('PipeWire 0.3.65: sinks; indices are object serials, owner modules are pipewire-pulse ids', () => {
  const sinks: Sink[] = parsePactlSinksJson(fixture('pipewire-0.3.65-sinks.json'));
  assert.deepEqual(bare(sinks), [
    { index: 45, name: 'speakers', description: 'Speakers', format: 'float32le', rate: 48000, channels: 2, monitorSource: 'speakers.monitor', state: 'RUNNING', ownerModule: 536870913 },
    { index: 52, name: 'hdmi', description: 'hdmi Audio/Sink sink', format: 'float32le', rate: 44100, channels: 2, monitorSource: 'hdmi.monitor', state: 'RUNNING', ownerModule: 536870914 },
  ]);
  assert.equal(sinks[0].properties['object.serial'], '45');
  assert.equal(sinks[0].properties['object.id'], '43');
});

test('PipeWire 0.3.65: sources; a monitor shares its sink index', () => {
  const sources: Source[] = parsePactlSourcesJson(fixture('pipewire-0.3.65-sources.json'));
  assert.deepEqual(bare(sources), [
    { index: 45, name: 'speakers.monitor', description: 'Monitor of Speakers', format: 'float32le', rate: 48000, channels: 2, state: 'RUNNING', monitorOfSink: 'speakers' },
    { index: 52, name: 'hdmi.monitor', description: 'Monitor of hdmi Audio/Sink sink', format: 'float32le', rate: 44100, channels: 2, state: 'IDLE', monitorOfSink: 'hdmi' },
    { index: 59, name: 'mic', description: 'Microphone', format: 'float32le', rate: 48000, channels: 1, state: 'SUSPENDED' },
  ]);
});

test('PipeWire 0.3.65: sink inputs, including a native PipeWire client without process properties', () => {
  const inputs: SinkInput[] = parsePactlSinkInputsJson(fixture('pipewire-0.3.65-sink-inputs.json'));
  assert.deepEqual(bare(inputs), [
    { index: 67, sink: 45, format: 's16le', rate: 48000, channels: 2, appName: 'toneplayer', binary: 'pacat', pid: 17553, mediaName: 'tone', corked: false },
    { index: 68, sink: 45, format: 'float32le', rate: 48000, channels: 2, appName: 'podcastapp', binary: 'corked-client', pid: 17556, mediaName: 'episode', corked: true },
    { index: 69, sink: 52, format: 's32le', rate: 44100, channels: 1, appName: 'bellapp', binary: 'pacat', pid: 17555, mediaName: 'chime', corked: false },
    { index: 89, sink: 52, format: 's16le', rate: 48000, channels: 2, appName: 'pw-play', mediaName: '/tmp/pw-fixtures-tone.wav', corked: false },
  ]);
  assert.equal(inputs[3].pid, undefined);
  assert.equal(inputs[3].properties['target.object'], 'hdmi');
});

test('PipeWire 0.3.65: the text listings give exactly what the JSON gives', () => {
  assert.deepEqual(parsePactlSinksText(fixture('pipewire-0.3.65-sinks.txt')), parsePactlSinksJson(fixture('pipewire-0.3.65-sinks.json')));
  assert.deepEqual(parsePactlSourcesText(fixture('pipewire-0.3.65-sources.txt')), parsePactlSourcesJson(fixture('pipewire-0.3.65-sources.json')));
  assert.deepEqual(parsePactlSinkInputsText(fixture('pipewire-0.3.65-sink-inputs.txt')), parsePactlSinkInputsJson(fixture('pipewire-0.3.65-sink-inputs.json')));
});

test('PipeWire 1.2.7: pactl info text from a public report', () => {
  assert.deepEqual(parsePactlInfoText(fixture('pipewire-1.2.7-info.txt')), {
    serverName: 'PulseAudio (on PipeWire 1.2.7)',
    serverVersion: '15.0.0',
    isPipeWire: true,
    defaultSink: 'alsa_output.usb-SYC_SA9123_USB_Audio-01.iec958-stereo',
    defaultSource: 'alsa_output.usb-SYC_SA9123_USB_Audio-01.iec958-stereo.monitor',
  });
});

// ------------------------------------------------------------------------------------------------
// text format details

test('text: CRLF line ends and space indentation are accepted', () => {
  const text = fixture('pulseaudio-16.1-sink-inputs.txt');
  const expected = parsePactlSinkInputsText(text);
  assert.deepEqual(parsePactlSinkInputsText(text.replace(/\n/g, '\r\n')), expected);
  assert.deepEqual(parsePactlSinkInputsText(text.replace(/\t/g, '    ')), expected);
});

test('text: escaped quotes in property values are undone; unquoted values are kept', () => {
  const text = [
    'Sink Input #7',
    '\tDriver: protocol-native.c',
    '\tOwner Module: n/a',
    '\tClient: 3',
    '\tSink: 2',
    '\tSample Specification: s16le 2ch 44100Hz',
    '\tCorked: no',
    '\tProperties:',
    '\t\tmedia.name = "say \\"hi\\""',
    '\t\tapplication.name = "Music Player"',
    '\t\tapplication.process.id = "not-a-number"',
    '\t\tapplication.icon = hex:0a0b',
    '',
  ].join('\n');
  const [input] = parsePactlSinkInputsText(text);
  assert.equal(input.mediaName, 'say "hi"');
  assert.equal(input.appName, 'Music Player');
  assert.equal(input.pid, undefined, 'a pid that is not a number is left out');
  assert.equal(input.properties['application.icon'], 'hex:0a0b');
  assert.equal(input.sink, 2);
});

test('text: empty listings are empty arrays', () => {
  assert.deepEqual(parsePactlSinksText(''), []);
  assert.deepEqual(parsePactlSourcesText('\n'), []);
  assert.deepEqual(parsePactlSinkInputsText(''), []);
  assert.deepEqual(parsePactlSinkInputsJson('[]'), []);
});

test('text: a sink with "Owner Module: n/a" has no ownerModule', () => {
  const text = fixture('pulseaudio-16.1-sinks.txt').replace('Owner Module: 1', 'Owner Module: n/a');
  const sinks = parsePactlSinksText(text);
  assert.equal(sinks[0].ownerModule, undefined);
  assert.equal(sinks[1].ownerModule, 2);
});

// ------------------------------------------------------------------------------------------------
// malformed input

test('errors: a localized listing names the expected header, the line and LC_ALL=C', () => {
  const german = fixture('pulseaudio-16.1-sinks.txt').replace('Sink #0', 'Ziel #0');
  throwsWith(() => parsePactlSinksText(german), 'pactl list sinks', 'line 1', '"Sink #N"', 'LC_ALL=C');
  throwsWith(() => parsePactlSinkInputsText(fixture('pulseaudio-16.1-sinks.txt')), 'line 1', '"Sink Input #N"');
  throwsWith(() => parsePactlInfoText('Servername: pulseaudio\nServerversion: 16.1\n'), 'pactl info', '"Server Name:"', 'LC_ALL=C');
});

test('errors: a missing field names it and the block header line', () => {
  const text = fixture('pulseaudio-16.1-sinks.txt').replace('\tSample Specification: s16le 2ch 44100Hz\n', '');
  // the second block ("Sink #1") starts on line 23
  throwsWith(() => parsePactlSinksText(text), 'line 23', 'Sink #1', '"Sample Specification:"');
  const noCorked = fixture('pulseaudio-16.1-sink-inputs.txt').replace('\tCorked: no\n', '');
  throwsWith(() => parsePactlSinkInputsText(noCorked), 'line 1', 'Sink Input #0', '"Corked:"');
});

test('errors: a bad value names what was expected and its line', () => {
  const badSpec = fixture('pulseaudio-16.1-sources.txt').replace('float32le 1ch 48000Hz', 'float32le mono');
  throwsWith(() => parsePactlSourcesText(badSpec), 'line 50', 'expected a sample specification', '"float32le mono"');
  const badCork = fixture('pulseaudio-16.1-sink-inputs.txt').replace('Corked: yes', 'Corked: maybe');
  throwsWith(() => parsePactlSinkInputsText(badCork), 'line 63', '"Corked: yes" or "Corked: no"');
  const badSink = fixture('pulseaudio-16.1-sink-inputs.txt').replace('\tSink: 1\n', '\tSink: hdmi\n');
  throwsWith(() => parsePactlSinkInputsText(badSink), 'line 5', '"Sink:"');
  throwsWith(() => parsePactlSinksText('\tName: x\n'), 'line 1', '"Sink #N" header before indented lines');
  throwsWith(() => parsePactlSinksText('Sink #0\n\tthis is not a field\n'), 'line 2', '"Key: value"');
  throwsWith(() => parsePactlSinksText('Sink #0\n\tProperties:\n\t\tno equals sign here\n'), 'line 3', `'key = "value"'`);
});

test('errors: malformed JSON', () => {
  throwsWith(() => parsePactlSinksJson(''), 'pactl -f json list sinks', 'expected JSON output', 'pactl >= 16');
  throwsWith(() => parsePactlSinksJson('[{"index":0,"balance":0,00}]'), 'expected JSON output', 'LC_ALL=C');
  throwsWith(() => parsePactlSinksJson('{"index":0}'), 'expected a JSON array');
  throwsWith(() => parsePactlSourcesJson('[1]'), 'item 0', 'expected an object');
  throwsWith(() => parsePactlInfoJson('[]'), 'pactl -f json info', 'expected a JSON object');
  throwsWith(() => parsePactlInfoJson('{"server_version":"16.1"}'), '"server_name"');

  const sinks = JSON.parse(fixture('pulseaudio-16.1-sinks.json')) as Record<string, unknown>[];
  delete sinks[1].sample_specification;
  throwsWith(() => parsePactlSinksJson(JSON.stringify(sinks)), 'item 1', '"sample_specification"');

  const inputs = JSON.parse(fixture('pulseaudio-16.1-sink-inputs.json')) as Record<string, unknown>[];
  inputs[0].sink = 'hdmi';
  throwsWith(() => parsePactlSinkInputsJson(JSON.stringify(inputs)), 'item 0', '"sink"');
  inputs[0].sink = 1;
  inputs[2].corked = 'yes';
  throwsWith(() => parsePactlSinkInputsJson(JSON.stringify(inputs)), 'item 2', '"corked"');
  inputs[2].corked = true;
  inputs[1].sample_specification = '16 bit';
  throwsWith(() => parsePactlSinkInputsJson(JSON.stringify(inputs)), 'item 1', 'expected a sample specification');
});

test('JSON: a corrected "monitor_of_sink" key is read too', () => {
  const sources = JSON.parse(fixture('pulseaudio-16.1-sources.json')) as Record<string, unknown>[];
  for (const s of sources) {
    s.monitor_of_sink = s.monitor_source === '' ? null : s.monitor_source;
    s.monitor_source = 'ignored';
  }
  const parsed = parsePactlSourcesJson(JSON.stringify(sources));
  assert.deepEqual(parsed.map((s) => s.monitorOfSink), ['speakers', 'hdmi', undefined]);
});

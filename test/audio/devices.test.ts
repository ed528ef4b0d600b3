import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portAudioDevices, windowsLoopbackNote, type CaptureDevice } from '../../src/audio/devices';
import { pickDevice, parseSourceSpec } from '../../src/session/capture';
import { renderDevices } from '../../src/cli/devices';

// shaped like naudiodon's getHostAPIs()/getDevices() on a Windows PC (WASAPI, MME), recorded by hand from its documented fields
const windowsList = {
  hostApis: { defaultHostAPI: 0, HostAPIs: [{ id: 0, name: 'MME', defaultInput: 1 }, { id: 1, name: 'Windows WASAPI', defaultInput: 5 }] },
  devices: [
    { id: 0, name: 'Microsoft Sound Mapper - Input', maxInputChannels: 2, defaultSampleRate: 44100, hostAPIName: 'MME' },
    { id: 1, name: 'Microphone (Realtek(R) Audio)', maxInputChannels: 2, defaultSampleRate: 44100, hostAPIName: 'MME' },
    { id: 2, name: 'Speakers (Realtek(R) Audio)', maxInputChannels: 0, defaultSampleRate: 44100, hostAPIName: 'MME' },
    { id: 5, name: 'Microphone (Realtek(R) Audio)', maxInputChannels: 1, defaultSampleRate: 48000, hostAPIName: 'Windows WASAPI' },
  ],
};

test('PortAudio devices: inputs only, defaults per host API, ids for --source', () => {
  const d = portAudioDevices(windowsList);
  assert.deepEqual(d.map((x) => [x.id, x.channels, x.rate, x.isDefault, x.kind, x.hostApi]), [
    ['portaudio:0', 2, 44100, false, 'input', 'MME'],
    ['portaudio:1', 2, 44100, true, 'input', 'MME'],
    ['portaudio:5', 1, 48000, true, 'input', 'Windows WASAPI'],
  ]);
});

test('Windows without Stereo Mix: the note says how to get system sound; with it, no note', () => {
  const d = portAudioDevices(windowsList);
  assert.match(windowsLoopbackNote(d, 'win32') ?? '', /Stereo Mix.*Show Disabled Devices.*virtual cable/);
  assert.equal(windowsLoopbackNote(d, 'linux'), undefined);
  const withMix = portAudioDevices({ ...windowsList, devices: [...windowsList.devices, { id: 7, name: 'Stereo Mix (Realtek(R) Audio)', maxInputChannels: 2, defaultSampleRate: 48000, hostAPIName: 'MME' }] });
  assert.equal(withMix.find((x) => x.id === 'portaudio:7')?.kind, 'monitor');
  assert.equal(windowsLoopbackNote(withMix, 'win32'), undefined);
});

const pulseDevs: CaptureDevice[] = [
  { backend: 'pulse', id: 'alsa_output.usb.monitor', name: 'alsa_output.usb.monitor', description: 'Monitor of USB Audio [system sound]', channels: 2, rate: 48000, isDefault: false, kind: 'monitor' },
  { backend: 'pulse', id: 'alsa_input.usb', name: 'alsa_input.usb', description: 'USB Microphone', channels: 1, rate: 48000, isDefault: true, kind: 'input' },
  ...portAudioDevices(windowsList),
];

test('device:QUERY picks by id, then exact name, then a unique substring; ambiguity lists the candidates', () => {
  assert.equal((pickDevice(pulseDevs, 'portaudio:5') as CaptureDevice).rate, 48000);
  assert.equal((pickDevice(pulseDevs, 'alsa_input.usb') as CaptureDevice).kind, 'input');
  assert.equal((pickDevice(pulseDevs, 'usb microphone') as CaptureDevice).id, 'alsa_input.usb');
  assert.equal((pickDevice(pulseDevs, 'Sound Mapper') as CaptureDevice).id, 'portaudio:0');
  assert.equal((pickDevice(pulseDevs, 'microphone') as CaptureDevice[]).length, 3);
  assert.equal(pickDevice(pulseDevs, 'nothing-like-it'), undefined);
});

test('--source specs', () => {
  assert.deepEqual(parseSourceSpec('system'), { kind: 'system' });
  assert.deepEqual(parseSourceSpec('app:firefox', true), { kind: 'app', query: 'firefox', keepLocal: true });
  assert.deepEqual(parseSourceSpec('device:portaudio:3'), { kind: 'device', query: 'portaudio:3' });
  assert.throws(() => parseSourceSpec('mic'), /unknown source "mic"/);
});

test('the devices table names unavailable backends and why', () => {
  const text = renderDevices({ backends: [{ backend: 'pulse', available: true, detail: 'PipeWire 1.0.5' }, { backend: 'portaudio', available: false, detail: 'naudiodon is not installed' }], devices: pulseDevs.slice(0, 2), notes: ['a note'] }, false);
  assert.match(text, /✔ pulse +PipeWire 1.0.5/);
  assert.match(text, /✘ portaudio naudiodon is not installed/);
  assert.match(text, /alsa_input.usb/);
  assert.match(text, /note: a note/);
  assert.match(text, /rtpcast devices --level/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { parseWav } from '../../src/audio/wav';
import { decodeRaw, floatToS16, type PcmFormat } from '../../src/audio/pcm';
import { ToneGenerator } from '../../src/audio/tone';
import { ExitCode, RtpcastError } from '../../src/errors';
import { encodeRaw, exactFrames } from '../../src/audio/sinks/sink';
import { WavFileSink, wavStreamHeader, partialPath, WAV_HEADER_BYTES } from '../../src/audio/sinks/wav-file';
import { RawStdoutSink } from '../../src/audio/sinks/raw-stdout';
import { PlaybackClock, pacatArgs, parsePacatLine, PulseSink } from '../../src/audio/sinks/pulse';
import { floatWavStreamHeader, pwPlayArgs, PwPlaySink } from '../../src/audio/sinks/pipewire';
import { PortAudioSink, PORTAUDIO_OUTPUT_WORKER } from '../../src/audio/sinks/portaudio';
import { chooseSink, createSink, portAudioOutputs, specNeedsDevices, type OutputDeviceList } from '../../src/audio/output-devices';

const F: PcmFormat = { rate: 48000, channels: 2 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'rtpcast-sinks-'));
}

/** What a float becomes in a 16-bit file, read back as float. */
function s16(v: number): number {
  return (Number.isNaN(v) ? 0 : floatToS16(v) + 0) / 32768; // + 0: a file has no -0
}

// ---------------------------------------------------------------------------------------------
// WAV file

test('WAV sink: what parseWav reads back is exactly the written audio rounded to 16 bits; sizes are right', async () => {
  const dir = tmp();
  try {
    const out = join(dir, 'rec.wav');
    const sink = new WavFileSink(out);
    assert.equal(sink.clock, 'timer');
    await sink.open(F);
    const g = new ToneGenerator(F, 630, -3);
    const parts = [g.next(480), g.next(1), g.next(4800 * 3), Float32Array.from([1, -1, 1.5, -1.5, 0.99999, -0.99999, NaN, 1 / 65536, -1 / 65536, 3 / 65536])];
    for (const p of parts) sink.write(p);
    await sink.close();
    const all = Float32Array.from(parts.flatMap((p) => Array.from(p)));
    const buf = readFileSync(out);
    const frames = all.length / 2;
    assert.equal(buf.length, WAV_HEADER_BYTES + frames * 4);
    assert.equal(buf.toString('latin1', 0, 4), 'RIFF');
    assert.equal(buf.readUInt32LE(4), buf.length - 8, 'RIFF size');
    assert.equal(buf.readUInt32LE(76), frames * 4, 'data size');
    const pcm = parseWav(buf);
    assert.equal(pcm.rate, 48000);
    assert.equal(pcm.channels, 2);
    assert.equal(pcm.samples.length, all.length);
    for (let i = 0; i < all.length; i++) assert.equal(pcm.samples[i], s16(all[i]), `sample ${i} (${all[i]})`);
    // the clipping and rounding at the edges, spelled out (halves round up, as in encodeWavS16: -0.5 LSB -> 0)
    const tail = pcm.samples.subarray(pcm.samples.length - 10);
    assert.deepEqual(Array.from(tail).map((v) => v * 32768), [32767, -32768, 32767, -32768, 32767, -32768, 0, 1, 0, 2]);
    assert.equal(sink.stats().frames, frames);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAV sink: atomic — nothing at the target until close (an old file stays intact), the partial file is gone after', async () => {
  const dir = tmp();
  try {
    const out = join(dir, 'take.wav');
    writeFileSync(out, 'previous recording');
    const sink = new WavFileSink(out);
    await sink.open({ rate: 8000, channels: 1 });
    sink.write(new Float32Array(8000).fill(0.25));
    await sleep(50);
    assert.equal(readFileSync(out, 'utf8'), 'previous recording', 'the target is untouched while recording');
    assert.ok(existsSync(sink.tempPath), 'the recording grows in the partial file');
    assert.match(sink.tempPath, /take\.partial-[0-9a-f]{8}\.wav$/);
    assert.equal(partialPath(join(dir, 'x.WAV'), 'abcd1234'), join(dir, 'x.partial-abcd1234.wav'));
    await sink.close();
    assert.deepEqual(readdirSync(dir), ['take.wav'], 'only the target remains');
    const pcm = parseWav(readFileSync(out));
    assert.equal(pcm.samples.length, 8000);
    assert.equal(pcm.samples[0], 0.25);
    await sink.close(); // twice is harmless
    assert.throws(() => sink.write(new Float32Array(2)), /after close/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAV sink: while recording, the header is kept up to date, so a killed recording is a valid WAV of what was written', async () => {
  const dir = tmp();
  try {
    const out = join(dir, 'live.wav');
    const sink = new WavFileSink(out, { headerEveryMs: 40 });
    await sink.open(F);
    const g = new ToneGenerator(F, 440, -6);
    const first = g.next(4800);
    sink.write(first);
    await sleep(150); // a header update
    const mid = readFileSync(sink.tempPath);
    assert.equal(mid.readUInt32LE(76), 4800 * 4, 'data size in the header = audio on disk');
    assert.equal(mid.readUInt32LE(4), mid.length - 8, 'RIFF size');
    const pcm = parseWav(mid);
    assert.equal(pcm.samples.length, first.length);
    for (let i = 0; i < first.length; i += 97) assert.equal(pcm.samples[i], s16(first[i]));
    sink.write(g.next(100));
    await sink.close();
    assert.equal(parseWav(readFileSync(out)).samples.length, 4900 * 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAV sink: an empty recording is a valid empty WAV; a folder that does not exist is an RtpcastError', async () => {
  const dir = tmp();
  try {
    const out = join(dir, 'empty.wav');
    const sink = new WavFileSink(out);
    await sink.open(F);
    await sink.close();
    const pcm = parseWav(readFileSync(out));
    assert.equal(pcm.samples.length, 0);
    const bad = new WavFileSink(join(dir, 'no', 'such', 'dir', 'x.wav'));
    await assert.rejects(bad.open(F), (e: unknown) => e instanceof RtpcastError && /folder .* does not exist/.test(e.message));
    await bad.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAV header: past 4 GiB it becomes RF64 (ds64 in the JUNK room) that parseWav reads', () => {
  const small = wavStreamHeader(F, 400);
  assert.equal(small.toString('latin1', 12, 16), 'JUNK');
  const big = 5 * 1024 ** 3;
  const h = wavStreamHeader(F, big);
  assert.equal(h.toString('latin1', 0, 4), 'RF64');
  assert.equal(h.readUInt32LE(4), 0xffffffff);
  assert.equal(h.toString('latin1', 12, 16), 'ds64');
  assert.equal(h.readUInt32LE(28) + h.readUInt32LE(32) * 2 ** 32, big, 'ds64 data size');
  assert.equal(h.readUInt32LE(76), 0xffffffff);
  // parseWav: the declared size is beyond the buffer, so it reads the data present
  const data = Buffer.alloc(16);
  data.writeInt16LE(1000, 0);
  const pcm = parseWav(Buffer.concat([h, data]));
  assert.equal(pcm.samples.length, 8);
  assert.equal(pcm.samples[0], 1000 / 32768);
  // a forced RF64 with the exact size reads exactly
  const exact = parseWav(Buffer.concat([wavStreamHeader(F, 8, true), data]));
  assert.equal(exact.samples.length, 4);
});

// ---------------------------------------------------------------------------------------------
// raw stdout

function collect(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const parts: Buffer[] = [];
  stream.on('data', (b: Buffer) => parts.push(b));
  return { stream, bytes: () => Buffer.concat(parts) };
}

test('stdout sink: s16le, s16be and f32le bytes, whole frames only', async () => {
  const x = Float32Array.from([0.5, -0.5, 1, -1, 0.123, 2]);
  for (const fmt of ['s16le', 's16be', 'f32le'] as const) {
    const c = collect();
    const sink = new RawStdoutSink(fmt, c.stream);
    assert.equal(sink.clock, 'timer');
    await sink.open(F);
    sink.write(x);
    sink.write(Float32Array.from([0.25, 0.25, 0.75])); // a frame and a half: the half is dropped
    await sink.close();
    await sleep(5);
    const b = c.bytes();
    const bps = fmt === 'f32le' ? 4 : 2;
    assert.equal(b.length, 8 * bps, fmt);
    const back = decodeRaw(b, fmt);
    const want = [0.5, -0.5, 1, -1, 0.123, 2, 0.25, 0.25];
    for (let i = 0; i < want.length; i++) assert.equal(back[i], fmt === 'f32le' ? Math.fround(want[i]) : s16(want[i]), `${fmt} sample ${i}`);
    assert.equal(sink.stats().frames, 4);
  }
  // byte order spelled out: 0.5 -> 16384 = 0x4000
  assert.deepEqual([...encodeRaw(Float32Array.of(0.5), 's16le')], [0x00, 0x40]);
  assert.deepEqual([...encodeRaw(Float32Array.of(0.5), 's16be')], [0x40, 0x00]);
  assert.deepEqual([...encodeRaw(Float32Array.of(0.5), 'f32le')], [0, 0, 0, 0x3f]);
});

test('stdout sink: the reader going away (EPIPE) is one RtpcastError through onError, later writes are dropped', async () => {
  let writes = 0;
  const out = new Writable({
    write(_c, _e, cb) {
      writes++;
      const e = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
      cb(e);
    },
  });
  const sink = new RawStdoutSink('s16le', out);
  const errors: Error[] = [];
  sink.onError((e) => errors.push(e));
  await sink.open(F);
  sink.write(new Float32Array(4));
  await sleep(5);
  sink.write(new Float32Array(4));
  await sleep(5);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof RtpcastError);
  assert.match(errors[0].message, /reading standard output closed it/);
  assert.equal(writes, 1);
  await sink.close();
});

test('stdout sink: a terminal on stdout is refused with the command to pipe it into', async () => {
  const tty = Object.assign(new PassThrough(), { isTTY: true });
  await assert.rejects(new RawStdoutSink('s16le', tty).open(F), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.usage && /aplay -f S16_LE -r 48000 -c 2/.test(e.hint ?? ''));
});

test('exactFrames pads or cuts a pull answer to the frames asked for', () => {
  assert.deepEqual(Array.from(exactFrames(Float32Array.of(1, 2), 2, 2)), [1, 2, 0, 0]);
  assert.deepEqual(Array.from(exactFrames(Float32Array.of(1, 2, 3, 4, 5, 6), 1, 2)), [1, 2]);
  assert.deepEqual(Array.from(exactFrames(undefined, 1, 1)), [0]);
  const same = Float32Array.of(1, 2);
  assert.equal(exactFrames(same, 1, 2), same);
});

// ---------------------------------------------------------------------------------------------
// sound server: pure parts

test('pacat: arguments, and the verbose lines the sink lives on', () => {
  assert.deepEqual(pacatArgs(F, { device: 'speakers', latencyMs: 20 }), [
    '--playback', '--raw', '--format=float32le', '--rate=48000', '--channels=2', '--latency-msec=20', '--client-name=rtpcast', '--stream-name=rtpcast play', '--verbose', '--device=speakers',
  ]);
  // recorded from pacat 16.1 --verbose (C locale)
  assert.deepEqual(parsePacatLine('Time: 2.954 sec; Latency: 46092 usec.        '), { kind: 'time', seconds: 2.954, latencyUs: 46092 });
  assert.deepEqual(parsePacatLine('Stream successfully created.'), { kind: 'created' });
  assert.deepEqual(parsePacatLine('Connected to device speakers (index: 0, suspended: no).'), { kind: 'connected', device: 'speakers' });
  assert.deepEqual(parsePacatLine('Stream started.\x1b[K'), { kind: 'started' });
  assert.deepEqual(parsePacatLine('Stream underrun.\x1b[K'), { kind: 'underrun' });
  assert.deepEqual(parsePacatLine('Stream error: No such entity'), { kind: 'error', message: 'Stream error: No such entity' });
  assert.deepEqual(parsePacatLine('pa_context_connect() failed: Connection refused'), { kind: 'error', message: 'pa_context_connect() failed: Connection refused' });
  assert.equal(parsePacatLine('Buffer metrics: maxlength=4194304, tlength=14400, prebuf=9608, minreq=4800'), undefined);
});

test('PlaybackClock: extrapolates only while the device advances, at most 100 ms, never backwards', () => {
  const c = new PlaybackClock(1000);
  assert.equal(c.position(0), 0);
  c.report(0, 0);
  assert.equal(c.position(40), 0, 'not started: no extrapolation');
  c.started(50);
  assert.equal(c.position(80), 30, '"Stream started." starts the clock');
  c.report(0.05, 100);
  assert.equal(c.position(100), 50);
  c.report(0.1, 150);
  assert.equal(c.position(170), 120);
  assert.equal(c.position(1000), 200, 'a stalled device: 100 ms at most past the last report');
  c.report(0.15, 1000);
  assert.equal(c.position(1000), 200, 'never backwards');
  c.report(0.15, 1050);
  assert.equal(c.position(1100), 200, 'standing still: no extrapolation');
});

test('pw-play: arguments, and the float WAV stream header it reads from stdin', () => {
  assert.deepEqual(pwPlayArgs(F, { device: 'speakers', latencyMs: 40 }).slice(0, 8), ['--rate', '48000', '--channels', '2', '--format', 'f32', '--latency', '40ms']);
  assert.deepEqual(pwPlayArgs(F, { device: 'speakers' }).slice(-3), ['--target', 'speakers', '-']);
  const h = floatWavStreamHeader(F);
  const pcm = parseWav(Buffer.concat([h, Buffer.from(Float32Array.of(0.5, -0.25).buffer)]));
  assert.deepEqual([pcm.rate, pcm.channels, ...pcm.samples], [48000, 2, 0.5, -0.25]);
});

// ---------------------------------------------------------------------------------------------
// choosing the output

const linuxPa = {
  hostApis: { defaultHostAPI: 0, HostAPIs: [{ id: 0, name: 'ALSA', defaultOutput: 1 }, { id: 1, name: 'OSS', defaultOutput: -1 }] },
  devices: [
    { id: 0, name: 'pulse', maxOutputChannels: 32, defaultSampleRate: 44100, hostAPIName: 'ALSA' },
    { id: 1, name: 'default', maxOutputChannels: 32, defaultSampleRate: 44100, hostAPIName: 'ALSA' },
    { id: 2, name: 'USB Mic', maxOutputChannels: 0, defaultSampleRate: 48000, hostAPIName: 'ALSA' },
    { id: 3, name: 'HDA Intel PCH: ALC892 Analog (hw:0,0)', maxOutputChannels: 8, defaultSampleRate: 48000, hostAPIName: 'ALSA' },
  ],
};

function outputs(o: { pa?: boolean; server?: boolean } = {}): OutputDeviceList {
  const pa = o.pa ?? true;
  const server = o.server ?? true;
  return {
    backends: [
      { backend: 'pulse', available: server, detail: server ? 'PulseAudio 16.1, played with pacat' : 'no sound server tools' },
      { backend: 'portaudio', available: pa, detail: pa ? 'PortAudio via naudiodon (ALSA)' : 'naudiodon is not installed' },
    ],
    devices: [
      ...(server
        ? [
            { backend: 'pulse' as const, id: 'alsa_output.pci-0000_00_1f.3.analog-stereo', name: 'alsa_output.pci-0000_00_1f.3.analog-stereo', description: 'Built-in Audio Analog Stereo', channels: 2, rate: 48000, isDefault: true },
            { backend: 'pulse' as const, id: 'bluez_sink.00_11.a2dp_sink', name: 'bluez_sink.00_11.a2dp_sink', description: 'WH-1000XM4', channels: 2, rate: 44100, isDefault: false },
          ]
        : []),
      ...(pa ? portAudioOutputs(linuxPa) : []),
    ],
  };
}

test('PortAudio outputs: devices with output channels, the default host API default marked', () => {
  const d = portAudioOutputs(linuxPa);
  assert.deepEqual(d.map((x) => [x.id, x.name, x.channels, x.rate, x.isDefault]), [
    ['portaudio:0', 'pulse', 2, 44100, false],
    ['portaudio:1', 'default', 2, 44100, true],
    ['portaudio:3', 'HDA Intel PCH: ALC892 Analog (hw:0,0)', 2, 48000, false],
  ]);
});

test('--out: files and stdout need no device list; the default is the sound server on Linux (then PortAudio), PortAudio on Windows and macOS, else says what exists', () => {
  assert.deepEqual(chooseSink('-', undefined), { kind: 'stdout' });
  assert.deepEqual(chooseSink('out/take 1.WAV', undefined), { kind: 'wav', path: 'out/take 1.WAV' });
  assert.equal(specNeedsDevices('x.wav'), false);
  assert.equal(specNeedsDevices('-'), false);
  assert.equal(specNeedsDevices(undefined), true);
  assert.equal(specNeedsDevices('device:pulse'), true);
  assert.deepEqual(chooseSink(undefined, outputs(), 'win32'), { kind: 'portaudio', deviceId: 1, label: 'default (PortAudio ALSA)' });
  assert.deepEqual(chooseSink(undefined, outputs(), 'darwin'), { kind: 'portaudio', deviceId: 1, label: 'default (PortAudio ALSA)' });
  assert.equal(chooseSink(undefined, outputs(), 'linux').kind, 'pulse', 'Linux: the sound server first (PortAudio through ALSA "pulse" adds latency)');
  assert.deepEqual(chooseSink(undefined, outputs({ server: false }), 'linux'), { kind: 'portaudio', deviceId: 1, label: 'default (PortAudio ALSA)' });
  const noPa = chooseSink(undefined, outputs({ pa: false }));
  assert.equal(noPa.kind, 'pulse');
  assert.equal((noPa as { device?: string }).device, undefined, 'the server default sink (it follows the user changing it)');
  assert.match((noPa as { label: string }).label, /Built-in Audio/);
  assert.throws(
    () => chooseSink(undefined, outputs({ pa: false, server: false })),
    (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.missingProgram && /no audio output is available/.test(e.message) && /naudiodon is not installed/.test(e.message) && /pulseaudio-utils/.test(e.hint ?? ''),
  );
  assert.throws(() => chooseSink('take.mp3', outputs()), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.usage);
});

test('--out device:ID: exact id, exact name, a unique part of a description; ambiguity and unknowns are errors listing the outputs', () => {
  const l = outputs();
  assert.deepEqual(chooseSink('device:portaudio:3', l), { kind: 'portaudio', deviceId: 3, label: 'HDA Intel PCH: ALC892 Analog (hw:0,0) (PortAudio ALSA)' });
  assert.deepEqual(chooseSink('device:bluez_sink.00_11.a2dp_sink', l), { kind: 'pulse', device: 'bluez_sink.00_11.a2dp_sink', label: 'WH-1000XM4 (bluez_sink.00_11.a2dp_sink) (sound server)' });
  assert.equal((chooseSink('device:pulse', l) as { deviceId: number }).deviceId, 0, 'exact name: the ALSA "pulse" device');
  assert.equal((chooseSink('device:wh-1000', l) as { device: string }).device, 'bluez_sink.00_11.a2dp_sink');
  assert.throws(() => chooseSink('device:a', l), /matches \d+ outputs/);
  assert.throws(() => chooseSink('device:hdmi', l), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.usage && /device:alsa_output/.test(e.message));
  assert.throws(() => chooseSink('device:portaudio:3', outputs({ pa: false })), /no output matches/);
  assert.deepEqual(chooseSink('pulse', l).kind, 'pulse');
  assert.deepEqual(chooseSink('portaudio', l).kind, 'portaudio');
  assert.throws(() => chooseSink('portaudio', outputs({ pa: false })), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.missingProgram);
});

test('createSink builds the chosen sink, unopened, and lists devices only when it must', async () => {
  let listed = 0;
  const list = async () => {
    listed++;
    return outputs();
  };
  assert.ok((await createSink('-', F, { list, rawFormat: 'f32le' })) instanceof RawStdoutSink);
  assert.ok((await createSink('a.wav', F, { list })) instanceof WavFileSink);
  assert.equal(listed, 0);
  assert.ok((await createSink(undefined, F, { list })) instanceof (process.platform === 'linux' ? PulseSink : PortAudioSink), 'the platform default (chooseSink)');
  assert.ok((await createSink('pulse', F, { list })) instanceof PulseSink);
  assert.ok((await createSink('device:wh-1000', F, { list })) instanceof PulseSink);
  assert.ok((await createSink(undefined, F, { list: async () => ({ ...outputs({ pa: false }), backends: [{ backend: 'pipewire', available: true, detail: 'PipeWire, played with pw-play' }] }) })) instanceof PwPlaySink);
  assert.equal(listed, 3);
  const s = await createSink(undefined, F, { list });
  assert.equal(s.clock, 'device');
  await assert.rejects(createSink('-', { rate: 0, channels: 2 }, { list }), /cannot play 0 Hz/);
});

test('PortAudio sink without naudiodon: open() is an RtpcastError (missing program) that points to the sound server', async () => {
  const dir = tmp();
  try {
    // the worker alone, where no node_modules can be found: require("naudiodon") fails as on a machine without it
    const worker = join(dir, 'portaudio-output-worker.js');
    copyFileSync(PORTAUDIO_OUTPUT_WORKER, worker);
    const sink = new PortAudioSink(-1, 'default', { worker });
    await assert.rejects(sink.open(F), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.missingProgram && /PortAudio output is unavailable/.test(e.message) && /sound server/.test(e.hint ?? ''));
    await sink.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sound-server sinks without their program: open() is an RtpcastError (missing program) with the install command', async () => {
  const pacat = new PulseSink({ pacat: '/nonexistent/pacat' });
  await assert.rejects(pacat.open(F), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.missingProgram && /pacat is not installed/.test(e.message) && /apt install pulseaudio-utils/.test(e.hint ?? ''));
  await pacat.close();
  const pw = new PwPlaySink({ pwPlay: '/nonexistent/pw-play' });
  await assert.rejects(pw.open(F), (e: unknown) => e instanceof RtpcastError && e.exitCode === ExitCode.missingProgram && /pipewire-bin/.test(e.hint ?? ''));
  await pw.close();
});

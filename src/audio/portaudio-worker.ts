/**
 * PortAudio (naudiodon) in a process of its own. The native library prints pages of ALSA/JACK
 * probing noise on stderr and can crash the process; here it does neither to rtpcast.
 *   node portaudio-worker.js list                          -> JSON { hostApis, devices } on stdout
 *   node portaudio-worker.js capture ID RATE CHANNELS      -> raw float32le PCM on file descriptor 3
 * (not stdout: naudiodon printf()s "Input device name is ..." to the C stdout, which would
 * corrupt the PCM stream).
 * Exit code 3 with a message on stdout when naudiodon cannot be loaded.
 */
type Naudiodon = {
  getDevices(): Array<{ id: number; name: string; maxInputChannels: number; maxOutputChannels: number; defaultSampleRate: number; hostAPIName: string; defaultLowInputLatency: number }>;
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: Array<{ id: number; name: string; type: string; deviceCount: number; defaultInput: number; defaultOutput: number }> };
  AudioIO: new (o: object) => NodeJS.ReadableStream & { start(): void; quit(cb?: () => void): void; on(e: string, f: (...a: unknown[]) => void): void };
  SampleFormatFloat32: number;
};

function load(): Naudiodon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('naudiodon') as Naudiodon;
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: (e as Error).message.split('\n')[0] }));
    process.exit(3);
  }
}

process.env.JACK_NO_START_SERVER = '1';
const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'list') {
  const pa = load();
  const apis = pa.getHostAPIs();
  process.stdout.write(JSON.stringify({ hostApis: apis, devices: pa.getDevices() }));
} else if (cmd === 'capture') {
  const pa = load();
  const [id, rate, channels] = args.map(Number);
  const io = new pa.AudioIO({ inOptions: { channelCount: channels, sampleFormat: pa.SampleFormatFloat32, sampleRate: rate, deviceId: id, closeOnError: false, framesPerBuffer: Math.round(rate / 100) } });
  io.on('error', (e) => {
    process.stderr.write(`rtpcast-portaudio: ${String((e as Error).message ?? e)}\n`);
    process.exit(1);
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const out = (require('node:fs') as typeof import('node:fs')).createWriteStream('', { fd: 3 });
  io.pipe(out);
  const stop = () => io.quit(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  out.on('error', stop); // the reader went away
  io.start();
} else {
  process.stderr.write('usage: portaudio-worker list | capture ID RATE CHANNELS\n');
  process.exit(2);
}

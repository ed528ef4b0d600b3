/**
 * PortAudio (naudiodon) playback in a process of its own, for the same reasons as
 * portaudio-worker.ts (probing noise on stderr, printf()s on stdout, native crashes).
 *
 *   node portaudio-output-worker.js play DEVICE_ID RATE CHANNELS FRAMES_PER_BUFFER PREFETCH
 *
 * Pull model. The device's clock drives everything:
 * - naudiodon's audio callback takes chunks from a native queue of 2 (`maxQueue`); a chunk
 *   written to the AudioIO stream is accepted into that queue only when there is room, i.e. when
 *   the callback has taken one. So "a write completed" means "the device consumed a chunk".
 * - The worker keeps PREFETCH chunks of FRAMES_PER_BUFFER frames on their way (asked for and not
 *   yet accepted by the native queue): each completion asks the parent for one more chunk. The
 *   device therefore holds 2 queued chunks + the one playing, and PREFETCH more are in the
 *   worker or in flight: the parent may answer (PREFETCH - 1 + 2) chunks late before the device
 *   starves (with the sink's defaults, 20 ms chunks and PREFETCH 2: 60 ms).
 * - Stream start waits until the native queue is full, so playback starts without an underrun.
 *
 * File descriptors: 3 carries float32le PCM from the parent (exactly what was asked for, in
 * order); 4 carries control lines to the parent:
 *   ready {"device":NAME,"framesPerBuffer":N,"latencyFrames":N}  the device is open
 *   need N                                                        send N more frames
 *   started                                                       the stream runs
 *   error MESSAGE / missing MESSAGE                               then exit 1 / 3
 * stdout is left to naudiodon's printf()s ("AudioIO: portAudio status - output underflow" on
 * every device underrun, which the parent counts); stderr to ALSA/JACK probing noise.
 * The worker stops (playing what the device already holds) on SIGTERM or when fd 3 closes.
 */
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';

type Naudiodon = {
  getDevices(): Array<{ id: number; name: string; maxOutputChannels: number }>;
  getHostAPIs(): { defaultHostAPI: number; HostAPIs: Array<{ id: number; defaultOutput: number }> };
  AudioIO: new (o: object) => NodeJS.WritableStream & { start(): void; quit(cb?: () => void): void; on(e: string, f: (...a: unknown[]) => void): void; write(b: Buffer, cb: (e?: unknown) => void): boolean };
  SampleFormatFloat32: number;
};

process.env.JACK_NO_START_SERVER = '1';
const MAX_QUEUE = 2;
const control = new Socket({ fd: 4, readable: false, writable: true });
control.on('error', () => process.exit(0)); // the parent went away
const send = (line: string) => control.write(line + '\n');

function die(kind: 'error' | 'missing', message: string, code: number): never {
  try {
    writeSync(4, `${kind} ${message.replace(/\s+/g, ' ')}\n`);
  } catch {
    /* the parent went away */
  }
  process.exit(code);
}

function load(): Naudiodon {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('naudiodon') as Naudiodon;
  } catch (e) {
    return die('missing', (e as Error).message.split('\n')[0], 3);
  }
}

function play(args: string[]): void {
  const [id, rate, channels, framesPerBuffer, prefetch] = args.map(Number);
  if (![id, rate, channels, framesPerBuffer, prefetch].every(Number.isInteger) || rate <= 0 || channels <= 0 || framesPerBuffer <= 0 || prefetch < 1) {
    die('error', `bad arguments: ${args.join(' ')}`, 2);
  }
  const pa = load();
  const devices = pa.getDevices();
  const deviceId = id >= 0 ? id : pa.getHostAPIs().HostAPIs.find((h) => h.id === pa.getHostAPIs().defaultHostAPI)?.defaultOutput ?? -1;
  const dev = devices.find((d) => d.id === deviceId);
  if (!dev) die('error', id >= 0 ? `no PortAudio device ${id}` : 'PortAudio has no default output device', 1);
  if (dev.maxOutputChannels < channels) die('error', `${dev.name} has ${dev.maxOutputChannels} output channels, ${channels} needed`, 1);
  let io: InstanceType<Naudiodon['AudioIO']>;
  try {
    io = new pa.AudioIO({ outOptions: { channelCount: channels, sampleFormat: pa.SampleFormatFloat32, sampleRate: rate, deviceId, closeOnError: false, framesPerBuffer, maxQueue: MAX_QUEUE } });
  } catch (e) {
    return die('error', `${dev.name}: ${(e as Error).message}`, 1);
  }
  io.on('error', (e) => die('error', String((e as Error)?.message ?? e), 1));
  const chunkBytes = framesPerBuffer * channels * 4;
  // what is ahead of a chunk the parent sends: PREFETCH - 1 chunks in the worker, the native
  // queue, the chunk playing, and the host buffer (PortAudio's ALSA minimum: 2 periods)
  send(`ready ${JSON.stringify({ device: dev.name, framesPerBuffer, latencyFrames: (prefetch - 1 + MAX_QUEUE + 1 + 2) * framesPerBuffer })}`);

  let outstanding = 0; // chunks asked for and not yet accepted by the native queue
  let accepted = 0;
  let started = false;
  let stopping = false;
  const topUp = () => {
    const n = prefetch - outstanding;
    if (n > 0 && !stopping) {
      outstanding += n;
      send(`need ${n * framesPerBuffer}`);
    }
  };
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 1000).unref();
    if (started) io.quit(() => process.exit(0));
    else process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const pcm = new Socket({ fd: 3, readable: true, writable: false });
  let carry: Buffer = Buffer.alloc(0);
  pcm.on('data', (b: Buffer) => {
    let all = carry.length ? Buffer.concat([carry, b]) : b;
    while (all.length >= chunkBytes) {
      const chunk = Buffer.from(all.subarray(0, chunkBytes));
      all = all.subarray(chunkBytes);
      io.write(chunk, () => {
        outstanding--;
        accepted++;
        if (!started && accepted >= MAX_QUEUE && !stopping) {
          started = true;
          try {
            io.start();
          } catch (e) {
            die('error', `${dev.name}: ${(e as Error).message}`, 1);
          }
          send('started');
        }
        topUp();
      });
    }
    carry = Buffer.from(all);
  });
  pcm.on('end', stop);
  pcm.on('error', stop);
  topUp();
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'play') play(rest);
else {
  process.stderr.write('usage: portaudio-output-worker play DEVICE_ID RATE CHANNELS FRAMES_PER_BUFFER PREFETCH\n');
  process.exit(2);
}

/**
 * A receiver that records each RTP packet's kernel receive timestamp (SO_TIMESTAMPNS). On
 * loopback the kernel takes it inside the sender's sendmsg, so it is the departure time, whatever
 * the receiver's own scheduling: the way to measure a sender's pacing on a loaded machine. Python
 * (Node cannot read SO_TIMESTAMPNS). Stops 1.5 s after the last packet, or after `maxSeconds`.
 */
import type { Procs, Proc } from './procs';
import { requireProgram } from './peers';

const PY = String.raw`
import json, select, socket, struct, sys, time
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
port, limit = int(sys.argv[1]), float(sys.argv[2])
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
a.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
a.bind(('127.0.0.1', port))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(('127.0.0.1', port + 1))
K, TS, SQ = [], [], []
def drain():
    while True:
        try:
            data, anc, _f, _a = a.recvmsg(4096, 64, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
        k = None
        for lvl, typ, d in anc:
            if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                sec, ns = struct.unpack('qq', d[:16]); k = sec * 1000000000 + ns
        if len(data) < 12 or k is None: continue
        seq, ts = struct.unpack_from('!HI', data, 2)
        K.append(k); TS.append(ts); SQ.append(seq)
print('READY', flush=True)
end = time.monotonic() + limit
last = None
while time.monotonic() < end:
    r, _w, _x = select.select([a, b], [], [], 0.2)
    if a in r:
        drain(); last = time.monotonic()
    if b in r:
        try:
            while True: b.recv(4096, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError): pass
    if last is not None and time.monotonic() - last > 1.5:
        break
drain()
k0 = K[0] if K else 0
sys.stdout.write(json.dumps({'kernelNs': [x - k0 for x in K], 'timestamps': TS, 'sequences': SQ}) + '\n')
`;

export interface KernelStamps {
  /** kernel receive time of each RTP packet, ns from the first */
  kernelNs: number[];
  timestamps: number[];
  sequences: number[];
}

/** Starts the receiver on 127.0.0.1:port (RTCP on port + 1 is read and ignored); resolves once bound. */
export async function startKernelStamps(procs: Procs, port: number, maxSeconds: number): Promise<{ proc: Proc; stop(): Promise<KernelStamps> }> {
  const python = requireProgram('python3');
  const proc = procs.start([python, '-c', PY, String(port), String(maxSeconds)]);
  const deadline = Date.now() + 10_000;
  while (!/READY/.test(proc.stdout)) {
    if (!proc.running || Date.now() > deadline) throw new Error(`the kernel-timestamp receiver did not start:\n${proc.describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    async stop() {
      const r = await proc.waitExit((maxSeconds + 5) * 1000);
      if (!r || r.code !== 0) throw new Error(`the kernel-timestamp receiver failed:\n${proc.describe()}`);
      const line = proc.stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line) throw new Error(`the kernel-timestamp receiver printed no result:\n${proc.describe()}`);
      return JSON.parse(line) as KernelStamps;
    },
  };
}

/**
 * Child processes for the interop tests: always argument arrays (no shell), each in its own
 * process group so that cleanup reaches everything a peer started (runuser -> cvlc, ip netns
 * exec -> ffmpeg), output collected for failure messages, every wait bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_OUTPUT = 64 * 1024;

/** Every group still alive, killed with SIGKILL if this test process exits without cleaning up. */
const live = new Set<number>();
process.on('exit', () => {
  for (const pgid of live) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

function keepTail(acc: string, chunk: Buffer): string {
  const s = acc + chunk.toString('utf8');
  return s.length > MAX_OUTPUT ? s.slice(s.length - MAX_OUTPUT) : s;
}

/** A running program. */
export class Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  private out = '';
  private err = '';
  private exitInfo?: ExitInfo;
  readonly exited: Promise<ExitInfo>;

  constructor(
    readonly argv: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
  ) {
    this.child = spawn(argv[0], argv.slice(1), {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group (and session): kill(-pid) reaches its children
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (e.g. ENOENT); 'error' follows.
      this.pid = -1;
    } else {
      this.pid = this.child.pid;
      live.add(this.pid);
    }
    this.child.stdout!.on('data', (b: Buffer) => (this.out = keepTail(this.out, b)));
    this.child.stderr!.on('data', (b: Buffer) => (this.err = keepTail(this.err, b)));
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.on('error', (e) => {
        this.err += `\n[spawn error: ${e.message}]`;
        live.delete(this.pid);
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
      this.child.on('close', (code, signal) => {
        live.delete(this.pid);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  get stdout(): string {
    return this.out;
  }
  get stderr(): string {
    return this.err;
  }
  get running(): boolean {
    return this.exitInfo === undefined;
  }
  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** Signals the whole process group. */
  signal(sig: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      /* group gone */
    }
  }

  /** Waits for the exit at most `ms`; undefined on time-out. */
  async waitExit(ms: number): Promise<ExitInfo | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops the program: `sig` to the group (SIGINT lets ffmpeg and gst-launch -e finish their
   * files; SIGTERM makes VLC quit cleanly), then SIGKILL to the group after `graceMs`.
   * The group is SIGKILLed at the end in any case, so nothing it started survives.
   */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<ExitInfo> {
    if (this.running) {
      this.signal(sig);
      const r = await this.waitExit(graceMs);
      if (!r) this.err += `\n[did not exit within ${graceMs} ms of ${sig}: killed]`;
    }
    this.signal('SIGKILL');
    return this.exited;
  }

  describe(): string {
    const e = this.exitInfo;
    const how = !e ? 'still running' : e.signal ? `killed by ${e.signal}` : `exit code ${e.code}`;
    return `$ ${this.argv.join(' ')}\n(${how})\n--- stderr ---\n${this.err.trim() || '(empty)'}${this.out.trim() ? `\n--- stdout ---\n${this.out.trim()}` : ''}`;
  }
}

/** Processes started by one test; `cleanup()` (from t.after / finally) stops them all. */
export class Procs {
  private readonly all: Proc[] = [];

  start(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
    const p = new Proc(argv, opts);
    this.all.push(p);
    return p;
  }

  /** Runs a program to its end, bounded: on time-out it is killed and the promise rejects. */
  async run(argv: readonly string[], timeoutMs: number, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Proc> {
    const p = this.start(argv, opts);
    const r = await p.waitExit(timeoutMs);
    if (!r) {
      await p.stop('SIGKILL', 1000);
      throw new Error(`timed out after ${timeoutMs} ms:\n${p.describe()}`);
    }
    return p;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.all.map((p) => p.stop('SIGTERM', 2000)));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `ss` output for UDP sockets bound to `port` (argv prefix: e.g. `ip netns exec NS`). */
export function udpListeners(port: number, prefix: readonly string[] = []): string {
  const argv = [...prefix, 'ss', '-H', '-u', '-l', '-n', '-p', `sport = :${port}`];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 5000 });
  if (r.error) throw new Error(`cannot run ${argv.join(' ')}: ${r.error.message} (ss is in the iproute2 package: sudo apt-get install iproute2)`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}

/** Fails when something already holds the UDP port (a leftover receiver would falsify a test). */
export function assertUdpPortFree(port: number, prefix: readonly string[] = []): void {
  const l = udpListeners(port, prefix);
  if (l) throw new Error(`UDP port ${port} is already in use, so the test cannot tell its receiver from another program:\n${l}`);
}

/**
 * Polls `ss` until a UDP socket is bound to `port`, at most `timeoutMs`. Fails early (with the
 * program's output) if `proc` exits first.
 */
export async function waitForUdpBound(port: number, proc: Proc, timeoutMs = 10_000, prefix: readonly string[] = []): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (udpListeners(port, prefix)) return;
    if (!proc.running) throw new Error(`the receiver exited before it bound UDP port ${port}:\n${proc.describe()}`);
    if (Date.now() > until) throw new Error(`the receiver did not bind UDP port ${port} within ${timeoutMs} ms:\n${proc.describe()}`);
    await sleep(50);
  }
}

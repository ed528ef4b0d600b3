import { spawn } from 'node:child_process';

/**
 * Long-running children (ffmpeg, parec) get their own process group on POSIX, so Ctrl-C in the
 * terminal reaches rtpcast alone, which then stops them in order (sending its BYE first).
 * (On Windows a detached child would open a console window: there it stays attached.)
 */
export const DETACH = process.platform !== 'win32';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a program with an argument array (never a shell), a time limit and the C locale (so
 * parsers see untranslated words). Resolves whatever the exit; rejects only if it cannot start.
 */
export function runProgram(exe: string, args: string[], o: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { env: { ...(o.env ?? process.env), LC_ALL: 'C', LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const t = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 5000);
    child.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * Stops a child: SIGTERM, then SIGKILL if it has not exited after `graceMs`. Resolves once it is
 * gone (or immediately if it already was). The one implementation for every long-running child.
 */
export function stopChild(c: import('node:child_process').ChildProcess | undefined, graceMs = 1000): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      resolve();
    }, graceMs);
    c.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

/**
 * A private network namespace for multicast tests: only `lo`, set up and multicast-capable, with
 * 224.0.0.0/4 routed to it, so a group sent to on this machine is delivered to receivers in the
 * same namespace without touching the host's interfaces, routes or firewall.
 */
import { spawnSync } from 'node:child_process';
import { findProgram } from '../../src/os/programs';

function ip(args: string[]): { ok: boolean; text: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return { ok: false, text: r.error.message };
  return { ok: r.status === 0, text: `${r.stdout}${r.stderr}`.trim() };
}

export interface Netns {
  name: string;
  /** argv prefix that runs a program inside the namespace */
  exec: readonly string[];
  /** deletes the namespace (idempotent; never throws) */
  remove(): void;
}

/** Creates `rtpcast-<pid>[-suffix]` with lo up, multicast on, and the multicast route. */
export function createMulticastNetns(suffix = ''): Netns {
  if (!findProgram('ip')) throw new Error('ip not found: sudo apt-get install iproute2');
  if (process.getuid && process.getuid() !== 0) {
    throw new Error('creating a network namespace needs root (CAP_SYS_ADMIN/CAP_NET_ADMIN): run the interop tests as root, e.g. sudo npm run test:interop');
  }
  const name = `rtpcast-${process.pid}${suffix ? `-${suffix}` : ''}`;
  const remove = () => {
    ip(['netns', 'del', name]);
  };
  // A namespace left over from a crashed run with the same pid would make "add" fail.
  remove();
  const steps: string[][] = [
    ['netns', 'add', name],
    ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, 'link', 'set', 'lo', 'multicast', 'on'],
    ['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo'],
  ];
  for (const s of steps) {
    const r = ip(s);
    if (!r.ok) {
      remove();
      throw new Error(`ip ${s.join(' ')} failed: ${r.text}`);
    }
  }
  return { name, exec: ['ip', 'netns', 'exec', name], remove };
}

/** Whether a namespace of that name exists (for the clean-up check). */
export function netnsExists(name: string): boolean {
  const r = ip(['netns', 'list']);
  return r.text.split('\n').some((l) => l.split(/\s+/)[0] === name);
}

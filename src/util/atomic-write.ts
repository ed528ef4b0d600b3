import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes a file atomically: a temporary file in the same directory, flushed, then renamed over
 * the target, so a reader (VLC opening the SDP) never sees half a file. `mode` (default 0644) is
 * set on the temporary file before anything is written, so a secret is never readable by others.
 */
export function writeFileAtomic(path: string, data: string | Buffer, o: { mode?: number } = {}): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = o.mode ?? 0o644;
  const fd = openSync(tmp, 'wx', mode);
  try {
    // the umask may have removed bits, never added any; a secret (mode 0600) stays 0600 whatever the umask
    if (mode !== 0o644) fchmodSync(fd, mode);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
}

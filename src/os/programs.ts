import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ExitCode, RtpcastError } from '../errors';

/** Finds an executable on PATH (PATHEXT on Windows). No shell involved. */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const p = join(dir, name + ext);
      try {
        accessSync(p, constants.X_OK);
        return p;
      } catch {
        /* not here */
      }
    }
  }
  return undefined;
}

/** How to install a program, per platform. */
const INSTALL: Record<string, { linux: string; win32: string; darwin: string }> = {
  ffmpeg: { linux: 'sudo apt install ffmpeg', win32: 'winget install Gyan.FFmpeg (then open a new terminal)', darwin: 'brew install ffmpeg' },
};

export function installHint(name: string, platform: NodeJS.Platform = process.platform): string {
  const i = INSTALL[name];
  if (!i) return `install ${name} and make sure it is on PATH`;
  const how = platform === 'win32' ? i.win32 : platform === 'darwin' ? i.darwin : i.linux;
  return `install it: ${how}`;
}

export function missingProgram(name: string, why: string): RtpcastError {
  return new RtpcastError(`${name} is not installed or not on PATH (${why})`, ExitCode.missingProgram, installHint(name));
}

#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { EXIT_CODES_HELP, ExitCode, RtpcastError } from '../errors';
import { sendCommand } from './send';
import { devicesCommand } from './devices';
import { playCommand } from './play';
import { diagCommand } from './diag';
import { listCommand } from './list';
import { VERSION } from '../version';

export function buildProgram(): Command {
  const program = new Command('rtpcast')
    .version(VERSION)
    .description('Stream a computer\'s sound to other computers as standard RTP, play it, and diagnose what goes wrong.')
    .addCommand(sendCommand())
    .addCommand(playCommand())
    .addCommand(listCommand())
    .addCommand(devicesCommand())
    .addCommand(diagCommand())
    .addHelpText('after', `\nStart with: rtpcast send --sdp stream.sdp   (then open stream.sdp in VLC or ffplay)\n\n${EXIT_CODES_HELP}`)
    .showHelpAfterError('(rtpcast send --help lists every option)')
    .exitOverride();
  for (const c of program.commands) c.exitOverride().showHelpAfterError(`(rtpcast ${c.name()} --help lists every option)`);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the message (or the help/version)
      return e.exitCode === 0 ? 0 : ExitCode.usage;
    }
    if (e instanceof RtpcastError) {
      process.stderr.write(`rtpcast: error: ${e.message}\n${e.hint ? `  try: ${e.hint}\n` : ''}`);
      return e.exitCode;
    }
    process.stderr.write(`rtpcast: internal error (please report it): ${(e as Error).stack ?? e}\n`);
    return ExitCode.failure;
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}

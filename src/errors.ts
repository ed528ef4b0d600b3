/**
 * Errors a user can act on. Every expected failure is an RtpcastError: it says what happened,
 * carries the next thing to try (`hint`), and maps to a documented exit code. The CLI prints
 * these without a stack trace; anything else is a bug and is printed with one.
 */
export const ExitCode = {
  ok: 0,
  /** a problem was found at run time (send failed, source died, diag found a fault) */
  failure: 1,
  /** invalid flags or an unsupported codec/rate/channel combination */
  usage: 2,
  /** the input file or stream cannot be read or decoded */
  input: 3,
  /** a program rtpcast needs (ffmpeg, pactl...) is not installed */
  missingProgram: 4,
  /** a host cannot be resolved, a port cannot be bound, the network refuses */
  network: 5,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** The text of `--help` that documents the exit codes (kept next to the codes themselves). */
export const EXIT_CODES_HELP = `Exit codes:
  0  finished (duration reached, input ended, or stopped with Ctrl-C)
  1  failed while running (the source died, sending failed)
  2  invalid options or an unsupported codec/rate/channels combination
  3  the input cannot be read or decoded
  4  a program rtpcast needs is missing (the message says how to install it)
  5  network: a host cannot be resolved, a port cannot be bound or is refused`;

export class RtpcastError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
    /** the next command or change to try */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'RtpcastError';
  }
}

export function usageError(message: string, hint?: string): RtpcastError {
  return new RtpcastError(message, ExitCode.usage, hint);
}

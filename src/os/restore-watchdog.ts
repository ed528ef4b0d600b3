/**
 * Runs beside `rtpcast send --source app:...`, detached, reading a pipe from it. If the pipe
 * closes without "done" (rtpcast was killed, even with SIGKILL), it restores the application's
 * routing from the state file: streams back to their sinks, rtpcast's modules unloaded.
 */
import { unlinkSync } from 'node:fs';
import { Pactl } from './pactl';
import { readRouteState, restore } from './app-route';

const file = process.argv[2];
let input = '';
process.on('SIGINT', () => undefined); // Ctrl-C in the terminal is rtpcast's to handle
process.on('SIGHUP', () => undefined);
process.stdin.on('data', (b) => (input += b.toString()));
process.stdin.on('end', () => {
  if (input.includes('done')) process.exit(0);
  const state = file ? readRouteState(file) : undefined;
  if (!state) process.exit(0);
  const env = { ...process.env };
  for (const [k, v] of Object.entries(state.env)) if (v) env[k] = v;
  void restore(new Pactl(state.pactl, env), state).finally(() => {
    try {
      unlinkSync(file);
    } catch {
      /* gone */
    }
    process.exit(0);
  });
});

/**
 * Ctrl-C or SIGTERM of a command with nothing to save (the clients of a server, eval): Node's
 * default ends it silently and leaves a progress bar's hidden cursor hidden. Here the bar is
 * stopped, one line says so, and the exit code is 128 + the signal's number, as a shell reports a
 * command a signal ended (130 for Ctrl-C). What the server already stored stays stored.
 */
import { stopProgressBars } from './progress.js';

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export function exitOnInterrupt(): void {
  for (const signal of Object.keys(CODES) as (keyof typeof CODES)[]) {
    process.once(signal, () => {
      stopProgressBars();
      console.error(`alexnet: interrupted (${signal})`);
      process.exit(CODES[signal]);
    });
  }
}

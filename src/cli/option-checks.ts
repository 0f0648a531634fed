/** Checks of what was typed that hold for every command: no option left empty; init's labels file. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { AlexNetError, ConfigError } from '../errors.js';

/** `--index "$DIR"` with DIR unset is no request for the default: every option given must have a value. */
export function refuseEmptyOptions(command: Command): void {
  for (const option of command.options) {
    // --server says what to give itself (fleet-config.ts), a blank one too.
    if (option.attributeName() === 'server') continue;
    const value: unknown = command.getOptionValue(option.attributeName());
    if (value === '' || (Array.isArray(value) && value.includes(''))) throw new ConfigError(`${option.long ?? option.short} is empty: give it a value, or leave the option out`);
  }
}

/** `init --labels-file`: one label per line. */
export function readLabelsFile(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  } catch (e) {
    throw new AlexNetError(`cannot read labels file ${file}: ${(e as Error).message}`);
  }
}

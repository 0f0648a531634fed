/**
 * `alexnet export`: the export with Ctrl-C and SIGTERM handled. Node's default would end the
 * process in the middle of a write and leave the temporary files (a paper-size model's are
 * hundreds of MB each) beside the output; here the export is stopped, its temporary files
 * removed, one line says so, and the exit code is 128 + the signal's number (130 for Ctrl-C).
 */
import { InterruptedError } from '../errors.js';

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export async function exportCommand(checkpoint: string, opts: { out: string }): Promise<void> {
  const { exportCheckpoint } = await import('../export/export-model.js');
  const controller = new AbortController();
  let stoppedBy: keyof typeof CODES = 'SIGINT';
  const handlers = (Object.keys(CODES) as (keyof typeof CODES)[]).map((signal) => {
    const handler = () => {
      stoppedBy = signal;
      controller.abort();
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  let result;
  try {
    result = await exportCheckpoint(checkpoint, opts.out, { signal: controller.signal });
  } catch (e) {
    if (!(e instanceof InterruptedError)) throw e;
    console.error(`alexnet: interrupted (${stoppedBy}): ${e.message}`);
    process.exit(CODES[stoppedBy]);
  } finally {
    for (const off of handlers) off();
  }
  for (const f of result.files) console.log(`wrote ${f.path} (${f.form}, ${(f.bytes / 1e6).toFixed(2)} MB)`);
  // A training run's directory holds its last epoch; say so when a better one sits beside it.
  const { bestBeside } = await import('../train/run-dir.js');
  const hint = await bestBeside(checkpoint);
  if (hint) console.error(hint);
}

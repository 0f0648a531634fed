/**
 * Files that are either whole or absent: written to a temporary name in the target's directory,
 * synced, then renamed into place (the rename is the commit point).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';

/** A temporary name beside `target`, unique to this process and call. */
export function temporaryName(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Create `file` (it must not exist) with `data`, and sync it to disk; `signal` stops the write between chunks. */
export async function writeSynced(file: string, data: string | Uint8Array, signal?: AbortSignal): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data, signal ? { signal } : {});
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Write `data` to `target` through a temporary file in the same directory and a rename. */
export async function writeAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const tmp = temporaryName(target);
  try {
    await writeSynced(tmp, data);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

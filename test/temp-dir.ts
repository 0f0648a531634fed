/** Scratch directories for tests: each under the OS temp dir, all removed after the file's last test, pass or fail. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';

const made: string[] = [];

test.after.always(async () => {
  await Promise.all(made.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** A new empty directory named alexnet-<name>-XXXXXX. */
export async function tempDir(name: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `alexnet-${name}-`));
  made.push(dir);
  return dir;
}

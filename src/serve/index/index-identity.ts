/**
 * The identity of an index on disk (which model made its vectors) as a small JSON file beside the
 * table, written atomically (a temporary file renamed over it), and the refusal of another model.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FailedPreconditionError } from '../../errors.js';
import type { IndexIdentity } from './vector-index.js';

export const IDENTITY_FILE = 'identity.json';

export async function readIdentity(dir: string): Promise<IndexIdentity | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, IDENTITY_FILE), 'utf8')) as IndexIdentity;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function writeIdentity(dir: string, identity: IndexIdentity): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${IDENTITY_FILE}.${process.pid}.tmp`);
  await fs.writeFile(tmp, JSON.stringify(identity, null, 2) + '\n');
  await fs.rename(tmp, path.join(dir, IDENTITY_FILE));
}

/** Throws unless `stored` was made by the model of `served` (vectors of two models are not comparable). */
export function checkIdentity(stored: IndexIdentity, served: IndexIdentity, location: string): void {
  if (stored.modelFingerprint === served.modelFingerprint && stored.dimension === served.dimension) return;
  throw new FailedPreconditionError(
    `the index at ${location} was made by model ${stored.modelName} (version ${stored.modelFingerprint}, ${stored.dimension}-d), not the served ${served.modelName} ` +
      `(version ${served.modelFingerprint}, ${served.dimension}-d): vectors of two models are not comparable; serve with another --index directory, ` +
      `or delete this one and index the images again with 'alexnet index add'`,
  );
}

/**
 * The identity of an index on disk (which model made its vectors) as a small JSON file beside the
 * table, written atomically (a temporary file renamed over it), and the refusal of another model's vectors.
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

export function sameModel(stored: IndexIdentity, served: IndexIdentity): boolean {
  return stored.modelFingerprint === served.modelFingerprint && stored.dimension === served.dimension;
}

/**
 * The refusal of vectors computed by a model the index no longer holds: it was re-bound (a reload
 * to another checkpoint, another server) between the caller's check and its write.
 */
export function reboundError(stored: IndexIdentity, madeBy: IndexIdentity, where: string): FailedPreconditionError {
  return new FailedPreconditionError(
    `${where} now holds vectors of model ${stored.modelName} (version ${stored.modelFingerprint}), not of ${madeBy.modelName} (version ${madeBy.modelFingerprint}) that computed these ` +
      `(re-bound by another server, or by this one after a reload): nothing was written; send them again to index them with the model serving now`,
  );
}

/**
 * The refusal of an index holding another model's vectors, saying what works while the server
 * runs: an index emptied of its items is re-bound to the served model by the next upsert.
 */
export function mismatchError(stored: IndexIdentity, served: IndexIdentity, location: string): FailedPreconditionError {
  return new FailedPreconditionError(
    `the index at ${location} holds vectors of model ${stored.modelName} (version ${stored.modelFingerprint}, ${stored.dimension}-d), not of the served ${served.modelName} ` +
      `(version ${served.modelFingerprint}, ${served.dimension}-d): vectors of two models are not comparable. Serve the model that made it, serve with another --index, ` +
      `or empty it ('alexnet index delete --all', or remove the index while the server is stopped) and index the images again with 'alexnet index add': ` +
      `an empty index takes the served model's vectors`,
  );
}

/**
 * The one place that turns `--index <location>` into a backend: a postgres:// URL is a shared
 * PostgreSQL + pgvector table, anything else a LanceDB directory on this machine.
 */
import { BackendUnavailableError } from '../../errors.js';
import { openPgvectorIndex } from './pgvector-index.js';
import type { IndexIdentity, VectorIndex } from './vector-index.js';

interface LanceModule {
  openLanceIndex(dir: string, identity: IndexIdentity): Promise<VectorIndex>;
}

// TODO(lead): once lancedb-index.ts is merged, import it with this string written literally in the
// import() call (so tsc checks it and the architecture test sees the edge); the variable keeps this
// branch compiling without the file.
const LANCE_MODULE = './lancedb-index.js';

export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export async function openVectorIndex(location: string, identity: IndexIdentity): Promise<VectorIndex> {
  if (isPostgresLocation(location)) return openPgvectorIndex(location, identity);
  let lance: LanceModule;
  try {
    lance = (await import(LANCE_MODULE)) as LanceModule;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    throw new BackendUnavailableError(`the LanceDB index backend is not in this build: use a postgres:// --index`, { cause: e });
  }
  return lance.openLanceIndex(location, identity);
}

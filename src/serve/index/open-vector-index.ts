/**
 * The one place that turns `--index <location>` into a backend: a postgres:// URL is a shared
 * PostgreSQL + pgvector table, anything else a LanceDB directory on this machine (by default one
 * beside the served model: model-source.ts). Each backend is imported when an index of its kind is
 * opened, so a server that never opens one never loads LanceDB's native library or pg.
 */
import path from 'node:path';
import type { ModelFiles } from '../../model/model-files.js';
import type { IndexIdentity, VectorIndex } from './vector-index.js';

export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export function identityOf(model: ModelFiles): IndexIdentity {
  return { modelFingerprint: model.fingerprint, modelName: model.name, dimension: model.metadata.embeddingDimension };
}

/** The location as it may be shown to a caller: a URL's passwords replaced, the userinfo's and any parameter's (pg takes ?password=, as libpq does). */
export function displayLocation(location: string): string {
  if (!isPostgresLocation(location)) return location;
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    return 'a postgres:// URL that does not parse';
  }
  if (url.password) url.password = '***';
  for (const key of new Set(url.searchParams.keys())) if (/pass/i.test(key)) url.searchParams.set(key, '***');
  return url.toString();
}

export async function openVectorIndex(location: string, identity: IndexIdentity): Promise<VectorIndex> {
  if (isPostgresLocation(location)) return (await import('./pgvector-index.js')).openPgvectorIndex(location, identity);
  return (await import('./lancedb-index.js')).openLanceIndex(path.resolve(location), identity);
}

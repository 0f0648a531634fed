/**
 * Whether the index can be used at all, told apart from everything else that may fail, so a caller
 * gets a status it can act on instead of INTERNAL: a LanceDB folder that cannot be created or
 * written is FAILED_PRECONDITION (nothing changes until the operator gives another --index or
 * fixes the folder), a database that cannot be reached is UNAVAILABLE (a client retries, and
 * another replica may reach it), one that refuses us (password, database, pgvector missing) is
 * FAILED_PRECONDITION. `probeIndex` checks the same without opening the index, so a server can
 * say so at start without loading LanceDB's native library or creating anything.
 */
import { promises as fs, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { FailedPreconditionError, UnavailableError } from '../../errors.js';
import { heldMessage, holdsLock, lockHolder } from '../../util/dir-lock.js';
import { IndexUnreachableError, IndexUnusableError, indexFolderHeld } from './index-errors.js';
import { displayLocation, isPostgresLocation } from './open-vector-index.js';

export { IndexUnreachableError, IndexUnusableError } from './index-errors.js';

const FOLDER_CAUSES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a part of its path is a file',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
};
/** Connection failures: the database may come back, or another replica may reach it. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** SQLSTATEs of a server that is there but will not take us now: shutting down, starting, full. */
const BUSY_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
/** SQLSTATEs of a database that refuses what we are configured with: password, role, database, privilege, pgvector missing. */
const REFUSED_CLASSES = /^(28|3D|42501|58P01|0A000)/;

/** errno name of an error from Node (its code) or from LanceDB's Rust side ("... (os error 13)"). */
function errnoOf(e: Error & { code?: unknown }): string | undefined {
  if (typeof e.code === 'string' && e.code in FOLDER_CAUSES) return e.code;
  const n = /\(os error (\d+)\)/.exec(e.message ?? '')?.[1];
  if (n === undefined) return undefined;
  return Object.entries(osConstants.errno).find(([, v]) => v === Number(n))?.[0];
}

function folderError(dir: string, cause: string): IndexUnusableError {
  const uid = process.getuid?.();
  return new IndexUnusableError(
    `the index folder ${dir} cannot be written (${cause}): pass --index DIR naming a folder ${uid === undefined ? 'this server' : `this server's user (uid ${uid})`} may write, or --index postgres://... for a shared index`,
  );
}

/** `e` as the typed error its cause calls for, when it says the index cannot be used; else `e` itself. */
export function explainIndexError(e: unknown, location: string): unknown {
  if (!(e instanceof Error) || e instanceof FailedPreconditionError || e instanceof UnavailableError) return e;
  const err = e as Error & { code?: unknown };
  if (!isPostgresLocation(location)) {
    const errno = errnoOf(err);
    const cause = errno && FOLDER_CAUSES[errno];
    return cause ? folderError(path.resolve(location), cause) : e;
  }
  const where = displayLocation(location);
  const code = typeof err.code === 'string' ? err.code : '';
  if (NETWORK_CODES.has(code) || BUSY_STATES.has(code) || code.startsWith('08') || /Connection terminated|timeout expired/i.test(err.message)) {
    return new IndexUnreachableError(`cannot reach the index database at ${where}: ${err.message || code}; retry (another replica may reach it)`);
  }
  if (REFUSED_CLASSES.test(code)) return new IndexUnusableError(`the index database at ${where} refused this server: ${err.message} (SQLSTATE ${code})`);
  return e;
}

/** The nearest folder of `dir` and its parents that exists. */
async function nearestExisting(dir: string): Promise<string> {
  for (let d = dir; ; d = path.dirname(d)) {
    const found = await fs.stat(d).then(
      () => true,
      (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(e)),
    );
    if (found || d === path.dirname(d)) return d;
  }
}

/** Throws (typed, as explainIndexError gives) unless the index looks usable; opens and creates nothing. */
export async function probeIndex(location: string): Promise<void> {
  try {
    if (isPostgresLocation(location)) {
      const [{ default: pg }, { parsePgLocation }] = await Promise.all([import('pg'), import('./pgvector-sql.js')]);
      const client = new pg.Client({ connectionString: parsePgLocation(location).connectionString, connectionTimeoutMillis: 10_000 });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
      } finally {
        await client.end().catch(() => {});
      }
      return;
    }
    const dir = path.resolve(location);
    const at = await nearestExisting(dir);
    if (!(await fs.stat(at)).isDirectory()) throw folderError(dir, FOLDER_CAUSES.ENOTDIR!);
    // The folder, or the parent it will be made in, must take new files (root passes unless read-only).
    await fs.access(at, fsConstants.W_OK | fsConstants.X_OK);
    // Nor may another server hold it (lancedb-index.ts takes its lock when it opens the index).
    const lock = path.join(dir, 'server.lock');
    const holder = holdsLock(lock) ? undefined : await lockHolder(lock);
    if (holder) throw indexFolderHeld(heldMessage(holder, lock, `the index folder ${dir}`));
  } catch (e) {
    throw explainIndexError(e, location);
  }
}

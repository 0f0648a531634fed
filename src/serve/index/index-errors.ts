/**
 * The errors that say the index cannot be used (as opposed to a bad request): their status, and
 * ImageSearch's health (index-health.ts), follow from their type. Here, apart from
 * index-availability.ts, so that a backend can throw them without an import circle.
 */
import { FailedPreconditionError, UnavailableError } from '../../errors.js';

/** The index cannot be used as configured: its folder cannot be written or is another server's, its database refuses us (FAILED_PRECONDITION). */
export class IndexUnusableError extends FailedPreconditionError {}
/** The index's database cannot be reached now (UNAVAILABLE). */
export class IndexUnreachableError extends UnavailableError {}

/** A LanceDB folder whose lock a live server holds (`held`: the lock's message naming it). */
export function indexFolderHeld(held: string): IndexUnusableError {
  return new IndexUnusableError(`${held}. One server per index folder: give this server another --index, or share one index between servers with --index postgres://...`);
}

/**
 * A call's request id: the caller's `x-request-id` metadata, or one the server makes (the call
 * interceptor puts it into the call's metadata before any handler runs, and into the response's
 * metadata); every log line of the call carries it.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';

/** The metadata key, and the log field. */
export const REQUEST_ID = 'x-request-id';

/** The metadata key under which the auth interceptor names the caller's token for the call's log lines (a caller's own value is removed first). */
export const TOKEN_NAME = 'alexnet-token-name';

/** Longest request id taken from a caller; longer ones are cut (a log line stays a line). */
const MAX_LENGTH = 128;

/** The caller's id, cleaned to printable ASCII and cut to MAX_LENGTH, or '' when there is none. */
export function requestIdOf(metadata: grpc.Metadata): string {
  const v = metadata.get(REQUEST_ID)[0];
  return typeof v === 'string' ? v.replace(/[^\x21-\x7e]/g, '').slice(0, MAX_LENGTH) : '';
}

/** Make sure the call's metadata names a request id (the caller's, cleaned, or a new one), and no token name the caller made up; returns the id. */
export function ensureRequestId(metadata: grpc.Metadata): string {
  metadata.remove(TOKEN_NAME);
  const id = requestIdOf(metadata) || randomUUID();
  metadata.set(REQUEST_ID, id);
  return id;
}

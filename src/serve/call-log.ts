/** The call log lines, and the one place a handler's error becomes a status (toStatus). */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from './log.js';
import { REQUEST_ID } from './request-id.js';
import { toStatus, type MappedStatus } from './status.js';

/** Who made a call: its peer and its request id (x-request-id: the caller's, or one the server made). */
export interface Caller {
  peer: string;
  requestId: string;
  /** The name of the token the call presented (--auth-tokens), if any. */
  token?: string;
}

/** Since `started` (performance.now()), in ms to two decimals. */
const since = (started: number) => +(performance.now() - started).toFixed(2);

/** A call (or stream item) failed: its status; a cause of ours is logged with its stack, a refusal at debug level. */
export function reportFailure(log: Logger, method: string, e: unknown, started: number, { peer, requestId, token }: Caller): MappedStatus {
  const s = toStatus(e);
  if (s.internal) log.error('call failed', { method, peer, [REQUEST_ID]: requestId, token, code: grpc.status[s.code], ms: since(started), cause: String((e as Error)?.stack ?? e) });
  else log.debug('call refused', { method, peer, [REQUEST_ID]: requestId, token, code: grpc.status[s.code], details: s.details, ms: since(started) });
  return s;
}

/** A call answered OK. */
export function reportAnswered(log: Logger, method: string, started: number, { peer, requestId, token }: Caller): void {
  log.debug('call', { method, peer, [REQUEST_ID]: requestId, token, ms: since(started) });
}

/** What a stream call did: its items, those answered with their own error, and whether the caller cancelled it. */
export interface StreamOutcome {
  items: number;
  failed: number;
  cancelled: boolean;
}

/** A stream call ended: one line for the whole stream (its failed items have their own lines). */
export function reportStreamEnded(log: Logger, method: string, started: number, { peer, requestId, token }: Caller, { items, failed, cancelled }: StreamOutcome): void {
  log.debug('call', { method, peer, [REQUEST_ID]: requestId, token, ...(cancelled ? { code: 'CANCELLED' } : {}), items, failed, ms: since(started) });
}

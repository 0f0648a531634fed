/** The call log lines, and the one place a handler's error becomes a status (toStatus). */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from './log.js';
import { toStatus, type MappedStatus } from './status.js';

/** Since `started` (performance.now()), in ms to two decimals. */
const since = (started: number) => +(performance.now() - started).toFixed(2);

/** A call (or stream item) failed: its status; a cause of ours is logged with its stack, a refusal at debug level. */
export function reportFailure(log: Logger, method: string, e: unknown, started: number, peer: string): MappedStatus {
  const s = toStatus(e);
  if (s.internal) log.error('call failed', { method, peer, cause: String((e as Error)?.stack ?? e) });
  else log.debug('call refused', { method, peer, code: grpc.status[s.code], details: s.details, ms: since(started) });
  return s;
}

/** A call answered OK. */
export function reportAnswered(log: Logger, method: string, started: number, peer: string): void {
  log.debug('call', { method, peer, ms: since(started) });
}

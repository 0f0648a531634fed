/**
 * What a handler knows of its call: one AbortSignal for its cancellation, its deadline and its
 * peer. Made once per call by the adapters (a stream's items share their call's context).
 */
import { setMaxListeners } from 'node:events';
import type * as grpc from '@grpc/grpc-js';
import { CancelledError } from '../errors.js';
import type { Caller } from './call-log.js';
import { requestIdOf, TOKEN_NAME } from './request-id.js';

/** What every grpc-js server call kind offers: peer, deadline, cancellation. */
export interface SurfaceCall {
  cancelled: boolean;
  getDeadline(): grpc.Deadline;
  getPeer(): string;
  metadata: grpc.Metadata;
  on(event: 'cancelled', listener: () => void): unknown;
}

export interface CallContext extends Caller {
  /** Aborted (reason: CancelledError) once grpc-js says the call is cancelled: by the client, its deadline or the connection. */
  readonly signal: AbortSignal;
  /** Date.now() after which the answer is no use; Infinity without a deadline. */
  readonly deadline: number;
}

/** A grpc-js deadline as Date.now() milliseconds. */
export function deadlineMs(d: grpc.Deadline): number {
  return d instanceof Date ? d.getTime() : Number.isFinite(d) ? d : Infinity;
}

export function callContext(call: SurfaceCall): CallContext {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted) controller.abort(new CancelledError('the call was cancelled'));
  };
  // A stream's items each listen to the one signal while they wait for the model.
  setMaxListeners(0, controller.signal);
  call.on('cancelled', abort);
  const peer = call.getPeer();
  const deadline = deadlineMs(call.getDeadline());
  return {
    get signal() {
      // grpc-js sets `cancelled` a tick before it emits 'cancelled': a reader sees it at once.
      if (call.cancelled) abort();
      return controller.signal;
    },
    deadline,
    peer,
    requestId: requestIdOf(call.metadata),
    ...(typeof call.metadata.get(TOKEN_NAME)[0] === 'string' ? { token: call.metadata.get(TOKEN_NAME)[0] as string } : {}),
  };
}

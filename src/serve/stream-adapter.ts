/**
 * A bidirectional stream: admission for the whole stream; items run concurrently (so they batch)
 * and are answered in request order; an item that fails is answered with its own error and the
 * stream goes on. A client that reads its answers slowly holds the stream back: the next answer
 * waits until the last one could be sent, and reading stops while the window is full, so neither
 * the work nor the memory of unsent answers grows past it.
 */
import type * as grpc from '@grpc/grpc-js';
import { callContext } from './call-context.js';
import { reportFailure, reportStreamEnded } from './call-log.js';
import type { AdapterEnv } from './service-descriptor.js';
import type { MappedStatus } from './status.js';
import type { Handler } from './unary-adapter.js';

/** Most items of one stream in the pipeline at once; the stream is paused beyond that. */
const STREAM_WINDOW = 64;

/** Resolves once `call` can take more writes, or will never need to (cancelled, failed, closed). */
function drained(call: grpc.ServerDuplexStream<unknown, unknown>): Promise<void> {
  if (call.cancelled || call.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const events = ['drain', 'cancelled', 'error', 'close'] as const;
    const done = () => {
      for (const e of events) call.off(e, done);
      resolve();
    };
    for (const e of events) call.on(e, done);
  });
}

export function streamAdapter<Req, Res>(env: AdapterEnv, method: string, handler: Handler<Req, Res>, answerFailed: (req: Req, status: MappedStatus) => Res) {
  return (call: grpc.ServerDuplexStream<Req, Res>): void => {
    const started = performance.now();
    const context = callContext(call);
    const refused = env.admission.admit(env.log, method, started, context);
    if (refused) {
      // grpc-js sends a stream's status from its 'error' event; destroy() would end the stream
      // without one, and the client would wait for it forever.
      call.emit('error', Object.assign(new Error(refused.details), { code: refused.code, details: refused.details }));
      return;
    }
    const pending: Promise<Res>[] = [];
    let writing = false;
    let ended = false;
    let closed = false;
    let items = 0;
    let failed = 0;
    const finish = () => {
      if (closed) return;
      closed = true;
      env.admission.leave();
      reportStreamEnded(env.log, method, started, context, { items, failed, cancelled: call.cancelled });
    };
    const flush = async () => {
      if (writing) return;
      writing = true;
      while (pending.length > 0) {
        const res = await pending[0]!;
        pending.shift();
        if (!call.cancelled && !call.write(res)) await drained(call);
        if (pending.length < STREAM_WINDOW / 2 && call.isPaused()) call.resume();
      }
      writing = false;
      if (ended && !closed) {
        // grpc-js hands a client's cancel to the stream as its end first, and as the cancel a few
        // ticks later: let those ticks run, so a cancelled stream is not answered (and counted) OK.
        await new Promise((resolve) => setImmediate(resolve));
        if (!call.cancelled && !closed) call.end();
        finish();
      }
    };
    call.on('data', (req: Req) => {
      const arrived = performance.now();
      items++;
      pending.push(
        handler(req, context).catch((e: unknown) => {
          failed++;
          return answerFailed(req, reportFailure(env.log, method, e, arrived, context));
        }),
      );
      if (pending.length >= STREAM_WINDOW) call.pause();
      void flush();
    });
    call.on('end', () => {
      ended = true;
      void flush();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
  };
}

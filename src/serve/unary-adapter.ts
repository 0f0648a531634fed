/** A unary call: admission, the call log lines and one status for a handler that throws. */
import type * as grpc from '@grpc/grpc-js';
import { callContext, type CallContext } from './call-context.js';
import { reportAnswered, reportFailure } from './call-log.js';
import type { AdapterEnv } from './service-descriptor.js';

/** A service method: a request and its call's context in, the response out; failures are thrown typed errors (status.ts). */
export type Handler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

export interface UnaryOptions {
  /** false: answered in any state (loading, draining), not counted in flight, not logged, e.g. GetModelInfo. Default true. */
  admitted?: boolean;
}

export function unaryAdapter<Req, Res>(env: AdapterEnv, method: string, handler: Handler<Req, Res>, { admitted = true }: UnaryOptions = {}) {
  return (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>): void => {
    const started = performance.now();
    const context = callContext(call);
    const fail = (e: unknown) => {
      const s = reportFailure(env.log, method, e, started, context);
      callback({ code: s.code, details: s.details });
    };
    if (!admitted) {
      handler(call.request, context).then((res) => callback(null, res), fail);
      return;
    }
    const refused = env.admission.admit(env.log, method, started, context);
    if (refused) {
      callback({ code: refused.code, details: refused.details });
      return;
    }
    handler(call.request, context)
      .then((res) => {
        reportAnswered(env.log, method, started, context);
        callback(null, res);
      }, fail)
      .finally(() => env.admission.leave());
  };
}

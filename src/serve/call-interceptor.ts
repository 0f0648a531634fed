/**
 * The server interceptor every call passes first (grpc-js server interceptors, innermost): it
 * gives the call a request id (the caller's x-request-id, or a new one) before anything else sees
 * its metadata and returns it in the response metadata; it answers a request that is not valid
 * protobuf with INVALID_ARGUMENT (grpc-js alone answers INTERNAL: see `tolerantDeserializers`);
 * and it records every status sent, refusals by the auth interceptor included, in the metrics.
 */
import * as grpc from '@grpc/grpc-js';
import { countValues, MAX_REQUEST_VALUES, messageTypes } from './message-values.js';
import type { Logger } from './log.js';
import type { ModelLabels, ServerMetrics } from './metrics.js';
import { SEARCH_SERVICE_NAME } from './proto.js';
import { ensureRequestId, REQUEST_ID } from './request-id.js';

/** What a request's deserializer returns instead of throwing on bytes that are not the message. */
class Malformed {
  constructor(readonly reason: string) {}
}
/** What it returns, without decoding, for a request of more values than MAX_REQUEST_VALUES (message-values.ts). */
class TooManyValues {}

/**
 * A service definition whose request deserializers never throw: bytes that do not parse become a
 * Malformed value, which the interceptor answers with INVALID_ARGUMENT before any handler sees it,
 * and a request of too many values is not decoded (RESOURCE_EXHAUSTED). `packageDefinition`: where
 * the request types' sub-messages are found (without it only the top-level fields are counted).
 */
export function tolerantDeserializers(definition: grpc.ServiceDefinition, packageDefinition: Parameters<typeof messageTypes>[0] = {}): grpc.ServiceDefinition {
  const types = messageTypes(packageDefinition);
  return Object.fromEntries(
    Object.entries(definition).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          const request = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name;
          const full = `${method.path.slice(1, method.path.lastIndexOf('.'))}.${request}`;
          if (request && countValues(bytes, types, full) > MAX_REQUEST_VALUES) return new TooManyValues();
          try {
            return method.requestDeserialize(bytes);
          } catch (e) {
            return new Malformed((e as Error).message);
          }
        },
      },
    ]),
  ) as grpc.ServiceDefinition;
}

/**
 * The model version an answer names: `model` (Classify, Embed, ModelInfo), KServe's
 * `model_name`/`model_version` (ModelInfer), or those of a stream's `infer_response` that
 * succeeded (a failed one echoes what the caller sent, which must not become a label).
 */
export function answeringModel(message: unknown): ModelLabels | undefined {
  const named = (name: unknown, version: unknown) => (typeof name === 'string' && typeof version === 'string' && version !== '' ? { name, version } : undefined);
  const m = message as { model?: { name?: unknown; version?: unknown }; model_name?: unknown; model_version?: unknown; error_message?: unknown; infer_response?: { model_name?: unknown; model_version?: unknown } } | null;
  if (!m || typeof m !== 'object') return undefined;
  if (m.model) return named(m.model.name, m.model.version);
  if (m.infer_response) return m.error_message ? undefined : named(m.infer_response.model_name, m.infer_response.model_version);
  return named(m.model_name, m.model_version);
}

export interface CallInterceptorOptions {
  metrics?: ServerMetrics;
  /** The version serving now (labels of the call's series). */
  model(): ModelLabels;
  /** Where a request refused before its handler (malformed, too many values) is said, at debug. */
  log?: Logger;
}

/** Answers whose `model` is not the version answering: DescribeIndex's names the model that made the index's vectors. */
const MODEL_IS_NOT_THE_ANSWERER = new Set([`/${SEARCH_SERVICE_NAME}/DescribeIndex`]);

export function callInterceptor(o: CallInterceptorOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const started = performance.now();
    let requestId = '';
    let finished = false;
    const withId = (md: grpc.Metadata | null | undefined) => {
      const out = md ?? new grpc.Metadata();
      if (requestId) out.set(REQUEST_ID, requestId);
      return out;
    };
    // The version that answered, as the answer names it: across a reload the version serving when
    // the call ends may be the next one.
    let answeredBy: ModelLabels | undefined;
    // Whether the call's handler runs: a stream's from its metadata on, a unary call's once its message came.
    let reached = false;
    const record = (code: grpc.status) => {
      if (finished) return;
      finished = true;
      o.metrics?.callHandled(method.path, code, (performance.now() - started) / 1000, answeredBy ?? o.model());
    };
    const refused = (code: grpc.status, details: string) => {
      record(code);
      o.log?.debug('call refused', { method: method.path.slice(method.path.lastIndexOf('/') + 1), peer: call.getPeer(), [REQUEST_ID]: requestId, code: grpc.status[code], details, ms: +(performance.now() - started).toFixed(2) });
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, pass) => {
            requestId = ensureRequestId(md);
            reached = method.requestStream;
            pass(md);
          },
          onReceiveMessage: (message, pass) => {
            if (message instanceof TooManyValues) {
              const details = `the request holds more than ${MAX_REQUEST_VALUES} values (fields, list elements, map entries), more than this server decodes in one message: send fewer in each request`;
              refused(grpc.status.RESOURCE_EXHAUSTED, details);
              return call.sendStatus({ code: grpc.status.RESOURCE_EXHAUSTED, details, metadata: withId(undefined) });
            }
            if (!(message instanceof Malformed)) {
              reached = true;
              return pass(message);
            }
            const details = `the request is not a valid ${method.path} message (${message.reason}): send the protobuf message the service's .proto defines`;
            refused(grpc.status.INVALID_ARGUMENT, details);
            call.sendStatus({ code: grpc.status.INVALID_ARGUMENT, details, metadata: withId(undefined) });
          },
          // grpc-js calls this once the call is over, whether a status was sent or not: a call the
          // client cancelled, or whose deadline grpc-js answered itself, is counted here (a status
          // its handler sends afterwards goes nowhere), so streams are counted too. A unary call
          // whose message never came was refused by grpc-js itself (a message over the size
          // limit), with a status this interceptor does not see: it is not counted as cancelled.
          onCancel: () => {
            if (!reached) return;
            const deadline = call.getDeadline();
            // grpc-js's deadline timer runs on the event loop's clock, which may be a millisecond behind Date.now().
            record((deadline instanceof Date ? deadline.getTime() : deadline) <= Date.now() + 1 ? grpc.status.DEADLINE_EXCEEDED : grpc.status.CANCELLED);
          },
        }),
      sendMetadata: (md, next) => next(withId(md)),
      sendMessage: (message, next) => {
        if (!MODEL_IS_NOT_THE_ANSWERER.has(method.path)) answeredBy = answeringModel(message) ?? answeredBy;
        next(message);
      },
      sendStatus: (status, next) => {
        record(status.code);
        next({ ...status, metadata: withId(status.metadata) });
      },
    });
  };
}

/** What the promise-based clients (client.ts, search-client.ts) share: their channel options and one unary call as a promise. */
import * as grpc from '@grpc/grpc-js';
import { FLEET_SERVICE_CONFIG } from './fleet-config.js';
import { IpWithoutServerName } from './ip-server-name.js';

export interface CallOptions {
  /** Milliseconds from now. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** How a client proves who it is and whom it talks to: TLS (with a CA, else the system's roots; a certificate and key for mTLS) and a bearer token. */
export interface ClientSecurity {
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  token?: string;
}

export function channelCredentials(s: ClientSecurity = {}): grpc.ChannelCredentials {
  return s.tls ? new IpWithoutServerName(grpc.credentials.createSsl(s.tls.ca ?? null, s.tls.key ?? null, s.tls.cert ?? null)) : grpc.credentials.createInsecure();
}

/** Each call's metadata: the token, if any, as `authorization: Bearer`. */
export function callMetadata(s: ClientSecurity = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  if (s.token) md.set('authorization', `Bearer ${s.token}`);
  return md;
}

/** Large messages both ways (images up, vectors down) and the fleet's service config (round_robin, retries), under what the caller adds. */
export function channelOptions(options: grpc.ChannelOptions): grpc.ChannelOptions {
  return {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
    'grpc.service_config': JSON.stringify(FLEET_SERVICE_CONFIG),
    ...options,
  };
}

/**
 * `start` issues the call with these options and callback; `opts` sets its deadline and cancellation.
 * A signal already aborted cancels the call at once; the abort listener goes when the call ends, so
 * one long-lived signal shared by many calls does not keep them all.
 */
/**
 * A stream's deadline and cancellation, as `unaryCall` gives a call's: the options to start it with,
 * then `bind(call)` once it is started.
 */
export function streamOptions(opts: CallOptions = {}): { callOpts: grpc.CallOptions; bind(call: { cancel(): void; on(event: 'status', listener: () => void): unknown }): void } {
  return {
    callOpts: opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {},
    bind: (call) => {
      const signal = opts.signal;
      if (!signal) return;
      if (signal.aborted) return call.cancel();
      const abort = () => call.cancel();
      signal.addEventListener('abort', abort, { once: true });
      call.on('status', () => signal.removeEventListener('abort', abort));
    },
  };
}

export function unaryCall<Res>(start: (callOpts: grpc.CallOptions, done: grpc.requestCallback<Res>) => grpc.ClientUnaryCall, opts: CallOptions = {}): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const callOpts: grpc.CallOptions = opts.timeoutMs !== undefined ? { deadline: Date.now() + opts.timeoutMs } : {};
    const signal = opts.signal;
    const abort = () => call.cancel();
    const call = start(callOpts, (e, res) => {
      signal?.removeEventListener('abort', abort);
      if (e) reject(e);
      else resolve(res!);
    });
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', abort, { once: true });
  });
}

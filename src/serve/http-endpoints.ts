/**
 * The plaintext HTTP port beside the gRPC one (`--metrics-port`): Prometheus text on /metrics,
 * and /healthz (the process answers: liveness) and /readyz (it takes calls: a model loaded and
 * warm, a worker running, not draining) for orchestrators that cannot speak TLS or gRPC to the main port. Nothing
 * here can call a model, so it needs no token.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { ServerMetrics } from './metrics.js';

export interface HttpEndpointsOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  metrics: ServerMetrics;
  /** Whether calls are taken now. */
  ready(): boolean;
}

export interface HttpEndpoints {
  port: number;
  close(): Promise<void>;
}

export async function startHttpEndpoints(o: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const answer = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, ...(status === 405 ? { allow: 'GET, HEAD' } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, 'GET only\n');
    if (url === '/metrics') {
      o.metrics.text().then(
        (text) => answer(200, text, o.metrics.contentType),
        (e: unknown) => answer(500, `metrics failed: ${(e as Error).message}\n`),
      );
      return;
    }
    if (url === '/healthz') return answer(200, 'ok\n');
    if (url === '/readyz') return o.ready() ? answer(200, 'ready\n') : answer(503, 'not ready: the model is loading, the server is shutting down, or no inference worker is running (see the log)\n');
    answer(404, 'not found: /metrics, /healthz and /readyz are served here\n');
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ConfigError(`cannot serve metrics on ${o.host}:${o.port}: ${e.code === 'EADDRINUSE' ? 'the port is already in use (choose another with --metrics-port)' : e.message}`)));
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

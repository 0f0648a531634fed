/**
 * grpc.health.v1 (Check, Watch, List) over the fixed set of names the server reports on: '' (the
 * server) and each service's. It is open without a token (probes), so nothing a caller sends may
 * stay behind: grpc-health-check's own implementation kept a watcher entry for every service
 * name a Watch ever named, known or not, for the life of the process (a caller sending 1 MB names
 * grew the server by 1 MB a call, until it ran out of memory). Here only the known names hold
 * watchers, each removed when its call ends; a Watch of a name the server does not report on is
 * answered SERVICE_UNKNOWN and ended (the set of names never changes, so it could never become
 * known), and Check answers it NOT_FOUND quoting at most the name's first characters.
 */
import * as grpc from '@grpc/grpc-js';
import { service as healthDefinition } from 'grpc-health-check';
import { tolerantDeserializers } from './call-interceptor.js';

export type HealthStatus = 'SERVING' | 'NOT_SERVING';

/** Most characters of an unknown service name quoted back in a NOT_FOUND. */
const QUOTED = 100;

interface HealthRequest {
  service: string;
}

export class HealthService {
  private readonly statuses = new Map<string, HealthStatus>();
  private readonly watchers = new Map<string, Set<(status: HealthStatus) => void>>();

  constructor(names: readonly string[], initial: HealthStatus) {
    for (const name of names) {
      this.statuses.set(name, initial);
      this.watchers.set(name, new Set());
    }
  }

  /** The status of one of the names given at construction, sent to its watchers. */
  setStatus(name: string, status: HealthStatus): void {
    const watchers = this.watchers.get(name);
    if (!watchers) throw new Error(`no health status is kept for ${JSON.stringify(name)}`);
    this.statuses.set(name, status);
    for (const w of watchers) w(status);
  }

  addToServer(server: grpc.Server): void {
    const unknown = (name: string) => `no health status for service ${JSON.stringify(name.slice(0, QUOTED))}${name.length > QUOTED ? ` (${name.length} characters)` : ''}: ask for '' or ${[...this.statuses.keys()].filter((n) => n).join(', ')}`;
    server.addService(tolerantDeserializers(healthDefinition as grpc.ServiceDefinition), {
      Check: (call: grpc.ServerUnaryCall<HealthRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const status = this.statuses.get(call.request.service);
        if (status) callback(null, { status });
        else callback({ code: grpc.status.NOT_FOUND, details: unknown(call.request.service) });
      },
      Watch: (call: grpc.ServerWritableStream<HealthRequest, unknown>) => {
        const name = call.request.service;
        const watchers = this.watchers.get(name);
        if (!watchers) {
          call.write({ status: 'SERVICE_UNKNOWN' });
          call.end();
          return;
        }
        const watcher = (status: HealthStatus) => call.write({ status });
        watchers.add(watcher);
        call.on('cancelled', () => watchers.delete(watcher));
        call.write({ status: this.statuses.get(name) });
      },
      List: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        callback(null, { statuses: Object.fromEntries([...this.statuses].map(([name, status]) => [name, { status }])) }),
    });
  }
}

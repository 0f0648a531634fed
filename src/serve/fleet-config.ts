/**
 * How a client talks to a fleet of replicas: the gRPC service config every client channel gets
 * (round_robin over every address the target resolves to, UNAVAILABLE retried on another
 * replica) and `channelTarget`, which turns the CLI's `--server` into a grpc-js target.
 *
 * gRPC keeps one HTTP/2 connection per address, so a load balancer in front of the servers would
 * balance connections, not calls: the client spreads calls itself, over a list of addresses or
 * over every address a DNS name resolves to (a Kubernetes headless Service).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ConfigError } from '../errors.js';
import { SEARCH_SERVICE_NAME, SERVICE_NAME } from './proto.js';

/** Retried on another replica: a server that is draining (SIGTERM), gone, or not yet serving answers UNAVAILABLE. */
export const RETRY_POLICY = {
  maxAttempts: 4,
  initialBackoff: '0.1s',
  maxBackoff: '1s',
  backoffMultiplier: 2,
  retryableStatusCodes: ['UNAVAILABLE'],
} as const;

/** The service config of every client channel (grpc-js reads it from the `grpc.service_config` channel option as JSON). */
export const FLEET_SERVICE_CONFIG = {
  loadBalancingConfig: [{ round_robin: {} }],
  // Every call of both services is idempotent (Upsert writes by id), so a retry never does anything twice.
  methodConfig: [{ name: [{ service: SERVICE_NAME }, { service: SEARCH_SERVICE_NAME }], retryPolicy: RETRY_POLICY }],
} as const;

/** grpc-js's resolvers: a target naming one is left as it is. */
const SCHEME = /^(dns|ipv4|ipv6|unix|unix-abstract|vsock):/;

/** `host:port` or `[v6]:port` split; undefined when it is neither. */
function splitHostPort(address: string): { host: string; port: string } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:[\]]+):(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: m[2]! } : undefined;
}

/**
 * The grpc-js target for `--server`: a single address (`host:port`) or a target with a scheme
 * (`dns:///alexnet-grpc:50051`, `ipv4:...`, `unix:...`) passes through; a comma-separated list of
 * IP addresses with ports becomes `ipv4:a:p,b:p` (or `ipv6:[a]:p,...`), one subchannel each.
 */
export function channelTarget(server: string): string {
  const s = server.trim();
  // `--server "$SERVER"` with the variable unset: grpc-js would throw "Could not parse target name" with a stack.
  if (s === '') throw new ConfigError("--server is empty: give the server's host:port (e.g. localhost:50051)");
  if (!s.includes(',') || SCHEME.test(s)) return s;
  const parts = s.split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  const parsed = parts.map((p) => {
    const hp = splitHostPort(p);
    if (!hp) throw new ConfigError(`--server: '${p}' is not host:port (a list is addresses with ports: 10.0.0.1:50051,10.0.0.2:50051)`);
    if (!isIPv4(hp.host) && !isIPv6(hp.host)) {
      throw new ConfigError(`--server: '${hp.host}' in a list is not an IP address; for a name that resolves to every replica use dns:///${hp.host}:${hp.port}`);
    }
    return hp;
  });
  if (parsed.every((p) => isIPv4(p.host))) return `ipv4:${parsed.map((p) => `${p.host}:${p.port}`).join(',')}`;
  if (parsed.every((p) => isIPv6(p.host))) return `ipv6:${parsed.map((p) => `[${p.host}]:${p.port}`).join(',')}`;
  throw new ConfigError(`--server: a list mixes IPv4 and IPv6 addresses (${s}); list one kind, or use dns:///name:port`);
}

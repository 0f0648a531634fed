/**
 * The load client of bench:serve (bench/serve.ts), run as a process of its own: forked with an
 * IPC channel, so that its calls share neither the bench's nor the server's event loop.
 *
 * 'start': a closed loop of `concurrency` callers on one channel, each sending Classify (ten
 * crops) with the next of the images and, once answered, the next; nothing is counted yet (the
 * warm-up). 'count': from now on, calls that finish count (their status; the latency of those
 * answered OK). 'stop': no new call; the calls in flight finish uncounted; answers with one
 * LoadResult. The bench sends 'count' and 'stop' when the server logs its stats lines, so the
 * counted window is the one the server's event-loop lag was measured over. Exits when the bench
 * closes the channel.
 */
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../src/serve/client.js';

export type LoadMessage =
  | {
      type: 'start';
      address: string;
      /** Encoded image files (a few hundred kB in all: sent with each start). */
      images: Uint8Array[];
      concurrency: number;
      timeoutMs: number;
      /** The CA certificate (PEM) of a TLS server; absent: plaintext. */
      ca?: Uint8Array;
    }
  | { type: 'count' }
  | { type: 'stop' };

export interface LoadResult {
  concurrency: number;
  /** Seconds from 'count' to 'stop'. */
  seconds: number;
  /** Calls answered OK inside the window. */
  ok: number;
  /** Calls that finished inside the window, by gRPC status name. */
  statuses: Record<string, number>;
  /** Latency of the OK calls, milliseconds (nearest rank); NaN if none. */
  p50Ms: number;
  p99Ms: number;
  /** CPU time this load-client process used inside the window, in cores (1 = one core busy all the time). */
  cores: number;
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Load {
  count(): void;
  stop(): Promise<LoadResult>;
}

function start(m: Extract<LoadMessage, { type: 'start' }>): Load {
  // The IPC channel's structured clone turns Buffers into plain Uint8Arrays.
  const images = m.images.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  const client = new AlexNetClient(m.address, {}, m.ca ? { tls: { ca: Buffer.from(m.ca) } } : {});
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let counting = false;
  let stopping = false;
  let from = 0;
  let cpuFrom = process.cpuUsage();
  const caller = async () => {
    while (!stopping) {
      const image = images[next++ % images.length]!;
      const sent = performance.now();
      let status = 'OK';
      try {
        await client.classify({ image, top_k: 5, crop: 'TEN_CROP' }, { timeoutMs: m.timeoutMs });
      } catch (e) {
        const code = (e as Partial<grpc.ServiceError>).code;
        status = code !== undefined ? (grpc.status[code] ?? String(code)) : 'CLIENT_ERROR';
      }
      if (!counting || stopping) continue;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 'OK') latencies.push(performance.now() - sent);
    }
  };
  const callers = Promise.all(Array.from({ length: m.concurrency }, caller));
  return {
    count() {
      counting = true;
      from = performance.now();
      cpuFrom = process.cpuUsage();
    },
    async stop() {
      stopping = true;
      const seconds = (performance.now() - from) / 1000;
      const cpu = process.cpuUsage(cpuFrom);
      const cores = (cpu.user + cpu.system) / 1e6 / seconds;
      await callers;
      client.close();
      latencies.sort((a, b) => a - b);
      return { concurrency: m.concurrency, seconds, ok: latencies.length, statuses, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), cores };
    },
  };
}

if (!process.send) throw new Error('bench/load-client.js is forked by bench/serve.js, with an IPC channel');
let load: Load | undefined;
process.on('message', (m: LoadMessage) => {
  if (m.type === 'start') load = start(m);
  else if (m.type === 'count') load!.count();
  else
    load!.stop().then(
      (result) => process.send!(result),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
});
process.on('disconnect', () => process.exit(0));

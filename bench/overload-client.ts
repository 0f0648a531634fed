/**
 * The load client of bench:overload (bench/overload.ts), a process of its own (forked with an IPC
 * channel). 'closed': `concurrency` callers, each sending Classify as soon as its last call is
 * answered (what the server sustains). 'open': calls sent at a fixed rate whatever the answers
 * (arrivals that do not wait: how an overloaded server is met). Either way, for `seconds`: every
 * call's status and latency, answered with one OverloadResult.
 */
import * as grpc from '@grpc/grpc-js';
import { AlexNetClient } from '../src/serve/client.js';

export interface OverloadRun {
  address: string;
  images: Uint8Array[];
  seconds: number;
  mode: 'closed' | 'open';
  /** closed: callers. */
  concurrency?: number;
  /** open: calls per second. */
  rate?: number;
}

export interface OverloadResult {
  seconds: number;
  /** Calls by gRPC status name. */
  statuses: Record<string, number>;
  /** Latency in ms of the calls answered OK, and of those refused (RESOURCE_EXHAUSTED), ascending. */
  okMs: number[];
  refusedMs: number[];
  /** Calls sent (open loop: what the rate asked for). */
  sent: number;
}

async function run(m: OverloadRun): Promise<OverloadResult> {
  const images = m.images.map((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  const client = new AlexNetClient(m.address);
  const r: OverloadResult = { seconds: m.seconds, statuses: {}, okMs: [], refusedMs: [], sent: 0 };
  const end = performance.now() + m.seconds * 1000;
  const call = async () => {
    const image = images[r.sent++ % images.length]!;
    const t0 = performance.now();
    let status = 'OK';
    try {
      await client.classify({ image, top_k: 5 }, { timeoutMs: 10_000 });
    } catch (e) {
      const code = (e as Partial<grpc.ServiceError>).code;
      status = code !== undefined ? (grpc.status[code] ?? String(code)) : 'CLIENT_ERROR';
    }
    const ms = performance.now() - t0;
    r.statuses[status] = (r.statuses[status] ?? 0) + 1;
    if (status === 'OK') r.okMs.push(ms);
    if (status === 'RESOURCE_EXHAUSTED') r.refusedMs.push(ms);
  };
  if (m.mode === 'closed') {
    await Promise.all(
      Array.from({ length: m.concurrency ?? 1 }, async () => {
        while (performance.now() < end) await call();
      }),
    );
  } else {
    const started = performance.now();
    const inFlight: Promise<void>[] = [];
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - started) / 1000) * m.rate!);
      while (r.sent < due) inFlight.push(call());
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(inFlight);
  }
  client.close();
  r.okMs.sort((a, b) => a - b);
  r.refusedMs.sort((a, b) => a - b);
  return r;
}

process.on('message', (m: OverloadRun) => {
  run(m).then(
    (result) => process.send!(result),
    (e: unknown) => process.send!({ error: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));

/** `alexnet serve` as a child process for bench:serve: started with one configuration, its stats lines read as they come. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Inference worker threads x onnxruntime threads per worker. */
export interface Layout {
  workers: number;
  threads: number;
}

/** A stats line of the server (see startServer's statsIntervalMs). */
export interface StatsLine {
  eventLoopLagP99Ms: number | null;
  eventLoopLagMaxMs: number | null;
  /** CPU time of the server process over the interval, in cores. */
  cpuCores?: number;
  inferred: number;
  batches: number;
  /** Images whose ten crops were split across workers (absent from servers before it). */
  split?: number;
  workerMs: number;
}

export interface ServerProcess {
  child: ChildProcess;
  /** The 'serving' line: address, workers, threadsPerWorker, ... */
  serving: Record<string, unknown>;
  /** Resolves with the next stats line; rejects if the server exits first. */
  nextStats(): Promise<StatsLine>;
}

/** What every server of one bench run shares. */
export interface ServeTarget {
  /** The single-crop model file. */
  model: string;
  device: string;
  statsIntervalMs: number;
  /** The certificate a --tls server serves. */
  serverCert?: { cert: string; key: string };
}

/** Start `alexnet serve` as a child process, logging stats every `statsIntervalMs`; resolves once it serves. */
export async function startServerProcess(target: ServeTarget, layout: Layout, maxBatch: number, maxDelayMs: number, split: boolean, tls: boolean, metrics: boolean): Promise<ServerProcess> {
  const { model: single, device, statsIntervalMs, serverCert } = target;
  const options = [
    '--workers',
    String(layout.workers),
    '--threads',
    String(layout.threads),
    '--max-batch',
    String(maxBatch),
    '--max-delay-ms',
    String(maxDelayMs),
    ...(split ? [] : ['--no-split-crops']),
    ...(tls ? ['--tls-cert', serverCert!.cert, '--tls-key', serverCert!.key] : []),
    ...(metrics ? ['--metrics-port', '0'] : []),
  ];
  const child = spawn(process.execPath, [CLI, 'serve', '--model', single, '--port', '0', '--device', device, '--stats-interval-ms', String(statsIntervalMs), ...options], {
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const tail: string[] = [];
  let waiters: { resolve: (s: StatsLine) => void; reject: (e: Error) => void }[] = [];
  const serving = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        tail.push(line);
        return console.error(`server: ${line}`);
      }
      if (m.msg === 'serving') resolve(m);
      else if (m.msg === 'stats') for (const w of waiters.splice(0)) w.resolve(m as unknown as StatsLine);
      else if (m.level === 'warn' || m.level === 'error') console.error(`server: ${line}`);
    });
    child.once('exit', (code) => {
      const e = new Error(`the server exited (code ${code})${tail.length ? `: ${tail.slice(-5).join('\n')}` : ''}`);
      reject(e);
      for (const w of waiters.splice(0)) w.reject(e);
      waiters = [];
    });
  });
  const nextStats = () =>
    new Promise<StatsLine>((resolve, reject) => {
      if (child.exitCode !== null) reject(new Error('the server has exited'));
      else waiters.push({ resolve, reject });
    });
  return { child, serving: await serving, nextStats };
}

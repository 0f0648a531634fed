/**
 * The batching and worker-layout defaults used when the user gives none (`alexnet serve`,
 * bench:serve): images per batch, how long an image waits for others, workers and threads.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Most images in one batch when --max-batch is not given: small on a CPU, large on a GPU (see bench/RESULTS.md, serve batch size). */
export function defaultMaxBatch(provider: string): number {
  return provider === 'cpu' ? 4 : 16;
}

/** How long an image waits for others to fill its batch when --max-delay-ms is not given (see bench/RESULTS.md, serve batch delay). */
export function defaultMaxDelayMs(provider: string): number {
  return provider === 'cpu' ? 0 : 2;
}

/**
 * The CPU limit a cgroup puts on this process, in cores (rounded up), from cgroup v2's cpu.max
 * ("<quota> <period>" or "max <period>") or v1's cfs_quota_us / cfs_period_us; undefined when
 * there is none. A container limited to 2 CPUs on a 64-core node sees 64 cores in
 * os.availableParallelism() (Node 20 does not read cgroups), and would start 16 workers of 4
 * threads for 2 cores.
 */
export function cgroupCpuLimit(read: (file: string) => string | undefined = readOptional): number | undefined {
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2) return v2[0] === 'max' ? undefined : cores(Number(v2[0]), Number(v2[1]));
  return cores(Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')), Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')));
}

const cores = (quota: number, period: number) => (quota > 0 && period > 0 ? Math.max(1, Math.ceil(quota / period)) : undefined);

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The cores this process may use: the machine's, or fewer under a cgroup CPU limit. */
export function usableCores(): number {
  return Math.min(os.availableParallelism(), cgroupCpuLimit() ?? Infinity);
}

/**
 * Defaults that do not oversubscribe the cores: on a CPU with fewer than 4 cores, one worker per
 * core with one onnxruntime thread each; from 4 cores, a worker per 4 cores, their threads dividing
 * the cores; on a GPU, one worker (see bench/RESULTS.md, serve workers and threads).
 */
export function defaultParallelism(provider: string, cores = usableCores()): { workers: number; threads: number } {
  if (provider !== 'cpu') return { workers: 1, threads: 1 };
  if (cores < 4) return { workers: cores, threads: 1 };
  const workers = Math.floor(cores / 4);
  return { workers, threads: Math.floor(cores / workers) };
}

/**
 * The layout from what the user gave: both as given; workers alone, threads dividing the cores
 * among them; threads alone (on cpu), as many workers as the cores hold at that many threads;
 * neither, the defaults.
 */
export function resolveParallelism(provider: string, workers?: number, threads?: number, cores = usableCores()): { workers: number; threads: number } {
  const d = defaultParallelism(provider, cores);
  if (workers !== undefined) return { workers, threads: threads ?? Math.max(1, Math.floor(cores / workers)) };
  if (threads !== undefined) return { workers: provider === 'cpu' ? Math.max(1, Math.floor(cores / threads)) : d.workers, threads };
  return d;
}

/**
 * The batching and worker-layout defaults used when the user gives none (`alexnet serve`,
 * bench:serve): images per batch, how long an image waits for others, workers and threads.
 */
import os from 'node:os';
import { cgroupCpuLimit } from './cgroup-cpu-limit.js';

/** Most images in one batch when --max-batch is not given: small on a CPU, large on a GPU (see bench/RESULTS.md, serve batch size). */
export function defaultMaxBatch(provider: string): number {
  return provider === 'cpu' ? 4 : 16;
}

/** How long an image waits for others to fill its batch when --max-delay-ms is not given (see bench/RESULTS.md, serve batch delay). */
export function defaultMaxDelayMs(provider: string): number {
  return provider === 'cpu' ? 0 : 2;
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

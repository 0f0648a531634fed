/** The periodic 'stats' log line of `alexnet serve --stats-interval-ms` (read by bench:serve and the SIGTERM test). */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from './log.js';

/** The event-loop monitor's timer period: lag is how much later than this it fired. */
const LAG_RESOLUTION_MS = 10;

/**
 * Every `intervalMs`, log one 'stats' line: the event loop's lag since the previous line (p99 and
 * max in ms: how late a 10 ms timer fired, so about 0 on an idle loop; null if no sample) and
 * `counters()`. The lag histogram is reset after each line. Returns a function that stops it.
 */
export function startStatsLog(intervalMs: number, log: Logger, counters: () => Record<string, number>): () => void {
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  lag.enable();
  let cpu = process.cpuUsage();
  let since = performance.now();
  const ms = (ns: number) => +Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS).toFixed(2);
  const timer = setInterval(() => {
    const sampled = lag.count > 0;
    const used = process.cpuUsage(cpu);
    const now = performance.now();
    // CPU time of the whole process (every thread: the event loop, decoding, inference) per second of the interval.
    const cpuCores = +((used.user + used.system) / 1e3 / (now - since)).toFixed(3);
    cpu = process.cpuUsage();
    since = now;
    log.info('stats', { eventLoopLagP99Ms: sampled ? ms(lag.percentile(99)) : null, eventLoopLagMaxMs: sampled ? ms(lag.max) : null, cpuCores, ...counters() });
    lag.reset();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    lag.disable();
  };
}

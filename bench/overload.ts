/**
 * bench:overload: how the server meets more calls than it can answer.
 *
 *   npm run bench:overload -- --seconds 10 --factor 3 --max-queue 8 --worker-nice 0,10
 *
 * The shipped model served with --max-queue (8 by default, as the outside test that found the
 * problem used), a load client in a process of its own (bench/overload-client.ts), 200x160 JPEGs.
 * First what the server sustains: a closed loop of max-queue callers (each sends its next call
 * once answered), images/s answered OK. Then an open loop at --factor times that rate (calls sent
 * on a clock, answered or not): the images/s still answered OK against the sustained rate, the
 * latency of the refused calls (RESOURCE_EXHAUSTED), and every status seen. The issue's goals,
 * printed beside the figures, not asserted: refusal p99 < 20 ms, accepted >= 0.9x sustained,
 * nothing but OK / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED. --worker-nice lists the workers' nice
 * values to compare (a server for each in turn; default 0,10: none, and the server's default).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { DEFAULT_MODEL } from '../src/model/model-files.js';
import { createLogger } from '../src/serve/log.js';
import { startServer } from '../src/serve/server.js';
import type { OverloadResult, OverloadRun } from './overload-client.js';
import { nonNegativeNumbers, positiveInteger, positiveNumber, refuseOption } from './options.js';

const BENCH = 'bench:overload';
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, factor: { type: 'string', default: '3' }, 'max-queue': { type: 'string', default: '8' }, 'worker-nice': { type: 'string', default: '0,10' } } });
const seconds = positiveNumber(BENCH, 'seconds', values.seconds);
const factor = positiveNumber(BENCH, 'factor', values.factor);
const maxQueue = positiveInteger(BENCH, 'max-queue', values['max-queue']);
const nices = nonNegativeNumbers(BENCH, 'worker-nice', values['worker-nice']);
// The server's own range (--worker-nice 0-19): a nice value outside it threw from the first inference worker.
if (nices.some((n) => !Number.isInteger(n) || n > 19)) refuseOption(BENCH, 'worker-nice', values['worker-nice'], 'a comma-separated list of whole numbers from 0 to 19');

const images = await Promise.all(
  Array.from({ length: 32 }, (_, i) => sharp({ create: { width: 200, height: 160, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 60 + 4 * i, sigma: 40 } } }).jpeg({ quality: 85 }).toBuffer()),
);
const client = fork(new URL('./overload-client.js', import.meta.url), [], { serialization: 'advanced' });
let address = '';
const measure = async (run: Omit<OverloadRun, 'address' | 'images'>): Promise<OverloadResult> => {
  client.send({ ...run, address, images } satisfies OverloadRun);
  const [r] = (await once(client, 'message')) as [OverloadResult | { error: string }];
  if ('error' in r) throw new Error(r.error);
  return r;
};
const pct = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');

console.log(`${os.cpus().length} CPU cores (${os.cpus()[0]?.model.trim()}), load average ${os.loadavg()[0]!.toFixed(2)}; server: shipped model, --max-queue ${maxQueue}, defaults otherwise`);
const head = ['worker nice', 'load', 'images/s OK', 'vs sustained', 'OK p50 ms', 'OK p99 ms', 'refused p50 ms', 'refused p99 ms', 'statuses'];
const rows: string[][] = [];
const verdicts: string[] = [];
try {
  for (const nice of nices) {
    const server = await startServer({ model: DEFAULT_MODEL, port: 0, device: 'cpu', maxQueue, workerNice: nice, logger: createLogger('error') });
    address = server.address;
    try {
      await measure({ mode: 'closed', concurrency: maxQueue, seconds: 2 }); // warm-up
      const sustained = await measure({ mode: 'closed', concurrency: maxQueue, seconds });
      const sustainedRate = (sustained.statuses.OK ?? 0) / seconds;
      const over = await measure({ mode: 'open', rate: factor * sustainedRate, seconds });
      const acceptedRate = (over.statuses.OK ?? 0) / seconds;
      const others = Object.keys(over.statuses).filter((st) => !['OK', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED'].includes(st));
      rows.push([String(nice), `closed loop, ${maxQueue} callers (sustained)`, fmt(sustainedRate), '1.000x', fmt(pct(sustained.okMs, 50)), fmt(pct(sustained.okMs, 99)), '-', '-', JSON.stringify(sustained.statuses)]);
      rows.push([String(nice), `open loop at ${factor}x (${fmt(factor * sustainedRate)} calls/s)`, fmt(acceptedRate), `${(acceptedRate / sustainedRate).toFixed(3)}x`, fmt(pct(over.okMs, 50)), fmt(pct(over.okMs, 99)), fmt(pct(over.refusedMs, 50), 2), fmt(pct(over.refusedMs, 99), 2), JSON.stringify(over.statuses)]);
      const p99 = pct(over.refusedMs, 99);
      verdicts.push(
        `worker nice ${nice}: refusal p99 < 20 ms ${p99 < 20 ? 'met' : 'missed'} (${fmt(p99, 2)}); accepted >= 0.9x sustained ${acceptedRate / sustainedRate >= 0.9 ? 'met' : 'missed'} (${(acceptedRate / sustainedRate).toFixed(3)}x); ` +
          `only OK / RESOURCE_EXHAUSTED / DEADLINE_EXCEEDED ${others.length === 0 ? 'met' : `missed (${others.join(', ')})`}`,
      );
    } finally {
      await server.shutdown('bench done');
    }
  }
} finally {
  client.disconnect();
}
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(head));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
console.log(`goals (not asserted): ${verdicts.join('; ')}`);

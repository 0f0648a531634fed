/**
 * npm run bench:soak [-- --passes 8 --arena unset,2 --model models/fmnist/model.onnx]
 *
 * The server's memory under a long run of bad and good images (RELIABILITY.md's fuzz and soak
 * designs), measured, not asserted: `alexnet serve` is started as a process of its own once per
 * setting of glibc's MALLOC_ARENA_MAX (`unset`: glibc's default, up to 8 malloc arenas per core;
 * sharp's docs advise 2), and each pass sends it the same 1,000 JPEG, PNG and WebP files with a few
 * bytes flipped (most refused with INVALID_ARGUMENT, some still decodable) and 200 intact ones,
 * from 8 concurrent callers. After each pass the server's resident memory (VmRSS, Linux) is read.
 * The table puts the settings side by side per pass, with the ratio to the first, and reports
 * the soak figure of RELIABILITY.md: the largest minus the mean RSS over the second half of the
 * passes (a leak keeps it growing with the passes; fragmentation levels off).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import sharp from 'sharp';
import { DEFAULT_MODEL } from '../src/model/model-files.js';
import { AlexNetClient } from '../src/serve/client.js';
import { Rng } from '../src/util/rng.js';
import { positiveInteger, refuseOption } from './options.js';

const { values: args } = parseArgs({
  options: {
    passes: { type: 'string', default: '8' },
    arena: { type: 'string', default: 'unset,2' },
    model: { type: 'string', default: DEFAULT_MODEL },
  },
});
const BENCH = 'bench:soak';
const passes = positiveInteger(BENCH, 'passes', args.passes);
const arenas = args.arena!.split(',').map((a) => a.trim());
for (const a of arenas) if (a !== 'unset' && !/^[1-9][0-9]*$/.test(a)) refuseOption(BENCH, 'arena', args.arena, "a comma-separated list of 'unset' and whole numbers >= 1");
if (process.platform !== 'linux') {
  console.error(`${BENCH}: reads the server's memory from /proc: Linux only`);
  process.exit(1);
}
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const LANES = 8;

// The images: three small pictures in three formats; 1,000 with 1-8 bytes flipped, 200 intact.
const rng = new Rng(11);
const originals: Buffer[] = [];
for (let k = 0; k < 3; k++) {
  const w = 120 + 20 * k;
  const h = 96 + 10 * k;
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.round(127 + 100 * Math.sin(i / (7 + k)) + rng.normal() * 10) & 255;
  const img = () => sharp(px, { raw: { width: w, height: h, channels: 3 } });
  originals.push(await img().jpeg({ quality: 85 }).toBuffer(), await img().png().toBuffer(), await img().webp().toBuffer());
}
const images = Array.from({ length: 1200 }, (_, i) => {
  const b = Buffer.from(originals[i % originals.length]!);
  if (i < 1000) for (let k = 1 + rng.int(8); k > 0; k--) b[rng.int(b.length)]! ^= 1 + rng.int(255);
  return b;
});

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

interface Soak {
  arena: string;
  startMiB: number;
  /** Per pass: RSS after it, and its images/s (every answer, refused or not). */
  perPass: { rssMiB: number; callsPerSecond: number }[];
  statuses: Record<string, number>;
}

async function soak(arena: string): Promise<Soak> {
  const env = { ...process.env };
  if (arena === 'unset') delete env.MALLOC_ARENA_MAX;
  else env.MALLOC_ARENA_MAX = arena;
  const child = spawn(process.execPath, [CLI, 'serve', '--model', args.model!, '--port', '0', '--device', 'cpu'], { stdio: ['ignore', 'inherit', 'pipe'], env });
  const exited = once(child, 'exit');
  const address = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const m = JSON.parse(line) as { msg?: string; address?: string; level?: string };
        if (m.msg === 'serving' && m.address) resolve(m.address);
        else if (m.level === 'warn' || m.level === 'error') console.error(`server: ${line}`);
      } catch {
        console.error(`server: ${line}`);
      }
    });
    void exited.then(([code]) => reject(new Error(`the server exited (code ${code}) before serving`)));
  });
  const client = new AlexNetClient(address);
  const result: Soak = { arena, startMiB: rssMiB(child.pid!), perPass: [], statuses: {} };
  try {
    for (let pass = 0; pass < passes; pass++) {
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: LANES }, async (_, lane) => {
          for (let i = lane; i < images.length; i += LANES) {
            const status = await client.classify({ image: images[i]! }).then(
              () => 'OK',
              (e: grpc.ServiceError) => grpc.status[e.code] ?? String(e.code),
            );
            result.statuses[status] = (result.statuses[status] ?? 0) + 1;
          }
        }),
      );
      result.perPass.push({ rssMiB: rssMiB(child.pid!), callsPerSecond: images.length / ((performance.now() - t0) / 1000) });
      process.stderr.write(`MALLOC_ARENA_MAX=${arena}: pass ${pass + 1}/${passes}, RSS ${result.perPass.at(-1)!.rssMiB.toFixed(1)} MiB\n`);
    }
  } finally {
    client.close();
    child.kill('SIGTERM');
    await exited;
  }
  return result;
}

const cpus = os.cpus();
console.log(
  `${cpus.length} CPU cores (${cpus[0]?.model.trim() ?? 'unknown'}), load average ${os.loadavg()[0]!.toFixed(2)}; node ${process.version}; model ${args.model}; ` +
    `each pass: ${images.length} calls (1,000 with bytes flipped, 200 intact) from ${LANES} concurrent callers`,
);
const runs: Soak[] = [];
try {
  for (const arena of arenas) runs.push(await soak(arena));
} catch (e) {
  console.error(`${BENCH}: ${(e as Error).message}`);
  process.exit(1);
}

const fmt = (v: number) => v.toFixed(1);
const header = ['pass', ...runs.flatMap((r, i) => [`RSS MiB, MALLOC_ARENA_MAX=${r.arena}`, ...(i > 0 ? [`vs ${runs[0]!.arena}`] : []), 'calls/s'])];
const rows: string[][] = [['start', ...runs.flatMap((r, i) => [fmt(r.startMiB), ...(i > 0 ? [`${(r.startMiB / runs[0]!.startMiB).toFixed(2)}x`] : []), '-'])]];
for (let p = 0; p < passes; p++) {
  rows.push([
    String(p + 1),
    ...runs.flatMap((r, i) => {
      const { rssMiB: m, callsPerSecond } = r.perPass[p]!;
      return [fmt(m), ...(i > 0 ? [`${(m / runs[0]!.perPass[p]!.rssMiB).toFixed(2)}x`] : []), fmt(callsPerSecond)];
    }),
  ]);
}
// RELIABILITY.md's soak figure: max - mean of RSS over the second half of the passes.
const secondHalf = (r: Soak) => r.perPass.slice(Math.floor(passes / 2)).map((x) => x.rssMiB);
const spread = (r: Soak) => Math.max(...secondHalf(r)) - secondHalf(r).reduce((a, b) => a + b, 0) / secondHalf(r).length;
rows.push(['max - mean, 2nd half', ...runs.flatMap((r, i) => [fmt(spread(r)), ...(i > 0 ? ['-'] : []), '-'])]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
for (const r of runs) console.log(`statuses, MALLOC_ARENA_MAX=${r.arena}: ${Object.entries(r.statuses).map(([k, n]) => `${k} ${n}`).join(', ')}`);

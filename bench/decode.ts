/**
 * npm run bench:decode [-- --size 40 --seconds 2 --rounds 3]
 *
 * What one image costs the server before inference: the CPU time of `decodeToSquare` (the
 * server's and the trainer's own decode: sharp, one call per image, as a Classify call does)
 * for JPEGs from the output size itself (nothing to resize: about the cost of a call, its
 * pipeline setup, threads and copies) to 800x640, in alternated rounds whose order rotates. The
 * other rows are multiples of the first, so the table says how much of a decode is per call and
 * how much per pixel. Each size is measured twice, side by side: as the project decodes (libvips'
 * operation cache off, src/image/decode.ts) and with sharp's default cache (50 MB, 100 operations)
 * switched back on, to show what that choice saves.
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeToSquare, encodeRgb } from '../src/image/decode.js';
import { Rng } from '../src/util/rng.js';
import { positiveInteger, positiveNumber } from './options.js';

const { values: args } = parseArgs({
  options: {
    size: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
  },
});
const size = positiveInteger('bench:decode', 'size', args.size);
const seconds = positiveNumber('bench:decode', 'seconds', args.seconds);
const rounds = positiveInteger('bench:decode', 'rounds', args.rounds);

// Smooth gradients plus noise, so the JPEG holds as much detail as a photograph of its size.
async function jpeg(width: number, height: number, rng: Rng): Promise<Buffer> {
  const px = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = 128 + 80 * Math.sin((x * (c + 1)) / 17 + y / 11) + rng.normal() * 8;
        px[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return encodeRgb(px, width, height, 'jpeg', 85);
}

const rng = new Rng(7);
const sizes: [number, number][] = [
  [size, size],
  [Math.round(size * 1.25), size],
  [200, 160],
  [800, 640],
];
const files = await Promise.all(sizes.map(async ([w, h]) => ({ w, h, images: await Promise.all([0, 1, 2, 3].map(() => jpeg(w, h, rng))) })));

interface Sample {
  cpuMs: number;
  sysMs: number;
  wallMs: number;
}
async function measure(images: Buffer[]): Promise<Sample> {
  for (let i = 0; i < 20; i++) await decodeToSquare(images[i % images.length]!, { size });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (n < 20 || performance.now() - t0 < seconds * 1000) await decodeToSquare(images[n++ % images.length]!, { size });
  const cpu = process.cpuUsage(cpu0);
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, sysMs: cpu.system / 1000 / n, wallMs: (performance.now() - t0) / n };
}

// sharp's default cache, as sharp documents it; the project's decode module sets it to false.
const SHARP_DEFAULT_CACHE = { memory: 50, files: 20, items: 100 };
const modes = [
  { name: 'cache off (ours)', cache: false as const },
  { name: 'cache on (sharp default)', cache: SHARP_DEFAULT_CACHE },
];
const cases = files.flatMap((f) => modes.map((m) => ({ f, m })));
const samples = cases.map(() => [] as Sample[]);
for (let r = 0; r < rounds; r++) {
  for (let k = 0; k < cases.length; k++) {
    const i = (k + r) % cases.length;
    sharp.cache(cases[i]!.m.cache);
    samples[i]!.push(await measure(cases[i]!.f.images));
  }
}
sharp.cache(false);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rows = cases.map(({ f, m }, i) => {
  const s = samples[i]!;
  return { name: `${f.w}x${f.h}`, mode: m.name, kb: f.images.reduce((n, b) => n + b.length, 0) / f.images.length / 1024, cpu: median(s.map((x) => x.cpuMs)), sys: median(s.map((x) => x.sysMs)), wall: median(s.map((x) => x.wallMs)) };
});
const floor = rows[0]!.cpu;

console.log(`decodeToSquare to ${size}x${size}, one call at a time; medians of ${rounds} alternated rounds of ${seconds} s`);
const header = ['JPEG', 'kB', 'libvips cache', 'CPU ms / image', 'of which kernel', 'wall ms / image', `x the ${rows[0]!.name} one`, 'CPU vs cache on'];
const table = rows.map((r, i) => {
  const on = rows[i - (i % modes.length) + 1]!;
  return [r.name, r.kb.toFixed(1), r.mode, r.cpu.toFixed(3), r.sys.toFixed(3), r.wall.toFixed(3), `${(r.cpu / floor).toFixed(2)}x`, `${(r.cpu / on.cpu).toFixed(2)}x`];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));

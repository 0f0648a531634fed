/** Data sets of many image files, made fast (a few distinct pictures hard-linked many times), and the CLI as a child process with its peak memory. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeRgb } from '../src/image/decode.js';

export const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** A picture of `size` x `size` seeded by k: smooth structure, so it survives resizing and JPEG. */
function pixels(k: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      for (let c = 0; c < 3; c++) out[(y * size + x) * 3 + c] = Math.round(127 + 110 * Math.sin((x * (k % 5 + 1)) / 7 + c * k) * Math.cos((y + k) / 6));
  return out;
}

/**
 * DIR/train/<class>/ and DIR/val/<class>/ holding `perClass` and `valPerClass` files each, linked
 * from 8 distinct pictures per class (PNG and JPEG alternately), `size` px square.
 */
export async function manyImages(dir: string, classes: number, perClass: number, valPerClass: number, size = 48): Promise<void> {
  const sources = path.join(dir, '.sources');
  await fs.mkdir(sources, { recursive: true });
  for (let c = 0; c < classes; c++) {
    const files: string[] = [];
    for (let k = 0; k < 8; k++) {
      const format = k % 2 === 0 ? 'png' : 'jpeg';
      const file = path.join(sources, `c${c}-${k}.${format === 'png' ? 'png' : 'jpg'}`);
      await fs.writeFile(file, await encodeRgb(pixels(c * 8 + k, size), size, size, format));
      files.push(file);
    }
    for (const [split, n] of [['train', perClass], ['val', valPerClass]] as const) {
      const to = path.join(dir, split, `class${c}`);
      await fs.mkdir(to, { recursive: true });
      await Promise.all(Array.from({ length: n }, (_, i) => fs.link(files[i % 8]!, path.join(to, `img${String(i).padStart(6, '0')}${path.extname(files[i % 8]!)}`))));
    }
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The child's peak resident memory, MiB. */
  peakMiB: number;
}

// Prints the process's peak RSS at exit, whatever the command: measured by the kernel (getrusage), not by our code.
const PEAK = `data:text/javascript,process.on('exit',()=>process.stderr.write('peak-rss-kb '+process.resourceUsage().maxRSS+'\\n'))`;

export function alexnet(args: string[], options: { env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', PEAK, CLI, ...args], { timeout: options.timeout ?? 300_000, env: { ...process.env, ...options.env }, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      const code = e ? (typeof (e as { code?: unknown }).code === 'number' ? ((e as { code: number }).code) : -1) : 0;
      const kb = Number(/peak-rss-kb (\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ code, stdout, stderr, peakMiB: kb / 1024 });
    });
  });
}

/** Start the CLI without waiting for it (to signal it mid-way). */
export function startAlexnet(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, done };
}

/** Every file of a cache directory as its size and SHA-256 (meta.json without its creation time). */
export async function cacheFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir)).sort()) {
    let bytes = await fs.readFile(path.join(dir, f));
    if (f === 'meta.json') {
      const meta = JSON.parse(bytes.toString('utf8'));
      delete meta.createdAt;
      bytes = Buffer.from(JSON.stringify(meta));
    }
    out[f] = `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex')}`;
  }
  return out;
}
